"""The core's own hook implementations, registered with the plugin manager as the built-in plugin
``scrm`` so that they run in every workspace (a plugin's hooks run only where it is enabled).

Only ``scrm_moderate`` is here: the workspace word list's findings (:mod:`scrm.services.wordlist`).
Media is not the word list's business: it answers None for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from scrm.services.context import WorkspaceRef
from scrm.services.moderation import Finding, Media

hookimpl = pluggy.HookimplMarker("scrm")

if TYPE_CHECKING:
    from scrm.kernel import Kernel

#: the name the built-in hooks answer under (a finding's ``source``)
NAME = "scrm"


@hookimpl
async def scrm_moderate(
    workspace: WorkspaceRef, text: str | None, media: Media | None, kernel: Kernel
) -> list[Finding] | None:
    if text is None:
        return None
    return await kernel.wordlist.findings(workspace, text)
