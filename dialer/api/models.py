"""The shapes the Yappr API sends and accepts (docs/api.md §3–§10), as pydantic models.

Read models are tolerant: unknown fields are kept (``extra="allow"``), older spellings are
normalised (``in-progress`` → ``in_progress``), unknown enum values are kept raw rather than
refused, because the API grows faster than this client. The one model we *send*,
:class:`CallRequest`, is strict and serialises to canonical bytes so a retry is byte-identical.

POST /calls answers are told apart by HTTP status **and** body fields (§3.1); each carries
``http_status``, ``replayed`` (``Idempotency-Replayed: true``) and the raw body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Call statuses after which nothing changes (§5).
TERMINAL_CALL_STATUSES = frozenset(
    {"completed", "failed", "no_answer", "transferred", "dnc_blocked"}
)

#: ``failure.code`` values the contract documents; anything else reads as ``unknown`` (§5).
KNOWN_FAILURE_CODES = frozenset(
    {
        "no_answer",
        "busy",
        "rejected",
        "cancelled",
        "unreachable",
        "caller_left",
        "network_blocked",
        "voice_unavailable",
        "call_interrupted",
        "transfer_failed",
        "session_expired",
        "unknown",
    }
)

#: Call-request states that will not change any more (§4).
FINAL_REQUEST_STATUSES = frozenset({"failed", "expired", "cancelled"})


class _ApiModel(BaseModel):
    """Base of every read model: extra fields kept, populated by field name or alias."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


# --------------------------------------------------------------------------- what we send


class CallRequest(BaseModel):
    """The body of POST /calls; ``from_`` travels as ``from``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    to: str
    from_: str = Field(alias="from")
    agent_id: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    workflow_revision_id: str | None = None

    def body(self) -> bytes:
        """Canonical JSON (sorted keys, compact, UTF-8): the same request is the same bytes.

        Unset optional fields and empty maps are left out, so a workflow agent never sees a
        property it would refuse.
        """
        data = self.model_dump(by_alias=True, exclude_none=True)
        data = {key: value for key, value in data.items() if value != {}}
        return canonical_json(data)


def canonical_json(data: object) -> bytes:
    """Sorted keys, no spaces, UTF-8: one byte string per value."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


# --------------------------------------------------------------------------- POST /calls answers


class PlaceCallAnswer(_ApiModel):
    """Common to every POST /calls success: the HTTP status, replay flag and raw body."""

    http_status: int
    replayed: bool = False
    raw: dict[str, Any] = Field(default_factory=dict)
    status: str | None = None
    agent_id: str | None = None
    to: str | None = None
    from_: str | None = Field(default=None, alias="from")


class Dialed(PlaceCallAnswer):
    """201: a prompt agent is dialling now; ``id`` is the call id."""

    id: str
    direction: str | None = None
    created_at: datetime | None = None
    metadata: dict[str, Any] | None = None

    @property
    def call_id(self) -> str:
        """The call id (the 201 body names it ``id``)."""
        return self.id


class DncBlockedAnswer(PlaceCallAnswer):
    """200 ``dnc_blocked``: the number is on the DNC list; not dialled, not charged."""

    call_id: str | None = None
    message: str | None = None
    dnc_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


class QueuedAtCapacity(PlaceCallAnswer):
    """202 with ``queue_position``: all lines busy, placed later; ``id`` is a queue-entry id."""

    id: str | None = None
    queue_position: int
    queued_at: datetime | None = None
    expires_at: datetime | None = None
    message: str | None = None

    @property
    def queue_id(self) -> str | None:
        """The queue-entry id (never a call id)."""
        return self.id


class ScheduledAnswer(PlaceCallAnswer):
    """202 ``scheduled`` without ``request_id``: outside the call window, placed at the next one."""

    id: str | None = None
    scheduled_for: datetime
    message: str | None = None


class WorkflowAccepted(PlaceCallAnswer):
    """202 with ``request_id``: a workflow agent accepted it; follow GET /call-requests/{id}."""

    id: str | None = None
    request_id: str
    run_id: str | None = None
    call_id: str | None = None
    preparation_status: str | None = None
    queued_at: datetime | None = None
    expires_at: datetime | None = None
    scheduled_for: datetime | None = None


class HandedBack(PlaceCallAnswer):
    """202 with no id: prepared, then handed back to the queue; retried by the platform."""

    message: str | None = None
    reason: str | None = None


class UnknownAnswer(PlaceCallAnswer):
    """A 2xx whose body matches none of the documented shapes; accepted, never resent."""


PlaceCallResult = (
    Dialed
    | DncBlockedAnswer
    | QueuedAtCapacity
    | ScheduledAnswer
    | WorkflowAccepted
    | HandedBack
    | UnknownAnswer
)


def _shape_of(status: int, body: dict[str, Any]) -> type[PlaceCallAnswer]:
    """Which answer ``status`` + ``body`` is; the order of the 202 checks matters (§3.1)."""
    if status == 201 and body.get("id"):
        return Dialed
    if status == 200 and body.get("status") == "dnc_blocked":
        return DncBlockedAnswer
    if status != 202:
        return UnknownAnswer
    if body.get("request_id"):  # a workflow acceptance may itself be "scheduled"
        return WorkflowAccepted
    if body.get("queue_position") is not None:
        return QueuedAtCapacity
    if body.get("scheduled_for"):
        return ScheduledAnswer
    if not body.get("id"):
        return HandedBack
    return UnknownAnswer


