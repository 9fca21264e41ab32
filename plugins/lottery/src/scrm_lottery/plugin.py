"""The lottery plugin's hook implementations (entry point ``scrm: lottery``)."""

from __future__ import annotations

import scrm


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="lottery",
        version="0.1.0",
        description="Lotteries: campaigns with verifiable draws, weighted tickets and instant-win wheels",
        core=">=0.1,<1",
        scopes=["lottery:read", "lottery:write", "lottery:admin"],
    )
