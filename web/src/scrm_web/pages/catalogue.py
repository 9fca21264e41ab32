"""The plugin catalogue in the console: every plugin the deployment's catalogue (``SCRM_CATALOGUE``)
lists, with the permissions (scopes) it asks for, whether the catalogue verified it, which versions fit
this core or are blocklisted, and whether it is installed and enabled here — so admins see what a
plugin may do before they enable it. Installing is a deployment change (``scrm plugins install``, then
``scrm migrate`` and a restart), so the page says how rather than doing it; an installed plugin is
enabled through the Plugins page's confirmation, which names its permissions again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from litestar import get
from litestar.response import Template
from scrm import Catalogue, CatalogueError, KernelDep, WorkspaceDep, __version__, load_catalogue


@dataclass(frozen=True)
class Row:
    """One catalogue plugin as the page shows it."""

    name: str
    summary: str
    verified: bool
    version: str | None  # the newest release this core can install, or None
    scopes: list[str]
    blocked: list[str]  # versions on the blocklist
    incompatible: list[str]  # versions for another core
    installed: str | None  # the installed version, or None
    enabled: bool


def rows(catalogue: Catalogue, installed: dict[str, str], enabled: frozenset[str]) -> list[Row]:
    found = []
    for plugin in catalogue.search():
        blocked = [r.version for r in plugin.releases if catalogue.blocked(plugin.name, r.version)]
        incompatible = [r.version for r in plugin.releases if not r.fits(__version__)]
        usable = [r for r in plugin.releases if r.version not in blocked and r.version not in incompatible]
        shown = usable[-1] if usable else plugin.newest()
        found.append(
            Row(
                name=plugin.name,
                summary=plugin.summary,
                verified=plugin.verified,
                version=usable[-1].version if usable else None,
                scopes=list(shown.scopes),
                blocked=blocked,
                incompatible=incompatible,
                installed=installed.get(plugin.name),
                enabled=plugin.name in enabled,
            )
        )
    return found


@get("/plugins/catalogue", opt={"scope": "plugins:read"})
async def catalogue_page(kernel: KernelDep, ws: WorkspaceDep) -> Template:
    source = kernel.settings.catalogue
    context: dict[str, Any] = {"source": source, "rows": [], "error": None, "verified_only": False}
    if source:
        try:
            catalogue, _ = await asyncio.to_thread(load_catalogue, source)  # a URL is fetched: off the loop
        except CatalogueError as exc:
            context["error"] = str(exc)
        else:
            installed = {name: p.manifest.version for name, p in kernel.plugins.plugins.items()}
            context["rows"] = rows(catalogue, installed, ws.enabled_plugins)
            context["verified_only"] = kernel.settings.plugins_verified_only
    return Template("console/catalogue.html", context=context)


routes = [catalogue_page]
