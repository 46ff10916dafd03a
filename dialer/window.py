"""Calling windows in the callee's local time. Pure functions of ``now``; no clock is read.

A lead's zone comes from its number (phonenumbers' time-zone data). A campaign that pins a
zone (``[window] timezone = "Asia/Jerusalem"``) uses it for every number; with ``auto``, a
number whose prefix spans several zones takes the first one listed, and a number with no zone
data the campaign's default zone. Local times are turned into instants with ``zoneinfo``, so
"09:00" stays 09:00 on the wall clock across DST changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from dialer.config import Window

__all__ = ["CallingWindow", "zone_for_number", "zone_for_region", "zones_for_numbers"]

_UNKNOWN_ZONE = "Etc/Unknown"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
_DAY = timedelta(days=1)


# --------------------------------------------------------------------------- zones


def zone_for_number(e164: str, *, pinned: str | None, default_zone: str) -> str:
    """The IANA zone a callee is assumed to be in (see the module docstring for the rule)."""
    if pinned:
        return pinned
    return _zone_of(e164) or default_zone


def _zone_of(e164: str) -> str | None:
    """The first zone listed for the number's longest known prefix, or None if there is none.

    This is phonenumbers' own prefix table read directly (``time_zones_for_number`` would
    parse and type the number first, at 50x the cost, to reach the same entry).
    """
    digits = e164.lstrip("+")
    for length in range(min(len(digits), TIMEZONE_LONGEST_PREFIX), 0, -1):
        zones = TIMEZONE_DATA.get(digits[:length])
        if zones is not None:
            return zones[0] if zones[0] != _UNKNOWN_ZONE else None
    return None


def zone_for_region(region: str) -> str:
    """A region's main zone (``IL`` → ``Asia/Jerusalem``): the default for unknown numbers."""
    code = phonenumbers.country_code_for_region(region)
    zones = TIMEZONE_DATA.get(str(code), ())
    return zones[0] if zones else "UTC"


def zones_for_numbers(phones: pd.Series, *, pinned: str | None, default_zone: str) -> pd.Series:
    """:func:`zone_for_number` for a column of E.164 numbers ("" for a blank number).

    A country code whose every prefix lies in one zone (``+972``) is answered by its code
    alone, for all its numbers at once; other numbers are looked up once each.
    """
    if pinned:
        return pd.Series(pinned, index=phones.index, dtype="str").where(phones != "", "")
    numbers = pa.array(phones, type=pa.string())
    zones = np.full(len(phones), "", dtype=object)
    blank = np.asarray(pc.equal(numbers, ""), dtype=bool)
    undecided = ~blank
    for length in (1, 2, 3):
        zone = _country_zones(numbers, length).to_numpy(zero_copy_only=False)
        known = undecided & pd.notna(zone)
        zones[known] = zone[known]
        undecided &= ~known
    rest = np.flatnonzero(~blank & (zones == ""))  # several zones, or none known
    for row, number in zip(rest.tolist(), numbers.take(pa.array(rest)).to_pylist(), strict=True):
        zones[row] = zone_for_number(number, pinned=None, default_zone=default_zone)
    return pd.Series(zones, index=phones.index, dtype="str")


def _country_zones(numbers: pa.Array, length: int) -> pa.Array:
    """Per number, the zone of its ``length``-digit country code: a zone if the country has
    one, "" if it has several, null if those digits are not a country code."""
    codes = pc.dictionary_encode(pc.utf8_slice_codeunits(numbers, 1, 1 + length))
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    zones = pa.array([_country_zone(c) for c in codes.dictionary.to_pylist()], type=pa.string())
    return zones.take(codes.indices)


@cache
def _country_zone(code: str) -> str | None:
    """A country code's only zone; "" if it has several; None if ``code`` has no zone data."""
    if code not in TIMEZONE_DATA:
        return None
    zones = {z for key, value in TIMEZONE_DATA.items() if key.startswith(code) for z in value}
    return zones.pop() if len(zones) == 1 and _UNKNOWN_ZONE not in zones else ""


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """Allowed weekdays (0 = Monday), a local time span, and blackout dates (local)."""

    days: frozenset[int]
    start: time
    end: time | None  # None: until midnight
    blackout_dates: frozenset[date] = frozenset()

    @classmethod
    def from_config(cls, window: Window) -> CallingWindow:
        """The window a campaign file describes."""
        return cls(
            days=frozenset(_DAYS.index(day) for day in window.days),
            start=time.fromisoformat(window.start),
            end=None if window.end == "24:00" else time.fromisoformat(window.end),
            blackout_dates=frozenset(window.blackout_dates),
        )

    def is_open(self, zone: str, now: datetime) -> bool:
        """Whether a callee in ``zone`` may be called at the instant ``now``."""
        local = now.astimezone(ZoneInfo(zone))
        if not self._allowed(local.date()):
            return False
        wall = local.time().replace(tzinfo=None)
        return self.start <= wall and (self.end is None or wall < self.end)

    def next_opening(self, zone: str, now: datetime) -> datetime | None:
        """``now`` if open, else the next instant (UTC) the window opens; None if it never does.

        Looks one week past the last blackout date: beyond that the pattern only repeats.
        """
        if self.is_open(zone, now):
            return now.astimezone(UTC)
        tz = ZoneInfo(zone)
        day = now.astimezone(tz).date()
        horizon = max([day, *self.blackout_dates]) + 8 * _DAY
        while day <= horizon:
            opening = self._opening_on(day, tz)
            if opening is not None and opening > now:
                return opening.astimezone(UTC)
            day += _DAY
        return None

    def _allowed(self, day: date) -> bool:
        """An allowed weekday that is not a blackout date."""
        return day.weekday() in self.days and day not in self.blackout_dates

    def _opening_on(self, day: date, tz: ZoneInfo) -> datetime | None:
        """The instant the window opens on local date ``day``, if it opens that day.

        A start time inside a spring-forward gap is read with the offset before the change,
        so a 02:30 start on that day opens at 03:30 (zoneinfo's ``fold=0`` reading).
        """
        if not self._allowed(day):
            return None
        return datetime.combine(day, self.start, tzinfo=tz)
