"""The channels plugin's errors: each a stable problem kind under ``urn:scrm:problem:channels-…``."""

from __future__ import annotations

import scrm


class TemplateHeld(scrm.Conflict):
    kind = "channels-template-held"
    title = "Moderation found something in the template: it cannot be sent"


class NoProvider(scrm.Conflict):
    kind = "channels-no-provider"
    title = "No enabled provider for the template's channel"
