"""Demo data for ``scrm demo``: a closed customer survey with an NPS question, a rating, a multiple
choice and free text, answered by the demo's members (written straight into the tables with the
counts and the voters' tags, not through ballots: seeding records no ``poll.voted`` events and awards
no points), and an
open single-choice vote that takes ballots through the API or the console."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import scrm

from scrm_polls import polls, tally
from scrm_polls.answers import Checked
from scrm_polls.schemas import PollIn, QuestionIn

SURVEY_BALLOTS = 150
COMMENTS = ["Great coffee, friendly staff", "Too crowded on weekends", "More oat milk options please", "很好喝！"]


async def seed(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_ids: list[int]) -> None:
    if await kernel.sql.fetch("SELECT id FROM polls_poll WHERE workspace = {} LIMIT 1", ws.id):
        return  # seeded before
    at = datetime.now(UTC)
    draw = random.Random(ws.id)  # noqa: S311 - demo data, not security
    async with kernel.db.transaction():
        survey = await polls.insert(
            kernel,
            ws,
            PollIn(
                name="Customer survey 顾客满意度调查",
                description="How do members feel about the stores this quarter?",
                questions=[
                    QuestionIn(kind="nps", title="How likely are you to recommend us to a friend?"),
                    QuestionIn(kind="rating", title="How do you rate our coffee?"),
                    QuestionIn(
                        kind="multiple",
                        title="What do you order most?",
                        options=["Espresso", "Latte", "Tea", "Pastries"],
                        max_choices=2,
                    ),
                    QuestionIn(kind="text", title="Anything else?", required=False, max_length=300),
                ],
                opens_at=at - timedelta(days=14),
                closes_at=at - timedelta(days=1),
            ),
            state="closed",
        )
        poll = await polls.get(kernel, ws, survey)
        nps_q, rating_q, order_q, text_q = poll.questions
        for n, member_id in enumerate(sorted(member_ids)[:SURVEY_BALLOTS]):
            rows = [
                Checked(nps_q.id, score=draw.choices(range(11), weights=[1, 1, 1, 1, 2, 2, 3, 5, 8, 9, 7])[0]),
                Checked(rating_q.id, score=draw.choices(range(1, 6), weights=[1, 2, 4, 8, 5])[0]),
                *(Checked(order_q.id, option_id=o.id) for o in draw.sample(order_q.options, draw.randint(1, 2))),
            ]
            if n % 5 == 0:
                rows.append(Checked(text_q.id, text=draw.choice(COMMENTS)))
            tags = (await kernel.members.get(ws, member_id)).tags
            await _ballot(kernel, ws, survey, member_id, tags, rows, at - timedelta(days=2, minutes=n))
        await kernel.sql.fetch(
            "UPDATE polls_poll SET opened_at = {}, closed_at = {} WHERE id = {}", at - timedelta(days=14), at, survey
        )
        vote = await polls.insert(
            kernel,
            ws,
            PollIn(
                name="Next seasonal drink 下一款季节限定",
                questions=[
                    QuestionIn(
                        kind="single",
                        title="Which drink should come next?",
                        options=["Osmanthus latte 桂花拿铁", "Lychee cold brew", "Matcha tonic"],
                    )
                ],
                closes_at=at + timedelta(days=30),
            ),
            state="open",
        )
        await kernel.sql.fetch("UPDATE polls_poll SET opened_at = {} WHERE id = {}", at, vote)


async def _ballot(
    kernel: scrm.Kernel,
    ws: scrm.WorkspaceRef,
    poll_id: int,
    member_id: int,
    tags: list[str],
    rows: list[Checked],
    at: datetime,
) -> None:
    ballot = await kernel.sql.fetch(
        "INSERT INTO polls_ballot (workspace, poll, member_id, points, created_at) VALUES ({}, {}, {}, 0, {}) "
        "RETURNING id",
        ws.id,
        poll_id,
        member_id,
        at,
    )
    ballot_id = ballot[0]["id"]
    args: list[object] = []
    for r in rows:
        args += [ws.id, poll_id, ballot_id, r.question, r.option_id, r.score, r.text, "visible" if r.text else None]
    await kernel.sql.fetch(
        "INSERT INTO polls_answer (workspace, poll, ballot, question, option_id, score, text, status) VALUES "
        + ", ".join("({}, {}, {}, {}, {}, {}, {}, {})" for _ in rows),
        *args,
    )
    if tags:
        await kernel.sql.fetch(
            "INSERT INTO polls_ballot_tag (workspace, poll, ballot, tag) VALUES "
            + ", ".join("({}, {}, {}, {})" for _ in tags),
            *(value for tag in tags for value in (ws.id, poll_id, ballot_id, tag)),
        )
    counts: Counter[tally.Key] = tally.keys(rows)
    await tally.add(kernel, ws, poll_id, ballot_id, counts)
