"""Calling windows in the callee's local time. Pure functions of ``now``; no clock is read.

**Zone sets.** A lead is judged in every zone its number may ring in. The set is one string,
the zone names sorted and joined by a single space (``"America/Chicago America/New_York"``);
it is what the ledger's ``leads.timezone`` column and the frame's ``timezone`` column hold,
and what :class:`CallingWindow` takes. A zone is an IANA name or a fixed UTC offset spelled
``UTC+02:00`` (:func:`zone_name` turns what a person typed into that spelling). A single zone
name is a set of one, so callers that pass one name keep working.

**Which zones.** phonenumbers' own answer (``timezone.time_zones_for_number``), read from its
tables without parsing each number: a number of a geographic type (a fixed line; a mobile
only where phonenumbers places mobiles by prefix) takes every zone of its longest known
prefix; any other type (most mobiles, toll-free, VoIP...) takes every zone of its country
code. ``Etc/Unknown`` (no zone known) means the campaign's default zone. A campaign that pins
a zone (``[window] timezone``) or a row that names one (``[columns] timezone``) overrides all
of this.

**When.** A lead may be called only while the window is open in every zone of its set; its
next opening is the earliest instant at which all of them are open. Local times are turned
into instants with ``zoneinfo`` (``fold=0``), so "09:00" stays 09:00 on the wall clock across
DST changes. The all-open spans are computed per zone set and UTC week and cached on the
window, so the dispatcher's per-lead questions are a dictionary look-up and a short scan.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
import phonenumbers
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from dialer import phones

if TYPE_CHECKING:
    from dialer.config import Window

__all__ = [
    "CallingWindow",
    "never_open_reason",
    "zone_for_region",
    "zone_name",
    "zone_set",
    "zones_for_number",
    "zones_for_numbers",
]

_UNKNOWN_ZONE = "Etc/Unknown"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
_DAY = timedelta(days=1)
_WEEK_SECONDS = 7 * 24 * 3600
#: ``+02:00``, ``UTC+2``, ``GMT-3``, ``-05:30``, ``UTC+0530`` (a real minus sign too).
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+\-\u2212])\s*([0-9]{1,2})(?::?([0-9]{2}))?", re.I)
_CANONICAL_OFFSET = re.compile(r"UTC[+-][0-9]{2}:[0-9]{2}")
_LARGEST_OFFSET_MINUTES = 14 * 60  # Pacific/Kiritimati; nothing on Earth is further out


# --------------------------------------------------------------------------- zone names


def zone_name(text: str) -> str | None:
    """The canonical spelling of a zone a person wrote, or None if it is not one.

    An IANA name in any case (``america/new_york`` → ``America/New_York``), or a UTC offset
    (``+2``, ``UTC+02:00``, ``GMT-3``, ``-05:30`` → ``UTC+02:00``, ``UTC-03:00``...).
    """
    text = text.strip()
    offset = _OFFSET.fullmatch(text)
    if offset is not None:
        return _offset_name(*offset.groups())
    return _iana_names().get(text.casefold())


def _offset_name(sign: str, hours: str, minutes: str | None) -> str | None:
    """``UTC±HH:MM`` for an offset within what clocks on Earth use; None beyond it."""
    total = int(hours) * 60 + int(minutes or 0)
    if int(minutes or 0) >= 60 or total > _LARGEST_OFFSET_MINUTES:
        return None
    sign = "-" if sign in "-\u2212" and total else "+"
    return f"UTC{sign}{total // 60:02d}:{total % 60:02d}"


@cache
def _iana_names() -> dict[str, str]:
    """Every IANA zone this machine knows, by case-folded name."""
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def zone_set(names: Iterable[str]) -> str:
    """The one-string form of a set of zones: distinct names, sorted, space-separated."""
    return " ".join(sorted(set(names)))


def never_open_reason(zones: str) -> str:
    """A lead's reason when its window is never open in all its zones at once.

    Sets of more than two zones are named by their first and last (sorted) names.
    """
    names = zones.split(" ")
    if len(names) == 1:
        return f"window: never open in {names[0]}"
    shown = f"{names[0]}…{names[-1]}" if len(names) > 2 else " and ".join(names)
    return f"window: never open in all of {shown}"


@lru_cache(maxsize=4096)
def _tzinfos(zones: str) -> tuple[tzinfo, ...]:
    """The tzinfo of each zone in a zone-set string (parsed once per distinct string)."""
    return tuple(_tzinfo(name) for name in zones.split(" "))


def _tzinfo(name: str) -> tzinfo:
    """A canonical zone name as a tzinfo: ``UTC+02:00`` is a fixed offset, else IANA."""
    if _CANONICAL_OFFSET.fullmatch(name):
        sign = -1 if name[3] == "-" else 1
        return timezone(sign * timedelta(hours=int(name[4:6]), minutes=int(name[7:9])))
    return zoneinfo.ZoneInfo(name)


# --------------------------------------------------------------------------- zones of numbers


def zone_for_region(region: str) -> str:
    """A region's main zone (``IL`` → ``Asia/Jerusalem``): the default for unknown numbers."""
    code = phonenumbers.country_code_for_region(region)
    zones = TIMEZONE_DATA.get(str(code), ())
    return zones[0] if zones else "UTC"


