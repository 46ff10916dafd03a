"""The Yappr client: a transport seam, typed answers and errors, one rate budget per key.

``YapprClient`` is the entry point; ``MockTransport`` runs it without a socket.
"""

from dialer.api.client import UNSET, YapprClient, call_query, check_idempotency_key
from dialer.api.masking import mask_phone, mask_text
from dialer.api.mock import MockRequest, MockTransport, json_response
from dialer.api.models import (
    Agent,
    Call,
    CallFailure,
    CallRequest,
    CallRequestState,
    Dialed,
    DncBlockedAnswer,
    DncEntry,
    HandedBack,
    Pagination,
    PhoneNumber,
    PlaceCallAnswer,
    PlaceCallResult,
    QueuedAtCapacity,
    RateInfo,
    ScheduledAnswer,
    UnknownAnswer,
    WorkflowAccepted,
)
from dialer.api.ratelimit import RateBudget
from dialer.api.retry import Backoff
from dialer.api.transport import AiohttpTransport, RawResponse, Transport

__all__ = [
    "UNSET",
    "Agent",
    "AiohttpTransport",
    "Backoff",
    "Call",
    "CallFailure",
    "CallRequest",
    "CallRequestState",
    "Dialed",
    "DncBlockedAnswer",
    "DncEntry",
    "HandedBack",
    "MockRequest",
    "MockTransport",
    "Pagination",
    "PhoneNumber",
    "PlaceCallAnswer",
    "PlaceCallResult",
    "QueuedAtCapacity",
    "RateBudget",
    "RateInfo",
    "RawResponse",
    "ScheduledAnswer",
    "Transport",
    "UnknownAnswer",
    "WorkflowAccepted",
    "YapprClient",
    "call_query",
    "check_idempotency_key",
    "json_response",
    "mask_phone",
    "mask_text",
]
