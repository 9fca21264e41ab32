"""What a service call acts in: the workspace, as the request's credential resolved it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkspaceRef:
    """A workspace and the plugins enabled in it, resolved once per request (and cached briefly)."""

    id: int
    slug: str
    name: str
    time_zone: str = "UTC"
    enabled_plugins: frozenset[str] = field(default_factory=frozenset)
