"""Every call row of the sandbox workspace, and the two ways GET /calls finds them fast.

A dialer syncs with ``GET /calls?updated_since=…`` every few seconds for as long as its
campaign runs. Scanning every call ever made for each of those requests makes a sync cost
grow with the campaign; here it costs what changed since the bound. The table keeps:

* the rows by id, in creation order (the API lists calls newest first);
* the calls in the order they last changed (:meth:`CallTable.changing`). The clock never runs
  back, so that order is also ``updated_at`` order, and the calls changed since a bound are a
  tail of it. Should an ``updated_at`` ever go back, the table notices and answers by full
  scans from then on: slower, never wrong;
* the calls to each number (a look-up by ``callee`` after a crash).

Rows change only inside :meth:`CallTable.changing`, which moves a row whose ``updated_at``
moved; the table cannot be told "this changed" any other way, so it cannot be forgotten.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

Row = dict[str, Any]


class CallTable(Mapping[str, Row]):
    """Call rows by id (read-only as a mapping; see the module docstring for writing)."""

    def __init__(self) -> None:
        self._rows: dict[str, Row] = {}  # creation order
        self._position: dict[str, int] = {}  # call id -> its place in creation order
        self._by_change: OrderedDict[str, None] = OrderedDict()  # least recently changed first
        self._by_callee: dict[str, list[str]] = {}
        self._latest = ""  # the newest updated_at seen
        self.ordered = True  # False once an updated_at went back: scans from then on

    # -- the mapping ----------------------------------------------------------------------

    def __getitem__(self, call_id: str) -> Row:
        return self._rows[call_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> Mapping[str, Row]:
        """The rows by id, in creation order (the table's own dict: do not change it)."""
        return self._rows

    # -- writing --------------------------------------------------------------------------

    def add(self, row: Row) -> None:
        """A new call row (its id must be new)."""
        call_id = row["id"]
        if call_id in self._rows:
            raise ValueError(f"call {call_id} is in the table already")
        self._position[call_id] = len(self._rows)
        self._rows[call_id] = row
        self._by_callee.setdefault(row["to"], []).append(call_id)
        self._by_change[call_id] = None
        self._saw(row["updated_at"])

    @contextmanager
    def changing(self, call_id: str) -> Iterator[Row]:
        """Change the row in the ``with`` body; if its ``updated_at`` moved, so does its
        place in the change order."""
        row = self._rows[call_id]
        before = row["updated_at"]
        try:
            yield row
        finally:
            if row["updated_at"] != before:
                self._by_change.move_to_end(call_id)
                self._saw(row["updated_at"])

    def _saw(self, updated_at: str) -> None:
        if updated_at < self._latest:
            self.ordered = False
        else:
            self._latest = updated_at

    # -- reading --------------------------------------------------------------------------

    def newest_first(self) -> Iterator[Row]:
        """Every row, newest first."""
        return reversed(self._rows.values())

    def updated_since(self, bound: str) -> list[Row]:
        """Rows whose ``updated_at`` is at or after ``bound`` (the API's ISO form), newest
        first; costs the rows changed since ``bound``, not every row."""
        if not self.ordered:
            return [row for row in self.newest_first() if row["updated_at"] >= bound]
        found: list[str] = []
        for call_id in reversed(self._by_change):
            if self._rows[call_id]["updated_at"] < bound:
                break
            found.append(call_id)
        found.sort(key=self._position.__getitem__, reverse=True)
        return [self._rows[call_id] for call_id in found]

    def to_callee(self, number: str) -> list[Row]:
        """Rows of calls to ``number``, newest first."""
        return [self._rows[call_id] for call_id in reversed(self._by_callee.get(number, []))]

    def candidates(self, *, updated_since: str | None, callee: str | None) -> list[Row]:
        """Newest first, every row that may match a query with these filters (the query's
        own filters still decide): the smaller of the two indexes when both are given."""
        picks = []
        if updated_since is not None:
            picks.append(self.updated_since(updated_since))
        if callee is not None:
            picks.append(self.to_callee(callee))
        if not picks:
            return list(self.newest_first())
        return min(picks, key=len)
