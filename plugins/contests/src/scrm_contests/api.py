"""The contests' REST API, mounted under ``/api/v1/contests``: handlers of a few lines over the
modules that hold the logic. Scopes: ``contests:read`` to read, ``contests:write`` to submit and
vote (a brand's app, on its members' behalf) and to create contests, ``contests:judge`` to score,
``contests:admin`` to move phases, moderate, void votes and award. Files are served through signed
links (``GET /media/{token}``), which need no key."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import scrm
from litestar import Controller, Request, Response, get, head, patch, post
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter, QueryParameter

from scrm_contests import contests, delivery, judging, results, storage, submissions, votes
from scrm_contests.problems import NotJudge
from scrm_contests.schemas import (
    AwardOut,
    ContestIn,
    ContestOut,
    ContestPatch,
    ModerateIn,
    Phase,
    PhaseChangeOut,
    PhaseIn,
    ResultsOut,
    ScoreIn,
    ScoreOut,
    SignalOut,
    Status,
    SubmissionIn,
    SubmissionOut,
    VoidIn,
    VoidOut,
    VoteIn,
    VoteOut,
)

READ = {"scope": "contests:read"}
WRITE = {"scope": "contests:write"}
JUDGE = {"scope": "contests:judge"}
ADMIN = {"scope": "contests:admin"}
MediaToken = Annotated[str, PathParameter(max_length=500)]
SignalKind = Annotated[
    str | None,
    QueryParameter(name="kind", description="Only signals of this kind", pattern=r"^[a-z-]{1,32}$"),
]
_json = msgspec.json.Encoder()


async def _send_file(request: Request[Any, Any, Any], kernel: scrm.Kernel, token: str, *, body: bool) -> Response[Any]:
    """A signed link's file, for a GET (``body``) or a HEAD."""
    key, content_type = await submissions.stored(kernel, token)
    return await delivery.respond(storage.of(kernel), key, content_type, request.headers, body=body)


def judge_of(principal: scrm.Principal) -> str:
    """Who scores through the API: the key (``key:<id>``)."""
    return f"key:{principal.key_id}"


