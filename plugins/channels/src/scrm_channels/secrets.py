"""Provider secrets, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, ``cryptography``).

The key comes from the deployment, never from the database: by default it is derived from
``SCRM_SECRET_KEY`` (so a stolen database alone reveals no password); ``SCRM_CHANNELS_KEYS`` may name
one or more Fernet keys, comma-separated, the first encrypting and all decrypting — rotate by putting
a new key first, re-saving the providers, then dropping the old one. A secret is write-only through
the API and the console: it is stored encrypted, never returned, never logged.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENV_KEYS = "SCRM_CHANNELS_KEYS"


class SecretBox:
    """Encrypts and decrypts provider secrets with the deployment's key(s)."""

    def __init__(self, secret_key: str, keys: str | None = None) -> None:
        keys = keys if keys is not None else os.environ.get(ENV_KEYS, "")
        named = [Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()]
        derived = base64.urlsafe_b64encode(hashlib.sha256(b"scrm-channels-secrets:" + secret_key.encode()).digest())
        self._fernet = MultiFernet([*named, Fernet(derived)])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode() if secret else ""

    def open(self, token: str) -> str:
        """The secret, or "" when none is stored (or it was sealed with a key no longer configured)."""
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return ""
