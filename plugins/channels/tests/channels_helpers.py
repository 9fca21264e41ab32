"""Helpers of the channels plugin's tests: a real SMTP server (aiosmtpd) and a real HTTP server that
plays a provider, both on loopback, and a workspace ready to send."""

from __future__ import annotations

import asyncio
import email.policy
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

BASE = "/api/v1/channels"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Mailbox:
    """What the test's SMTP server received; ``refuse`` maps a recipient to the reply its RCPT gets
    (``"550 …"`` bounces, ``"451 …"`` asks to retry)."""

    port: int
    received: list[Message] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.received if m["To"] == address]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(message_from_bytes(content, policy=email.policy.default))
        return "250 Message accepted"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


Answer = tuple[int, dict[str, Any]]


@dataclass
class ProviderServer:
    """An HTTP server playing a provider: ``script[path]`` is a list of answers (status, JSON body)
    given in turn, the last one repeated; every request is kept in ``seen``."""

    port: int
    script: dict[str, list[Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, path: str, *answers: Answer) -> None:
        self.script[path] = list(answers)

    def requests(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def answer(self, seen: Seen) -> Answer:
        self.seen.append(seen)
        answers = self.script.get(seen.path) or [(404, {"error": "no such path"})]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def _handler(server: ProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers), self.rfile.read(length))
            status, body = server.answer(seen)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def provider_server() -> Iterator[ProviderServer]:
    server = ProviderServer(port=free_port())
    httpd = ThreadingHTTPServer(("127.0.0.1", server.port), _handler(server))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()


async def smtp_provider(tenant: Any, mailbox: Mailbox, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "mail",
        "kind": "smtp",
        "config": {"host": "127.0.0.1", "port": mailbox.port, "sender": "hello@brand.test", "security": "none"},
        "secret": "",
        **extra,
    }
    response = await tenant.post(f"{BASE}/providers", body)
    assert response.status_code == 201, response.text
    provider: dict[str, Any] = response.json()
    return provider


async def template(tenant: Any, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "welcome",
        "language": "en",
        "channel": "email",
        "subject": "Welcome, {{ member.display_name }}",
        "body": "Hello {{ member.display_name }}! {{ data.offer }}\nUnsubscribe: {{ unsubscribe_url }}",
        **fields,
    }
    response = await tenant.post(f"{BASE}/templates", body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def consenting(tenant: Any, purpose: str = "marketing.email", **fields: Any) -> dict[str, Any]:
    """A member with an email address (and a phone, a WeCom id) who granted ``purpose``."""
    fields.setdefault("identities", {"email": "ann@example.test", "phone": "+15550001", "wecom": "ann"})
    member = await tenant.member(display_name=fields.pop("display_name", "Ann"), **fields)
    response = await tenant.post(
        "/api/v1/consents", [{"member_id": member["id"], "purpose": purpose, "status": "granted"}]
    )
    assert response.status_code in (200, 201), response.text
    return member


async def ready(tenant: Any, mailbox: Mailbox) -> dict[str, Any]:
    """Channels on, an SMTP provider, the welcome template, and a consenting member."""
    await tenant.enable("channels")
    await smtp_provider(tenant, mailbox)
    await template(tenant)
    return await consenting(tenant)


async def send(tenant: Any, member_id: int, **fields: Any) -> dict[str, Any]:
    body = {"member_id": member_id, "purpose": "marketing.email", "template": "welcome", **fields}
    response = await tenant.post(f"{BASE}/messages", body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def early_in_a_minute(margin_s: float = 20.0) -> None:
    """Wait for the next clock minute when fewer than ``margin_s`` seconds are left in this one: a
    provider's rate counts calls per clock minute, so a test of it must not straddle two."""
    at = datetime.now(UTC)
    if at.second + at.microsecond / 1e6 > 60 - margin_s:
        await asyncio.sleep(60.5 - at.second - at.microsecond / 1e6)


Waiter = Callable[[], Any]
