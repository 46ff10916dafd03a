"""Plain data shared by every layer: lead statuses, reasons, attempts. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class LeadStatus(StrEnum):
    """One status per input row (DESIGN.md §3)."""

    # final at intake
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    DNC_BLOCKED = "dnc_blocked"
    NO_WINDOW = "no_window"  # the window is never open in all the zones the number may ring in
    # in flight
    PENDING = "pending"
    DIALING = "dialing"
    LIVE = "live"
    # waiting
    RETRY_WAIT = "retry_wait"
    SCHEDULED = "scheduled"
    PLATFORM_QUEUED = "platform_queued"
    UNKNOWN = "unknown"
    # final outcomes
    COMPLETED = "completed"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    TRANSFERRED = "transferred"
    REJECTED = "rejected"
    EXHAUSTED = "exhausted"


FINAL_STATUSES = frozenset(
    {
        LeadStatus.INVALID,
        LeadStatus.DUPLICATE,
        LeadStatus.DNC_BLOCKED,
        LeadStatus.NO_WINDOW,
        LeadStatus.COMPLETED,
        LeadStatus.VOICEMAIL,
        LeadStatus.NO_ANSWER,
        LeadStatus.BUSY,
        LeadStatus.FAILED,
        LeadStatus.TRANSFERRED,
        LeadStatus.REJECTED,
        LeadStatus.EXHAUSTED,
    }
)

#: Outcomes a finished call can have (what a retry policy may name).
CALL_OUTCOMES = frozenset(
    {
        LeadStatus.COMPLETED,
        LeadStatus.VOICEMAIL,
        LeadStatus.NO_ANSWER,
        LeadStatus.BUSY,
        LeadStatus.FAILED,
        LeadStatus.TRANSFERRED,
    }
)


class InvalidReason(StrEnum):
    """Why a number is ``invalid`` (DESIGN.md §3)."""

    EMPTY = "empty"
    UNPARSEABLE = "unparseable"
    NOT_VALID_FOR_REGION = "not_valid_for_region"
    BAD_LENGTH = "bad_length"
    SAME_AS_FROM = "same_as_from"


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What the API finally said about one call, reduced to what the ledger keeps."""

    call_id: str
    call_status: str
    outcome: LeadStatus | None  # None while the call is not finished
    failure_code: str | None = None
    ended_by: str | None = None
    disconnect_reason: str | None = None
    duration_seconds: float | None = None
    disposition: str | None = None
    summary: str | None = None
    cost_cents: float | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    updated_at: datetime | None = None
    metadata: dict[str, object] = field(default_factory=dict)