def zones_for_number(e164: str, *, pinned: str | None, default_zone: str) -> str:
    """The zone set of one E.164 number (see the module docstring); ``pinned`` wins."""
    numbers = pd.Series([e164], dtype="str")
    return str(zones_for_numbers(numbers, pinned=pinned, default_zone=default_zone).iloc[0])


def zones_for_numbers(phones: pd.Series, *, pinned: str | None, default_zone: str) -> pd.Series:
    """:func:`zones_for_number` for a column of E.164 numbers ("" for a blank number), as a
    categorical column of zone-set strings.

    A country code whose every prefix gives the same zones (``+972``) is answered by its
    code alone, for all its numbers at once; the others are looked up per distinct longest
    prefix, and their type (geographic or not) is tested per country, vectorized.
    """
    numbers = pc.fill_null(pa.array(phones, from_pandas=True), "")
    if isinstance(numbers, pa.ChunkedArray):
        numbers = numbers.combine_chunks()
    sets = _ZoneSets(default_zone)
    if pinned:
        codes = np.where(_np_bool(pc.not_equal(numbers, "")), sets.code((pinned,)), 0)
        return sets.column(codes.astype(np.int32), phones.index)
    codes, several = _by_country(numbers, sets)
    for country, rows in several.items():
        codes[rows] = _by_prefix(country, numbers.take(pa.array(rows)), sets)
    return sets.column(codes, phones.index)


class _ZoneSets:
    """The distinct zone-set strings of one column, numbered; 0 is "" (no number)."""

    def __init__(self, default_zone: str) -> None:
        self.default_zone = default_zone
        self.names = [""]
        self._by_zones: dict[tuple[str, ...], int] = {}
        self._by_name: dict[str, int] = {"": 0}

    def code(self, zones: tuple[str, ...] | None) -> int:
        """The number of phonenumbers' zone tuple (unknown → the default zone)."""
        key = zones or (_UNKNOWN_ZONE,)
        found = self._by_zones.get(key)
        if found is None:
            name = zone_set(self.default_zone if z == _UNKNOWN_ZONE else z for z in key)
            found = self._by_zones[key] = self._by_name.setdefault(name, len(self.names))
            if found == len(self.names):
                self.names.append(name)
        return found

    def column(self, codes: Codes, index: pd.Index) -> pd.Series:
        """The zone sets as a categorical column: one string object per distinct set, so a
        million rows cost a million small codes (and share their strings when listed)."""
        names = pd.Index(self.names, dtype=object)
        return pd.Series(pd.Categorical.from_codes(codes, categories=names), index=index)


def _np_bool(values: pa.Array) -> npt.NDArray[np.bool_]:
    """A pyarrow boolean array as numpy."""
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


Codes = npt.NDArray[np.int32]


