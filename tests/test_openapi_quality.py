"""The OpenAPI document is written for a reader: every operation of the live document (the core and
every installed plugin) has a summary that is a phrase, not a handler's bare name, a description, and
a tag grouping it by resource; the core's main write operations show an example body. The SDK, the
API reference and Swagger UI are all built from these texts."""

from __future__ import annotations

import re
from typing import Any

import httpx

METHODS = ("get", "put", "post", "patch", "delete")
#: a handler's name as Litestar would make a summary of it: ``CreateRule``, ``Draw``
BARE_NAME = re.compile(r"^[A-Z][a-z]*(?:[A-Z][a-z]*)*$")
#: write operations whose request body carries an example (what a newcomer calls first)
WITH_EXAMPLES = {
    "createMember",
    "recordEvents",
    "recordConsents",
    "createKey",
    "setPlugin",
    "pointsCreateRule",
    "lotteryCreateCampaign",
}


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_every_operation_has_a_summary_a_description_and_a_tag(client: httpx.AsyncClient) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    ops = operations(document)
    assert len(ops) > 50
    missing = []
    for where, operation in ops:
        summary = (operation.get("summary") or "").strip()
        if not summary or BARE_NAME.match(summary) or " " not in summary:
            missing.append(f"{where}: summary {summary!r} is not a phrase (summary='Create a rule')")
        if len((operation.get("description") or "").strip()) < 10:
            missing.append(f"{where}: no description (give the handler a docstring)")
        if not operation.get("tags"):
            missing.append(f"{where}: no tags (tags=['<resource>'] on its controller or router)")
    assert missing == [], "\n".join(missing)


async def test_main_write_operations_show_an_example_body(client: httpx.AsyncClient) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    by_id = {operation["operationId"]: operation for _, operation in operations(document)}
    for operation_id in sorted(WITH_EXAMPLES & by_id.keys()):
        content = by_id[operation_id]["requestBody"]["content"]["application/json"]
        assert content.get("examples") or content["schema"].get("examples"), operation_id
    assert {"createMember", "recordEvents"} <= by_id.keys()
