"""Console fixtures: operators with a role in a test's workspace, each signed in through a real
session with a client of its own."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from console_client import PASSWORD, ConsoleClient, SignIn, client_for
from litestar import Litestar
from scrm.kernel import Kernel

_names = itertools.count(1)


@pytest.fixture
async def sign_in(kernel: Kernel, app: Litestar) -> AsyncIterator[SignIn]:
    """``await sign_in(tenant, "operator")``: a new operator with that role in the tenant's workspace
    (``admin=True`` for an agency admin, ``tenant=None`` for no role anywhere), signed in."""
    clients: list[httpx.AsyncClient] = []

    async def make(tenant: Any, role: str = "owner", *, admin: bool = False) -> ConsoleClient:
        username = f"op{next(_names)}-{secrets.token_hex(3)}"
        operator = await kernel.operators.create(username, PASSWORD, admin=admin)
        if tenant is not None:
            await kernel.operators.grant(operator.id, await kernel.workspaces.ref(tenant.slug), role)
        http = client_for(app)
        clients.append(http)
        token = await kernel.operators.open_session(operator.id)
        http.cookies.set("scrm_session", token, domain="scrm.test", path="/console")
        return ConsoleClient(username=username, operator_id=operator.id, http=http)

    yield make
    for http in clients:
        await http.aclose()
