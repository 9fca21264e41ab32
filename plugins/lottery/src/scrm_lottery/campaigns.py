"""Campaigns: creating, changing, listing and moving them through their states.

States: ``draft`` → ``open`` → ``closed`` → ``drawn``, or ``cancelled`` from any but ``drawn``.
Opening draws the secret seed and publishes its commitment (covering the draw's public randomness
source, when it names one: :mod:`scrm_lottery.fairness`). Every transition is one conditional
``UPDATE … WHERE state = …`` (opening: an update of the draft read ``FOR UPDATE``), so two operators
racing get one transition and one 409. Once a campaign is open, only what cannot change who wins may
be edited (:data:`CHANGEABLE_WHEN_OPEN`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import scrm

from scrm_lottery import fairness, json_columns
from scrm_lottery.points import spender
from scrm_lottery.problems import CampaignLocked, PointsUnavailable, WrongState
from scrm_lottery.schemas import (
    CHANGEABLE_WHEN_OPEN,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    PrizeIn,
    PrizeOut,
    PublicSource,
    State,
    TicketRule,
)

PPM = 1_000_000
MAX_DRAW_PRIZES = 100_000  # prizes of one draw, all quantities together
COLUMNS = (
    "id, workspace, name, description, mode, entry_mode, state, opens_at, closes_at, tags_required, tags_excluded, "
    "consent_purpose, notify_purpose, points_cost, ticket_rules, max_tickets, spin_limit, daily_spin_limit, seed, "
    "commitment, public_source, public_value, entries_hash, entry_count, opened_at, drawn_at, created_at, updated_at"
)
NO_SOURCE_FOR_WHEELS = "a public randomness source is for draws only"
PRIZE_COLUMNS = "id, campaign, position, name, quantity, value, odds_ppm, stock"


@dataclass
class Campaign:
    """A campaign as the lottery's code works with it (the seed included: never show it before the draw)."""

    id: int
    name: str
    description: str
    mode: str
    entry_mode: str
    state: str
    opens_at: datetime
    closes_at: datetime
    tags_required: list[str]
    tags_excluded: list[str]
    consent_purpose: str | None
    notify_purpose: str
    points_cost: int
    ticket_rules: list[TicketRule]
    max_tickets: int
    spin_limit: int | None
    daily_spin_limit: int | None
    seed: str | None
    commitment: str | None
    public_source: PublicSource | None
    public_value: str | None
    entries_hash: str | None
    entry_count: int | None
    opened_at: datetime | None
    drawn_at: datetime | None
    created_at: datetime
    updated_at: datetime
    prizes: list[PrizeOut] = field(default_factory=list)

    def accepting(self, at: datetime) -> bool:
        """Whether entries (or spins) are taken at ``at``."""
        return self.state == "open" and self.opens_at <= at < self.closes_at

    def out(self, at: datetime | None = None) -> CampaignOut:
        return CampaignOut(
            id=self.id,
            name=self.name,
            description=self.description,
            mode=self.mode,  # type: ignore[arg-type]
            entry_mode=self.entry_mode,  # type: ignore[arg-type]
            state=self.state,  # type: ignore[arg-type]
            accepting=self.accepting(at or datetime.now(UTC)),
            opens_at=self.opens_at,
            closes_at=self.closes_at,
            prizes=self.prizes,
            tags_required=self.tags_required,
            tags_excluded=self.tags_excluded,
            consent_purpose=self.consent_purpose,
            notify_purpose=self.notify_purpose,
            points_cost=self.points_cost,
            ticket_rules=self.ticket_rules,
            max_tickets=self.max_tickets,
            spin_limit=self.spin_limit,
            daily_spin_limit=self.daily_spin_limit,
            public_source=self.public_source,
            commitment=self.commitment,
            seed=self.seed if self.state == "drawn" else None,
            public_value=self.public_value,
            entries_hash=self.entries_hash,
            entry_count=self.entry_count,
            opened_at=self.opened_at,
            drawn_at=self.drawn_at,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


def to_campaign(row: Any) -> Campaign:
    return Campaign(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        mode=row["mode"],
        entry_mode=row["entry_mode"],
        state=row["state"],
        opens_at=scrm.as_datetime(row["opens_at"]),
        closes_at=scrm.as_datetime(row["closes_at"]),
        tags_required=json_columns.tags(row["tags_required"]),
        tags_excluded=json_columns.tags(row["tags_excluded"]),
        consent_purpose=row["consent_purpose"],
        notify_purpose=row["notify_purpose"],
        points_cost=row["points_cost"],
        ticket_rules=json_columns.ticket_rules(row["ticket_rules"]),
        max_tickets=row["max_tickets"],
        spin_limit=row["spin_limit"],
        daily_spin_limit=row["daily_spin_limit"],
        seed=row["seed"],
        commitment=row["commitment"],
        public_source=json_columns.public_source(row["public_source"]),
        public_value=row["public_value"],
        entries_hash=row["entries_hash"],
        entry_count=row["entry_count"],
        opened_at=scrm.as_datetime(row["opened_at"]),
        drawn_at=scrm.as_datetime(row["drawn_at"]),
        created_at=scrm.as_datetime(row["created_at"]),
        updated_at=scrm.as_datetime(row["updated_at"]),
    )


def to_prize(row: Any, mode: str) -> PrizeOut:
    odds = row["odds_ppm"]
    return PrizeOut(
        id=row["id"],
        position=row["position"],
        name=row["name"],
        quantity=row["quantity"],
        value=row["value"],
        odds=odds / PPM if odds is not None else None,
        stock=row["stock"] if mode == "instant" else None,
    )


async def load(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, *, lock: str = "") -> Campaign:
    """The campaign (without prizes); 404 unless it is in this workspace. ``lock`` is appended to
    the query (``kernel.sql.for_update`` / ``for_share``, inside a transaction)."""
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM lottery_campaign WHERE id = {{}} AND workspace = {{}}{lock}", campaign_id, ws.id
    )
    if not rows:
        raise scrm.NotFound(f"No campaign {campaign_id} in this workspace", campaign_id=campaign_id)
    return to_campaign(rows[0])


