"""A client transport straight into a sandbox in the same process: no socket, no sleep.

:class:`InProcessTransport` implements :class:`dialer.api.transport.Transport`, so the real
:class:`~dialer.api.client.YapprClient` (rate budget, retries, error map, models) talks to the
real sandbox pipeline (auth, rate limit, faults, idempotency, handlers) with nothing between
them but this module. A dropped connection is a :class:`~dialer.errors.TransportError`, as the
aiohttp transport maps it. On a virtual clock the whole exchange takes no wall time, which is
what lets a deterministic simulation run thousands of campaigns.

:meth:`InProcessTransport.sever` plays the client's process dying: every request still waiting
for its answer gets none, and no new request leaves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from multidict import CIMultiDict

from dialer.api.transport import RawResponse
from dialer.errors import TransportError
from dialer.sandbox.http import ApiReply, ApiRequest

Serve = Callable[[ApiRequest], Awaitable[ApiReply]]


class InProcessTransport:
    """Sends each request to ``serve`` (a sandbox's :meth:`~Sandbox.handle`)."""

    def __init__(self, serve: Serve) -> None:
        self._serve = serve
        self._severed = False
        self.sent = 0

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: bytes | None,
        params: Mapping[str, str] | None,
    ) -> RawResponse:
        """Hand the request to the sandbox and return its answer as the network would."""
        path = urlsplit(url).path or "/"
        if self._severed:
            raise TransportError(f"{method} {path} got no answer (the connection is gone)")
        self.sent += 1
        request = ApiRequest.build(
            method, path, query=params, headers=headers, body=json_body or b""
        )
        # The server side runs as its own task: a client that is cancelled or dies while
        # waiting does not stop the server from finishing (and taking effect), as on a network.
        reply = await asyncio.shield(asyncio.ensure_future(self._serve(request)))
        if reply.drop or self._severed:
            raise TransportError(
                f"{method} {path} got no answer (connection closed); the request may or may "
                "not have taken effect: retry with the same key"
            )
        return RawResponse(reply.status, CIMultiDict(reply.headers), reply.body)

    def sever(self) -> None:
        """The client is gone: answers still on their way are lost, nothing new is sent."""
        self._severed = True

    async def aclose(self) -> None:
        """Nothing to release."""
