"""The sandbox's own request and answer types, and its router: no web framework in here.

Every request, whether it came over a socket (:mod:`dialer.sandbox.server`, aiohttp) or
straight from a client in the same process (:mod:`dialer.sandbox.inprocess`), becomes an
:class:`ApiRequest` and goes through the same pipeline and handlers. So the in-process
transport is not a copy of the API: it is the API without the socket.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy, MultiMapping

if TYPE_CHECKING:
    from dialer.sandbox.auth import ApiKey
    from dialer.sandbox.context import Context


@dataclass
class ApiRequest:
    """One request as the handlers see it: route, path ids, query, headers, body bytes."""

    method: str
    path: str
    query: MultiMapping[str]
    headers: CIMultiDictProxy[str]
    body: bytes = b""
    route: str = ""  # the template it matched, e.g. ``/calls/{call_id}``
    match_info: dict[str, str] = field(default_factory=dict)
    key: ApiKey | None = None  # set by the pipeline once the caller is authenticated

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> ApiRequest:
        """A request from plain values (the in-process transport and tests)."""
        return cls(
            method=method.upper(),
            path=path or "/",
            query=MultiDictProxy(MultiDict(query or {})),
            headers=CIMultiDictProxy(CIMultiDict(headers or {})),
            body=body,
        )


@dataclass
class ApiReply:
    """One answer: status, headers and body bytes.

    ``drop``: the effect happened but the connection is closed with no answer (a fault).
    """

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def json(body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> ApiReply:
    """A JSON answer."""
    return ApiReply(
        status,
        jsonlib.dumps(body).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


Handler = Callable[["Context", ApiRequest], Awaitable[ApiReply]]


class Router:
    """Route templates (``/calls/{call_id}``) to handlers, matched segment by segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, tuple[str, ...], Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Serve ``method template`` with ``handler``."""
        self._routes.append((method.upper(), _segments(template), handler))

    def resolve(self, request: ApiRequest) -> Handler | None:
        """The handler for the request (its route and ids filled in), or None when there is
        none: ``request.route`` is then set only if the path exists for another method."""
        parts = _segments(request.path)
        for method, template, handler in self._routes:
            found = _match(template, parts)
            if found is None:
                continue
            request.route = "/" + "/".join(template)
            if method == request.method:
                request.match_info = found
                return handler
        return None

    def templates(self) -> list[str]:
        """Every ``METHOD /template`` served, in the order they were added."""
        return [f"{m} /{'/'.join(t)}" for m, t, _ in self._routes]


def _segments(path: str) -> tuple[str, ...]:
    """The path's segments, each percent-decoded (an id can never add a segment)."""
    return tuple(unquote(part) for part in path.split("/") if part)


def _match(template: tuple[str, ...], parts: tuple[str, ...]) -> dict[str, str] | None:
    """The ``{name}`` values if ``parts`` fits ``template``, else None."""
    if len(template) != len(parts):
        return None
    found: dict[str, str] = {}
    for pattern, part in zip(template, parts, strict=True):
        if pattern.startswith("{") and pattern.endswith("}"):
            found[pattern[1:-1]] = part
        elif pattern != part:
            return None
    return found
