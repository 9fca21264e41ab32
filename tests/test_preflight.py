"""``OPTIONS`` (a CORS preflight, or a client asking what a path allows) answers 204 with ``Allow``
on every API path — the core's and every plugin's — without credentials; elsewhere (the console,
which sends visitors without a session to its login page) never a 5xx."""

from __future__ import annotations

from typing import Any

from conftest import Tenant, sample_path

PREFLIGHT = {"Origin": "https://example.com", "Access-Control-Request-Method": "POST"}


async def test_options_answers_204_on_every_api_route(app: Any, tenant: Tenant) -> None:
    paths = sorted({route.path for route in app.routes if "OPTIONS" in route.methods})
    assert any(p.startswith("/api/v1/points/") for p in paths)  # plugin routes are in the sweep
    for template in paths:
        path = sample_path(template)
        for headers in ({}, PREFLIGHT):
            response = await tenant.client.options(path, headers=headers)
            if path.startswith("/api/v1/"):
                assert response.status_code == 204, f"OPTIONS {path}: {response.status_code} {response.text}"
                assert response.headers["allow"], path
            else:
                assert response.status_code < 500, f"OPTIONS {path}: {response.status_code} {response.text}"
