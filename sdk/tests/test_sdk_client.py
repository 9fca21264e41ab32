"""The SDK against a real server: typed models, cursors, problems as exceptions, retries that never
duplicate an event."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
import scrm_sdk
from scrm.testing import Tenant
from scrm_sdk.models import EventBatchResult, EventIn, EventOut, EventResult, MemberCreate, MemberOut
from sdk_server import server

__all__ = ["server"]


def test_members_round_trip_as_typed_models(server: str, tenant: Tenant) -> None:
    with scrm_sdk.Client(server, api_key=tenant.key) as scrm:
        created = scrm.members.create_member(MemberCreate(external_id="sdk-1", display_name="Li Wei", tags=["vip"]))
        assert isinstance(created, MemberOut)
        assert created.display_name == "Li Wei"
        assert scrm.members.get_member(created.id) == created
        assert scrm.members.get_member_by_external_id("sdk-1").id == created.id
        updated = scrm.members.update_member(created.id, {"display_name": "Wei Li"})
        assert updated.display_name == "Wei Li"
        assert scrm.members.list_member_tags(created.id) == ["vip"]


def test_iteration_follows_the_cursors(server: str, tenant: Tenant) -> None:
    with scrm_sdk.Client(server, api_key=tenant.key) as scrm:
        ids = {scrm.members.create_member({"external_id": f"page-{i}"}).id for i in range(5)}
        first = scrm.members.list_members(limit=2)
        assert len(first.items) == 2
        assert first.next_cursor
        assert {m.id for m in scrm.members.iter_list_members(limit=2)} == ids


def test_problems_are_typed_exceptions(server: str, tenant: Tenant) -> None:
    with scrm_sdk.Client(server, api_key=tenant.key) as scrm:
        with pytest.raises(scrm_sdk.NotFound) as missing:
            scrm.members.get_member(999_999_999)
        assert missing.value.status == 404
        assert missing.value.kind == "not-found"
        assert missing.value.type == "urn:scrm:problem:not-found"
        with pytest.raises(scrm_sdk.ValidationError) as invalid:
            scrm.members.create_member({"display_name": 5})
        assert invalid.value.status == 422
        assert [e.field for e in invalid.value.errors] == ["display_name"]
        scrm.members.create_member({"external_id": "twice"})
        with pytest.raises(scrm_sdk.Conflict):
            scrm.members.create_member({"external_id": "twice"})
    with scrm_sdk.Client(server, api_key="scrm_not-a-key") as stranger, pytest.raises(scrm_sdk.Unauthorized):
        stranger.members.list_members()


class LosesTheFirstAnswer(httpx.BaseTransport):
    """Sends every request to the server, but the first answer is lost on the way back (the server
    did the work; the client sees a broken connection) — the case a retry must not duplicate."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.bodies: list[Any] = []
        self.armed = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.bodies.append(msgspec.json.decode(request.read()) if request.content else None)
        if self.armed:
            self.armed = False
            response.close()
            raise httpx.ReadError("connection reset", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_resent_event_is_stored_once(server: str, tenant: Tenant) -> None:
    transport = LosesTheFirstAnswer()
    with scrm_sdk.Client(server, api_key=tenant.key, transport=transport, sleep=lambda _: None) as scrm:
        transport.armed = False
        member = scrm.members.create_member({"external_id": "retry-me"})
        transport.bodies.clear()
        transport.armed = True
        result = scrm.events.record_events({"member_id": member.id, "type": "order.paid"})
        assert isinstance(result, EventResult)
        assert result.status == "duplicate"  # the first, lost answer said created
        first, second = transport.bodies
        assert first["idempotency_key"] == second["idempotency_key"]
        assert first["idempotency_key"].startswith("sdk-")
        events = list(scrm.events.iter_list_member_events(member.id, type="order.paid"))
        assert [e.type for e in events] == ["order.paid"]
        assert isinstance(events[0], EventOut)


def test_a_lost_answer_to_a_create_is_not_resent(server: str, tenant: Tenant) -> None:
    """Creating a member is not idempotent: after a lost answer the error is the caller's to handle."""
    transport = LosesTheFirstAnswer()
    with (
        scrm_sdk.Client(server, api_key=tenant.key, transport=transport, sleep=lambda _: None) as scrm,
        pytest.raises(httpx.ReadError),
    ):
        scrm.members.create_member({"external_id": "once"})
    assert len(transport.bodies) == 1


def test_a_callers_idempotency_key_is_kept(server: str, tenant: Tenant) -> None:
    with scrm_sdk.Client(server, api_key=tenant.key) as scrm:
        member = scrm.members.create_member({})
        batch = [
            {"member_id": member.id, "type": "visit", "idempotency_key": "mine"},
            {"member_id": member.id, "type": "visit"},
        ]
        result = scrm.events.record_events(batch)
        assert isinstance(result, EventBatchResult)
        assert result.created == 2
        again = scrm.events.record_events(batch[0])  # the same key: stored once
        assert isinstance(again, EventResult)
        assert again.status == "duplicate"
        typed = scrm.events.record_events([EventIn(member_id=member.id, type="visit")])  # a model gets a key too
        assert isinstance(typed, EventBatchResult)
        assert typed.items[0].status == "created"


def test_429_and_503_are_retried_with_backoff_then_raised() -> None:
    answers = iter([429, 503, 200])
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 200:
            return httpx.Response(200, json=[])
        headers = {"Retry-After": "2"} if status == 503 else {}
        return httpx.Response(status, json={"type": "urn:scrm:problem:x", "status": status}, headers=headers)

    with scrm_sdk.Client("http://scrm.test", transport=httpx.MockTransport(answer), sleep=waits.append) as scrm:
        assert scrm.keys.list_keys() == []
    assert len(waits) == 2
    assert waits[1] == 2.0  # Retry-After
    always = httpx.MockTransport(lambda request: httpx.Response(503, json={"type": "urn:scrm:problem:unavailable"}))
    retry = scrm_sdk.Retry(attempts=3)
    with scrm_sdk.Client("http://scrm.test", transport=always, retry=retry, sleep=waits.append) as scrm:
        with pytest.raises(scrm_sdk.ServiceUnavailable) as failed:
            scrm.keys.list_keys()
        assert failed.value.kind == "unavailable"


def test_connection_errors_are_retried() -> None:
    calls: list[int] = []

    def refuse_once(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"name": "n", "description": "", "created_at": "2030-01-01T00:00:00Z"})

    with scrm_sdk.Client("http://scrm.test", transport=httpx.MockTransport(refuse_once), sleep=lambda _: None) as scrm:
        assert scrm.consents.create_consent_purpose({"name": "marketing.email"}).name == "n"
    assert len(calls) == 2


def test_a_timeout_is_a_client_setting() -> None:
    with scrm_sdk.Client("http://scrm.test", timeout=1.5) as scrm:
        assert scrm._http.timeout.read == 1.5


def test_an_app_gets_a_token_and_calls_with_it(server: str, tenant: Tenant) -> None:
    """The OAuth endpoints through the SDK: form fields, not JSON; the token then works as a key."""
    with scrm_sdk.Client(server, api_key=tenant.key) as scrm:
        app = scrm.apps.create_app({"name": "sdk-app", "scopes": ["members:read"]})
        form = {"client_id": app.client_id, "client_secret": app.client_secret}
        issued = scrm.oauth.create_oauth_token({"grant_type": "client_credentials", **form})
        assert (issued.token_type, issued.scope) == ("Bearer", "members:read")
        with pytest.raises(scrm_sdk.Unauthorized):
            scrm.oauth.create_oauth_token({"grant_type": "client_credentials", "client_id": app.client_id})
    with scrm_sdk.Client(server, api_key=issued.access_token) as as_app:
        assert as_app.members.list_members().items == []
        as_app.oauth.revoke_oauth_token({"token": issued.access_token, **form})
        with pytest.raises(scrm_sdk.Unauthorized):
            as_app.members.list_members()
