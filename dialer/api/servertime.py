"""What we know of the API's clock: its offset from ours, as an interval that always holds it.

Every answer carries ``Date`` (whole seconds of the server's clock when it answered). A request
sent at our local time ``s`` and answered at ``r`` with ``Date: D`` was answered at some server
instant ``g`` in ``[D, D + 1)`` and some local instant in ``[s, r]``, so

    offset = server - local  lies in  [D - r, D + 1 - s].

Each answer narrows the interval (their intersection); one that does not fit the interval at
all means a clock was stepped, and starts it afresh. Before any answer the offset is assumed to
be within ``assumed`` seconds of zero (a clock kept by NTP).

The dispatcher uses the interval to keep promises that depend on the API's time: a calling
window must be open for every instant the API's clock may show (:meth:`span`), a hold's expiry
has passed only when it has on every reading, and sync marks are kept on the API's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


@dataclass
class ServerTime:
    """The API clock's offset from ours (seconds), known to lie in ``[low, high]``."""

    assumed: float = 2.0
    low: float = -2.0
    high: float = 2.0
    samples: int = 0

    def observe(self, date: str | None, *, sent: float, received: float) -> None:
        """Learn from one answer's ``Date`` header and our send/receive times (Unix seconds)."""
        if not date:
            return
        try:
            server = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        low, high = server - received, server + 1.0 - sent
        if self.samples and max(low, self.low) <= min(high, self.high):
            low, high = max(low, self.low), min(high, self.high)
        self.low, self.high = low, high
        self.samples += 1

    def span(self, local: datetime) -> tuple[datetime, datetime]:
        """The earliest and latest instant the API's clock may show when ours shows ``local``."""
        return local + timedelta(seconds=self.low), local + timedelta(seconds=self.high)

    def earliest(self, local: datetime) -> datetime:
        """The earliest API time at our ``local`` (a mark to sync from, never too late)."""
        return local + timedelta(seconds=self.low)

    def latest(self, local: datetime) -> datetime:
        """The latest API time at our ``local`` (an expiry has passed only if it has here)."""
        return local + timedelta(seconds=self.high)

    def api_time(self, local: float) -> float:
        """The API's Unix time at our ``local`` Unix time (its earliest possible reading)."""
        return local + self.low

    def api_latest(self, local: float) -> float:
        """The API's Unix time at our ``local`` Unix time (its latest possible reading)."""
        return local + self.high

    def local_when_passed(self, api_instant: float) -> float:
        """Our Unix time by which the API's clock has surely reached ``api_instant``."""
        return api_instant - self.low

    def __str__(self) -> str:
        return f"API clock {self.low:+.2f}..{self.high:+.2f} s from ours ({self.samples} answers)"