def _by_country(
    numbers: pa.Array, sets: _ZoneSets
) -> tuple[Codes, dict[str, npt.NDArray[np.intp]]]:
    """Zone-set codes of every number whose country has one zone set (decided per distinct
    first three digits, which hold the country code); the other rows by country code."""
    head = pc.dictionary_encode(pc.utf8_slice_codeunits(numbers, 1, 4))
    per_head = np.zeros(len(head.dictionary), dtype=np.int32)
    several_heads: dict[str, list[int]] = {}
    for i, digits in enumerate(head.dictionary.to_pylist()):
        if not digits:
            continue  # a blank number: code 0
        country = _country_code(digits)
        zones = _country_zones(country) if country else (_UNKNOWN_ZONE,)
        if zones is None:
            several_heads.setdefault(str(country), []).append(i)
        else:
            per_head[i] = sets.code(zones)
    indices = head.indices.to_numpy(zero_copy_only=False)
    codes = per_head[indices]
    several = {c: np.flatnonzero(np.isin(indices, heads)) for c, heads in several_heads.items()}
    return codes, several


@cache
def _country_code(digits: str) -> str | None:
    """The country calling code that ``digits`` begin with (codes are prefix-free)."""
    for length in (1, 2, 3):
        if digits[:length] in _COUNTRY_CODES:
            return digits[:length]
    return None


_COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@cache
def _country_zones(country: str) -> tuple[str, ...] | None:
    """A country code's zones if every number of it has the same ones; None if they vary."""
    found = {value for key, value in TIMEZONE_DATA.items() if key.startswith(country)}
    if not found:
        return (_UNKNOWN_ZONE,)
    return found.pop() if len(found) == 1 and TIMEZONE_DATA.get(country) else None


def _by_prefix(country: str, numbers: pa.Array, sets: _ZoneSets) -> Codes:
    """Zone-set codes for numbers of one several-zone country.

    Each number's longest known prefix gives its zones if its type is geographic; else the
    country's. Only numbers whose prefix zones differ from the country's need the type test.
    """
    whole = TIMEZONE_DATA.get(country, (_UNKNOWN_ZONE,))
    prefixes = _longest_prefixes(numbers)
    encoded = pc.dictionary_encode(prefixes)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    out = np.full(len(numbers), sets.code(whole), dtype=np.int32)
    for i, prefix in enumerate(encoded.dictionary.to_pylist()):
        zones = TIMEZONE_DATA.get(prefix, (_UNKNOWN_ZONE,))
        if zones == whole:
            continue
        rows = np.flatnonzero(indices == i)
        national = pc.utf8_slice_codeunits(numbers.take(pa.array(rows)), 1 + len(country))
        geo = phones.geographic(int(country), national)
        out[rows[geo]] = sets.code(zones)
    return out


def _longest_prefixes(numbers: pa.Array) -> pa.Array:
    """Per number, its longest prefix that phonenumbers has zone data for ("" if none)."""
    found = pa.nulls(len(numbers), numbers.type)
    for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        prefix = pc.utf8_slice_codeunits(numbers, 1, 1 + length)
        known = pc.and_(pc.is_null(found), pc.is_in(prefix, value_set=_prefixes(length)))
        found = pc.if_else(known, prefix, found)
    return pc.fill_null(found, "")


@cache
def _prefixes(length: int) -> pa.Array:
    """Every zone-data prefix of ``length`` digits."""
    return pa.array([key for key in TIMEZONE_DATA if len(key) == length], type=pa.string())


# --------------------------------------------------------------------------- windows

