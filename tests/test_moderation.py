"""kernel.moderation: every enabled plugin's findings on member content, failing closed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import scrm
from conftest import Tenant
from scrm.kernel import Kernel


async def enable(tenant: Tenant, name: str) -> None:
    response = await tenant.post("/api/v1/plugins", {"name": name, "enabled": True})
    assert response.status_code == 200, response.text


def words(text: str | None) -> list[scrm.Finding]:
    if text is None:
        return []
    start = text.find("最好")
    return [] if start < 0 else [scrm.Finding(category="ad.absolute", severity="high", start=start, end=start + 2)]


def images(media: scrm.Media | None) -> list[scrm.Finding] | None:
    if media is not None and media.content_type == "image/png":
        return [scrm.Finding(category="image.review", severity="low", source="vision")]
    return None


async def test_findings_come_from_enabled_plugins_only(
    kernel: Kernel, tenant: Tenant, other: Tenant, plugin: Callable[..., str]
) -> None:
    name = plugin(scrm_moderate=words)
    vision = plugin(scrm_moderate=images)
    ws = await kernel.workspaces.ref(tenant.id)
    assert await kernel.moderation.check(ws, text="我们是最好的") == []  # not enabled: not asked

    await enable(tenant, name)
    await enable(tenant, vision)
    kernel.forget_cached()
    ws = await kernel.workspaces.ref(tenant.id)
    found = await kernel.moderation.check(ws, text="我们是最好的")
    assert found == [scrm.Finding(category="ad.absolute", severity="high", start=3, end=5, source=name)]
    assert await kernel.moderation.check(ws, text="很好") == []
    png = scrm.Media(data=b"\x89PNG", content_type="image/png", filename="a.png")
    assert await kernel.moderation.check(ws, media=png) == [
        scrm.Finding(category="image.review", severity="low", source="vision")  # a source given is kept
    ]
    theirs = await kernel.workspaces.ref(other.id)
    assert await kernel.moderation.check(theirs, text="我们是最好的") == []
    with pytest.raises(TypeError):
        await kernel.moderation.check(ws)


async def test_a_failing_or_wrong_moderator_holds_content(
    kernel: Kernel, tenant: Tenant, plugin: Callable[..., str]
) -> None:
    def broken(text: str | None) -> list[scrm.Finding]:
        raise RuntimeError("boom")

    def wrong(text: str | None) -> list[str]:
        return ["not a finding"]

    for implementation in (broken, wrong):
        name = plugin(scrm_moderate=implementation)
        await enable(tenant, name)
        kernel.forget_cached()
        ws = await kernel.workspaces.ref(tenant.id)
        [finding] = [f for f in await kernel.moderation.check(ws, text="hello") if f.category == "moderation.failed"]
        assert finding.severity == "high"
        await tenant.post("/api/v1/plugins", {"name": name, "enabled": False})
