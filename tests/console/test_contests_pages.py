"""The contests plugin's console pages: contest setup, phase moves, the moderation queue, the gallery
with thumbnails, the judging screen (a judge sees only it and only their own marks), fraud signals
with voiding, results with awards; the member panel; and the core's word list page."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from console_client import SignIn, text_of
from PIL import Image

API = "/api/v1/contests/contests"


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/contests"


def png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (90, 60), "orange").save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


#: the smallest whole MP4 the contests accept: ftyp, an empty moov and an empty mdat
MP4 = b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom" + b"\x00\x00\x00\x08moov" + b"\x00\x00\x00\x08mdat"


def local(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
async def contests(tenant: Any) -> Any:
    await tenant.enable("contests")
    return tenant


async def contest_in(tenant: Any, phase: str, entries: int = 2) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    at = datetime.now(UTC)
    body = {
        "name": "Latte art",
        "submission_closes_at": (at + timedelta(hours=1)).isoformat(),
        "voting_opens_at": (at + timedelta(hours=2)).isoformat(),
        "voting_closes_at": (at + timedelta(hours=3)).isoformat(),
        "rubric": [{"name": "Creativity", "weight": 2, "max": 10}],
        "award_points": [100],
        "award_tag": "winner",
    }
    contest = (await tenant.post(API, body)).json()
    await tenant.post(f"{API}/{contest['id']}/phase", {"phase": "submission"})
    subs = []
    for i in range(entries):
        member = await tenant.member(display_name=f"Entrant {i}")
        title = "最好的拉花" if i == entries - 1 else f"Rosetta {i}"
        media = [{"filename": f"{i}.png", "data": png()}]
        sent = await tenant.post(
            f"{API}/{contest['id']}/submissions", {"member_id": member["id"], "title": title, "media": media}
        )
        assert sent.status_code == 201, sent.text
        subs.append(sent.json())
    if phase != "submission":
        await tenant.post(f"{API}/{contest['id']}/phase", {"phase": phase})
    return contest, subs


async def test_setup_through_the_form_and_phase_moves(contests: Any, sign_in: SignIn) -> None:
    owner = await sign_in(contests, "owner")
    form = await owner.get(f"{base(contests)}/contests/new")
    assert 'name="rubric"' in form.text
    bad = await owner.post(
        f"{base(contests)}/contests",
        {
            "name": "Latte art",
            "submission_closes_at": local(timedelta(days=2)),
            "voting_opens_at": local(timedelta(days=1)),
            "voting_closes_at": local(timedelta(days=3)),
            "rubric": "Creativity | 2 | 10",
            "judge_weight": "0.5",
            "notify_purpose": "marketing.wecom",
        },
    )
    assert bad.status_code == 422
    assert "must not be before submission_closes_at" in bad.text
    made = await owner.post(
        f"{base(contests)}/contests",
        {
            "name": "Latte art",
            "submission_closes_at": local(timedelta(days=1)),
            "voting_opens_at": local(timedelta(days=2)),
            "voting_closes_at": local(timedelta(days=3)),
            "rubric": "Creativity | 2 | 10\r\nTechnique | 1 | 5",
            "judge_weight": "0.6",
            "award_points": "500, 100",
            "notify_purpose": "marketing.wecom",
        },
    )
    assert made.status_code == 303, made.text
    contest_url = made.headers["location"]
    [contest] = (await contests.get(API)).json()["items"]
    assert [c["name"] for c in contest["rubric"]] == ["Creativity", "Technique"]
    assert contest["award_points"] == [500, 100]
    moved = await owner.post(f"{contest_url}/phase", {"phase": "submission"})
    assert moved.status_code == 303
    page = await owner.get(contest_url)
    assert 'data-phase="moderation"' in page.text
    assert "operator" in text_of(page)
    form = await owner.get(f"{contest_url}/edit")
    assert "Creativity | 2 | 10" in form.text
    shown = {
        name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', form.text)
        for name in ("submission_closes_at", "voting_opens_at", "voting_closes_at")
    }
    fields = {name: found.group(1) for name, found in shown.items() if found}
    assert len(fields) == 3, fields
    fields |= {
        "rubric": "Creativity | 2 | 10\nTechnique | 1 | 5",
        "judge_weight": "0.6",
        "award_points": "500, 100",
        "notify_purpose": "marketing.wecom",
        "submissions_per_member": "1",
        "media_per_submission": "4",
        "votes_per_submission": "1",
    }
    renamed = await owner.post(f"{contest_url}", {**fields, "name": "Latte art 2026"})
    assert renamed.status_code == 303, renamed.text
    locked = await owner.post(f"{contest_url}", {**fields, "name": "Latte art 2026", "judge_weight": "0.9"})
    assert locked.status_code == 422, text_of(locked)  # shown next to its field
    assert "cannot change once the contest is in submission" in locked.text
    [contest] = (await contests.get(API)).json()["items"]
    assert (contest["name"], contest["judge_weight"]) == ("Latte art 2026", 0.6)


async def test_moderation_gallery_signals_and_results(contests: Any, sign_in: SignIn) -> None:
    await contests.post("/api/v1/moderation/terms", {"terms": [{"term": "最好", "severity": "high"}]})
    contest, subs = await contest_in(contests, "submission")
    owner = await sign_in(contests, "owner")
    viewer = await sign_in(contests, "viewer")
    url = f"{base(contests)}/contests/{contest['id']}"
    queue = await owner.get(f"{url}/moderation")
    assert "最好" in queue.text
    assert f'data-testid="moderate-{subs[1]["id"]}"' in queue.text
    assert (await viewer.get(f"{url}/moderation")).status_code == 403
    decided = await owner.post(f"{url}/submissions/{subs[1]['id']}/moderation", {"decision": "approve", "reason": ""})
    assert decided.status_code == 303
    gallery = await viewer.get(f"{url}/gallery")
    thumbs = re.findall(r'<img src="([^"]+)"', gallery.text)
    assert len(thumbs) == 2
    assert (await owner.http.get(thumbs[0].replace("&amp;", "&"))).headers["content-type"] == "image/jpeg"
    await contests.post(f"{API}/{contest['id']}/phase", {"phase": "voting"})
    voter = await contests.member(display_name="New voter")
    vote = await contests.post(f"{API}/{contest['id']}/submissions/{subs[0]['id']}/votes", {"member_id": voter["id"]})
    signals = await owner.get(f"{url}/signals")
    assert "new-member" in signals.text
    voided = await owner.post(f"{url}/votes/void", {"vote_id": str(vote.json()["id"])})
    assert voided.status_code == 303
    assert (await contests.get(f"{API}/{contest['id']}/submissions/{subs[0]['id']}")).json()["votes"] == 0
    await contests.post(f"{API}/{contest['id']}/phase", {"phase": "results"})
    results = await viewer.get(f"{url}/results")
    assert 'data-testid="ranking"' in results.text
    assert 'data-testid="award"' not in results.text
    awarded = await owner.post(f"{url}/awards", {})
    assert awarded.status_code == 303
    assert 'data-testid="awards"' in (await owner.get(f"{url}/results")).text
    member_page = await viewer.get(f"/console/w/{contests.slug}/members/{subs[0]['member_id']}")
    assert 'data-testid="contest-submissions"' in member_page.text


async def test_a_judge_sees_the_judging_screen_alone(contests: Any, sign_in: SignIn) -> None:
    contest, subs = await contest_in(contests, "judging")
    judge = await sign_in(contests, "judge")
    other_judge = await sign_in(contests, "judge")
    url = f"{base(contests)}/contests/{contest['id']}"
    index = await judge.get(f"{base(contests)}/judging")
    assert "Latte art" in index.text
    for path in ("/contests", f"/contests/{contest['id']}", f"/contests/{contest['id']}/gallery"):
        assert (await judge.get(base(contests) + path)).status_code == 403, path
    assert (await judge.get(f"/console/w/{contests.slug}/members")).status_code == 403
    screen = await judge.get(f"{url}/judging")
    assert f'data-testid="score-{subs[0]["id"]}"' in screen.text
    bad = await judge.post(f"{url}/submissions/{subs[0]['id']}/score", {"mark:Creativity": "11"})
    assert bad.status_code == 422
    good = await judge.post(f"{url}/submissions/{subs[0]['id']}/score", {"mark:Creativity": "8", "comment": "Nice"})
    assert good.status_code == 303
    assert f'data-testid="own-score-{subs[0]["id"]}"' in (await judge.get(f"{url}/judging")).text
    assert f'data-testid="own-score-{subs[0]["id"]}"' not in (await other_judge.get(f"{url}/judging")).text


async def test_the_word_list_page(tenant: Any, sign_in: SignIn) -> None:
    owner = await sign_in(tenant, "owner")
    viewer = await sign_in(tenant, "viewer")
    page = f"/console/w/{tenant.slug}/moderation"
    added = await owner.post(
        f"{page}/terms", {"terms": "最好\r\n第一\r\n", "category": "ad.absolute", "severity": "high"}
    )
    assert added.status_code == 303
    listed = await viewer.get(page)
    assert 'data-term="最好"' in listed.text
    assert 'data-testid="add-terms"' not in listed.text
    checked = await viewer.post(f"{page}/check", {"sample": "我们是最好的"})
    assert "<mark>最好</mark>" in checked.text
    bad = await owner.post(f"{page}/terms", {"terms": "x", "category": "Not Dotted", "severity": "high"})
    assert bad.status_code == 422
    assert (await viewer.post(f"{page}/terms", {"terms": "y"})).status_code == 403
    term = re.search(r"/moderation/terms/(\d+)/delete", (await owner.get(page)).text)
    assert term
    assert (await owner.post(f"{page}/terms/{term.group(1)}/delete", {})).status_code == 303


async def test_video_entries_play_in_the_gallery_and_the_queue(contests: Any, sign_in: SignIn) -> None:
    at = datetime.now(UTC)
    body = {
        "name": "Latte art clips",
        "submission_closes_at": (at + timedelta(hours=1)).isoformat(),
        "voting_opens_at": (at + timedelta(hours=2)).isoformat(),
        "voting_closes_at": (at + timedelta(hours=3)).isoformat(),
        "judge_weight": 0,
        "allow_video": True,
        "moderate_all": True,
    }
    contest = (await contests.post(API, body)).json()
    await contests.post(f"{API}/{contest['id']}/phase", {"phase": "submission"})
    member = await contests.member(display_name="Clipper")
    clip = base64.b64encode(MP4).decode()
    sent = await contests.post(
        f"{API}/{contest['id']}/submissions",
        {"member_id": member["id"], "title": "Pour", "media": [{"filename": "pour.mp4", "data": clip}]},
    )
    [file] = sent.json()["media"]
    owner = await sign_in(contests, "owner")
    url = f"{base(contests)}/contests/{contest['id']}"
    for page in ("moderation", "gallery"):
        shown = await owner.get(f"{url}/{page}")
        [src] = re.findall(r'<video src="([^"]+)" controls', shown.text)
        assert " style=" not in shown.text  # the console's CSP allows no inline style
        served = await owner.http.get(src.replace("&amp;", "&"))
        assert served.headers["content-type"] == "video/mp4"
        await owner.post(f"{url}/submissions/{sent.json()['id']}/moderation", {"decision": "approve", "reason": ""})
    assert f'data-testid="video-{file["id"]}"' in shown.text
    form = await owner.get(f"{url}/edit")
    assert 'name="allow_video" value="1" checked' in form.text
