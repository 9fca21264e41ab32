"""scrm's own suite runs on the public test helpers (``scrm.testing``, enabled in the root
``conftest.py``); test modules import its helpers from here by the name ``conftest``."""

from __future__ import annotations

from pathlib import Path

from scrm.testing import BACKEND, PG_URL, Tenant, make_tenant, problem

__all__ = ["BACKEND", "PG_URL", "ROOT", "Tenant", "core_route", "make_tenant", "problem"]

ROOT = Path(__file__).resolve().parents[1]
#: first-party plugins whose own suites (plugins/<name>/tests) prove scopes and isolation of their routes
PLUGINS_WITH_OWN_SUITES = ("points", "lottery")


def core_route(path: str) -> bool:
    """Whether the route-by-route checks of this suite cover ``path``: the core's routes and the test
    plugin's, not those of a first-party plugin, whose own suite covers them."""
    return not any(path.startswith(f"/api/v1/{name}/") for name in PLUGINS_WITH_OWN_SUITES)
