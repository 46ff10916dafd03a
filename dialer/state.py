"""The lead state machine as data, the call-outcome mapping and retry timing. Pure: no I/O.

A lead moves only along :data:`TRANSITIONS`; the ledger refuses any other move, so a bug can
never quietly put a finished lead back in line to be dialed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer.models import CALL_OUTCOMES, LeadStatus

S = LeadStatus

#: Statuses a dispatcher may claim a lead from (when its time has come).
CLAIMABLE = frozenset({S.PENDING, S.SCHEDULED, S.RETRY_WAIT})

#: Statuses in which a call may exist on the platform right now: they hold a line of our cap.
IN_FLIGHT = frozenset({S.DIALING, S.LIVE, S.PLATFORM_QUEUED, S.RESEND_WAIT})

#: Statuses whose latest attempt is still followed (a call may exist or appear).
OPEN = IN_FLIGHT | {S.UNKNOWN}

_OUTCOME_TARGETS = frozenset(CALL_OUTCOMES | {S.RETRY_WAIT, S.EXHAUSTED, S.DNC_BLOCKED})

TRANSITIONS: dict[LeadStatus, frozenset[LeadStatus]] = {
    S.PENDING: frozenset(
        {S.DIALING, S.SCHEDULED, S.DNC_BLOCKED, S.DUPLICATE, S.NO_WINDOW, S.CANCELLED}
    ),
    S.SCHEDULED: frozenset(
        {S.DIALING, S.SCHEDULED, S.PENDING, S.DNC_BLOCKED, S.DUPLICATE, S.NO_WINDOW} | {S.CANCELLED}
    ),
    S.RETRY_WAIT: frozenset(
        {S.DIALING, S.SCHEDULED, S.RETRY_WAIT, S.DNC_BLOCKED, S.NO_WINDOW, S.DUPLICATE}
        | {S.CANCELLED}
    ),
    # DIALING -> PENDING/RETRY_WAIT/SCHEDULED only when nothing was placed: the request never
    # left (the window closed while it waited for its slot), or the API refused it before
    # any effect (a campaign stop, or only 429s).
    S.DIALING: frozenset(
        _OUTCOME_TARGETS
        | {S.LIVE, S.PLATFORM_QUEUED, S.REJECTED, S.UNKNOWN, S.PENDING, S.SCHEDULED}
        | {S.RESEND_WAIT, S.NO_WINDOW}
    ),
    # Its fate is unknown until the same key is sent again (or the sync finds its call).
    S.RESEND_WAIT: frozenset(
        _OUTCOME_TARGETS
        | {S.DIALING, S.LIVE, S.PLATFORM_QUEUED, S.REJECTED, S.UNKNOWN, S.RESEND_WAIT}
        | {S.PENDING, S.SCHEDULED, S.NO_WINDOW}
    ),
    S.LIVE: frozenset(_OUTCOME_TARGETS | {S.LIVE}),
    S.PLATFORM_QUEUED: frozenset(_OUTCOME_TARGETS | {S.LIVE, S.PLATFORM_QUEUED, S.UNKNOWN}),
    S.UNKNOWN: frozenset(_OUTCOME_TARGETS | {S.LIVE, S.PLATFORM_QUEUED, S.DIALING, S.UNKNOWN}),
}
# ``retry NAME --status ...`` recycles finished call outcomes into a new round.
for _final in CALL_OUTCOMES | {S.EXHAUSTED}:
    TRANSITIONS[_final] = frozenset({S.RETRY_WAIT})


def can_move(old: LeadStatus, new: LeadStatus) -> bool:
    """Whether a lead may go from ``old`` to ``new``."""
    return new in TRANSITIONS.get(old, frozenset())


_IN_PROGRESS_CALL = frozenset(
    {"pending_connection", "ringing", "in_progress", "in-progress", "queued", "scheduled"}
)
_VOICEMAIL_REASONS = frozenset({"voicemail detected", "answering machine detected"})
_BUSY_REASONS = frozenset({"busy"})


def outcome_of(
    *,
    status: str,
    failure_code: str | None = None,
    disconnect_reason: str | None = None,
    disposition: str | None = None,
) -> LeadStatus | None:
    """The lead outcome for a call in API ``status``; ``None`` while the call is not over.

    Busy and voicemail are not call statuses (docs/api.md §5): busy comes from
    ``failure.code`` or the disconnect reason, voicemail from the disconnect reason or the
    ``Voicemail`` disposition.
    """
    status = status.lower()
    reason = (disconnect_reason or "").strip().lower()
    if status in _IN_PROGRESS_CALL:
        return None
    if status == "dnc_blocked":
        return S.DNC_BLOCKED
    if status == "transferred":
        return S.TRANSFERRED
    if failure_code == "busy" or reason in _BUSY_REASONS:
        return S.BUSY
    if reason in _VOICEMAIL_REASONS or (disposition or "").lower() == "voicemail":
        return S.VOICEMAIL
    if status == "no_answer" or failure_code == "no_answer":
        return S.NO_ANSWER
    if status == "completed":
        return S.COMPLETED
    return S.FAILED


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """What the campaign's ``[retry]`` section says, as the state machine needs it."""

    statuses: frozenset[LeadStatus]
    max_attempts: int
    delays_minutes: Sequence[float]
    jitter_fraction: float = 0.1


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a lead goes after a finished call: its status, when to call next, and why."""

    status: LeadStatus
    next_attempt_at: datetime | None
    reason: str


def after_call(
    outcome: LeadStatus,
    *,
    attempts: int,
    policy: RetryPolicy,
    now: datetime,
    ended_by: str | None = None,
    disposition: str | None = None,
    rng: random.Random | None = None,
) -> Decision:
    """Decide retry or final status after attempt number ``attempts`` ended in ``outcome``.

    Never retried: calls the callee ended (``ended_by == "caller"``, docs/api.md §5 guidance),
    calls dispositioned "Do Not Call", and outcomes the policy does not list.
    """
    if outcome not in policy.statuses:
        return Decision(outcome, None, outcome.value)
    if ended_by == "caller":
        return Decision(outcome, None, f"{outcome.value}; not retried: the callee hung up")
    if (disposition or "").strip().lower() == "do not call":
        return Decision(outcome, None, f"{outcome.value}; not retried: asked not to be called")
    if attempts >= policy.max_attempts:
        return Decision(S.EXHAUSTED, None, f"{outcome.value} after {attempts} attempts")
    delay = retry_delay(attempts, policy=policy, rng=rng)
    return Decision(S.RETRY_WAIT, now + delay, f"{outcome.value}; retry {attempts + 1}")


def retry_delay(
    attempts: int, *, policy: RetryPolicy, rng: random.Random | None = None
) -> timedelta:
    """The wait before attempt ``attempts + 1``: the policy's n-th delay (the last repeats),
    spread by +/- ``jitter_fraction`` so retries of a big batch do not all land at once."""
    delays = list(policy.delays_minutes) or [60.0]
    minutes = delays[min(attempts - 1, len(delays) - 1)]
    spread = (rng or random.Random()).uniform(-1.0, 1.0) * policy.jitter_fraction
    return timedelta(minutes=minutes * (1.0 + spread))
