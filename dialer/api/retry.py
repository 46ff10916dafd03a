"""How long to wait before resending a request that got a retryable answer (or none)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from dialer.errors import RetryableError


@dataclass
class Backoff:
    """Capped exponential backoff with equal jitter, in clock seconds.

    Attempt ``n`` (0-based) waits between half and all of ``min(cap, base × 2**n)``: never
    (almost) zero, so a burst of failures cannot retry in lockstep, and never above ``cap``.
    """

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        ceiling = min(self.cap, self.base * 2.0**attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def wait_for(self, error: RetryableError, attempt: int) -> float:
        """The server's ``Retry-After`` when it gave one, else the backoff delay."""
        if error.retry_after is not None:
            return error.retry_after
        return self.delay(attempt)
