"""Where time comes from: one injectable place, so tests and the sandbox can move it faster.

The core never reads the time itself; it takes ``now`` as an argument. The edges (api, store,
dispatch, sandbox) hold a :class:`Clock`. A :class:`ScaledClock` runs ``scale`` times faster than
the wall clock: the sandbox and the dispatcher share one so a 60-second call lasts 0.6 s at 100x.

A :class:`ManualClock` moves only when told to. Run a coroutine with :func:`run_virtual` and the
clock jumps straight to the next timer whenever every task is waiting, so a campaign of hours
runs in milliseconds, the same way every time (deterministic simulation, as the sandbox's
``MockTransport`` twin for time). A :class:`ShiftedClock` is another clock seen with an offset:
a local clock that runs ahead of, or behind, the API's.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """A source of time and a way to wait on it, in this clock's seconds."""

    @property
    def scale(self) -> float:
        """How many times faster than the wall clock this clock runs (1 for real time)."""
        ...

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def time(self) -> float:
        """The current instant as Unix seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...

    def to_real(self, seconds: float) -> float:
        """How many wall-clock seconds ``seconds`` of this clock's time take."""
        ...


class SystemClock:
    """The wall clock."""

    scale = 1.0

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return datetime.now(UTC)

    def time(self) -> float:
        """Unix seconds."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(max(0.0, seconds))

    def to_real(self, seconds: float) -> float:
        """Identity: the wall clock is real."""
        return seconds


class ScaledClock:
    """A clock that starts at ``start`` (default: now) and runs ``scale`` times the wall clock."""

    def __init__(self, scale: float = 1.0, *, start: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._origin = (start or datetime.now(UTC)).timestamp()
        self._mono0 = time.monotonic()

    def time(self) -> float:
        """Unix seconds on this clock: the origin plus scaled monotonic time since creation."""
        return self._origin + (time.monotonic() - self._mono0) * self.scale

    def now(self) -> datetime:
        """The current instant on this clock, timezone-aware UTC."""
        return datetime.fromtimestamp(self.time(), UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of clock time, i.e. ``seconds / scale`` on the wall clock."""
        await asyncio.sleep(max(0.0, seconds) / self.scale)

    def to_real(self, seconds: float) -> float:
        """Clock seconds in wall-clock seconds."""
        return seconds / self.scale


class ManualClock:
    """A clock that moves only when told to (:meth:`advance`), or, on the loop of
    :func:`run_virtual`, to the next timer whenever every task waits.

    Its :meth:`sleep` is the event loop's sleep: use it on a :func:`run_virtual` loop, where
    the loop's time *is* this clock. ``scale`` is 1: a clock second is a (virtual) second.
    """

    scale = 1.0

    def __init__(self, start: datetime) -> None:
        self._origin = start.timestamp()
        self.elapsed = 0.0  # seconds since ``start``; the virtual loop's time()

    def time(self) -> float:
        """Unix seconds on this clock."""
        return self._origin + self.elapsed

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never back). Any positive step moves the Unix
        time too: a wait shorter than its resolution (about 0.2 µs) still takes one tick, so
        code waiting for ``deadline - time()`` always gets there."""
        if seconds <= 0:
            return
        before = self.time()
        self.elapsed += seconds
        if self.time() <= before:
            self.elapsed = math.nextafter(before, math.inf) - self._origin

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time (on the virtual loop: no wall time at all)."""
        await asyncio.sleep(max(0.0, seconds))

    def to_real(self, seconds: float) -> float:
        """On the virtual loop, loop seconds are clock seconds."""
        return seconds


class ShiftedClock:
    """``base`` seen ``offset`` ahead (negative: behind): a local clock that is off."""

    def __init__(self, base: Clock, offset: timedelta) -> None:
        self.base = base
        self.offset = offset.total_seconds()

    @property
    def scale(self) -> float:
        """The base clock's speed."""
        return self.base.scale

    def time(self) -> float:
        """The base time plus the offset."""
        return self.base.time() + self.offset

    def now(self) -> datetime:
        """The base instant plus the offset."""
        return datetime.fromtimestamp(self.time(), UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep on the base clock (an offset does not change how long a second is)."""
        await self.base.sleep(seconds)

    def to_real(self, seconds: float) -> float:
        """The base clock's conversion."""
        return self.base.to_real(seconds)


class SimulationStuck(RuntimeError):
    """Every task waits and no timer is set: nothing can ever happen again."""


class _VirtualSelector(selectors.BaseSelector):
    """A selector with no I/O: "waiting" for ``timeout`` moves the clock by ``timeout``.

    The loop asks it once per iteration, so it is also where :func:`run_virtual` looks in
    after every step (``on_step``).
    """

    def __init__(self, clock: ManualClock, on_step: Callable[[], None] | None) -> None:
        self._clock = clock
        self._on_step = on_step
        self._keys: dict[Any, selectors.SelectorKey] = {}
        self.steps = 0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = selectors.SelectorKey(fileobj, _fd(fileobj), events, data)
        self._keys[fileobj] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._keys.pop(fileobj)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.steps += 1
        if self._on_step is not None:
            self._on_step()
        if timeout is None:
            raise SimulationStuck("every task is waiting and no timer is set")
        self._clock.advance(timeout)
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._keys

    def close(self) -> None:
        self._keys.clear()


def _fd(fileobj: Any) -> int:
    return fileobj if isinstance(fileobj, int) else int(fileobj.fileno())


class _VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop whose time is a :class:`ManualClock`'s elapsed seconds."""

    def __init__(self, clock: ManualClock, on_step: Callable[[], None] | None) -> None:
        self.clock = clock
        self.selector = _VirtualSelector(clock, on_step)
        super().__init__(self.selector)
        # a timer fires when it is due within this much: coarser than the float resolution
        # of the loop's time after years of virtual seconds (asyncio assumes nanoseconds)
        self._clock_resolution = 1e-6

    def time(self) -> float:
        return self.clock.elapsed


def run_virtual(
    main: Coroutine[Any, Any, T],
    clock: ManualClock,
    *,
    on_step: Callable[[], None] | None = None,
) -> T:
    """Run ``main`` to its end on ``clock``'s virtual time; returns its result.

    ``on_step`` runs between two steps of the loop (every await point is between two steps):
    a simulation checks its invariants there, or crashes a process. Raises
    :class:`SimulationStuck` if everything waits on something that can never happen.
    """
    loop = _VirtualLoop(clock, on_step)
    try:
        return loop.run_until_complete(main)
    finally:
        _cancel_rest(loop)
        loop.close()


def _cancel_rest(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and reap the tasks ``main`` left behind, as ``asyncio.run`` does."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def isoformat(moment: datetime) -> str:
    """The API's timestamp form: UTC, seconds precision with milliseconds, trailing ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant (``Z`` or offset); a naive value is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
