"""Entering a draw, and tickets earned by events.

An entry is one row per member and campaign (a unique index), written by one conditional statement
that also checks the campaign is open and inside its window — and, on PostgreSQL, holds a share lock
on the campaign row until it commits, so the draw (which changes that row first) never misses an
entry committed after it read the list. With a points cost the entry and the spend share one
transaction: not enough points, nothing written. On PostgreSQL free entries of a campaign arriving
at once are written by one statement (:data:`ENTRIES`, the core's group commit), each with its own
answer; their members are read by the batch too, one statement for all of them, instead of one read
per request before it (an entry whose member is unknown or not eligible is then written on its own,
which reads its member again and answers with its own 422 or 403).

Tickets (``entry_mode`` ``tickets``): each entry holds one ticket for entering; every delivered event
matching a ticket rule (``event_type`` → ``tickets``), occurring inside the entry window and delivered
while the campaign is open, adds its tickets once (its id is recorded under a unique index), up to
``max_tickets`` in all. Tickets earned before entering wait in the member's row (``entered`` false).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import scrm
from cachetools import TTLCache

from scrm_lottery import campaigns, json_columns
from scrm_lottery.campaigns import Campaign
from scrm_lottery.points import spender
from scrm_lottery.problems import AlreadyEntered, Closed, NotEligible, PointsUnavailable, WrongMode
from scrm_lottery.schemas import EntryCount, EntryOut, MemberIn

#: Open campaigns, reused for a few seconds by this process to spare a live-stream burst one round
#: trip per entry. Safe: what decides an entry (mode, eligibility, points cost) cannot change once a
#: campaign is open, and the insert itself re-checks the state and the window (closes_at may move).
_open: TTLCache[tuple[int, int], Campaign] = TTLCache(maxsize=10_000, ttl=5.0)
_CHUNK = 200  # rows per multi-row insert (SQLite's limit on bound values)
#: An entry's conflict: a row of tickets earned earlier becomes the entry; an entry made is kept.
_ENTERED = (
    "ON CONFLICT (campaign, member_id) DO UPDATE SET entered = TRUE, points_spent = excluded.points_spent, "
    "created_at = excluded.created_at WHERE lottery_entry.entered = FALSE"
)


async def member_of(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, who: MemberIn) -> scrm.MemberOut:
    """The member a body names by ``member_id`` or ``external_id``; a member not in this workspace
    is a 422 naming the field."""
    return await kernel.members.by_ref(ws, kernel.members.ref(who.member_id, who.external_id))


def refusal(campaign: Campaign, member: scrm.MemberOut) -> NotEligible | None:
    """Why ``member`` may not take part by what their row says — not active, lacking a required tag,
    carrying an excluded one — or None (their consent is :func:`check_eligible`'s to read). A batch
    of entries checks the members it read with this alone (:func:`_write_entries`)."""
    if member.status != "active":
        return NotEligible(f"The member is {member.status}", reason="member-not-active")
    missing = sorted(set(campaign.tags_required) - set(member.tags))
    if missing:
        return NotEligible(f"The member lacks the tag(s) {', '.join(missing)}", reason="tag-required", tags=missing)
    excluded = sorted(set(campaign.tags_excluded) & set(member.tags))
    if excluded:
        return NotEligible(f"The member carries the tag(s) {', '.join(excluded)}", reason="tag-excluded", tags=excluded)
    return None


async def check_eligible(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, member: scrm.MemberOut
) -> None:
    """Refuse (403 ``lottery-not-eligible`` with a ``reason``) a member :func:`refusal` refuses, or one
    who holds no current grant of the campaign's consent purpose. Consent here is the ledger's
    current state for the purpose, not ``can_contact``: taking part is not being contacted, and a
    quiet-hours veto must not keep anyone out."""
    refused = refusal(campaign, member)
    if refused is not None:
        raise refused
    if campaign.consent_purpose:
        current = {c.purpose: c.status for c in await kernel.consents.current(ws, member.id)}
        if current.get(campaign.consent_purpose) != "granted":
            raise NotEligible(
                f"The member has not granted consent for {campaign.consent_purpose}",
                reason="consent-required",
                purpose=campaign.consent_purpose,
            )


async def open_campaign(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> Campaign:
    """The campaign, from :data:`_open` when it was open a moment ago."""
    campaign = _open.get((ws.id, campaign_id))
    if campaign is None:
        campaign = await campaigns.load(kernel, ws, campaign_id)
        if campaign.state == "open":
            _open[ws.id, campaign_id] = campaign
    return campaign


async def enter(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, who: MemberIn) -> EntryOut:
    """Check and make an entry. Its problems come in this order, whichever way it goes: the campaign
    (404), the member (422), the mode (409), the window (409), the member not eligible (403), points.

    A free entry of an open draw that asks for no consent goes to its batch with its member unread:
    on PostgreSQL the batch reads every member of its entries in one statement (:func:`_write_entries`)."""
    campaign = await open_campaign(kernel, ws, campaign_id)
    ref = kernel.members.ref(who.member_id, who.external_id)
    at = datetime.now(UTC)
    if campaign.mode == "draw" and campaign.accepting(at) and not campaign.points_cost and not campaign.consent_purpose:
        return await ENTRIES.submit(kernel, Entering(ws, campaign, ref, None, at))
    member = await kernel.members.by_ref(ws, ref)
    if campaign.mode != "draw":
        raise WrongMode("An instant-win campaign takes spins (POST …/spins), not entries")
    if not campaign.accepting(at):
        raise Closed(
            f"The campaign takes entries from {campaign.opens_at} to {campaign.closes_at}; it is {campaign.state}"
        )
    await check_eligible(kernel, ws, campaign, member)
    if not campaign.points_cost:
        return await ENTRIES.submit(kernel, Entering(ws, campaign, ref, member, at))
    points = spender(kernel, ws)
    if points is None:
        raise PointsUnavailable("This campaign costs points and the points plugin is not enabled here")
    async with kernel.db.transaction():
        entry = await _insert(kernel, ws, campaign, member.id, campaign.points_cost, at)
        await points.spend(
            ws,
            member.id,
            campaign.points_cost,
            reason=f"lottery entry: {campaign.name}",
            reference=f"lottery:{campaign.id}:entry:{member.id}",
        )
    return entry


async def _insert(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, member_id: int, cost: int, at: datetime
) -> EntryOut:
    """The entry, in one statement that checks the campaign's state and window as it writes (and
    turns a row of tickets earned earlier into the entry)."""
    rows = await kernel.sql.fetch(
        "WITH c AS (SELECT id FROM lottery_campaign WHERE id = {} AND workspace = {} AND state = 'open' "
        f"AND opens_at <= {{}} AND closes_at > {{}}{kernel.sql.for_share}) "
        "INSERT INTO lottery_entry (workspace, campaign, member_id, entered, tickets, points_spent, created_at) "
        "SELECT {}, c.id, {}, TRUE, 1, {}, {} FROM c WHERE TRUE "
        f"{_ENTERED} RETURNING id, tickets",
        campaign.id,
        ws.id,
        at,
        at,
        ws.id,
        member_id,
        cost,
        at,
    )
    if not rows:
        _open.pop((ws.id, campaign.id), None)  # it may have closed since it was cached
        fresh = await campaigns.load(kernel, ws, campaign.id)
        if not fresh.accepting(at):
            raise Closed(f"The campaign takes no more entries; it is {fresh.state}")
        entered = await kernel.sql.fetch(
            "SELECT id FROM lottery_entry WHERE campaign = {} AND member_id = {} AND entered = TRUE",
            campaign.id,
            member_id,
        )
        if entered:
            raise AlreadyEntered(f"Member {member_id} has already entered this campaign", entry_id=entered[0]["id"])
        raise Closed("The campaign stopped taking entries")
    return EntryOut(
        id=rows[0]["id"],
        campaign_id=campaign.id,
        member_id=member_id,
        tickets=rows[0]["tickets"],
        points_spent=cost,
        created_at=at,
    )


@dataclass(frozen=True)
class Entering:
    """A free entry checked and ready to write: where, which campaign, who (as the body names them,
    and the member row once read and found eligible: a batch reads those still None), when."""

    ws: scrm.WorkspaceRef
    campaign: Campaign
    ref: scrm.MemberRef
    member: scrm.MemberOut | None
    at: datetime

    @property
    def member_id(self) -> int:
        if self.member is None:
            raise RuntimeError("the member of this entry has not been read")
        return self.member.id

    @property
    def entrant_key(self) -> tuple[str, int | str]:
        """Who enters, as far as is known before the member is read (one key per reference)."""
        if self.member is not None:
            return ("id", self.member.id)
        if self.ref.member_id is not None:
            return ("id", self.ref.member_id)
        return ("external_id", self.ref.external_id or "")


async def _with_members(kernel: scrm.Kernel, batch: Sequence[Entering]) -> list[Entering | None]:
    """Each entry with its member read (all in one statement), or None where the batch must leave it
    to :func:`_write_entry`: no such member, a member :func:`refusal` refuses, a member's second entry."""
    unread = [e.ref for e in batch if e.member is None]
    read = iter(await kernel.members.lookup(batch[0].ws, unread) if unread else [])
    ready: list[Entering | None] = []
    seen: set[int] = set()
    for e in batch:
        member = e.member if e.member is not None else next(read)
        if member is None or refusal(e.campaign, member) is not None or member.id in seen:
            ready.append(None)
            continue
        seen.add(member.id)
        ready.append(replace(e, member=member))
    return ready


