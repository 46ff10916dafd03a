"""One rate budget per API key, shared by every request the client makes (calls, syncs, DNC).

The API counts requests in a FIXED 60-second window per key (CONTRACT §2). A leaky bucket that
starts full (``AsyncLimiter(60, 60)``) sends 60 at once and ~120 in the first minute, half of
them refused. So three layers, cheapest first:

1. **Pace**: ``AsyncLimiter(1, interval)``, one request per ``interval`` with no burst, where
   ``interval = 60 / (limit × headroom)``: slightly under the limit, so network jitter cannot
   push one request too many into a window. ``limit`` is ``min(configured, X-RateLimit-Limit)``.
2. **Window gate**: every answer says what is left (``X-RateLimit-Remaining``) until when
   (``X-RateLimit-Reset``, Unix seconds). When what is left minus the requests still in flight
   reaches 0, everyone waits for the reset.
3. **Pause**: a 429's ``Retry-After`` stops everyone for that long.

Time is read only from the injected :class:`~dialer.clock.Clock`; aiolimiter runs on the event
loop's time, so its interval is converted with ``clock.to_real`` (a 100× ScaledClock paces 100×
faster in wall time and exactly as fast in clock time).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from aiolimiter import AsyncLimiter

from dialer.api.models import RateInfo
from dialer.clock import Clock, SystemClock

log = logging.getLogger("dialer.api.ratelimit")

WINDOW_SECONDS = 60.0
#: A Reset value below this is a number of seconds from now, not a Unix time.
_UNIX_FLOOR = 1_000_000_000


@dataclass
class _Window:
    """What the server last told us about its current window."""

    reset: float  # clock Unix seconds when it ends
    remaining: int  # slots left as of the latest answer from it


def _number(value: str | None) -> float | None:
    """A header as a float, or None when it is missing or not a number."""
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """``Retry-After`` in seconds: whole seconds (R4) or an HTTP date; never negative."""
    seconds = _number(value)
    if seconds is None and value:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    return None if seconds is None else max(0.0, seconds)


def parse_rate_headers(headers: Mapping[str, str], *, now: float) -> RateInfo:
    """Read X-RateLimit-Limit/Remaining/Reset and Retry-After; missing ones stay None."""
    limit = _number(headers.get("X-RateLimit-Limit"))
    remaining = _number(headers.get("X-RateLimit-Remaining"))
    reset = _number(headers.get("X-RateLimit-Reset"))
    if reset is not None and reset < _UNIX_FLOOR:  # a delta, as some gateways send
        reset = now + reset
    return RateInfo(
        limit=None if limit is None else int(limit),
        remaining=None if remaining is None else int(remaining),
        reset=reset,
        retry_after=parse_retry_after(headers.get("Retry-After"), now=now),
    )


class Slot:
    """One request's claim on the budget; report its answer with :meth:`observe`."""

    def __init__(self, budget: RateBudget) -> None:
        self._budget = budget
        self.done = False

    def observe(self, status: int, headers: Mapping[str, str]) -> RateInfo:
        """Feed the answer's status and headers back into the budget (once)."""
        if self.done:
            return self._budget.latest
        self.done = True
        return self._budget._observe(status, headers)


