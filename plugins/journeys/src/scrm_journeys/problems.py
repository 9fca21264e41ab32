"""The journeys plugin's errors: each a stable problem kind under ``urn:scrm:problem:journeys-…``."""

from __future__ import annotations

import scrm


class WrongState(scrm.Conflict):
    kind = "journeys-wrong-state"
    title = "The journey is not in a state that allows this"
