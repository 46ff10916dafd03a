"""Where time comes from: one injectable place, so tests and the sandbox can move it faster.

The core never reads the time itself; it takes ``now`` as an argument. The edges (api, store,
dispatch, sandbox) hold a :class:`Clock`. A :class:`ScaledClock` runs ``scale`` times faster than
the wall clock: the sandbox and the dispatcher share one so a 60-second call lasts 0.6 s at 100x.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of time and a way to wait on it, in this clock's seconds."""

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


def isoformat(moment: datetime) -> str:
    """The API's timestamp form: UTC, seconds precision with milliseconds, trailing ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant (``Z`` or offset); a naive value is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
