"""Process logging: plain text for people, JSON lines (``SCRM_LOG_FORMAT=json``) for collectors.

Secrets never reach a log line: API keys are only ever logged by their prefix and database URLs are
redacted. There is no per-request access log (the load balancer keeps one); errors are logged with
method and path, never headers or bodies.
"""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

from scrm.settings import Settings

_KEY = re.compile(r"scrm_[A-Za-z0-9_-]{12,}")


class RedactSecrets(logging.Filter):
    """Masks anything shaped like an scrm API key, wherever it appears in a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "scrm_" in message:
            record.msg = _KEY.sub(lambda m: m.group(0)[:12] + "…", message)
            record.args = None
        if record.exc_info:  # an exception's message may carry a key too; formatters print exc_text
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = _KEY.sub(lambda m: m.group(0)[:12] + "…", text)
            record.exc_info = None
        return True


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # No per-request access log: it costs a tenth of the throughput and would record query strings
    # (which can hold personal data); the load balancer in front of scrm keeps one.
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False
