"""Invite codes: one per member and campaign, short and unguessable, resolved to a landing.

A code is 10 characters drawn by ``secrets`` from 31 letters and digits that cannot be misread
(no 0/O, 1/I/L): about 49.5 bits, so guessing one among a million issued takes ~800 million tries.
Codes are unique everywhere (a unique index; a collision, vanishingly rare, draws again), and the
same member asking twice gets the same code (another unique index, on campaign and member).

Resolving a code counts a landing — an *invitation* opened — on one of a few counter rows per
campaign and day, so that a viral link does not queue every visitor on one row."""

from __future__ import annotations

import asyncio
import contextvars
import io
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import scrm
import segno

from scrm_referrals import campaigns
from scrm_referrals.campaigns import Campaign
from scrm_referrals.problems import CampaignClosed, UnknownCode
from scrm_referrals.schemas import CodeOut, Landing, MemberRef

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10
SLOTS = 32  # landing counter rows per campaign and day
TRIES = 5


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normal(code: str) -> str:
    """A code as typed: case and surrounding blanks do not matter."""
    return code.strip().upper()


def link(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign: Campaign, code: str) -> str:
    """The campaign's landing URL with the code (set one: it is what the QR code carries), or else
    the path of the API's resolution of the code."""
    if campaign.data.landing_url:
        return campaign.data.landing_url.replace("{code}", code)
    return f"/api/v1/referrals/codes/{code}"


async def member_id(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, who: MemberRef) -> int:
    """The member named by id or external id: of this workspace (404) and not erased (409)."""
    if (who.member_id is None) == (who.external_id is None):
        raise scrm.invalid("member_id", "give exactly one of member_id and external_id")
    member = (
        await kernel.members.get(ws, who.member_id)
        if who.member_id is not None
        else await kernel.members.get_by_external_id(ws, who.external_id or "")
    )
    if member.status == "erased":
        raise scrm.Conflict(f"Member {member.id} was erased")
    return member.id


async def issue(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, who: MemberRef) -> CodeOut:
    """The member's code in the campaign, made on first asking (the same code ever after)."""
    campaign = await campaigns.get(kernel, ws, campaign_id)
    holder = await member_id(kernel, ws, who)
    found = await _of(kernel, campaign, holder)
    if found is not None:
        return found
    if not campaign.active():
        raise CampaignClosed(f"Campaign {campaign.id} is not taking invitations now")
    for _ in range(TRIES):
        code = new_code()
        rows = await kernel.sql.fetch(
            "INSERT INTO referrals_code (workspace, campaign, member_id, code, created_at) VALUES ({}, {}, {}, {}, {}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            ws.id,
            campaign.id,
            holder,
            code,
            datetime.now(UTC),
        )
        found = await _of(kernel, campaign, holder)
        if rows or found is not None:  # ours, or a concurrent request's for the same member
            assert found is not None
            return found
    raise RuntimeError("could not draw an unused invite code")  # pragma: no cover - 31**10 codes


async def _of(kernel: scrm.Kernel, campaign: Campaign, holder: int) -> CodeOut | None:
    rows = await kernel.sql.fetch(
        "SELECT code, created_at FROM referrals_code WHERE campaign = {} AND member_id = {}", campaign.id, holder
    )
    if not rows:
        return None
    ws = await kernel.workspace_ref(campaign.workspace)
    code = rows[0]["code"]
    return CodeOut(
        code=code,
        campaign_id=campaign.id,
        member_id=holder,
        link=link(kernel, ws, campaign, code),
        created_at=scrm.as_datetime(rows[0]["created_at"]),
    )


_SELECT = (
    "SELECT c.id AS code_id, c.member_id AS holder, c.code, "
    + ", ".join(f"p.{name}" for name in campaigns.COLUMNS.split(", "))
    + " FROM referrals_code c JOIN referrals_campaign p ON p.id = c.campaign WHERE c.workspace = {} AND "
)
_FIND = _SELECT + "c.code = {}"
#: :data:`_FIND` for many codes at once
_FIND_MANY = _SELECT + "c.code = ANY({}::text[])"


async def find(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, code: str) -> tuple[int, int | None, Campaign]:
    """The code's id, holder and campaign (one query), in this workspace only (404 otherwise, as for
    any code that does not exist: a code of another workspace is not revealed)."""
    text = normal(code)
    rows = await kernel.sql.fetch(_FIND, ws.id, text)
    if not rows:
        raise UnknownCode(f"No invite code {text!r} in this workspace")
    return int(rows[0]["code_id"]), rows[0]["holder"], campaigns.to_campaign(rows[0], ws.id)


Found = tuple[int, int | None, Campaign]


