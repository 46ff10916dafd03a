"""One line pool per account: the company's lines, shared by every campaign running on it.

Each campaign asks :meth:`LinePool.free_for` before it claims a lead. The lines are split among
the campaigns that want them now (leads due) in proportion to their ``weight``, each share
capped by the campaign's own ``max_live_calls``; a campaign with nothing due lends its share,
and a share one campaign cannot use (its cap) goes to the others. Calls already live are never
taken back: a campaign above its share simply claims nothing until it is below it.

The pool starts from what the account is known to allow (``[account] lines``, else the largest
``max_live_calls`` of its campaigns) and shrinks when the platform queues a call (a 202 queued
means the company has fewer free lines than we thought).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("dialer.dispatch")


@dataclass
class Member:
    """A campaign on the pool: its weight, its own cap, and how to ask what it uses now."""

    name: str
    weight: float
    ceiling: int  # the campaign's max_live_calls
    used: Callable[[], int]  # lines it holds now
    wants: Callable[[], bool]  # whether it has leads due that wait for a line


class LinePool:
    """The account's lines and who may use how many (see the module docstring)."""

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self._members: dict[str, Member] = {}
        self.notes: list[str] = []
        #: lines held by calls of the account's campaigns that no member dispatches (a run
        #: of theirs was interrupted with calls in flight): they are busy all the same
        self.reserved = 0

    def join(self, member: Member) -> None:
        """A campaign starts using the pool."""
        self._members[member.name] = member

    def leave(self, name: str) -> None:
        """A campaign is done with the pool."""
        self._members.pop(name, None)

    def lower(self, lines: int) -> None:
        """The platform has fewer lines than assumed: use at most ``lines`` from now on."""
        lines = max(1, lines)
        if lines < self.lines:
            note = (
                f"the platform queued a call: the company's lines were all busy, so at most "
                f"{lines} calls are kept live from now on (was {self.lines})"
            )
            self.lines = lines
            self.notes.append(note)
            log.warning(note)

    def in_use(self) -> int:
        """Lines held by every campaign together."""
        return self.reserved + sum(m.used() for m in self._members.values())

    def free_for(self, name: str) -> int:
        """How many more lines campaign ``name`` may take now."""
        asking = self._members[name]
        used = {m.name: m.used() for m in self._members.values()}
        room = self.lines - self.reserved - sum(used.values())
        if room <= 0:
            return 0
        wanting = [m for m in self._members.values() if m is asking or m.wants()]
        lent = self.reserved + sum(used[m.name] for m in self._members.values() if m not in wanting)
        share = _water_fill(wanting, self.lines - lent)[name]
        return max(0, min(share - used[name], room, asking.ceiling - used[name]))

    def share(self, name: str) -> float:
        """The campaign's weight as a fraction of all campaigns' on the pool (for status)."""
        total = sum(m.weight for m in self._members.values())
        member = self._members.get(name)
        return 0.0 if member is None or total <= 0 else member.weight / total


def _water_fill(members: list[Member], lines: int) -> dict[str, int]:
    """Whole lines for each member in proportion to its weight, none above its ceiling;
    what a capped member cannot use goes to the others. Remainders go to the largest
    fractions (ties: the order the members joined)."""
    shares: dict[str, int] = {}
    open_members = list(members)
    left = max(0, lines)
    while open_members:
        total = sum(m.weight for m in open_members)
        capped = [m for m in open_members if m.ceiling <= left * m.weight / total]
        if not capped:
            break
        for member in capped:
            shares[member.name] = member.ceiling
            left -= member.ceiling
            open_members.remove(member)
    if open_members:
        total = sum(m.weight for m in open_members)
        exact = {m.name: left * m.weight / total for m in open_members}
        floors = {name: math.floor(value) for name, value in exact.items()}
        spare = left - sum(floors.values())
        by_fraction = sorted(open_members, key=lambda m: floors[m.name] - exact[m.name])
        for member in by_fraction[:spare]:
            floors[member.name] += 1
        shares.update(floors)
    return shares
