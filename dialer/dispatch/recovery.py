"""Picking up where an earlier run stopped, from the ledger alone (its memory is gone).

Every lead whose latest attempt may still change is followed again:

* ``dialing``: the run stopped between committing the attempt and recording its answer. Its
  call is looked up (GET /calls by callee, agent, creation time, our attempt id in its
  metadata); if none is found, the same request is resent under the same Idempotency-Key,
  which the API answers by replaying the first answer or by placing the call once.
* ``resend_wait``: resent under its key when its time comes.
* ``live`` / ``platform_queued``: followed by the sync until they end.
* ``unknown``: may still be live for a while after it was sent; resent only with
  ``--redial-unknown`` (under the same key while the API remembers it, else as a new attempt).

Calls whose analysis was still awaited are followed again too: the follow list is the ledger's.
"""

from __future__ import annotations

from dialer.dispatch.book import Awaited, Open
from dialer.dispatch.context import RunContext
from dialer.dispatch.decisions import Phase, on_not_found
from dialer.dispatch.plan import HOLD_WITHOUT_EXPIRY, KEY_RETENTION, MAYBE_LIVE
from dialer.models import LeadMove, LeadStatus
from dialer.store import AttemptRecord

S = LeadStatus


def recover(ctx: RunContext, *, redial_unknown: bool) -> None:
    """Fill the book from the ledger (see the module docstring)."""
    for attempt in ctx.ledger.open_attempts(ctx.plan.name):
        opened = _reopen(ctx, attempt, redial_unknown=redial_unknown)
        if opened is not None:
            ctx.book.add(opened)
    for attempt in ctx.ledger.awaiting_analysis(ctx.plan.name):
        if attempt.call_id:
            ended = attempt.ended_at or attempt.started_at
            ctx.book.await_analysis(Awaited(attempt.id, attempt.lead_id, attempt.call_id, ended))


def _reopen(ctx: RunContext, attempt: AttemptRecord, *, redial_unknown: bool) -> Open | None:
    """How to follow one attempt an earlier run left open (None: nothing to follow)."""
    status = attempt.lead_status
    last_sent = attempt.lead_updated_at or attempt.started_at
    opened = Open(
        attempt=attempt,
        status=status,
        phase=Phase.LIVE,
        call_id=attempt.call_id,
        request_id=attempt.request_id,
        queue_id=attempt.queue_id,
        shape=attempt.shape,
    )
    if status == S.LIVE:
        return opened
    if status == S.PLATFORM_QUEUED:
        opened.phase = Phase.HELD
        opened.due = attempt.held_until or attempt.started_at + HOLD_WITHOUT_EXPIRY
        return opened
    opened.uncertain, opened.sent_at = True, last_sent
    if status == S.DIALING:
        opened.phase = Phase.LOOKUP
        opened.otherwise = on_not_found(ctx.situation(opened), resend_at=ctx.now())
        return opened
    if status == S.RESEND_WAIT:
        # at once: the gate holds it back again if its window is closed or it is blocked
        opened.phase, opened.due = Phase.RESEND, ctx.now()
        return opened
    return _reopen_unknown(ctx, opened, redial=redial_unknown)


def _reopen_unknown(ctx: RunContext, opened: Open, *, redial: bool) -> Open | None:
    """An unknown attempt: followed while it may be live; resent only when asked to."""
    now = ctx.now()
    if not redial:
        assert opened.sent_at is not None
        opened.phase, opened.due = Phase.UNKNOWN, opened.sent_at + MAYBE_LIVE
        return opened if now < opened.due else None
    if now - opened.attempt.started_at < KEY_RETENTION:
        opened.phase, opened.due = Phase.RESEND, now  # same key: a call it placed is replayed
        return opened
    reason = "unknown; redial requested (the API has forgotten its key: a new attempt)"
    ctx.ledger.move_lead(
        opened.attempt.lead_id, LeadMove(S.UNKNOWN, S.RETRY_WAIT, reason, now), now=now
    )
    return None
