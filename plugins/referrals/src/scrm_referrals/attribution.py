"""Attribution: which code brought a new member in, decided once.

The rules, each enforced where it cannot be raced:

* **first valid code wins** — one referral per invitee and workspace (a unique index; a second code,
  or the same one twice at once, is ``referrals-already-attributed``);
* **never a self-invite** — the inviter is not the invitee, nor anyone sharing an identity with them
  (external id, phone, email… compared as keyed digests);
* **never an existing member** — joining creates the member in the attribution's transaction; a
  member created elsewhere may claim a code only within :data:`CLAIM_WINDOW` of being created;
* **never an erased member joining again** — the digests of every invitee's identities stay after
  an erasure (a keyed hash, not the identity), and an identity seen before is ``referrals-rejoined``
  (inserted under a unique index: two joins of one identity at once attribute one). Only invitees'
  identities are kept: the core wipes a member's identities before the erasure hooks run.

The fraud signals are read as the referral is written: many invitees of one inviter from one source
address in a day (``shared-source``), a device id seen before in the workspace (``shared-device``), many
joins of one inviter within an hour (``burst``). Joining records ``referral.joined`` on the invitee,
in the same transaction: its delivery is what converts a campaign without a conversion event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import scrm

from scrm_referrals import campaigns, codes
from scrm_referrals.campaigns import Campaign
from scrm_referrals.problems import AlreadyAttributed, CampaignClosed, ExistingMember, Rejoined, SelfInvite
from scrm_referrals.schemas import AttributeIn, JoinIn, ReferralOut

CLAIM_WINDOW = timedelta(hours=1)
JOINED = "referral.joined"
SOURCE_WINDOW = timedelta(days=1)
BURST_WINDOW = timedelta(hours=1)


def digests(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, external_id: str | None, identities: dict[str, str]
) -> list[str]:
    """Keyed digests (HMAC-SHA256 with the deployment's secret key) of a person's identities, so
    that they can be compared after the identities themselves were erased."""
    pairs = [("external_id", external_id)] if external_id else []
    pairs += sorted(identities.items())
    key = kernel.settings.secret_key.encode()
    return sorted(
        {
            hmac.new(key, f"{ws.id}\x00{kind}\x00{value.strip().lower()}".encode(), hashlib.sha256).hexdigest()
            for kind, value in pairs
            if value and value.strip()
        }
    )


@dataclass(frozen=True)
class Attribution:
    """A referral about to be written: the code (its id, campaign and holder as read before) and the
    invitee (their id, identity digests, source address and device id)."""

    ws: scrm.WorkspaceRef
    campaign: Campaign
    code: str
    code_id: int
    inviter: int | None
    invitee: int
    found: list[str]
    source: str | None
    device: str | None


#: The referrals (their input rows ``x``, written in ``ord``er: ids follow it), each written only
#: while its campaign takes joins (checked as it writes: the campaign may come from
#: :func:`scrm_referrals.codes.find_for_join`'s cache), with the code's holder as it is now (an
#: erasure may have unlinked them since) and, with two levels, the holder's own inviter (a referral
#: not voided) for second-level credit.
_INSERT = (
    "INSERT INTO referrals_referral (workspace, campaign, code, inviter_id, invitee_id, second_id, state, signals, "
    "source, device, joined_at, note) SELECT {}, p.id, c.id, c.member_id, x.invitee, CASE WHEN p.levels >= 2 THEN "
    "(SELECT s.inviter_id FROM referrals_referral s WHERE s.workspace = c.workspace AND s.invitee_id = c.member_id "
    "AND s.state <> 'void') END, 'pending', x.signals, x.source, x.device, x.at, '' "
    "FROM x JOIN referrals_code c ON c.id = x.code JOIN referrals_campaign p ON p.id = c.campaign "
    "WHERE p.state = 'active' AND (p.starts_at IS NULL OR p.starts_at <= x.at) AND (p.ends_at IS NULL OR p.ends_at > x.at) "
    "ORDER BY x.ord RETURNING id, invitee_id, inviter_id, second_id"
)
_IDENTITIES = "ON CONFLICT (workspace, digest) DO NOTHING RETURNING id"


async def _insert(
    kernel: scrm.Kernel, items: Sequence[Attribution], signals: list[list[str]], at: datetime
) -> list[tuple[int, int | None, int | None]]:
    """Write the referrals and the invitees' identity digests: for each, (its id, the inviter, the
    second-level inviter). On PostgreSQL one statement (a write CTE) for all of them, on SQLite two
    for each. A referral not written (its campaign closed) or an identity invited before (even if
    erased since; also when two join at once: the unique index on the digests) refuses them all."""
    ws = items[0].ws
    if kernel.sql.postgres:
        pairs = [(a.invitee, digest) for a in items for digest in a.found]
        rows = await kernel.sql.fetch(
            "WITH x AS (SELECT * FROM unnest({}::bigint[], {}::bigint[], {}::text[], {}::text[], {}::text[]) WITH ORDINALITY "
            f"AS x(code, invitee, signals, source, device, ord), (SELECT {{}}::timestamptz AS at) AS t), r AS ({_INSERT}), "
            "i AS (INSERT INTO referrals_identity (workspace, digest, referral) SELECT {}, d.digest, r.id FROM r "
            f"JOIN unnest({{}}::bigint[], {{}}::text[]) AS d(invitee, digest) ON d.invitee = r.invitee_id {_IDENTITIES}) "
            "SELECT r.id, r.invitee_id, r.inviter_id, r.second_id, (SELECT count(*) FROM i) AS kept FROM r",
            [a.code_id for a in items],
            [a.invitee for a in items],
            [json.dumps(found) for found in signals],
            [a.source for a in items],
            [a.device for a in items],
            at,
            ws.id,
            ws.id,
            [invitee for invitee, _ in pairs],
            [digest for _, digest in pairs],
        )
        kept = int(rows[0]["kept"]) if rows else 0
    else:
        rows, kept = [], 0
        for a, found in zip(items, signals, strict=True):
            written = await kernel.sql.fetch(
                f"WITH x(code, invitee, signals, source, device, at, ord) AS (VALUES ({{}}, {{}}, {{}}, {{}}, {{}}, {{}}, 1)) {_INSERT}",
                a.code_id,
                a.invitee,
                json.dumps(found),
                a.source,
                a.device,
                at,
                ws.id,
            )
            rows += written
            if written and a.found:
                values: list[object] = []
                for digest in a.found:
                    values += [ws.id, digest, written[0]["id"]]
                kept += len(
                    await kernel.sql.fetch(
                        "INSERT INTO referrals_identity (workspace, digest, referral) VALUES "
                        + ", ".join("({}, {}, {})" for _ in a.found)
                        + f" {_IDENTITIES}",
                        *values,
                    )
                )
    by_invitee = {row["invitee_id"]: row for row in rows}
    for a in items:
        if a.invitee not in by_invitee:
            campaigns.FOUND.clear()  # the cached campaign was out of date
            raise CampaignClosed(f"Campaign {a.campaign.id} is not taking invitations now")
    if kept < sum(len(a.found) for a in items):
        raise Rejoined("This identity was invited before: a member who was erased cannot be invited again")
    return [(int(row["id"]), row["inviter_id"], row["second_id"]) for row in (by_invitee[a.invitee] for a in items)]


def _open(campaign: Campaign) -> None:
    if not campaign.active():
        raise CampaignClosed(f"Campaign {campaign.id} is not taking invitations now")


@dataclass(frozen=True)
class Joining:
    """One join, checked and waiting to be written (:data:`JOINS`): everything its write needs."""

    ws: scrm.WorkspaceRef
    data: JoinIn
    code_id: int
    inviter: int | None
    campaign: Campaign
    found: list[str]  # the digests of the invitee's identities

    def attribution(self, invitee: int) -> Attribution:
        """The referral to write once the member is created."""
        d = self.data
        return Attribution(
            self.ws, self.campaign, d.code, self.code_id, self.inviter, invitee, self.found, d.source, d.device
        )


async def join(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: JoinIn) -> ReferralOut:
    """Create the member and attribute them to the code, in one transaction (all or nothing); on
    PostgreSQL joins arriving at once share it (:data:`JOINS`)."""
    code_id, inviter, campaign = await codes.find_for_join(kernel, ws, data.code)
    _open(campaign)
    found = digests(kernel, ws, data.member.external_id, data.member.identities)
    if data.member.identities:  # an external id alone cannot be the holder's: it would be taken
        await _not_the_inviter(kernel, ws, inviter, found)
    referral, member = await JOINS.submit(kernel, Joining(ws, data, code_id, inviter, campaign, found))
    await kernel.members.announce(ws, member)
    return referral


async def _write_joins(
    kernel: scrm.Kernel, joins: Sequence[Joining]
) -> list[tuple[ReferralOut, scrm.MemberOut] | None]:
    """Joins of one workspace in the batch's transaction: the members in one statement (the core's
    :meth:`~scrm.services.members.Members.create_many`), their fraud signals in one, their referrals
    and digests in one, and their ``referral.joined`` events in one. A join whose external id is taken is left out (None: its own write
    answers it); a referral refused (campaign closed, identity invited before) fails the batch, and
    each join is then written on its own."""
    ws = joins[0].ws
    members = await kernel.members.create_many(ws, [j.data.member for j in joins])
    created = [(j, member) for j, member in zip(joins, members, strict=True) if member is not None]
    attributed = await _attribute(kernel, [j.attribution(member.id) for j, member in created]) if created else []
    if attributed:
        await kernel.events.record(ws, [event for _, event in attributed])
    by_member = {member.id: (referral, member) for (_, member), (referral, _) in zip(created, attributed, strict=True)}
    return [None if member is None else by_member[member.id] for member in members]


async def _write_join(kernel: scrm.Kernel, j: Joining) -> tuple[ReferralOut, scrm.MemberOut]:
    async with kernel.db.transaction(on_duplicate=AlreadyAttributed("The member was already invited with a code")):
        [member] = await kernel.members.create_many(j.ws, [j.data.member])
        if member is None:
            raise ExistingMember(f"A member with external_id {j.data.member.external_id!r} already exists")
        [(referral, event)] = await _attribute(kernel, [j.attribution(member.id)])
        await kernel.events.record(j.ws, [event])
    return referral, member


#: Joins of a workspace arriving at once, on PostgreSQL, share one transaction (up to 100, 4 batches
#: in flight; two joins of one external id never in two batches at once). See :class:`scrm.GroupCommit`.
JOINS: scrm.GroupCommit[Joining, tuple[ReferralOut, scrm.MemberOut]] = scrm.GroupCommit(
    "referrals.joins", _write_joins, _write_join, lane=lambda j: j.ws.id, conflict=lambda j: j.data.member.external_id
)


async def claim(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: AttributeIn) -> ReferralOut:
    """Attribute a member created a moment ago (by the brand's app, say) to a code; on PostgreSQL
    claims arriving at once share one transaction (:data:`CLAIMS`)."""
    code_id, inviter, campaign = await codes.find_for_join(kernel, ws, data.code)
    member = await kernel.members.get(ws, data.member_id)
    if member.id == inviter:
        raise SelfInvite("A member cannot use their own invite code")
    if member.status == "erased":
        raise scrm.Conflict(f"Member {member.id} was erased")
    _open(campaign)
    if datetime.now(UTC) - member.created_at > CLAIM_WINDOW:
        raise ExistingMember(
            f"Member {member.id} joined more than {int(CLAIM_WINDOW.total_seconds() // 60)} minutes ago: "
            "only new members can be invited"
        )
    found = digests(kernel, ws, member.external_id, member.identities)
    if member.identities:  # the holder is not the member (checked above); their external ids differ
        await _not_the_inviter(kernel, ws, inviter, found)
    return await CLAIMS.submit(
        kernel, Attribution(ws, campaign, data.code, code_id, inviter, member.id, found, data.source, data.device)
    )


async def _write_claims(kernel: scrm.Kernel, claims: Sequence[Attribution]) -> list[ReferralOut]:
    """Claims of one workspace in the batch's transaction: their fraud signals in one statement, their
    referrals and digests in one, their ``referral.joined`` events in one. A claim refused (the
    member attributed already, the campaign closed, an identity invited before) fails the batch, and
    each claim is then written on its own."""
    attributed = await _attribute(kernel, claims)
    await kernel.events.record(claims[0].ws, [event for _, event in attributed])
    return [referral for referral, _ in attributed]


async def _write_claim(kernel: scrm.Kernel, a: Attribution) -> ReferralOut:
    async with kernel.db.transaction(
        on_duplicate=AlreadyAttributed(f"Member {a.invitee} was already invited with a code")
    ):
        [(referral, event)] = await _attribute(kernel, [a])
        await kernel.events.record(a.ws, [event])
    return referral


#: Claims of a workspace arriving at once, on PostgreSQL, share one transaction, as joins do; two
#: claims of one member are never in two batches at once (see :class:`scrm.GroupCommit`).
CLAIMS: scrm.GroupCommit[Attribution, ReferralOut] = scrm.GroupCommit(
    "referrals.claims", _write_claims, _write_claim, lane=lambda a: a.ws.id, conflict=lambda a: a.invitee
)


async def _not_the_inviter(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, inviter: int | None, found: list[str]) -> None:
    """Refuse an invitee who shares an identity with the code's holder."""
    if inviter is None or not found:
        return
    holder = await kernel.members.get(ws, inviter)
    if set(found) & set(digests(kernel, ws, holder.external_id, holder.identities)):
        raise SelfInvite("A member cannot use their own invite code")


async def _signals(kernel: scrm.Kernel, items: Sequence[Attribution], at: datetime) -> list[list[str]]:
    """The fraud signals of joins about to be written, in order (see the module's docstring), read in
    one statement: each join counts the referrals stored and the joins before it in ``items`` (they
    are written together). Each count stops at its threshold: a signal needs to know whether it is
    passed, and the cost of a join must not grow with an inviter's history."""
    counts: list[list[tuple[str, Hashable, str, list[object], int]]] = []
    for a in items:
        d, ws = a.campaign.data, a.campaign.workspace
        mine: list[tuple[str, Hashable, str, list[object], int]] = []
        if a.source is not None and a.inviter is not None:
            where = "campaign = {} AND source = {} AND inviter_id = {} AND joined_at > {}"
            key = ("source", a.campaign.id, a.source, a.inviter)
            values: list[object] = [a.campaign.id, a.source, a.inviter, at - SOURCE_WINDOW]
            mine.append(("shared-source", key, where, values, d.source_limit))
        if a.device is not None:
            mine.append(
                ("shared-device", ("device", ws, a.device), "workspace = {} AND device = {}", [ws, a.device], 1)
            )
        if a.inviter is not None:
            where = "workspace = {} AND inviter_id = {} AND joined_at > {}"
            mine.append(("burst", ("burst", ws, a.inviter), where, [ws, a.inviter, at - BURST_WINDOW], d.burst_limit))
        counts.append(mine)
    flat = [count for mine in counts for count in mine]
    if not flat:
        return [[] for _ in items]
    args: list[object] = []
    for _, _, _, values, limit in flat:
        args += [*values, limit]
    row = (
        await kernel.sql.fetch(
            "SELECT "
            + ", ".join(
                f"(SELECT COUNT(*) FROM (SELECT 1 FROM referrals_referral WHERE {where} LIMIT {{}}) AS x{n}) AS n{n}"
                for n, (_, _, where, _, _) in enumerate(flat)
            ),
            *args,
        )
    )[0]
    stored = iter(int(row[f"n{n}"]) for n in range(len(flat)))
    before: Counter[Hashable] = Counter()  # the joins earlier in this batch, by what they count towards
    found: list[list[str]] = []
    for mine in counts:
        seen = [(signal, key, next(stored) + before[key] >= limit) for signal, key, _, _, limit in mine]
        found.append([signal for signal, _, passed in seen if passed])
        before.update(key for _, key, _ in seen)
    return found


async def _attribute(kernel: scrm.Kernel, items: Sequence[Attribution]) -> list[tuple[ReferralOut, scrm.NewEvent]]:
    """Write the referrals and the invitees' digests (inside the caller's transaction); returns each
    and its ``referral.joined`` event, for the caller to record in the same transaction."""
    at = datetime.now(UTC)
    signals = await _signals(kernel, items, at)
    written = await _insert(kernel, items, signals, at)
    out: list[tuple[ReferralOut, scrm.NewEvent]] = []
    for a, found, (referral_id, inviter, second) in zip(items, signals, written, strict=True):
        event = scrm.NewEvent(
            a.invitee,
            JOINED,
            {"campaign_id": a.campaign.id, "referral_id": referral_id, "inviter_id": inviter, "signals": found},
            occurred_at=at,
            source="referrals",
            idempotency_key=f"referrals:joined:{referral_id}",
        )
        referral = ReferralOut(
            id=referral_id,
            campaign_id=a.campaign.id,
            code=codes.normal(a.code),
            inviter_id=inviter,
            invitee_id=a.invitee,
            second_id=second,
            state="pending",
            signals=found,
            joined_at=at,
            converted_at=None,
            reviewed_at=None,
            note="",
        )
        out.append((referral, event))
    return out
