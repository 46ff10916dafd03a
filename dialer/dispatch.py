"""The dispatcher: place every call that should be placed, exactly once, as fast as allowed.

How a call is placed (DESIGN.md promise 1):

1. claim: the lead is due, inside its calling window and not on the DNC list;
2. commit: the attempt is written to the ledger as ``dialing`` with a fresh attempt id;
3. POST /calls with ``Idempotency-Key: <attempt id>``; the client resends the same bytes with
   the same key after 429/5xx/timeouts, so the API places at most one call for it;
4. record the answer (201 live, 200 DNC, 202 held by the platform, 4xx rejected).

Outcomes come from one ``GET /calls?agent_id=…&updated_since=…`` sync for all live calls, not
a GET per call. Calls are matched to attempts by call id, or by the ``dialer_attempt`` key we
put in every call's metadata (queued, scheduled and handed-back calls have no call id yet).

After a crash, attempts left ``dialing`` are looked up with GET /calls (callee, agent, creation
time, our metadata) before anything else; if the API cannot tell, the lead becomes ``unknown``
and is re-sent only on request (``--redial-unknown``), with the same key while the API still
remembers it, so even that cannot place a second call.

Shutdown has two steps: :meth:`Dispatcher.request_stop` stops claiming and lets requests in
flight finish and be recorded; cancelling the run task stops at once, leaving at most the
attempts in flight as ``dialing`` for the next run to reconcile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from dialer.api.client import YapprClient
from dialer.api.models import (
    Call,
    CallRequest,
    Dialed,
    DncBlockedAnswer,
    HandedBack,
    PlaceCallResult,
    QueuedAtCapacity,
    ScheduledAnswer,
    WorkflowAccepted,
)
from dialer.clock import Clock, parse_instant
from dialer.dnc import DncIndex
from dialer.errors import (
    ApiError,
    CampaignStop,
    IdempotencyConflict,
    LeadRejected,
    NotFound,
    RetryableError,
)
from dialer.models import LeadStatus
from dialer.phones import mask
from dialer.state import IN_FLIGHT, RetryPolicy, after_call, outcome_of
from dialer.store import AttemptRecord, AttemptStart, LeadRecord, Ledger
from dialer.window import CallingWindow

log = logging.getLogger(__name__)
S = LeadStatus

#: How long the API keeps an Idempotency-Key (8 days, CONTRACT.md §3.3), with a day of margin.
IDEMPOTENCY_MEMORY = timedelta(days=7)
#: An unknown attempt holds a line (and is looked for by the sync) this long after it started.
UNKNOWN_HOLD = timedelta(minutes=15)
#: A platform-held call (queued/scheduled) with no call after its expiry plus this is given up.
QUEUE_GRACE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """What the dispatcher needs to know about a campaign (from the ledger's snapshot)."""

    name: str
    agent_id: str
    from_numbers: tuple[str, ...]
    variable_names: tuple[str, ...]
    metadata_names: tuple[str, ...]
    window: CallingWindow | None
    retry: RetryPolicy
    max_live_calls: int
    add_on_opt_out: bool = False


@dataclass(slots=True)
class RunOptions:
    """Tuning of one run; the defaults suit the real API."""

    sync_interval: float = 5.0  # clock seconds between outcome syncs while leads wait a line
    idle_sync_interval: float = 30.0  # ... while no due lead waits for a line to free up
    analysis_wait: timedelta = timedelta(minutes=3)  # follow finished calls to their analysis
    sync_overlap: float = 30.0  # clock seconds re-read on every sync (late writes, skew)
    request_poll_interval: float = 60.0  # clock seconds between workflow request polls
    # (the sync already finds their calls by our metadata; polling only spots failures)
    max_wait: timedelta = timedelta(minutes=15)  # wait this long for the next due lead
    redial_unknown: bool = False
    progress_interval: float = 2.0  # wall seconds between progress callbacks (a GROUP BY)
    seed: int | None = None


@dataclass(slots=True)
class RunResult:
    """How a run ended, for the CLI to print and turn into an exit code."""

    ending: str  # finished | waiting | interrupted | stopped
    counts: dict[str, int]
    next_due: datetime | None = None
    stop_error: ApiError | None = None
    placed: int = 0
    placing_seconds: float = 0.0  # wall time from the first claim to the last POST answer


@dataclass(slots=True)
class Progress:
    """A snapshot for the progress display."""

    counts: dict[str, int]
    placed: int
    live: int
    started: datetime
    now: datetime
    requests: int = 0
    rate_limited: int = 0
    time_scale: float = 1.0  # the clock's speed (the sandbox runs faster than real time)


@dataclass(slots=True)
class _Open:
    """An attempt whose call may still change: what the sync needs to match and follow it."""

    attempt: AttemptRecord
    status: LeadStatus
    call_id: str | None = None
    request_id: str | None = None
    queue_id: str | None = None
    held_until: datetime | None = None
    last_update: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Dispatcher:
    """Runs one campaign until every due lead is placed and followed, or it is told to stop."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        client: YapprClient,
        plan: CampaignPlan,
        clock: Clock,
        dnc: Callable[[], DncIndex],
        options: RunOptions | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        refresh_dnc: Callable[[], Awaitable[None]] | None = None,
        dnc_max_age: timedelta | None = None,
    ) -> None:
        self.ledger = ledger
        self.client = client
        self.plan = plan
        self.clock = clock
        self._dnc = dnc
        self.options = options or RunOptions()
        self._on_progress = on_progress
        self._refresh_dnc = refresh_dnc
        self._dnc_max_age = dnc_max_age
        self._rng = random.Random(self.options.seed)
        self._open: dict[str, _Open] = {}  # attempt id -> open attempt
        self._inflight: dict[str, AttemptRecord] = {}  # attempt id -> POST not answered yet
        self._resend: list[AttemptRecord] = []  # --redial-unknown, screened like new leads
        self._settled_early: set[str] = set()  # calls finished before their POST answered
        self._by_call: dict[str, str] = {}  # call id -> attempt id
        self._by_request: dict[str, str] = {}  # workflow request id -> attempt id
        self._by_queue: dict[str, str] = {}  # queue entry id -> attempt id
        self._posts: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._stop_error: ApiError | None = None
        self._placed = 0
        self._started = clock.now()
        self._sync_mark: datetime | None = None
        self._skew = timedelta(0)  # how far our clock may be ahead of the API's
        self._last_progress = 0.0
        self._hungry = True
        self._fatal: BaseException | None = None
        self._first_claim: float | None = None
        self._last_answer = 0.0
        self._opted_out: set[str] = set()
        self._side_tasks: set[asyncio.Task[None]] = set()
        # finished calls whose analysis (disposition, summary) is still pending:
        # call id -> (attempt id, lead id, follow until)
        self._analysis: dict[str, tuple[str, int, datetime]] = {}

    # -- public ----------------------------------------------------------------------------

    @property
    def opted_out(self) -> frozenset[str]:
        """Numbers this run added to the company DNC list (callers who opted out)."""
        return frozenset(self._opted_out)

    def request_stop(self) -> None:
        """Stop claiming new leads; requests in flight finish and are recorded."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> RunResult:
        """Dispatch until done, waiting, interrupted or stopped by the API."""
        self.ledger.set_campaign_state(self.plan.name, "running", now=self.clock.now())
        self._load_open()
        await self._reconcile_dialing()
        if self.options.redial_unknown:
            self._requeue_unknown()
        followers = [
            asyncio.create_task(self._sync_loop()),
            asyncio.create_task(self._request_loop()),
            asyncio.create_task(self._dnc_loop()),
        ]
        for task in followers:
            task.add_done_callback(self._follower_done)
        try:
            ending = await self._dispatch_loop()
        except asyncio.CancelledError:
            for task in [*self._posts, *self._side_tasks]:
                task.cancel()  # attempts left ``dialing`` are reconciled by the next run
            self.ledger.set_campaign_state(self.plan.name, "interrupted", now=self.clock.now())
            raise
        finally:
            await self._drain_posts()
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
        if self._fatal is not None:
            raise self._fatal
        return self._finish(ending)

    def _follower_done(self, task: asyncio.Task[None]) -> None:
        """A follower loop must never end on its own: if it died, the run cannot go on."""
        if not task.cancelled():
            self._fail(task.exception() or RuntimeError("a follower loop ended early"))

    # -- the loop --------------------------------------------------------------------------

    async def _dispatch_loop(self) -> str:
        """Fill free lines, then sleep until something changes; returns how the run ends."""
        while True:
            if self._stop_error is not None:
                return "stopped"
            if self._stopping:
                return "interrupted"
            self._fill_lines()
            self._report_progress()
            ending, wait = self._what_next()
            if ending is not None:
                return ending
            await self._sleep(wait)

    def _what_next(self) -> tuple[str | None, float]:
        """Whether the run is over, and if not how long (clock seconds) to sleep at most."""
        now = self.clock.now()
        busy = self._posts or self._open_holding_lines()
        if busy and self._free_lines() <= 0:
            # every line is taken: nothing to claim, and no need to ask the ledger
            return None, self.options.sync_interval
        next_due = self.ledger.next_due(self.plan.name)
        self._hungry = next_due is not None and next_due <= now
        if self._hungry and self._free_lines() > 0:
            return None, 0.0
        if self._resend and self._free_lines() > 0 and self._resend_due(now):
            return None, 0.0
        if busy or self._analysis:
            return None, self.options.sync_interval
        if next_due is None:
            return "finished", 0.0
        if next_due - now > self.options.max_wait:
            return "waiting", 0.0
        return None, max(0.0, (next_due - now).total_seconds())

    def _resend_due(self, now: datetime) -> bool:
        """Whether a resend could go now (its window is open)."""
        return any(self._window_open(a, now) for a in self._resend)

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the clock until ``seconds`` pass or something wakes the loop."""
        self._wake.clear()
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation (a
        # second Ctrl-C) that races with a wake-up.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.clock.to_real(seconds)):
                await self._wake.wait()

    def _free_lines(self) -> int:
        """Lines of the live-call cap not held by a call in flight."""
        return self.plan.max_live_calls - self._lines_in_use()

    def _lines_in_use(self) -> int:
        return len(self._posts) + self._open_holding_lines()

    def _open_holding_lines(self) -> int:
        """Calls that may be live: in flight, plus unknown ones recent enough to still be
        going on (a lost answer may hide a live call; the cap counts it until it cannot be)."""
        return sum(1 for o in self._open.values() if o.status in IN_FLIGHT or self._maybe_live(o))

    def _maybe_live(self, opened: _Open) -> bool:
        if opened.status != S.UNKNOWN or opened.attempt in self._resend:
            return False
        return self.clock.now() - opened.attempt.started_at < UNKNOWN_HOLD

    # -- claiming and placing --------------------------------------------------------------

    def _fill_resends(self) -> None:
        """Resend unknown attempts (``--redial-unknown``) on free lines, after the same DNC
        and window checks as a new lead; one outside its window waits (in this run, or for
        the next ``--redial-unknown``)."""
        now = self.clock.now()
        index = self._dnc()
        for attempt in list(self._resend):
            if self._free_lines() <= 0 or self._stopping:
                return
            blocked = index.match_reason(attempt.phone, agent_id=self.plan.agent_id, now=now)
            if blocked:
                self._resend.remove(attempt)
                self.ledger.update_attempt(
                    attempt.id, now=now, lead_move=(S.UNKNOWN, S.DNC_BLOCKED, blocked)
                )
                self._open.pop(attempt.id, None)
            elif self._window_open(attempt, now):
                self._resend.remove(attempt)
                self.ledger.update_attempt(
                    attempt.id,
                    now=now,
                    lead_move=(S.UNKNOWN, S.DIALING, "re-sending under the same key"),
                )
                self._open.pop(attempt.id, None)
                self._launch(attempt)

    def _window_open(self, attempt: AttemptRecord, now: datetime) -> bool:
        window = self.plan.window
        return window is None or window.is_open(self.ledger.lead_timezone(attempt.lead_id), now)

    def _fill_lines(self) -> None:
        """Claim due leads for every free line and start their POSTs."""
        self._fill_resends()
        free = self._free_lines()
        while free > 0 and not self._stopping and self._stop_error is None:
            now = self.clock.now()
            leads = self.ledger.due_leads(self.plan.name, now=now, limit=max(free * 2, 16))
            if not leads:
                return
            starts = self._screen(leads, now=now, limit=free)
            if starts:  # the others were scheduled or blocked: they are no longer due
                self._start(starts, now=now)
                free -= len(starts)

    def _screen(self, leads: list[LeadRecord], *, now: datetime, limit: int) -> list[LeadRecord]:
        """Keep leads that may be called now; schedule or block the others in the ledger."""
        chosen: list[LeadRecord] = []
        index = self._dnc()
        for lead in leads:
            if len(chosen) >= limit:
                break
            entry_reason = index.match_reason(lead.phone, agent_id=self.plan.agent_id, now=now)
            if entry_reason:
                self.ledger.move_lead(
                    lead.id, old=lead.status, new=S.DNC_BLOCKED, reason=entry_reason, now=now
                )
                continue
            opening = self._opening(lead, now)
            if opening is not None:
                reason = f"outside calling window; next opening {opening.isoformat()}"
                self.ledger.move_lead(
                    lead.id,
                    old=lead.status,
                    new=S.SCHEDULED,
                    reason=reason,
                    now=now,
                    next_attempt_at=opening,
                )
                continue
            chosen.append(lead)
        return chosen

    def _opening(self, lead: LeadRecord, now: datetime) -> datetime | None:
        """None if the lead's window is open now, else its next opening."""
        window = self.plan.window
        if window is None or window.is_open(lead.timezone, now):
            return None
        # A window that never opens again still must not dial: look again in a day.
        return window.next_opening(lead.timezone, now) or now + timedelta(days=1)

    def _start(self, leads: list[LeadRecord], *, now: datetime) -> None:
        """Commit every attempt (one fsync), then let their POSTs go."""
        pairs = [(self._attempt_for(lead), lead.status) for lead in leads]
        self.ledger.begin_attempts(pairs, now=now)
        if self._first_claim is None:
            self._first_claim = asyncio.get_running_loop().time()
        for (start, _old), lead in zip(pairs, leads, strict=True):
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
            )
            self._launch(record)

    def _launch(self, attempt: AttemptRecord) -> None:
        task = asyncio.create_task(self._place(attempt))
        self._posts.add(task)
        task.add_done_callback(self._post_done)

    def _post_done(self, task: asyncio.Task[None]) -> None:
        self._posts.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())

    def _fail(self, error: BaseException | None) -> None:
        """Something we cannot work around (the ledger cannot be written, a bug): stop
        taking work, drain, and let :meth:`run` raise it. Whatever is ``dialing`` is
        reconciled by the next run."""
        if error is not None and self._fatal is None:
            self._fatal = error
            self._stopping = True
            self._wake.set()

    def _attempt_for(self, lead: LeadRecord) -> AttemptStart:
        """A fresh attempt: its id is the Idempotency-Key and goes into the call's metadata."""
        attempt_id = str(uuid.uuid4())
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

    async def _place(self, attempt: AttemptRecord) -> None:
        """POST one attempt (same key and bytes on every retry) and record the answer."""
        request = CallRequest.model_validate_json(attempt.body)
        self._inflight[attempt.id] = attempt
        try:
            result = await self.client.place_call(request, idempotency_key=attempt.id)
        except ApiError as error:
            self._inflight.pop(attempt.id, None)
            if self._answer_is_late(attempt, _error_fields(error)):
                return
            self._record_error(attempt, error)
            return
        self._inflight.pop(attempt.id, None)
        self._placed += 1
        if not self._answer_is_late(attempt, {"http_status": result.http_status}):
            self._record_answer(attempt, result)
        self._last_answer = asyncio.get_running_loop().time()

    # -- recording answers -----------------------------------------------------------------

    def _answer_is_late(self, attempt: AttemptRecord, fields: dict[str, Any]) -> bool:
        """The sync found this attempt's call before its POST answer arrived (a replay after
        lost answers can take minutes): keep the answer on the attempt, move nothing."""
        opened = self._open.get(attempt.id)
        moved = opened is not None and opened.status != S.DIALING
        if not moved and attempt.id not in self._settled_early:
            return False
        self._settled_early.discard(attempt.id)
        self.ledger.update_attempt(attempt.id, now=self.clock.now(), **fields)
        return True

    def _record_answer(self, attempt: AttemptRecord, result: PlaceCallResult) -> None:
        """Write the POST answer and move the lead: live, DNC-blocked or held by the platform."""
        now = self.clock.now()
        status = result.http_status
        if isinstance(result, Dialed):
            self._learn_skew(result.created_at, now)
            self._mark_live(attempt, call_id=result.id, http_status=status, now=now)
        elif isinstance(result, DncBlockedAnswer):
            reason = "dnc: api" + (f" ({result.dnc_reason})" if result.dnc_reason else "")
            self.ledger.update_attempt(
                attempt.id,
                now=now,
                http_status=status,
                shape="dnc_blocked",
                call_id=result.call_id,
                call_status="dnc_blocked",
                outcome=S.DNC_BLOCKED.value,
                lead_move=(S.DIALING, S.DNC_BLOCKED, reason),
            )
        else:
            self._mark_held(attempt, result, now=now)

    def _learn_skew(self, server_time: datetime | None, now: datetime) -> None:
        """How far our clock may run ahead of the API's (a call's ``created_at`` against our
        time when its answer arrived; an over-estimate by the latency, which is safe)."""
        if server_time is not None:
            ahead = min(now - server_time, timedelta(days=1))
            self._skew = max(self._skew, ahead)

    def _mark_live(
        self, attempt: AttemptRecord, *, call_id: str, http_status: int | None, now: datetime
    ) -> None:
        """A call exists: remember its id so the sync can follow it."""
        opened = self._open.get(attempt.id) or _Open(attempt=attempt, status=S.DIALING)
        fields: dict[str, Any] = {"call_id": call_id, "call_status": "ringing"}
        if http_status is not None:
            fields |= {"http_status": http_status, "shape": "dialed"}
        self.ledger.update_attempt(
            attempt.id,
            lead_id=attempt.lead_id,
            now=now,
            lead_move=(opened.status, S.LIVE, "call in progress"),
            **fields,
        )
        opened.status = S.LIVE
        opened.call_id = call_id
        self._open[attempt.id] = opened
        self._by_call[call_id] = attempt.id

    def _mark_held(self, attempt: AttemptRecord, result: PlaceCallResult, *, now: datetime) -> None:
        """A 202: the platform holds the call. Never re-sent; the sync finds the call later."""
        opened = _Open(attempt=attempt, status=S.PLATFORM_QUEUED)
        shape, reason = "handed_back", "handed back to the platform queue"
        fields: dict[str, Any] = {}
        if isinstance(result, WorkflowAccepted):
            shape, reason = "workflow", "workflow call request accepted"
            opened.request_id = result.request_id
            fields["request_id"] = result.request_id
            self._by_request[result.request_id] = attempt.id
        elif isinstance(result, QueuedAtCapacity):
            shape, reason = "queued", f"queued by the platform (position {result.queue_position})"
            if result.id:
                opened.queue_id = result.id
                fields["queue_id"] = result.id
                self._by_queue[result.id] = attempt.id
        elif isinstance(result, ScheduledAnswer):
            shape = "scheduled"
            reason = f"scheduled by the platform for {result.scheduled_for}"
        elif not isinstance(result, HandedBack):
            shape, reason = "accepted", "accepted by the platform"
        opened.held_until = _held_until(result, now)
        fields["held_until"] = opened.held_until
        self.ledger.update_attempt(
            attempt.id,
            lead_id=attempt.lead_id,
            now=now,
            http_status=result.http_status,
            shape=shape,
            lead_move=(S.DIALING, S.PLATFORM_QUEUED, reason),
            **fields,
        )
        self._open[attempt.id] = opened

    def _record_error(self, attempt: AttemptRecord, error: ApiError) -> None:
        """A POST that ended in an error: reject the lead, stop the campaign, or mark unknown."""
        now = self.clock.now()
        fields = _error_fields(error)
        if isinstance(error, CampaignStop) and error.after_uncertain:
            self._stop_error = self._stop_error or error
            self._mark_unknown(attempt, error, fields, now)
        elif isinstance(error, CampaignStop):
            self._give_back(attempt, error, fields, now)
        elif error.after_uncertain:
            self._mark_unknown(attempt, error, fields, now)
        elif isinstance(error, LeadRejected) or (
            400 <= error.status < 500 and not _ambiguous(error)
        ):
            reason = f"rejected by the API: {error.code or error.status}"
            self.ledger.update_attempt(
                attempt.id,
                now=now,
                shape="rejected",
                outcome=S.REJECTED.value,
                lead_move=(S.DIALING, S.REJECTED, reason),
                **fields,
            )
        else:
            self._mark_unknown(attempt, error, fields, now)

    def _mark_unknown(
        self, attempt: AttemptRecord, error: ApiError, fields: dict[str, Any], now: datetime
    ) -> None:
        """We cannot tell whether the call was placed: never re-dial it on our own."""
        reason = (
            f"the API did not confirm the call ({error.code or error.status or 'no answer'});"
            " resume with --redial-unknown to resend it under the same key"
        )
        self.ledger.update_attempt(
            attempt.id,
            lead_id=attempt.lead_id,
            now=now,
            lead_move=(S.DIALING, S.UNKNOWN, reason),
            **fields,
        )
        self._open[attempt.id] = _Open(attempt=attempt, status=S.UNKNOWN)

    def _give_back(
        self, attempt: AttemptRecord, error: ApiError, fields: dict[str, Any], now: datetime
    ) -> None:
        """A campaign stop: nothing was placed, so the lead gets its attempt back."""
        back_to = S.RETRY_WAIT if attempt.number > 1 else S.PENDING
        self.ledger.update_attempt(
            attempt.id,
            lead_id=attempt.lead_id,
            now=now,
            shape="stopped",
            lead_move=(S.DIALING, back_to, f"waiting: campaign stopped ({error.code})"),
            next_attempt_at=now if back_to == S.RETRY_WAIT else None,
            uncount=True,
            **fields,
        )
        if self._stop_error is None:
            self._stop_error = error
        self._wake.set()

    # -- following calls -------------------------------------------------------------------

    async def _sync_loop(self) -> None:
        """Pull changed calls while any attempt is open or a finished call awaits analysis.

        Syncing often only pays when a freed line would be refilled at once: while due
        leads wait for a line, sync every ``sync_interval``; otherwise (the tail of a run,
        everyone waiting for a retry time) every ``idle_sync_interval``: fewer requests,
        same outcomes.
        """
        while True:
            if self._following():
                try:
                    await self._sync_once()
                except CampaignStop as error:
                    self._stop_error = self._stop_error or error
                    self._wake.set()
                except ApiError as error:
                    log.warning("outcome sync failed, will retry: %s", error)
            fast = self._hungry or not self._open
            interval = self.options.sync_interval if fast else self.options.idle_sync_interval
            await self.clock.sleep(interval)

    def _following(self) -> bool:
        """Whether any call can still change: open attempts, or analyses we wait for."""
        self._expire_analysis()
        return bool(self._analysis) or any(
            o.status != S.UNKNOWN or self._maybe_live(o) for o in self._open.values()
        )

    async def _sync_once(self) -> None:
        """One GET /calls?updated_since pass over every page; applies what changed."""
        since = self._sync_since()
        # The next sync starts from when this one *started*: a call that changes while we
        # page through the list may sit on a page already read, and must be read next time.
        started = self.clock.now()
        changed = False
        async for call in self.client.list_calls(agent_id=self.plan.agent_id, updated_since=since):
            changed |= self._apply_call(call)
        self._sync_mark = started
        if changed:
            self._wake.set()

    def _sync_since(self) -> datetime:
        """Re-read a little overlap each time; the first sync goes back to the oldest attempt."""
        if self._sync_mark is not None:
            # the overlap covers late writes; the skew covers a local clock running ahead
            return self._sync_mark - timedelta(seconds=self.options.sync_overlap) - self._skew
        oldest = min((o.attempt.started_at for o in self._open.values()), default=self._started)
        return oldest - timedelta(minutes=5)

    def _match(self, call: Call) -> _Open | None:
        """The open attempt this call belongs to, by call id or by our metadata; an attempt
        whose POST is still in flight is opened here, so a late answer loses nothing."""
        metadata = call.metadata or {}
        attempt_id = (
            self._by_call.get(call.id)
            or _text(metadata.get("dialer_attempt"))
            or self._by_request.get(_text(metadata.get("workflow_request_id")) or "")
            or self._by_queue.get(_text(metadata.get("queue_id")) or "")
        )
        if not attempt_id:
            return None
        in_flight = attempt_id in self._inflight and attempt_id not in self._settled_early
        if attempt_id not in self._open and in_flight:
            self._open[attempt_id] = _Open(attempt=self._inflight[attempt_id], status=S.DIALING)
        return self._open.get(attempt_id)

    def _apply_call(self, call: Call) -> bool:
        """Record a call's news; returns True if a line was freed."""
        if call.id in self._analysis:
            self._apply_analysis(call)
            return False
        opened = self._match(call)
        if opened is None or (call.updated_at and call.updated_at == opened.last_update):
            return False
        now = self.clock.now()
        opened.last_update = call.updated_at
        if opened.call_id is None:
            self._mark_live(opened.attempt, call_id=call.id, http_status=None, now=now)
        outcome = outcome_of(
            status=call.status,
            failure_code=_failure_code(call),
            disconnect_reason=call.disconnect_reason,
            disposition=call.disposition_label,
        )
        if outcome is None:
            return False
        self._close(opened, call, outcome, now)
        return True

    def _close(self, opened: _Open, call: Call, outcome: LeadStatus, now: datetime) -> None:
        """A call is over: record it and decide the lead's next step (retry or final)."""
        decision = after_call(
            outcome,
            attempts=opened.attempt.number,
            policy=self.plan.retry,
            now=now,
            ended_by=call.ended_by,
            disposition=call.disposition_label,
            rng=self._rng,
        )
        if decision.next_attempt_at is not None and _analysis_pending(call):
            # not before the analysis is in: a "Do Not Call" disposition cancels the retry
            earliest = now + self.options.analysis_wait
            decision = replace(decision, next_attempt_at=max(decision.next_attempt_at, earliest))
        self.ledger.update_attempt(
            opened.attempt.id,
            now=now,
            lead_move=(opened.status, decision.status, decision.reason),
            next_attempt_at=decision.next_attempt_at,
            outcome=outcome.value,
            **_call_fields(call),
        )
        self._forget(opened)
        if _analysis_pending(call) and self._wants_analysis(decision.status):
            until = now + self.options.analysis_wait
            self._analysis[call.id] = (opened.attempt.id, opened.attempt.lead_id, until)
        elif _opted_out(call):
            self._opt_out(opened.attempt.phone, opened.attempt.lead_id, call, now)

    def _wants_analysis(self, status: LeadStatus) -> bool:
        """Follow a call to its analysis only when the disposition can change what happens
        next: an opt-out goes on the DNC list, or cancels a planned retry."""
        return self.plan.add_on_opt_out or status == S.RETRY_WAIT

    def _apply_analysis(self, call: Call) -> None:
        """A finished call's analysis arrived: keep disposition and summary; honour opt-outs."""
        if _analysis_pending(call):
            return
        attempt_id, lead_id, _until = self._analysis.pop(call.id)
        now = self.clock.now()
        self.ledger.update_attempt(
            attempt_id,
            now=now,
            disposition=call.disposition_label,
            summary=call.summary,
            cost_cents=call.cost_cents,
        )
        if _opted_out(call):
            self._opt_out(call.to or "", lead_id, call, now)

    def _opt_out(self, phone: str, lead_id: int, call: Call, now: datetime) -> None:
        """The callee asked not to be called: no retry for this lead, and with
        ``add_on_opt_out`` the number goes on the company DNC list for every campaign."""
        if self.ledger.lead_status(lead_id) == S.RETRY_WAIT:
            reason = "asked not to be called (disposition Do Not Call); retry cancelled"
            self.ledger.move_lead(
                lead_id, old=S.RETRY_WAIT, new=S.DNC_BLOCKED, reason=reason, now=now
            )
        if self.plan.add_on_opt_out and phone and phone not in self._opted_out:
            self._opted_out.add(phone)
            task = asyncio.create_task(self._add_to_dnc(phone, call.id))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)

    async def _add_to_dnc(self, phone: str, call_id: str) -> None:
        """POST /do-not-call (idempotent by number: an existing entry is left unchanged)."""
        try:
            await self.client.add_dnc(phone, reason=f"opted out on call {call_id} (dialer)")
            log.info("added %s to the company DNC list (opt-out)", mask(phone))
        except ApiError as error:
            log.warning("could not add %s to the DNC list: %s", mask(phone), error)

    def _expire_analysis(self) -> None:
        """Stop waiting for analyses that did not come in time (the API says 1–2 minutes)."""
        now = self.clock.now()
        for call_id, (_a, _l, until) in list(self._analysis.items()):
            if now > until:
                del self._analysis[call_id]

    def _forget(self, opened: _Open) -> None:
        self._open.pop(opened.attempt.id, None)
        if opened.attempt.id in self._inflight:
            self._settled_early.add(opened.attempt.id)
        if opened.call_id:
            self._by_call.pop(opened.call_id, None)
        if opened.request_id:
            self._by_request.pop(opened.request_id, None)
        if opened.queue_id:
            self._by_queue.pop(opened.queue_id, None)

    async def _dnc_loop(self) -> None:
        """Keep the DNC cache younger than ``max_age`` during a long run. If a refresh
        fails the run goes on (the API still checks its list on every POST) and tries
        again a sync interval later."""
        if self._refresh_dnc is None or self._dnc_max_age is None:
            await asyncio.Event().wait()  # nothing to do; cancelled with the run
        assert self._refresh_dnc is not None and self._dnc_max_age is not None
        wait = self._dnc_max_age.total_seconds()
        while True:
            await self.clock.sleep(wait)
            try:
                await self._refresh_dnc()
                wait = self._dnc_max_age.total_seconds()
            except CampaignStop as error:
                log.warning("could not refresh the DNC list: %s", error)
                wait = self.options.idle_sync_interval
            except ApiError as error:
                log.warning("could not refresh the DNC list, will retry: %s", error)
                wait = self.options.sync_interval

    async def _request_loop(self) -> None:
        """Follow workflow call requests until they have a call (or die); give up stale holds."""
        while True:
            await self.clock.sleep(self.options.request_poll_interval)
            for opened in list(self._open.values()):
                if opened.status != S.PLATFORM_QUEUED:
                    continue
                try:
                    await self._poll_hold(opened)
                except CampaignStop as error:
                    self._stop_error = self._stop_error or error
                except ApiError as error:
                    log.warning("following a held call failed, will retry: %s", error)

    async def _poll_hold(self, opened: _Open) -> None:
        """One look at a platform-held attempt."""
        now = self.clock.now()
        if opened.request_id:
            try:
                state = await self.client.get_call_request(opened.request_id)
            except NotFound:
                self._fail_hold(opened, "call request not found", "request_not_found", now)
                return
            if state.call_id and opened.call_id is None:
                self._mark_live(opened.attempt, call_id=state.call_id, http_status=None, now=now)
            elif state.status in {"failed", "expired", "cancelled"}:
                self._fail_hold(opened, f"call request {state.status}", state.error_code, now)
            return
        if opened.held_until is not None and now > opened.held_until + QUEUE_GRACE:
            self._fail_hold(opened, "platform queue entry expired", "queue_expired", now)

    def _fail_hold(self, opened: _Open, why: str, code: str | None, now: datetime) -> None:
        """A held call died before dialing: a failed attempt (retried if the policy says so)."""
        decision = after_call(
            S.FAILED, attempts=opened.attempt.number, policy=self.plan.retry, now=now, rng=self._rng
        )
        self.ledger.update_attempt(
            opened.attempt.id,
            now=now,
            outcome=S.FAILED.value,
            failure_code=code,
            error_message=why,
            lead_move=(opened.status, decision.status, f"{why}; {decision.reason}"),
            next_attempt_at=decision.next_attempt_at,
        )
        self._forget(opened)
        self._wake.set()

    # -- crash recovery --------------------------------------------------------------------

    def _load_open(self) -> None:
        """Pick up attempts a previous run left live, held, unknown or dialing."""
        for attempt in self.ledger.open_attempts(self.plan.name):
            opened = _Open(
                attempt=attempt,
                status=attempt.lead_status,
                call_id=attempt.call_id,
                request_id=attempt.request_id,
                queue_id=attempt.queue_id,
                held_until=attempt.held_until,
            )
            self._open[attempt.id] = opened
            for key, index in (
                (attempt.call_id, self._by_call),
                (attempt.request_id, self._by_request),
                (attempt.queue_id, self._by_queue),
            ):
                if key:
                    index[key] = attempt.id

    async def _reconcile_dialing(self) -> None:
        """Attempts left ``dialing`` by a crash: find their call, or mark the lead unknown."""
        for opened in [o for o in self._open.values() if o.status in (S.DIALING, S.UNKNOWN)]:
            if opened.call_id:
                continue
            call = await self._find_call(opened.attempt)
            now = self.clock.now()
            if call is None and opened.status == S.UNKNOWN:
                continue  # still unknown: resent only with --redial-unknown
            if call is not None:
                log.info("reconciled %s: call %s", mask(opened.attempt.phone), call.id)
                self._mark_live(opened.attempt, call_id=call.id, http_status=None, now=now)
                self._apply_call(call)
                continue
            reason = (
                "interrupted before the API answered and no call was found;"
                " resume with --redial-unknown to resend it under the same key"
            )
            self.ledger.update_attempt(
                opened.attempt.id,
                now=now,
                shape="reconciled",
                lead_move=(S.DIALING, S.UNKNOWN, reason),
            )
            opened.status = S.UNKNOWN

    async def _find_call(self, attempt: AttemptRecord) -> Call | None:
        """GET /calls by callee, agent and creation time, matched on our attempt id."""
        async for call in self.client.list_calls(
            agent_id=self.plan.agent_id,
            callee=attempt.phone,
            created_from=attempt.started_at - timedelta(minutes=5),
        ):
            if _text((call.metadata or {}).get("dialer_attempt")) == attempt.id:
                return call
        return None

    def _requeue_unknown(self) -> None:
        """``--redial-unknown``: resend unknown attempts, under the same key while it is
        remembered by the API (so a call that did go through is replayed, not placed again).
        They are screened, windowed and capped like new leads (see :meth:`_fill_resends`)."""
        now = self.clock.now()
        for opened in [o for o in self._open.values() if o.status == S.UNKNOWN]:
            attempt = opened.attempt
            if now - attempt.started_at < IDEMPOTENCY_MEMORY:
                self._resend.append(attempt)
            else:
                self.ledger.update_attempt(
                    attempt.id,
                    now=now,
                    lead_move=(S.UNKNOWN, S.RETRY_WAIT, "unknown; redial requested"),
                    next_attempt_at=now,
                )
                self._forget(opened)

    # -- ending ----------------------------------------------------------------------------

    async def _drain_posts(self) -> None:
        """Let POSTs (and DNC additions) in flight finish and be recorded."""
        pending = [*self._posts, *self._side_tasks]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _finish(self, ending: str) -> RunResult:
        now = self.clock.now()
        state = {"finished": "finished", "waiting": "waiting"}.get(ending, ending)
        reason = str(self._stop_error) if self._stop_error else None
        self.ledger.set_campaign_state(self.plan.name, state, now=now, reason=reason)
        self._report_progress(force=True)
        return RunResult(
            ending=ending,
            counts=self.ledger.counts(self.plan.name),
            next_due=self.ledger.next_due(self.plan.name),
            stop_error=self._stop_error,
            placed=self._placed,
            placing_seconds=max(0.0, self._last_answer - (self._first_claim or self._last_answer)),
        )

    def _report_progress(self, *, force: bool = False) -> None:
        """Call the progress callback at most every ``progress_interval`` wall seconds."""
        if self._on_progress is None:
            return
        loop_time = asyncio.get_running_loop().time()
        if not force and loop_time - self._last_progress < self.options.progress_interval:
            return
        self._last_progress = loop_time
        stats = self.client.stats
        self._on_progress(
            Progress(
                counts=self.ledger.counts(self.plan.name),
                placed=self._placed,
                live=self._lines_in_use(),
                started=self._started,
                now=self.clock.now(),
                requests=sum(stats.values()),
                rate_limited=stats.get(429, 0),
                time_scale=float(getattr(self.clock, "scale", 1.0)),
            )
        )


