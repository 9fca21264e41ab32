"""The segments plugin's console pages: the list with counts, funnel and clusters; the builder's live
count and its errors naming the clause; saving, exporting, deleting; roles; no crossing workspaces."""

from __future__ import annotations

import json
from typing import Any

import pytest
from console_client import SignIn, text_of
from scrm.kernel import Kernel


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/segments"


@pytest.fixture
async def segments(kernel: Kernel, tenant: Any) -> Any:
    await tenant.enable("segments")
    for i in range(3):
        await tenant.member(display_name=f"V{i}", tags=["vip"])
    await tenant.member(display_name="N")
    await kernel.jobs.idle()  # counts read the members' profiles, made when their events are delivered
    while await kernel.outbox.drain():
        pass
    return tenant


async def test_build_save_export_and_delete(segments: Any, sign_in: SignIn) -> None:
    owner = await sign_in(segments, "owner")
    page = await owner.get(f"{base(segments)}/new")
    assert page.status_code == 200
    assert 'hx-post="' in page.text
    counted = await owner.post(f"{base(segments)}/preview", {"definition": json.dumps({"tag": "vip"})}, htmx=True)
    assert "3 of 4 members match now." in text_of(counted)
    wrong = {"all": [{"tag": "vip"}, {"events": {"type": "order.paid", "within_days": 0}}]}
    refused = await owner.post(f"{base(segments)}/preview", {"definition": json.dumps(wrong)}, htmx=True)
    assert "definition.all[1].events.within_days" in text_of(refused)
    broken = await owner.post(f"{base(segments)}/preview", {"definition": "{"}, htmx=True)
    assert "not JSON" in text_of(broken)

    bad = await owner.post(f"{base(segments)}/", {"name": "VIPs", "definition": json.dumps(wrong)})
    assert bad.status_code == 422
    assert "definition.all[1].events.within_days" in text_of(bad)
    saved = await owner.post(f"{base(segments)}/", {"name": "VIPs", "definition": json.dumps({"tag": "vip"})})
    assert saved.status_code == 303
    url = saved.headers["location"]
    listed = await owner.get(f"{base(segments)}/")
    assert "VIPs" in text_of(listed)
    assert 'data-testid="funnel"' in listed.text
    csv = await owner.get(f"{url}/members.csv")
    assert csv.status_code == 200
    assert len(csv.text.strip().splitlines()) == 4
    again = await owner.post(f"{base(segments)}/", {"name": "VIPs", "definition": json.dumps({"tag": "x"})})
    assert again.status_code == 422
    assert "already exists" in text_of(again)
    changed = await owner.post(url, {"name": "Not VIPs", "definition": json.dumps({"not": {"tag": "vip"}})})
    assert changed.status_code == 303
    assert "1 of 4 members match now." in text_of(await owner.get(url))
    assert (await owner.post(f"{url}/delete")).status_code == 303
    assert (await owner.get(url)).status_code == 404


async def test_an_analyst_reads_only(segments: Any, sign_in: SignIn) -> None:
    created = await segments.post("/api/v1/segments", {"name": "VIPs", "definition": {"tag": "vip"}})
    url = f"{base(segments)}/{created.json()['id']}"
    analyst = await sign_in(segments, "analyst")
    page = await analyst.get(url)
    assert page.status_code == 200
    assert "Save segment" not in page.text
    assert "New segment" not in (await analyst.get(f"{base(segments)}/")).text
    assert (await analyst.get(f"{base(segments)}/new")).status_code == 403
    assert (await analyst.post(url, {"name": "x", "definition": "{}"})).status_code == 403
    assert (await analyst.post(f"{url}/delete")).status_code == 403


async def test_no_crossing_workspaces(segments: Any, other: Any, sign_in: SignIn) -> None:
    await other.enable("segments")
    created = await segments.post("/api/v1/segments", {"name": "VIPs", "definition": {"tag": "vip"}})
    sid = created.json()["id"]
    stranger = await sign_in(other, "owner")
    for path in (f"{base(other)}/{sid}", f"{base(other)}/{sid}/members.csv"):
        assert (await stranger.get(path)).status_code == 404
    assert (await stranger.post(f"{base(other)}/{sid}/delete")).status_code == 404
    assert (await stranger.get(f"{base(segments)}/{sid}")).status_code in (403, 404)


async def test_chinese_pages(kernel: Kernel, segments: Any, sign_in: SignIn) -> None:
    owner = await sign_in(segments, "owner")
    await kernel.operators.set_locale(owner.operator_id, "zh_CN")
    page = await owner.get(f"{base(segments)}/")
    assert "生命周期" in text_of(page)
    assert "新分群" in text_of(page)
    counted = await owner.post(f"{base(segments)}/preview", {"definition": json.dumps({"tag": "vip"})}, htmx=True)
    assert "3 / 4 名会员当前符合" in text_of(counted)


async def test_the_watch_switch(segments: Any, sign_in: SignIn, kernel: Kernel) -> None:
    owner = await sign_in(segments, "owner")
    form = {"name": "VIPs", "definition": json.dumps({"tag": "vip"}), "watch": "on"}
    saved = await owner.post(f"{base(segments)}/", form)
    assert saved.status_code == 303
    url = saved.headers["location"]
    sid = int(url.rsplit("/", 1)[1])
    assert (await segments.get(f"/api/v1/segments/{sid}")).json()["watched_by"] == ["operator"]
    page = await owner.get(url)
    assert "Watched by: operator" in text_of(page)
    assert "checked" in page.text.split('data-testid="watch"', 1)[1].split(">", 1)[0]
    await kernel.operators.set_locale(owner.operator_id, "zh_CN")
    assert "关注方：operator" in text_of(await owner.get(url))
    # saving without the box ticked stops the operator's watch
    assert (await owner.post(url, {"name": "VIPs", "definition": json.dumps({"tag": "vip"})})).status_code == 303
    assert (await segments.get(f"/api/v1/segments/{sid}")).json()["watched_by"] == []