async def _write_entries(kernel: scrm.Kernel, batch: Sequence[Entering]) -> list[EntryOut | None]:
    """PostgreSQL: free entries of one campaign, their members read here (those the requests did not
    read: in one statement), in one statement, checked against the campaign's state and window at
    the latest of their times; None for an entry not written (its member unknown or not eligible,
    the member's earlier entry, or a window just closed: its own write says which)."""
    ready = await _with_members(kernel, batch)
    writing = [e for e in ready if e is not None]
    written = iter(await _write_read(kernel, writing) if writing else [])
    return [next(written) if e is not None else None for e in ready]


async def _write_read(kernel: scrm.Kernel, batch: Sequence[Entering]) -> list[EntryOut | None]:
    """:func:`_write_entries` of entries whose members are read, each member once."""
    ws, campaign = batch[0].ws, batch[0].campaign
    now = max(e.at for e in batch)
    rows = await kernel.sql.fetch(
        "WITH c AS (SELECT id FROM lottery_campaign WHERE id = {} AND workspace = {} AND state = 'open' "
        "AND opens_at <= {} AND closes_at > {} FOR SHARE) "
        "INSERT INTO lottery_entry (workspace, campaign, member_id, entered, tickets, points_spent, created_at) "
        "SELECT {}, c.id, x.member, TRUE, 1, 0, x.at FROM c, unnest({}::bigint[], {}::timestamptz[]) AS x(member, at) "
        f"ORDER BY x.member {_ENTERED} RETURNING id, member_id, tickets",
        campaign.id,
        ws.id,
        now,
        now,
        ws.id,
        [e.member_id for e in batch],
        [e.at for e in batch],
    )
    written = {row["member_id"]: row for row in rows}
    return [
        None
        if e.member_id not in written
        else EntryOut(
            id=written[e.member_id]["id"],
            campaign_id=campaign.id,
            member_id=e.member_id,
            tickets=written[e.member_id]["tickets"],
            points_spent=0,
            created_at=e.at,
        )
        for e in batch
    ]


