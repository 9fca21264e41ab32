"""Demo data for ``scrm demo``: a photo contest in its voting phase, with approved entries (small
generated images in local storage), votes, one entry held by the word list in the moderation queue,
and a word list to show it. The demo writes the contests' own rows through the same functions as the
API; it tells nobody anything."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import scrm
from PIL import Image

from scrm_contests import contests
from scrm_contests.schemas import ContestIn, Criterion, MediaIn, SubmissionIn, VoteIn

ENTRIES = 12
COLOURS = ["#c0392b", "#2980b9", "#27ae60", "#8e44ad", "#f39c12", "#16a085", "#d35400", "#2c3e50"]


def picture(colour: str, label: int) -> bytes:
    image = Image.new("RGB", (640, 480), colour)
    for x in range(0, 640, 40):
        for y in range(0, 480, 40):
            if (x // 40 + y // 40 + label) % 3 == 0:
                image.paste("#ffffff", (x, y, x + 20, y + 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=75)
    return out.getvalue()


async def seed(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_ids: list[int]) -> None:
    from scrm_contests import submissions, votes

    if await kernel.sql.fetch("SELECT id FROM contests_contest WHERE workspace = {} LIMIT 1", ws.id):
        return  # seeded before
    if len(member_ids) < ENTRIES + 1:
        return
    purposes = {p.name for p in await kernel.consents.purposes.list(ws)}
    purpose = "marketing.wecom" if "marketing.wecom" in purposes else (sorted(purposes) or [""])[0]
    if not purpose:
        return
    await kernel.wordlist.add(
        ws,
        scrm.ModerationTermsIn(
            terms=[
                scrm.ModerationTermIn(term="最好", category="ad.absolute", severity="high"),
                scrm.ModerationTermIn(term="第一", category="ad.absolute", severity="medium"),
            ]
        ),
    )
    at = datetime.now(UTC)
    async with kernel.db.transaction():
        contest_id = await contests.insert(
            kernel,
            ws,
            ContestIn(
                name="Latte art photo contest 拉花摄影大赛",
                description="Share a photo of your best latte art. Public vote, then our baristas judge.",
                submission_closes_at=at + timedelta(days=3),
                voting_opens_at=at + timedelta(days=3),
                voting_closes_at=at + timedelta(days=10),
                judging_closes_at=None,
                rubric=[Criterion("Creativity", 2, 10), Criterion("Technique", 2, 10), Criterion("Photo", 1, 10)],
                judge_weight=0.6,
                award_points=[500, 300, 100],
                award_tag="contest-winner",
                notify_purpose=purpose,
                votes_per_day=5,
                votes_per_submission=1,
            ),
        )
    await contests.advance(kernel, ws, contest_id, "submission", "demo")
    entrants = sorted(member_ids)[:ENTRIES]
    for i, member_id in enumerate(entrants):
        title = f"Rosetta #{i + 1}" if i != 3 else "我们的拉花是最好的"
        await submissions.submit(
            kernel,
            ws,
            contest_id,
            SubmissionIn(
                title=title,
                member_id=member_id,
                body="Oat milk, 6 oz cup.",
                media=[MediaIn(filename=f"latte-{i + 1}.jpg", data=picture(COLOURS[i % len(COLOURS)], i))],
            ),
        )
    await contests.advance(kernel, ws, contest_id, "voting", "demo")
    gallery = await submissions.listing(kernel, ws, contest_id, "approved", None, None, 100)
    voters = sorted(member_ids)[ENTRIES:]
    for n, member_id in enumerate(voters[:200]):
        chosen = gallery.items[(n * 7 + n // 3) % len(gallery.items)]
        await votes.vote(kernel, ws, contest_id, chosen.id, VoteIn(member_id=member_id, source=f"10.0.{n % 5}.1"))
