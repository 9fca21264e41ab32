"""The segments REST API, mounted under ``/api/v1/segments``. Scopes: ``segments:read`` to read
segments, counts, profiles and clusters; ``segments:write`` to save segments and settings. A saved
segment's members are listed by the core: ``GET /api/v1/members?segment=ID`` (and exported with
``GET /api/v1/members/export?segment=ID``)."""

from __future__ import annotations

import scrm
from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody

from scrm_segments import clusters, config, store
from scrm_segments.config import SegmentsSettings
from scrm_segments.schemas import (
    ClusterOut,
    CountOut,
    PreviewIn,
    ProfileOut,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    StageCount,
)

READ = {"scope": "segments:read"}
WRITE = {"scope": "segments:write"}


class SegmentController(Controller):
    path = "/"
    tags = ["segments"]

    @post(opt=WRITE, operation_id="segmentsCreate", status_code=201, summary="Save a segment")
    async def create(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[SegmentIn]) -> SegmentOut:
        """Save a segment; a definition that is not valid is a 422 naming the clause (``definition.all[1].events.within_days``), a name in use a 409."""
        return await store.create(kernel, ws, data)

    @get(opt=READ, operation_id="segmentsList", summary="List segments")
    async def list_segments(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[SegmentOut]:
        """The workspace's saved segments, oldest first."""
        return await store.listing(kernel, ws, cursor, limit)

    @get("/{segment_id:int}", opt=READ, operation_id="segmentsGet", summary="Get a segment")
    async def get_segment(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, segment_id: scrm.PathId) -> SegmentOut:
        """One saved segment; 404 when it is not in this workspace."""
        return await store.get(kernel, ws, segment_id)

    @patch("/{segment_id:int}", opt=WRITE, operation_id="segmentsUpdate", summary="Change a segment")
    async def update(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, segment_id: scrm.PathId, data: JSONBody[SegmentPatch]
    ) -> SegmentOut:
        """Change a segment's name, description or definition; fields left out stay."""
        return await store.update(kernel, ws, segment_id, data)

    @delete("/{segment_id:int}", opt=WRITE, operation_id="segmentsDelete", status_code=204, summary="Delete a segment")
    async def delete_segment(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, segment_id: scrm.PathId) -> None:
        """Delete a saved segment."""
        await store.delete(kernel, ws, segment_id)

    @get("/{segment_id:int}/count", opt=READ, operation_id="segmentsCount", summary="Count a segment")
    async def count(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, segment_id: scrm.PathId) -> CountOut:
        """How many members the segment holds now (its members: ``GET /api/v1/members?segment=ID``)."""
        return await store.count(kernel, ws, (await store.get(kernel, ws, segment_id)).definition)

    @post("/preview", opt=READ, operation_id="segmentsPreview", status_code=200, summary="Count a definition")
    async def preview(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[PreviewIn]) -> CountOut:
        """How many members a definition would hold, before saving it (the builder's live count)."""
        return await store.count(kernel, ws, data.definition)

    @get("/members/{member_id:int}", opt=READ, operation_id="segmentsProfile", summary="A member's profile")
    async def profile(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, member_id: scrm.PathId) -> ProfileOut:
        """A member's lifecycle stage, RFM scores and cluster."""
        return await store.profile(kernel, ws, member_id)

    @get("/stages", opt=READ, operation_id="segmentsStages", summary="Members per lifecycle stage")
    async def stages(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> list[StageCount]:
        """How many members are new, active, silent and churned now."""
        return await store.stages(kernel, ws)

    @get("/clusters", opt=READ, operation_id="segmentsClusters", summary="Behavioural clusters")
    async def list_clusters(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> list[ClusterOut]:
        """The clusters of the last nightly run, each with its size and centre."""
        return await clusters.listing(kernel, ws)

    @get("/settings", opt=READ, operation_id="segmentsGetSettings", summary="Get the segments settings")
    async def get_settings(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> SegmentsSettings:
        """The lifecycle's N and M days and the RFM thresholds."""
        return await config.load(kernel, ws.id)

    @put("/settings", opt=WRITE, operation_id="segmentsPutSettings", summary="Change the segments settings")
    async def put_settings(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[SegmentsSettings]
    ) -> SegmentsSettings:
        """Replace the settings (fields left out take their defaults); 422 names a wrong one."""
        return await config.save(kernel, ws.id, data)


ROUTES = [SegmentController]
