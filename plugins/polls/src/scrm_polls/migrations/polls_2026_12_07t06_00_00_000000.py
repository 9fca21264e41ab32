"""The polls plugin's tables, indexes and unique rules (both engines).

The tables are created from their piccolo classes as they were at this migration (piccolo writes
each engine's DDL, 64-bit ids included); a later change to a table gets a migration of its own with
explicit statements. The unique indexes are the arbiters of the plugin's ``ON CONFLICT`` clauses:
one ballot per member and poll, one counter row per (question, value, slot)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "polls tables"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS polls_poll_workspace_id ON polls_poll (workspace, id)",
    "CREATE INDEX IF NOT EXISTS polls_poll_due ON polls_poll (state, opens_at, closes_at)",
    "CREATE INDEX IF NOT EXISTS polls_question_poll ON polls_question (poll, position)",
    "CREATE INDEX IF NOT EXISTS polls_option_question ON polls_option (question, position)",
    # one ballot per member and poll (NULL after an erasure unlinks a ballot: NULLs are distinct)
    "CREATE UNIQUE INDEX IF NOT EXISTS polls_ballot_member ON polls_ballot (poll, member_id)",
    "CREATE INDEX IF NOT EXISTS polls_ballot_workspace_member ON polls_ballot (workspace, member_id)",
    "CREATE INDEX IF NOT EXISTS polls_ballot_poll_id ON polls_ballot (poll, id)",
    "CREATE INDEX IF NOT EXISTS polls_answer_ballot ON polls_answer (ballot)",
    "CREATE INDEX IF NOT EXISTS polls_answer_counts ON polls_answer (poll, question, option_id, score)",
    "CREATE INDEX IF NOT EXISTS polls_ballot_tag_tag ON polls_ballot_tag (poll, tag, ballot)",
    "CREATE INDEX IF NOT EXISTS polls_ballot_tag_ballot ON polls_ballot_tag (ballot)",
    "CREATE UNIQUE INDEX IF NOT EXISTS polls_tally_unique ON polls_tally (poll, question, value, slot)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="polls", description=DESCRIPTION)

    async def create() -> None:
        from scrm_polls.tables import TABLES

        engine = engine_finder()
        assert engine is not None
        for table in TABLES:
            await table.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
