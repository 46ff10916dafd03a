"""What every handler and the request pipeline share: one :class:`Context` per sandbox."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dialer.clock import Clock
from dialer.sandbox.auth import ApiKey
from dialer.sandbox.calls_body import CallsBodyParser
from dialer.sandbox.faults import Faults
from dialer.sandbox.http import ApiRequest
from dialer.sandbox.idempotency import IdempotencyStore
from dialer.sandbox.ratelimit import RateLimiter
from dialer.sandbox.settings import SandboxConfig
from dialer.sandbox.world import World


@dataclass
class Context:
    """The sandbox's parts, handed to every handler with the request."""

    config: SandboxConfig
    clock: Clock
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


def api_key(request: ApiRequest) -> ApiKey:
    """The key that authenticated this request (set by the pipeline)."""
    assert request.key is not None, "the pipeline authenticates before any handler runs"
    return request.key
