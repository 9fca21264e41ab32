"""The referrals REST API, mounted under ``/api/v1/referrals``: handlers of a few lines over the
modules that hold the logic. Scopes: ``referrals:read`` to read campaigns, codes, referrals and
measures and to resolve a code; ``referrals:write`` to create and change campaigns, issue codes and
join or claim with a code; ``referrals:admin`` to review referrals (approve, void)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import scrm
from litestar import Controller, Response, get, patch, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from scrm_referrals import attribution, campaigns, codes, measures, referrals, review, rewards
from scrm_referrals.schemas import (
    AttributeIn,
    CodeOut,
    Inviter,
    JoinIn,
    KFigure,
    KSeries,
    Landing,
    MemberRef,
    ReferralCampaignIn,
    ReferralCampaignOut,
    ReferralCampaignPatch,
    ReferralOut,
    ReferralReviewIn,
    ReferralRewardOut,
    ReferralState,
    Tree,
)

READ = {"scope": "referrals:read"}
WRITE = {"scope": "referrals:write"}
ADMIN = {"scope": "referrals:admin"}
CodePath = Annotated[
    str, PathParameter(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$", description="An invite code")
]
Start = Annotated[datetime | None, QueryParameter(description="From (RFC 3339; default 30 days before end)")]
End = Annotated[datetime | None, QueryParameter(description="Until, excluded (RFC 3339; default now)")]
Period = Annotated[measures.Period, QueryParameter(description="day, week or month")]
CampaignFilter = Annotated[int | None, QueryParameter(gt=0, le=scrm.MAX_ID, description="Only this campaign")]
Top = Annotated[int, QueryParameter(ge=1, le=100, description="How many inviters")]


def window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """A period from the query: naive times are UTC; 30 days up to now by default."""
    end = (end or datetime.now(UTC)).replace(tzinfo=(end.tzinfo if end and end.tzinfo else UTC))
    start = start.replace(tzinfo=start.tzinfo or UTC) if start else end - timedelta(days=30)
    if end <= start:
        raise scrm.invalid("end", "must be later than start", "query")
    return start, end


class ReferralsController(Controller):
    path = "/"
    tags = ["referrals"]

    @post("/campaigns", opt=WRITE, operation_id="referralsCreateCampaign", status_code=201, summary="Create a campaign")
    async def create(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[ReferralCampaignIn]
    ) -> ReferralCampaignOut:
        """Create an active campaign. 422 names every field wrong at once (a window that ends before it
        starts, points without the points plugin, a second-level reward without ``levels`` 2, a daily
        cap above the total one)."""
        return (await campaigns.create(kernel, ws, data)).out()

    @get("/campaigns", opt=READ, operation_id="referralsListCampaigns", summary="List campaigns")
    async def list_campaigns(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[ReferralCampaignOut]:
        """The workspace's campaigns, newest first."""
        return await campaigns.listing(kernel, ws, cursor, limit)

    @get("/campaigns/{campaign_id:int}", opt=READ, operation_id="referralsGetCampaign", summary="Get a campaign")
    async def get_campaign(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId
    ) -> ReferralCampaignOut:
        """One campaign; 404 when it is not in this workspace."""
        return (await campaigns.get(kernel, ws, campaign_id)).out()

    @patch(
        "/campaigns/{campaign_id:int}", opt=WRITE, operation_id="referralsUpdateCampaign", summary="Change a campaign"
    )
    async def update(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        campaign_id: scrm.PathId,
        data: JSONBody[ReferralCampaignPatch],
    ) -> ReferralCampaignOut:
        """Change a campaign (``state: ended`` stops it); the rules apply to conversions from now on."""
        return (await campaigns.update(kernel, ws, campaign_id, data)).out()

    @post(
        "/campaigns/{campaign_id:int}/codes",
        opt=WRITE,
        operation_id="referralsIssueCode",
        status_code=200,
        summary="Get a member's invite code",
    )
    async def issue(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId, data: JSONBody[MemberRef]
    ) -> CodeOut:
        """The member's code and link in the campaign, made on first asking, the same ever after. 409
        ``referrals-closed`` for a first code of a campaign not active now."""
        return await codes.issue(kernel, ws, campaign_id, data)

    @get("/codes/{code:str}", opt=READ, operation_id="referralsResolveCode", summary="Resolve an invite code")
    async def resolve(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, code: CodePath) -> Landing:
        """What a landing page shows for the code (case-insensitive), counted as an invitation opened.
        404 ``referrals-unknown-code``."""
        return await codes.resolve(kernel, ws, code)

    @get("/codes/{code:str}/qr", opt=READ, operation_id="referralsCodeQr", summary="QR code of an invite link")
    async def qr(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, code: CodePath) -> Response[bytes]:
        """The code's link as an SVG QR code."""
        return Response(await codes.qr_svg(kernel, ws, code), media_type="image/svg+xml")

    @post("/joins", opt=WRITE, operation_id="referralsJoin", status_code=201, summary="Join with an invite code")
    async def join(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[JoinIn]) -> ReferralOut:
        """Create a member and attribute them to the code, in one transaction. 409:
        ``referrals-existing-member`` (the external id is taken), ``referrals-self-invite`` (an identity
        of the code's holder), ``referrals-rejoined`` (an identity invited before, even if erased since),
        ``referrals-closed``; 404 ``referrals-unknown-code``. Conversion follows from delivered events."""
        return await attribution.join(kernel, ws, data)

    @post("/attributions", opt=WRITE, operation_id="referralsClaim", status_code=201, summary="Attribute a new member")
    async def claim(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[AttributeIn]) -> ReferralOut:
        """Attribute a member created within the last hour (by your app) to a code; the first code
        wins (409 ``referrals-already-attributed``); the same 409s as joining otherwise."""
        return await attribution.claim(kernel, ws, data)

    @get("/referrals", opt=READ, operation_id="referralsList", summary="List referrals")
    async def list_referrals(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        campaign_id: CampaignFilter = None,
        in_state: Annotated[
            ReferralState | None,
            QueryParameter(name="state", description="Only in this state (held: the review queue)"),
        ] = None,
        inviter_id: scrm.QueryId = None,
        flagged: Annotated[bool, QueryParameter(description="Only those with fraud signals")] = False,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[ReferralOut]:
        """Referrals, newest first; ``state=held`` is the review queue."""
        return await referrals.listing(
            kernel,
            ws,
            campaign_id=campaign_id,
            state=in_state,
            inviter_id=inviter_id,
            flagged=flagged,
            cursor=cursor,
            limit=limit,
        )

    @get("/referrals/{referral_id:int}", opt=READ, operation_id="referralsGet", summary="Get a referral")
    async def get_referral(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, referral_id: scrm.PathId
    ) -> ReferralOut:
        """One referral: its code, inviter, invitee, state, fraud signals and when it joined and converted."""
        return await referrals.get(kernel, ws, referral_id)

    @get(
        "/referrals/{referral_id:int}/rewards",
        opt=READ,
        operation_id="referralsRewards",
        summary="A referral's rewards",
    )
    async def list_rewards(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, referral_id: scrm.PathId
    ) -> list[ReferralRewardOut]:
        """The rewards of a referral: one per role, ``paid``, ``held``, ``capped`` or ``void``."""
        await referrals.get(kernel, ws, referral_id)
        return await rewards.of_referral(kernel, ws, referral_id)

    @post(
        "/referrals/{referral_id:int}/review",
        opt=ADMIN,
        operation_id="referralsReview",
        status_code=200,
        summary="Approve or void a referral",
    )
    async def decide(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, referral_id: scrm.PathId, data: JSONBody[ReferralReviewIn]
    ) -> ReferralOut:
        """``approve`` a held referral (its rewards are paid) or ``void`` one (its paid rewards are
        reversed). 409 ``referrals-wrong-state`` when the decision does not apply."""
        return await review.decide(kernel, ws, referral_id, data)

    @get("/k", opt=READ, operation_id="referralsK", summary="The viral coefficient K")
    async def k(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        campaign_id: CampaignFilter = None,
        start: Start = None,
        end: End = None,
    ) -> KFigure:
        """K over ``[start, end)`` with its factors, for one campaign or the whole workspace (404 for a
        campaign not in this workspace)."""
        if campaign_id is not None:
            await campaigns.get(kernel, ws, campaign_id)
        return await measures.k(kernel, ws, *window(start, end), campaign_id)

    @get("/k/series", opt=READ, operation_id="referralsKSeries", summary="K per period")
    async def k_series(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        period: Period = "day",
        campaign_id: CampaignFilter = None,
        start: Start = None,
        end: End = None,
    ) -> KSeries:
        """K per day, week or month (at most 120 periods); 404 for a campaign not in this workspace."""
        if campaign_id is not None:
            await campaigns.get(kernel, ws, campaign_id)
        return await measures.series(kernel, ws, *window(start, end), period, campaign_id)

    @get(
        "/campaigns/{campaign_id:int}/leaderboard",
        opt=READ,
        operation_id="referralsLeaderboard",
        summary="Top inviters",
    )
    async def leaderboard(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId, limit: Top = 20
    ) -> list[Inviter]:
        """The campaign's inviters by conversions."""
        await campaigns.get(kernel, ws, campaign_id)
        return await measures.top_inviters(kernel, ws, campaign_id, limit)

    @get("/members/{member_id:int}/tree", opt=READ, operation_id="referralsTree", summary="A member's invite tree")
    async def tree(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, member_id: scrm.PathId) -> Tree:
        """Whom the member invited, and so on down (6 levels, 500 members at most), and who invited them."""
        return await measures.tree(kernel, ws, member_id)


ROUTES = [ReferralsController]
