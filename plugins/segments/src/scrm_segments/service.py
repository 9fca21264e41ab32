"""The segments plugin's public service (``kernel.service("segments", ws)``): what other plugins
(analytics' lifecycle funnel, a journey's audience) use without importing this package."""

from __future__ import annotations

import scrm

from scrm_segments import store, watch
from scrm_segments.schemas import CountOut, ProfileOut, StageCount


class SegmentsService:
    def __init__(self, kernel: scrm.Kernel) -> None:
        self.k = kernel

    async def stages(self, ws: scrm.WorkspaceRef) -> list[StageCount]:
        """Members per lifecycle stage now (``stage``, ``members``), every stage listed."""
        return await store.stages(self.k, ws)

    async def profile(self, ws: scrm.WorkspaceRef, member_id: int) -> ProfileOut:
        """A member's stage, RFM scores and cluster (404 without a profile)."""
        return await store.profile(self.k, ws, member_id)

    async def condition(self, ws: scrm.WorkspaceRef, segment_id: int) -> scrm.MemberCondition | None:
        """A saved segment as SQL over the member row ``m``, or None when there is no such segment."""
        return await store.saved_condition(self.k, ws, segment_id)

    async def count(self, ws: scrm.WorkspaceRef, segment_id: int) -> CountOut:
        """How many members a saved segment holds now."""
        return await store.count(self.k, ws, (await store.get(self.k, ws, segment_id)).definition)

    async def contains(self, ws: scrm.WorkspaceRef, segment: str, member_id: int) -> bool:
        """Whether the member is in a saved segment now (named by its id or its name): a journey's
        condition asks this. False for a segment this workspace does not have."""
        return await store.contains(self.k, ws, segment, member_id)

    async def watch(self, ws: scrm.WorkspaceRef, segment: str, watcher: str) -> int | None:
        """Have ``segment.entered`` / ``segment.exited`` events recorded for a saved segment (named by
        its id or its name) on behalf of ``watcher`` (``journeys:12``): its id, or None when this
        workspace has no such segment. Its current members enter without events."""
        segment_id = await watch.resolve(self.k, ws, segment)
        if segment_id is not None:
            await watch.watch(self.k, ws, segment_id, watcher)
        return segment_id

    async def unwatch(self, ws: scrm.WorkspaceRef, watcher: str) -> None:
        """Drop every watch of ``watcher``; a segment nobody watches any more costs nothing again."""
        await watch.unwatch(self.k, ws, watcher)
