"""points: every table's id becomes 64-bit, like the core's and like the ids the API accepts (an id
above 2**31 - 1 made PostgreSQL refuse the query: a 500 instead of a 404).

piccolo cannot turn a ``SERIAL`` into a ``BIGSERIAL`` (its ``alter_column`` only warns), so this is a
raw step: on PostgreSQL the column and its sequence become ``bigint``; SQLite's ``INTEGER PRIMARY
KEY`` is already 64-bit. (An auto migration generated later may propose that ``alter_column`` again:
drop it, this one did the work.)
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import PostgresEngine, engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-24T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "points: 64-bit ids"

TABLES = [
    "points_config",
    "points_account",
    "points_transaction",
    "points_lot",
    "points_rule",
    "points_rule_usage",
    "points_checkin",
    "points_reward",
    "points_redemption",
    "points_tier_change",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="points", description=DESCRIPTION)

    async def widen_ids() -> None:
        engine = engine_finder()
        assert engine is not None
        if not isinstance(engine, PostgresEngine):
            return
        for table in TABLES:
            await engine.run_querystring(QueryString(f"ALTER TABLE {table} ALTER COLUMN id TYPE bigint"))
            await engine.run_querystring(QueryString(f"ALTER SEQUENCE IF EXISTS {table}_id_seq AS bigint NO MAXVALUE"))

    manager.add_raw(widen_ids)
    return manager
