"""The plugin's tables. Every name starts with ``notes_``; every row carries its workspace; ids are
64-bit (``BigSerial``, ``BigInt``) like every id of scrm, so the API's ``scrm.Id`` types fit them."""

from piccolo.columns import BigInt, BigSerial, Text, Timestamptz, Varchar
from piccolo.table import Table


class Note(Table, tablename="notes_note"):
    """A note an API client wrote about a member."""

    id = BigSerial(primary_key=True)
    workspace = BigInt(index=True)
    member_id = BigInt(index=True)
    body = Text()
    author = Varchar(length=200)
    created_at = Timestamptz()