async def _write_entry(kernel: scrm.Kernel, entering: Entering) -> EntryOut:
    """One free entry on its own (SQLite; PostgreSQL for an entry its batch did not write): its member
    read and checked first when the request left it unread, so it gets its own 422 or 403."""
    member = entering.member
    if member is None:
        member = await kernel.members.by_ref(entering.ws, entering.ref)
        await check_eligible(kernel, entering.ws, entering.campaign, member)
    return await _insert(kernel, entering.ws, entering.campaign, member.id, 0, entering.at)


#: Free entries of a campaign arriving at once (a live-stream draw) share a statement on PostgreSQL;
#: a member named one way is never in two batches at once (named by ``member_id`` and by
#: ``external_id`` they may share one: it writes one, the other gets its 409 on its own). See
#: :class:`scrm.GroupCommit`.
ENTRIES: scrm.GroupCommit[Entering, EntryOut] = scrm.GroupCommit(
    "lottery.entries",
    _write_entries,
    _write_entry,
    lane=lambda e: (e.ws.id, e.campaign.id),
    conflict=lambda e: e.entrant_key,
)


def _entry(row: Any, campaign_id: int) -> EntryOut:
    return EntryOut(
        id=row["id"],
        campaign_id=campaign_id,
        member_id=row["member_id"],
        tickets=row["tickets"],
        points_spent=row["points_spent"],
        created_at=scrm.as_datetime(row["created_at"]),
    )


