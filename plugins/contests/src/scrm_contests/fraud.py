"""Fraud signals: facts about votes for an operator to weigh, never automatic refusals.

``new-member``
    the member joined less than :data:`NEW_MEMBER` before voting;
``burst-of-new-members``
    at least :data:`BURST_VOTES` votes from new members for the same submission within :data:`BURST_WINDOW`;
``shared-source``
    at least :data:`SOURCE_VOTES` votes in the contest from one source address within :data:`SOURCE_WINDOW`;
``shared-device``
    at least :data:`DEVICE_MEMBERS` members voting from one device id in the contest.

Each count is of the vote itself and the votes stored before it (lower ids), so a batch of votes
written together (:mod:`scrm_contests.casting`) raises exactly the signals the same votes would one
by one. All of a batch's signals are found and stored by one statement, on either engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import scrm

NEW_MEMBER = timedelta(hours=24)
BURST_WINDOW = timedelta(minutes=10)
BURST_VOTES = 10
SOURCE_WINDOW = timedelta(hours=1)
SOURCE_VOTES = 20
DEVICE_MEMBERS = 3


@dataclass(frozen=True)
class Stored:
    """A vote just stored, as the signals see it."""

    vote_id: int
    member: scrm.MemberOut
    submission_id: int
    source: str
    device: str
    at: datetime

    def minutes_old(self) -> int | None:
        """How many minutes the member had been a member when voting, if a new member."""
        age = self.at - self.member.created_at
        return int(age.total_seconds() // 60) if age < NEW_MEMBER else None


_INPUT = (
    ("vote", "bigint"),
    ("member", "bigint"),
    ("submission", "bigint"),
    ("source", "text"),
    ("device", "text"),
    ("minutes", "int"),
    ("at", "timestamptz"),
    ("burst_since", "timestamptz"),
    ("source_since", "timestamptz"),
)

# Counts for this vote and those before it (``<=`` its id); the batch's own new-member signals are
# not in the table yet (this statement writes them), so they are counted from the input instead.
_FOUND = (
    "WITH x AS (SELECT * FROM {rows}), "
    "f AS ("
    "SELECT x.vote, x.member, 'new-member' AS kind, "
    "'joined ' || CAST(x.minutes AS TEXT) || ' minutes before voting' AS detail FROM x WHERE x.minutes IS NOT NULL "
    "UNION ALL "
    "SELECT b.vote, b.member, 'burst-of-new-members', "
    f"CAST(b.n AS TEXT) || ' votes from new members within {BURST_WINDOW}' FROM ("
    "SELECT x.vote, x.member, (SELECT COUNT(*) FROM contests_signal s JOIN contests_vote v ON v.id = s.vote "
    "WHERE s.contest = {contest} AND s.workspace = {ws} AND s.kind = 'new-member' AND v.submission = x.submission "
    "AND s.created_at >= x.burst_since AND s.vote < x.vote) + (SELECT COUNT(*) FROM x AS y "
    "WHERE y.minutes IS NOT NULL AND y.submission = x.submission AND y.vote <= x.vote) AS n "
    "FROM x WHERE x.minutes IS NOT NULL) AS b WHERE b.n >= {burst_votes} "
    "UNION ALL "
    f"SELECT c.vote, c.member, 'shared-source', CAST(c.n AS TEXT) || ' votes from ' || c.source || ' within {SOURCE_WINDOW}' "
    "FROM (SELECT x.vote, x.member, x.source, (SELECT COUNT(*) FROM contests_vote v WHERE v.contest = {contest} "
    "AND v.workspace = {ws} AND v.source = x.source AND v.created_at >= x.source_since AND v.id <= x.vote) AS n "
    "FROM x WHERE x.source <> '') AS c WHERE c.n >= {source_votes} "
    "UNION ALL "
    "SELECT d.vote, d.member, 'shared-device', CAST(d.n AS TEXT) || ' members voted from device ' || d.device "
    "FROM (SELECT x.vote, x.member, x.device, (SELECT COUNT(DISTINCT v.member_id) FROM contests_vote v "
    "WHERE v.contest = {contest} AND v.workspace = {ws} AND v.device = x.device AND v.id <= x.vote) AS n "
    "FROM x WHERE x.device <> '') AS d WHERE d.n >= {device_members}) "
    "INSERT INTO contests_signal (workspace, contest, vote, member_id, kind, detail, created_at) "
    "SELECT {ws}, {contest}, f.vote, f.member, f.kind, f.detail, x.at FROM f JOIN x ON x.vote = f.vote "
    "RETURNING vote, kind"
)


async def record(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, contest_id: int, votes: Sequence[Stored]
) -> dict[int, list[str]]:
    """Find and store the signals of these votes of one contest (inside the caller's transaction,
    after the votes); each vote's signal kinds, by vote id, in the order of the table above."""
    found: dict[int, list[str]] = {v.vote_id: [] for v in votes}
    if not any(v.source or v.device or v.minutes_old() is not None for v in votes):
        return found  # nothing could be raised: spare the statement
    rows = kernel.sql.encode(
        {
            "vote": v.vote_id,
            "member": v.member.id,
            "submission": v.submission_id,
            "source": v.source,
            "device": v.device,
            "minutes": v.minutes_old(),
            "at": v.at,
            "burst_since": v.at - BURST_WINDOW,
            "source_since": v.at - SOURCE_WINDOW,
        }
        for v in votes
    )
    statement = _FOUND.replace("{rows}", kernel.sql.rows(_INPUT).replace("{}", "{input}"))
    stored = await kernel.sql.run(
        statement,
        input=rows,
        ws=ws.id,
        contest=contest_id,
        burst_votes=BURST_VOTES,
        source_votes=SOURCE_VOTES,
        device_members=DEVICE_MEMBERS,
    )
    order = ("new-member", "burst-of-new-members", "shared-source", "shared-device")
    for r in sorted(stored, key=lambda r: order.index(r["kind"])):
        found[int(r["vote"])].append(r["kind"])
    return found
