"""Console operators in the core: accounts, sign-in and its rate limit, sessions, roles per workspace."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest
from conftest import Tenant
from scrm.kernel import Kernel
from scrm.problems import Conflict, NotFound, RateLimited, Unauthenticated, ValidationFailed
from scrm.roles import ROLES, role_allows
from scrm.services.operators import LOGIN_FAILURES_PER_ADDRESS, SESSION_IDLE, token_digest
from scrm.services.values import now

PASSWORD = "a long enough password"


def username() -> str:
    return f"op-{secrets.token_hex(4)}"


async def test_accounts_are_validated(kernel: Kernel) -> None:
    with pytest.raises(ValidationFailed) as bad_name:
        await kernel.operators.create("no spaces allowed", PASSWORD)
    assert bad_name.value.errors == [bad_name.value.errors[0]]
    assert bad_name.value.errors[0]["field"] == "username"
    with pytest.raises(ValidationFailed) as short:
        await kernel.operators.create(username(), "short")
    assert short.value.errors is not None
    assert short.value.errors[0]["field"] == "password"
    with pytest.raises(ValidationFailed):
        await kernel.operators.create(username(), PASSWORD, locale="english")
    name = username()
    created = await kernel.operators.create(name.upper(), PASSWORD, display_name="Ann")
    assert created.username == name  # usernames are kept lowercase
    assert created.label == "Ann"
    assert created.has_password
    with pytest.raises(Conflict):
        await kernel.operators.create(name, PASSWORD)


async def test_login_checks_the_password_and_the_account(kernel: Kernel) -> None:
    name = username()
    created = await kernel.operators.create(name, PASSWORD)
    address = f"10.2.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    assert (await kernel.operators.login(f" {name.upper()} ", PASSWORD, address)).id == created.id
    with pytest.raises(Unauthenticated):
        await kernel.operators.login(name, PASSWORD + "x", address)
    with pytest.raises(Unauthenticated):
        await kernel.operators.login("nobody-" + name, PASSWORD, address)
    await kernel.operators.set_disabled(created.id, True)
    with pytest.raises(Unauthenticated):
        await kernel.operators.login(name, PASSWORD, address)
    await kernel.operators.set_disabled(created.id, False)
    assert (await kernel.operators.login(name, PASSWORD, address)).id == created.id
    oidc_only = await kernel.operators.create(username())
    assert not oidc_only.has_password
    with pytest.raises(Unauthenticated):
        await kernel.operators.login(oidc_only.username, "", address)


async def test_failed_sign_ins_are_limited_per_username_and_per_address(kernel: Kernel) -> None:
    name = username()
    await kernel.operators.create(name, PASSWORD)
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            await kernel.operators.login(name, "wrong", "10.3.0.1")
    with pytest.raises(RateLimited):  # even the right password, from anywhere
        await kernel.operators.login(name, PASSWORD, "10.3.0.2")

    address = f"10.4.{secrets.randbelow(250)}.1"
    for _ in range(LOGIN_FAILURES_PER_ADDRESS):
        with pytest.raises(Unauthenticated):
            await kernel.operators.login(username(), "wrong", address)
    other = username()
    await kernel.operators.create(other, PASSWORD)
    with pytest.raises(RateLimited):
        await kernel.operators.login(other, PASSWORD, address)
    assert (await kernel.operators.login(other, PASSWORD, "10.4.251.1")).username == other

    # failures older than the window no longer count, and pruning forgets them
    await kernel.db.fetch("UPDATE scrm_login_failure SET at = {} WHERE username = {}", now() - timedelta(hours=1), name)
    assert (await kernel.operators.login(name, PASSWORD, "10.3.0.2")).username == name
    await kernel.operators.prune()
    rows = await kernel.db.fetch(
        "SELECT count(*) AS n FROM scrm_login_failure WHERE at < {}", now() - timedelta(hours=1)
    )
    assert rows[0]["n"] == 0


async def test_sessions_end_when_closed_idle_or_old(kernel: Kernel) -> None:
    op = await kernel.operators.create(username(), PASSWORD)
    token = await kernel.operators.open_session(op.id, "10.5.0.1", "pytest")
    assert (await kernel.operators.session(token)).id == op.id  # type: ignore[union-attr]
    assert await kernel.operators.session("not-a-token") is None
    stored = await kernel.db.fetch("SELECT token_hash FROM scrm_operator_session WHERE operator = {}", op.id)
    assert stored[0]["token_hash"] == token_digest(token) != token  # only the digest is kept

    idle = await kernel.operators.open_session(op.id)
    await kernel.db.fetch(
        "UPDATE scrm_operator_session SET last_seen_at = {} WHERE token_hash = {}",
        now() - SESSION_IDLE - timedelta(minutes=1),
        token_digest(idle),
    )
    assert await kernel.operators.session(idle) is None
    old = await kernel.operators.open_session(op.id)
    await kernel.db.fetch(
        "UPDATE scrm_operator_session SET expires_at = {} WHERE token_hash = {}", now(), token_digest(old)
    )
    assert await kernel.operators.session(old) is None

    other = await kernel.operators.open_session(op.id)
    await kernel.operators.close_sessions(op.id, keep=token)
    assert await kernel.operators.session(other) is None
    assert await kernel.operators.session(token) is not None
    await kernel.operators.close_session(token)
    assert await kernel.operators.session(token) is None
    await kernel.operators.prune()
    left = await kernel.db.fetch("SELECT count(*) AS n FROM scrm_operator_session WHERE operator = {}", op.id)
    assert left[0]["n"] == 0


async def test_roles_give_access_to_their_workspace_only(kernel: Kernel, tenant: Tenant, other: Tenant) -> None:
    ws = await kernel.workspaces.ref(tenant.slug)
    op = await kernel.operators.create(username(), PASSWORD)
    with pytest.raises(NotFound):
        await kernel.operators.access(op, tenant.slug)
    await kernel.operators.grant(op.id, ws, "analyst")
    access = await kernel.operators.access(op, tenant.slug)
    assert access.role == "analyst"
    assert access.can("members:read")
    assert not access.can("members:write")
    with pytest.raises(NotFound):  # the same answer as for a workspace that does not exist
        await kernel.operators.access(op, other.slug)
    with pytest.raises(NotFound):
        await kernel.operators.access(op, "no-such-workspace")
    assert [m.slug for m in await kernel.operators.memberships(op)] == [tenant.slug]
    await kernel.operators.grant(op.id, ws, "operator")  # replaces the role
    assert (await kernel.operators.access(op, tenant.slug)).role == "operator"
    with pytest.raises(ValidationFailed):
        await kernel.operators.grant(op.id, ws, "superuser")
    with pytest.raises(NotFound):
        await kernel.operators.grant(10**12, ws, "viewer")
    await kernel.operators.revoke(op.id, ws)
    with pytest.raises(NotFound):
        await kernel.operators.revoke(op.id, ws)

    admin = await kernel.operators.create(username(), PASSWORD, admin=True)
    assert (await kernel.operators.access(admin, other.slug)).role == "admin"
    assert {tenant.slug, other.slug} <= {m.slug for m in await kernel.operators.memberships(admin)}


def test_role_rules() -> None:
    table = {
        ("owner", "keys:write"): True,
        ("owner", "team:write"): True,
        ("owner", "workspaces:write"): False,
        ("operator", "members:write"): True,
        ("operator", "points:write"): True,  # a plugin's scope
        ("operator", "keys:write"): False,
        ("operator", "plugins:write"): False,
        ("operator", "team:write"): False,
        ("analyst", "reports:read"): True,
        ("analyst", "keys:read"): True,
        ("analyst", "members:write"): False,
        ("viewer", "members:read"): True,
        ("viewer", "reports:read"): False,
        ("viewer", "keys:read"): False,
        ("viewer", "tags:write"): False,
        ("judge", "contests:judge"): True,  # whatever a plugin puts up for judging
        ("judge", "members:read"): False,
        ("judge", "contests:read"): False,
        ("admin", "workspaces:write"): True,
        ("nobody", "members:read"): False,
    }
    assert {case: role_allows(*case) for case in table} == table
    assert ROLES == ("owner", "operator", "analyst", "viewer", "judge")


async def test_a_workspace_keeps_an_owner(kernel: Kernel, tenant: Tenant) -> None:
    ws = await kernel.workspaces.ref(tenant.slug)
    first = await kernel.operators.create(username(), PASSWORD)
    await kernel.operators.grant(first.id, ws, "owner")
    with pytest.raises(Conflict):
        await kernel.operators.grant(first.id, ws, "viewer")
    with pytest.raises(Conflict):
        await kernel.operators.revoke(first.id, ws)
    second = await kernel.operators.create(username(), PASSWORD)
    await kernel.operators.grant(second.id, ws, "owner")
    await kernel.operators.grant(first.id, ws, "viewer")  # another owner remains
    assert {m.operator.id: m.role for m in await kernel.operators.team(ws)} == {first.id: "viewer", second.id: "owner"}


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(kernel: Kernel, tenant: Tenant) -> None:
    """On PostgreSQL the owners' rows are locked; SQLite serialises the two writes. Either way one wins."""
    ws = await kernel.workspaces.ref(tenant.slug)
    for _ in range(10):
        a = await kernel.operators.create(username(), PASSWORD)
        b = await kernel.operators.create(username(), PASSWORD)
        await kernel.operators.grant(a.id, ws, "owner")
        await kernel.operators.grant(b.id, ws, "owner")
        results = await asyncio.gather(
            kernel.operators.revoke(a.id, ws), kernel.operators.revoke(b.id, ws), return_exceptions=True
        )
        assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"]
        owners = [m for m in await kernel.operators.team(ws) if m.role == "owner"]
        assert len(owners) == 1
        # the next round's pair must be the only owners: take this round's survivor off the team
        await kernel.db.fetch("DELETE FROM scrm_operator_role WHERE operator = {}", owners[0].operator.id)
