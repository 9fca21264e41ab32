"""Video entries: only where the contest allows them; MP4 and WebM recognised by content (a renamed
text file, a HEIF image, a Matroska file and a truncated file are refused, naming the file), under the
contest's own video size limit; listed with their kind and no thumbnail, served through signed links;
never visible across workspaces; and deleted from storage when their member is erased."""

from __future__ import annotations

from typing import Any

from contests_helpers import BASE, create, entry, image, move, mp4, read_all, webm
from scrm import Kernel
from scrm.testing import problem
from scrm_contests import storage, video


def test_the_containers_are_checked() -> None:
    assert video.sniff(mp4()) == video.MP4
    assert video.sniff(webm()) == video.WEBM
    assert video.sniff(image()) is None
    assert video.check_mp4(mp4()) is None
    assert video.check_webm(webm()) is None
    assert video.check_webm(webm(unknown_size=True)) is None  # as a browser's MediaRecorder writes it
    assert video.check_mp4(mp4(brand=b"heic")) is not None
    assert video.check_mp4(mp4(brand=b"qt  ", compatible=b"")) is not None
    assert video.check_mp4(mp4()[:-10]) is not None
    assert video.check_mp4(mp4()[:200]) is not None
    assert video.check_mp4(mp4() + b"junk") is not None
    assert video.check_webm(webm(doctype=b"matroska")) is not None
    assert video.check_webm(webm()[:-10]) is not None
    assert video.check_webm(webm()[:20]) is not None
    assert video.check_webm(webm(unknown_size=True)[:-1000]) is not None


async def _open_contest(tenant: Any, **settings: Any) -> str:
    contest = await create(tenant, **settings)
    await move(tenant, contest["id"], "submission")
    return f"{BASE}/{contest['id']}/submissions"


async def test_a_contest_takes_videos_only_when_it_allows_them(tenant: Any) -> None:
    url = await _open_contest(tenant)
    assert (await tenant.get(url.rsplit("/", 1)[0])).json()["allow_video"] is False
    member = await tenant.member(display_name="Ann")
    refused = problem(await tenant.post(url, entry(member["id"], "Clip", ("clip.mp4", mp4()))), 422, "validation-error")
    assert [(e["field"], e["message"]) for e in refused["errors"]] == [
        ("media[0]", "clip.mp4: this contest takes images only (JPEG, PNG, GIF or WebP), not video")
    ]


async def test_video_uploads_are_checked_by_content_and_size(tenant: Any) -> None:
    url = await _open_contest(
        tenant, allow_video=True, max_video_bytes=5_000, max_file_bytes=20_000, media_per_submission=9
    )
    member = await tenant.member(display_name="Ann")
    files = [
        ("text.mp4", b"this is not a video, whatever its name says"),
        ("big.mp4", mp4(10_000)),  # under the image limit, over the video one
        ("photo.mp4", mp4(brand=b"heic")),
        ("cut.mp4", mp4()[:-100]),
        ("movie.webm", webm(doctype=b"matroska")),
        ("cut.webm", webm()[:-100]),
        ("empty.webm", b""),
    ]
    refused = problem(await tenant.post(url, entry(member["id"], "Bad", *files)), 422, "validation-error")
    errors = {e["field"]: e["message"] for e in refused["errors"]}
    assert errors == {
        "media[0]": "text.mp4: not an image: JPEG, PNG, GIF or WebP, or an MP4 or WebM video, identified by "
        "content (not by name)",
        "media[1]": f"big.mp4: the video is {len(mp4(10_000))} bytes; this contest takes at most 5000",
        "media[2]": "photo.mp4: not an MP4 video: its brand is heic",
        "media[3]": "cut.mp4: the MP4 video is corrupt or truncated",
        "media[4]": "movie.webm: not a WebM video: its DocType is matroska",
        "media[5]": "cut.webm: the WebM video is corrupt or truncated",
        "media[6]": "empty.webm: the file is empty",
    }
    sent = await tenant.post(url, entry(member["id"], "Good", ("a.bin", mp4()), ("b.jpg", webm()), ("c.png", image())))
    assert sent.status_code == 201, sent.text
    kinds = [(f["kind"], f["content_type"], f["width"], f["thumbnail_url"] is None) for f in sent.json()["media"]]
    assert kinds == [
        ("video", "video/mp4", 0, True),
        ("video", "video/webm", 0, True),
        ("image", "image/png", 64, False),
    ]


async def test_a_video_is_listed_and_served(tenant: Any, client: Any) -> None:
    url = await _open_contest(tenant, allow_video=True)
    member = await tenant.member(display_name="Ann")
    clip = webm(unknown_size=True)
    sent = (await tenant.post(url, entry(member["id"], "Clip", ("clip.webm", clip)))).json()
    [listed] = (await tenant.get(url, params={"status": "approved"})).json()["items"]
    [file] = listed["media"]
    assert (listed["id"], file["kind"], file["filename"]) == (sent["id"], "video", "clip.webm")
    served = await client.get(file["url"])  # no key: a signed link
    assert served.status_code == 200
    assert served.content == clip
    assert served.headers["content-type"] == "video/webm"
    thumb = file["url"].rsplit("/", 1)[0]
    problem(await client.get(f"{thumb}/nonsense"), 404, "not-found")


async def test_videos_stay_in_their_workspace_and_go_with_their_member(
    kernel: Kernel, tenant: Any, other: Any, client: Any
) -> None:
    url = await _open_contest(tenant, allow_video=True)
    member = await tenant.member(display_name="Ann")
    sub = (await tenant.post(url, entry(member["id"], "Clip", ("clip.mp4", mp4())))).json()
    await other.enable("contests")
    problem(await other.get(f"{url}/{sub['id']}"), 404, "not-found")
    problem(await other.get(url), 404, "not-found")
    theirs = await _open_contest(other, allow_video=True)
    assert (await other.get(theirs)).json()["items"] == []
    rows = await kernel.sql.fetch("SELECT storage_key, thumb_key FROM contests_media WHERE workspace = {}", tenant.id)
    assert [r["thumb_key"] for r in rows] == [""]
    assert await read_all(storage.of(kernel), rows[0]["storage_key"]) == mp4()
    assert (await tenant.delete(f"/api/v1/members/{member['id']}")).status_code in (200, 204)
    assert await storage.of(kernel).size(rows[0]["storage_key"]) is None
    problem(await client.get(sub["media"][0]["url"]), 404, "not-found")
