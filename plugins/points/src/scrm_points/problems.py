"""The plugin's errors: problem documents with stable kinds prefixed ``points-``."""

from __future__ import annotations

import scrm


class NotEnoughPoints(scrm.Conflict):
    kind = "points-insufficient"
    title = "The member does not have enough points"


class OutOfStock(scrm.Conflict):
    kind = "points-out-of-stock"
    title = "The reward is out of stock"


class RewardInactive(scrm.Conflict):
    kind = "points-reward-inactive"
    title = "The reward is not offered at the moment"


class AlreadyCheckedIn(scrm.Conflict):
    kind = "points-already-checked-in"
    title = "The member has already checked in today"


class AlreadyReversed(scrm.Conflict):
    kind = "points-already-reversed"
    title = "The transaction was already reversed"


class NotReversible(scrm.Conflict):
    kind = "points-not-reversible"
    title = "This transaction cannot be reversed"


class MemberErased(scrm.Conflict):
    kind = "points-member-erased"
    title = "The member was erased"


class ReferenceReused(scrm.Conflict):
    kind = "points-reference-reused"
    title = "The reference already names another member's transaction"
