"""Plain data shared by every layer: lead statuses, their groups, invalid reasons. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class LeadStatus(StrEnum):
    """One status per input row (docs/design.md §3)."""

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
    RESEND_WAIT = "resend_wait"  # fate unknown: resent under the same key at next_attempt_at
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
    CANCELLED = "cancelled"  # not called: a person stopped the campaign (dialer stop)


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
        LeadStatus.CANCELLED,
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
    """Why a number is ``invalid`` (docs/design.md §3)."""

    EMPTY = "empty"
    UNPARSEABLE = "unparseable"
    NOT_VALID_FOR_REGION = "not_valid_for_region"
    BAD_LENGTH = "bad_length"
    SAME_AS_FROM = "same_as_from"


class Shape(StrEnum):
    """What kind of answer an attempt got (the ``shape`` column of an attempt)."""

    DIALED = "dialed"  # 201: the call is ringing
    DNC_BLOCKED = "dnc_blocked"  # 200: on the company DNC list, not dialled
    QUEUED = "queued"  # 202: all lines busy, the platform queued it
    SCHEDULED = "scheduled"  # 202: outside the workspace window, placed at its opening
    WORKFLOW = "workflow"  # 202: a workflow agent's call request
    HANDED_BACK = "handed_back"  # 202 without an id: the platform retries it itself
    ACCEPTED = "accepted"  # a 2xx of a shape we do not know: accepted, never resent
    REJECTED = "rejected"  # 4xx for this lead
    STOPPED = "stopped"  # a campaign stop answered before any effect: nothing placed
    NOT_SENT = "not_sent"  # never left: its window closed (or it became blocked) first
    RECONCILED = "reconciled"  # found by the sync after an interruption or a lost answer


@dataclass(frozen=True, slots=True)
class AttemptFacts:
    """What we learned about one attempt. ``None`` leaves a column as it is.

    The field names are the ledger's column names: the ledger writes exactly these, so no
    caller can name a column that does not exist.
    """

    http_status: int | None = None
    shape: Shape | None = None
    call_id: str | None = None
    request_id: str | None = None
    queue_id: str | None = None
    held_until: datetime | None = None
    call_status: str | None = None
    outcome: str | None = None
    failure_code: str | None = None
    error_message: str | None = None
    ended_by: str | None = None
    disconnect_reason: str | None = None
    duration_seconds: float | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    call_updated_at: datetime | None = None
    disposition_id: str | None = None
    disposition: str | None = None
    summary: str | None = None
    extracted_data: dict[str, Any] | None = None
    analysis_status: str | None = None
    analysis_reason: str | None = None
    cost_cents: float | None = None
    cost_status: str | None = None
    recording_url: str | None = None
    transcript: str | None = None

    def columns(self) -> dict[str, Any]:
        """The columns to write: every field that is set."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}


@dataclass(frozen=True, slots=True)
class LeadMove:
    """A lead's move ``old`` -> ``new`` with its reason; the ledger refuses any other move.

    ``uncount`` gives the attempt back (nothing was placed, so none was used up).
    """

    old: LeadStatus
    new: LeadStatus
    reason: str
    next_attempt_at: datetime | None = None
    uncount: bool = False


@dataclass(frozen=True, slots=True)
class RateWindow:
    """What is left of an API key's fixed rate window: ``remaining`` requests until ``reset``
    (a Unix time on the API's clock), under ``limit`` per minute."""

    reset: float
    remaining: int
    limit: int
