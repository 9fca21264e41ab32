"""The plugin's tables. Every name starts with ``notes_``; every row carries its workspace."""

from piccolo.columns import BigInt, Text, Timestamptz, Varchar
from piccolo.table import Table


class Note(Table, tablename="notes_note"):
    """A note an API client wrote about a member."""

    workspace = BigInt(index=True)
    member_id = BigInt(index=True)
    body = Text()
    author = Varchar(length=200)
    created_at = Timestamptz()
