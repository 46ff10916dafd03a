"""The transport seam: the only module that imports the aiohttp client.

The client speaks to a :class:`Transport`: bytes out, status + headers + bytes back. The real
one, :class:`AiohttpTransport`, keeps one pooled ``ClientSession`` and is the one place where
aiohttp's and asyncio's exceptions become :class:`dialer.errors.TransportError` (no HTTP answer
at all). Tests and users swap in :class:`dialer.api.mock.MockTransport` to run the whole client
without a socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from dialer.errors import TransportError

#: Everything that means "no HTTP answer": refused, reset, dropped mid-body, timed out.
#: ``aiohttp.ClientError`` covers ClientConnectorError, ServerDisconnectedError, ClientOSError,
#: ClientPayloadError, ServerTimeoutError and the rest; a bare ``OSError`` or ``TimeoutError``
#: can still escape aiohttp while a body is read. ``asyncio.CancelledError`` is never mapped.
FOREIGN_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    TimeoutError,  # asyncio.TimeoutError is the same class since Python 3.11
    OSError,
)


@dataclass(frozen=True, slots=True)
class RawResponse:
    """One HTTP answer as bytes; header names are case-insensitive."""

    status: int
    headers: Mapping[str, str] = field(default_factory=lambda: CIMultiDict[str]())
    body: bytes = b""


class Transport(Protocol):
    """Sends one request and returns the answer, or raises ``TransportError`` when there is none."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: bytes | None,
        params: Mapping[str, str] | None,
    ) -> RawResponse:
        """Send ``method url?params`` with ``headers`` and the exact ``json_body`` bytes."""
        ...

    async def aclose(self) -> None:
        """Release connections; the transport is not used again."""
        ...


def encode_query(params: Mapping[str, str] | None) -> str:
    """A query string where every reserved character is escaped: ``+`` travels as ``%2B``."""
    if not params:
        return ""
    return urlencode(params, quote_via=quote, safe="")


def path_of(url: str) -> str:
    """The path of ``url``, for messages: never the query (it may carry a phone number)."""
    return urlsplit(url).path or "/"


class AiohttpTransport:
    """The network transport: one ``ClientSession`` with a bounded connection pool.

    ``pool_size`` caps open connections: the live-call cap plus a few for syncs is plenty, the
    rate budget keeps far fewer requests in flight. ``timeout`` is in wall-clock seconds: it is
    about the network, not about the (possibly scaled) campaign clock.
    """

    def __init__(
        self,
        *,
        pool_size: int = 16,
        timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._pool_size = pool_size
        self._timeout = timeout
        self._session = session

    def _open(self) -> aiohttp.ClientSession:
        """The session, created on first use (it must be made inside the running loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                auto_decompress=True,
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: bytes | None,
        params: Mapping[str, str] | None,
    ) -> RawResponse:
        """Send one request; any failure to get a complete answer raises ``TransportError``."""
        query = encode_query(params)
        full = f"{url}?{query}" if query else url
        try:
            return await self._send(method, full, headers, json_body)
        except FOREIGN_ERRORS as exc:
            raise TransportError(
                f"{method} {path_of(url)} got no answer ({type(exc).__name__}); "
                "the request may or may not have taken effect: retry with the same key"
            ) from exc

    async def _send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> RawResponse:
        """The aiohttp call itself; the URL is already encoded, so it is sent as is."""
        session = self._open()
        async with session.request(
            method,
            URL(url, encoded=True),
            headers=dict(headers),
            data=body,
            allow_redirects=False,
        ) as response:
            payload = await response.read()
            return RawResponse(response.status, response.headers, payload)

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
