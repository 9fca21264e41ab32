"""Standard Webhooks signatures (https://www.standardwebhooks.com): the reference library signs.

A message is signed over ``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 under the
subscription's secret (``whsec_`` + base64 of 24 random bytes); ``webhook-signature`` carries one
``v1,<base64>`` per valid secret, space-separated, so during a rotation a receiver holding either the
old or the new secret verifies the message.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(message_id: str, at: datetime, body: bytes, secrets_: Iterable[str]) -> dict[str, str]:
    """The three Standard Webhooks headers of ``body`` sent at ``at``, signed with each secret."""
    signature = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets_)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
