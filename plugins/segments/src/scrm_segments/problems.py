"""The segments plugin's errors: each a stable problem kind under ``urn:scrm:problem:segments-…``."""

from __future__ import annotations

import scrm


class DuplicateName(scrm.Conflict):
    kind = "segments-duplicate-name"
    title = "A segment with this name already exists"
