"""channels: refusals are counted by the core now (``kernel.consents.refusals``). The refusals this
plugin counted itself move into the core's counters (per workspace, UTC day, purpose and reason; the
channel was not kept, so it is ``""``), and its per-refusal table goes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-10T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "channels: refusals move to the core's counters; drop channels_refusal"

EXISTS = {
    "postgres": "SELECT to_regclass('channels_refusal') IS NOT NULL AS found",
    "sqlite": "SELECT COUNT(*) > 0 AS found FROM sqlite_master WHERE type = 'table' AND name = 'channels_refusal'",
}
DAY = {"postgres": "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')", "sqlite": "substr(at, 1, 10)"}
MOVE = (
    "INSERT INTO scrm_contact_refusal (workspace, day, purpose, channel, reason, refused) "
    "SELECT workspace, {day}, purpose, '', reason, COUNT(*) FROM channels_refusal GROUP BY 1, 2, 3, 5 "
    "ON CONFLICT (workspace, day, purpose, channel, reason) "
    "DO UPDATE SET refused = scrm_contact_refusal.refused + excluded.refused"
)


async def move_refusals() -> None:
    engine = engine_finder()
    assert engine is not None
    kind = "postgres" if engine.engine_type in ("postgres", "cockroach") else "sqlite"
    [found] = await engine.run_querystring(QueryString(EXISTS[kind]))
    if found["found"]:
        await engine.run_querystring(QueryString(MOVE.format(day=DAY[kind])))
        await engine.run_querystring(QueryString("DROP TABLE channels_refusal"))


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="channels", description=DESCRIPTION)
    manager.add_raw(move_refusals)
    return manager
