"""Outbound HTTP to addresses that operators and API clients give: the guard against SSRF.

A webhook receiver, a journey's webhook step or a provider's base URL is typed in by someone who may
not be trusted with the deployment's own network. Left alone, such a URL reaches what only the server
can reach: the cloud's metadata service (169.254.169.254, credentials included), Redis and
PostgreSQL on loopback, the private network behind the firewall. So every request to such a URL goes
through :meth:`Outbound.client`, whose transport

- refuses schemes other than http and https;
- resolves the host itself and refuses when any address it resolves to is not a public internet
  address (loopback, private, link-local and metadata, shared, reserved, multicast, unspecified —
  IPv4-mapped IPv6 addresses judged as the IPv4 they carry);
- then connects to the very address it checked, so a name that resolves to a public address when it
  is checked and to 127.0.0.1 a moment later (DNS rebinding) gains nothing; TLS still verifies the
  certificate against the URL's host name. Redirects, when a caller follows them, pass the same check.

``SCRM_OUTBOUND_ALLOW`` lets an operator allow what the guard would refuse: host names (allowed
whatever they resolve to) and addresses or networks (``10.2.0.0/16``), comma-separated. Proxies from
the environment are not used for these requests: the guard must judge the address really connected to.

:meth:`Outbound.refusal` judges a URL up front, so a create or update answers a clear 422 instead
of storing a URL no delivery could ever reach; the transport judges it again at send time, when the
address may have changed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = ("http", "https")
#: how long a check at create time waits for DNS
RESOLVE_TIMEOUT_S = 5.0
HINT = "an operator can allow it with SCRM_OUTBOUND_ALLOW"


class OutboundRefused(httpx.TransportError):
    """The guard refused a request before anything was sent: the message says why. A subclass of
    ``httpx.TransportError``, so code catching ``httpx.HTTPError`` still catches it — catch this first
    when a refusal must not be retried (the address will not become public by waiting)."""


def network(text: str) -> IPNetwork | None:
    """``text`` as an address or network (``10.0.0.5``, ``10.0.0.0/8``, ``::1``), or None when it is a
    host name."""
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        return None


class Outbound:
    """The deployment's outbound policy (``kernel.outbound``): what user-given URLs may reach."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.hosts = frozenset(a.lower() for a in allow if network(a) is None)
        self.networks = tuple(n for n in (network(a) for a in allow) if n is not None)

    def address_refusal(self, address: str) -> str | None:
        """What kind of address the guard refuses ``address`` (an IP) as, or None when it may connect."""
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in allowed for allowed in self.networks):
            return None
        if ip.is_loopback:
            return "a loopback address"
        if ip.is_link_local:
            return "a link-local address (where cloud metadata services answer)"
        if ip.is_private:
            return "a private network address"
        if not ip.is_global or ip.is_multicast:
            return "not a public internet address"
        return None

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` a request may connect to, in the resolver's order;
        :class:`OutboundRefused` when any of them is refused (a name pointing partly inside is
        refused whole). Every address of a host name the operator allowed is let through."""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if host.lower().rstrip(".") in self.hosts:
            return addresses
        for address in addresses:
            kind = self.address_refusal(address)
            if kind is not None:
                what = address if host.strip("[]") == address else f"{host} resolves to {address}, which"
                raise OutboundRefused(f"{what} is {kind}; scrm does not send there ({HINT})")
        return addresses

    async def refusal(self, url: str) -> str | None:
        """Why a request to ``url`` would be refused now, or None: for validating a URL when it is
        given. A host that does not resolve (yet) is not refused here; sending will tell."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            return f"not a valid URL: {exc}"
        if parsed.scheme not in SCHEMES:
            return f"only http and https URLs are allowed (got {parsed.scheme or 'no scheme'})"
        if not parsed.host:
            return "the URL has no host"
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                await self.resolve(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))
        except OutboundRefused as exc:
            return str(exc)
        except (httpcore.ConnectError, TimeoutError):
            return None
        return None

    def client(self, **options: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` whose every connection passes the guard; ``options`` are the
        client's own (``timeout``, ``follow_redirects``, ``headers`` …), but not ``transport`` or
        ``trust_env``."""
        return httpx.AsyncClient(transport=GuardedTransport(self), trust_env=False, **options)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with a connection pool whose network backend is :class:`_GuardedBackend`
    (httpx has no argument for a backend, so the pool it made is replaced by one that has it)."""

    def __init__(self, outbound: Outbound) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,  # httpx's defaults
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(outbound),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in SCHEMES:
            raise OutboundRefused(f"only http and https URLs are allowed (got {request.url.scheme})", request=request)
        try:
            return await super().handle_async_request(request)
        except OutboundRefused as exc:
            exc.request = request
            raise


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, and connects to the address it checked (never resolving twice)."""

    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound
        self.backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):  # resolving counts against the connect timeout
                addresses: Sequence[str] = await self.outbound.resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.backend.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("unix sockets are not reachable through the outbound guard")

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)
