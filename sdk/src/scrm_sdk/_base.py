"""The hand-written core of the clients: one request path for every generated method — encoding, safe
retries with backoff, idempotency keys on events, decoding into typed models, problems as exceptions."""

from __future__ import annotations

import asyncio
import datetime
import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

import httpx
import msgspec

from scrm_sdk.errors import problem_from

API_PREFIX = "/api/v1"
#: methods a server applies at most once whatever the number of calls: safe to resend after a lost answer
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE"})
#: operations made idempotent by the key the SDK adds (see :func:`with_idempotency_keys`)
KEYED_OPERATIONS = frozenset({"recordEvents"})
WORKSPACE_HEADER = "X-Scrm-Workspace"


class Operation(NamedTuple):
    """An API operation as the generated code names it."""

    method: str
    path: str
    tag: str
    name: str


@dataclass(frozen=True)
class Retry:
    """When and how often a request is sent again.

    A 429 or 503 answer and a connection that could not be made are retried for every operation
    (the server did nothing). A connection lost after the request was sent is retried only for an
    operation the server applies at most once: GET, PUT, DELETE, and recording events (each carries an
    idempotency key). Waits grow exponentially from ``backoff`` seconds (with jitter, at most
    ``max_backoff``), or follow the server's ``Retry-After``."""

    attempts: int = 4
    backoff: float = 0.25
    max_backoff: float = 8.0
    statuses: frozenset[int] = frozenset({429, 503})

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = response.headers.get("retry-after", "")
            if after.isdigit():
                return min(float(after), self.max_backoff)
        growing: float = self.backoff * 2.0**attempt
        return min(self.max_backoff, growing) * (0.5 + random.random() / 2)  # noqa: S311  # jitter, not a secret

    def may_resend(self, operation: Operation, operation_id: str, error: httpx.TransportError) -> bool:
        if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return True
        return operation.method in IDEMPOTENT_METHODS or operation_id in KEYED_OPERATIONS


def new_idempotency_key() -> str:
    return f"sdk-{uuid.uuid4().hex}"


def with_idempotency_keys(body: Any) -> Any:
    """Events (one, or a list) with an ``idempotency_key`` on each that had none: a resent request is
    then stored once. A caller's own key is kept."""
    if isinstance(body, list):
        return [with_idempotency_keys(item) for item in body]
    if isinstance(body, msgspec.Struct):
        key = getattr(body, "idempotency_key", None)
        if key is None or key is msgspec.UNSET:
            return msgspec.structs.replace(body, idempotency_key=new_idempotency_key())
        return body
    if isinstance(body, dict) and not body.get("idempotency_key"):
        return {**body, "idempotency_key": new_idempotency_key()}
    return body


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, list):
        return [_query_value(v) for v in value]
    return value


class Request(NamedTuple):
    operation: Operation
    operation_id: str
    url: str
    params: dict[str, Any]
    content: bytes | None
    headers: dict[str, str]

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``httpx`` clients' ``request`` that send it."""
        return {
            "method": self.operation.method,
            "url": self.url,
            "params": self.params,
            "content": self.content,
            "headers": self.headers,
        }