async def find_for_join(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, code: str) -> Found:
    """:func:`find` through this process's short cache (:data:`scrm_referrals.campaigns.FOUND`):
    for joins and claims, whose insert re-reads what may have changed since. On PostgreSQL, outside
    a transaction, the lookups missing it at the same moment share one statement (:class:`_Lookups`)."""
    key = (ws.id, normal(code))
    found = campaigns.FOUND.get(key)
    if found is None:
        if kernel.sql.postgres and not kernel.db.in_transaction():
            found = await _Lookups.of(kernel, ws).find(key[1])
        else:
            found = await find(kernel, ws, code)
        campaigns.FOUND[key] = found
    return found


@dataclass
class _Lookups:
    """Code lookups of one workspace waiting for a statement, in one event loop and one kernel.

    A lookup arriving while none is being read starts a statement at once (a lone join waits for
    nothing); those arriving meanwhile wait for the next, which reads them all: under load every
    join and claim then shares a round trip instead of paying one each for its code."""

    loop: asyncio.AbstractEventLoop
    kernel: scrm.Kernel
    ws: scrm.WorkspaceRef
    waiting: dict[str, list[asyncio.Future[Found]]] = field(default_factory=dict)
    reading: asyncio.Task[None] | None = None

    _all: ClassVar[dict[tuple[int, int, int], _Lookups]] = {}

    @classmethod
    def of(cls, kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> _Lookups:
        loop = asyncio.get_running_loop()
        key = (id(loop), id(kernel), ws.id)
        lookups = cls._all.get(key)
        if lookups is None or lookups.loop is not loop or lookups.kernel is not kernel:
            lookups = cls._all[key] = cls(loop, kernel, ws)
        return lookups

    async def find(self, text: str) -> Found:
        future: asyncio.Future[Found] = self.loop.create_future()
        self.waiting.setdefault(text, []).append(future)
        if self.reading is None:  # outside every request's context variables (its transaction, its audit)
            self.reading = self.loop.create_task(self._read(), context=contextvars.Context())
        return await future

    async def _read(self) -> None:
        """Read what waits, statement after statement, until nothing does."""
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, {}
                try:
                    rows = await self.kernel.sql.fetch(_FIND_MANY, self.ws.id, list(batch))
                except Exception as exc:
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                found = {row["code"]: row for row in rows}
                for text, futures in batch.items():
                    row = found.get(text)
                    for future in futures:
                        if future.done():
                            continue
                        if row is None:
                            future.set_exception(UnknownCode(f"No invite code {text!r} in this workspace"))
                        else:
                            future.set_result(
                                (int(row["code_id"]), row["holder"], campaigns.to_campaign(row, self.ws.id))
                            )
        finally:
            self.reading = None


#: PostgreSQL: the code, its campaign and the landing counted in one statement (a write CTE); the
#: campaign's activity is checked as it counts, with the same clock as :meth:`Campaign.active`
_RESOLVE_POSTGRES = (
    f"WITH c AS ({_FIND}), "
    "l AS (INSERT INTO referrals_landing (workspace, campaign, day, slot, n) SELECT {}, c.id, {}, {}, 1 FROM c "
    "WHERE c.state = 'active' AND (c.starts_at IS NULL OR c.starts_at <= {}) AND (c.ends_at IS NULL OR c.ends_at > {}) "
    "ON CONFLICT (campaign, day, slot) DO UPDATE SET n = referrals_landing.n + 1) "
    "SELECT * FROM c"
)


async def resolve(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, code: str) -> Landing:
    """A landing for the code, counted as an invitation opened (while the campaign is active)."""
    text = normal(code)
    now = datetime.now(UTC)
    slot = secrets.randbelow(SLOTS)
    if kernel.sql.postgres:
        rows = await kernel.sql.fetch(_RESOLVE_POSTGRES, ws.id, text, ws.id, now.date(), slot, now, now)
        if not rows:
            raise UnknownCode(f"No invite code {text!r} in this workspace")
        holder, campaign = rows[0]["holder"], campaigns.to_campaign(rows[0], ws.id)
    else:
        _, holder, campaign = await find(kernel, ws, text)
        if campaign.active(now):
            await kernel.sql.fetch(
                "INSERT INTO referrals_landing (workspace, campaign, day, slot, n) VALUES ({}, {}, {}, {}, 1) "
                "ON CONFLICT (campaign, day, slot) DO UPDATE SET n = referrals_landing.n + 1",
                ws.id,
                campaign.id,
                now.date(),
                slot,
            )
    names = await kernel.members.names(ws, [holder]) if holder is not None else {}
    return Landing(
        code=text,
        campaign_id=campaign.id,
        campaign=campaign.data.name,
        description=campaign.data.description,
        active=campaign.active(now),
        inviter_name=names.get(holder, "") if holder is not None else "",
        invitee_reward=campaign.data.invitee_reward,
        link=link(kernel, ws, campaign, text),
    )


async def qr_svg(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, code: str) -> bytes:
    """The code's link as a QR code (SVG, error correction M), drawn by ``segno``."""
    _, _, campaign = await find(kernel, ws, code)
    out = io.BytesIO()
    segno.make(link(kernel, ws, campaign, normal(code)), error="m").save(out, kind="svg", scale=4, border=2)
    return out.getvalue()
