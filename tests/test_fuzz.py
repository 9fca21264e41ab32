"""Fuzzing the live OpenAPI document with schemathesis: every operation of an app with every
first-party plugin enabled in the workspace, called with generated valid and invalid requests by an
operator key. No answer may be a 5xx, and every answer must be one the document declares (status,
media type, body schema). A run that finds a 500 fails.

Bounded for CI: ``SCRM_FUZZ_EXAMPLES`` (default 10) requests per operation and mode, about 1,600 in
all, a minute or so per engine. The requests go through the suite's in-process client, on the event
loop the kernel's database pool lives on, so the cases are drawn first and then sent (schemathesis's
own ``case.call`` would run the app on a loop of its own). ``SCRM_FUZZ_SEED`` replays a run: the
failure message names its seed.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

import httpx
import schemathesis
from conftest import FIRST_PARTY, Tenant
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.errors import FailureGroup

EXAMPLES = int(os.environ.get("SCRM_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("SCRM_FUZZ_SEED") or random.randrange(2**32))
BASE_URL = "http://scrm.test"
#: no 5xx, and an answer the document declares (checks that send requests of their own are left out)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


def draw(operation: APIOperation, mode: GenerationMode) -> list[Case]:
    """``EXAMPLES`` cases of ``operation`` in ``mode`` (valid or invalid requests), from ``SEED``."""
    cases: list[Case] = []

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: Case) -> None:
        cases.append(case)

    collect()
    return cases


def httpx_arguments(case: Case, headers: dict[str, str]) -> dict[str, Any]:
    """The request of ``case`` as arguments of ``httpx.AsyncClient.request`` (schemathesis
    serialises a case for ``requests``)."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    data = kwargs.pop("data", None)
    if isinstance(data, (bytes, str)):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    cookies = kwargs.pop("cookies", None)
    if cookies:
        kwargs["headers"]["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    for unused in ("auth", "verify", "timeout", "allow_redirects"):
        kwargs.pop(unused, None)
    return kwargs


async def test_fuzz_the_openapi_document(client: httpx.AsyncClient, tenant: Tenant, operator_key: str) -> None:
    for name in FIRST_PARTY:
        await tenant.enable(name)
    schema = schemathesis.openapi.from_dict((await client.get("/schema/openapi.json")).json())
    headers = {"Authorization": f"Bearer {operator_key}", "X-Scrm-Workspace": tenant.slug}
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for case in draw(operation, mode):
                response = await client.request(**httpx_arguments(case, headers))
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except FailureGroup as exc:
                    failures.append(f"{operation.label} ({mode.value}): {exc}")
    figures = f"{sum(statuses.values())} requests to {operations} operations, answers {dict(sorted(statuses.items()))}"
    print(f"schemathesis (seed {SEED}): {figures}")
    assert operations > 70
    assert any(label.startswith("/api/v1/lottery/") for label in schema.raw_schema["paths"])
    assert any(label.startswith("/api/v1/polls") for label in schema.raw_schema["paths"])
    assert not failures, f"{len(failures)} failures in {figures}; replay with SCRM_FUZZ_SEED={SEED}:\n" + "\n".join(
        failures[:10]
    )


def _overlapping_unions(node: Any, where: str = "") -> list[str]:
    """Where a ``oneOf`` lists both ``integer`` and ``number``: an integer matches both, so any
    integer answer there violates the document (JSON Schema's integer is a number)."""
    found: list[str] = []
    if isinstance(node, dict):
        kinds = [branch.get("type") for branch in node.get("oneOf", []) if isinstance(branch, dict)]
        if "integer" in kinds and "number" in kinds:
            found.append(where or "/")
        for key, value in node.items():
            found += _overlapping_unions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _overlapping_unions(value, f"{where}/{index}")
    return found


async def test_no_union_of_integer_and_number(client: httpx.AsyncClient) -> None:
    """Found by the fuzzer (seed 3124967087): a points rule's integer condition broke its own schema."""
    document = (await client.get("/schema/openapi.json")).json()
    assert _overlapping_unions(document) == []
