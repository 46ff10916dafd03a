"""One table from an error answer (HTTP status, machine code) to the dialer's exception class.

Every code of docs/api.md §1, §3.2, §4, §6 and §8 has a row, both spellings where revisions
differ. A code not in the table falls back by status (:data:`STATUS_FALLBACK`), so an unknown
``409`` is still a client error and an unknown ``503`` still retryable. The exception keeps
the status, the code and the server's message (with phone numbers masked and the key scrubbed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from dialer.api.masking import mask_text
from dialer.errors import (
    AgentUnavailable,
    ApiError,
    AuthError,
    BadRequest,
    BillingError,
    CampaignStop,
    FromNumberInvalid,
    IdempotencyConflict,
    InvalidDestination,
    LeadRejected,
    NotFound,
    RateLimited,
    RequestInProgress,
    SelfCall,
    ServerError,
)

ERROR_TABLE: Mapping[tuple[int, str], type[ApiError]] = {
    # 400: this lead's number, or our campaign's from-number, or our own bug
    (400, "INVALID_TO_NUMBER"): InvalidDestination,
    (400, "invalid_destination"): InvalidDestination,
    (400, "SELF_CALL_NOT_ALLOWED"): SelfCall,
    (400, "INVALID_FROM_NUMBER"): FromNumberInvalid,
    (400, "INVALID_METADATA_RESERVED_KEY"): BadRequest,
    (400, "CALLS_QUERY_INVALID"): BadRequest,
    (400, "CALLS_CURSOR_INVALID"): BadRequest,
    (400, "CALLS_EXPORT_TOO_LARGE"): BadRequest,
    (400, "DO_NOT_CALL_REQUEST_INVALID"): BadRequest,
    (400, "BAD_REQUEST"): BadRequest,
    # 401/403: the key (R4 moved INSUFFICIENT_SCOPE from 401 to 403: accept both)
    (401, "MISSING_KEY"): AuthError,
    (401, "INVALID_KEY"): AuthError,
    (401, "EXPIRED_KEY"): AuthError,
    (401, "INSUFFICIENT_SCOPE"): AuthError,
    (403, "INSUFFICIENT_SCOPE"): AuthError,
    (403, "API_KEY_AGENT_SCOPED"): AuthError,
    (403, "AGENT_OUTSIDE_KEY_SCOPE"): AuthError,
    (403, "WORKSPACE_MISMATCH"): AuthError,
    (403, "FORBIDDEN"): AuthError,
    # 402: money
    (402, "BILLING_ERROR"): BillingError,
    (402, "SPEND_BUDGET_REACHED"): BillingError,
    # 404/409/422: the agent cannot take calls
    (404, "WORKFLOW_AGENT_UNAVAILABLE"): AgentUnavailable,
    (404, "CALL_AGENT_UNKNOWN"): AgentUnavailable,
    (409, "WORKFLOW_AGENT_INACTIVE"): AgentUnavailable,
    (409, "WORKFLOW_UNPUBLISHED"): AgentUnavailable,
    (422, "AGENT_NOT_RESOLVED"): AgentUnavailable,
    (422, "WORKFLOW_PIN_INVALID"): AgentUnavailable,
    # 404: what we asked for is not there
    (404, "NOT_FOUND"): NotFound,
    (404, "RESOURCE_ID_INVALID"): NotFound,
    (404, "WORKFLOW_REQUEST_NOT_FOUND"): NotFound,
    (404, "CALL_DISPOSITION_UNKNOWN"): NotFound,
    # 409: idempotency (R2 and R3/R4 names)
    (409, "WORKFLOW_IDEMPOTENCY_CONFLICT"): IdempotencyConflict,
    (409, "IDEMPOTENCY_KEY_CONFLICT"): IdempotencyConflict,
    (409, "IDEMPOTENCY_REQUEST_IN_PROGRESS"): RequestInProgress,
    (409, "WORKFLOW_DISPATCH_ALREADY_CLAIMED"): BadRequest,
    # 413/422: this lead's body is too big / the workspace has no window left
    (413, "REQUEST_BODY_TOO_LARGE"): LeadRejected,
    (413, "PAYLOAD_TOO_LARGE"): LeadRejected,
    (422, "WORKFLOW_REQUEST_INVALID"): BadRequest,
    (422, "OUTSIDE_CALL_WINDOW"): CampaignStop,
    # 429/5xx: retry the same body with the same key
    (429, "RATE_LIMIT"): RateLimited,
    (500, "INTERNAL_ERROR"): ServerError,
    (502, "UPSTREAM_ERROR"): ServerError,
    (503, "SERVICE_UNAVAILABLE"): ServerError,
    (503, "WORKFLOW_ADMISSION_UNAVAILABLE"): ServerError,
}

#: The class for a status whose code is missing or not in :data:`ERROR_TABLE`.
STATUS_FALLBACK: Mapping[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthError,
    402: BillingError,
    403: AuthError,
    404: NotFound,
    410: NotFound,
    413: LeadRejected,
    429: RateLimited,
}


def error_class(status: int, code: str) -> type[ApiError]:
    """The exception class for one error answer: the table, else by status."""
    if (status, code) in ERROR_TABLE:
        return ERROR_TABLE[(status, code)]
    if status in STATUS_FALLBACK:
        return STATUS_FALLBACK[status]
    if 400 <= status < 500:
        return BadRequest
    return ServerError  # 5xx, and any status a JSON API should never send us


def parse_error_body(body: bytes) -> tuple[str, str]:
    """``(code, message)`` from ``{"error", "code"}``; a non-JSON body becomes the message."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", body.decode("utf-8", "replace").strip()[:200]
    if not isinstance(data, dict):
        return "", str(data)[:200]
    message = data.get("error") or data.get("message") or ""
    if isinstance(message, dict):  # some gateways nest {"error": {"code", "message"}}
        return str(message.get("code") or data.get("code") or ""), str(message.get("message", ""))
    return str(data.get("code") or ""), str(message)


def error_from_answer(
    status: int,
    body: bytes,
    *,
    where: str,
    retry_after: float | None = None,
    secret: str | None = None,
) -> ApiError:
    """The typed error for one non-2xx answer to ``where`` (e.g. ``POST /calls``)."""
    code, message = parse_error_body(body)
    text = message or f"the API answered HTTP {status} with no message"
    text = mask_text(f"{where}: {text}", secret=secret)
    return error_class(status, code)(text, status=status, code=code, retry_after=retry_after)
