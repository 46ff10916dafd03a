"""The sandbox company's do-not-call list (docs/api.md §8): storage, the blocking rule, writes.

The rule at dial time: an entry blocks a call when its number equals ``to``, it has not expired,
and it is global (no agents) or lists the calling agent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers

from dialer.clock import isoformat, parse_instant
from dialer.sandbox.catalog import COMPANY_ID, USER_ID
from dialer.sandbox.failure import Fail

INVALID = "DO_NOT_CALL_REQUEST_INVALID"


@dataclass
class DncEntry:
    """One stored entry; ``agent_ids`` empty means every agent."""

    id: str
    phone_number: str
    reason: str | None
    source: str
    expires_at: datetime | None
    agent_ids: list[str]
    created_at: datetime
    created_by: str = USER_ID

    def active(self, now: datetime) -> bool:
        """Not yet expired (expired entries are ignored at dial time)."""
        return self.expires_at is None or self.expires_at > now

    def blocks(self, agent_id: str, now: datetime) -> bool:
        """Whether this entry stops ``agent_id`` calling the number at ``now``."""
        return self.active(now) and (not self.agent_ids or agent_id in self.agent_ids)


def normalize_phone(text: object) -> str | None:
    """A number in any common format (``+972…``, ``972…``, ``05…``, spaces, dashes) as E.164."""
    if not isinstance(text, str) or not text.strip():
        return None
    raw = text.strip()
    if raw[0].isdigit() and not raw.startswith("0"):
        raw = "+" + raw  # "972501234567": a country code written without its plus
    try:
        parsed = phonenumbers.parse(raw, "IL")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass
class DncList:
    """All entries of the company, keyed by id; one entry per number (every POST /calls
    looks its number up: by the number, not by a scan of the list). Entries are added and
    removed only through :meth:`add` and :meth:`remove`, which keep both tables in step."""

    agents: dict[str, dict[str, Any]]
    new_id: Callable[[], str]
    entries: dict[str, DncEntry] = field(default_factory=dict)
    _by_phone: dict[str, str] = field(default_factory=dict)  # number -> entry id

    def find(self, phone: str) -> DncEntry | None:
        """The entry for an E.164 number, expired or not."""
        entry_id = self._by_phone.get(phone)
        return None if entry_id is None else self.entries[entry_id]

    def blocking(self, phone: str, agent_id: str, now: datetime) -> DncEntry | None:
        """The entry that forbids ``agent_id`` calling ``phone`` now, if any."""
        entry = self.find(phone)
        return entry if entry is not None and entry.blocks(agent_id, now) else None

    def add(
        self,
        phone: str,
        *,
        now: datetime,
        reason: str | None = None,
        expires_at: datetime | None = None,
        agent_ids: list[str] | None = None,
        source: str = "api",
    ) -> tuple[DncEntry, bool]:
        """Add a number; an existing number returns its entry unchanged and False."""
        existing = self.find(phone)
        if existing is not None:
            return existing, False
        entry = DncEntry(
            id=self.new_id(),
            phone_number=phone,
            reason=reason,
            source=source,
            expires_at=expires_at,
            agent_ids=list(agent_ids or []),
            created_at=now,
        )
        self.entries[entry.id] = entry
        self._by_phone[phone] = entry.id
        return entry, True

    def remove(self, entry_id: str) -> None:
        """Delete an entry: later calls to its number proceed."""
        entry = self.entries.pop(entry_id)
        del self._by_phone[entry.phone_number]

    def render(self, entry: DncEntry) -> dict[str, Any]:
        """The entry as reads return it, with full agent objects."""
        return {
            "id": entry.id,
            "company_id": COMPANY_ID,
            "phone_number": entry.phone_number,
            "reason": entry.reason,
            "source": entry.source,
            "expires_at": isoformat(entry.expires_at) if entry.expires_at else None,
            "agents": [self.agents[a] for a in entry.agent_ids],
            "created_by": entry.created_by,
            "created_at": isoformat(entry.created_at),
        }

    def newest_first(self) -> list[DncEntry]:
        """Every entry, most recently created first."""
        entries = list(self.entries.values())
        return entries[::-1]  # insertion order is creation order

    # -- validation of write bodies -------------------------------------------------------

    def parse_expiry(self, value: object, now: datetime) -> datetime | None:
        """``expires_at`` from a body: null, or a future ISO 8601 instant."""
        if value is None:
            return None
        try:
            moment = parse_instant(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise Fail(400, INVALID, "expires_at must be an ISO 8601 timestamp or null")
        if moment <= now:
            raise Fail(400, INVALID, "expires_at must be in the future")
        return moment

    def parse_agent_ids(self, value: object) -> list[str]:
        """``agent_ids`` from a body: a list of this company's agent ids (empty = global)."""
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
            raise Fail(400, INVALID, "agent_ids must be a list of agent ids")
        unknown = [a for a in value if a not in self.agents]
        if unknown:
            raise Fail(400, INVALID, f"agent_ids: not an agent of this company: {unknown[0]}")
        return list(dict.fromkeys(value))
