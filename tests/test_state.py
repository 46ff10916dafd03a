"""The lead state machine, the call-outcome mapping and retry timing."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from dialer.models import FINAL_STATUSES, LeadStatus
from dialer.state import RetryPolicy, after_call, can_move, outcome_of, retry_delay

S = LeadStatus
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    statuses=frozenset({S.NO_ANSWER, S.BUSY, S.VOICEMAIL}),
    max_attempts=3,
    delays_minutes=[60, 180],
    jitter_fraction=0.0,
)


@pytest.mark.parametrize(
    ("status", "failure", "reason", "disposition", "expected"),
    [
        ("ringing", None, None, None, None),
        ("in_progress", None, None, None, None),
        ("in-progress", None, None, None, None),
        ("completed", None, "Completed", None, S.COMPLETED),
        ("completed", None, "Voicemail detected", None, S.VOICEMAIL),
        ("completed", None, "Answering machine detected", None, S.VOICEMAIL),
        ("completed", None, None, "Voicemail", S.VOICEMAIL),
        ("no_answer", "no_answer", "No answer", None, S.NO_ANSWER),
        ("failed", "busy", "Busy", None, S.BUSY),
        ("no_answer", "busy", None, None, S.BUSY),
        ("failed", "unreachable", "Failed", None, S.FAILED),
        ("failed", "something_new", None, None, S.FAILED),
        ("transferred", None, None, None, S.TRANSFERRED),
        ("dnc_blocked", None, None, None, S.DNC_BLOCKED),
    ],
)
def test_call_outcome_mapping(
    status: str,
    failure: str | None,
    reason: str | None,
    disposition: str | None,
    expected: LeadStatus | None,
) -> None:
    got = outcome_of(
        status=status, failure_code=failure, disconnect_reason=reason, disposition=disposition
    )
    assert got == expected


@pytest.mark.parametrize(
    ("outcome", "attempts", "ended_by", "disposition", "status", "delay_minutes"),
    [
        (S.NO_ANSWER, 1, None, None, S.RETRY_WAIT, 60),
        (S.BUSY, 2, "system", None, S.RETRY_WAIT, 180),
        (S.NO_ANSWER, 3, None, None, S.EXHAUSTED, None),
        (S.VOICEMAIL, 1, "caller", None, S.VOICEMAIL, None),
        (S.VOICEMAIL, 1, "system", "Do Not Call", S.VOICEMAIL, None),
        (S.COMPLETED, 1, None, None, S.COMPLETED, None),
        (S.FAILED, 1, None, None, S.FAILED, None),
    ],
)
def test_retry_decision(
    outcome: LeadStatus,
    attempts: int,
    ended_by: str | None,
    disposition: str | None,
    status: LeadStatus,
    delay_minutes: int | None,
) -> None:
    decision = after_call(
        outcome,
        attempts=attempts,
        policy=POLICY,
        now=NOW,
        ended_by=ended_by,
        disposition=disposition,
    )
    assert decision.status == status
    if delay_minutes is None:
        assert decision.next_attempt_at is None
    else:
        assert decision.next_attempt_at == NOW + timedelta(minutes=delay_minutes)


def test_exhausted_keeps_the_last_outcome_in_its_reason() -> None:
    decision = after_call(S.BUSY, attempts=3, policy=POLICY, now=NOW)
    assert decision.status == S.EXHAUSTED
    assert decision.reason == "busy after 3 attempts"


def test_jitter_stays_within_its_fraction() -> None:
    policy = RetryPolicy(
        statuses=POLICY.statuses, max_attempts=3, delays_minutes=[60], jitter_fraction=0.1
    )
    rng = random.Random(7)
    delays = [retry_delay(1, policy=policy, rng=rng) for _ in range(200)]
    assert all(timedelta(minutes=54) <= d <= timedelta(minutes=66) for d in delays)
    assert len(set(delays)) > 100


def test_final_statuses_can_only_be_recycled_into_a_retry_round() -> None:
    for status in FINAL_STATUSES:
        for target in S:
            if can_move(status, target):
                assert target == S.RETRY_WAIT, (status, target)
    assert not can_move(S.INVALID, S.RETRY_WAIT)
    assert not can_move(S.DNC_BLOCKED, S.RETRY_WAIT)
    assert not can_move(S.DUPLICATE, S.PENDING)


def test_a_lead_is_dialed_only_from_a_claimable_status_or_to_resend_its_key() -> None:
    sources = {s for s in S if can_move(s, S.DIALING)}
    # claimable leads get a new attempt; resend_wait and unknown resend the same key
    assert sources == {S.PENDING, S.SCHEDULED, S.RETRY_WAIT, S.RESEND_WAIT, S.UNKNOWN}
