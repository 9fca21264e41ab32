"""The points plugin's hook implementations (entry point ``scrm: points``)."""

from __future__ import annotations

import scrm


@scrm.hookimpl
def scrm_manifest() -> scrm.Manifest:
    return scrm.Manifest(
        name="points",
        version="0.1.0",
        description="Points: rules, ledger, expiry, check-in streaks, rewards and tiers",
        core=">=0.1,<1",
        scopes=["points:read", "points:write", "points:admin"],
    )
