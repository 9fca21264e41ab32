"""Small conversions every service shares: the current time, stored timestamps and JSON columns,
which come back as datetimes or text depending on the engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

_decode = msgspec.json.Decoder()


def now() -> datetime:
    return datetime.now(UTC)


def json_value(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        return _decode.decode(value)
    return value


def timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return (
        datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
        if "+" not in str(value)
        else datetime.fromisoformat(str(value))
    )