class BaseClient:
    """What both clients share: building a request and reading its answer."""

    #: the operations the client sends, by operation id (the generated ``OPERATIONS``)
    OPERATIONS: dict[str, Operation] = {}

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        timeout: float | httpx.Timeout,
        retry: Retry | None,
        workspace: str | None = None,
    ) -> None:
        self._operations = self.OPERATIONS
        self.retry = retry or Retry()
        self._headers = {"Accept": "application/json", "User-Agent": "scrm-sdk"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        if workspace:  # an operator key names the workspace it acts in
            self._headers[WORKSPACE_HEADER] = workspace
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout

    def _attach(self) -> None:
        """Make the namespaces (the generated mixin does)."""

    def _request(
        self,
        operation_id: str,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content: bytes | str | None = None,
        content_type: str | None = None,
        form: Any = None,
    ) -> Request:
        operation = self._operations[operation_id]
        url = operation.path
        for name, value in (path or {}).items():
            url = url.replace("{" + name + "}", quote(str(value), safe=""))
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        headers: dict[str, str] = {}
        data: bytes | None = None
        if body is not None:
            if operation_id in KEYED_OPERATIONS:
                body = with_idempotency_keys(body)
            data = msgspec.json.encode(body)
            headers["Content-Type"] = "application/json"
        elif content is not None:
            data = content.encode() if isinstance(content, str) else content
            headers["Content-Type"] = content_type or "application/octet-stream"
        elif form is not None:  # the OAuth endpoints: form fields, those left unset left out
            fields = msgspec.to_builtins(form)
            data = urlencode({k: v for k, v in fields.items() if v is not None}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return Request(operation, operation_id, url, params, data, headers)

    @staticmethod
    def _answer(response: httpx.Response, returns: Any) -> Any:
        if response.status_code >= 400:
            raise problem_from(response.status_code, response.content)
        if returns is None or returns == "None" or response.status_code == 204:
            return None
        if returns == "bytes":
            return response.content
        if isinstance(returns, tuple):  # an untagged choice of models: the first whose fields fit
            raw = msgspec.json.decode(response.content)
            for model in returns[:-1]:
                try:
                    return msgspec.convert(raw, model, strict=False)
                except msgspec.ValidationError:
                    continue
            return msgspec.convert(raw, returns[-1], strict=False)
        return msgspec.json.decode(response.content, type=returns)

    def _wait(
        self,
        request: Request,
        attempt: int,
        response: httpx.Response | None = None,
        error: httpx.TransportError | None = None,
    ) -> float | None:
        """Seconds to wait before sending ``request`` again after this attempt's answer or error;
        None when it is not sent again (the answer is the result, the error is raised)."""
        if attempt >= self.retry.attempts - 1:
            return None
        if error is not None:
            return (
                self.retry.delay(attempt, None)
                if self.retry.may_resend(request.operation, request.operation_id, error)
                else None
            )
        if response is not None and response.status_code in self.retry.statuses:
            return self.retry.delay(attempt, response)
        return None

    @staticmethod
    def _next_query(query: dict[str, Any] | None, page: Any) -> dict[str, Any] | None:
        cursor = getattr(page, "next_cursor", None)
        return None if not cursor else {**(query or {}), "cursor": cursor}


class SyncTransport(BaseClient):
    """The synchronous client, for scripts: ``with Client(url, api_key=key) as scrm: scrm.members.…``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        retry: Retry | None = None,
        workspace: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(base_url, api_key, timeout, retry, workspace)
        self._attach()
        self._http = httpx.Client(base_url=self._base_url, headers=self._headers, timeout=timeout, transport=transport)
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, operation_id: str, returns: Any, **parts: Any) -> Any:
        """Send one operation (what every generated method does), retrying as :class:`Retry` says."""
        request = self._request(operation_id, **parts)
        for attempt in itertools.count():
            try:
                response = self._http.request(**request.arguments())
            except httpx.TransportError as error:
                wait = self._wait(request, attempt, error=error)
                if wait is None:
                    raise
            else:
                wait = self._wait(request, attempt, response=response)
                if wait is None:
                    return self._answer(response, returns)
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def pages(self, operation_id: str, returns: Any, **parts: Any) -> Iterator[Any]:
        """Every item of a cursor-paginated list, page after page."""
        while True:
            page = self.call(operation_id, returns, **parts)
            yield from page.items
            query = self._next_query(parts.get("query"), page)
            if query is None:
                return
            parts = {**parts, "query": query}


class AsyncTransport(BaseClient):
    """The asyncio client: ``async with AsyncClient(url, api_key=key) as scrm: await scrm.members.…``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        retry: Retry | None = None,
        workspace: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout, retry, workspace)
        self._attach()
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            headers=self._headers,
            timeout=timeout,
            transport=transport,
            limits=limits or httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def call(self, operation_id: str, returns: Any, **parts: Any) -> Any:
        """Send one operation (what every generated method does), retrying as :class:`Retry` says."""
        request = self._request(operation_id, **parts)
        for attempt in itertools.count():
            try:
                response = await self._http.request(**request.arguments())
            except httpx.TransportError as error:
                wait = self._wait(request, attempt, error=error)
                if wait is None:
                    raise
            else:
                wait = self._wait(request, attempt, response=response)
                if wait is None:
                    return self._answer(response, returns)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def pages(self, operation_id: str, returns: Any, **parts: Any) -> AsyncIterator[Any]:
        """Every item of a cursor-paginated list, page after page."""
        while True:
            page = await self.call(operation_id, returns, **parts)
            for item in page.items:
                yield item
            query = self._next_query(parts.get("query"), page)
            if query is None:
                return
            parts = {**parts, "query": query}


class SyncNamespace:
    """The operations of one tag on a :class:`Client` (the generated classes add the methods)."""

    def __init__(self, client: Any) -> None:
        self._client: SyncTransport = client

    def _call(self, operation_id: str, returns: Any, **parts: Any) -> Any:
        return self._client.call(operation_id, returns, **parts)

    def _pages(self, operation_id: str, returns: Any, **parts: Any) -> Iterator[Any]:
        return self._client.pages(operation_id, returns, **parts)


class AsyncNamespace:
    """The operations of one tag on an :class:`AsyncClient`."""

    def __init__(self, client: Any) -> None:
        self._client: AsyncTransport = client

    async def _call(self, operation_id: str, returns: Any, **parts: Any) -> Any:
        return await self._client.call(operation_id, returns, **parts)

    def _pages(self, operation_id: str, returns: Any, **parts: Any) -> AsyncIterator[Any]:
        return self._client.pages(operation_id, returns, **parts)
