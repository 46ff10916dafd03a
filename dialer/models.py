"""Plain data shared by every layer: lead statuses, their groups, invalid reasons. No I/O here."""

from __future__ import annotations

from enum import StrEnum


class LeadStatus(StrEnum):
    """One status per input row (DESIGN.md §3)."""

    # final at intake
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    DNC_BLOCKED = "dnc_blocked"
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
