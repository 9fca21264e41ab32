"""scrm's own suite runs on the public test helpers (``scrm.testing``, enabled in the root
``conftest.py``); test modules import its helpers from here by the name ``conftest``."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from scrm.testing import BACKEND, PG_URL, RedisServer, Tenant, make_tenant, problem

__all__ = [
    "BACKEND",
    "FIRST_PARTY",
    "PG_URL",
    "ROOT",
    "RedisServer",
    "Tenant",
    "core_route",
    "make_tenant",
    "problem",
    "sample_path",
]

ROOT = Path(__file__).resolve().parents[1]
#: the first-party plugins (every installed plugin but the test plugin): their own suites
#: (plugins/<name>/tests) prove scopes and isolation of their routes
PLUGINS_WITH_OWN_SUITES = tuple(sorted(ep.name for ep in entry_points(group="scrm") if ep.name != "testplugin"))
#: what the route-by-route checks enable: every installed plugin
FIRST_PARTY = (*PLUGINS_WITH_OWN_SUITES, "testplugin")
#: the packages those plugins are written in
PLUGIN_PACKAGES = frozenset(
    ep.module.split(".")[0] for ep in entry_points(group="scrm") if ep.name in PLUGINS_WITH_OWN_SUITES
)


#: a value of each typed path parameter a route-by-route check can fill in (anything else: ``1``)
SAMPLE_PARAMETERS = {"date": "2026-01-01", "uuid": "00000000-0000-0000-0000-000000000001"}


def sample_path(template: str) -> str:
    """``template`` (``/api/v1/x/{id:int}/{month:date}``) with a value of its type in each parameter,
    so that a check reaches the handler rather than the router's 404."""
    return re.sub(r"\{[^}:]+(?::(\w+))?\}", lambda m: SAMPLE_PARAMETERS.get(m.group(1) or "", "1"), template)


def core_route(handler: Any) -> bool:
    """Whether the route-by-route checks of this suite cover a route handler: the core's and the test
    plugin's, not a first-party plugin's, whose own suite covers them (told by the package the
    handler is written in: the core's ``/api/v1/audit`` and the audit plugin's ``/api/v1/audit/…``
    share a prefix)."""
    return getattr(handler, "fn", handler).__module__.split(".")[0] not in PLUGIN_PACKAGES
