"""The console's catalogue page: each plugin of the deployment's catalogue with the permissions it
asks for, verified or not, installable, blocklisted or for another core, installed and enabled here."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from console_client import SignIn, text_of
from scrm.kernel import Kernel

SHA = "0" * 64


def write_catalogue(path: Path) -> Path:
    index = {
        "format": "scrm-catalogue/1",
        "plugins": [
            {
                "name": "webhooks",
                "distribution": "scrm-webhooks",
                "summary": "Signed webhooks",
                "verified": True,
                "releases": [
                    {
                        "version": "0.1.0",
                        "core": ">=0.1,<1",
                        "scopes": ["webhooks:read", "webhooks:write"],
                        "wheel": "scrm_webhooks-0.1.0-py3-none-any.whl",
                        "sha256": SHA,
                    },
                ],
            },
            {
                "name": "stamps",
                "distribution": "scrm-stamps",
                "summary": "Loyalty stamps",
                "releases": [
                    {
                        "version": "1.0.0",
                        "core": ">=0.1,<1",
                        "scopes": ["stamps:read", "members:write"],
                        "wheel": "scrm_stamps-1.0.0-py3-none-any.whl",
                        "sha256": SHA,
                    },
                    {
                        "version": "1.1.0",
                        "core": ">=0.1,<1",
                        "scopes": ["stamps:read"],
                        "wheel": "scrm_stamps-1.1.0-py3-none-any.whl",
                        "sha256": SHA,
                    },
                    {
                        "version": "2.0.0",
                        "core": ">=9",
                        "scopes": ["stamps:read"],
                        "wheel": "scrm_stamps-2.0.0-py3-none-any.whl",
                        "sha256": SHA,
                    },
                ],
            },
        ],
        "blocklist": [{"plugin": "stamps", "versions": "==1.1.0", "reason": "bad"}],
    }
    target = path / "catalogue.json"
    target.write_text(json.dumps(index))
    return target


@pytest.fixture
def with_catalogue(kernel: Kernel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    index = write_catalogue(tmp_path)
    monkeypatch.setattr(kernel, "settings", dataclasses.replace(kernel.settings, catalogue=str(index)))
    return index


async def test_the_catalogue_shows_permissions_before_enabling(
    with_catalogue: Path, sign_in: SignIn, tenant: Any
) -> None:
    me = await sign_in(tenant, "owner")
    page = await me.get(f"/console/w/{tenant.slug}/plugins/catalogue")
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert "webhooks verified Signed webhooks webhooks:read webhooks:write installable: 0.1.0" in text
    assert f'href="/console/w/{tenant.slug}/plugins/webhooks/enable"' in page.text  # installed, not enabled
    # stamps: 1.1.0 blocklisted, 2.0.0 for another core, so 1.0.0 and what it asks for
    assert "stamps not verified Loyalty stamps stamps:read members:write installable: 1.0.0" in text
    assert "blocklisted: 1.1.0" in text
    assert "for another core: 2.0.0" in text
    assert "scrm plugins install stamps" in text
    await tenant.enable("webhooks")
    assert "enabled" in text_of(await me.get(f"/console/w/{tenant.slug}/plugins/catalogue"))


async def test_without_or_with_a_broken_catalogue(
    kernel: Kernel, sign_in: SignIn, tenant: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = await sign_in(tenant, "viewer")
    url = f"/console/w/{tenant.slug}/plugins/catalogue"
    assert "No catalogue is configured" in text_of(await me.get(url))
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "nope"}')
    monkeypatch.setattr(kernel, "settings", dataclasses.replace(kernel.settings, catalogue=str(broken)))
    page = await me.get(url)
    assert page.status_code == 200
    assert "is not a valid catalogue" in text_of(page)