Span = tuple[float, float]  # [start, end) in POSIX seconds


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """Allowed weekdays (0 = Monday), a local time span, and blackout dates (local)."""

    days: frozenset[int]
    start: time
    end: time | None  # None: until midnight
    blackout_dates: frozenset[date] = frozenset()
    _weeks: dict[tuple[str, int], tuple[Span, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def from_config(cls, window: Window) -> CallingWindow:
        """The window a campaign file describes."""
        return cls(
            days=frozenset(_DAYS.index(day) for day in window.days),
            start=time.fromisoformat(window.start),
            end=None if window.end == "24:00" else time.fromisoformat(window.end),
            blackout_dates=frozenset(window.blackout_dates),
        )

    def is_open(self, zones: str, now: datetime) -> bool:
        """Whether a callee who may be in any of ``zones`` may be called at ``now``: the
        window is open in every one of them."""
        moment = now.timestamp()
        return any(s <= moment < e for s, e in self._week(zones, _week_of(moment)))

    def next_opening(self, zones: str, now: datetime) -> datetime | None:
        """``now`` if open, else the next instant (UTC) the window is open in all ``zones``;
        None if it never is (see :meth:`_horizon` for how far ahead that is decided)."""
        moment = now.timestamp()
        for start, _ in self._spans(zones, moment, self._horizon(zones, now)):
            return now.astimezone(UTC) if start <= moment else _utc(start)
        return None

    def open_until(self, zones: str, now: datetime) -> datetime | None:
        """If open in all ``zones`` at ``now``: the instant (UTC) one of them closes; else
        None. A window that stays open past the look-ahead reports the look-ahead's end."""
        moment = now.timestamp()
        for start, end in self._spans(zones, moment, self._horizon(zones, now)):
            return _utc(end) if start <= moment else None
        return None

    def _horizon(self, zones: str, now: datetime) -> float:
        """How far ahead to look before saying "never".

        One zone opens on any allowed day that is not a blackout date, so a week past the
        last blackout date is enough. Several zones may line up only while their DST rules
        differ (a few weeks a year), so they are followed for a year past it.
        """
        last = max([now.astimezone(UTC).date(), *self.blackout_dates])
        ahead = timedelta(days=9) if " " not in zones else timedelta(days=375)
        return datetime.combine(last + ahead, time(0), tzinfo=UTC).timestamp()

    def _spans(self, zones: str, moment: float, until: float) -> Iterator[Span]:
        """The all-open spans that end after ``moment``, in order, joined across weeks."""
        current: Span | None = None
        week = _week_of(moment)
        while week * _WEEK_SECONDS < until:
            for span in self._week(zones, week):
                if current is not None and span[0] <= current[1]:
                    current = (current[0], span[1])
                    continue
                if current is not None:
                    yield current
                current = span if span[1] > moment else None
            week += 1
        if current is not None:
            yield current

    def _week(self, zones: str, week: int) -> tuple[Span, ...]:
        """The spans of one UTC week in which the window is open in all ``zones`` (cached)."""
        key = (zones, week)
        found = self._weeks.get(key)
        if found is None:
            if len(self._weeks) >= 20_000:  # a long run moves through weeks: stay bounded
                self._weeks.clear()
            low = week * _WEEK_SECONDS
            spans: list[Span] = [(low, low + _WEEK_SECONDS)]
            for tz in _tzinfos(zones):
                spans = _intersect(spans, self._zone_spans(tz, low, low + _WEEK_SECONDS))
            found = self._weeks[key] = tuple(spans)
        return found

    def _zone_spans(self, tz: tzinfo, low: float, high: float) -> list[Span]:
        """The window's open spans in one zone, clipped to [low, high), touching ones joined."""
        day = datetime.fromtimestamp(low, tz).date() - _DAY
        last = datetime.fromtimestamp(high, tz).date()
        spans: list[Span] = []
        while day <= last:
            span = self._open_on(day, tz)
            day += _DAY
            if span is None:
                continue
            start, end = max(span[0], low), min(span[1], high)
            if start >= end:
                continue
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        return spans

    def _open_on(self, day: date, tz: tzinfo) -> Span | None:
        """The span the window is open on local date ``day``, if it opens that day.

        A start time inside a spring-forward gap is read with the offset before the change,
        so a 02:30 start on that day opens at 03:30 (zoneinfo's ``fold=0`` reading).
        """
        if day.weekday() not in self.days or day in self.blackout_dates:
            return None
        start = datetime.combine(day, self.start, tzinfo=tz).timestamp()
        if self.end is None:
            end = datetime.combine(day + _DAY, time(0), tzinfo=tz).timestamp()
        else:
            end = datetime.combine(day, self.end, tzinfo=tz).timestamp()
        return (start, end) if start < end else None


def _week_of(moment: float) -> int:
    """The number of the UTC week (counted from the epoch) that holds ``moment``."""
    return int(moment // _WEEK_SECONDS)


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _intersect(first: list[Span], second: list[Span]) -> list[Span]:
    """Where two sorted lists of disjoint spans overlap."""
    out: list[Span] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            out.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out
