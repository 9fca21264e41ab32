"""The test plugin's one table: a welcome note per member created while it is enabled."""

from piccolo.columns import BigInt, Timestamptz, Varchar
from piccolo.table import Table


class Welcome(Table, tablename="testplugin_welcome"):
    workspace = BigInt(index=True)
    member_id = BigInt()
    message = Varchar(length=200)
    created_at = Timestamptz()
