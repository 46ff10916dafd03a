"""Every error the dialer raises, and what each one means for a run.

The tree::

    DialerError                      base of everything below
    ├── ConfigError                  the campaign file is wrong (file, field)      -> exit 1
    ├── InputError                   the lead sheet cannot be read (file, row/col)  -> exit 1
    ├── LedgerError                  the SQLite ledger cannot be used              -> exit 1
    │   └── SchemaTooNewError        the ledger was written by a newer dialer
    ├── DncStaleError                the DNC cache is stale and cannot be refreshed -> exit 1
    └── ApiError                     the Yappr API answered with an error (status, code, message)
        ├── LeadRejected             FAIL THIS LEAD: the request is wrong for this lead only
        │   ├── InvalidDestination   400 INVALID_TO_NUMBER / invalid_destination
        │   └── SelfCall             400 SELF_CALL_NOT_ALLOWED
        ├── RetryableError           RETRY THIS REQUEST: same body, same Idempotency-Key
        │   ├── RateLimited          429 RATE_LIMIT (``retry_after`` seconds)
        │   ├── ServerError          5xx (503 WORKFLOW_ADMISSION_UNAVAILABLE, 502, 500 ...)
        │   ├── RequestInProgress    409 IDEMPOTENCY_REQUEST_IN_PROGRESS (``retry_after``)
        │   └── TransportError       no answer at all: timeout, refused, dropped connection
        ├── CampaignStop             STOP THE CAMPAIGN: nothing more can succeed until a person acts
        │   ├── AuthError            401 MISSING_KEY/INVALID_KEY/EXPIRED_KEY, 401/403 scope errors
        │   ├── BillingError         402 BILLING_ERROR / SPEND_BUDGET_REACHED
        │   ├── AgentUnavailable     404/409 agent missing, inactive, unpublished; 422 agent errors
        │   └── FromNumberInvalid    400 INVALID_FROM_NUMBER
        ├── NotSent                  never sent: a last check refused it (window closed, blocked)
        ├── IdempotencyConflict      409 same Idempotency-Key, different body: never re-dial blindly
        ├── NotFound                 404 on a resource we asked for (a call, a DNC entry)
        └── BadRequest               any other 4xx: our request is malformed (a bug or bad input)

Foreign exceptions (aiohttp, sqlite3, pandas) are mapped into this tree at the edge that meets
them; nothing above the edges catches a foreign exception.
"""

from __future__ import annotations


class DialerError(Exception):
    """Base class: every error the dialer raises on purpose."""

    exit_code = 1


class ConfigError(DialerError):
    """The campaign file (or a command-line setting) is invalid; the message names the field."""


class InputError(DialerError):
    """A lead sheet or suppression file cannot be read at all; bad single rows are not errors."""


class LedgerError(DialerError):
    """The SQLite ledger cannot be opened, read or written (locked, read-only, full disk)."""


class SchemaTooNewError(LedgerError):
    """The ledger's schema version is newer than this dialer understands."""


class DncStaleError(DialerError):
    """The DNC cache is older than ``max_age`` and cannot be refreshed: the run must not start."""


class ApiError(DialerError):
    """The API answered with an error; ``status`` is the HTTP status, ``code`` the machine code."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        #: True when an earlier try of the same request had an unknown effect (5xx, no
        #: answer): this error then cannot prove that nothing happened.
        self.after_uncertain = False

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "no HTTP answer"
        code = f" {self.code}" if self.code else ""
        return f"{where}{code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r})"


class LeadRejected(ApiError):
    """The API refused this lead's request; the lead ends ``rejected`` with the code kept."""


class InvalidDestination(LeadRejected):
    """``to`` is malformed or undiallable (INVALID_TO_NUMBER or invalid_destination)."""


class SelfCall(LeadRejected):
    """``to`` equals ``from`` (SELF_CALL_NOT_ALLOWED)."""


class RetryableError(ApiError):
    """Nothing (or nothing we can see) happened: resend the same body with the same key."""


class RateLimited(RetryableError):
    """429: the per-key rate limit was hit; nothing was executed; wait ``retry_after`` seconds."""


class ServerError(RetryableError):
    """5xx: the API failed; the effect may or may not exist, so only the same key may retry it."""


class RequestInProgress(RetryableError):
    """409 IDEMPOTENCY_REQUEST_IN_PROGRESS: the same key is still being processed."""


class TransportError(RetryableError):
    """No HTTP answer (timeout, connection refused or dropped); the effect may exist."""


class CampaignStop(ApiError):
    """The whole campaign must pause until a person acts; no lead is consumed by it."""


class AuthError(CampaignStop):
    """401/403: the key is missing, invalid, expired, lacks a scope or is limited to others."""


class BillingError(CampaignStop):
    """402: no balance, no payment method, or the monthly spend budget is reached."""


class AgentUnavailable(CampaignStop):
    """The agent is missing, archived, inactive, unpublished, or cannot be resolved."""


class FromNumberInvalid(CampaignStop):
    """``from`` is not an active number of the company (INVALID_FROM_NUMBER)."""


class NotSent(ApiError):
    """The request was never sent: the last check before it left (when the rate budget gave
    it its slot) refused it, e.g. because the callee's calling window had closed meanwhile.
    ``after_uncertain`` says whether an earlier try of it may have taken effect."""


class IdempotencyConflict(ApiError):
    """409: the key was used with a different body; the lead needs a person, not a re-dial."""


class NotFound(ApiError):
    """404 on a resource lookup (a call, a call request, a DNC entry)."""


class BadRequest(ApiError):
    """Any other client error: the request itself is malformed."""
