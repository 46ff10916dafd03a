"""Idempotency-Key for POST /calls (docs/api.md §3.3).

Keys belong to the workspace (not the API key) for 8 days. Only acceptances (2xx) are stored:
an error had no effect, so re-running the request on retry is harmless, while a stored 402 or
409 would keep failing after the cause was fixed. An acceptance is stored *before* a lost-answer
fault drops it, so the retry replays it instead of placing a second call.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from dialer.sandbox.failure import Fail

KEY_LIFETIME_SECONDS = 8 * 24 * 3600
IN_PROGRESS_RETRY_AFTER = 1


@dataclass
class Record:
    """One key's request fingerprint and, once finished, the answer to replay."""

    fingerprint: str
    created: float
    status: int | None = None
    body: dict[str, Any] | None = None


def check_key(key: str) -> None:
    """1–200 visible ASCII characters (``!`` to ``~``); anything else is refused."""
    if not 1 <= len(key) <= 200 or not all("!" <= ch <= "~" for ch in key):
        raise Fail(
            400,
            "BAD_REQUEST",
            "Idempotency-Key must be 1-200 visible ASCII characters, without spaces",
        )


def fingerprint(body: object) -> str:
    """The body's identity, independent of key order and whitespace."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class IdempotencyStore:
    """Records by key; a record without an answer is a request still being processed."""

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}

    def begin(self, key: str, print_: str, now: float) -> Record | None:
        """Claim ``key`` for a new request, or return the finished record to replay."""
        record = self._records.get(key)
        if record is not None and now - record.created > KEY_LIFETIME_SECONDS:
            record = None  # after 8 days the key starts a new request
        if record is None:
            self._records[key] = Record(print_, now)
            return None
        if record.fingerprint != print_:
            raise Fail(
                409,
                "WORKFLOW_IDEMPOTENCY_CONFLICT",
                "This Idempotency-Key was already used with a different request body",
            )
        if record.status is None:
            raise Fail(
                409,
                "IDEMPOTENCY_REQUEST_IN_PROGRESS",
                "A request with this Idempotency-Key is still being processed; retry later",
                headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER)},
            )
        return record

    def finish(self, key: str, status: int, body: dict[str, Any]) -> None:
        """Store the answer; errors are forgotten instead (see the module docstring)."""
        if 200 <= status < 300:
            self._records[key].status = status
            self._records[key].body = body
        else:
            self._records.pop(key, None)

    def abandon(self, key: str) -> None:
        """Forget a claim whose request failed before any effect."""
        self._records.pop(key, None)
