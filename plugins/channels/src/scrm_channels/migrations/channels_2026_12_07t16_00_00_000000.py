"""The frequency cap's lock rows (``channels_cap_lock``: one per member and purpose in a workspace)
and the providers' per-minute call counts (``channels_rate``: one per provider and minute) — the
unique indexes the upserts of :func:`scrm_channels.rules.reserve` and
:func:`scrm_channels.messages.take_rate` rely on (both engines)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "channels cap locks and rate counts"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS channels_cap_lock_member ON channels_cap_lock (workspace, member_id, purpose)",
    "CREATE UNIQUE INDEX IF NOT EXISTS channels_rate_minute ON channels_rate (provider, minute)",
    "DROP INDEX IF EXISTS channels_attempt_provider",  # the rate is counted in channels_rate now
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="channels", description=DESCRIPTION)

    async def create() -> None:
        from scrm_channels.tables import CapLock, RateCount

        engine = engine_finder()
        assert engine is not None
        await CapLock.create_table(if_not_exists=True)
        await RateCount.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