async def with_prizes(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaigns: list[Campaign]) -> list[Campaign]:
    if not campaigns:
        return campaigns
    condition, ids = kernel.sql.any_of("campaign", [c.id for c in campaigns])
    rows = await kernel.sql.fetch(
        f"SELECT {PRIZE_COLUMNS} FROM lottery_prize WHERE workspace = {{}} AND {condition} ORDER BY campaign, position",
        ws.id,
        ids,
    )
    by_id = {c.id: c for c in campaigns}
    for c in campaigns:
        c.prizes = []
    for row in rows:
        campaign = by_id[row["campaign"]]
        campaign.prizes.append(to_prize(row, campaign.mode))
    return campaigns


async def get(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> Campaign:
    return (await with_prizes(kernel, ws, [await load(kernel, ws, campaign_id)]))[0]


async def listing(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, state: State | None, cursor: str | None, limit: int
) -> scrm.Page[CampaignOut]:
    """Campaigns, newest first, optionally in one state."""
    before = kernel.cursors.decode("lottery-campaigns", cursor)
    conditions, args = ["workspace = {}"], [ws.id]
    if before:
        conditions.append("id < {}")
        args.append(before)
    if state is not None:
        conditions.append("state = {}")
        args.append(state)  # type: ignore[arg-type]
    rows = await kernel.sql.fetch(
        f"SELECT {COLUMNS} FROM lottery_campaign WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT {{}}",
        *args,
        limit + 1,
    )
    campaigns = await with_prizes(kernel, ws, [to_campaign(r) for r in rows])
    at = datetime.now(UTC)
    return kernel.cursors.page("lottery-campaigns", [c.out(at) for c in campaigns], [c.id for c in campaigns], limit)


# --- checking what operators ask for ----------------------------------------------------------


async def check(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: CampaignIn, *, points: bool = True) -> None:
    """What the types cannot say: a window that ends after it starts, odds for instant prizes only
    (adding up to at most 1), tickets for draws only, purposes this workspace has, and a points cost
    only where points is enabled (when ``points``: a cost set earlier is not checked again), a public
    randomness source for draws only. All problems at once, as one 422."""
    errors: list[dict[str, str]] = []
    if data.closes_at <= data.opens_at:
        errors.append(scrm.field_error("closes_at", "must be after opens_at"))
    if data.mode == "instant":
        for i, prize in enumerate(data.prizes):
            if prize.odds is None:
                errors.append(
                    scrm.field_error(f"prizes[{i}].odds", "an instant-win prize needs its odds (0 < odds ≤ 1)")
                )
        if sum(round((p.odds or 0) * PPM) for p in data.prizes) > PPM:
            errors.append(scrm.field_error("prizes", "the odds of all prizes add up to more than 1"))
        if data.entry_mode != "single":
            errors.append(scrm.field_error("entry_mode", "instant-win campaigns take spins, not tickets"))
    else:
        for i, prize in enumerate(data.prizes):
            if prize.odds is not None:
                errors.append(scrm.field_error(f"prizes[{i}].odds", "odds are for instant-win prizes only"))
        if sum(p.quantity for p in data.prizes) > MAX_DRAW_PRIZES:
            errors.append(scrm.field_error("prizes", f"a draw awards at most {MAX_DRAW_PRIZES} prizes"))
        for name in ("spin_limit", "daily_spin_limit"):
            if getattr(data, name) is not None:
                errors.append(scrm.field_error(name, "spin limits are for instant-win campaigns only"))
    if data.public_source is not None and data.mode != "draw":
        errors.append(scrm.field_error("public_source", NO_SOURCE_FOR_WHEELS))
    if data.ticket_rules and data.entry_mode != "tickets":
        errors.append(scrm.field_error("ticket_rules", "ticket rules need entry_mode tickets"))
    if set(data.tags_required) & set(data.tags_excluded):
        errors.append(scrm.field_error("tags_excluded", "a tag cannot be both required and excluded"))
    purposes = {p.name for p in await kernel.consents.purposes.list(ws)}
    for name in ("consent_purpose", "notify_purpose"):
        value = getattr(data, name)
        if value is not None and value not in purposes:
            errors.append(scrm.field_error(name, f"no consent purpose {value!r} in this workspace"))
    if points and data.points_cost and spender(kernel, ws) is None:
        errors.append(
            scrm.field_error("points_cost", "a points cost needs the points plugin enabled in this workspace")
        )
    if errors:
        raise scrm.invalid_fields(errors)


def _prize_rows(ws: scrm.WorkspaceRef, campaign_id: int, prizes: list[PrizeIn]) -> tuple[str, list[Any]]:
    values, args = [], []
    for position, prize in enumerate(prizes):
        values.append("({}, {}, {}, {}, {}, {}, {}, {})")
        odds = round(prize.odds * PPM) if prize.odds is not None else None
        args += [ws.id, campaign_id, position, prize.name, prize.quantity, prize.value, odds, prize.quantity]
    sql = (
        "INSERT INTO lottery_prize (workspace, campaign, position, name, quantity, value, odds_ppm, stock) VALUES "
        + ", ".join(values)
    )
    return sql, args


async def create(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: CampaignIn) -> Campaign:
    await check(kernel, ws, data)
    async with kernel.db.transaction():
        campaign_id = await insert(kernel, ws, data)
    return await get(kernel, ws, campaign_id)


async def insert(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, data: CampaignIn) -> int:
    """Store a checked campaign as a draft with its prizes (inside the caller's transaction)."""
    at = datetime.now(UTC)
    rows = await kernel.sql.fetch(
        "INSERT INTO lottery_campaign (workspace, name, description, mode, entry_mode, state, opens_at, closes_at, "
        "tags_required, tags_excluded, consent_purpose, notify_purpose, points_cost, ticket_rules, max_tickets, "
        "spin_limit, daily_spin_limit, public_source, created_at, updated_at) VALUES "
        "({}, {}, {}, {}, {}, 'draft', {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
        ws.id,
        data.name,
        data.description,
        data.mode,
        data.entry_mode,
        data.opens_at,
        data.closes_at,
        json_columns.json_text(sorted(set(data.tags_required))),
        json_columns.json_text(sorted(set(data.tags_excluded))),
        data.consent_purpose,
        data.notify_purpose,
        data.points_cost,
        json_columns.json_text(data.ticket_rules),
        data.max_tickets if data.entry_mode == "tickets" else 1,
        data.spin_limit,
        data.daily_spin_limit,
        _source_column(data.public_source),
        at,
        at,
    )
    campaign_id: int = rows[0]["id"]
    sql, args = _prize_rows(ws, campaign_id, data.prizes)
    await kernel.sql.fetch(sql, *args)
    return campaign_id


def as_input(campaign: Campaign) -> CampaignIn:
    """The campaign as the body that would create it (to apply a patch over)."""
    return CampaignIn(
        name=campaign.name,
        opens_at=campaign.opens_at,
        closes_at=campaign.closes_at,
        prizes=[
            PrizeIn(
                name=p.name, quantity=p.quantity, value=p.value, odds=p.odds if campaign.mode == "instant" else None
            )
            for p in campaign.prizes
        ],
        description=campaign.description,
        mode=campaign.mode,  # type: ignore[arg-type]
        entry_mode=campaign.entry_mode,  # type: ignore[arg-type]
        tags_required=campaign.tags_required,
        tags_excluded=campaign.tags_excluded,
        consent_purpose=campaign.consent_purpose,
        notify_purpose=campaign.notify_purpose,
        points_cost=campaign.points_cost,
        ticket_rules=campaign.ticket_rules,
        max_tickets=campaign.max_tickets,
        spin_limit=campaign.spin_limit,
        daily_spin_limit=campaign.daily_spin_limit,
        public_source=campaign.public_source,
    )


async def update(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, patch: CampaignPatch) -> Campaign:
    """Apply a patch. In a draft anything may change; once open only :data:`CHANGEABLE_WHEN_OPEN`
    (and ``closes_at`` only to a moment still ahead); once closed, drawn or cancelled, only the
    name and description. Anything else is a 409 naming the fields."""
    changed = scrm.sent_fields(patch)
    current = await get(kernel, ws, campaign_id)
    merged = msgspec.structs.replace(as_input(current), **changed)
    await check(kernel, ws, merged, points="points_cost" in changed)
    async with kernel.db.transaction():
        campaign = await load(kernel, ws, campaign_id, lock=kernel.sql.for_update)
        allowed = changeable(campaign.state)
        refused = sorted(set(changed) - allowed) if allowed is not None else []
        if refused:
            raise CampaignLocked(
                f"The campaign is {campaign.state}; {', '.join(refused)} can no longer change",
                errors=[scrm.field_error(f, f"cannot change once the campaign is {campaign.state}") for f in refused],
            )
        at = datetime.now(UTC)
        if "closes_at" in changed and campaign.state == "open" and merged.closes_at <= at:
            raise CampaignLocked(
                "An open campaign's closes_at can only move to a moment still ahead",
                errors=[scrm.field_error("closes_at", "must be in the future while the campaign is open")],
            )
        await kernel.sql.fetch(
            "UPDATE lottery_campaign SET name = {}, description = {}, mode = {}, entry_mode = {}, opens_at = {}, "
            "closes_at = {}, tags_required = {}, tags_excluded = {}, consent_purpose = {}, notify_purpose = {}, "
            "points_cost = {}, ticket_rules = {}, max_tickets = {}, spin_limit = {}, daily_spin_limit = {}, "
            "public_source = {}, updated_at = {} WHERE id = {} AND workspace = {}",
            merged.name,
            merged.description,
            merged.mode,
            merged.entry_mode,
            merged.opens_at,
            merged.closes_at,
            json_columns.json_text(sorted(set(merged.tags_required))),
            json_columns.json_text(sorted(set(merged.tags_excluded))),
            merged.consent_purpose,
            merged.notify_purpose,
            merged.points_cost,
            json_columns.json_text(merged.ticket_rules),
            merged.max_tickets if merged.entry_mode == "tickets" else 1,
            merged.spin_limit,
            merged.daily_spin_limit,
            _source_column(merged.public_source),
            at,
            campaign_id,
            ws.id,
        )
        if "prizes" in changed:
            await kernel.sql.fetch(
                "DELETE FROM lottery_prize WHERE campaign = {} AND workspace = {}", campaign_id, ws.id
            )
            sql, args = _prize_rows(ws, campaign_id, merged.prizes)
            await kernel.sql.fetch(sql, *args)
    return await get(kernel, ws, campaign_id)


def changeable(state: str) -> frozenset[str] | None:
    """The fields that may change in ``state`` (None: all of them)."""
    if state == "draft":
        return None
    if state == "open":
        return CHANGEABLE_WHEN_OPEN
    return frozenset({"name", "description"})


async def delete(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int) -> None:
    """Delete a draft (anything later has a commitment or entries to account for: cancel it)."""
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            "DELETE FROM lottery_campaign WHERE id = {} AND workspace = {} AND state = 'draft' RETURNING id",
            campaign_id,
            ws.id,
        )
        if not rows:
            campaign = await load(kernel, ws, campaign_id)
            raise WrongState(f"Only a draft can be deleted; this campaign is {campaign.state} (cancel it instead)")
        await kernel.sql.fetch("DELETE FROM lottery_prize WHERE campaign = {} AND workspace = {}", campaign_id, ws.id)


