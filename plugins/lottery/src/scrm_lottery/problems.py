"""The lottery's errors: each a stable problem kind under ``urn:scrm:problem:lottery-…``."""

from __future__ import annotations

import scrm


class CampaignLocked(scrm.Conflict):
    kind = "lottery-campaign-locked"
    title = "The campaign can no longer be changed this way"


class WrongState(scrm.Conflict):
    kind = "lottery-wrong-state"
    title = "The campaign is not in a state that allows this"


class Closed(scrm.Conflict):
    kind = "lottery-closed"
    title = "The campaign is not taking part now"


class AlreadyEntered(scrm.Conflict):
    kind = "lottery-already-entered"
    title = "The member has already entered this campaign"


class NotEligible(scrm.Forbidden):
    kind = "lottery-not-eligible"
    title = "The member may not take part in this campaign"


class PointsUnavailable(scrm.Conflict):
    kind = "lottery-points-unavailable"
    title = "The campaign costs points, and the points plugin is not enabled here"


class AlreadyDrawn(scrm.Conflict):
    kind = "lottery-already-drawn"
    title = "The campaign has been drawn already"


class NotClosed(scrm.Conflict):
    kind = "lottery-not-closed"
    title = "Entries are still open; the draw comes after they close"


class NotDrawn(scrm.Conflict):
    kind = "lottery-not-drawn"
    title = "The campaign has not been drawn yet"


class SpinLimit(scrm.Conflict):
    kind = "lottery-spin-limit"
    title = "The member has used all their spins"


class WrongMode(scrm.Conflict):
    kind = "lottery-wrong-mode"
    title = "The campaign's mode does not offer this"
