"""``/api/v1/points/…``: the points API. Handlers are thin: the work is in :class:`PointsService`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import scrm
from litestar import Controller, delete, get, patch, post, put
from litestar.openapi.spec import Example
from litestar.params import Body, JSONBody, QueryParameter

from scrm_points.config import PointsSettings
from scrm_points.schemas import (
    AccountOut,
    AdjustmentIn,
    CheckinIn,
    CheckinOut,
    Leaderboard,
    PostedOut,
    RedemptionIn,
    RedemptionOut,
    ReversalIn,
    RewardIn,
    RewardOut,
    RewardPatch,
    RuleIn,
    RuleOut,
    RulePatch,
    TransactionOut,
)
from scrm_points.service import PointsService

READ = {"scope": "points:read"}
WRITE = {"scope": "points:write"}
ADMIN = {"scope": "points:admin"}


def points(kernel: scrm.Kernel) -> PointsService:
    """The kernel's points service (the same object other plugins get)."""
    service: PointsService = kernel.service("points")
    return service


NEW_RULE = Example(
    summary="10 points per paid order of 100 or more, at most 50 a day",
    value={
        "name": "Big orders",
        "event_type": "order.paid",
        "points": 10,
        "conditions": {"amount": {"min": 100}},
        "daily_cap": 50,
    },
)


