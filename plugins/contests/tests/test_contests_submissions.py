"""Submissions: files checked by content (type, size, empty, corrupt or truncated: a 422 naming the
file), thumbnails, signed expiring links, the per-member limit under concurrency, and moderation."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from contests_helpers import BASE, create, entry, image, move, submitted
from PIL import Image
from scrm.testing import problem


async def test_files_are_checked_by_content(tenant: Any) -> None:
    contest = await create(tenant, max_file_bytes=20_000, media_per_submission=5)
    await move(tenant, contest["id"], "submission")
    member = await tenant.member(display_name="Ann")
    url = f"{BASE}/{contest['id']}/submissions"
    jpeg = image("JPEG", (320, 240))
    big = image("PNG", (400, 400), "white")[:10] + bytes(30_000)
    files = [
        ("fine.jpg", jpeg),
        ("text.jpg", b"this is not an image, whatever its name says"),
        ("empty.png", b""),
        ("cut.jpg", jpeg[: len(jpeg) // 2]),
        ("huge.png", big),
    ]
    refused = problem(await tenant.post(url, entry(member["id"], "Bad files", *files)), 422, "validation-error")
    errors = {e["field"]: e["message"] for e in refused["errors"]}
    assert set(errors) == {"media[1]", "media[2]", "media[3]", "media[4]"}
    assert errors["media[1]"].startswith("text.jpg: not an image")
    assert errors["media[2]"] == "empty.png: the file is empty"
    assert errors["media[3]"].startswith("cut.jpg: the JPEG image is corrupt or truncated")
    assert errors["media[4]"].startswith("huge.png: the file is 30010 bytes")
    # nothing was written: the member may still submit
    sub = (await tenant.post(url, entry(member["id"], "Good", ("fine.jpg", jpeg)))).json()
    [file] = sub["media"]
    assert (file["content_type"], file["width"], file["height"], file["filename"]) == (
        "image/jpeg",
        320,
        240,
        "fine.jpg",
    )
    too_many = entry(member["id"], "Many", *[(f"{i}.png", image()) for i in range(6)])
    problem(await tenant.post(url, too_many), 422, "validation-error")


async def test_files_are_served_through_signed_links(tenant: Any, client: Any) -> None:
    contest = await create(tenant)
    await move(tenant, contest["id"], "submission")
    member = await tenant.member(display_name="Ann")
    png = image("PNG", (1200, 900), "blue")
    sub = (await tenant.post(f"{BASE}/{contest['id']}/submissions", entry(member["id"], "Blue", ("b.png", png)))).json()
    [file] = sub["media"]
    assert "/media/" in file["url"]
    served = await client.get(file["url"])  # no key
    assert served.status_code == 200
    assert served.content == png
    assert served.headers["content-type"] == "image/png"
    thumb = await client.get(file["thumbnail_url"])
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 480
    token = file["url"].rsplit("/", 1)[1]
    body, _, mac = token.partition(".")
    for forged in (f"{body}.{mac[:-2]}AA", f"{body[:-2]}AA.{mac}", "nonsense", "a.b"):
        problem(await client.get(f"/api/v1/contests/media/{forged}"), 404, "not-found")
    # a contest switched off in the workspace serves nothing
    await tenant.post("/api/v1/plugins", {"name": "contests", "enabled": False})
    problem(await client.get(file["url"]), 404, "not-found")


async def test_the_submission_limit_holds_under_concurrency(tenant: Any) -> None:
    contest = await create(tenant, submissions_per_member=2)
    await move(tenant, contest["id"], "submission")
    member = await tenant.member(display_name="Eager")
    url = f"{BASE}/{contest['id']}/submissions"
    answers = await asyncio.gather(
        *(tenant.post(url, entry(member["id"], f"E{i}", ("a.png", image()))) for i in range(10))
    )
    assert sorted(a.status_code for a in answers) == [201] * 2 + [409] * 8
    assert all(a.json()["type"].endswith("contests-submission-limit") for a in answers if a.status_code == 409)


async def test_findings_hold_a_submission_for_moderation(tenant: Any) -> None:
    await tenant.post(
        "/api/v1/moderation/terms", {"terms": [{"term": "最好", "category": "ad.absolute", "severity": "high"}]}
    )
    contest = await create(tenant)
    cid = contest["id"]
    await move(tenant, cid, "submission")
    ann, bob = await tenant.member(display_name="Ann"), await tenant.member(display_name="Bob")
    clean = await submitted(tenant, cid, ann["id"], "A rosetta")
    held = await submitted(tenant, cid, bob["id"], "全网最好的拉花", body="真的最好")
    assert clean["status"] == "approved"
    assert held["status"] == "pending"
    assert [(f["field"], f["term"], f["start"], f["source"]) for f in held["findings"]] == [
        ("title", "最好", 2, "scrm"),
        ("body", "最好", 2, "scrm"),
    ]
    queue = (await tenant.get(f"{BASE}/{cid}/submissions", params={"status": "pending"})).json()["items"]
    assert [s["id"] for s in queue] == [held["id"]]
    moderation = f"{BASE}/{cid}/submissions/{held['id']}/moderation"
    problem(await tenant.post(moderation, {"decision": "reject"}), 422, "validation-error")  # a reason is needed
    rejected = await tenant.post(moderation, {"decision": "reject", "reason": "Absolute claims are not allowed"})
    assert rejected.json()["status"] == "rejected"
    mine = (await tenant.get(f"{BASE}/{cid}/submissions", params={"member_id": bob["id"]})).json()["items"]
    assert [(s["status"], s["reason"]) for s in mine] == [("rejected", "Absolute claims are not allowed")]
    events = (await tenant.get(f"/api/v1/members/{bob['id']}/events")).json()["items"]
    assert {"contests.submitted", "contests.moderated"} <= {e["type"] for e in events}
    gallery = (await tenant.get(f"{BASE}/{cid}/submissions", params={"status": "approved"})).json()["items"]
    assert [s["id"] for s in gallery] == [clean["id"]]
    await move(tenant, cid, "judging")
    problem(await tenant.post(moderation, {"decision": "approve"}), 409, "contests-wrong-phase")


async def test_moderate_all_holds_every_submission(tenant: Any) -> None:
    contest = await create(tenant, moderate_all=True)
    await move(tenant, contest["id"], "submission")
    member = await tenant.member(display_name="Ann")
    assert (await submitted(tenant, contest["id"], member["id"]))["status"] == "pending"
