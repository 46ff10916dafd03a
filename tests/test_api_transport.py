"""The aiohttp transport: bytes on the wire as sent, and every foreign failure mapped once."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from dialer.api.transport import FOREIGN_ERRORS, AiohttpTransport, encode_query
from dialer.errors import TransportError

seen: list[dict[str, Any]] = []


async def echo(request: web.Request) -> web.Response:
    seen.append(
        {
            "query": request.query_string,
            "body": await request.read(),
            "headers": dict(request.headers),
            "method": request.method,
        }
    )
    return web.json_response({"ok": True}, status=201, headers={"X-RateLimit-Remaining": "5"})


async def drop(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()
    return web.Response()


async def slow(_: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.Response()


@asynccontextmanager
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/drop", drop)
    app.router.add_get("/slow", slow)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield str(test_server.make_url("")).rstrip("/")
    finally:
        await test_server.close()


def test_query_escapes_plus_and_spaces() -> None:
    assert encode_query({"phone": "+972501234567"}) == "phone=%2B972501234567"
    assert encode_query({"q": "a b&c"}) == "q=a%20b%26c"
    assert encode_query(None) == ""


async def test_bytes_headers_and_query_arrive_as_sent() -> None:
    seen.clear()
    body = b'{"b":1,"a":"\xc3\xa9"}'
    transport = AiohttpTransport(timeout=5)
    try:
        async with server() as base:
            answer = await transport.request(
                "POST",
                f"{base}/echo",
                headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"},
                json_body=body,
                params={"phone": "+972501234567"},
            )
    finally:
        await transport.aclose()
    assert answer.status == 201
    assert answer.headers["x-ratelimit-remaining"] == "5"
    assert answer.body == b'{"ok": true}'
    (got,) = seen
    assert got["query"] == "phone=%2B972501234567"
    assert got["body"] == body
    assert got["headers"]["Idempotency-Key"] == "k-1"


@pytest.mark.parametrize("path", ["/drop", "/slow"])
async def test_a_dropped_or_slow_answer_is_a_transport_error(path: str) -> None:
    transport = AiohttpTransport(timeout=0.2)
    try:
        async with server() as base:
            with pytest.raises(TransportError) as caught:
                await transport.request(
                    "GET", f"{base}{path}", headers={}, json_body=None, params={"phone": "+9725"}
                )
    finally:
        await transport.aclose()
    assert caught.value.status == 0
    assert "+9725" not in str(caught.value)  # the query (a phone) stays out of messages
    assert path in str(caught.value)


async def test_a_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = AiohttpTransport(timeout=2)
    try:
        with pytest.raises(TransportError):
            await transport.request(
                "GET", f"http://127.0.0.1:{port}/", headers={}, json_body=None, params=None
            )
    finally:
        await transport.aclose()


class _RaisingSession:
    """Stands in for ``aiohttp.ClientSession``: every request raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def request(self, *_: Any, **__: Any) -> Any:
        error = self.error

        class _Context:
            async def __aenter__(self) -> None:
                raise error

            async def __aexit__(self, *_: object) -> None:
                return None

        return _Context()

    async def close(self) -> None:
        return None


def _key() -> aiohttp.client_reqrep.ConnectionKey:
    return aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)


#: Every failure aiohttp or asyncio can raise while we wait for an answer.
FOREIGN = [
    aiohttp.ClientConnectorError(_key(), OSError(111, "refused")),
    aiohttp.ServerDisconnectedError(),
    aiohttp.ClientOSError(104, "reset"),
    aiohttp.ClientPayloadError("truncated body"),
    aiohttp.ServerTimeoutError("read timeout"),
    aiohttp.ConnectionTimeoutError("connect timeout"),
    aiohttp.SocketTimeoutError("socket timeout"),
    aiohttp.ClientConnectionResetError("reset"),
    aiohttp.ServerFingerprintMismatch(b"a", b"b", "h", 1),
    aiohttp.ClientResponseError(cast(Any, None), (), status=400),
    aiohttp.ContentTypeError(cast(Any, None), ()),
    aiohttp.TooManyRedirects(cast(Any, None), ()),
    aiohttp.InvalidURL("http://"),
    aiohttp.ClientConnectionError("closed"),
    aiohttp.ClientError("anything else"),
    TimeoutError(),
    ConnectionResetError(104, "reset by peer"),
    ConnectionRefusedError(111, "refused"),
    BrokenPipeError(32, "broken pipe"),
    OSError(101, "network unreachable"),
]


@pytest.mark.parametrize("error", FOREIGN, ids=lambda e: type(e).__name__)
async def test_every_foreign_failure_becomes_a_transport_error(error: BaseException) -> None:
    assert isinstance(error, FOREIGN_ERRORS)
    session = cast(aiohttp.ClientSession, _RaisingSession(error))
    transport = AiohttpTransport(session=session)
    with pytest.raises(TransportError) as caught:
        await transport.request(
            "GET", "https://api.test/calls", headers={}, json_body=None, params=None
        )
    assert caught.value.__cause__ is error
    assert "GET /calls" in str(caught.value)


async def test_cancellation_is_never_mapped() -> None:
    session = cast(aiohttp.ClientSession, _RaisingSession(asyncio.CancelledError()))
    transport = AiohttpTransport(session=session)
    with pytest.raises(asyncio.CancelledError):
        await transport.request("GET", "https://api.test/", headers={}, json_body=None, params=None)