def parse_place_call(status: int, body: dict[str, Any], *, replayed: bool) -> PlaceCallResult:
    """Turn one POST /calls success into its typed answer."""
    shape = _shape_of(status, body)
    answer = shape.model_validate(
        {**body, "http_status": status, "replayed": replayed, "raw": body}
    )
    return answer  # type: ignore[return-value]


# --------------------------------------------------------------------------- calls


class CallFailure(_ApiModel):
    """Why a call failed or was not answered (§5); ``code`` is kept raw."""

    code: str | None = None
    reason: str | None = None
    stage: str | None = None
    at: datetime | None = None

    @property
    def known_code(self) -> str:
        """The code if the contract documents it, else ``unknown``."""
        return self.code if self.code in KNOWN_FAILURE_CODES else "unknown"


class CallAnalysis(_ApiModel):
    """Post-call analysis state: pending, done, skipped or failed."""

    status: str | None = None
    reason: str | None = None
    completed_at: datetime | None = None


class Call(_ApiModel):
    """A call as GET /calls and GET /calls/{id} show it; most fields appear only when finished."""

    id: str
    status: str
    agent_id: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    direction: str | None = None
    source: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: float | None = None
    ended_by: str | None = None
    disconnect_reason: str | None = None
    failure: CallFailure | None = None
    analysis: CallAnalysis | None = None
    summary: str | None = None
    disposition: Any = None
    extracted_data: dict[str, Any] | None = None
    cost_cents: float | None = None
    cost_status: str | None = None
    recording_url: str | None = None
    transcript: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    lead: Any = None
    timeline: Any = None
    transferred_at: datetime | None = None
    transfer_target: str | None = None

    @field_validator("status")
    @classmethod
    def _normalise_status(cls, value: str) -> str:
        """R1/R2 spelled ``in-progress``; R3/R4 spell ``in_progress``."""
        return value.replace("-", "_")

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_default(cls, value: Any) -> Any:
        """A null metadata is an empty one."""
        return {} if value is None else value

    @property
    def is_terminal(self) -> bool:
        """Whether the call has finished."""
        return self.status in TERMINAL_CALL_STATUSES

    @property
    def disposition_label(self) -> str | None:
        """The disposition's label whether the API sent a string or ``{id, label}``."""
        if isinstance(self.disposition, dict):
            label = self.disposition.get("label")
            return str(label) if label is not None else None
        return None if self.disposition is None else str(self.disposition)


class CallRequestState(_ApiModel):
    """A workflow call request (§4): follow it until it is dispatched (call id) or final."""

    id: str
    status: str
    run_id: str | None = None
    preparation_status: str | None = None
    workflow_revision_id: str | None = None
    call_id: str | None = None
    expires_at: datetime | None = None
    error_code: str | None = None

    @property
    def is_final(self) -> bool:
        """Failed, expired or cancelled: no call will come of it."""
        return self.status in FINAL_REQUEST_STATUSES

    @property
    def is_dispatched(self) -> bool:
        """A call exists: ``call_id`` is set."""
        return self.call_id is not None


class Pagination(_ApiModel):
    """The list envelope's paging block; ``next_cursor`` only from R4 servers."""

    total: int | None = None
    limit: int | None = None
    offset: int | None = None
    has_more: bool | None = None
    next_cursor: str | None = None


# --------------------------------------------------------------------------- DNC, agents, numbers


class DncEntry(_ApiModel):
    """A do-not-call entry (§8); reads carry full ``agents`` objects, kept here as ``agent_ids``."""

    id: str
    phone_number: str
    company_id: str | None = None
    reason: str | None = None
    source: str | None = None
    expires_at: datetime | None = None
    agent_ids: tuple[str, ...] = ()
    created_by: str | None = None
    created_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _agents_to_ids(cls, data: Any) -> Any:
        """``agents: [{id, ...}]`` on reads becomes ``agent_ids``; empty means global."""
        if isinstance(data, dict) and "agent_ids" not in data and data.get("agents") is not None:
            agents = data["agents"]
            ids = [agent["id"] if isinstance(agent, dict) else agent for agent in agents]
            return {**data, "agent_ids": ids}
        return data

    @property
    def is_global(self) -> bool:
        """Blocks every agent (no agent scope)."""
        return not self.agent_ids


class Agent(_ApiModel):
    """An agent (§9); workflow agents have no prompt and need a published revision."""

    id: str
    name: str | None = None
    type: str | None = None
    execution_version: str | None = None
    is_active: bool | None = None
    published_workflow_revision_id: str | None = None
    max_call_duration_secs: int | None = None

    @property
    def is_workflow(self) -> bool:
        """A workflow agent: POST /calls answers 202 with a ``request_id``."""
        return self.type == "workflow" or self.execution_version == "workflow_v1"


class PhoneNumber(_ApiModel):
    """A company phone number (§10)."""

    id: str
    number: str
    status: str | None = None
    is_active: bool | None = None
    friendly_name: str | None = None
    provider: str | None = None
    inbound_agent_id: str | None = None
    outbound_agent_id: str | None = None
    country_code: str | None = None

    @property
    def usable_as_from(self) -> bool:
        """Active by status and (where the field exists) by ``is_active``."""
        return self.status == "active" and self.is_active is not False


class Billing(_ApiModel):
    """GET /billing (§12): what the account can still spend. Any figure may be missing."""

    balance_cents: float | None = None
    has_payment_method: bool | None = None
    is_suspended: bool | None = None
    monthly_budget_cents: float | None = None
    monthly_spend_cents: float | None = None


@dataclass(frozen=True, slots=True)
class RateInfo:
    """What the latest answer's rate-limit headers said; any of them may be missing."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None  # Unix seconds on the API's clock
    retry_after: float | None = None  # seconds, from a 429 or 409-in-progress answer
