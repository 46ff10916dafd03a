"""What each piece of news does to an attempt and its lead. Pure: no I/O, ``now`` is given.

News is a POST answer, an error, a refusal at the last moment (the gate), a call the sync or a
look-up found, an analysis, or a platform hold that ran out. Each function returns a
:class:`Step`: the columns to write, the lead's move, and how the attempt is followed next
(its :class:`Phase`, or ``None`` when it is closed). The dispatcher only carries steps out.

The rule behind every choice: a call that may exist is never placed a second time. An attempt
whose first try may have taken effect is *uncertain*; it is resolved only by the API's own
answer to the same Idempotency-Key (the API replays the first answer or places the call once),
or by its call turning up in GET /calls. A "no" that follows an uncertain try proves nothing,
so it is believed only after a look-up finds no call.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from dialer.api.models import (
    Call,
    Dialed,
    DncBlockedAnswer,
    HandedBack,
    PlaceCallResult,
    QueuedAtCapacity,
    ScheduledAnswer,
    WorkflowAccepted,
)
from dialer.dispatch.plan import HOLD_GRACE, HOLD_WITHOUT_EXPIRY
from dialer.errors import (
    ApiError,
    CampaignStop,
    IdempotencyConflict,
    RateLimited,
    RetryableError,
)
from dialer.models import AttemptFacts, LeadMove, LeadStatus, Shape
from dialer.state import RetryPolicy, after_call, outcome_of

S = LeadStatus


class Phase(StrEnum):
    """How an open attempt is followed."""

    SENDING = "sending"  # its POST is on its way (or waits for its slot)
    RESEND = "resend"  # its fate is unknown: the same key goes again at ``due``
    LOOKUP = "lookup"  # a "no" came after an uncertain try: look for its call first
    LIVE = "live"  # its call exists and is not over
    HELD = "held"  # the platform holds it (a 202) until ``due``
    UNKNOWN = "unknown"  # the API cannot resolve it; it may be live until ``due``


class Refusal(StrEnum):
    """Why the gate kept a POST from leaving at the last moment."""

    WINDOW = "window"  # the callee's calling window is closed (in one of its zones)
    BLOCKED = "blocked"  # the number is on the DNC list now
    STALE_DNC = "stale_dnc"  # the DNC cache is older than the campaign allows
    KEY_EXPIRED = "key_expired"  # the API may have forgotten the key: a resend could dial twice
    STOPPING = "stopping"  # the campaign is stopping


@dataclass(frozen=True, slots=True)
class Refused:
    """The gate's refusal: why, when it may be tried again, and a reason a person reads."""

    why: Refusal
    text: str
    retry_at: datetime | None = None  # e.g. the window's next opening (None: never)


@dataclass(frozen=True, slots=True)
class Situation:
    """What a decision knows about an attempt besides the news itself."""

    status: LeadStatus  # the lead's status in the ledger now
    phase: Phase
    number: int  # which attempt of its lead this is (1 = the first)
    uncertain: bool  # an earlier try of it may have taken effect
    policy: RetryPolicy
    now: datetime  # our clock
    api_now: datetime  # the latest the API's clock may show (expiries are on its clock)


@dataclass(frozen=True, slots=True)
class Step:
    """What to write, where the lead goes, and how the attempt is followed next."""

    phase: Phase | None  # None: closed, no longer followed
    facts: AttemptFacts | None = None
    move: LeadMove | None = None
    due: datetime | None = None  # RESEND: when; HELD: deadline; UNKNOWN: may be live until
    call_id: str | None = None
    request_id: str | None = None
    queue_id: str | None = None
    stop: ApiError | None = None  # the campaign must stop
    otherwise: Step | None = None  # LOOKUP: what to do if no call is found
    opted_out: bool = False  # the callee asked not to be called (disposition Do Not Call)
    capacity_hint: int | None = None  # a 202 queued: the platform's lines are all busy


# -- POST answers ------------------------------------------------------------------------------


def on_answer(result: PlaceCallResult, s: Situation) -> Step:
    """A POST /calls answer. If the sync already found the call, only the answer is kept."""
    if s.phase != Phase.SENDING:
        return Step(s.phase, AttemptFacts(http_status=result.http_status))
    if isinstance(result, Dialed):
        facts = AttemptFacts(
            http_status=result.http_status,
            shape=Shape.DIALED,
            call_id=result.id,
            call_status="ringing",
        )
        move = LeadMove(s.status, S.LIVE, "call in progress")
        return Step(Phase.LIVE, facts, move, call_id=result.id)
    if isinstance(result, DncBlockedAnswer):
        return _blocked_by_api(result, s)
    return _held(result, s)


