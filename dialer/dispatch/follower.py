"""Following calls after their POST: outcomes, look-ups, platform holds, analyses, opt-outs.

One ``GET /calls?updated_since=…`` pass brings every call that changed (not a GET per call);
each is matched to its open attempt by call id or by the ids we and the platform put in its
metadata. The sync mark is kept on the API's clock (its earliest possible reading when the pass
started, less an overlap), so a call that changes while pages are read is read again next time,
and a local clock that runs ahead or behind cannot make the sync skip a change.

How often: while leads wait for a line, as often as ``fast_sync_interval`` (a freed line is
seen at once; syncs only use what calls leave of the rate budget); while calls are live every
``sync_interval``; while only analyses or holds are followed, every ``idle_sync_interval``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from dialer.api.models import Call
from dialer.api.ratelimit import Priority
from dialer.dispatch.book import Awaited, Open
from dialer.dispatch.context import RunContext
from dialer.dispatch.decisions import (
    Phase,
    Situation,
    Step,
    analysis_pending,
    on_analysis,
    on_analysis_stuck,
    on_call,
    on_hold_over,
)
from dialer.dispatch.plan import ANALYSIS_STUCK, HOLD_GRACE
from dialer.errors import ApiError, CampaignStop, NotFound
from dialer.models import Shape
from dialer.phones import mask

log = logging.getLogger("dialer.dispatch")

#: How far before an attempt's start (on the API's clock) a look-up searches for its call.
LOOKUP_ALLOWANCE = timedelta(minutes=5)
_FOLLOWED = (Phase.SENDING, Phase.LOOKUP, Phase.LIVE, Phase.HELD, Phase.RESEND, Phase.UNKNOWN)
_BUSY = (Phase.SENDING, Phase.LOOKUP, Phase.LIVE, Phase.HELD)
#: Phases whose line may free any second (a platform hold waits for the platform).
_SOON_FREE = (Phase.SENDING, Phase.LOOKUP, Phase.LIVE)
#: Holds that end at a stated expiry: past it, the platform placed nothing.
_BOUNDED_HOLDS = frozenset({Shape.QUEUED, Shape.SCHEDULED, Shape.WORKFLOW})
#: While only calls the platform scheduled for later are followed, a sync at least this often.
QUIET_POLL = timedelta(minutes=10)


class Follower:
    """Keeps the book's open attempts and awaited analyses in step with the API."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.hungry = False  # set by the loop: leads are due and wait for a line
        self.mark: datetime | None = None  # API time the next sync reads from (less overlap)
        self._polled_requests: datetime | None = None
        self.syncs = 0

    async def run(self) -> None:
        """Follow until cancelled (the loop decides when the run is over)."""
        while True:
            await self.step()
            await self.ctx.clock.sleep(self.interval())

    def interval(self) -> float:
        """Clock seconds to the next step (see the module docstring)."""
        options = self.ctx.options
        if self.hungry and self.ctx.book.has_phase(*_SOON_FREE):
            # two syncs a minute per 60 requests of the limit: half the budget at most
            floor = 120.0 / max(1, self.ctx.client.budget.limit)
            return max(options.fast_sync_interval, floor)
        if self.ctx.book.has_phase(*_SOON_FREE):
            return options.sync_interval
        quiet = self._quiet_for()
        if quiet is not None:
            return max(options.idle_sync_interval, quiet)
        return options.idle_sync_interval  # holds, analyses: nothing frees a line soon

    def _quiet_for(self) -> float | None:
        """Clock seconds in which nothing followed can change, when all that is followed are
        calls the platform scheduled for later: until a minute before the first is due, at
        most :data:`QUIET_POLL` (a scheduled call may still be cancelled)."""
        book = self.ctx.book
        if book.awaited or any(o.phase != Phase.HELD or o.shape != Shape.SCHEDULED for o in book):
            return None
        dues = [o.due - HOLD_GRACE for o in book if o.due is not None]
        if not dues:
            return None
        api_now = self.ctx.client.server_time.latest(self.ctx.now())  # the latest it may be
        until = (min(dues) - api_now).total_seconds() - 60.0
        return min(until, QUIET_POLL.total_seconds())

    async def step(self) -> None:
        """One round: sync, look-ups, holds, expiries. API errors are retried next round;
        a campaign stop stops the run."""
        try:
            if self.ctx.book.has_phase(*_FOLLOWED) or self.ctx.book.awaited:
                await self.sync()
            await self.lookups()
            await self.poll_requests()
            await self.expire()
            if self.ctx.plan.add_on_opt_out:
                await self.add_opt_outs()
        except CampaignStop as error:
            self.ctx.stop_error = self.ctx.stop_error or error
            self.ctx.wake.set()
        except ApiError as error:
            log.warning("following calls failed, will retry: %s", error)

    # -- the sync --------------------------------------------------------------------------

    async def sync(self) -> None:
        """One GET /calls?updated_since pass over every page; applies what changed."""
        since = self._since()
        started = self.ctx.api_earliest()
        async for calls in self.ctx.client.list_call_pages(
            agent_id=self.ctx.plan.agent_id, updated_since=since, priority=Priority.POLL
        ):
            # a page's news in one transaction (nothing else runs in between: no await
            # inside, so no attempt's commit-before-POST can fall into it)
            with self.ctx.ledger.batch("record a page of synced calls"):
                for call in calls:
                    self.apply(call)
        self.mark = started
        self.syncs += 1

    def _since(self) -> datetime:
        """Re-read an overlap each time; the first sync goes back to the oldest thing followed."""
        if self.mark is not None:
            return self.mark - timedelta(seconds=self.ctx.options.sync_overlap)
        starts = [o.attempt.started_at for o in self.ctx.book]
        starts += [a.ended_at for a in self.ctx.book.awaited.values()]
        oldest = min(starts, default=self.ctx.now())
        return self.ctx.client.server_time.earliest(oldest) - LOOKUP_ALLOWANCE

    def apply(self, call: Call) -> bool:
        """Record one call's news; True if it changed anything."""
        opened = self.ctx.book.match(call)
        if opened is not None:
            if call.updated_at is not None and call.updated_at == opened.last_update:
                return False
            opened.last_update = call.updated_at
            self.ctx.carry(opened, self._on_call(opened, call))
            return True
        awaited = self.ctx.book.awaited.get(call.id)
        if awaited is not None and not analysis_pending(call):
            self._analysed(awaited, call)
            return True
        return False

    def _on_call(self, opened: Open, call: Call) -> Step:
        return on_call(
            call,
            self.ctx.situation(opened),
            rng=self.ctx.rng,
            with_transcript=self.ctx.options.with_transcripts,
        )

    def _analysed(self, awaited: Awaited, call: Call) -> None:
        """A followed call's analysis is final: record it (an opt-out cancels a retry)."""
        del self.ctx.book.awaited[awaited.call_id]
        stand_in = self._stand_in(awaited)
        step = on_analysis(
            call, self._situation_of(stand_in), with_transcript=self.ctx.options.with_transcripts
        )
        self.ctx.carry(stand_in, step)

    def _stand_in(self, awaited: Awaited) -> Open:
        """A closed attempt as :meth:`RunContext.carry` takes it (its lead as it is now)."""
        status = self.ctx.ledger.lead_status(awaited.lead_id)
        record = self.ctx.ledger.attempt(awaited.attempt_id)
        return Open(attempt=record, status=status, phase=Phase.LIVE, call_id=awaited.call_id)

    def _situation_of(self, opened: Open) -> Situation:
        return self.ctx.situation(opened)

    # -- look-ups --------------------------------------------------------------------------

    async def lookups(self) -> None:
        """Attempts whose "no" came after an uncertain try, or that an interruption left
        ``dialing``: find their call, else take the step decided for "no call"."""
        for opened in self.ctx.book.in_phase(Phase.LOOKUP):
            call = await self._find(opened)
            if self.ctx.book.get(opened.id) is not opened or opened.phase != Phase.LOOKUP:
                continue  # the sync found it meanwhile
            if call is not None:
                log.info("found the call of %s: %s", self.ctx.describe(opened), call.id)
                opened.last_update = call.updated_at
                self.ctx.carry(opened, self._on_call(opened, call))
            elif opened.otherwise is not None:
                self.ctx.carry(opened, opened.otherwise)

    async def _find(self, opened: Open) -> Call | None:
        """GET /calls by callee, agent and creation time, matched on our attempt id."""
        since = self.ctx.client.server_time.earliest(opened.attempt.started_at)
        async for call in self.ctx.client.list_calls(
            agent_id=self.ctx.plan.agent_id,
            callee=opened.attempt.phone,
            created_from=since - LOOKUP_ALLOWANCE,
        ):
            if (call.metadata or {}).get("dialer_attempt") == opened.id:
                return call
        return None

    # -- platform holds --------------------------------------------------------------------

    async def poll_requests(self) -> None:
        """Workflow call requests, every ``request_poll_interval``: a dispatched one gives its
        call id; a failed, expired or cancelled one placed nothing."""
        now = self.ctx.now()
        every = timedelta(seconds=self.ctx.options.request_poll_interval)
        if self._polled_requests is not None and now - self._polled_requests < every:
            return
        self._polled_requests = now
        for opened in self.ctx.book.in_phase(Phase.HELD):
            if opened.request_id:
                await self._poll_request(opened)

    async def _poll_request(self, opened: Open) -> None:
        try:
            state = await self.ctx.client.get_call_request(
                opened.request_id or "", priority=Priority.POLL
            )
        except NotFound:
            self._hold_over(opened, "call request not found", "request_not_found")
            return
        if state.call_id and opened.call_id is None:
            opened.call_id = state.call_id
            self.ctx.book.add(opened)  # index its call id: the sync follows it from here
        elif state.status in {"failed", "expired", "cancelled"}:
            self._hold_over(
                opened, f"call request {state.status}", state.error_code or state.status
            )

    def _hold_over(self, opened: Open, why: str, code: str | None) -> None:
        self.ctx.carry(
            opened, on_hold_over(self.ctx.situation(opened), why=why, code=code, rng=self.ctx.rng)
        )

    # -- expiries --------------------------------------------------------------------------

    async def expire(self) -> None:
        """Holds past their deadline, unknowns past the time they may be live, analyses that
        got stuck (one last look at the call first)."""
        api_now = self.ctx.api_latest()
        for opened in self.ctx.book.in_phase(Phase.HELD):
            if opened.due is not None and api_now > opened.due and opened.call_id is None:
                code = "hold_expired" if opened.shape in _BOUNDED_HOLDS else None
                self._hold_over(opened, "the platform's hold ran out", code)
        now = self.ctx.now()
        for opened in self.ctx.book.in_phase(Phase.UNKNOWN):
            if opened.due is None or now >= opened.due:
                self.ctx.book.close(opened)  # not live any more; the ledger says unknown
        for awaited in list(self.ctx.book.awaited.values()):
            if api_now > awaited.ended_at + ANALYSIS_STUCK:
                await self._last_look(awaited)

    async def _last_look(self, awaited: Awaited) -> None:
        """GET /calls/{id} once: the analysis may have landed without a sync seeing it."""
        try:
            call = await self.ctx.client.get_call(awaited.call_id)
        except NotFound:
            call = None
        if call is not None and not analysis_pending(call):
            self._analysed(awaited, call)
            return
        del self.ctx.book.awaited[awaited.call_id]
        stand_in = self._stand_in(awaited)
        self.ctx.carry(stand_in, on_analysis_stuck(self.ctx.situation(stand_in)))

    # -- opt-outs --------------------------------------------------------------------------

    async def add_opt_outs(self) -> None:
        """Put callers who opted out on the company DNC list (POST /do-not-call is idempotent
        by number); what fails is tried again on the next round, or the next run."""
        for phone, call_id in self.ctx.ledger.opt_outs_to_add():
            try:
                await self.ctx.client.add_dnc(phone, reason=f"opted out on call {call_id} (dialer)")
            except ApiError as error:
                log.warning("could not add %s to the DNC list yet: %s", mask(phone), error)
                return
            self.ctx.ledger.opt_out_added(phone, now=self.ctx.now())
            log.info("added %s to the company DNC list (opted out)", mask(phone))