async def listing(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, member_id: int | None, cursor: str | None, limit: int
) -> scrm.Page[EntryOut]:
    """Entries in the order they were made (by id)."""
    await campaigns.load(kernel, ws, campaign_id)
    listing = f"lottery-entries-{campaign_id}"
    after = kernel.cursors.decode(listing, cursor)
    member_sql = " AND member_id = {}" if member_id is not None else ""
    rows = await kernel.sql.fetch(
        "SELECT id, member_id, tickets, points_spent, created_at FROM lottery_entry "
        f"WHERE campaign = {{}} AND workspace = {{}} AND entered = TRUE AND id > {{}}{member_sql} ORDER BY id LIMIT {{}}",
        campaign_id,
        ws.id,
        after,
        *([member_id] if member_id is not None else []),
        limit + 1,
    )
    return kernel.cursors.page(listing, [_entry(r, campaign_id) for r in rows], [r["id"] for r in rows], limit)


async def count(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> EntryCount:
    await campaigns.load(kernel, ws, campaign_id)
    rows = await kernel.sql.fetch(
        "SELECT COUNT(*) AS entries, COALESCE(SUM(tickets), 0) AS tickets FROM lottery_entry "
        "WHERE campaign = {} AND workspace = {} AND entered = TRUE",
        campaign_id,
        ws.id,
    )
    return EntryCount(campaign_id=campaign_id, entries=int(rows[0]["entries"]), tickets=int(rows[0]["tickets"]))


async def counts(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_ids: list[int]) -> dict[int, int]:
    """The entries of several campaigns at once (a campaign list's column); one without entries is left out."""
    if not campaign_ids:
        return {}
    condition, ids = kernel.sql.any_of("campaign", campaign_ids)
    rows = await kernel.sql.fetch(
        f"SELECT campaign, COUNT(*) AS entries FROM lottery_entry WHERE workspace = {{}} AND {condition} "
        "AND entered = TRUE GROUP BY campaign",
        ws.id,
        ids,
    )
    return {r["campaign"]: int(r["entries"]) for r in rows}


# --- tickets from events ------------------------------------------------------------------------


async def earn_tickets(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, events: list[scrm.EventOut]) -> None:
    """Give the tickets of a delivered batch of events, once per event, within each campaign's cap.

    Runs in the delivery's transaction: the event ids recorded under a unique index commit with the
    tickets, so a batch delivered again gives nothing twice. One query finds the open ticket
    campaigns (share-locked on PostgreSQL, so a draw waits for this delivery); then one insert of
    event ids per campaign and one upsert per member who earned tickets.
    """
    if not events:
        return
    rows = await kernel.sql.fetch(
        "SELECT id, ticket_rules, max_tickets, opens_at, closes_at FROM lottery_campaign "
        f"WHERE workspace = {{}} AND state = 'open' AND entry_mode = 'tickets'{kernel.sql.for_share}",
        ws.id,
    )
    for row in rows:
        rules = {r.event_type: r.tickets for r in json_columns.ticket_rules(row["ticket_rules"])}
        opens, closes = scrm.as_datetime(row["opens_at"]), scrm.as_datetime(row["closes_at"])
        # a workspace event (no member) earns no one tickets
        matching = [
            e for e in events if e.member_id is not None and e.type in rules and opens <= e.occurred_at < closes
        ]
        if matching:
            await _credit(kernel, ws, row["id"], int(row["max_tickets"]), rules, matching)


async def _credit(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    campaign_id: int,
    cap: int,
    rules: dict[str, int],
    events: list[scrm.EventOut],
) -> None:
    fresh: set[int] = set()
    for start in range(0, len(events), _CHUNK):
        chunk = events[start : start + _CHUNK]
        args: list[Any] = []
        for e in chunk:
            args += [ws.id, campaign_id, e.id, e.member_id]
        inserted = await kernel.sql.fetch(
            "INSERT INTO lottery_ticket_event (workspace, campaign, event_id, member_id) VALUES "
            + ", ".join("({}, {}, {}, {})" for _ in chunk)
            + " ON CONFLICT (campaign, event_id) DO NOTHING RETURNING event_id",
            *args,
        )
        fresh |= {r["event_id"] for r in inserted}
    earned: dict[int, int] = defaultdict(int)
    for e in events:
        if e.id in fresh and e.member_id is not None:
            earned[e.member_id] += rules[e.type]
    at = datetime.now(UTC)
    capped = kernel.sql.least("lottery_entry.tickets + {}", "{}")
    for member_id, tickets in earned.items():
        await kernel.sql.fetch(
            "INSERT INTO lottery_entry (workspace, campaign, member_id, entered, tickets, points_spent, created_at) "
            "VALUES ({}, {}, {}, FALSE, {}, 0, {}) "
            f"ON CONFLICT (campaign, member_id) DO UPDATE SET tickets = {capped}",
            ws.id,
            campaign_id,
            member_id,
            min(1 + tickets, cap),
            at,
            tickets,
            cap,
        )
