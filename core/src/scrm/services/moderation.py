"""Moderation: what plugins find in a piece of content a member wrote or uploaded.

A plugin that accepts member content (a poll's free text, a contest submission, a comment) asks
``kernel.moderation.check(ws, text=...)`` (or ``media=``) before it shows the content to anyone. The
answer gathers the findings of every plugin enabled in the workspace that implements
``scrm_moderate``, and the core's own word list (:mod:`scrm.services.wordlist`, asked in every
workspace); the caller decides what a finding means for its content (hold it for review,
refuse it, flag it). Moderators never see each other's findings, and a failing moderator is a
finding of its own (``moderation.failed``), so a broken checker can only hold content back, never
wave it through.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import msgspec
from scrm.services.context import WorkspaceRef

if TYPE_CHECKING:
    from scrm.kernel import Kernel

log = logging.getLogger("scrm.moderation")
#: the core's built-in moderator (the workspace word list), asked in every workspace
BUILTIN = "scrm"

Severity = Literal["low", "medium", "high"]


class Media(msgspec.Struct, frozen=True):
    """An uploaded file to check: its bytes, the type its content was identified as, and a name for
    messages."""

    data: bytes
    content_type: str
    filename: str = ""


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One thing a moderator found. ``start``/``end`` are character offsets into the text (a span;
    None for media or for the whole text); ``term`` is what matched when a word list found it."""

    category: str
    severity: Severity = "medium"
    start: int | None = None
    end: int | None = None
    term: str | None = None
    source: str = ""


class Moderation:
    """``kernel.moderation``: asks the enabled plugins' ``scrm_moderate`` about one piece of content."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    async def check(self, ws: WorkspaceRef, *, text: str | None = None, media: Media | None = None) -> list[Finding]:
        """Every finding on ``text`` or ``media`` (give one), each carrying the plugin that found it
        in ``source``; an empty list means nothing was found."""
        if (text is None) == (media is None):
            raise TypeError("check takes text or media, exactly one")
        try:
            answers = await self.k.plugins.call_each(
                "scrm_moderate", [*ws.enabled_plugins, BUILTIN], workspace=ws, text=text, media=media, kernel=self.k
            )
        except Exception:
            log.exception("a scrm_moderate implementation failed; holding the content")
            return [Finding(category="moderation.failed", severity="high", source="scrm")]
        findings: list[Finding] = []
        for name, found in answers.items():
            for finding in found:
                if not isinstance(finding, Finding):
                    log.error("plugin %r: scrm_moderate answered %r, not scrm.Finding", name, finding)
                    finding = Finding(category="moderation.failed", severity="high")
                findings.append(finding if finding.source else msgspec.structs.replace(finding, source=name))
        return findings
