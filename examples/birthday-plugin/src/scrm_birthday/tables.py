"""The plugin's table: one greeting per member and year. Its name starts with ``birthday_``, every row
carries its workspace, ids are 64-bit (``BigSerial``) like every id of scrm."""

from piccolo.columns import BigInt, BigSerial, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Greeting(Table, tablename="birthday_greeting"):
    """A member greeted on their birthday. ``once`` (``<workspace>:<member>:<year>``) is unique: a
    member is greeted at most once a year, however many times the job or the hook runs."""

    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    member_id = BigInt(index=True)
    year = Integer()
    once = Varchar(length=100, unique=True)
    points = Integer(default=0)
    greeted_at = Timestamptz()
