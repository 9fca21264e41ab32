"""The verifiable draw, against the database: freeze the entries, run :func:`fairness.draw`, store
the winners and the entry list's hash, reveal the seed — once.

The draw is one transaction that starts with the conditional state change ``closed → drawn`` (or
``open → drawn`` once ``closes_at`` has passed). On PostgreSQL that row lock waits for every entry
and ticket delivery holding the campaign's share lock, then blocks new ones, which then see the
campaign drawn; a second draw waits too, then finds nothing to change (409). SQLite serialises
writers. So the entries read are exactly the ones that will ever count.

Entries are read in one query of two columns: on PostgreSQL as two arrays (``array_agg`` ordered by
member id, decoded in C by asyncpg), which keeps a million entries well under a second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import scrm

from scrm_lottery import campaigns, fairness, json_columns, winners
from scrm_lottery.campaigns import Campaign
from scrm_lottery.problems import AlreadyDrawn, NotClosed, NotDrawn, WrongMode, WrongState
from scrm_lottery.schemas import DrawResult, PublicSource

_CHUNK = 500


class Bundle(msgspec.Struct):
    """The published facts of a draw: what ``scrm lottery verify`` and the SDK check."""

    campaign_id: int
    name: str
    algorithm: str
    commitment: str
    seed: str
    entries_hash: str
    entry_count: int
    quantities: list[int]  # prize quantities, in prize order
    member_ids: list[int]  # the frozen entries, sorted by member id
    tickets: list[int]  # tickets of each entry, in the same order
    winners: list[int]  # the winners' member ids, in rank order
    public_source: PublicSource | None = None  # the public source the commitment covers
    public_value: str | None = None  # its value, mixed into the seed


ALGORITHM = "scrm-lottery-v1: hmac-sha256 counter stream, rejection sampling, weighted without replacement"


async def frozen_entries(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> tuple[list[int], list[int]]:
    """The entries' member ids (ascending) and tickets, in one query. On PostgreSQL the arrays are
    aggregated from an ordered index scan of ``(campaign, member_id)`` (no sort); :func:`fairness.draw`
    refuses a list that is not strictly ascending, so an unexpected order fails loudly, never silently.
    (The engines return different shapes here — two arrays, or rows — so this reads each its way.)"""
    if kernel.sql.postgres:
        rows = await kernel.sql.fetch(
            "SELECT array_agg(member_id) AS ids, array_agg(tickets) AS tickets FROM (SELECT member_id, tickets "
            "FROM lottery_entry WHERE campaign = {} AND workspace = {} AND entered = TRUE ORDER BY member_id) AS e",
            campaign_id,
            ws.id,
        )
        return list(rows[0]["ids"] or []), list(rows[0]["tickets"] or [])
    rows = await kernel.sql.fetch(
        "SELECT member_id, tickets FROM lottery_entry WHERE campaign = {} AND workspace = {} AND entered = TRUE "
        "ORDER BY member_id",
        campaign_id,
        ws.id,
    )
    return [r["member_id"] for r in rows], [r["tickets"] for r in rows]


async def draw(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, public_value: str | None = None
) -> DrawResult:
    """Draw the campaign once (with its public source's published value, when it names one), record
    ``lottery.won`` for each winner with it, then ask the consent door about each winner
    (:func:`winners.notify`)."""
    async with kernel.db.transaction():
        name, prizes, drawn = await freeze_and_draw(kernel, ws, campaign_id, public_value)
        for start in range(0, len(drawn), _CHUNK):
            await kernel.events.record(ws, won_events(campaign_id, name, prizes, drawn[start : start + _CHUNK]))
    campaign = await campaigns.load(kernel, ws, campaign_id)
    await winners.notify(kernel, ws, campaign)
    return await result(kernel, ws, campaign_id)


async def freeze_and_draw(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, public_value: str | None
) -> tuple[str, list[Any], list[fairness.Winner]]:
    """The draw's database work, inside the caller's transaction: the state change that makes it
    happen once, the public value checked (:func:`checked_value`), the frozen entries, the winners,
    the entry list's hash and the public value stored. Returns the campaign's name, its prizes (rows
    in prize order) and the winners."""
    at = datetime.now(UTC)
    rows = await kernel.sql.fetch(
        "UPDATE lottery_campaign SET state = 'drawn', drawn_at = {}, updated_at = {} "
        "WHERE id = {} AND workspace = {} AND mode = 'draw' "
        "AND (state = 'closed' OR (state = 'open' AND closes_at <= {})) RETURNING seed, name, public_source",
        at,
        at,
        campaign_id,
        ws.id,
        at,
    )
    if not rows:
        await _refuse(kernel, ws, campaign_id)
    seed, name = bytes.fromhex(rows[0]["seed"]), rows[0]["name"]
    value = checked_value(json_columns.public_source(rows[0]["public_source"]), public_value)
    member_ids, tickets = await frozen_entries(kernel, ws, campaign_id)
    prizes = await kernel.sql.fetch(
        "SELECT id, name, quantity FROM lottery_prize WHERE campaign = {} AND workspace = {} ORDER BY position",
        campaign_id,
        ws.id,
    )
    drawn = fairness.draw(fairness.draw_seed(seed, value), member_ids, tickets, [p["quantity"] for p in prizes])
    await kernel.sql.fetch(
        "UPDATE lottery_campaign SET entries_hash = {}, entry_count = {}, public_value = {} "
        "WHERE id = {} AND workspace = {}",
        fairness.entries_hash(member_ids, tickets),
        len(member_ids),
        value,
        campaign_id,
        ws.id,
    )
    for start in range(0, len(drawn), _CHUNK):
        chunk = drawn[start : start + _CHUNK]
        args: list[Any] = []
        for w in chunk:
            args += [ws.id, campaign_id, prizes[w.prize]["id"], w.member_id, w.rank, at]
        await kernel.sql.fetch(
            "INSERT INTO lottery_winner (workspace, campaign, prize, member_id, rank, created_at) VALUES "
            + ", ".join("({}, {}, {}, {}, {}, {})" for _ in chunk),
            *args,
        )
    return name, prizes, drawn


def won_events(campaign_id: int, name: str, prizes: list[Any], drawn: list[fairness.Winner]) -> list[scrm.NewEvent]:
    return [
        scrm.NewEvent(
            w.member_id,
            "lottery.won",
            {
                "campaign_id": campaign_id,
                "campaign": name,
                "prize_id": prizes[w.prize]["id"],
                "prize": prizes[w.prize]["name"],
                "rank": w.rank,
            },
            source="lottery",
            idempotency_key=f"lottery.won:{campaign_id}:{w.rank}",
        )
        for w in drawn
    ]


def checked_value(source: PublicSource | None, value: str | None) -> str | None:
    """The public value the draw mixes in (:func:`fairness.public_value`): a 422 naming
    ``public_value`` when the campaign's source needs one and none, or a malformed one, is given, or
    when the campaign names no source."""
    if source is None:
        if value is not None:
            raise scrm.invalid("public_value", "this campaign names no public randomness source")
        return None
    if value is None:
        raise scrm.invalid("public_value", f"the draw needs the published value of: {source.text()}")
    try:
        return fairness.public_value(value, drand=source.drand_round is not None)
    except ValueError as exc:
        raise scrm.invalid("public_value", str(exc)) from None


async def _refuse(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> None:
    """Raise why a campaign cannot be drawn now."""
    campaign = await campaigns.load(kernel, ws, campaign_id)
    if campaign.mode != "draw":
        raise WrongMode("An instant-win campaign has no draw")
    if campaign.state == "drawn":
        raise AlreadyDrawn("The campaign has been drawn already; a draw happens once")
    if campaign.state == "open":
        raise NotClosed(f"Entries close at {campaign.closes_at.isoformat()}; close the campaign or wait")
    raise WrongState(f"A campaign that is {campaign.state} cannot be drawn", state=campaign.state)


async def drawn_campaign(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> Campaign:
    campaign = await campaigns.get(kernel, ws, campaign_id)
    if campaign.mode != "draw":
        raise WrongMode("An instant-win campaign has no draw")
    if campaign.state != "drawn":
        raise NotDrawn(f"The campaign is {campaign.state}; its result comes with the draw")
    return campaign


async def result(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> DrawResult:
    campaign = await drawn_campaign(kernel, ws, campaign_id)
    everyone = await winners.all_of(kernel, ws, campaign)
    return DrawResult(
        campaign_id=campaign.id,
        commitment=campaign.commitment or "",
        seed=campaign.seed or "",
        public_source=campaign.public_source,
        public_value=campaign.public_value,
        entries_hash=campaign.entries_hash or "",
        entry_count=campaign.entry_count or 0,
        drawn_at=campaign.drawn_at or campaign.updated_at,
        prizes=campaign.prizes,
        winners=everyone,
        unreachable=[w for w in everyone if w.contactable is False],
    )


async def bundle(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> Bundle:
    """The frozen entry list with everything needed to re-run the draw."""
    campaign = await drawn_campaign(kernel, ws, campaign_id)
    member_ids, tickets = await frozen_entries(kernel, ws, campaign_id)
    ranked = await kernel.sql.fetch(
        "SELECT member_id FROM lottery_winner WHERE campaign = {} AND workspace = {} ORDER BY rank", campaign_id, ws.id
    )
    return Bundle(
        campaign_id=campaign.id,
        name=campaign.name,
        algorithm=ALGORITHM,
        commitment=campaign.commitment or "",
        seed=campaign.seed or "",
        entries_hash=campaign.entries_hash or "",
        entry_count=len(member_ids),
        quantities=[p.quantity for p in campaign.prizes],
        member_ids=member_ids,
        tickets=tickets,
        winners=[r["member_id"] for r in ranked],
        public_source=campaign.public_source,
        public_value=campaign.public_value,
    )
