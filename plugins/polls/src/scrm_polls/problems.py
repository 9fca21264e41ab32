"""The polls plugin's errors: each a stable problem kind under ``urn:scrm:problem:polls-…``."""

from __future__ import annotations

import scrm


class PollLocked(scrm.Conflict):
    kind = "polls-locked"
    title = "The poll can no longer be changed this way"


class WrongState(scrm.Conflict):
    kind = "polls-wrong-state"
    title = "The poll is not in a state that allows this"


class Closed(scrm.Conflict):
    kind = "polls-closed"
    title = "The poll is not taking ballots now"


class AlreadyVoted(scrm.Conflict):
    kind = "polls-already-voted"
    title = "The member has already voted in this poll"


class NotEligible(scrm.Forbidden):
    kind = "polls-not-eligible"
    title = "The member may not vote in this poll"


class Anonymous(scrm.Conflict):
    kind = "polls-anonymous"
    title = "The poll is anonymous: its ballots are not shown by member"
