"""GET /calls query rules (docs/api.md §6): filters, paging, and CALLS_QUERY_INVALID.

Timestamps are compared as the API's ISO strings (UTC, milliseconds, ``Z``), which sort the
same way as the instants they name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from dialer.clock import isoformat, parse_instant
from dialer.sandbox.calls_body import E164, is_uuid
from dialer.sandbox.catalog import PROTECTED_DISPOSITIONS
from dialer.sandbox.failure import Fail
from dialer.sandbox.lifecycle import disposition_ref

INVALID = "CALLS_QUERY_INVALID"
STATUSES = frozenset(
    {
        "pending_connection",
        "ringing",
        "in_progress",
        "completed",
        "failed",
        "no_answer",
        "transferred",
        "dnc_blocked",
    }
)
DIRECTIONS = frozenset({"inbound", "outbound", "web_call"})
SOURCES = frozenset({"test", "shared_link", "api", "phone_inbound", "phone_outbound"})
PARAMS = frozenset(
    {
        "limit",
        "offset",
        "cursor",
        "agent_id",
        "status",
        "direction",
        "callee",
        "caller",
        "from",
        "to",
        "updated_since",
        "disposition",
        "disposition_id",
        "source",
    }
)

Predicate = Callable[[dict[str, Any]], bool]


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise Fail(400, INVALID, f"{name} must be a whole number from {low} to {high}")
    return int(text)


def _instant(name: str, text: str, *, end_of_day: bool = False) -> str:
    """A bound as an ISO string; a date-only ``to`` covers that whole UTC day."""
    try:
        moment = parse_instant(text)
    except ValueError as exc:
        raise Fail(400, INVALID, f"{name} must be an ISO 8601 date or timestamp") from exc
    if end_of_day and len(text) == 10:
        moment += timedelta(days=1) - timedelta(milliseconds=1)
    return isoformat(moment)


def _enum(name: str, value: str, allowed: Iterable[str]) -> Predicate:
    if value not in allowed:
        raise Fail(400, INVALID, f"{name} must be one of {sorted(allowed)}")
    return lambda call: call.get(name) == value


def _number(name: str, field: str, value: str) -> Predicate:
    if not E164.match(value):
        raise Fail(400, INVALID, f"{name} must be an E.164 number such as +972501234567")
    return lambda call: call[field] == value


class CallsQuery:
    """One parsed GET /calls query: its filters and its page."""

    def __init__(
        self,
        params: Mapping[str, str],
        *,
        agents: Mapping[str, Any],
        dispositions: frozenset[str],
    ) -> None:
        self._agents = agents
        self._dispositions = dispositions
        self._check_names(params)
        if "cursor" in params:
            # The sandbox never issues cursors (next_cursor is always null): any is foreign.
            raise Fail(400, "CALLS_CURSOR_INVALID", "cursor was not issued by this workspace")
        self.updated_since: str | None = None  # the bounds an index may narrow by
        self.callee: str | None = None
        self.limit = _int(params, "limit", 20, 1, 100)
        self.offset = _int(params, "offset", 0, 0, 10**9)
        found = (self._filter(name, params[name]) for name in sorted(params))
        self.filters = [f for f in found if f is not None]

    def _check_names(self, params: Mapping[str, str]) -> None:
        unknown = sorted(set(params) - PARAMS)
        if unknown:
            raise Fail(400, INVALID, f"Unknown query parameter(s): {', '.join(unknown)}")
        empty = sorted(name for name, value in params.items() if not value.strip())
        if empty:
            raise Fail(400, INVALID, f"Empty value for query parameter(s): {', '.join(empty)}")

    def _filter(self, name: str, value: str) -> Predicate | None:
        """The predicate for one parameter (None for paging parameters)."""
        if name in ("limit", "offset"):
            return None
        if name == "agent_id":
            return self._agent(value)
        if name in ("from", "to", "updated_since"):
            return self._time(name, value)
        if name in ("callee", "caller"):
            found = _number(name, "to" if name == "callee" else "from", value)
            if name == "callee":
                self.callee = value
            return found
        if name in ("disposition", "disposition_id"):
            return self._disposition(name, value)
        allowed = {"status": STATUSES, "direction": DIRECTIONS, "source": SOURCES}[name]
        return _enum(name, value, allowed)

    def _agent(self, value: str) -> Predicate:
        if not is_uuid(value):
            raise Fail(400, INVALID, "agent_id must be a UUID")
        if value not in self._agents:
            raise Fail(404, "CALL_AGENT_UNKNOWN", f"agent_id {value} is not in this workspace")
        return lambda call: call["agent_id"] == value

    def _time(self, name: str, value: str) -> Predicate:
        bound = _instant(name, value, end_of_day=name == "to")
        if name == "from":
            return lambda call: call["created_at"] >= bound
        if name == "to":
            return lambda call: call["created_at"] <= bound
        self.updated_since = bound
        return lambda call: call["updated_at"] >= bound

    def _disposition(self, name: str, value: str) -> Predicate:
        """By label or by id (R4); a disposition the workspace does not have is a 404."""
        key = "label" if name == "disposition" else "id"
        known = {disposition_ref(label)[key] for label in self._dispositions}
        if value not in known:
            raise Fail(404, "CALL_DISPOSITION_UNKNOWN", f"No disposition with {key} {value!r}")
        return lambda call: (call.get("disposition") or {}).get(key) == value

    def page(self, calls: Iterable[dict[str, Any]]) -> dict[str, Any]:
        """Matching calls newest first, one page of them, and the pagination envelope."""
        matching = [c for c in calls if all(f(c) for f in self.filters)]
        total = len(matching)
        if self.offset > 0 and self.offset >= total:
            raise Fail(400, INVALID, f"offset {self.offset} is past the end ({total} calls)")
        data = matching[self.offset : self.offset + self.limit]
        pagination = {
            "total": total,
            "limit": self.limit,
            "offset": self.offset,
            "has_more": self.offset + len(data) < total,
            "next_cursor": None,
        }
        return {"data": data, "pagination": pagination}


def known_dispositions(custom: Iterable[str]) -> frozenset[str]:
    """Every disposition label the sandbox workspace has."""
    return frozenset(PROTECTED_DISPOSITIONS) | frozenset(custom)
