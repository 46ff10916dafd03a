"""The book of open attempts: its phase index always agrees with the attempts themselves
(the loop asks it for lines in use on every claim, so it must not walk them all)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from dialer.dispatch.book import Book, Open
from dialer.dispatch.decisions import Phase
from dialer.dispatch.plan import MAYBE_LIVE
from dialer.models import LeadStatus
from dialer.store import AttemptRecord

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_HOLDING = {Phase.SENDING, Phase.LOOKUP, Phase.LIVE, Phase.HELD}


def _open(i: int, phase: Phase) -> Open:
    record = AttemptRecord(
        id=f"a{i}", lead_id=i, number=1, phone=f"+97250{i:07d}", from_number="+972552234567",
        body="{}", started_at=NOW, shape=None, call_id=None, request_id=None, queue_id=None,
        lead_status=LeadStatus.DIALING,
    )  # fmt: skip
    return Open(attempt=record, status=LeadStatus.DIALING, phase=phase)


def _walked(book: Book, now: datetime) -> int:
    """Lines in use, counted the slow way: every open attempt asked."""
    return sum(1 for o in book if o.phase in _HOLDING or (
        o.uncertain and o.sent_at is not None and now < o.sent_at + MAYBE_LIVE
    ))  # fmt: skip


def test_the_phase_index_agrees_with_every_attempt_through_random_moves() -> None:
    chance = random.Random(4)
    book, known = Book(), []
    for step in range(3000):
        now = NOW + timedelta(seconds=step)
        roll = chance.random()
        if roll < 0.3 or not known:
            opened = _open(step, chance.choice(list(Phase)))
            opened.uncertain = chance.random() < 0.3
            opened.sent_at = now - timedelta(seconds=chance.uniform(0, 2 * MAYBE_LIVE.seconds))
            book.add(opened)
            known.append(opened)
        elif roll < 0.8:
            book.set_phase(chance.choice(known), chance.choice(list(Phase)))
        else:
            book.close(known.pop(chance.randrange(len(known))))
        assert book.lines_in_use(now) == _walked(book, now)
        for phase in Phase:
            assert book.in_phase(phase) == [o for o in book if o.phase == phase]  # oldest first
            assert book.has_phase(phase) == any(o.phase == phase for o in book)
    assert len(book) == len(known)
