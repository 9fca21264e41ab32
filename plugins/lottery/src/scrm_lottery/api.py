"""The lottery's REST API, mounted under ``/api/v1/lottery``: handlers of a few lines over the
modules that hold the logic. Scopes: ``lottery:read`` to read, ``lottery:write`` to create and edit
campaigns, enter and spin, ``lottery:admin`` to open, close, cancel, draw and notify."""

from __future__ import annotations

from typing import Annotated

import msgspec
import scrm
from litestar import Controller, Response, delete, get, patch, post
from litestar.openapi.spec import Example
from litestar.params import Body, JSONBody, QueryParameter

from scrm_lottery import campaigns, draws, entries, spins, winners
from scrm_lottery.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    DrawIn,
    DrawResult,
    EntryCount,
    EntryOut,
    MemberIn,
    NotifyResult,
    OpenIn,
    SpinOut,
    State,
    WinnerOut,
)

READ = {"scope": "lottery:read"}
WRITE = {"scope": "lottery:write"}
ADMIN = {"scope": "lottery:admin"}
_json = msgspec.json.Encoder()


NEW_CAMPAIGN = Example(
    summary="A week-long draw of three prizes, one entry per member",
    value={
        "name": "Spring draw",
        "opens_at": "2030-03-01T00:00:00+08:00",
        "closes_at": "2030-03-08T00:00:00+08:00",
        "prizes": [{"name": "Tea set", "quantity": 1}, {"name": "Coupon", "quantity": 2}],
    },
)


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["lottery"]

    @post(opt=WRITE, operation_id="lotteryCreateCampaign", summary="Create a lottery campaign", status_code=201)
    async def create(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: Annotated[CampaignIn, Body(examples=[NEW_CAMPAIGN])]
    ) -> CampaignOut:
        """A draft campaign with its prizes, entry rules and the draw's method."""
        return (await campaigns.create(kernel, ws, data)).out()

    @get(opt=READ, operation_id="lotteryListCampaigns", summary="List lottery campaigns")
    async def list_campaigns(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        in_state: Annotated[
            State | None, QueryParameter(name="state", description="Only campaigns in this state")
        ] = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[CampaignOut]:
        """Campaigns newest first, optionally in one state."""
        return await campaigns.listing(kernel, ws, in_state, cursor, limit)

    @get("/{campaign_id:int}", opt=READ, operation_id="lotteryGetCampaign", summary="Get a lottery campaign")
    async def get_campaign(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId
    ) -> CampaignOut:
        """One campaign by id with its prizes and state."""
        return (await campaigns.get(kernel, ws, campaign_id)).out()

    @patch("/{campaign_id:int}", opt=WRITE, operation_id="lotteryUpdateCampaign", summary="Update a lottery campaign")
    async def update(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId, data: JSONBody[CampaignPatch]
    ) -> CampaignOut:
        """Change a campaign: a draft all of it, an open one some fields, a later one only its name and description (422 names the refused fields)."""
        return (await campaigns.update(kernel, ws, campaign_id, data)).out()

    @delete(
        "/{campaign_id:int}",
        opt=WRITE,
        operation_id="lotteryDeleteCampaign",
        summary="Delete a lottery campaign",
        status_code=204,
    )
    async def delete_campaign(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId) -> None:
        """Delete a draft (a campaign past draft is a 409: cancel it instead)."""
        await campaigns.delete(kernel, ws, campaign_id)

    @post(
        "/{campaign_id:int}/open",
        opt=ADMIN,
        operation_id="lotteryOpenCampaign",
        summary="Open a lottery campaign",
        status_code=200,
    )
    async def open_campaign(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        campaign_id: scrm.PathId,
        data: JSONBody[OpenIn | None] = None,
    ) -> CampaignOut:
        """Open a draft; the body may name the draw's public randomness source (see the fairness docs)."""
        source = data.public_source if data is not None else None
        return (await campaigns.open_campaign(kernel, ws, campaign_id, source)).out()

    @post(
        "/{campaign_id:int}/close",
        opt=ADMIN,
        operation_id="lotteryCloseCampaign",
        summary="Close a lottery campaign",
        status_code=200,
    )
    async def close(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId) -> CampaignOut:
        """Stop taking entries of an open campaign (any other state: 409); the draw comes next."""
        return (await campaigns.transition(kernel, ws, campaign_id, "closed", ("open",))).out()

    @post(
        "/{campaign_id:int}/cancel",
        opt=ADMIN,
        operation_id="lotteryCancelCampaign",
        summary="Cancel a lottery campaign",
        status_code=200,
    )
    async def cancel(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId) -> CampaignOut:
        """Cancel a campaign that was not drawn (a drawn one: 409); it takes no entries and is never drawn."""
        return (await campaigns.transition(kernel, ws, campaign_id, "cancelled", ("draft", "open", "closed"))).out()

    @post("/{campaign_id:int}/draw", opt=ADMIN, operation_id="lotteryDraw", summary="Draw the winners", status_code=200)
    async def draw(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        campaign_id: scrm.PathId,
        data: JSONBody[DrawIn | None] = None,
    ) -> DrawResult:
        """Draw once; a campaign with a public source takes its published ``public_value``."""
        return await draws.draw(kernel, ws, campaign_id, data.public_value if data is not None else None)

    @get("/{campaign_id:int}/result", opt=READ, operation_id="lotteryGetResult", summary="Get the draw's result")
    async def result(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId) -> DrawResult:
        """The winners, the seed and the commitment of a drawn campaign."""
        return await draws.result(kernel, ws, campaign_id)

    @get(
        "/{campaign_id:int}/entries/export",
        opt=READ,
        operation_id="lotteryExportEntries",
        summary="Export the draw for verification",
    )
    async def export(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId) -> Response[bytes]:
        """The frozen entry list of a drawn campaign with its commitment, seed and winners: the file
        ``scrm lottery verify`` checks."""
        bundle = await draws.bundle(kernel, ws, campaign_id)
        return Response(_json.encode(bundle), media_type="application/json")

    @post(
        "/{campaign_id:int}/entries", opt=WRITE, operation_id="lotteryEnter", summary="Enter a member", status_code=201
    )
    async def enter(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId, data: JSONBody[MemberIn]
    ) -> EntryOut:
        """Enter a member into an open campaign (once per member unless the campaign allows more; may spend points)."""
        return await entries.enter(kernel, ws, campaign_id, data)

    @get("/{campaign_id:int}/entries", opt=READ, operation_id="lotteryListEntries", summary="List entries")
    async def list_entries(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        campaign_id: scrm.PathId,
        member_id: scrm.QueryId = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[EntryOut]:
        """A campaign's entries, oldest first."""
        return await entries.listing(kernel, ws, campaign_id, member_id, cursor, limit)

    @get("/{campaign_id:int}/entries/count", opt=READ, operation_id="lotteryCountEntries", summary="Count entries")
    async def count_entries(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId
    ) -> EntryCount:
        """How many entries a campaign has."""
        return await entries.count(kernel, ws, campaign_id)

    @post("/{campaign_id:int}/spins", opt=WRITE, operation_id="lotterySpin", summary="Spin the wheel", status_code=201)
    async def spin(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId, data: JSONBody[MemberIn]
    ) -> SpinOut:
        """An instant-win spin for a member in a wheel campaign: the prize (or none) is decided now."""
        return await spins.spin(kernel, ws, campaign_id, data)

    @get("/{campaign_id:int}/spins", opt=READ, operation_id="lotteryListSpins", summary="List spins")
    async def list_spins(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        campaign_id: scrm.PathId,
        member_id: scrm.QueryId = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[SpinOut]:
        """A wheel campaign's spins, newest first."""
        return await spins.listing(kernel, ws, campaign_id, member_id, cursor, limit)

    @get("/{campaign_id:int}/winners", opt=READ, operation_id="lotteryListWinners", summary="List winners")
    async def list_winners(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        campaign_id: scrm.PathId,
        contactable: Annotated[
            bool | None, QueryParameter(description="false: the unreachable winners; true: the contactable ones")
        ] = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[WinnerOut]:
        """A drawn campaign's winners, optionally only the contactable or the unreachable ones."""
        return await winners.listing(kernel, ws, campaign_id, contactable, cursor, limit)

    @post(
        "/{campaign_id:int}/notify",
        opt=ADMIN,
        operation_id="lotteryNotifyWinners",
        summary="Notify the winners",
        status_code=200,
    )
    async def notify(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, campaign_id: scrm.PathId) -> NotifyResult:
        """Ask the consent door again about every winner not yet notified."""
        return await winners.notify(kernel, ws, await campaigns.load(kernel, ws, campaign_id))


ROUTES = [CampaignController]
