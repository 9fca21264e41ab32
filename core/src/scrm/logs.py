"""Process logging: plain text for people, JSON lines (``SCRM_LOG_FORMAT=json``) for collectors.

Secrets never reach a log line: API keys are only ever logged by their prefix and database URLs are
redacted. There is no per-request access log (the load balancer keeps one); errors are logged with
method and path, never headers or bodies.

Nothing a client sends can forge a log line: control characters (a newline from ``%0A`` in a path,
a terminal escape) in every logged value — the message, extra fields, an exception's message inside
a traceback — are written escaped (``\\n``, ``\\x1b``), in both formats.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback

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
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = _KEY.sub(lambda m: m.group(0)[:12] + "…", record.exc_text)
        return True


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: the attributes every LogRecord has; any other is an ``extra`` field
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def escape_controls(text: str) -> str:
    """``text`` with each control character (C0, DEL, C1, line and paragraph separators) escaped."""
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


class EscapeControls(logging.Filter):
    """Escapes control characters in a record's message, its string ``extra`` fields and the
    messages of its exceptions, so that one record is one line (plus its traceback's own lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _CONTROL.search(message):
            record.msg, record.args = escape_controls(message), None
        for name, value in vars(record).items():
            if name not in _STANDARD and isinstance(value, str) and _CONTROL.search(value):
                setattr(record, name, escape_controls(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _exception_text(record.exc_info[1])
            record.exc_info = None
        return True


def _exception_text(error: BaseException) -> str:
    """The traceback of ``error`` with its messages (which may quote a request) escaped; its other
    lines (files, source code) come from the program, not from clients."""
    text = "".join(traceback.format_exception(error)).rstrip("\n")
    seen: set[int] = set()
    exc: BaseException | None = error
    while exc is not None and id(exc) not in seen:  # the chain of causes, as the traceback shows it
        seen.add(id(exc))
        for line in traceback.format_exception_only(exc):
            line = line.rstrip("\n")
            if _CONTROL.search(line):
                text = text.replace(line, escape_controls(line))
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return text


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(EscapeControls())  # first: it formats the traceback that RedactSecrets redacts
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