def _error_fields(error: ApiError) -> dict[str, Any]:
    """The attempt columns an error answer fills in."""
    return {
        "http_status": error.status or None,
        "failure_code": error.code or None,
        "error_message": error.message[:500],
    }


def _ambiguous(error: ApiError) -> bool:
    """Errors after which we cannot know whether a call was placed."""
    return isinstance(error, RetryableError | IdempotencyConflict)


def _held_until(result: PlaceCallResult, now: datetime) -> datetime | None:
    """When a platform hold expires (its ``expires_at``), if the answer says."""
    expires = getattr(result, "expires_at", None)
    if isinstance(expires, datetime):
        return expires
    if isinstance(expires, str):
        return parse_instant(expires)
    return None


def _analysis_pending(call: Call) -> bool:
    return call.analysis is not None and call.analysis.status == "pending"


def _opted_out(call: Call) -> bool:
    return (call.disposition_label or "").strip().lower() == "do not call"


def _failure_code(call: Call) -> str | None:
    return call.failure.code if call.failure is not None else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _call_fields(call: Call) -> dict[str, Any]:
    """The columns of an attempt row that a finished call fills in."""
    return {
        "call_id": call.id,
        "call_status": call.status,
        "failure_code": _failure_code(call),
        "ended_by": call.ended_by,
        "disconnect_reason": call.disconnect_reason,
        "duration_seconds": call.duration_seconds,
        "disposition": call.disposition_label,
        "summary": call.summary,
        "cost_cents": call.cost_cents,
        "answered_at": call.started_at,
        "ended_at": call.ended_at,
        "call_updated_at": call.updated_at,
    }