class PointsController(Controller):
    path = "/"
    tags = ["points"]

    # --- members ------------------------------------------------------------------------------

    @get("/members/{member_id:int}", opt=READ, operation_id="pointsGetAccount", summary="Get a member's points account")
    async def get_account(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, member_id: scrm.PathId) -> AccountOut:
        """A member's balance, lifetime points, tier and points expiring soon."""
        return await points(kernel).account(ws, member_id)

    @get(
        "/members/{member_id:int}/transactions",
        opt=READ,
        operation_id="pointsListTransactions",
        summary="List a member's points transactions",
    )
    async def list_transactions(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        member_id: scrm.PathId,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[TransactionOut]:
        """A member's ledger, newest first."""
        return await points(kernel).history(ws, member_id, cursor, limit)

    @post(
        "/members/{member_id:int}/adjustments",
        opt=ADMIN,
        operation_id="pointsAdjust",
        summary="Adjust a member's points",
    )
    async def adjust(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, member_id: scrm.PathId, data: JSONBody[AdjustmentIn]
    ) -> PostedOut:
        """Add or take away points by hand, with a reason (taking more than the balance: 409)."""
        return await points(kernel).adjust(ws, member_id, data.amount, data.reason, data.reference)

    @get(
        "/transactions/{transaction_id:int}",
        opt=READ,
        operation_id="pointsGetTransaction",
        summary="Get a points transaction",
    )
    async def get_transaction(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, transaction_id: scrm.PathId
    ) -> TransactionOut:
        """One ledger transaction by id."""
        return await points(kernel).transaction(ws, transaction_id)

    @post(
        "/transactions/{transaction_id:int}/reversals",
        opt=ADMIN,
        operation_id="pointsReverse",
        summary="Reverse a points transaction",
    )
    async def reverse(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, transaction_id: scrm.PathId, data: JSONBody[ReversalIn]
    ) -> PostedOut:
        """Undo a transaction (once; not a reversal; 409 if the points it gave were spent)."""
        return await points(kernel).reverse(ws, transaction_id, data.reason)

    # --- check-in -----------------------------------------------------------------------------

    @post("/checkins", opt=WRITE, operation_id="pointsCheckIn", summary="Check a member in")
    async def check_in(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[CheckinIn]) -> CheckinOut:
        """Today's check-in of a member (the workspace's day): streak, points, balance."""
        service = points(kernel)
        return await service.checkin(ws, await service.resolve(ws, data))

    # --- rules --------------------------------------------------------------------------------

    @get("/rules", opt=READ, operation_id="pointsListRules", summary="List points rules")
    async def list_rules(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[RuleOut]:
        """The earning rules: which event types award how many points, on which conditions."""
        return await points(kernel).rules(ws, cursor, limit)

    @post("/rules", opt=ADMIN, operation_id="pointsCreateRule", summary="Create a points rule")
    async def create_rule(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: Annotated[RuleIn, Body(examples=[NEW_RULE])]
    ) -> RuleOut:
        """A rule awarding points when an event of a type is recorded (with optional conditions, caps and a multiplier)."""
        return await points(kernel).create_rule(ws, data)

    @get("/rules/{rule_id:int}", opt=READ, operation_id="pointsGetRule", summary="Get a points rule")
    async def get_rule(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, rule_id: scrm.PathId) -> RuleOut:
        """One earning rule by id."""
        return await points(kernel).rule(ws, rule_id)

    @patch("/rules/{rule_id:int}", opt=ADMIN, operation_id="pointsUpdateRule", summary="Update a points rule")
    async def update_rule(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, rule_id: scrm.PathId, data: JSONBody[RulePatch]
    ) -> RuleOut:
        """Change an earning rule; fields left out stay as they are."""
        return await points(kernel).update_rule(ws, rule_id, data)

    @delete("/rules/{rule_id:int}", opt=ADMIN, operation_id="pointsDeleteRule", summary="Delete a points rule")
    async def delete_rule(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, rule_id: scrm.PathId) -> None:
        """Delete an earning rule; points it awarded stay."""
        await points(kernel).delete_rule(ws, rule_id)

    # --- rewards and redemptions ----------------------------------------------------------------

    @get("/rewards", opt=READ, operation_id="pointsListRewards", summary="List rewards")
    async def list_rewards(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        active: Annotated[
            bool | None, QueryParameter(description="Only offered (true) or withdrawn (false) ones")
        ] = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[RewardOut]:
        """The rewards members can redeem points for."""
        return await points(kernel).rewards(ws, cursor, limit, active)

    @post("/rewards", opt=ADMIN, operation_id="pointsCreateReward", summary="Create a reward")
    async def create_reward(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[RewardIn]) -> RewardOut:
        """A reward with its cost in points and optional stock."""
        return await points(kernel).create_reward(ws, data)

    @get("/rewards/{reward_id:int}", opt=READ, operation_id="pointsGetReward", summary="Get a reward")
    async def get_reward(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, reward_id: scrm.PathId) -> RewardOut:
        """One reward by id."""
        return await points(kernel).reward(ws, reward_id)

    @patch("/rewards/{reward_id:int}", opt=ADMIN, operation_id="pointsUpdateReward", summary="Update a reward")
    async def update_reward(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, reward_id: scrm.PathId, data: JSONBody[RewardPatch]
    ) -> RewardOut:
        """Change a reward's name, cost, stock or whether it is offered."""
        return await points(kernel).update_reward(ws, reward_id, data)

    @delete("/rewards/{reward_id:int}", opt=ADMIN, operation_id="pointsDeleteReward", summary="Delete a reward")
    async def delete_reward(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, reward_id: scrm.PathId) -> None:
        """Remove a reward from the catalogue; its redemptions stay (with the reward's name)."""
        await points(kernel).delete_reward(ws, reward_id)

    @post("/rewards/{reward_id:int}/redemptions", opt=WRITE, operation_id="pointsRedeem", summary="Redeem a reward")
    async def redeem(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, reward_id: scrm.PathId, data: JSONBody[RedemptionIn]
    ) -> RedemptionOut:
        """A member redeems a reward: stock, points and the redemption in one transaction."""
        service = points(kernel)
        return await service.redeem(ws, reward_id, await service.resolve(ws, data))

    @get("/redemptions", opt=READ, operation_id="pointsListRedemptions", summary="List redemptions")
    async def list_redemptions(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        member_id: scrm.QueryId = None,
        reward_id: scrm.QueryId = None,
        cursor: scrm.Cursor = None,
        limit: scrm.Limit = scrm.DEFAULT_LIMIT,
    ) -> scrm.Page[RedemptionOut]:
        """Redemptions, newest first, of a member and/or a reward."""
        return await points(kernel).redemptions(ws, member_id, reward_id, cursor, limit)

    # --- leaderboard and settings ----------------------------------------------------------------

    @get("/leaderboard", opt=READ, operation_id="pointsLeaderboard", summary="Get the points leaderboard")
    async def leaderboard(
        self,
        kernel: scrm.KernelDep,
        ws: scrm.WorkspaceDep,
        by: Annotated[
            Literal["balance", "lifetime", "earned"], QueryParameter(description="what to rank by")
        ] = "balance",
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10,
        since: Annotated[datetime | None, QueryParameter(description="by=earned: from (default 30 days ago)")] = None,
        until: Annotated[datetime | None, QueryParameter(description="by=earned: until (default now)")] = None,
    ) -> Leaderboard:
        """Members ranked by balance, lifetime points or points earned in a period."""
        return await points(kernel).leaderboard(ws, by, limit, since, until)

    @get("/settings", opt=READ, operation_id="pointsGetSettings", summary="Get the points settings")
    async def get_settings(self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep) -> PointsSettings:
        """The workspace's points settings: expiry, tiers, check-in rewards."""
        return await points(kernel).settings(ws)

    @put("/settings", opt=ADMIN, operation_id="pointsPutSettings", summary="Replace the points settings")
    async def put_settings(
        self, kernel: scrm.KernelDep, ws: scrm.WorkspaceDep, data: JSONBody[PointsSettings]
    ) -> PointsSettings:
        """Replace the workspace's points settings (validated: a 422 names the bad fields)."""
        return await points(kernel).put_settings(ws, data)
