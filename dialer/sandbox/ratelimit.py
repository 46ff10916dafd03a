"""The per-key rate limit: fixed 60-second windows aligned to clock minutes (docs/api.md §2).

Every request a key makes consumes one slot of the current window (4xx answers included); only
401s do not count, because without a valid key there is no window to charge. A request beyond the
limit is answered 429 and nothing in it is executed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dialer.clock import Clock

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Slot:
    """What one request got from the limiter, and the headers that describe it."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # clock Unix seconds when the window ends
    retry_after: int  # whole clock seconds until the window ends, never 0

    def headers(self) -> dict[str, str]:
        """X-RateLimit-* (every answer) plus Retry-After (429s only)."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    """Count requests per key per clock minute."""

    def __init__(self, clock: Clock, limit: int) -> None:
        self._clock = clock
        self.limit = limit
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window index, used)

    def take(self, key: str) -> Slot:
        """Consume a slot for ``key`` if one is left in this window."""
        index, used = self._current(key)
        allowed = used < self.limit
        if allowed:
            used += 1
            self._windows[key] = (index, used)
        return self._slot(index, used, allowed=allowed)

    def exhausted(self, key: str) -> Slot:
        """A 429 slot without consuming anything (a forced storm answer)."""
        index, _ = self._current(key)
        return self._slot(index, self.limit, allowed=False)

    def _current(self, key: str) -> tuple[int, int]:
        """This key's (window index, used) for the window the clock is in now."""
        index = math.floor(self._clock.time() / WINDOW_SECONDS)
        seen_index, used = self._windows.get(key, (index, 0))
        return (index, used) if seen_index == index else (index, 0)

    def _slot(self, index: int, used: int, *, allowed: bool) -> Slot:
        reset = (index + 1) * WINDOW_SECONDS
        # Round up so a client that waits Retry-After lands in the next window, never before it.
        wait = max(1, math.ceil(reset - self._clock.time()))
        return Slot(allowed, self.limit, max(0, self.limit - used), reset, wait)
