"""Console pages: team (being written)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler
from scrm import NavLink

routes: list[ControllerRouterHandler] = []
nav: list[NavLink] = []
