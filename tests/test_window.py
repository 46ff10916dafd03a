"""Calling windows in the callee's local time: DST, midnight, blackout dates, zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pandas as pd

from dialer.config import Window
from dialer.window import CallingWindow, zone_for_number, zone_for_region, zones_for_numbers

JERUSALEM = ZoneInfo("Asia/Jerusalem")
NEW_YORK = ZoneInfo("America/New_York")
BUSINESS = CallingWindow.from_config(Window(days=("sun", "mon", "tue", "wed", "thu")))


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def test_open_inside_hours_on_allowed_days() -> None:
    assert BUSINESS.is_open("Asia/Jerusalem", at(JERUSALEM, 2026, 3, 8, 9, 0))  # Sunday
    assert not BUSINESS.is_open("Asia/Jerusalem", at(JERUSALEM, 2026, 3, 8, 8, 59))
    assert not BUSINESS.is_open("Asia/Jerusalem", at(JERUSALEM, 2026, 3, 8, 19, 0))
    assert not BUSINESS.is_open("Asia/Jerusalem", at(JERUSALEM, 2026, 3, 13, 12, 0))  # Friday


def test_next_opening_skips_the_weekend() -> None:
    friday = at(JERUSALEM, 2026, 3, 13, 12, 0)
    opening = BUSINESS.next_opening("Asia/Jerusalem", friday)
    assert opening == at(JERUSALEM, 2026, 3, 15, 9, 0)
    assert opening is not None and opening.tzinfo == UTC


def test_open_now_returns_now() -> None:
    now = at(JERUSALEM, 2026, 3, 9, 10, 0)
    assert BUSINESS.next_opening("Asia/Jerusalem", now) == now


def test_dst_start_jerusalem_keeps_local_nine() -> None:
    # Israel moved clocks forward on Friday 2026-03-27; Sunday 03-29 09:00 is UTC+3.
    opening = BUSINESS.next_opening("Asia/Jerusalem", at(JERUSALEM, 2026, 3, 26, 20, 0))
    assert opening == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_dst_end_new_york_keeps_local_nine() -> None:
    every_day = CallingWindow(frozenset(range(7)), time(9), time(19))
    # 2026-11-01: clocks go back at 02:00; 09:00 local is 14:00 UTC (was 13:00 the day before)
    before = every_day.next_opening("America/New_York", at(NEW_YORK, 2026, 10, 31, 20, 0))
    assert before == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    assert every_day.is_open("America/New_York", datetime(2026, 11, 1, 14, 0, tzinfo=UTC))
    assert not every_day.is_open("America/New_York", datetime(2026, 11, 1, 13, 59, tzinfo=UTC))


def test_start_inside_spring_forward_gap() -> None:
    night = CallingWindow(frozenset(range(7)), time(2, 30), time(5))
    opening = night.next_opening("America/New_York", at(NEW_YORK, 2026, 3, 8, 0, 0))
    assert opening == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT


def test_window_until_midnight_and_all_day() -> None:
    evening = CallingWindow.from_config(Window(days=("mon",), start="18:00", end="24:00"))
    assert evening.is_open("Asia/Jerusalem", at(JERUSALEM, 2026, 3, 9, 23, 59, 59))
    assert not evening.is_open("Asia/Jerusalem", at(JERUSALEM, 2026, 3, 10, 0, 0))
    always = CallingWindow.from_config(
        Window(days=("sun", "mon", "tue", "wed", "thu", "fri", "sat"), start="00:00", end="24:00")
    )
    assert always.is_open("Pacific/Auckland", datetime(2026, 3, 9, 0, 0, tzinfo=UTC))


def test_blackout_dates_are_in_the_callee_local_date() -> None:
    window = CallingWindow(frozenset(range(7)), time(0), None, frozenset({date(2026, 12, 25)}))
    # 23:30 UTC on the 24th is already the 25th in Jerusalem
    assert not window.is_open("Asia/Jerusalem", datetime(2026, 12, 24, 23, 30, tzinfo=UTC))
    assert window.is_open("America/New_York", datetime(2026, 12, 24, 23, 30, tzinfo=UTC))
    opening = window.next_opening("Asia/Jerusalem", datetime(2026, 12, 24, 23, 30, tzinfo=UTC))
    assert opening == at(JERUSALEM, 2026, 12, 26, 0, 0)


def test_never_opens() -> None:
    window = CallingWindow(frozenset({0}), time(9), time(10), frozenset())
    assert window.next_opening("UTC", datetime(2026, 3, 9, 12, tzinfo=UTC)) is not None
    blocked = CallingWindow(frozenset(), time(9), time(10))
    assert blocked.next_opening("UTC", datetime(2026, 3, 9, 12, tzinfo=UTC)) is None


def test_zones_from_numbers() -> None:
    assert zone_for_number("+972522345678", pinned=None, default_zone="UTC") == "Asia/Jerusalem"
    assert zone_for_number("+12127360100", pinned=None, default_zone="UTC") == "America/New_York"
    assert zone_for_number("+12127360100", pinned="Asia/Jerusalem", default_zone="UTC") == (
        "Asia/Jerusalem"
    )
    assert zone_for_region("IL") == "Asia/Jerusalem"
    phones = pd.Series(["+972522345678", "", "+12127360100", "+447946095812"], dtype="str")
    zones = zones_for_numbers(phones, pinned=None, default_zone="Asia/Jerusalem")
    assert zones.tolist() == ["Asia/Jerusalem", "", "America/New_York", "Europe/Guernsey"]
