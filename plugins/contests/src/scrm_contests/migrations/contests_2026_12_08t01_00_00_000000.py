"""The contests' tables (one migration, written from ``scrm_contests.tables`` as piccolo's auto
migrations would be, in a compact table-driven form)."""

from typing import Any

import scrm
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

ID = "2026-12-08T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contests tables"

TABLES: list[tuple[str, str, list[tuple[str, Any, dict[str, Any]]]]] = [
    (
        "Contest",
        "contests_contest",
        [
            ("id", BigSerial, {"primary_key": True}),
            ("workspace", BigInt, {"index": True, "default": 0}),
            ("name", Varchar, {"length": 200, "default": ""}),
            ("description", Text, {"default": ""}),
            ("phase", Varchar, {"length": 16, "default": ""}),
            ("submission_closes_at", Timestamptz, {"default": TimestamptzNow()}),
            ("voting_opens_at", Timestamptz, {"default": TimestamptzNow()}),
            ("voting_closes_at", Timestamptz, {"default": TimestamptzNow()}),
            ("judging_closes_at", Timestamptz, {"null": True, "default": None}),
            ("moderate_all", Boolean, {"default": False}),
            ("submissions_per_member", Integer, {"default": 1}),
            ("media_per_submission", Integer, {"default": 4}),
            ("max_file_bytes", Integer, {"default": 5000000}),
            ("votes_per_member", Integer, {"null": True, "default": None}),
            ("votes_per_submission", Integer, {"default": 1}),
            ("votes_per_day", Integer, {"null": True, "default": None}),
            ("rubric", Text, {"default": "[]"}),
            ("judge_weight_pct", Integer, {"default": 50}),
            ("award_points", Text, {"default": "[]"}),
            ("award_tag", Varchar, {"null": True, "length": 100, "default": None}),
            ("notify_purpose", Varchar, {"length": 100, "default": ""}),
            ("created_at", Timestamptz, {"default": TimestamptzNow()}),
            ("updated_at", Timestamptz, {"default": TimestamptzNow()}),
        ],
    ),
    (
        "PhaseChange",
        "contests_phase_change",
        [
            ("id", BigSerial, {"primary_key": True}),
            ("workspace", BigInt, {"default": 0}),
            ("contest", BigInt, {"default": 0}),
            ("from_phase", Varchar, {"length": 16, "default": ""}),
            ("to_phase", Varchar, {"length": 16, "default": ""}),
            ("cause", Varchar, {"length": 16, "default": ""}),
            ("actor", Varchar, {"length": 100, "default": ""}),
            ("at", Timestamptz, {"default": TimestamptzNow()}),
        ],
    ),
    (
        "Submission",
        "contests_submission",
        [
            ("id", BigSerial, {"primary_key": True}),
            ("workspace", BigInt, {"default": 0}),
            ("contest", BigInt, {"default": 0}),
            ("member_id", BigInt, {"default": 0}),
            ("title", Varchar, {"length": 200, "default": ""}),
            ("body", Text, {"default": ""}),
            ("status", Varchar, {"length": 16, "default": ""}),
            ("findings", Text, {"default": "[]"}),
            ("reason", Text, {"default": ""}),
            ("votes", BigInt, {"default": 0}),
            ("created_at", Timestamptz, {"default": TimestamptzNow()}),
            ("moderated_at", Timestamptz, {"null": True, "default": None}),
            ("moderated_by", Varchar, {"length": 100, "default": ""}),
        ],
    ),
    (
        "Media",
        "contests_media",
        [
            ("id", BigSerial, {"primary_key": True}),
            ("workspace", BigInt, {"default": 0}),
            ("submission", BigInt, {"default": 0}),
            ("position", Integer, {"default": 0}),
            ("filename", Varchar, {"length": 200, "default": ""}),
            ("content_type", Varchar, {"length": 64, "default": ""}),
            ("size", BigInt, {"default": 0}),
            ("width", Integer, {"default": 0}),
            ("height", Integer, {"default": 0}),
            ("sha256", Varchar, {"length": 64, "default": ""}),
            ("storage_key", Varchar, {"length": 200, "default": ""}),
            ("thumb_key", Varchar, {"length": 200, "default": ""}),
        ],
    ),
    (
        "Counter",
        "contests_counter",
        [
            ("id", BigSerial, {"primary_key": True}),
            ("workspace", BigInt, {"default": 0}),
            ("contest", BigInt, {"default": 0}),
            ("member_id", BigInt, {"default": 0}),
            ("bucket", Varchar, {"length": 40, "default": ""}),
            ("n", Integer, {"default": 0}),
            ("cap", Integer, {"default": 0}),
        ],
    ),
    (
        "Vote",
        "contests_vote",
        [
            ("id", BigSerial, {"primary_key": True}),
            ("workspace", BigInt, {"default": 0}),
            ("contest", BigInt, {"default": 0}),
            ("submission", BigInt, {"default": 0}),
            ("member_id", BigInt, {"default": 0}),
            ("source", Varchar, {"length": 64, "default": ""}),
            ("device", Varchar, {"length": 100, "default": ""}),
            ("voided", Boolean, {"default": False}),
            ("created_at", Timestamptz, {"default": TimestamptzNow()}),
        ],
    ),
    (
        "Signal",
        "contests_signal",
        [
            ("id", BigSerial, {"primary_key": True}),
            ("workspace", BigInt, {"default": 0}),
            ("contest", BigInt, {"default": 0}),
            ("vote", BigInt, {"default": 0}),
            ("member_id", BigInt, {"default": 0}),
            ("kind", Varchar, {"length": 32, "default": ""}),
            ("detail", Text, {"default": ""}),
            ("created_at", Timestamptz, {"default": TimestamptzNow()}),
        ],
    ),
    (
        "Score",
        "contests_score",
        [
            ("id", BigSerial, {"primary_key": True}),
            ("workspace", BigInt, {"default": 0}),
            ("contest", BigInt, {"default": 0}),
            ("submission", BigInt, {"default": 0}),
            ("judge", Varchar, {"length": 100, "default": ""}),
            ("marks", Text, {"default": "{}"}),
            ("total_ppm", Integer, {"default": 0}),
            ("comment", Text, {"default": ""}),
            ("updated_at", Timestamptz, {"default": TimestamptzNow()}),
        ],
    ),
    (
        "Award",
        "contests_award",
        [
            ("id", BigSerial, {"primary_key": True}),
            ("workspace", BigInt, {"default": 0}),
            ("contest", BigInt, {"default": 0}),
            ("rank", Integer, {"default": 0}),
            ("submission", BigInt, {"default": 0}),
            ("member_id", BigInt, {"default": 0}),
            ("points", Integer, {"default": 0}),
            ("contactable", Boolean, {"null": True, "default": None}),
            ("notified_at", Timestamptz, {"null": True, "default": None}),
            ("created_at", Timestamptz, {"default": TimestamptzNow()}),
        ],
    ),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="contests", description=DESCRIPTION)
    for class_name, tablename, columns in TABLES:
        scrm.add_table(manager, class_name, tablename, columns)
    return manager
