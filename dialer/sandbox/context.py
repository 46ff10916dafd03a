"""What every handler and the request pipeline share: one :class:`Context` per sandbox."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from dialer.clock import ScaledClock
from dialer.sandbox.auth import ApiKey
from dialer.sandbox.calls_body import CallsBodyParser
from dialer.sandbox.faults import Faults
from dialer.sandbox.idempotency import IdempotencyStore
from dialer.sandbox.ratelimit import RateLimiter
from dialer.sandbox.settings import SandboxConfig
from dialer.sandbox.world import World


@dataclass
class Context:
    """The sandbox's parts, reachable from a request as ``request.app[CONTEXT]``."""

    config: SandboxConfig
    clock: ScaledClock
    world: World
    keys: dict[str, ApiKey]
    limiter: RateLimiter
    faults: Faults
    parser: CallsBodyParser
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    status_counts: Counter[int] = field(default_factory=Counter)
    request_count: int = 0
    dropped_connections: int = 0

    def answered(self, status: int) -> None:
        """Count one answer the server gave."""
        self.request_count += 1
        self.status_counts[status] += 1


CONTEXT = web.AppKey("context", Context)
KEY = web.RequestKey("api_key", ApiKey)  # request-scoped: the authenticated key


def context(request: web.Request) -> Context:
    """The sandbox context of a request."""
    return request.app[CONTEXT]


def api_key(request: web.Request) -> ApiKey:
    """The key that authenticated this request (set by the pipeline)."""
    return request[KEY]


def json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer."""
    return web.json_response(body, status=status, headers=headers)
