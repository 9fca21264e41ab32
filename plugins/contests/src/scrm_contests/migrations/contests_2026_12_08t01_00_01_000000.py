"""The contests' rules that piccolo's auto migrations cannot state: unique rules (the arbiters of
``ON CONFLICT`` — one counter per member, contest and bucket; one score per judge and submission; one
award per rank), composite indexes for the gallery and the fraud checks, and checks that keep counts
sane — ``CHECK`` constraints on PostgreSQL, triggers on SQLite (which cannot add a constraint to an
existing table)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import PostgresEngine, engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-08T01:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "contests unique rules, indexes and checks"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS contests_counter_unique ON contests_counter (contest, member_id, bucket)",
    "CREATE INDEX IF NOT EXISTS contests_counter_member ON contests_counter (workspace, member_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS contests_score_unique ON contests_score (submission, judge)",
    "CREATE INDEX IF NOT EXISTS contests_score_contest ON contests_score (contest, submission)",
    "CREATE UNIQUE INDEX IF NOT EXISTS contests_award_rank ON contests_award (contest, rank)",
    "CREATE INDEX IF NOT EXISTS contests_award_member ON contests_award (workspace, member_id)",
    "CREATE INDEX IF NOT EXISTS contests_submission_gallery ON contests_submission (contest, status, id)",
    "CREATE INDEX IF NOT EXISTS contests_submission_member ON contests_submission (workspace, member_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS contests_media_position ON contests_media (submission, position)",
    "CREATE INDEX IF NOT EXISTS contests_media_workspace ON contests_media (workspace, submission)",
    "CREATE INDEX IF NOT EXISTS contests_vote_submission ON contests_vote (submission, id)",
    "CREATE INDEX IF NOT EXISTS contests_vote_member ON contests_vote (workspace, member_id)",
    "CREATE INDEX IF NOT EXISTS contests_vote_source ON contests_vote (contest, source, created_at)",
    "CREATE INDEX IF NOT EXISTS contests_vote_device ON contests_vote (contest, device, created_at)",
    "CREATE INDEX IF NOT EXISTS contests_signal_contest ON contests_signal (contest, id)",
    "CREATE INDEX IF NOT EXISTS contests_signal_vote ON contests_signal (vote)",
    "CREATE INDEX IF NOT EXISTS contests_phase_change_contest ON contests_phase_change (contest, id)",
    "CREATE INDEX IF NOT EXISTS contests_contest_workspace_id ON contests_contest (workspace, id)",
]

PHASES = "'draft', 'submission', 'moderation', 'voting', 'judging', 'results', 'cancelled'"
POSTGRES_CHECKS = [
    "ALTER TABLE contests_submission ADD CONSTRAINT contests_submission_votes CHECK (votes >= 0)",
    "ALTER TABLE contests_counter ADD CONSTRAINT contests_counter_n CHECK (n >= 0)",
    f"ALTER TABLE contests_contest ADD CONSTRAINT contests_contest_phase CHECK (phase IN ({PHASES}))",
    "ALTER TABLE contests_submission ADD CONSTRAINT contests_submission_status "
    "CHECK (status IN ('pending', 'approved', 'rejected'))",
]


def _sqlite_check(table: str, name: str, condition: str) -> list[str]:
    """The same check as a pair of SQLite triggers (insert and update) that abort the statement."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name}_{when} BEFORE {when.upper()} ON {table} "
        f"WHEN NOT ({condition}) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
        for when in ("insert", "update")
    ]


SQLITE_CHECKS = [
    *_sqlite_check("contests_submission", "contests_submission_votes", "NEW.votes >= 0"),
    *_sqlite_check("contests_counter", "contests_counter_n", "NEW.n >= 0"),
    *_sqlite_check("contests_contest", "contests_contest_phase", f"NEW.phase IN ({PHASES})"),
    *_sqlite_check(
        "contests_submission", "contests_submission_status", "NEW.status IN ('pending', 'approved', 'rejected')"
    ),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="contests", description=DESCRIPTION)

    async def create_rules() -> None:
        engine = engine_finder()
        assert engine is not None
        checks = POSTGRES_CHECKS if isinstance(engine, PostgresEngine) else SQLITE_CHECKS
        for statement in [*INDEXES, *checks]:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create_rules)
    return manager