def _blocked_by_api(result: DncBlockedAnswer, s: Situation) -> Step:
    """200 dnc_blocked: not dialled, not charged; final."""
    reason = "dnc: api" + (f" ({result.dnc_reason})" if result.dnc_reason else "")
    facts = AttemptFacts(
        http_status=result.http_status,
        shape=Shape.DNC_BLOCKED,
        call_id=result.call_id,
        call_status="dnc_blocked",
        outcome=S.DNC_BLOCKED.value,
    )
    return Step(None, facts, LeadMove(s.status, S.DNC_BLOCKED, reason))


def _held(result: PlaceCallResult, s: Situation) -> Step:
    """A 202 (or a 2xx we do not know): the platform holds the call; never resent."""
    shape, reason, deadline = _hold_terms(result, s.api_now)
    request_id = result.request_id if isinstance(result, WorkflowAccepted) else None
    queue_id = result.queue_id if isinstance(result, QueuedAtCapacity) else None
    facts = AttemptFacts(
        http_status=result.http_status,
        shape=shape,
        request_id=request_id,
        queue_id=queue_id,
        held_until=deadline,
    )
    return Step(
        Phase.HELD,
        facts,
        LeadMove(s.status, S.PLATFORM_QUEUED, reason),
        due=deadline,
        request_id=request_id,
        queue_id=queue_id,
        capacity_hint=result.queue_position if isinstance(result, QueuedAtCapacity) else None,
    )


def _hold_terms(result: PlaceCallResult, api_now: datetime) -> tuple[Shape, str, datetime]:
    """The shape, the reason and the deadline (on the API's clock) of a platform hold."""
    unbounded = api_now + HOLD_WITHOUT_EXPIRY
    if isinstance(result, WorkflowAccepted):
        until = result.expires_at + HOLD_GRACE if result.expires_at else unbounded
        return Shape.WORKFLOW, "workflow call request accepted", until
    if isinstance(result, QueuedAtCapacity):
        until = result.expires_at + HOLD_GRACE if result.expires_at else unbounded
        where = f"position {result.queue_position}"
        return Shape.QUEUED, f"queued by the platform: all lines busy ({where})", until
    if isinstance(result, ScheduledAnswer):
        until = result.scheduled_for + HOLD_GRACE
        return Shape.SCHEDULED, f"scheduled by the platform for {result.scheduled_for}", until
    if isinstance(result, HandedBack):
        return Shape.HANDED_BACK, "handed back to the platform queue", unbounded
    return Shape.ACCEPTED, f"accepted by the platform (HTTP {result.http_status})", unbounded


# -- errors and refusals -----------------------------------------------------------------------


def on_error(error: ApiError, s: Situation, *, resend_at: datetime) -> Step:
    """A POST that ended in an error (after the client's own retries)."""
    if s.phase != Phase.SENDING:
        return Step(s.phase, _error_facts(error))  # the sync found its call meanwhile
    uncertain = s.uncertain or error.after_uncertain
    facts = _error_facts(error)
    if isinstance(error, RateLimited) and not uncertain:
        return _give_back(s, facts, f"rate limited ({error.code or 429}); will try again")
    if isinstance(error, CampaignStop):
        if uncertain:  # the stop proves nothing about the earlier try: same key next run
            return replace(_resend(s, facts, resend_at, "campaign stopped"), stop=error)
        why = f"campaign stopped ({error.code or error.status})"
        return replace(_give_back(s, replace(facts, shape=Shape.STOPPED), why), stop=error)
    if isinstance(error, RetryableError):
        return _resend(s, facts, resend_at, f"no answer ({error.code or error.status or 'lost'})")
    if isinstance(error, IdempotencyConflict):
        text = "the API refused the key (used with another body); look it up before anything"
        return _believed_if_no_call(facts, _unknown(s, text), s, uncertain=True)
    rejected = Step(
        None,
        replace(facts, shape=Shape.REJECTED, outcome=S.REJECTED.value),
        LeadMove(s.status, S.REJECTED, f"rejected by the API: {error.code or error.status}"),
    )
    return _believed_if_no_call(facts, rejected, s, uncertain=uncertain)


