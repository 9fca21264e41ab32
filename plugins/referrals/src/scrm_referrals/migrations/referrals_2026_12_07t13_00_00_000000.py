"""The referrals plugin's tables, indexes and unique rules (both engines).

The unique indexes are the database's half of the plugin's promises: one code per member and
campaign, codes unique everywhere, one attribution per invitee and workspace, one reward per
referral and role, one quota row per inviter, campaign and day, one landing counter per slot."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-07T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referrals tables"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS referrals_campaign_workspace_id ON referrals_campaign (workspace, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS referrals_code_code ON referrals_code (code)",
    "CREATE UNIQUE INDEX IF NOT EXISTS referrals_code_member ON referrals_code (campaign, member_id)",
    "CREATE INDEX IF NOT EXISTS referrals_code_workspace_member ON referrals_code (workspace, member_id)",
    # one attribution per invitee (NULL after an erasure unlinks it: NULLs are distinct)
    "CREATE UNIQUE INDEX IF NOT EXISTS referrals_referral_invitee ON referrals_referral (workspace, invitee_id)",
    "CREATE INDEX IF NOT EXISTS referrals_referral_inviter ON referrals_referral (workspace, inviter_id, joined_at)",
    "CREATE INDEX IF NOT EXISTS referrals_referral_campaign ON referrals_referral (campaign, state, joined_at)",
    "CREATE INDEX IF NOT EXISTS referrals_referral_source ON referrals_referral (campaign, source, joined_at)",
    "CREATE INDEX IF NOT EXISTS referrals_referral_device ON referrals_referral (workspace, device)",
    "CREATE UNIQUE INDEX IF NOT EXISTS referrals_reward_role ON referrals_reward (referral, role)",
    "CREATE INDEX IF NOT EXISTS referrals_reward_member ON referrals_reward (workspace, member_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS referrals_quota_day ON referrals_quota (campaign, member_id, day)",
    "CREATE UNIQUE INDEX IF NOT EXISTS referrals_landing_slot ON referrals_landing (campaign, day, slot)",
    "CREATE UNIQUE INDEX IF NOT EXISTS referrals_identity_digest ON referrals_identity (workspace, digest)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="referrals", description=DESCRIPTION)

    async def create() -> None:
        from scrm_referrals.tables import TABLES

        engine = engine_finder()
        assert engine is not None
        for table in TABLES:
            await table.create_table(if_not_exists=True)
        for statement in INDEXES:
            await engine.run_querystring(QueryString(statement))

    manager.add_raw(create)
    return manager
