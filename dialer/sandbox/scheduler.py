"""One task that runs every due sandbox event, in clock time.

Calls, queue drains, call-request steps and analysis results are all timed events. Keeping them
in one heap (instead of a task per call) lets the sandbox run thousands of calls at 100x without
thousands of sleeping tasks, and keeps the order of simultaneous events deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from dialer.clock import Clock


@dataclass(order=True)
class _Event:
    due: float
    seq: int
    action: Callable[[], None] = field(compare=False)


class Scheduler:
    """Run plain callbacks at clock instants; callbacks must not block or await."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[_Event] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def at(self, due: float, action: Callable[[], None]) -> None:
        """Run ``action`` once the clock reaches ``due`` (Unix seconds on the clock)."""
        heapq.heappush(self._heap, _Event(due, next(self._seq), action))
        if self._heap[0].due == due:
            self._wake.set()

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` ``seconds`` of clock time from now."""
        self.at(self._clock.time() + seconds, action)

    @property
    def pending(self) -> int:
        """How many events are still waiting."""
        return len(self._heap)

    def start(self) -> None:
        """Start the runner task on the current loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Cancel the runner; events still waiting are dropped."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def run_due(self) -> None:
        """Run every event whose time has come, in (time, insertion) order."""
        while self._heap and self._heap[0].due <= self._clock.time():
            heapq.heappop(self._heap).action()

    async def _run(self) -> None:
        """Sleep until the earliest event (or a newly added earlier one), then run what is due."""
        while True:
            self._wake.clear()
            self.run_due()
            timeout = None
            if self._heap:
                timeout = max(0.0, self._clock.to_real(self._heap[0].due - self._clock.time()))
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that races with the wake-up, and stop() would wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