def on_refused(refused: Refused, s: Situation, *, uncertain: bool) -> Step:
    """The gate kept the POST from leaving. With nothing sent before, the attempt is given
    back (none was used up); after an uncertain try, the same key waits to go again."""
    facts = AttemptFacts(error_message=refused.text[:500])
    if s.phase != Phase.SENDING:
        return Step(s.phase)  # the sync found its call meanwhile: nothing to take back
    if not (uncertain or s.uncertain):
        return _not_sent(refused, s, replace(facts, shape=Shape.NOT_SENT))
    if refused.why in (Refusal.BLOCKED, Refusal.WINDOW) and refused.retry_at is None:
        final = S.DNC_BLOCKED if refused.why == Refusal.BLOCKED else S.NO_WINDOW
        closed = Step(None, facts, LeadMove(s.status, final, refused.text))
        return _believed_if_no_call(facts, closed, s, uncertain=True)
    if refused.why == Refusal.KEY_EXPIRED or refused.retry_at is None:
        return _unknown(s, refused.text)
    return _resend(s, facts, refused.retry_at, refused.text)


def _not_sent(refused: Refused, s: Situation, facts: AttemptFacts) -> Step:
    """Nothing ever left: the lead waits again, with its attempt given back (or ends, if it
    is blocked or its window never opens)."""
    if refused.why == Refusal.BLOCKED:
        return Step(None, facts, LeadMove(s.status, S.DNC_BLOCKED, refused.text, uncount=True))
    if refused.why == Refusal.WINDOW and refused.retry_at is None:
        return Step(None, facts, LeadMove(s.status, S.NO_WINDOW, refused.text, uncount=True))
    if refused.why == Refusal.WINDOW and refused.retry_at is not None:
        move = LeadMove(s.status, S.SCHEDULED, refused.text, refused.retry_at, uncount=True)
        return Step(None, facts, move)
    return _give_back(s, facts, refused.text, at=refused.retry_at)


def _give_back(s: Situation, facts: AttemptFacts, why: str, *, at: datetime | None = None) -> Step:
    """Nothing was placed: the lead is claimable again (at ``at``) and keeps its attempt."""
    back = S.RETRY_WAIT if s.number > 1 else S.PENDING
    due = (at or s.now) if back == S.RETRY_WAIT else None
    if back == S.PENDING and at is not None:
        back, due = S.SCHEDULED, at
    return Step(None, facts, LeadMove(s.status, back, f"waiting: {why}", due, uncount=True))


def _resend(s: Situation, facts: AttemptFacts, at: datetime, why: str) -> Step:
    """The same key goes again at ``at``; until then the lead waits in ``resend_wait``."""
    text = f"{why}; will resend under the same Idempotency-Key at {at.isoformat()}"
    return Step(Phase.RESEND, facts, LeadMove(s.status, S.RESEND_WAIT, text, at), due=at)


def _unknown(s: Situation, why: str) -> Step:
    """What the API cannot resolve: never resent on our own (``--redial-unknown``)."""
    text = f"{why}; resume with --redial-unknown to call again"
    move = LeadMove(s.status, S.UNKNOWN, text) if s.status != S.UNKNOWN else None
    return Step(Phase.UNKNOWN, AttemptFacts(error_message=why[:500]), move)


def _believed_if_no_call(facts: AttemptFacts, step: Step, s: Situation, *, uncertain: bool) -> Step:
    """``step`` as it is, or after a look-up for the call when an earlier try may have
    placed one (a 404 or a block after a lost answer does not prove there is no call)."""
    if not uncertain:
        return step
    return Step(Phase.LOOKUP, facts, otherwise=step)


def _error_facts(error: ApiError) -> AttemptFacts:
    return AttemptFacts(
        http_status=error.status or None,
        failure_code=error.code or None,
        error_message=error.message[:500],
    )


# -- calls the sync or a look-up found ---------------------------------------------------------


