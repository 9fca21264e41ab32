"""What the polls plugin holds about one member: their ballots — for the member panel, data-subject
access requests (``scrm_export_member``) and erasure (``scrm_erase_member``).

Erasure removes what identifies the member. Their free texts are deleted in every poll. In an
attributed poll the whole ballot goes — answers, tags, and its share of the live counts — so results
no longer hold anything of theirs. In an anonymous poll the results never showed who voted what: the
ballot's choices and scores stay in the counts, unlinked from the member (its ``member_id`` becomes
NULL) and without the tags it carried. Points already awarded are the points plugin's to erase.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import scrm

from scrm_polls import tally

PER_PANEL = 100  # ballots shown in the member panel


async def ballots(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, limit: int | None = None
) -> list[dict[str, Any]]:
    """The member's ballots, newest first, with their answers as text (an anonymous poll's too: this
    is the member's own data, shown to them or to an operator looking at them)."""
    tail = f" LIMIT {int(limit)}" if limit else ""
    rows = await kernel.sql.fetch(
        "SELECT b.id, b.poll, p.name, p.state, p.anonymous, b.points, b.created_at FROM polls_ballot b "
        "JOIN polls_poll p ON p.id = b.poll WHERE b.workspace = {} AND b.member_id = {} "
        f"ORDER BY b.id DESC{tail}",
        ws.id,
        member_id,
    )
    if not rows:
        return []
    condition, ids = kernel.sql.any_of("a.ballot", [r["id"] for r in rows])
    answers = await kernel.sql.fetch(
        "SELECT a.ballot, q.title, o.label, a.score, a.text, a.status FROM polls_answer a "
        "JOIN polls_question q ON q.id = a.question LEFT JOIN polls_option o ON o.id = a.option_id "
        f"WHERE a.workspace = {{}} AND {condition} ORDER BY a.ballot, q.position, a.id",
        ws.id,
        ids,
    )
    by_ballot: dict[int, dict[str, list[str]]] = {}
    for a in answers:
        said = a["label"] if a["label"] is not None else str(a["score"]) if a["score"] is not None else a["text"]
        if said is not None:
            by_ballot.setdefault(a["ballot"], {}).setdefault(a["title"], []).append(said)
    return [
        {
            "ballot_id": r["id"],
            "poll_id": r["poll"],
            "poll": r["name"],
            "state": r["state"],
            "anonymous": bool(r["anonymous"]),
            "points": r["points"],
            "voted_at": scrm.as_datetime(r["created_at"]),
            "answers": [{"question": q, "answer": "; ".join(v)} for q, v in by_ballot.get(r["id"], {}).items()],
        }
        for r in rows
    ]


async def export(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> dict[str, Any] | None:
    found = await ballots(kernel, ws, member_id)
    return {"ballots": found} if found else None


async def erase(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int) -> None:
    """Runs inside the erasure's transaction (see the module's docstring for what stays)."""
    rows = await kernel.sql.fetch(
        "SELECT b.id, b.poll, p.anonymous FROM polls_ballot b JOIN polls_poll p ON p.id = b.poll "
        "WHERE b.workspace = {} AND b.member_id = {}",
        ws.id,
        member_id,
    )
    for r in rows:
        ballot_id, poll_id = int(r["id"]), int(r["poll"])
        await kernel.sql.fetch("DELETE FROM polls_ballot_tag WHERE ballot = {} AND workspace = {}", ballot_id, ws.id)
        if r["anonymous"]:
            await kernel.sql.fetch(
                "UPDATE polls_answer SET text = NULL, findings = NULL, status = 'removed' "
                "WHERE ballot = {} AND workspace = {} AND status IS NOT NULL",
                ballot_id,
                ws.id,
            )
            await kernel.sql.fetch(
                "UPDATE polls_ballot SET member_id = NULL WHERE id = {} AND workspace = {}", ballot_id, ws.id
            )
            continue
        answers = await kernel.sql.fetch(
            "SELECT question, option_id, score FROM polls_answer WHERE ballot = {} AND workspace = {}",
            ballot_id,
            ws.id,
        )
        counts: Counter[tally.Key] = Counter({tally.BALLOTS: 1})
        for a in answers:
            counts[(int(a["question"]), tally.ANSWERED)] = 1
            value = a["option_id"] if a["option_id"] is not None else a["score"]
            if value is not None:
                counts[(int(a["question"]), int(value))] += 1
        await tally.add(kernel, ws, poll_id, ballot_id, counts, sign=-1)
        await kernel.sql.fetch("DELETE FROM polls_answer WHERE ballot = {} AND workspace = {}", ballot_id, ws.id)
        await kernel.sql.fetch("DELETE FROM polls_ballot WHERE id = {} AND workspace = {}", ballot_id, ws.id)


async def delete_workspace(kernel: scrm.Kernel, workspace_id: int) -> None:
    for table in (
        "polls_tally",
        "polls_ballot_tag",
        "polls_answer",
        "polls_ballot",
        "polls_option",
        "polls_question",
        "polls_poll",
    ):
        await kernel.sql.fetch(f"DELETE FROM {table} WHERE workspace = {{}}", workspace_id)
