"""The analytics plugin's errors: each a stable problem kind under ``urn:scrm:problem:analytics-…``."""

from __future__ import annotations

import scrm


class ReportUnavailable(scrm.Problem):
    """The server cannot render the report: no console to render its page, or no Pango for PDF."""

    status = 503
    kind = "analytics-report-unavailable"
    title = "The report cannot be rendered on this server"
