"""One rate budget per API key, shared by every request the client makes (calls, syncs, DNC).

The API counts requests in a FIXED 60-second window per key (docs/api.md §2) and says, on every
answer, what is left of the current window (``X-RateLimit-Remaining``) and when it ends
(``X-RateLimit-Reset``). A leaky bucket that starts full (``AsyncLimiter(60, 60)``) sends 60 at
once and ~120 in the first minute, half of them refused. So:

1. **Window known** (an answer told us Remaining and Reset, and that window is not over): the
   whole remaining allowance may be used at once, less the requests still in flight, and less
   every request whose answer was lost since the window may have begun (the API counted it,
   but no answer told us how much it left; answers come out of order, so a lost one cannot be
   taken off the smallest Remaining seen, which a later answer may repeat). When it is used
   up, everyone waits for the Reset (read on the API's clock, see
   :class:`~dialer.api.servertime.ServerTime`).
2. **Window not known** (no answer yet, the last window is over, or the API sends no headers):
   one request at a time, spaced by ``AsyncLimiter(1, interval)`` with
   ``interval = 60 / (limit × headroom)``; its answer tells the new window.
3. **Pause**: a 429's ``Retry-After`` stops everyone for that long.
4. **Memory**: when little of a window is left, ``remember`` is told (what is left, less the
   requests in flight), and a budget made with ``recalled`` starts from it. A process that
   starts after another died mid-window (the ledger keeps the note) then waits for that
   window's Reset instead of spending requests the dead one already spent.

Requests wait in one line ordered by :class:`Priority`: a call never waits behind a poll, and
polls only use what calls leave (in a known window they keep ``poll_reserve`` slots free).
``limit`` is ``min(configured, X-RateLimit-Limit)``. Time is read only from the injected
:class:`~dialer.clock.Clock`; aiolimiter and ``asyncio.timeout`` run on the event loop's time,
so waits are converted with ``clock.to_real``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import IntEnum

from aiolimiter import AsyncLimiter

from dialer.api.models import RateInfo
from dialer.api.servertime import ServerTime
from dialer.clock import Clock, SystemClock
from dialer.models import RateWindow

log = logging.getLogger("dialer.api.ratelimit")

WINDOW_SECONDS = 60.0
#: The API's documented per-key limit (docs/api.md §2).
DEFAULT_REQUESTS_PER_MINUTE = 60
#: A Reset value below this is a number of seconds from now, not a Unix time.
_UNIX_FLOOR = 1_000_000_000


class Priority(IntEnum):
    """Who goes first when requests wait for the budget (lower goes first)."""

    CALL = 0  # POST /calls: a lead waits on it
    NORMAL = 1  # DNC refreshes, look-ups, one-off reads
    POLL = 2  # outcome syncs and polls: only what calls leave


@dataclass
class _Window:
    """What the server last told us about its current window."""

    reset: float  # the API's Unix seconds when it ends
    remaining: int  # the smallest Remaining any answer from it gave
    recalled: bool = False  # from an earlier process's note, not from an answer of ours


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

    def cancel(self) -> None:
        """The request was not sent after all: give the slot back."""
        if not self.done:
            self.done = True
            self._budget._release(counted=False)


class RateBudget:
    """Paces every request of one API key under its per-minute limit; see the module docstring.

    ``headroom`` is the fraction of the limit paced at when no window is known;
    ``reset_margin`` (seconds) is added to a Reset before trusting that the window rolled over.
    """

    def __init__(
        self,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        *,
        clock: Clock | None = None,
        server_time: ServerTime | None = None,
        headroom: float = 0.95,
        reset_margin: float = 0.25,
        recalled: RateWindow | None = None,
        remember: Callable[[RateWindow], None] | None = None,
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.configured = requests_per_minute
        self.clock: Clock = clock or SystemClock()
        self.server_time = server_time or ServerTime()
        self._headroom = headroom
        self._margin = reset_margin
        self.limit = requests_per_minute
        self._limiter = self._new_limiter()
        self._window: _Window | None = None
        self._paused_until = 0.0
        self._in_flight = 0
        self._lost: deque[float] = deque()  # our times of requests whose answer was lost
        self._line: list[tuple[int, float, int]] = []  # (priority, order, ticket) in line
        self._tickets = itertools.count()
        self._changed = asyncio.Event()
        self.latest = RateInfo()
        self.requests_sent = 0
        self.rate_limited = 0
        self._remember = remember
        if recalled is not None:
            self._recall(recalled)

    # ------------------------------------------------------------------ the arithmetic

    @property
    def interval(self) -> float:
        """Clock seconds between two requests when no window is known."""
        return WINDOW_SECONDS / (self.limit * self._headroom)

    @property
    def poll_reserve(self) -> int:
        """Slots of a known window that polls leave for calls (a tenth of the limit)."""
        return max(1, math.ceil(self.limit / 10))

    @property
    def _low(self) -> int:
        """At or under this many requests left, a window is worth remembering: more than a
        new process could send before its first answer tells it the window."""
        return max(2, math.ceil(self.limit / 10))

    def _new_limiter(self) -> AsyncLimiter:
        """A bucket of one (no burst) that refills once per interval, in wall-clock seconds."""
        return AsyncLimiter(1, self.clock.to_real(self.interval))

    def _current_window(self, now: float) -> _Window | None:
        """The window we know about, or None once it is over (on the API's clock)."""
        window = self._window
        if window is None or now < self._reset_local(window):
            return window
        if window.recalled and not self.server_time.samples:
            return window  # over only once the API's clock is known: it may be far behind
        self._window = None
        return None

    def _left(self, window: _Window) -> int:
        """What is left of ``window``: its smallest Remaining, less every request whose answer
        was lost late enough that the API may have counted it in this window."""
        begins = window.reset - WINDOW_SECONDS
        while self._lost and self.server_time.api_latest(self._lost[0]) < begins - WINDOW_SECONDS:
            self._lost.popleft()  # two windows back: counted long before any we may learn
        lost = sum(1 for t in self._lost if self.server_time.api_latest(t) >= begins)
        return max(0, window.remaining - lost)

    def _reset_local(self, window: _Window) -> float:
        """Our time by which the API's clock has surely passed the window's Reset."""
        return self.server_time.local_when_passed(window.reset) + self._margin

    def _delay(self, priority: Priority) -> float:
        """Clock seconds until a request of ``priority`` at the head of the line may go."""
        now = self.clock.time()
        if self._paused_until > now:
            return self._paused_until - now
        window = self._current_window(now)
        if window is not None:
            free = self._left(window) - self._in_flight
            keep = self.poll_reserve if priority == Priority.POLL else 0
            return 0.0 if free > keep else self._reset_local(window) - now
        if self._limiter.has_capacity():
            return 0.0
        return self.interval / 4  # look again soon (the limiter refills within an interval)

    # ------------------------------------------------------------------ waiting in line

    async def acquire(self, priority: Priority = Priority.NORMAL, order: float = 0.0) -> None:
        """Wait until one more request may go; the caller must then report it (see slot()).
        Within a priority, a lower ``order`` goes first (then first come, first served)."""
        ticket = (int(priority), order, next(self._tickets))
        heapq.heappush(self._line, ticket)
        try:
            while True:
                changed = self._changed
                delay = self._delay(priority) if self._line[0] == ticket else None
                if delay is not None and delay <= 0:
                    break
                await self._wait(changed, delay)
        except BaseException:
            self._line.remove(ticket)
            heapq.heapify(self._line)
            self._notify()
            raise
        heapq.heappop(self._line)
        if self._window is None:
            await self._limiter.acquire()  # has capacity: takes no time
        self._in_flight += 1
        self.requests_sent += 1
        self._notify()  # the next in line may go too (a known window allows many at once)

    async def _wait(self, changed: asyncio.Event, delay: float | None) -> None:
        """The head of the line sleeps ``delay`` on the clock (a pause, a reset or the pace:
        nothing makes those shorter); everyone else waits until the line moves."""
        if delay is None:
            await changed.wait()
        else:
            # at least a millisecond: a wait shorter than the clock can tell apart would
            # leave the clock where it was, and the line would look again forever
            await self.clock.sleep(max(delay, 0.001))

    def _notify(self) -> None:
        """Wake everyone in line to look again."""
        self._changed.set()
        self._changed = asyncio.Event()

    @asynccontextmanager
    async def slot(
        self, priority: Priority = Priority.NORMAL, order: float = 0.0
    ) -> AsyncIterator[Slot]:
        """``async with budget.slot() as s: ...; s.observe(status, headers)``."""
        await self.acquire(priority, order)
        claim = Slot(self)
        try:
            yield claim
        finally:
            if not claim.done:
                self._release(counted=True)

    # ------------------------------------------------------------------ answers

    def _observe(self, status: int, headers: Mapping[str, str]) -> RateInfo:
        """Learn from one answer: the limit, the window, and a 429's pause."""
        self._in_flight -= 1
        now = self.clock.time()
        info = parse_rate_headers(headers, now=self.server_time.api_time(now))
        if info != RateInfo():  # an answer without rate headers (e.g. a 401) changes nothing
            self.latest = info
        if info.limit is not None:
            self._follow_limit(info.limit)
        if info.remaining is not None and info.reset is not None:
            self._learn_window(info.reset, info.remaining)
        if status == 429:
            self._on_429(info, now)
        self._notify()
        return info

    def _follow_limit(self, header_limit: int) -> None:
        """Pace at min(configured, header): a lowered limit slows us, a raised one never
        takes us above the campaign setting."""
        limit = max(1, min(self.configured, header_limit))
        if limit != self.limit:
            log.info("rate limit now %d/min (configured %d)", limit, self.configured)
            self.limit = limit
            self._limiter = self._new_limiter()

    def _learn_window(self, reset: float, remaining: int) -> None:
        """Keep the newest window; within one window the smallest Remaining is the truest
        (answers may arrive out of order; Remaining values in a window are consecutive)."""
        window = self._window
        if window is None or reset > window.reset:
            self._window = window = _Window(reset, remaining)
        elif reset == window.reset:
            window.remaining = min(window.remaining, remaining)
        else:
            return
        left = max(0, self._left(window) - self._in_flight)
        if left <= self._low:
            self._note(RateWindow(window.reset, left, self.limit))

    def _note(self, window: RateWindow) -> None:
        """Tell ``remember`` what is left. A note that cannot be written (a ledger locked or
        full) costs the next process a slower start, never this answer: it is logged."""
        if self._remember is None:
            return
        try:
            self._remember(window)
        except Exception as error:  # the answer in hand matters more than the note
            log.warning("could not note the rate window: %s", error)

    def _recall(self, recalled: RateWindow) -> None:
        """Start from what an earlier process knew, unless its window is long over (no
        clock is an hour off)."""
        if recalled.reset < self.clock.time() - 3600:
            return
        self._window = _Window(recalled.reset, recalled.remaining, recalled=True)
        self._follow_limit(recalled.limit)
        log.info("the last run left %d requests of its rate window", recalled.remaining)

    def _on_429(self, info: RateInfo, now: float) -> None:
        """Pause everyone for Retry-After (else until the Reset, else one interval)."""
        self.rate_limited += 1
        wait = info.retry_after
        if wait is None and info.reset is not None:
            wait = self.server_time.local_when_passed(info.reset) - now
        pause = max(wait or 0.0, self.interval)
        self._paused_until = max(self._paused_until, now + pause)
        if self._window is not None:
            self._window.remaining = 0
            self._note(RateWindow(self._window.reset, 0, self.limit))
        log.warning("429 from the API: everyone pauses %.1f s", pause)

    def _release(self, *, counted: bool) -> None:
        """A request ended with no answer (``counted``: it may have used a slot, so assume
        it did), or was never sent."""
        self._in_flight -= 1
        if counted:
            self._lost.append(self.clock.time())
        self._notify()

    def __repr__(self) -> str:
        return (
            f"RateBudget(limit={self.limit}/min, configured={self.configured}, "
            f"sent={self.requests_sent}, rate_limited={self.rate_limited})"
        )
