"""Behavioural clusters (PRODUCT §7): k-means on recency, frequency (orders), monetary value and
engagement, recomputed nightly by the cron job ``segments.clusters``.

Features are ``log1p``-scaled (counts and amounts are long-tailed) and standardised, so no single
one dominates the distance; k-means++ seeding with a fixed seed makes a rerun on the same data give
the same clusters. Clusters are numbered by their centre's engagement, most engaged first, so
"cluster 0" means the same kind of member from one night to the next. Each cluster's profile is its
centre in the original units (average days since last engagement, orders, spend, events).

Recency counts whole days: standardising divides by the spread, so members a few seconds apart
would otherwise look as far apart as members months apart when everyone was seen today."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import msgspec
import numpy as np
import scrm

from scrm_segments import clock
from scrm_segments.schemas import ClusterOut

log = logging.getLogger("scrm_segments")
DEFAULT_K = 4
ITERATIONS = 50
SEED = 18
FEATURES = ("recency_days", "orders", "monetary", "engagement")


def _distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared distances, rows × centres, without the rows × centres × features intermediate."""
    return (  # type: ignore[no-any-return]
        (points**2).sum(axis=1)[:, None] - 2 * points @ centres.T + (centres**2).sum(axis=1)[None, :]
    )


@dataclass(frozen=True)
class Fit:
    labels: np.ndarray  # the cluster of each row
    centres: np.ndarray  # k × features, in the original units


def kmeans(points: np.ndarray, k: int, seed: int = SEED, iterations: int = ITERATIONS) -> Fit:
    """k-means of ``points`` (rows × features, original units); fewer distinct rows than ``k`` gives
    fewer clusters. Clusters come back ordered by their centre's last feature, largest first."""
    scaled = np.log1p(np.maximum(points, 0))
    spread = scaled.std(axis=0)
    scaled = (scaled - scaled.mean(axis=0)) / np.where(spread > 0, spread, 1)
    k = max(1, min(k, len(np.unique(scaled, axis=0))))
    rng = np.random.default_rng(seed)
    centres = scaled[[rng.integers(len(scaled))]]
    while len(centres) < k:  # k-means++: the next seed far from those chosen
        nearest = np.maximum(_distances(scaled, centres).min(axis=1), 0)
        centres = np.vstack([centres, scaled[rng.choice(len(scaled), p=nearest / nearest.sum())]])
    labels = np.zeros(len(scaled), dtype=int)
    for _ in range(iterations):
        labels = _distances(scaled, centres).argmin(axis=1)
        moved = np.array([scaled[labels == c].mean(axis=0) if (labels == c).any() else centres[c] for c in range(k)])
        if np.allclose(moved, centres):
            break
        centres = moved
    raw = np.array([points[labels == c].mean(axis=0) for c in range(k)])
    order = np.argsort(-raw[:, -1], kind="stable")
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(k)
    return Fit(labels=rank[labels], centres=raw[order])


async def recompute(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, k: int = DEFAULT_K) -> list[ClusterOut]:
    """Cluster the workspace's profiles and write each member's cluster and each cluster's profile."""
    at = clock.now()
    rows = await kernel.sql.fetch(
        "SELECT member_id, ref_at, orders, monetary, engagement FROM segments_profile WHERE workspace = {}", ws.id
    )
    if not rows:
        return []
    ids = np.array([int(r["member_id"]) for r in rows])
    points = np.array(
        [
            [
                (at - scrm.as_datetime(r["ref_at"])).days,  # whole days: seconds apart is no difference
                float(r["orders"]),
                float(r["monetary"]),
                float(r["engagement"]),
            ]
            for r in rows
        ]
    )
    fit = kmeans(points, k)
    out = []
    async with kernel.db.transaction():
        await kernel.sql.fetch("DELETE FROM segments_cluster WHERE workspace = {}", ws.id)
        for c, centre in enumerate(fit.centres):
            members = ids[fit.labels == c]
            condition, arg = kernel.sql.any_of("member_id", members.tolist())
            await kernel.sql.fetch(
                f"UPDATE segments_profile SET cluster = {{}} WHERE workspace = {{}} AND {condition}", c, ws.id, arg
            )
            centroid = dict(zip(FEATURES, (round(float(v), 2) for v in centre), strict=True))
            await kernel.sql.fetch(
                "INSERT INTO segments_cluster (workspace, cluster, size, centroid, computed_at) VALUES ({}, {}, {}, {}, {})",
                ws.id,
                c,
                len(members),
                msgspec.json.encode(centroid).decode(),
                at,
            )
            out.append(ClusterOut(cluster=c, size=len(members), computed_at=at, **centroid))
    return out


async def listing(kernel: scrm.Kernel, ws: scrm.WorkspaceRef) -> list[ClusterOut]:
    rows = await kernel.sql.fetch(
        "SELECT cluster, size, centroid, computed_at FROM segments_cluster WHERE workspace = {} ORDER BY cluster", ws.id
    )
    return [
        ClusterOut(
            cluster=int(r["cluster"]),
            size=int(r["size"]),
            computed_at=scrm.as_datetime(r["computed_at"]),
            **msgspec.json.decode(r["centroid"]),
        )
        for r in rows
    ]


async def run(ctx: scrm.JobContext) -> None:
    """Cron ``segments.clusters`` (nightly)."""
    for workspace in await ctx.kernel.workspaces.list():
        ws = await ctx.kernel.workspace_ref(workspace.slug)
        if "segments" in ws.enabled_plugins:
            found = await recompute(ctx.kernel, ws)
            log.info("segments.clusters: %s cluster(s) in %s", len(found), ws.slug)
