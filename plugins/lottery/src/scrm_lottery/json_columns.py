"""The lottery's JSON text columns: tag lists, ticket rules and a campaign's public source are kept
as JSON text (one column type that both engines store alike) and read back here."""

from __future__ import annotations

from typing import Any

import msgspec

from scrm_lottery.schemas import PublicSource, TicketRule

_encode = msgspec.json.Encoder()
_tags = msgspec.json.Decoder(list[str])
_rules = msgspec.json.Decoder(list[TicketRule])
_source = msgspec.json.Decoder(PublicSource | None)


def json_text(value: Any) -> str:
    """A value as the JSON text its column holds."""
    return _encode.encode(value).decode()


def tags(text: str) -> list[str]:
    return _tags.decode(text)


def ticket_rules(text: str) -> list[TicketRule]:
    return _rules.decode(text)


def public_source(text: str | None) -> PublicSource | None:
    """A campaign's public source (a NULL column: none)."""
    return None if text is None else _source.decode(text)
