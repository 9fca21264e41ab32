"""The SDK guide's code runs: the Python blocks of docs/sdk.md marked ``<!-- run -->`` are executed in
order, in one namespace, against a real server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scrm.testing import Tenant
from sdk_server import server

__all__ = ["server"]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
RUNNABLE = re.compile(r"<!-- run -->\n```python\n(.*?)```", re.DOTALL)


def test_the_guides_marked_blocks_run(server: str, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = RUNNABLE.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    monkeypatch.setenv("SCRM_URL", server)
    monkeypatch.setenv("SCRM_KEY", tenant.key)
    namespace: dict[str, object] = {}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/sdk.md block {number}", "exec"), namespace)  # noqa: S102  # the guide's own code
