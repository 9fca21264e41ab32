"""The request and response models (``msgspec.Struct``), generated from the OpenAPI document.

A field the server may leave out is ``msgspec.UNSET`` when absent; building a request model, leave
out what you do not send. Every method also takes a plain ``dict`` as its body."""

from __future__ import annotations

import msgspec

from scrm_sdk._generated import *  # noqa: F403

UNSET = msgspec.UNSET
