"""The contests' errors: each a stable problem kind under ``urn:scrm:problem:contests-…``."""

from __future__ import annotations

import scrm


class WrongPhase(scrm.Conflict):
    kind = "contests-wrong-phase"
    title = "The contest is not in the phase that allows this"


class ContestLocked(scrm.Conflict):
    kind = "contests-contest-locked"
    title = "The contest can no longer be changed this way"


class SubmissionLimit(scrm.Conflict):
    kind = "contests-submission-limit"
    title = "The member has sent all the submissions this contest takes"


class VoteLimit(scrm.Conflict):
    kind = "contests-vote-limit"
    title = "The member has used all their votes"


class NotVotable(scrm.Conflict):
    kind = "contests-not-votable"
    title = "This submission is not in the public vote"


class NotJudge(scrm.Forbidden):
    kind = "contests-not-judge"
    title = "Only a person can judge: sign in to the console, or use a key of your own"


class RangeNotSatisfiable(scrm.Problem):
    status = 416
    kind = "contests-range-not-satisfiable"
    title = "The requested range is not within the file"
