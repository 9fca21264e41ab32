"""The contests' JSON text columns (one column type both engines store alike), read back here."""

from __future__ import annotations

from typing import Any

import msgspec

from scrm_contests.schemas import Criterion, FindingOut

_encode = msgspec.json.Encoder()
_rubric = msgspec.json.Decoder(list[Criterion])
_ints = msgspec.json.Decoder(list[int])
_findings = msgspec.json.Decoder(list[FindingOut])
_marks = msgspec.json.Decoder(dict[str, int])


def json_text(value: Any) -> str:
    return _encode.encode(value).decode()


def rubric(text: str) -> list[Criterion]:
    return _rubric.decode(text)


def ints(text: str) -> list[int]:
    return _ints.decode(text)


def findings(text: str) -> list[FindingOut]:
    return _findings.decode(text)


def marks(text: str) -> dict[str, int]:
    return _marks.decode(text)
