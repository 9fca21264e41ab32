"""The Python client of the scrm REST API.

    from scrm_sdk import Client
    with Client("http://127.0.0.1:8000", api_key="scrm_…") as scrm:
        member = scrm.members.create_member({"external_id": "crm-1", "display_name": "Li Wei"})
        scrm.events.record_events({"member_id": member.id, "type": "order.paid"})
        for m in scrm.members.iter_list_members(tag=["vip"]):
            print(m.display_name)

``AsyncClient`` is the same with ``await``. Models are in :mod:`scrm_sdk.models`, errors in
:mod:`scrm_sdk.errors`, the draw verifier in :mod:`scrm_sdk.lottery`.
"""

from __future__ import annotations

from scrm_sdk import lottery, models
from scrm_sdk._base import Retry
from scrm_sdk.client import AsyncClient, Client
from scrm_sdk.errors import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    RateLimited,
    ScrmError,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "FieldError",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "ProblemError",
    "RateLimited",
    "Retry",
    "ScrmError",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "ValidationError",
    "lottery",
    "models",
]
