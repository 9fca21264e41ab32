"""The polls REST API, mounted under ``/api/v1/polls``: handlers of a few lines over the modules that
hold the logic. Scopes: ``polls:read`` to read polls, results, ballots and texts; ``polls:write`` to
create and edit polls and cast ballots; ``polls:admin`` to open and close polls and review texts."""

from __future__ import annotations

from typing import Annotated

import scrm
from litestar import Controller, Response, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter

from scrm_polls import ballots, polls, results
from scrm_polls.schemas import (
    BallotIn,
    BallotOut,
    Breakdown,
    PollIn,
    PollOut,
    PollPatch,
    Results,
    ReviewIn,
    State,
    TextOut,
    TextStatus,
)

READ = {"scope": "polls:read"}
WRITE = {"scope": "polls:write"}
ADMIN = {"scope": "polls:admin"}
GroupName = Annotated[str, QueryParameter(min_length=1, max_length=100, description="A tag group's name")]


class PollController(Controller):
    path = "/"
    tags = ["polls"]

    @post(opt=WRITE, operation_id="pollsCreate", status_code=201, summary="Create a poll")
    async def create(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[PollIn]) -> PollOut:
        """Create a draft poll with its questions. 422 names every field wrong at once (a choice question
        with fewer than two options, choice bounds beyond its options, a window that ends before it
        starts, a consent purpose this workspace lacks, a reward without the points plugin)."""
        return (await polls.create(kernel, ws, data)).out()

    @get(opt=READ, operation_id="pollsList", summary="List polls")
    async def list_polls(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        in_state: Annotated[State | None, QueryParameter(name="state", description="Only polls in this state")] = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[PollOut]:
        """The workspace's polls, newest first, with their questions."""
        return await polls.listing(kernel, ws, in_state, cursor, limit)

    @get("/{poll_id:int}", opt=READ, operation_id="pollsGet", summary="Get a poll")
    async def get_poll(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId) -> PollOut:
        """One poll with its questions and options (their ids are what ballots answer). 404 when it is
        not in this workspace."""
        return (await polls.get(kernel, ws, poll_id)).out()

    @patch("/{poll_id:int}", opt=WRITE, operation_id="pollsUpdate", summary="Change a poll")
    async def update(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId, data: JSONBody[PollPatch]
    ) -> PollOut:
        """Change a poll; fields left out stay. A draft's ``questions`` replace all of its questions. Once
        the poll is scheduled, open or closed only ``name``, ``description`` and ``closes_at`` change: 409
        ``polls-locked`` naming the others."""
        return (await polls.update(kernel, ws, poll_id, data)).out()

    @delete("/{poll_id:int}", opt=WRITE, operation_id="pollsDelete", status_code=204, summary="Delete a draft poll")
    async def delete_poll(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId) -> None:
        """Delete a draft; 409 ``polls-wrong-state`` for a poll that was opened (close it instead)."""
        await polls.delete(kernel, ws, poll_id)

    @post("/{poll_id:int}/open", opt=ADMIN, operation_id="pollsOpen", status_code=200, summary="Open a poll")
    async def open_poll(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId) -> PollOut:
        """Open a draft: ``open`` at once, or ``scheduled`` until its ``opens_at``. 409 ``polls-wrong-state``
        unless it is a draft, or when its closing time has passed."""
        return (await polls.open_poll(kernel, ws, poll_id)).out()

    @post("/{poll_id:int}/close", opt=ADMIN, operation_id="pollsClose", status_code=200, summary="Close a poll")
    async def close(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId) -> PollOut:
        """Close an open or scheduled poll now: it takes no more ballots. 409 ``polls-wrong-state`` otherwise."""
        return (await polls.close(kernel, ws, poll_id)).out()

    @post("/{poll_id:int}/ballots", opt=WRITE, operation_id="pollsVote", status_code=201, summary="Cast a ballot")
    async def vote(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId, data: JSONBody[BallotIn]
    ) -> BallotOut:
        """Cast a member's ballot: once per member and poll (409 ``polls-already-voted``, also under
        concurrent requests). 409 ``polls-closed`` for a draft, closed or not-yet-open poll; 403
        ``polls-not-eligible`` (with a ``reason``) for a member the poll's tags or consent leave out; 422
        naming the question for an unknown option, too few or too many choices, a score out of range,
        a missing required answer. Free text is moderated: a text with findings is held for review,
        the ballot counts. Records a ``poll.voted`` event and awards the poll's points reward."""
        return await ballots.vote(kernel, ws, poll_id, data)

    @get("/{poll_id:int}/ballots", opt=READ, operation_id="pollsListBallots", summary="List ballots")
    async def list_ballots(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        poll_id: scrm.PathId,
        member_id: scrm.QueryId = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[BallotOut]:
        """Ballots in the order cast, with their answers (held texts left out). An anonymous poll's
        ballots show no member, and cannot be looked up by member (409 ``polls-anonymous``)."""
        return await ballots.listing(kernel, ws, poll_id, member_id, cursor, limit)

    @get("/{poll_id:int}/ballots/csv", opt=READ, operation_id="pollsExportBallots", summary="Export ballots as CSV")
    async def export_ballots(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId
    ) -> Response[bytes]:
        """Every ballot as a CSV row, a column per question; the member's id only in an attributed poll."""
        return results.csv_file(await results.ballots_csv(kernel, ws, poll_id), f"poll-{poll_id}-ballots.csv")

    @get("/{poll_id:int}/results", opt=READ, operation_id="pollsResults", summary="Get a poll's results")
    async def get_results(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId) -> Results:
        """Counts and percentages per option, the spread and mean of ratings, NPS with its three shares,
        the number of free texts shown — live, at any time."""
        return await results.results(kernel, ws, poll_id)

    @get("/{poll_id:int}/results/csv", opt=READ, operation_id="pollsExportResults", summary="Export results as CSV")
    async def export_results(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId
    ) -> Response[bytes]:
        """The results as CSV: one row per option or score, with NPS, mean and answered rows."""
        text = results.results_csv(await results.results(kernel, ws, poll_id))
        return results.csv_file(text, f"poll-{poll_id}-results.csv")

    @get(
        "/{poll_id:int}/results/breakdown",
        opt=READ,
        operation_id="pollsBreakdown",
        summary="Break results down by tag group",
    )
    async def get_breakdown(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, poll_id: scrm.PathId, group: GroupName
    ) -> Breakdown:
        """The results per tag of a tag group (``group``), among the ballots of members who carried
        the tag when they voted. A group with no tags gives no segments."""
        return await results.breakdown(kernel, ws, poll_id, group)

    @get("/{poll_id:int}/texts", opt=READ, operation_id="pollsListTexts", summary="List free-text answers")
    async def list_texts(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        poll_id: scrm.PathId,
        status: Annotated[TextStatus | None, QueryParameter(description="Only texts in this status")] = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[TextOut]:
        """The poll's free-text answers with what moderation found; ``status=held`` is the review queue."""
        return await ballots.texts(kernel, ws, poll_id, status, cursor, limit)

    @post(
        "/{poll_id:int}/texts/{answer_id:int}/review",
        opt=ADMIN,
        operation_id="pollsReviewText",
        status_code=200,
        summary="Review a free-text answer",
    )
    async def review(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        poll_id: scrm.PathId,
        answer_id: scrm.PathId,
        data: JSONBody[ReviewIn],
    ) -> TextOut:
        """``release`` a held text (it shows in results and exports) or ``remove`` a text (deleted; the
        answer still counts). 404 for an answer that is not a text of this poll; 409 when the text is
        not in a state the decision applies to."""
        return await ballots.review(kernel, ws, poll_id, answer_id, data.decision)


ROUTES = [PollController]