class RateBudget:
    """Paces every request of one API key under its per-minute limit; see the module docstring.

    ``headroom`` is the fraction of the limit paced at; ``reset_margin`` (clock seconds) is
    added to a Reset before trusting that the server's window has rolled over.
    """

    def __init__(
        self,
        requests_per_minute: int = 60,
        *,
        clock: Clock | None = None,
        headroom: float = 0.95,
        reset_margin: float = 0.5,
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.configured = requests_per_minute
        self.clock: Clock = clock or SystemClock()
        self._headroom = headroom
        self._margin = reset_margin
        self.limit = requests_per_minute
        self._limiter = self._new_limiter()
        self._window: _Window | None = None
        self._paused_until = 0.0
        self._in_flight = 0
        self.latest = RateInfo()
        self.requests_sent = 0
        self.rate_limited = 0
        self.holds = 0

    # ------------------------------------------------------------------ pacing

    @property
    def interval(self) -> float:
        """Clock seconds between two requests at the current limit."""
        return WINDOW_SECONDS / (self.limit * self._headroom)

    def _new_limiter(self) -> AsyncLimiter:
        """A bucket of one (no burst) that refills once per interval, in wall-clock seconds."""
        return AsyncLimiter(1, self.clock.to_real(self.interval))

    def _follow_limit(self, header_limit: int) -> None:
        """Pace at min(configured, header): a lowered limit slows us, a raised one never
        takes us above the campaign setting."""
        limit = max(1, min(self.configured, header_limit))
        if limit != self.limit:
            log.info("rate limit now %d/min (configured %d)", limit, self.configured)
            self.limit = limit
            self._limiter = self._new_limiter()

    async def _pace(self) -> None:
        """Take the next paced slot; if the limit changed meanwhile, take one at the new pace."""
        limiter = self._limiter
        await limiter.acquire()
        while limiter is not self._limiter:
            limiter = self._limiter
            await limiter.acquire()

    # ------------------------------------------------------------------ gates

    def _gate_delay(self) -> float:
        """Clock seconds everyone must still wait (0 when a request may go now)."""
        now = self.clock.time()
        delay = self._paused_until - now
        window = self._window
        if window is not None and window.reset + self._margin <= now:
            self._window = window = None  # that window is over; the next answer says more
        if window is not None and window.remaining - self._in_flight <= 0:
            delay = max(delay, window.reset + self._margin - now)
        return max(0.0, delay)

    async def _wait_for_gates(self) -> None:
        """Sleep (on the clock) while a 429 pause or an exhausted window holds everyone."""
        while (delay := self._gate_delay()) > 0:
            self.holds += 1
            log.debug("rate budget holding for %.2f s", delay)
            await self.clock.sleep(delay)

    async def acquire(self) -> None:
        """Wait until one more request may go; the caller must then report it (see slot())."""
        while True:
            await self._wait_for_gates()
            await self._pace()
            if self._gate_delay() <= 0:  # an answer may have closed the gate while we paced
                break
        self._in_flight += 1
        self.requests_sent += 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """``async with budget.slot() as s: ...; s.observe(status, headers)``."""
        await self.acquire()
        claim = Slot(self)
        try:
            yield claim
        finally:
            if not claim.done:
                self._abandon()

    # ------------------------------------------------------------------ answers

    def _observe(self, status: int, headers: Mapping[str, str]) -> RateInfo:
        """Learn from one answer: the limit, the window, and a 429's pause."""
        self._in_flight -= 1
        now = self.clock.time()
        info = parse_rate_headers(headers, now=now)
        if info != RateInfo():  # an answer without rate headers (e.g. a 401) changes nothing
            self.latest = info
        if info.limit is not None:
            self._follow_limit(info.limit)
        if info.remaining is not None and info.reset is not None:
            self._learn_window(info.reset, info.remaining)
        if status == 429:
            self._on_429(info, now)
        return info

    def _learn_window(self, reset: float, remaining: int) -> None:
        """Keep the newest window; within one window the smallest Remaining is the truest
        (answers may arrive out of order; Remaining values in a window are consecutive)."""
        window = self._window
        if window is None or reset > window.reset:
            self._window = _Window(reset, remaining)
        elif reset == window.reset:
            window.remaining = min(window.remaining, remaining)

    def _on_429(self, info: RateInfo, now: float) -> None:
        """Pause everyone for Retry-After (else until the Reset, else one interval)."""
        self.rate_limited += 1
        wait = info.retry_after
        if wait is None and info.reset is not None:
            wait = info.reset - now
        pause = max(wait or 0.0, self.interval)
        self._paused_until = max(self._paused_until, now + pause)
        log.warning("429 from the API: everyone pauses %.1f s", pause)

    def _abandon(self) -> None:
        """A request ended with no answer: it may have been counted, so assume it was."""
        self._in_flight -= 1
        if self._window is not None:
            self._window.remaining = max(0, self._window.remaining - 1)

    def __repr__(self) -> str:
        return (
            f"RateBudget(limit={self.limit}/min, configured={self.configured}, "
            f"sent={self.requests_sent}, rate_limited={self.rate_limited})"
        )
