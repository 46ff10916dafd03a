"""The one owner of the open attempts: every attempt whose call may still change.

An open attempt is found by its attempt id, its call id, its workflow request id or its
platform queue id; those four tables are kept in step here and nowhere else. The book also
knows which attempts hold a line of the live-call cap, and the follow list of calls whose
analysis is still to come.

Attempts are also indexed by phase, so what the loop asks on every claim (lines in use, is
anything live) does not walk every open attempt: with thousands live that walk was most of
the dispatcher's time. An attempt's phase is therefore changed only through :meth:`set_phase`
(or :meth:`apply`), once it is in the book.
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
    seq: int = 0  # its place in the book: the order it was added in

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
    _phases: dict[Phase, dict[str, Open]] = field(
        default_factory=lambda: {phase: {} for phase in Phase}
    )
    _added: int = 0

    def add(self, opened: Open) -> None:
        """Follow ``opened`` (indexing whichever ids it already has, and its phase)."""
        old = self._open.get(opened.id)
        if old is not None:
            self._phases[old.phase].pop(old.id, None)
        self._added += 1
        opened.seq = self._added
        self._open[opened.id] = opened
        self._phases[opened.phase][opened.id] = opened
        self._index(opened)

    def set_phase(self, opened: Open, phase: Phase) -> None:
        """Move a followed attempt to ``phase`` (an attempt not in the book just takes it)."""
        if self._open.get(opened.id) is opened:
            self._phases[opened.phase].pop(opened.id, None)
            self._phases[phase][opened.id] = opened
        opened.phase = phase

    def get(self, attempt_id: str) -> Open | None:
        """The open attempt with this id, if it is still followed."""
        return self._open.get(attempt_id)

    def __iter__(self) -> Iterator[Open]:
        return iter(list(self._open.values()))

    def __len__(self) -> int:
        return len(self._open)

    def in_phase(self, *phases: Phase) -> list[Open]:
        """The open attempts in any of ``phases``, oldest first."""
        found = [o for phase in set(phases) for o in self._phases[phase].values()]
        return sorted(found, key=lambda o: o.seq)

    def has_phase(self, *phases: Phase) -> bool:
        """Whether any open attempt is in one of ``phases``."""
        return any(self._phases[phase] for phase in phases)

    def lines_in_use(self, now: datetime) -> int:
        """How many open attempts hold a line of the live-call cap: those in a line-holding
        phase, and the uncertain others still within their maybe-live time."""
        held = sum(len(self._phases[phase]) for phase in _LINE_HOLDING)
        for phase in Phase:
            if phase not in _LINE_HOLDING:
                held += sum(1 for o in self._phases[phase].values() if o.holds_line(now))
        return held

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
        self.set_phase(opened, step.phase)
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
        self._phases[opened.phase].pop(opened.id, None)
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
