"""What plugins give the admin console (``scrm-web``): pages, navigation entries and member panels.

These types live in the core so a plugin can offer console pages without depending on the console:
when ``scrm-web`` is not installed, nothing asks for them. A plugin's console handlers are ordinary
Litestar handlers; the console mounts them under ``/console/w/{workspace}/<plugin>/``, signs the
operator in, checks the scope each handler declares (``opt={"scope": "points:read"}``) against the
operator's role, and provides ``access`` (:class:`scrm.Access`) and ``ws`` (:class:`scrm.WorkspaceRef`)
as dependencies. Templates extend ``console/base.html``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar.types import ControllerRouterHandler


@dataclass(frozen=True)
class NavLink:
    """An entry in the console's navigation: ``title`` (an English message the plugin's catalog
    translates), ``path`` relative to the plugin's mount point, shown to roles holding ``scope``."""

    title: str
    path: str
    scope: str


@dataclass(frozen=True)
class ConsolePages:
    """A plugin's console pages: ``routes`` mounted under ``/console/w/{workspace}/<plugin>``,
    ``nav`` entries, the folder of its ``templates`` (addressed as ``<plugin>/<file>``) and of its
    ``translations`` (Babel catalogs: ``<locale>/LC_MESSAGES/messages.po``)."""

    routes: Sequence[ControllerRouterHandler] = ()
    nav: Sequence[NavLink] = ()
    templates: Path | None = None
    translations: Path | None = None


@dataclass(frozen=True)
class MemberPanel:
    """A panel on the console's member page: ``title`` (an English message the plugin's catalog
    translates) above ``template`` rendered with ``context`` (and ``panel``, this panel).

    ``template`` is one of the plugin's own (``<plugin>/<file>``), or the console's generic
    ``console/panel_table.html``: a two-column table of ``context["rows"]``, a list of
    ``(label, value)`` pairs (or a mapping of label to value), both shown as given.
    """

    title: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
