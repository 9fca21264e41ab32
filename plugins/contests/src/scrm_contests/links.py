"""Signed, expiring links to submissions' files (``kernel.signer``, purpose ``contests-media``).

A link names the workspace, the file and the variant (the file itself or its thumbnail) and expires
after :data:`LINK_SECONDS`; ``GET /api/v1/contests/media/{token}`` serves it without an API key, so a
brand's app can put it straight into an ``<img>``. Nothing in it can be guessed or altered: the
storage keys never leave the server.
"""

from __future__ import annotations

import scrm

PURPOSE = "contests-media"
LINK_SECONDS = 3600
PREFIX = "/api/v1/contests/media/"


def link(kernel: scrm.Kernel, ws_id: int, media_id: int, variant: str) -> str:
    """The path of a signed link to a file (``variant``: ``file`` or ``thumb``)."""
    return PREFIX + kernel.signer.sign(PURPOSE, f"{ws_id}:{media_id}:{variant}", LINK_SECONDS)


def read(kernel: scrm.Kernel, token: str) -> tuple[int, int, str]:
    """(workspace id, media id, variant) of a valid link; anything else is a 404."""
    payload = kernel.signer.verify(PURPOSE, token)
    ws_id, media_id, variant = payload.split(":")
    return int(ws_id), int(media_id), variant
