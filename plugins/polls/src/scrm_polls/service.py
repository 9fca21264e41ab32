"""The polls plugin's public service (``kernel.service("polls", ws)``): what other plugins use
without importing this package — the analytics dashboard's NPS."""

from __future__ import annotations

from datetime import datetime

import scrm

from scrm_polls import results
from scrm_polls.schemas import NpsResult


class PollsService:
    def __init__(self, kernel: scrm.Kernel) -> None:
        self.k = kernel

    async def nps_result(self, ws: scrm.WorkspaceRef, start: datetime, end: datetime) -> NpsResult | None:
        """NPS over every NPS answer in ballots cast in ``[start, end)``, all polls of the workspace
        together; None when there was none."""
        rows = await self.k.sql.fetch(
            "SELECT a.score, COUNT(*) AS n FROM polls_ballot b "
            "JOIN polls_answer a ON a.ballot = b.id "
            "JOIN polls_question q ON q.id = a.question AND q.kind = 'nps' "
            "WHERE b.workspace = {} AND b.created_at >= {} AND b.created_at < {} AND a.score IS NOT NULL "
            "GROUP BY a.score",
            ws.id,
            start,
            end,
        )
        scores = {int(r["score"]): int(r["n"]) for r in rows}
        return results.nps(scores) if scores else None

    async def nps(self, ws: scrm.WorkspaceRef, start: datetime, end: datetime) -> float | None:
        """The NPS score alone (−100 to 100), or None without answers in the period."""
        found = await self.nps_result(ws, start, end)
        return None if found is None else found.score
