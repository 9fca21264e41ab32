"""The SDK cannot drift from the API: the committed generated module is what the generator writes
from the live document, every operation of the live document has a method, and the package never
imports the server."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import httpx
import scrm_sdk
from scrm_sdk._generated import OPERATIONS

SDK = Path(__file__).resolve().parents[1]
REGENERATE = "uv run python sdk/generate.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdk_generate", SDK / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_the_generated_module_is_current(client: httpx.AsyncClient) -> None:
    generate = generator()
    document = (await client.get("/schema/openapi.json")).json()
    committed = generate.TARGET.read_text(encoding="utf-8")
    assert generate.render(document) == committed, f"the SDK is out of date with the API: run `{REGENERATE}`"


async def test_every_operation_has_a_method_on_both_clients(client: httpx.AsyncClient) -> None:
    generate = generator()
    document = (await client.get("/schema/openapi.json")).json()
    sync, asynchronous = scrm_sdk.Client("http://scrm.test"), scrm_sdk.AsyncClient("http://scrm.test")
    missing = []
    for item in document["paths"].values():
        for method, operation in item.items():
            if method not in generate.METHODS or operation["tags"][0] in generate.EXCLUDED_TAGS:
                continue
            known = OPERATIONS.get(operation["operationId"])
            for each in (sync, asynchronous):
                namespace = getattr(each, known.tag, None) if known else None
                if known is None or not callable(getattr(namespace, known.name, None)):
                    missing.append(f"{operation['operationId']} on {type(each).__name__}")
    sync.close()
    await asynchronous.aclose()
    assert missing == [], f"operations without an SDK method (run `{REGENERATE}`): {missing}"


def test_the_package_never_imports_the_server() -> None:
    server_import = re.compile(r"^\s*(?:from|import)\s+scrm(?:[ .]|_(?!sdk))", re.MULTILINE)
    for path in (SDK / "src" / "scrm_sdk").rglob("*.py"):
        assert not server_import.search(path.read_text(encoding="utf-8")), path
