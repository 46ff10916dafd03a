"""The dispatcher's loop: claim due leads for free lines, place their calls, end the run.

How a call is placed (promise 1 of the design notes):

1. claim: the lead is due, inside its calling window in every zone it may ring in, and not on
   the DNC list (a cache never older than the campaign allows);
2. commit: the attempt is written to the ledger as ``dialing`` with a fresh attempt id;
3. POST /calls with ``Idempotency-Key: <attempt id>``; the client resends the same bytes with
   the same key after 429/5xx/timeouts, so the API places at most one call for it. Right
   before each try leaves (once the rate budget gave it its slot) the gate looks again: the
   window, the DNC list, the cache's age, the key's age. If the window closed meanwhile, the
   lead goes back to waiting and no attempt is used up;
4. the answer becomes a step (:mod:`dialer.dispatch.decisions`) carried out by
   :meth:`~dialer.dispatch.context.RunContext.carry`.

Following calls is the follower's job, picking up after an interruption recovery's. Shutdown
has two steps: :meth:`Dispatcher.request_stop` stops claiming (requests not yet sent are not
sent) and lets requests in flight finish and be recorded; cancelling the run task stops at
once, leaving at most the attempts in flight ``dialing`` for the next run to look up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from dialer.api.client import YapprClient
from dialer.api.models import CallRequest
from dialer.clock import Clock, parse_instant
from dialer.dispatch.book import Open
from dialer.dispatch.context import RunContext, seeded_ids
from dialer.dispatch.decisions import (
    Phase,
    Refusal,
    Refused,
    on_answer,
    on_error,
    on_refused,
)
from dialer.dispatch.dnckeeper import DncKeeper
from dialer.dispatch.follower import Follower
from dialer.dispatch.lines import LinePool, Member
from dialer.dispatch.plan import (
    KEY_RETENTION,
    MAYBE_LIVE,
    CampaignPlan,
    CampaignState,
    Ending,
    Progress,
    RunOptions,
    RunResult,
)
from dialer.dispatch.recovery import recover
from dialer.errors import ApiError, NotSent
from dialer.models import LeadMove, LeadStatus
from dialer.store import AttemptRecord, AttemptStart, LeadRecord, Ledger
from dialer.window import never_open_reason

log = logging.getLogger("dialer.dispatch")
S = LeadStatus

#: A POST must find the window open this long past the latest the API's clock may show:
#: the request is on its way for a moment after the gate looked.
SEND_MARGIN = timedelta(seconds=2)
#: While the DNC cache is being refreshed, a refused POST is tried again this much later.
STALE_RETRY = timedelta(seconds=10)
_ENDING_STATE = {
    Ending.FINISHED: CampaignState.FINISHED,
    Ending.WAITING: CampaignState.WAITING,
    Ending.INTERRUPTED: CampaignState.INTERRUPTED,
    Ending.STOPPED: CampaignState.STOPPED,
    Ending.PAUSED: CampaignState.PAUSED,
}


class Dispatcher:
    """Runs one campaign until every due lead is placed and followed, or it is told to stop."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        client: YapprClient,
        plan: CampaignPlan,
        clock: Clock,
        keeper: DncKeeper,
        options: RunOptions | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        pool: LinePool | None = None,
        wake: asyncio.Event | None = None,
    ) -> None:
        options = options or RunOptions()
        self.ctx = RunContext(
            ledger=ledger,
            client=client,
            plan=plan,
            clock=clock,
            options=options,
            keeper=keeper,
            rng=random.Random(f"{options.seed}:{plan.name}"),
            # a campaign may be dispatched again in one run (paused, then resumed): each
            # dispatcher of it draws its own ids
            new_id=seeded_ids(options.seed, salt=f"{plan.name}:{ledger.attempts_made(plan.name)}"),
            wake=wake or asyncio.Event(),
            pool=pool or LinePool(plan.max_live_calls),
        )
        self.ctx.pool.join(
            Member(
                plan.name,
                plan.weight,
                plan.max_live_calls,
                used=lambda: self.ctx.book.lines_in_use(self.ctx.now()),
                wants=lambda: self.wants_lines,
            )
        )
        # leads are due and wait for a line (for the pool's shares); until its first look,
        # a campaign is taken to want its share, so the first to start does not take all
        self.wants_lines = not options.follow_only
        self._paused = options.follow_only  # ``dialer sync``: follows, never places a call
        self._cancelled = False
        self._order = 0.0  # this campaign's place in the account's line of calls
        self.follower = Follower(self.ctx)
        self._on_progress = on_progress
        self._posts: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._fatal: BaseException | None = None
        self._started = clock.now()
        self._started_at = self._started  # when the campaign first ran (the ledger's)
        self._idle_since: datetime | None = None
        self._last_progress = -1e9
        self._placed = 0
        self._first_claim: float | None = None
        self._last_answer = 0.0

    @property
    def plan(self) -> CampaignPlan:
        """The campaign being run."""
        return self.ctx.plan

    def counts(self) -> dict[str, int]:
        """Leads per status, as the ledger has them now."""
        return self.ctx.ledger.counts(self.plan.name)

    def request_stop(self) -> None:
        """Stop claiming; requests not yet sent stay unsent, those in flight are recorded."""
        self._stopping = True
        self.ctx.wake.set()

    def pause(self, paused: bool = True) -> None:
        """A person paused the campaign (or resumed it): no new call starts while paused;
        calls in flight finish and are followed. Once none is left the run ends paused."""
        if paused != self._paused and not self._cancelled:
            self._paused = paused
            self.ctx.wake.set()

    def cancel(self) -> None:
        """A person stopped the campaign: every lead not yet called ends ``cancelled``; calls
        in flight finish and are followed, and the leads they leave waiting are cancelled too."""
        if self._cancelled:
            return
        self._cancelled = True
        self._paused = True
        self._cancel_unclaimed()
        self.ctx.wake.set()

    def _cancel_unclaimed(self) -> None:
        stamp = self.ctx.now().isoformat(timespec="seconds")
        self.ctx.ledger.cancel_unclaimed(
            self.plan.name,
            reason=f"not called: the campaign was stopped ({stamp})",
            now=self.ctx.now(),
        )

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Dispatch until finished, waiting, interrupted or stopped by the API."""
        ctx = self.ctx
        if not ctx.options.follow_only:
            ctx.ledger.set_campaign_state(self.plan.name, CampaignState.RUNNING, now=ctx.now())
        record = ctx.ledger.campaign(self.plan.name)
        if record is not None and record.started_at:
            self._started_at = parse_instant(record.started_at)
        # before the first await: every campaign started with this one has counted its calls
        # still in flight on the account's lines before any of them claims a lead
        recover(ctx, redial_unknown=ctx.options.redial_unknown)
        await self._learn_the_api_clock()
        helpers = [
            asyncio.create_task(self.follower.run(), name="follower"),
            asyncio.create_task(ctx.keeper.run(), name="dnc-keeper"),
        ]
        for task in helpers:
            task.add_done_callback(self._helper_done)
        try:
            ending = await self._loop()
        except asyncio.CancelledError:
            for task in self._posts.values():
                task.cancel()  # what is still ``dialing`` is looked up by the next run
            ctx.ledger.set_campaign_state(self.plan.name, CampaignState.INTERRUPTED, now=ctx.now())
            raise
        finally:
            await self._drain()
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        if self._fatal is not None:
            raise self._fatal
        return self._finish(ending)

    async def _learn_the_api_clock(self) -> None:
        """Read the API's clock (the ``Date`` of ``GET /``) before any call is placed: windows
        and expiries are kept on it. Without an answer, ours is trusted to within seconds."""
        if self.ctx.client.server_time.samples:
            return
        try:
            await self.ctx.client.server_info()
        except ApiError as error:
            log.warning("could not read the API's clock, trusting ours: %s", error)
        log.info("%s", self.ctx.client.server_time)

    def _helper_done(self, task: asyncio.Task[None]) -> None:
        """The follower or the DNC keeper died: the run cannot go on safely."""
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())

    def _fail(self, error: BaseException | None) -> None:
        """Something we cannot work around (the ledger cannot be written, a bug): stop
        taking work, drain, and let :meth:`run` raise it."""
        if error is not None and self._fatal is None:
            self._fatal = error
            self._stopping = True
            self.ctx.wake.set()

    async def _loop(self) -> Ending:
        """Fill free lines, then sleep until something changes; returns how the run ends."""
        while True:
            if self.ctx.stop_error is not None:
                return Ending.STOPPED
            if self._stopping:
                return Ending.INTERRUPTED
            if self._paused and not self._posts and not self._followed():
                if not self.ctx.options.follow_only:
                    return Ending.FINISHED if self._cancelled else Ending.PAUSED
                if not self.ctx.book.awaited or self._waited_enough(self.ctx.now()):
                    return Ending.FINISHED  # ``dialer sync``: nothing left to wait for
            await self._fill_lines()
            self._progress()
            ending, wait = self._what_next()
            if ending is not None:
                return ending
            await self._sleep(wait)

    def _followed(self) -> bool:
        """Whether a call of this campaign may still be going on (a pause waits for it)."""
        return self.ctx.book.has_phase(Phase.SENDING, Phase.LOOKUP, Phase.LIVE, Phase.HELD)

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the clock until ``seconds`` pass or something wakes the loop."""
        self.ctx.wake.clear()
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.ctx.clock.to_real(seconds)):
                await self.ctx.wake.wait()

    # -- lines -----------------------------------------------------------------------------

    def _free_lines(self) -> int:
        """Lines this campaign may take now: its own cap, and its share of the account's."""
        own = self.ctx.max_live_calls - self.ctx.book.lines_in_use(self.ctx.now())
        return min(own, self.ctx.pool.free_for(self.plan.name))

    async def _fill_lines(self) -> None:
        """Resends that are due first (their key must go again), then new claims."""
        self._fill_resends()
        while self._free_lines() > 0 and self._may_claim():
            if not self.ctx.keeper.is_fresh(self.ctx.now()):
                return  # the keeper is refreshing the DNC cache: claim nothing until then
            now = self.ctx.now()
            free = self._free_lines()
            leads = self.ctx.ledger.due_leads(self.plan.name, now=now, limit=max(free * 2, 16))
            if not leads:
                return
            chosen = await self._screen(leads, now=now, limit=free)
            # another campaign may have taken lines or numbers, or a pause come, while
            # screening: look again with nothing in between this look and the commit
            chosen = chosen[: self._free_lines()] if self._may_claim() else []
            chosen = [lead for lead in chosen if not self._called_elsewhere(lead, now=now)]
            if chosen:
                self._start(chosen, now=now)

    def _may_claim(self) -> bool:
        """Not stopping, not paused, no API stop, and past the campaign's start time."""
        start = self.plan.start_at
        started = start is None or self.ctx.now() >= start
        return not (self._stopping or self._paused or self.ctx.stop_error) and started

    def _fill_resends(self) -> None:
        now = self.ctx.now()
        for opened in sorted(self.ctx.book.in_phase(Phase.RESEND), key=lambda o: o.due or now):
            if self._stopping or self._paused or opened.due is None or opened.due > now:
                continue
            if not opened.holds_line(now) and self._free_lines() <= 0:
                return
            self._resend(opened)

    def _resend(self, opened: Open) -> None:
        """The same request under the same key, again."""
        if opened.status != S.DIALING:
            move = LeadMove(opened.status, S.DIALING, "resending under the same Idempotency-Key")
            self.ctx.ledger.move_lead(opened.attempt.lead_id, move, now=self.ctx.now())
            opened.status = S.DIALING
        self._launch(opened)

    # -- claiming --------------------------------------------------------------------------

    async def _screen(
        self, leads: list[LeadRecord], *, now: datetime, limit: int
    ) -> list[LeadRecord]:
        """Keep leads that may be called now; block or schedule the others in the ledger."""
        chosen: list[LeadRecord] = []
        scheduled: set[str] = set()  # zones whose due leads all went to wait for an opening
        for lead in leads:
            if len(chosen) >= limit or not self._may_claim():
                break
            if lead.timezone in scheduled:
                continue
            blocked = self.ctx.keeper.blocked(
                lead.phone, agent_id=self.plan.agent_id, now=self.ctx.api_earliest()
            )
            if blocked:
                move = LeadMove(lead.status, S.DNC_BLOCKED, blocked)
                self.ctx.ledger.move_lead(lead.id, move, now=now)
            elif (closed := self._window_refusal(lead.timezone)) is not None:
                self._schedule(lead, closed, now=now)
                scheduled.add(lead.timezone)
                await asyncio.sleep(0)  # a whole zone may have moved: let others run
            else:
                chosen.append(lead)
        return chosen

    def _called_elsewhere(self, lead: LeadRecord, *, now: datetime) -> bool:
        """Another campaign of the ledger called this number since this campaign started (or
        within the cool-down), or is running and has called it: this lead is a ``duplicate``."""
        since = self._started_at
        if self.plan.cooldown is not None:
            since = min(since, now - self.plan.cooldown)
        found = self.ctx.ledger.claimed_elsewhere(
            lead.phone, exclude=self.plan.name, since=since, started=self._started_at
        )
        if found is None:
            return False
        other, when = found
        reason = f"duplicate: called by campaign {other!r} at {when}"
        self.ctx.ledger.move_lead(lead.id, LeadMove(lead.status, S.DUPLICATE, reason), now=now)
        return True

    def _schedule(self, lead: LeadRecord, closed: Refused, *, now: datetime) -> None:
        """Every due lead in the lead's zones waits for their next opening (one statement);
        a lead whose window never opens in all its zones at once ends ``no_window``."""
        if closed.retry_at is None:
            move = LeadMove(lead.status, S.NO_WINDOW, closed.text)
            self.ctx.ledger.move_lead(lead.id, move, now=now)
            return
        self.ctx.ledger.schedule_zone(
            self.plan.name,
            zones=lead.timezone,
            opening=closed.retry_at,
            reason=closed.text,
            now=now,
        )

    def _start(self, leads: list[LeadRecord], *, now: datetime) -> None:
        """Commit every attempt (one fsync), then let their POSTs go."""
        starts = [(self._attempt_for(lead), lead.status) for lead in leads]
        self.ctx.ledger.begin_attempts(starts, now=now)
        if self._first_claim is None:
            self._first_claim = asyncio.get_running_loop().time()
        for (start, _), lead in zip(starts, leads, strict=True):
            record = AttemptRecord(
                id=start.id,
                lead_id=lead.id,
                number=start.number,
                phone=start.phone,
                from_number=start.from_number,
                body=start.body,
                started_at=now,
                shape=None,
                call_id=None,
                request_id=None,
                queue_id=None,
                lead_status=S.DIALING,
                zones=lead.timezone,
            )
            opened = Open(attempt=record, status=S.DIALING, phase=Phase.SENDING)
            self.ctx.book.add(opened)
            self._launch(opened)

    def _attempt_for(self, lead: LeadRecord) -> AttemptStart:
        """A fresh attempt: its id is the Idempotency-Key and goes into the call's metadata."""
        attempt_id = self.ctx.new_id()
        names = self.plan.variable_names
        variables = dict(zip(names, lead.fields[: len(names)], strict=True))
        metadata: dict[str, str] = {
            k: v
            for k, v in zip(self.plan.metadata_names, lead.fields[len(names) :], strict=True)
            if v != ""
        }
        metadata |= {
            "dialer_campaign": self.plan.name,
            "dialer_row": str(lead.row),
            "dialer_attempt": attempt_id,
        }
        from_number = self.plan.from_numbers[lead.row % len(self.plan.from_numbers)]
        request = CallRequest(
            agent_id=self.plan.agent_id,
            to=lead.phone,
            from_=from_number,
            variables={k: v for k, v in variables.items() if v != ""},
            metadata=metadata,
        )
        return AttemptStart(
            id=attempt_id,
            lead_id=lead.id,
            number=lead.attempts + 1,
            phone=lead.phone,
            from_number=from_number,
            body=request.body().decode("utf-8"),
        )

    # -- placing ---------------------------------------------------------------------------

    def _launch(self, opened: Open) -> None:
        self.ctx.book.set_phase(opened, Phase.SENDING)
        task = asyncio.create_task(self._place(opened))
        self._posts[opened.id] = task
        task.add_done_callback(lambda done: self._post_done(opened.id, done))

    def _post_done(self, attempt_id: str, task: asyncio.Task[None]) -> None:
        self._posts.pop(attempt_id, None)
        self.ctx.wake.set()
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())

    async def _place(self, opened: Open) -> None:
        """POST one attempt (same key and bytes on every try) and carry out the answer."""
        ctx = self.ctx
        request = CallRequest.model_validate_json(opened.attempt.body)
        self._order += 1.0 / self.plan.weight  # weighted turns in the account's line of calls
        try:
            result = await ctx.client.place_call(
                request,
                idempotency_key=opened.id,
                gate=lambda: self._gate(opened),
                order=self._order,
            )
        except NotSent as refused:
            assert opened.refused is not None
            step = on_refused(
                opened.refused, ctx.situation(opened), uncertain=refused.after_uncertain
            )
        except ApiError as error:
            step = on_error(error, ctx.situation(opened), resend_at=self._resend_at(opened))
        else:
            self._placed += 1
            step = on_answer(result, ctx.situation(opened))
        self._last_answer = asyncio.get_running_loop().time()
        if ctx.book.get(opened.id) is not opened:
            # the sync followed its call to the end first: keep what the answer adds
            ctx.ledger.record(
                opened.id, lead_id=opened.attempt.lead_id, now=ctx.now(), facts=step.facts
            )
            return
        ctx.carry(opened, step)

    def _resend_at(self, opened: Open) -> datetime:
        """When to send the same key again after the client's retries ran out: later each
        time (1, 2, 4 ... minutes, at most an hour), so an outage ends the run as waiting."""
        opened.resends += 1
        delay = min(self.ctx.options.resend_delay * 2 ** (opened.resends - 1), 3600.0)
        return self.ctx.now() + timedelta(seconds=delay)

    def _gate(self, opened: Open) -> str | None:
        """The last look before a try of ``opened`` leaves (see the module docstring)."""
        refused = self._refusal(opened)
        opened.refused = refused
        if refused is not None:
            return refused.text
        opened.sent_at = self.ctx.now()
        return None

    def _refusal(self, opened: Open) -> Refused | None:
        now = self.ctx.now()
        attempt = opened.attempt
        if self._stopping or self._paused:
            why = "the run is stopping" if self._stopping else "the campaign is paused"
            return Refused(Refusal.STOPPING, why, now)
        if opened.uncertain and now - attempt.started_at >= KEY_RETENTION:
            return Refused(Refusal.KEY_EXPIRED, "the API may have forgotten its key")
        if not self.ctx.keeper.is_fresh(now):
            return Refused(Refusal.STALE_DNC, "the DNC cache is being refreshed", now + STALE_RETRY)
        blocked = self.ctx.keeper.blocked(
            attempt.phone, agent_id=self.plan.agent_id, now=self.ctx.api_earliest()
        )
        if blocked:
            return Refused(Refusal.BLOCKED, blocked)
        return self._window_refusal(attempt.zones)

    def _window_refusal(self, zones: str) -> Refused | None:
        """None if the window is open in every zone over every instant the API's clock may
        show while the request is on its way; else when it opens next."""
        window = self.plan.window
        if window is None:
            return None
        earliest, latest = self.ctx.client.server_time.span(self.ctx.now())
        if window.is_open(zones, earliest) and window.is_open(zones, latest + SEND_MARGIN):
            return None
        opening = window.next_opening(zones, latest + SEND_MARGIN)
        if opening is None:
            return Refused(Refusal.WINDOW, never_open_reason(zones))
        # our clock reads this when the API's clock has surely reached the opening
        local = opening - (earliest - self.ctx.now())
        return Refused(
            Refusal.WINDOW, f"outside calling window; next opening {opening.isoformat()}", local
        )

    # -- ending ----------------------------------------------------------------------------

    def _what_next(self) -> tuple[Ending | None, float]:
        """Whether the run is over, and if not how long (clock seconds) to sleep at most."""
        ctx = self.ctx
        now = ctx.now()
        if self._paused:  # claims nothing; the loop ends once its calls in flight are over
            self.wants_lines = self.follower.hungry = False
            return None, self._until_a_line_may_free(now)
        busy = bool(self._posts) or ctx.book.has_phase(Phase.LOOKUP, Phase.LIVE, Phase.HELD)
        free = self._free_lines()
        soonest = self._next_due()
        if soonest is not None and self.plan.start_at is not None:
            soonest = max(soonest, self.plan.start_at)
        self.wants_lines = soonest is not None and soonest <= now
        self.follower.hungry = self.wants_lines and free <= 0
        if soonest is not None and soonest <= now and free > 0 and ctx.keeper.is_fresh(now):
            return None, 0.0
        if busy or (soonest is not None and soonest <= now):
            # every change the follower carries out wakes the loop; time alone frees a line
            # only when an uncertain attempt can no longer be ringing
            self._idle_since = None
            return None, self._until_a_line_may_free(now)
        if ctx.book.awaited and (
            ctx.ledger.retries_awaiting_analysis(self.plan.name) or not self._waited_enough(now)
        ):
            # a retry waits for its call's analysis (at most until it is stuck), and the run
            # waits a while for the analyses of finished leads
            return None, ctx.options.idle_sync_interval
        if soonest is None:
            return Ending.FINISHED, 0.0
        if soonest - now > ctx.options.max_wait:
            return Ending.WAITING, 0.0
        return None, max(0.0, (soonest - now).total_seconds())

    def _until_a_line_may_free(self, now: datetime) -> float:
        """Clock seconds to sleep while lines are busy (at most ``idle_sync_interval``)."""
        ends = [o.sent_at + MAYBE_LIVE for o in self.ctx.book if o.uncertain and o.sent_at]
        later = [(end - now).total_seconds() for end in ends if end > now]
        return min([self.ctx.options.idle_sync_interval, *later])

    def _waited_enough(self, now: datetime) -> bool:
        """Whether the run has waited ``analysis_wait`` for analyses with nothing else to do."""
        if self._idle_since is None:
            self._idle_since = now
        return now - self._idle_since >= self.ctx.options.analysis_wait

    async def _drain(self) -> None:
        """Let POSTs in flight finish and be recorded."""
        if self._posts:
            await asyncio.gather(*self._posts.values(), return_exceptions=True)

    def _finish(self, ending: Ending) -> RunResult:
        ctx = self.ctx
        if self._cancelled:
            self._cancel_unclaimed()  # retries the last calls planned are cancelled too
        # it stays on the pool: an uncertain call of it may still be ringing for a while
        self.wants_lines = False
        now = ctx.now()
        reason = str(ctx.stop_error) if ctx.stop_error else None
        if not ctx.options.follow_only:  # a sync leaves the campaign where it stood
            state = _ENDING_STATE[ending]
            ctx.ledger.set_campaign_state(self.plan.name, state, now=now, reason=reason)
        self._progress(force=True)
        return RunResult(
            ending=ending,
            counts=ctx.ledger.counts(self.plan.name),
            next_due=self._next_due(),
            stop_error=ctx.stop_error,
            placed=self._placed,
            placing_seconds=max(0.0, self._last_answer - (self._first_claim or self._last_answer)),
            analyses_pending=len(ctx.book.awaited),
        )

    def _next_due(self) -> datetime | None:
        """When the campaign next has work: a waiting lead's time or a resend's."""
        resends = [o.due for o in self.ctx.book.in_phase(Phase.RESEND) if o.due is not None]
        return min(filter(None, (self.ctx.ledger.next_due(self.plan.name), *resends)), default=None)

    def _progress(self, *, force: bool = False) -> None:
        """Call the progress callback at most every ``progress_interval`` wall seconds."""
        if self._on_progress is None:
            return
        loop_time = asyncio.get_running_loop().time()
        if not force and loop_time - self._last_progress < self.ctx.options.progress_interval:
            return
        self._last_progress = loop_time
        ctx = self.ctx
        stats = ctx.client.stats
        self._on_progress(
            Progress(
                counts=ctx.ledger.counts(self.plan.name),
                placed=self._placed,
                live=ctx.book.lines_in_use(ctx.now()),
                started=self._started,
                now=ctx.now(),
                requests=sum(stats.values()),
                rate_limited=stats.get(429, 0),
                time_scale=ctx.clock.scale,
                notes=list(ctx.pool.notes),
            )
        )
