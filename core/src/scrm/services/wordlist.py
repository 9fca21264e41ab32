"""The workspace word list (敏感词) and the core's own moderator over it.

Operators keep a list of terms per workspace, each with a category (``ad.absolute``, ``politics``,
``profanity``…) and a severity. The core's built-in ``scrm_moderate`` implementation
(:mod:`scrm.builtin`) reports every occurrence of a term in a text as a :class:`~scrm.Finding` with
its span, so every plugin that asks ``kernel.moderation.check`` gets the word list's findings too,
in every workspace, without enabling anything.

Matching is one compiled regular expression per workspace: an alternation of the escaped terms,
longest first (so ``最好的`` wins over ``最好`` at the same place), case-insensitive. It is built once
and kept in a per-process cache for :data:`MATCHER_SECONDS`; a change to the list drops this
process's copy at once, and other processes pick it up within that many seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrm.cache import ShortCache
from scrm.pagination import Page
from scrm.problems import NotFound, invalid
from scrm.schemas import ModerationTermOut, ModerationTermsIn
from scrm.services.context import WorkspaceRef
from scrm.services.moderation import Finding, Severity
from scrm.sql import as_datetime

if TYPE_CHECKING:
    from scrm.kernel import Kernel

#: How long a process reuses a workspace's compiled word list before reading it again.
MATCHER_SECONDS = 10.0
#: Terms one workspace may hold (the compiled alternation stays fast well beyond this).
MAX_TERMS = 20_000
_CHUNK = 200  # rows per multi-row insert (SQLite's limit on bound values)


@dataclass(frozen=True)
class Matcher:
    """A workspace's word list compiled: the alternation, and each term's category and severity
    by its case-folded text."""

    pattern: re.Pattern[str] | None
    terms: dict[str, tuple[str, str, str]]  # folded → (term, category, severity)

    def findings(self, text: str) -> list[Finding]:
        """Every non-overlapping occurrence of a term in ``text``, left to right, with its span."""
        if self.pattern is None:
            return []
        found = []
        for match in self.pattern.finditer(text):
            term, category, severity = self.terms.get(match.group().casefold(), (match.group(), "wordlist", "medium"))
            found.append(
                Finding(
                    category=category,
                    severity=severity,  # type: ignore[arg-type]  # checked on the way in
                    start=match.start(),
                    end=match.end(),
                    term=term,
                    source="scrm",
                )
            )
        return found


def compile_terms(rows: list[tuple[str, str, str]]) -> Matcher:
    """A :class:`Matcher` over ``(term, category, severity)`` rows."""
    terms = {term.casefold(): (term, category, severity) for term, category, severity in rows}
    if not terms:
        return Matcher(None, {})
    ordered = sorted(terms, key=lambda t: (-len(t), t))
    return Matcher(re.compile("|".join(re.escape(t) for t in ordered), re.IGNORECASE), terms)


def _out(row: Any) -> ModerationTermOut:
    return ModerationTermOut(
        id=row["id"],
        term=row["term"],
        category=row["category"],
        severity=row["severity"],
        created_at=as_datetime(row["created_at"]),
    )


class WordList:
    """``kernel.wordlist``: the workspace word list and its compiled matcher."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self._matchers: ShortCache[int, Matcher] = ShortCache(MATCHER_SECONDS)

    async def listing(
        self, ws: WorkspaceRef, category: str | None, cursor: str | None, limit: int
    ) -> Page[ModerationTermOut]:
        """The terms in the order they were added, optionally of one category."""
        after = self.k.cursors.decode("moderation-terms", cursor)
        where = " AND category = {}" if category is not None else ""
        rows = await self.k.sql.fetch(
            "SELECT id, term, category, severity, created_at FROM scrm_moderation_term "
            f"WHERE workspace = {{}} AND id > {{}}{where} ORDER BY id LIMIT {{}}",
            ws.id,
            after,
            *([category] if category is not None else []),
            limit + 1,
        )
        return self.k.cursors.page("moderation-terms", [_out(r) for r in rows], [r["id"] for r in rows], limit)

    async def add(self, ws: WorkspaceRef, data: ModerationTermsIn) -> list[ModerationTermOut]:
        """Add terms (a term already listed, in any letter case, takes the new category and
        severity); answers the terms as stored. Past :data:`MAX_TERMS` it is a 422."""
        wanted: dict[str, tuple[str, str, str]] = {}
        for item in data.terms:
            term = item.term.strip()
            wanted[term.casefold()] = (term, item.category, item.severity)
        at = datetime.now(UTC)
        async with self.k.db.transaction():
            existing = await self.k.sql.fetch("SELECT id, term FROM scrm_moderation_term WHERE workspace = {}", ws.id)
            by_folded = {r["term"].casefold(): r["id"] for r in existing}
            if len(set(by_folded) | set(wanted)) > MAX_TERMS:
                raise invalid("terms", f"a word list holds at most {MAX_TERMS} terms")
            fresh = [v for k, v in wanted.items() if k not in by_folded]
            for k, (_, category, severity) in wanted.items():
                if k in by_folded:
                    await self.k.sql.fetch(
                        "UPDATE scrm_moderation_term SET category = {}, severity = {} WHERE id = {} AND workspace = {}",
                        category,
                        severity,
                        by_folded[k],
                        ws.id,
                    )
            for start in range(0, len(fresh), _CHUNK):
                chunk = fresh[start : start + _CHUNK]
                args: list[Any] = []
                for term, category, severity in chunk:
                    args += [ws.id, term, category, severity, at]
                await self.k.sql.fetch(
                    "INSERT INTO scrm_moderation_term (workspace, term, category, severity, created_at) VALUES "
                    + ", ".join("({}, {}, {}, {}, {})" for _ in chunk)
                    + " ON CONFLICT (workspace, term) DO UPDATE SET category = EXCLUDED.category, "
                    "severity = EXCLUDED.severity",
                    *args,
                )
            rows = await self.k.sql.fetch(
                "SELECT id, term, category, severity, created_at FROM scrm_moderation_term WHERE workspace = {} "
                "ORDER BY id",
                ws.id,
            )
        self._matchers.clear()
        return [_out(r) for r in rows if r["term"].casefold() in wanted]

    async def remove(self, ws: WorkspaceRef, term_id: int) -> None:
        """Take a term off the list; 404 unless it is on this workspace's list."""
        rows = await self.k.sql.fetch(
            "DELETE FROM scrm_moderation_term WHERE id = {} AND workspace = {} RETURNING id", term_id, ws.id
        )
        self._matchers.clear()
        if not rows:
            raise NotFound(f"No term {term_id} in this workspace's word list", term_id=term_id)

    async def matcher(self, ws: WorkspaceRef) -> Matcher:
        """The workspace's compiled word list (cached, see the module's docstring)."""

        async def load() -> Matcher:
            rows = await self.k.sql.fetch(
                "SELECT term, category, severity FROM scrm_moderation_term WHERE workspace = {}", ws.id
            )
            return compile_terms([(r["term"], r["category"], r["severity"]) for r in rows])

        return await self._matchers.get(ws.id, load)

    async def findings(self, ws: WorkspaceRef, text: str) -> list[Finding]:
        """The word list's findings in ``text``."""
        return (await self.matcher(ws)).findings(text)

    def forget(self) -> None:
        """Drop this process's compiled word lists (tests; a change made elsewhere)."""
        self._matchers.clear()


__all__ = ["MATCHER_SECONDS", "MAX_TERMS", "Matcher", "Severity", "WordList", "compile_terms"]