class ContestController(Controller):
    path = "/contests"
    tags = ["contests"]

    @post(opt=ADMIN, operation_id="contestsCreate", summary="Create a contest", status_code=201)
    async def create(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[ContestIn]) -> ContestOut:
        """A new contest, as a draft: its dates, limits, rubric, ranking weights and awards. Dates out
        of order, a rubric with two criteria of one name or an unknown notify purpose are a 422."""
        return (await contests.create(kernel, ws, data)).out()

    @get(opt=READ, operation_id="contestsList", summary="List contests")
    async def list_contests(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        phase: Annotated[Phase | None, QueryParameter(description="Only contests in this phase")] = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[ContestOut]:
        """Contests, newest first. A bad cursor is a 400."""
        return await contests.listing(kernel, ws, phase, cursor, limit)

    @get("/{contest_id:int}", opt=READ, operation_id="contestsGet", summary="Get a contest")
    async def get_contest(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId) -> ContestOut:
        """One contest, its phase brought up to date by its dates. 404 unless it is in this workspace."""
        return (await contests.load(kernel, ws, contest_id)).out()

    @patch("/{contest_id:int}", opt=ADMIN, operation_id="contestsUpdate", summary="Change a contest")
    async def update(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId, data: JSONBody[ContestPatch]
    ) -> ContestOut:
        """Anything in a draft; once open only the name, description and dates (409
        ``contests-contest-locked`` naming the fields otherwise)."""
        return (await contests.update(kernel, ws, contest_id, data)).out()

    @post(
        "/{contest_id:int}/phase",
        opt=ADMIN,
        operation_id="contestsMovePhase",
        summary="Move a contest to a phase",
        status_code=200,
    )
    async def move(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        principal: scrm.PrincipalDep,
        contest_id: scrm.PathId,
        data: JSONBody[PhaseIn],
    ) -> ContestOut:
        """Move forward early (to any later phase) or cancel; backwards is a 409
        ``contests-wrong-phase``. Recorded in the contest's phase history."""
        return (await contests.advance(kernel, ws, contest_id, data.phase, f"key:{principal.key_id}")).out()

    @get("/{contest_id:int}/phases", opt=READ, operation_id="contestsPhaseHistory", summary="A contest's phase history")
    async def phases(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId
    ) -> list[PhaseChangeOut]:
        """Every phase change, oldest first: by an operator or by the schedule."""
        return await contests.history(kernel, ws, contest_id)

    @post(
        "/{contest_id:int}/submissions",
        opt=WRITE,
        operation_id="contestsSubmit",
        summary="Send a submission",
        status_code=201,
    )
    async def submit(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId, data: JSONBody[SubmissionIn]
    ) -> SubmissionOut:
        """A member's entry with images (base64). Outside the submission phase: 409; past the member's
        limit: 409 ``contests-submission-limit``; a file that is empty, too big, not an image by its
        content, or corrupt: 422 naming it. With moderators' findings it waits as ``pending``."""
        return await submissions.submit(kernel, ws, contest_id, data)

    @get(
        "/{contest_id:int}/submissions",
        opt=READ,
        operation_id="contestsListSubmissions",
        summary="List submissions (the gallery)",
    )
    async def list_submissions(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        contest_id: scrm.PathId,
        status: Annotated[Status | None, QueryParameter(description="Only submissions in this status")] = None,
        member_id: scrm.QueryId = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[SubmissionOut]:
        """Newest first, with signed links to each file and thumbnail (valid one hour); ``status=approved``
        is the public gallery, ``pending`` the moderation queue, ``member_id`` one member's entries."""
        return await submissions.listing(kernel, ws, contest_id, status, member_id, cursor, limit)

    @get(
        "/{contest_id:int}/submissions/{submission_id:int}",
        opt=READ,
        operation_id="contestsGetSubmission",
        summary="Get a submission",
    )
    async def get_submission(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId, submission_id: scrm.PathId
    ) -> SubmissionOut:
        """One submission with its status, the reason of a rejection, findings and files."""
        return await submissions.get(kernel, ws, contest_id, submission_id)

    @post(
        "/{contest_id:int}/submissions/{submission_id:int}/moderation",
        opt=ADMIN,
        operation_id="contestsModerate",
        summary="Approve or reject a submission",
        status_code=200,
    )
    async def moderate(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        principal: scrm.PrincipalDep,
        contest_id: scrm.PathId,
        submission_id: scrm.PathId,
        data: JSONBody[ModerateIn],
    ) -> SubmissionOut:
        """In submission, moderation or voting; a rejection needs a reason (422), which the member sees."""
        return await submissions.moderate(kernel, ws, contest_id, submission_id, data, f"key:{principal.key_id}")

    @post(
        "/{contest_id:int}/submissions/{submission_id:int}/votes",
        opt=WRITE,
        operation_id="contestsVote",
        summary="Cast a vote",
        status_code=201,
    )
    async def vote(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        contest_id: scrm.PathId,
        submission_id: scrm.PathId,
        data: JSONBody[VoteIn],
    ) -> VoteOut:
        """A member's vote, in the voting phase (else 409). A limit reached is a 409
        ``contests-vote-limit``; a submission not approved a 409 ``contests-not-votable``. The answer
        lists the fraud signals the vote raised."""
        return await votes.vote(kernel, ws, contest_id, submission_id, data)

    @get("/{contest_id:int}/votes", opt=READ, operation_id="contestsListVotes", summary="List votes")
    async def list_votes(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        contest_id: scrm.PathId,
        member_id: scrm.QueryId = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[VoteOut]:
        """Votes, newest first, optionally of one member, with whether each was voided."""
        return await votes.listing(kernel, ws, contest_id, member_id, cursor, limit)

    @post(
        "/{contest_id:int}/votes/void",
        opt=ADMIN,
        operation_id="contestsVoidVotes",
        summary="Void votes",
        status_code=200,
    )
    async def void(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId, data: JSONBody[VoidIn]
    ) -> VoidOut:
        """Void votes (in voting or judging): they leave their submissions' counts and the ranking.
        Ids of other contests are ignored; the answer counts what was voided now."""
        return VoidOut(voided=await votes.void(kernel, ws, contest_id, data.vote_ids))

    @get("/{contest_id:int}/signals", opt=ADMIN, operation_id="contestsListSignals", summary="List fraud signals")
    async def list_signals(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        contest_id: scrm.PathId,
        kind: SignalKind = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[SignalOut]:
        """Fraud signals, newest first: new members, bursts of new members, shared addresses and devices."""
        return await votes.signals(kernel, ws, contest_id, kind, cursor, limit)

    @post(
        "/{contest_id:int}/submissions/{submission_id:int}/score",
        opt=JUDGE,
        operation_id="contestsScore",
        summary="Score a submission",
        status_code=200,
    )
    async def score(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        principal: scrm.PrincipalDep,
        contest_id: scrm.PathId,
        submission_id: scrm.PathId,
        data: JSONBody[ScoreIn],
    ) -> ScoreOut:
        """The caller's marks against the rubric, in the judging phase (else 409); marks missing, unknown
        or over a criterion's maximum are a 422 naming them. Scoring again replaces the caller's score."""
        if principal.operator:
            raise NotJudge("An operator key scores for no one in particular; use a workspace key")
        return await judging.score(kernel, ws, contest_id, submission_id, judge_of(principal), data)

    @get("/{contest_id:int}/scores", opt=JUDGE, operation_id="contestsListScores", summary="List scores")
    async def list_scores(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, principal: scrm.PrincipalDep, contest_id: scrm.PathId
    ) -> list[ScoreOut]:
        """Before results, only the caller's own scores; in results, every judge's."""
        return await judging.scores(kernel, ws, contest_id, None if principal.operator else judge_of(principal))

    @get("/{contest_id:int}/results", opt=READ, operation_id="contestsResults", summary="Get the ranking")
    async def get_results(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId) -> ResultsOut:
        """The final ranking with each entry's judge score, vote share and final score, and the tie
        rule; only in results (409 before)."""
        return await results.results(kernel, ws, contest_id)

    @get("/{contest_id:int}/export", opt=READ, operation_id="contestsExport", summary="Export the ranking's data")
    async def export(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId) -> Response[bytes]:
        """Everything the ranking is computed from, and the ranking: ``scrm contests rank FILE`` checks it."""
        return Response(_json.encode(await results.export(kernel, ws, contest_id)), media_type="application/json")

    @post(
        "/{contest_id:int}/awards",
        opt=ADMIN,
        operation_id="contestsAward",
        summary="Award the winners",
        status_code=200,
    )
    async def award(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId) -> list[AwardOut]:
        """In results: points (when the points plugin is on) and the tag for the winning places, once;
        winners are told only where ``can_contact`` allows. Calling again asks again about those not told."""
        return await results.award(kernel, ws, contest_id)

    @get("/{contest_id:int}/awards", opt=READ, operation_id="contestsListAwards", summary="List the awards")
    async def list_awards(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, contest_id: scrm.PathId
    ) -> list[AwardOut]:
        """The awarded places with points and whether each winner could be told."""
        return await results.awards(kernel, ws, contest_id)


class MediaController(Controller):
    path = "/media"
    tags = ["contests"]

    @get(
        "/{token:str}",
        opt={**READ, scrm.SIGNED_URL_OPT: True},
        operation_id="contestsMedia",
        summary="Fetch a file through a signed link",
        security=[],
        media_type="application/octet-stream",
        response_headers=[
            ResponseHeader(name="Accept-Ranges", value="bytes", documentation_only=True),
            ResponseHeader(
                name="ETag", value='"<hash>"', description="A strong validator of the file", documentation_only=True
            ),
        ],
        responses={
            206: ResponseSpec(
                data_container=bytes,
                media_type="application/octet-stream",
                description="The range asked for (see Content-Range)",
                generate_examples=False,
            ),
            304: ResponseSpec(data_container=None, description="The copy the client has (If-None-Match) is current"),
            416: scrm.problem_spec("The range starts past the end of the file (Content-Range: bytes */size)"),
        },
    )
    async def media(
        self, request: Request[Any, Any, Any], kernel: scrm.KernelDep, token: MediaToken
    ) -> Response[bytes]:
        """The file or thumbnail a signed link names (links come with submissions and last an hour).
        Needs no key; a forged, altered or expired link is a 404. Streamed, with an ``ETag``
        (``If-None-Match`` → 304) and ranges: ``Range: bytes=first-last``, ``bytes=first-`` or
        ``bytes=-suffix`` answers 206 with ``Content-Range``, so a video player can seek; a range past
        the end is a 416; several ranges, a malformed header or an outdated ``If-Range`` get the whole file."""
        return await _send_file(request, kernel, token, body=True)

    @head("/{token:str}", opt={**READ, scrm.SIGNED_URL_OPT: True}, include_in_schema=False, security=[])
    async def media_head(
        self, request: Request[Any, Any, Any], kernel: scrm.KernelDep, token: MediaToken
    ) -> Response[None]:
        """The GET's status and headers without the file (players ask for its size and ranges first)."""
        return await _send_file(request, kernel, token, body=False)


ROUTES = [ContestController, MediaController]
