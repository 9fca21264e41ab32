"""The journeys REST API, mounted under ``/api/v1/journeys``. Scopes: ``journeys:read`` to read
journeys, runs and statistics; ``journeys:write`` to create, change, publish, pause and test them."""

from __future__ import annotations

from typing import Annotated

import scrm
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter

from scrm_journeys import journeys, runner, runs
from scrm_journeys.schemas import JourneyIn, JourneyOut, JourneyPatch, RunOut, RunStatus, Stats, TestRunIn

READ = {"scope": "journeys:read"}
WRITE = {"scope": "journeys:write"}


class JourneyController(Controller):
    path = "/"
    tags = ["journeys"]

    @post(opt=WRITE, operation_id="journeysCreate", status_code=201, summary="Create a journey")
    async def create(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[JourneyIn]) -> JourneyOut:
        """A draft journey: a trigger, steps (wait, condition, action, exit) and an optional goal. 422
        names every field wrong (a send without a template, a wait without a duration …)."""
        return (await journeys.create(kernel, ws, data)).out()

    @get(opt=READ, operation_id="journeysList", summary="List journeys")
    async def list_journeys(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> list[JourneyOut]:
        """The workspace's journeys, newest first, each with its current version's definition."""
        return [j.out() for j in await journeys.listing(kernel, ws)]

    @get("/{journey_id:int}", opt=READ, operation_id="journeysGet", summary="Get a journey")
    async def get_journey(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, journey_id: scrm.PathId) -> JourneyOut:
        """One journey with its current definition."""
        return (await journeys.load(kernel, ws, journey_id)).out()

    @patch("/{journey_id:int}", opt=WRITE, operation_id="journeysUpdate", summary="Change a journey")
    async def update(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, journey_id: scrm.PathId, data: JSONBody[JourneyPatch]
    ) -> JourneyOut:
        """Change the name, re-entry or definition. A new definition is a new version: new runs follow
        it, runs in flight finish on theirs."""
        return (await journeys.update(kernel, ws, journey_id, data)).out()

    @delete("/{journey_id:int}", opt=WRITE, operation_id="journeysDelete", status_code=204, summary="Delete a draft")
    async def delete_journey(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, journey_id: scrm.PathId) -> None:
        """Delete a draft; 409 ``journeys-wrong-state`` for one that went live (pause it)."""
        await journeys.delete(kernel, ws, journey_id)

    @post(
        "/{journey_id:int}/publish",
        opt=WRITE,
        operation_id="journeysPublish",
        status_code=200,
        summary="Publish a journey",
    )
    async def publish(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, journey_id: scrm.PathId) -> JourneyOut:
        """Make a draft or paused journey live: its trigger starts taking members."""
        return (await journeys.set_status(kernel, ws, journey_id, "live")).out()

    @post(
        "/{journey_id:int}/pause", opt=WRITE, operation_id="journeysPause", status_code=200, summary="Pause a journey"
    )
    async def pause(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, journey_id: scrm.PathId) -> JourneyOut:
        """Stop taking new members; runs in flight go on."""
        return (await journeys.set_status(kernel, ws, journey_id, "paused")).out()

    @get("/{journey_id:int}/stats", opt=READ, operation_id="journeysStats", summary="Journey statistics")
    async def stats(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, journey_id: scrm.PathId) -> Stats:
        """Per version: entered, active, completed, exited, converted, conversion to the goal, and
        each step's counts (entered, waiting, passed, exited). Test runs are left out."""
        return await journeys.stats(kernel, ws, journey_id)

    @get("/{journey_id:int}/runs", opt=READ, operation_id="journeysListRuns", summary="List runs")
    async def list_runs(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        journey_id: scrm.PathId,
        status: Annotated[RunStatus | None, QueryParameter(description="Only runs in this state")] = None,
        member_id: scrm.QueryId = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[RunOut]:
        """The journey's runs, newest first."""
        return await runs.listing(kernel, ws, journey_id, status, member_id, cursor, limit)

    @get("/{journey_id:int}/runs/{run_id:int}", opt=READ, operation_id="journeysGetRun", summary="Get a run")
    async def get_run(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, journey_id: scrm.PathId, run_id: scrm.PathId
    ) -> RunOut:
        """One run with its trail: each step's outcome and when."""
        return await runs.get(kernel, ws, journey_id, run_id)

    @post(
        "/{journey_id:int}/test",
        opt=WRITE,
        operation_id="journeysTestRun",
        status_code=200,
        summary="Test on one member",
    )
    async def test_run(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, journey_id: scrm.PathId, data: JSONBody[TestRunIn]
    ) -> RunOut:
        """Run the current version on one member now (any state, even a draft): waits are skipped,
        actions are real. The run and its trail come back; it is left out of the statistics."""
        journey = await journeys.load(kernel, ws, journey_id)
        run_id = await runner.test_run(kernel, ws, journey.id, journey.version, data.member_id)
        return await runs.get(kernel, ws, journey_id, run_id)


ROUTES = [JourneyController]
