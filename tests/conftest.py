"""scrm's own suite runs on the public test helpers (``scrm.testing``, enabled in the root
``conftest.py``); test modules import its helpers from here by the name ``conftest``."""

from __future__ import annotations

from pathlib import Path

from scrm.testing import BACKEND, PG_URL, Tenant, make_tenant, problem

__all__ = ["BACKEND", "PG_URL", "ROOT", "Tenant", "make_tenant", "problem"]

ROOT = Path(__file__).resolve().parents[1]
