"""What the parts of one run share, and the one way a decision is carried out.

:meth:`RunContext.carry` is where a :class:`~dialer.dispatch.decisions.Step` takes effect:
the ledger first (one transaction: the attempt's columns, its lead's move, an opt-out note),
then the book. Every part (the loop, the follower, recovery) goes through it, so the ledger
and the book can never disagree about an attempt.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from dialer.api.client import YapprClient
from dialer.clock import Clock
from dialer.dispatch.book import Awaited, Book, Open
from dialer.dispatch.decisions import Phase, Situation, Step
from dialer.dispatch.dnckeeper import DncKeeper
from dialer.dispatch.lines import LinePool
from dialer.dispatch.plan import MAYBE_LIVE, CampaignPlan, RunOptions
from dialer.errors import ApiError
from dialer.phones import mask
from dialer.store import Ledger

log = logging.getLogger("dialer.dispatch")


def seeded_ids(seed: int | None, *, salt: str = "") -> Callable[[], str]:
    """Attempt ids: random UUIDs, or a repeatable sequence for a seed (simulations), one
    sequence per ``salt`` (each campaign of a run has its own)."""
    if seed is None:
        return lambda: str(uuid.uuid4())
    rng = random.Random(f"attempt-ids:{seed}:{salt}")
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class RunContext:
    """One run of one campaign: its ledger, client, clock, book and what it has learned."""

    ledger: Ledger
    client: YapprClient
    plan: CampaignPlan
    clock: Clock
    options: RunOptions
    keeper: DncKeeper
    book: Book = field(default_factory=Book)
    rng: random.Random = field(default_factory=random.Random)
    new_id: Callable[[], str] = field(default_factory=lambda: seeded_ids(None))
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    pool: LinePool = field(default_factory=lambda: LinePool(10))  # the account's lines
    max_live_calls: int = 0  # the campaign's own cap
    stop_error: ApiError | None = None

    def __post_init__(self) -> None:
        self.max_live_calls = self.max_live_calls or self.plan.max_live_calls

    # -- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Our clock."""
        return self.clock.now()

    def api_latest(self) -> datetime:
        """The latest instant the API's clock may show now (an expiry passed only if here)."""
        return self.client.server_time.latest(self.clock.now())

    def api_earliest(self) -> datetime:
        """The earliest instant the API's clock may show now (a sync mark, a DNC expiry)."""
        return self.client.server_time.earliest(self.clock.now())

    # -- decisions -------------------------------------------------------------------------

    def situation(self, opened: Open, *, uncertain: bool = False) -> Situation:
        """What a decision needs to know about ``opened`` now."""
        return Situation(
            status=opened.status,
            phase=opened.phase,
            number=opened.attempt.number,
            uncertain=opened.uncertain or uncertain,
            policy=self.plan.retry,
            now=self.clock.now(),
            api_now=self.api_latest(),
        )

    def carry(self, opened: Open, step: Step) -> None:
        """Carry ``step`` out: the ledger, then the book; wake the loop."""
        now = self.clock.now()
        opt_out = opened.attempt.phone if step.opted_out else None
        self.ledger.record(
            opened.id,
            lead_id=opened.attempt.lead_id,
            now=now,
            facts=step.facts,
            move=step.move,
            opt_out=opt_out if self.plan.add_on_opt_out else None,
        )
        self.book.apply(opened, step)
        if opt_out is not None:
            self.keeper.opt_out(opt_out)
        if (
            step.phase is None
            and step.facts is not None
            and step.facts.analysis_status == "pending"
        ):
            self._await_analysis(opened, step, now)
        if step.stop is not None and self.stop_error is None:
            self.stop_error = step.stop
        if step.capacity_hint is not None:
            self._lower_cap()
        if step.phase == Phase.UNKNOWN and opened.due is None and opened.sent_at is not None:
            opened.due = opened.sent_at + MAYBE_LIVE
        self.wake.set()

    def _await_analysis(self, opened: Open, step: Step, now: datetime) -> None:
        call_id = step.call_id or opened.call_id
        if call_id:
            ended = step.facts.ended_at if step.facts and step.facts.ended_at else now
            self.book.await_analysis(Awaited(opened.id, opened.attempt.lead_id, call_id, ended))

    def _lower_cap(self) -> None:
        """A 202 queued: the company has fewer free lines than the account's pool assumed
        (the calls live before this one were all it had)."""
        self.pool.lower(self.pool.in_use() - 1)

    def describe(self, opened: Open) -> str:
        """An attempt for a log line: masked number and attempt id."""
        return f"{mask(opened.attempt.phone)} (attempt {opened.id})"
