"""The one owner of the open attempts: every attempt whose call may still change.

An open attempt is found by its attempt id, its call id, its workflow request id or its
platform queue id; those four tables are kept in step here and nowhere else. The book also
knows which attempts hold a line of the live-call cap, and the follow list of calls whose
analysis is still to come.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from dialer.api.models import Call
from dialer.dispatch.decisions import Phase, Refused, Step
from dialer.dispatch.plan import MAYBE_LIVE
from dialer.models import LeadStatus
from dialer.store import AttemptRecord

#: Phases in which a call may exist right now: they hold a line.
_LINE_HOLDING = frozenset({Phase.SENDING, Phase.LOOKUP, Phase.LIVE, Phase.HELD})


@dataclass(slots=True)
class Open:
    """An attempt the dispatcher still follows, and how."""

    attempt: AttemptRecord
    status: LeadStatus  # its lead's status in the ledger
    phase: Phase
    uncertain: bool = False  # an earlier try may have placed its call
    due: datetime | None = None  # RESEND: when; HELD: deadline; UNKNOWN: may be live until
    sent_at: datetime | None = None  # when a try of it last left (our clock)
    call_id: str | None = None
    request_id: str | None = None
    queue_id: str | None = None
    otherwise: Step | None = None  # LOOKUP: the step to take if no call is found
    refused: Refused | None = None  # why the gate last kept it from leaving
    last_update: datetime | None = None  # the call's updated_at as last applied
    shape: str | None = None  # the kind of answer its POST got (a hold's kind)
    resends: int = 0  # how often the client's retries ran out (resends back off)

    @property
    def id(self) -> str:
        """The attempt id (its Idempotency-Key)."""
        return self.attempt.id

    def holds_line(self, now: datetime) -> bool:
        """Whether its call may be live now (it counts against the live-call cap)."""
        if self.phase in _LINE_HOLDING:
            return True
        # a resend or an unknown may hide a call placed by an earlier try, for a while
        return self.uncertain and self.sent_at is not None and now < self.sent_at + MAYBE_LIVE


@dataclass(frozen=True, slots=True)
class Awaited:
    """A finished call whose analysis is still to come."""

    attempt_id: str
    lead_id: int
    call_id: str
    ended_at: datetime


@dataclass
class Book:
    """Open attempts by every id that can name them; see the module docstring."""

    _open: dict[str, Open] = field(default_factory=dict)
    _by_call: dict[str, str] = field(default_factory=dict)
    _by_request: dict[str, str] = field(default_factory=dict)
    _by_queue: dict[str, str] = field(default_factory=dict)
    awaited: dict[str, Awaited] = field(default_factory=dict)  # call id -> analysis awaited

    def add(self, opened: Open) -> None:
        """Follow ``opened`` (indexing whichever ids it already has)."""
        self._open[opened.id] = opened
        self._index(opened)

    def get(self, attempt_id: str) -> Open | None:
        """The open attempt with this id, if it is still followed."""
        return self._open.get(attempt_id)

    def __iter__(self) -> Iterator[Open]:
        return iter(list(self._open.values()))

    def __len__(self) -> int:
        return len(self._open)

    def in_phase(self, *phases: Phase) -> list[Open]:
        """The open attempts in any of ``phases``, oldest first."""
        return [o for o in self._open.values() if o.phase in phases]

    def lines_in_use(self, now: datetime) -> int:
        """How many open attempts hold a line of the live-call cap."""
        return sum(1 for o in self._open.values() if o.holds_line(now))

    def match(self, call: Call) -> Open | None:
        """The open attempt ``call`` belongs to: by call id, or by what we and the platform
        put in its metadata (our attempt id; the workflow request or queue entry it came from)."""
        meta = call.metadata or {}
        attempt_id = (
            self._by_call.get(call.id)
            or _text(meta.get("dialer_attempt"))
            or self._by_request.get(_text(meta.get("workflow_request_id")) or "")
            or self._by_queue.get(_text(meta.get("queue_id")) or "")
        )
        return self._open.get(attempt_id) if attempt_id else None

    def apply(self, opened: Open, step: Step) -> None:
        """Carry ``step`` out on the attempt: new status, phase, ids and due time; close it
        when the step says so."""
        if step.move is not None:
            opened.status = step.move.new
        if step.phase is None:
            self.close(opened)
            return
        if self._open.get(opened.id) is not opened:
            return  # a stand-in (an analysis of a call that ended): nothing is followed
        opened.phase = step.phase
        opened.due = step.due
        opened.otherwise = step.otherwise
        opened.call_id = step.call_id or opened.call_id
        opened.request_id = step.request_id or opened.request_id
        opened.queue_id = step.queue_id or opened.queue_id
        if step.facts is not None and step.facts.shape is not None:
            opened.shape = step.facts.shape
        if step.phase in (Phase.RESEND, Phase.UNKNOWN, Phase.LOOKUP):
            opened.uncertain = opened.uncertain or opened.sent_at is not None
        self._index(opened)

    def close(self, opened: Open) -> None:
        """Stop following an attempt (only this one: a stand-in for an attempt that is
        followed again closes nothing)."""
        if self._open.get(opened.id) is not opened:
            return
        del self._open[opened.id]
        for key, table in (
            (opened.call_id, self._by_call),
            (opened.request_id, self._by_request),
            (opened.queue_id, self._by_queue),
        ):
            if key and table.get(key) == opened.id:
                del table[key]

    def await_analysis(self, awaited: Awaited) -> None:
        """Follow a finished call until its analysis is final."""
        self.awaited[awaited.call_id] = awaited

    def _index(self, opened: Open) -> None:
        for key, table in (
            (opened.call_id, self._by_call),
            (opened.request_id, self._by_request),
            (opened.queue_id, self._by_queue),
        ):
            if key:
                table[key] = opened.id


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
