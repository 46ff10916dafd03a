"""The one place where an error becomes what a person reads, and the exit code.

Exit codes (docs/design.md §4): 0 finished, or waiting for a retry or window time; 1 bad input,
configuration or ledger; 2 usage; 3 interrupted, resumable; 4 stopped by the API, resumable.

Every :class:`~dialer.errors.DialerError` is printed as one line, ``error: <its message>``, and
exits with its class's ``exit_code``. The messages name the file, row, column or field and the
next step themselves; for the API's errors, which carry the server's words, :data:`NEXT_STEP`
adds ours. A run's ending is not an error: :data:`ENDING_EXIT` gives its code.
"""

from __future__ import annotations

from dialer.errors import (
    AgentUnavailable,
    AuthError,
    BillingError,
    DialerError,
    FromNumberInvalid,
    RetryableError,
)

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_API_STOP = 0, 1, 2, 3, 4

#: What to do next, for the kinds whose message is the server's: most specific kind first.
NEXT_STEP: tuple[tuple[type[DialerError], str], ...] = (
    (AuthError, "check YAPPR_API_KEY: a valid, unexpired key with the scopes this command needs"),
    (BillingError, "add balance or raise the spend budget in the Yappr dashboard, then try again"),
    (AgentUnavailable, "check agent_id: the agent must exist, be active and be published"),
    (FromNumberInvalid, "check `from`: each must be an active number of your company"),
    (RetryableError, "the API did not answer in time; try again shortly (check YAPPR_BASE_URL)"),
)

#: How each ending of a run exits.
ENDING_EXIT = {
    "finished": EXIT_OK,
    "paused": EXIT_INTERRUPTED,  # a person paused it: resumable, like an interruption
    "waiting": EXIT_OK,
    "interrupted": EXIT_INTERRUPTED,
    "stopped": EXIT_API_STOP,
}

#: Ctrl-C outside a run's own handling (reading the sheet, importing): every ledger write is
#: one transaction, so nothing is half-done.
INTERRUPTED = "interrupted; the ledger is consistent (resume continues)"


def describe(error: DialerError) -> tuple[str, int]:
    """The line to print after ``error: ``, and the exit code."""
    message = str(error)
    step = next((text for kind, text in NEXT_STEP if isinstance(error, kind)), None)
    return (f"{message}; {step}" if step else message), error.exit_code
