"""A NUL character (which PostgreSQL's text cannot hold) in any text a request brings — a path or
query parameter, a JSON or form body, a row of an import — is a 422 naming the field (a bad row,
for the import), on every route, the core's and every plugin's, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FIRST_PARTY, Tenant, problem, sample_path


def refused(response: Any, field: str, source: str) -> None:
    body = problem(response, 422, "validation-error")
    assert body["errors"] == [{"field": field, "source": source, "message": body["errors"][0]["message"]}], body
    assert "NUL" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/members", {"external_id": "n\u0000", "display_name": "N"}, "external_id"),
        ("/api/v1/members", {"external_id": "n", "identities": {"email": "a\u0000@x"}}, "identities.email"),
        ("/api/v1/members", {"external_id": "n", "attributes": {"k\u0000": 1}}, "attributes.k\u0000"),
        ("/api/v1/members", {"external_id": "n", "tags": ["ok", "b\u0000d"]}, "tags[1]"),
        ("/api/v1/events", {"external_id": "n", "type": "a.b", "idempotency_key": "\u0000"}, "idempotency_key"),
        ("/api/v1/events", [{"external_id": "n", "type": "a.b", "properties": {"p": "\u0000"}}], "[0].properties.p"),
        (
            "/api/v1/consents",
            {"external_id": "n", "purpose": "p", "status": "granted", "evidence": {"form": {"ip": "1\u0000"}}},
            "evidence.form.ip",
        ),
        ("/api/v1/tags", {"name": "t\u0000"}, "name"),
        ("/api/v1/points/rewards", {"name": "r\u0000", "cost": 10}, "name"),
    ],
)
async def test_nul_in_a_json_body_is_422_naming_the_field(tenant: Tenant, path: str, body: Any, field: str) -> None:
    for name in FIRST_PARTY:
        await tenant.enable(name)
    refused(await tenant.post(path, body), field, "body")
    assert (await tenant.get("/api/v1/members")).json()["items"] == []


async def test_nul_in_a_query_or_path_parameter_is_422(tenant: Tenant) -> None:
    refused(await tenant.get("/api/v1/members", params={"q": "a\u0000"}), "q", "query")
    refused(await tenant.client.get("/api/v1/members?limit=5&q=%00", headers=tenant.headers()), "q", "query")
    refused(await tenant.get("/api/v1/tags/%00"), "name", "path")
    refused(await tenant.delete("/api/v1/tags/a%00b"), "name", "path")


async def test_an_escaped_backslash_is_not_a_nul(tenant: Tenant) -> None:
    response = await tenant.post("/api/v1/members", {"external_id": "n", "display_name": "\\u0000 %00"})
    assert response.status_code == 201, response.text
    assert response.json()["display_name"] == "\\u0000 %00"
    assert (await tenant.get("/api/v1/members", params={"q": "%00"})).status_code == 200


async def test_every_write_route_refuses_a_nul_in_its_body(tenant: Tenant, operator_key: str, app: Any) -> None:
    """The layer covers routes it was never told about: a NUL key in any JSON body is refused first."""
    for name in FIRST_PARTY:
        await tenant.enable(name)
    headers = tenant.headers(operator_key, **{"X-Scrm-Workspace": tenant.slug})
    swept = 0
    for route in app.routes:
        for handler in route.route_handlers if route.path.startswith("/api/v1/") else []:
            if "data" not in handler.parsed_fn_signature.parameters:
                continue  # reads no body
            for method in sorted(handler.http_methods):
                path = sample_path(route.path)
                response = await tenant.client.request(method, path, json={"\u0000": "x"}, headers=headers)
                swept += 1
                assert response.status_code == 422, f"{method} {route.path}: {response.status_code} {response.text}"
    assert swept > 20


@pytest.mark.parametrize(
    ("content_type", "body", "field"),
    [
        (
            "application/x-ndjson",
            b'{"external_id": "i1"}\n{"external_id": "i2", "display_name": "x\\u0000"}\n',
            "display_name",
        ),
        ("text/csv", b"external_id,display_name\ni1,ok\ni2,x\x00y\n", "display_name"),
        ("text/csv", b'external_id,identities\ni1,\ni2,"{""email"": ""a\\u0000""}"\n', "identities.email"),
    ],
)
async def test_nul_in_an_import_row_is_a_bad_row_naming_the_field(
    tenant: Tenant, content_type: str, body: bytes, field: str
) -> None:
    response = await tenant.client.post(
        "/api/v1/members/import", content=body, headers=tenant.headers(**{"Content-Type": content_type})
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["failed_rows"] == 1
    assert [(e["line"], e["field"]) for e in result["errors"]] == [(2 if content_type != "text/csv" else 3, field)]
    assert "NUL" in result["errors"][0]["message"]
    assert (await tenant.get("/api/v1/members")).json()["items"] == []  # the batch is written not at all
