"""The test plugin's one table: a welcome note per member created while it is enabled."""

from piccolo.columns import BigInt, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Welcome(Table, tablename="testplugin_welcome"):
    workspace = BigInt(index=True)
    member_id = BigInt()
    message = Varchar(length=200)
    created_at = Timestamptz()


class Seen(Table, tablename="testplugin_seen"):
    """Each event delivered to the plugin, once (the unique event id makes the handler idempotent);
    ``redeliveries`` counts the deliveries after the first."""

    workspace = BigInt(index=True)
    event_id = BigInt(unique=True)
    type = Varchar(length=100)
    redeliveries = Integer(default=0)


class Tally(Table, tablename="testplugin_tally"):
    """The handler's effect: events counted per workspace, exactly once each."""

    workspace = BigInt(unique=True)
    events = Integer(default=0)