def on_call(call: Call, s: Situation, *, rng: random.Random, with_transcript: bool) -> Step:
    """News of this attempt's call: still going (live), or over (an outcome, maybe a retry)."""
    facts = call_facts(call, with_transcript=with_transcript)
    if s.phase not in (Phase.LIVE, Phase.HELD, Phase.SENDING):
        facts = replace(facts, shape=Shape.RECONCILED)
    outcome = outcome_of(
        status=call.status,
        failure_code=call.failure.code if call.failure else None,
        disconnect_reason=call.disconnect_reason,
        disposition=call.disposition_label,
    )
    if outcome is None:
        # what an analysis says only counts once the call is over
        facts = replace(facts, analysis_status=None, analysis_reason=None)
        move = None if s.status == S.LIVE else LeadMove(s.status, S.LIVE, "call in progress")
        return Step(Phase.LIVE, facts, move, call_id=call.id)
    decision = after_call(
        outcome,
        attempts=s.number,
        policy=s.policy,
        now=s.now,
        ended_by=call.ended_by,
        disposition=call.disposition_label,
        rng=rng,
    )
    facts = replace(facts, outcome=outcome.value)
    move = LeadMove(s.status, decision.status, decision.reason, decision.next_attempt_at)
    return Step(None, facts, move, call_id=call.id, opted_out=opted_out(call))


def on_analysis(call: Call, s: Situation, *, with_transcript: bool) -> Step:
    """A finished call's analysis is final: keep what it says; an opt-out cancels a retry."""
    facts = call_facts(call, with_transcript=with_transcript)
    move = None
    if opted_out(call) and s.status == S.RETRY_WAIT:
        reason = "asked not to be called (disposition Do Not Call); retry cancelled"
        move = LeadMove(S.RETRY_WAIT, S.DNC_BLOCKED, reason)
    return Step(None, facts, move, call_id=call.id, opted_out=opted_out(call))


def on_analysis_stuck(s: Situation) -> Step:
    """An analysis still pending long after its call ended (docs/api.md §5: stuck)."""
    del s
    return Step(None, AttemptFacts(analysis_status="stuck", analysis_reason="pending > 10 min"))


def on_hold_over(s: Situation, *, why: str, code: str | None, rng: random.Random) -> Step:
    """A platform hold ended with no call. A queue entry or call request that expired or
    failed placed nothing: a failed attempt (retried by policy). A hold that never said
    when it ends may still be placed by the platform: unknown, never resent."""
    if code is None:
        return _unknown(s, f"{why}; no call appeared")
    decision = after_call(S.FAILED, attempts=s.number, policy=s.policy, now=s.now, rng=rng)
    facts = AttemptFacts(outcome=S.FAILED.value, failure_code=code, error_message=why)
    move = LeadMove(
        s.status, decision.status, f"{why}; {decision.reason}", decision.next_attempt_at
    )
    return Step(None, facts, move)


def on_not_found(s: Situation, *, resend_at: datetime) -> Step:
    """After an interruption, GET /calls shows no call for an attempt left ``dialing``:
    resend it under its key (the API replays the first answer, or places the call once)."""
    why = "interrupted before the API answered, and no call was found"
    return _resend(s, AttemptFacts(), resend_at, why)


# -- what a finished call says -----------------------------------------------------------------


def call_facts(call: Call, *, with_transcript: bool) -> AttemptFacts:
    """The attempt columns a call fills in (what it has so far)."""
    analysis = call.analysis
    disposition = call.disposition if isinstance(call.disposition, dict) else {}
    return AttemptFacts(
        call_id=call.id,
        call_status=call.status,
        failure_code=call.failure.code if call.failure else None,
        ended_by=call.ended_by,
        disconnect_reason=call.disconnect_reason,
        duration_seconds=call.duration_seconds,
        answered_at=call.started_at,
        ended_at=call.ended_at,
        call_updated_at=call.updated_at,
        disposition_id=_text(disposition.get("id")),
        disposition=call.disposition_label,
        summary=call.summary,
        extracted_data=call.extracted_data,
        analysis_status=analysis.status if analysis else None,
        analysis_reason=analysis.reason if analysis else None,
        cost_cents=call.cost_cents,
        cost_status=call.cost_status,
        recording_url=call.recording_url,
        transcript=_transcript(call) if with_transcript else None,
    )


def analysis_pending(call: Call) -> bool:
    """Whether the call's analysis is still to come."""
    return call.analysis is not None and call.analysis.status == "pending"


def opted_out(call: Call) -> bool:
    """Whether the call was dispositioned "Do Not Call"."""
    return (call.disposition_label or "").strip().lower() == "do not call"


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _transcript(call: Call) -> str | None:
    if call.transcript in (None, ""):
        return None
    if isinstance(call.transcript, str):
        return call.transcript
    return json.dumps(call.transcript, ensure_ascii=False, default=str)
