"""A transport that answers from a Python function: the whole client, no socket.

Shipped in the package (as httpx ships its ``MockTransport``) so users and tests can drive
:class:`dialer.api.client.YapprClient` through every answer the API can give::

    def handler(request: MockRequest) -> RawResponse:
        return json_response(201, {"id": "...", "status": "ringing"})

    client = YapprClient(base_url="https://api.test", api_key="k", transport=MockTransport(handler))
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from multidict import CIMultiDict

from dialer.api.transport import RawResponse


@dataclass(frozen=True, slots=True)
class MockRequest:
    """What the client sent: method, URL path, query, headers and the exact body bytes."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The URL path, e.g. ``/calls``."""
        return urlsplit(self.url).path

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when there is no body)."""
        return None if self.body is None else json.loads(self.body)


Handler = Callable[[MockRequest], RawResponse | Awaitable[RawResponse]]


def json_response(
    status: int, body: object, *, headers: Mapping[str, str] | None = None
) -> RawResponse:
    """A JSON answer with ``status``, ``body`` and extra ``headers``."""
    all_headers = CIMultiDict({"Content-Type": "application/json"})
    all_headers.update(headers or {})
    return RawResponse(status, all_headers, json.dumps(body).encode())


class MockTransport:
    """Calls ``handler`` for every request and records each one in ``requests``.

    The handler may be sync or async, and may raise ``TransportError`` to play a lost answer.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[MockRequest] = []
        self.closed = False

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: bytes | None,
        params: Mapping[str, str] | None,
    ) -> RawResponse:
        """Record the request and return the handler's answer."""
        sent = MockRequest(method, url, dict(headers), json_body, dict(params or {}))
        self.requests.append(sent)
        answer = self.handler(sent)
        if inspect.isawaitable(answer):
            return await answer
        return answer

    async def aclose(self) -> None:
        """Mark the transport closed."""
        self.closed = True