async def open_campaign(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, source: PublicSource | None = None
) -> Campaign:
    """Publish a draft (:func:`publish`), naming its public randomness source when ``source`` is given."""
    campaign = await load(kernel, ws, campaign_id)
    if source is not None and campaign.mode != "draw":
        raise scrm.invalid("public_source", NO_SOURCE_FOR_WHEELS)
    if campaign.state == "draft" and campaign.closes_at <= datetime.now(UTC):
        raise WrongState("The campaign's entry window has already ended; move closes_at first")
    if campaign.points_cost and spender(kernel, ws) is None:
        raise PointsUnavailable("This campaign costs points; enable the points plugin before opening it")
    async with kernel.db.transaction():
        await publish(kernel, ws, campaign_id, source)
    return await get(kernel, ws, campaign_id)


async def publish(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, source: PublicSource | None) -> None:
    """``draft → open`` (inside the caller's transaction): store a fresh seed and its commitment,
    which covers the public source — ``source``, or the one the draft names. The draft is read
    locked, so a change racing the opening cannot slip a source past the commitment."""
    campaign = await load(kernel, ws, campaign_id, lock=kernel.sql.for_update)
    if campaign.state != "draft":
        raise WrongState(f"Only a draft can be opened; this campaign is {campaign.state}")
    source = source or campaign.public_source
    seed, at = fairness.new_seed(), datetime.now(UTC)
    await kernel.sql.fetch(
        "UPDATE lottery_campaign SET state = 'open', seed = {}, commitment = {}, public_source = {}, opened_at = {}, "
        "updated_at = {} WHERE id = {} AND workspace = {}",
        seed.hex(),
        fairness.commitment(seed, source.text() if source else None),
        _source_column(source),
        at,
        at,
        campaign_id,
        ws.id,
    )


def _source_column(source: PublicSource | None) -> str | None:
    """The public source as its column holds it (JSON text; NULL for none)."""
    return None if source is None else json_columns.json_text(source)


async def transition(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, to: str, allowed_from: tuple[str, ...]
) -> Campaign:
    """Move the campaign to ``to`` if it is in one of ``allowed_from`` (close, cancel)."""
    async with kernel.db.transaction():
        rows = await kernel.sql.fetch(
            f"UPDATE lottery_campaign SET state = {{}}, updated_at = {{}} WHERE id = {{}} AND workspace = {{}} "
            f"AND state IN ({', '.join('{}' for _ in allowed_from)}) RETURNING id",
            to,
            datetime.now(UTC),
            campaign_id,
            ws.id,
            *allowed_from,
        )
    if not rows:
        state = (await load(kernel, ws, campaign_id)).state
        raise WrongState(f"A campaign that is {state} cannot become {to}", state=state)
    return await get(kernel, ws, campaign_id)
