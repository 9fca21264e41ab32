"""The measures operators ask for: K per campaign and period, top inviters, a member's invite tree.

**K** (``docs/plugins/referrals.md``; PRODUCT §7: invitations sent per member × share of invitations
that convert), over ``[start, end)`` for one campaign or all of them:

* ``inviters`` — members holding a code created before ``end``;
* ``invitations`` — the greater of the links opened (codes resolved, counted by UTC day: a period's
  bounds are read as the days they fall on) and the joins with a code in the period;
* ``conversions`` — referrals converted in the period and not voided or held;
* ``K = invitations / inviters × conversions / invitations`` (each factor 0 when its divisor is),
  which is conversions per inviter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import scrm

from scrm_referrals.schemas import Inviter, KFigure, KSeries, Tree, TreeNode

Period = Literal["day", "week", "month"]
MAX_POINTS = 120  # periods in one series
TREE_DEPTH = 6
TREE_NODES = 500


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


async def k(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, start: datetime, end: datetime, campaign_id: int | None = None
) -> KFigure:
    """K over ``[start, end)`` (see the module's docstring), in four indexed counts."""
    if end <= start:
        raise scrm.invalid("end", "must be later than start", "query")
    scope, args = ("campaign = {}", [campaign_id]) if campaign_id is not None else ("workspace = {}", [ws.id])
    in_ws = "" if campaign_id is None else " AND workspace = {}"
    extra = [] if campaign_id is None else [ws.id]

    async def count(sql: str, *values: object) -> int:
        rows = await kernel.sql.fetch(sql, *args, *extra, *values)
        return int(rows[0]["n"] or 0)

    inviters = await count(f"SELECT COUNT(*) AS n FROM referrals_code WHERE {scope}{in_ws} AND created_at < {{}}", end)
    landings = await count(
        f"SELECT SUM(n) AS n FROM referrals_landing WHERE {scope}{in_ws} AND day >= {{}} AND day <= {{}}",
        start.astimezone(UTC).date(),
        (end - timedelta(microseconds=1)).astimezone(UTC).date(),
    )
    joins = await count(
        f"SELECT COUNT(*) AS n FROM referrals_referral WHERE {scope}{in_ws} AND joined_at >= {{}} AND joined_at < {{}}",
        start,
        end,
    )
    conversions = await count(
        f"SELECT COUNT(*) AS n FROM referrals_referral WHERE {scope}{in_ws} AND state = 'converted' "
        "AND converted_at >= {} AND converted_at < {}",
        start,
        end,
    )
    invitations = max(landings, joins)
    per_member, share = _ratio(invitations, inviters), _ratio(conversions, invitations)
    return KFigure(
        start=start,
        end=end,
        campaign_id=campaign_id,
        inviters=inviters,
        invitations=invitations,
        joins=joins,
        conversions=conversions,
        invitations_per_member=per_member,
        conversion_share=share,
        k=_ratio(conversions, inviters) if invitations else 0.0,
    )


def periods(start: datetime, end: datetime, period: Period) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into days, weeks (from ``start``) or calendar months (UTC)."""
    cuts: list[tuple[datetime, datetime]] = []
    at = start
    while at < end and len(cuts) < MAX_POINTS:
        if period == "month":
            following = (at.replace(day=1) + timedelta(days=32)).replace(
                day=1, hour=0, minute=0, second=0, microsecond=0
            )
        else:
            following = at + timedelta(days=7 if period == "week" else 1)
        cuts.append((at, min(following, end)))
        at = following
    return cuts


async def series(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    start: datetime,
    end: datetime,
    period: Period,
    campaign_id: int | None = None,
) -> KSeries:
    """K per period (at most :data:`MAX_POINTS` of them)."""
    if end <= start:
        raise scrm.invalid("end", "must be later than start", "query")
    figures = [await k(kernel, ws, a, b, campaign_id) for a, b in periods(start, end, period)]
    return KSeries(campaign_id=campaign_id, period=period, points=figures)


async def top_inviters(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, campaign_id: int, limit: int) -> list[Inviter]:
    """Inviters by conversions (then joins), with the points their inviter rewards paid."""
    rows = await kernel.sql.fetch(
        "SELECT r.inviter_id, SUM(CASE WHEN r.state = 'converted' THEN 1 ELSE 0 END) AS conversions, COUNT(*) AS joins, "
        "COALESCE((SELECT SUM(w.points) FROM referrals_reward w WHERE w.campaign = r.campaign "
        "AND w.member_id = r.inviter_id AND w.role = 'inviter' AND w.state = 'paid'), 0) AS points "
        "FROM referrals_referral r WHERE r.campaign = {} AND r.workspace = {} AND r.inviter_id IS NOT NULL "
        "AND r.state <> 'void' GROUP BY r.campaign, r.inviter_id ORDER BY conversions DESC, joins DESC, r.inviter_id "
        "LIMIT {}",
        campaign_id,
        ws.id,
        limit,
    )
    names = await kernel.members.names(ws, [r["inviter_id"] for r in rows])
    return [
        Inviter(
            member_id=r["inviter_id"],
            display_name=names.get(r["inviter_id"], ""),
            conversions=int(r["conversions"]),
            joins=int(r["joins"]),
            points=int(r["points"]),
        )
        for r in rows
    ]


async def tree(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> Tree:
    """The member's invite tree (voided referrals left out), level by level: one query per level,
    at most :data:`TREE_DEPTH` levels and :data:`TREE_NODES` members (``truncated`` says so)."""
    await kernel.members.get(ws, member_id)  # 404 outside this workspace
    rows = await kernel.sql.fetch(
        "SELECT inviter_id FROM referrals_referral WHERE workspace = {} AND invitee_id = {}", ws.id, member_id
    )
    invited_by = rows[0]["inviter_id"] if rows else None
    root = TreeNode(member_id=member_id, display_name="", state=None, depth=0, children=[])
    nodes = {member_id: root}
    level, depth, size, truncated = [root], 0, 0, False
    while level:
        condition, ids = kernel.sql.any_of("inviter_id", [n.member_id for n in level])
        children = await kernel.sql.fetch(
            f"SELECT inviter_id, invitee_id, state FROM referrals_referral WHERE workspace = {{}} AND {condition} "
            "AND state <> 'void' AND invitee_id IS NOT NULL ORDER BY id",
            ws.id,
            ids,
        )
        if children and depth == TREE_DEPTH:
            truncated = True
            break
        following = []
        for c in children:
            if size >= TREE_NODES:
                truncated = True
                break
            if c["invitee_id"] in nodes:
                continue  # a cycle cannot arise (one inviter per invitee), but never loop on bad data
            node = TreeNode(member_id=c["invitee_id"], display_name="", state=c["state"], depth=depth + 1, children=[])
            nodes[c["inviter_id"]].children.append(node)
            nodes[node.member_id] = node  # type: ignore[index]
            following.append(node)
            size += 1
        if following:
            depth += 1
        level = following if not truncated else []
    names = await kernel.members.names(ws, [n for n in nodes if n is not None])
    for ident, node in nodes.items():
        node.display_name = names.get(ident, "") if ident is not None else ""
    return Tree(root=root, depth=depth, size=size, invited_by=invited_by, truncated=truncated)
