"""The outbound guard (scrm.outbound): user-given URLs never reach loopback, private or metadata
addresses unless the operator allows them, judged on the address actually connected to."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import scrm
from scrm.settings import Settings, SettingsError

#: what the default policy refuses: loopback, metadata, private, IPv6 loopback, a name for loopback
REFUSED = [
    "http://127.0.0.1:{port}/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook",
    "http://[::1]:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://localhost:{port}/hook",
]


class Receiver:
    """An HTTP server on 127.0.0.1 that records the requests it gets (their Host header) and answers
    204, or 302 to ``redirect_to``."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.hosts: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver.hosts.append(self.headers["Host"])
                self.send_response(302 if redirect_to else 204)
                if redirect_to:
                    self.send_header("Location", redirect_to)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]


@contextmanager
def serving(redirect_to: str | None = None) -> Iterator[Receiver]:
    r = Receiver(redirect_to)
    threading.Thread(target=r.server.serve_forever, daemon=True).start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as r:
        yield r


@pytest.fixture
async def resolve_as(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the test resolves itself: ``resolve_as[name] = [first answer, second answer, …]``."""
    answers: dict[str, list[str]] = {}
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return await real(host, port, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize("template", REFUSED)
async def test_the_default_refuses_inside_addresses_before_sending(template: str, receiver: Receiver) -> None:
    url = template.format(port=receiver.port)
    guard = scrm.Outbound()
    reason = await guard.refusal(url)
    assert reason is not None
    assert "SCRM_OUTBOUND_ALLOW" in reason
    async with guard.client(timeout=5) as client:
        with pytest.raises(scrm.OutboundRefused, match="scrm does not send there"):
            await client.get(url)
    assert receiver.hosts == []  # nothing was sent


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("::1", "loopback"),
        ("fd00:ec2::254", "private"),
        ("100.100.100.200", "not a public"),  # another cloud's metadata service, in shared address space
        ("0.0.0.0", "private"),  # noqa: S104 - an address to refuse, not to bind
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    refusal = scrm.Outbound().address_refusal(address)
    assert refusal is None if kind is None else kind in (refusal or "")


@pytest.mark.parametrize("url", ["ftp://files.example/x", "file:///etc/passwd", "gopher://127.0.0.1:6379/_PING"])
async def test_other_schemes_are_refused(url: str) -> None:
    guard = scrm.Outbound(["127.0.0.1"])
    assert "only http and https" in (await guard.refusal(url) or "")
    async with guard.client() as client:
        with pytest.raises(scrm.OutboundRefused, match="only http and https"):
            await client.get(url)


async def test_an_operator_allows_an_address_or_a_network(receiver: Receiver) -> None:
    for allow in (["127.0.0.1"], ["127.0.0.0/8"]):
        guard = scrm.Outbound(allow)
        assert await guard.refusal(f"http://127.0.0.1:{receiver.port}/") is None
        async with guard.client(timeout=5) as client:
            assert (await client.get(f"http://127.0.0.1:{receiver.port}/")).status_code == 204
    assert len(receiver.hosts) == 2


async def test_an_operator_allows_a_host_name(receiver: Receiver) -> None:
    guard = scrm.Outbound(["localhost"])
    async with guard.client(timeout=5) as client:
        response = await client.get(f"http://localhost:{receiver.port}/")
    assert response.status_code == 204


async def test_dns_rebinding_is_judged_on_the_address_connected_to(
    receiver: Receiver, resolve_as: dict[str, list[str]]
) -> None:
    """A name that is public when the URL is checked and loopback when it is sent to gains nothing:
    the transport resolves once, checks, and connects to that very address."""
    resolve_as["rebind.test"] = ["93.184.216.34", "127.0.0.1"]
    guard = scrm.Outbound()
    url = f"http://rebind.test:{receiver.port}/hook"
    assert await guard.refusal(url) is None  # looked public when given
    async with guard.client(timeout=5) as client:
        with pytest.raises(scrm.OutboundRefused, match=r"rebind.test resolves to 127.0.0.1, which is a loopback"):
            await client.get(url)
    assert receiver.hosts == []


async def test_the_connection_goes_to_the_checked_address(receiver: Receiver, resolve_as: dict[str, list[str]]) -> None:
    """The system resolver does not know the name: the request arrives because the transport
    connected to the address it resolved and checked itself, with the URL's host in the request."""
    resolve_as["hooks.allowed.test"] = ["127.0.0.1"]
    async with scrm.Outbound(["127.0.0.1"]).client(timeout=5) as client:
        assert (await client.get(f"http://hooks.allowed.test:{receiver.port}/")).status_code == 204
    assert receiver.hosts == [f"hooks.allowed.test:{receiver.port}"]


async def test_redirects_pass_the_guard_too(resolve_as: dict[str, list[str]], receiver: Receiver) -> None:
    """An allowed receiver answering 302 to a loopback address does not take the client there."""
    resolve_as["public.test"] = ["127.0.0.1"]
    with serving(redirect_to=f"http://127.0.0.1:{receiver.port}/") as redirecting:
        async with scrm.Outbound(["public.test"]).client(timeout=5, follow_redirects=True) as client:
            with pytest.raises(scrm.OutboundRefused, match="loopback"):
                await client.get(f"http://public.test:{redirecting.port}/")
        assert len(redirecting.hosts) == 1
    assert receiver.hosts == []


def test_the_setting(tmp_path: Path) -> None:
    def settings(value: str) -> Settings:
        return Settings.from_env({"SCRM_DATA_DIR": str(tmp_path), "SCRM_OUTBOUND_ALLOW": value})

    assert settings("").outbound_allow == ()
    assert settings(" Hooks.Internal, 10.2.0.0/16 ,::1").outbound_allow == ("hooks.internal", "10.2.0.0/16", "::1")
    with pytest.raises(SettingsError, match="SCRM_OUTBOUND_ALLOW"):
        settings("http://hooks.internal/")
    kernel_guard = scrm.Outbound(settings("hooks.internal,10.2.0.0/16").outbound_allow)
    assert kernel_guard.address_refusal("10.2.3.4") is None
    assert kernel_guard.address_refusal("10.3.0.1") is not None
