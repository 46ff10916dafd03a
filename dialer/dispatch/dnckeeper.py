"""The company DNC list as a run sees it: the cached copy, kept younger than ``max_age``.

The cache is refreshed *before* it would grow too old (a margin ahead of ``max_age``), so when
a POST leaves the list it was screened against is never older than the campaign allows. The
gate asks :meth:`DncKeeper.is_fresh` right before each POST; a cache fetched "in the future"
(a clock that was ahead) counts as stale. Numbers that opt out during the run are blocked at
once, before the next refresh brings them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from dialer.clock import Clock
from dialer.dnc import DncIndex
from dialer.errors import ApiError

log = logging.getLogger(__name__)

#: Seconds between two tries when a refresh fails (the API still checks its list on every POST).
RETRY_SECONDS = 15.0

Fetch = Callable[[datetime], Awaitable[DncIndex]]


class DncKeeper:
    """The current DNC index and its age; :meth:`run` keeps it fresh."""

    def __init__(
        self,
        *,
        index: DncIndex,
        fetched_at: datetime | None,
        max_age: timedelta,
        clock: Clock,
        fetch: Fetch | None = None,
    ) -> None:
        self.index = index
        self.fetched_at = fetched_at
        self.max_age = max_age
        self._clock = clock
        self._fetch = fetch
        self._opted_out: dict[str, str] = {}
        self.refreshes = 0

    @property
    def margin(self) -> timedelta:
        """How long before ``max_age`` a refresh starts: a tenth of it, 5 s to 2 min."""
        return min(max(self.max_age / 10, timedelta(seconds=5)), timedelta(minutes=2))

    def is_fresh(self, now: datetime) -> bool:
        """Whether the cache may screen a POST leaving at ``now``."""
        fetched = self.fetched_at
        return fetched is not None and fetched <= now and now - fetched <= self.max_age

    def blocked(self, phone: str, *, agent_id: str, now: datetime) -> str | None:
        """Why ``phone`` must not be called by ``agent_id`` at ``now``, or None."""
        if phone in self._opted_out:
            return self._opted_out[phone]
        return self.index.match_reason(phone, agent_id=agent_id, now=now)

    def opt_out(self, phone: str) -> None:
        """Block a number that just asked not to be called, before the next refresh."""
        self._opted_out[phone] = "dnc: opted out on an earlier call (asked not to be called)"

    async def run(self) -> None:
        """Refresh the cache a margin before it grows too old, for as long as the run goes."""
        if self._fetch is None:
            return
        while True:
            due = self._refresh_due()
            await self._clock.sleep(max(0.0, (due - self._clock.now()).total_seconds()))
            if not await self.refresh():
                await self._clock.sleep(RETRY_SECONDS)

    async def refresh(self) -> bool:
        """Fetch the list now; False (and a warning) if the API could not give it."""
        if self._fetch is None:
            return False
        started = self._clock.now()
        try:
            self.index = await self._fetch(started)
        except ApiError as error:
            log.warning("could not refresh the DNC list, will retry: %s", error)
            return False
        self.fetched_at = started
        self.refreshes += 1
        return True

    def _refresh_due(self) -> datetime:
        """When the next refresh starts: a margin before the cache grows too old (now if it
        is stale already)."""
        now = self._clock.now()
        if not self.is_fresh(now) or self.fetched_at is None:
            return now
        return self.fetched_at + self.max_age - self.margin
