"""The referrals plugin's errors: each a stable problem kind under ``urn:scrm:problem:referrals-…``."""

from __future__ import annotations

import scrm


class UnknownCode(scrm.NotFound):
    kind = "referrals-unknown-code"
    title = "No such invite code in this workspace"


class CampaignClosed(scrm.Conflict):
    kind = "referrals-closed"
    title = "The campaign is not taking invitations now"


class SelfInvite(scrm.Conflict):
    kind = "referrals-self-invite"
    title = "A member cannot use their own invite code"


class ExistingMember(scrm.Conflict):
    kind = "referrals-existing-member"
    title = "Only new members can be invited"


class AlreadyAttributed(scrm.Conflict):
    kind = "referrals-already-attributed"
    title = "The member was already invited with a code"


class Rejoined(scrm.Conflict):
    kind = "referrals-rejoined"
    title = "This identity was invited before (a member erased and joining again)"


class WrongState(scrm.Conflict):
    kind = "referrals-wrong-state"
    title = "The referral is not in a state this decision applies to"
