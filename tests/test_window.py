"""Calling windows in the callee's local time: DST, midnight, blackout dates, zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers.timezone import time_zones_for_number

from dialer.config import Window
from dialer.window import (
    CallingWindow,
    never_open_reason,
    zone_for_region,
    zone_name,
    zone_set,
    zones_for_number,
    zones_for_numbers,
)

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
    assert zones_for_number("+972522345678", pinned=None, default_zone="UTC") == "Asia/Jerusalem"
    assert zones_for_number("+12127360100", pinned=None, default_zone="UTC") == "America/New_York"
    assert zones_for_number("+12127360100", pinned="Asia/Jerusalem", default_zone="UTC") == (
        "Asia/Jerusalem"
    )
    assert zone_for_region("IL") == "Asia/Jerusalem"
    phones = pd.Series(["+972522345678", "", "+12127360100", "+447946095812"], dtype="str")
    zones = zones_for_numbers(phones, pinned=None, default_zone="Asia/Jerusalem")
    uk_mobile = "Europe/Guernsey Europe/Isle_of_Man Europe/Jersey Europe/London"
    assert zones.tolist() == ["Asia/Jerusalem", "", "America/New_York", uk_mobile]


# --------------------------------------------------------------------------- zone sets

TOLL_FREE_US = zones_for_number("+18002345678", pinned=None, default_zone="UTC")
MOBILE_AU = zones_for_number("+61412345678", pinned=None, default_zone="UTC")
MOBILE_RU = zones_for_number("+79161234567", pinned=None, default_zone="UTC")
EVERY_DAY = frozenset(range(7))


def test_numbers_that_may_ring_in_several_zones_get_all_of_them() -> None:
    assert len(TOLL_FREE_US.split(" ")) == 42
    assert TOLL_FREE_US.startswith("America/Adak America/Anchorage ")
    assert TOLL_FREE_US.endswith(" Pacific/Guam Pacific/Honolulu Pacific/Pago_Pago Pacific/Saipan")
    assert MOBILE_AU == (
        "Australia/Adelaide Australia/Brisbane Australia/Eucla Australia/Lord_Howe "
        "Australia/Perth Australia/Sydney Indian/Christmas Indian/Cocos"
    )
    assert len(MOBILE_RU.split(" ")) == 16
    assert {"Europe/Moscow", "Asia/Vladivostok", "Asia/Anadyr"} <= set(MOBILE_RU.split(" "))
    # fixed lines are placed by their prefix: one zone each
    assert zones_for_number("+61212345678", pinned=None, default_zone="UTC") == "Australia/Sydney"
    assert zones_for_number("+74951234567", pinned=None, default_zone="UTC") == "Europe/Moscow"


def test_zone_sets_are_what_phonenumbers_says_for_every_region_and_type() -> None:
    examples = [
        phonenumbers.example_number_for_type(region, kind)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in range(11)  # every PhoneNumberType but UNKNOWN
    ]
    numbers = sorted(
        {
            phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
            for n in examples
            if n is not None and phonenumbers.is_valid_number(n)
        }
    )
    got = zones_for_numbers(pd.Series(numbers, dtype="str"), pinned=None, default_zone="UTC")
    expected = [
        zone_set(
            "UTC" if z == "Etc/Unknown" else z for z in time_zones_for_number(phonenumbers.parse(n))
        )
        for n in numbers
    ]
    assert len(numbers) > 900
    assert got.tolist() == expected


def test_us_toll_free_waits_until_open_in_all_its_zones() -> None:
    window = CallingWindow(EVERY_DAY, time(7), None)  # 07:00 to midnight, every day
    now = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)  # 15:00 in New York, 06:00 in Guam
    assert window.is_open("America/New_York", now)
    assert not window.is_open("Pacific/Guam", now)
    assert not window.is_open(TOLL_FREE_US, now)
    assert window.open_until(TOLL_FREE_US, now) is None
    opening = window.next_opening(TOLL_FREE_US, now)
    assert opening == datetime(2026, 1, 15, 21, 0, tzinfo=UTC)  # 07:00 in Guam (UTC+10)
    # ...until midnight in St John's (UTC-3:30), the last zone to close
    assert window.open_until(TOLL_FREE_US, opening) == datetime(2026, 1, 16, 3, 30, tzinfo=UTC)


def test_australian_mobile_waits_for_cocos_and_stops_with_sydney() -> None:
    window = CallingWindow(frozenset(range(5)), time(9), time(19))  # weekdays 09-19
    now = datetime(2026, 1, 13, 1, 0, tzinfo=UTC)  # Tuesday: 12:00 in Sydney, 07:30 in Cocos
    assert window.is_open("Australia/Sydney", now)
    assert not window.is_open("Indian/Cocos", now)
    assert not window.is_open(MOBILE_AU, now)
    opening = window.next_opening(MOBILE_AU, now)
    assert opening == datetime(2026, 1, 13, 2, 30, tzinfo=UTC)  # 09:00 in Cocos (UTC+6:30)
    assert window.is_open(MOBILE_AU, opening)
    # 19:00 in Sydney and Lord Howe (both UTC+11 in January)
    assert window.open_until(MOBILE_AU, opening) == datetime(2026, 1, 13, 8, 0, tzinfo=UTC)


def test_russian_mobile_waits_for_the_westmost_zone() -> None:
    window = CallingWindow(EVERY_DAY, time(8), time(21))
    now = datetime(2026, 1, 14, 5, 30, tzinfo=UTC)  # 08:30 in Moscow, 07:30 in Bucharest
    assert window.is_open("Europe/Moscow", now)
    assert not window.is_open("Europe/Bucharest", now)
    assert not window.is_open(MOBILE_RU, now)
    opening = window.next_opening(MOBILE_RU, now)
    assert opening == datetime(2026, 1, 14, 6, 0, tzinfo=UTC)  # 08:00 in Bucharest (UTC+2)
    # 21:00 in Anadyr and Kamchatka (UTC+12)
    assert window.open_until(MOBILE_RU, opening) == datetime(2026, 1, 14, 9, 0, tzinfo=UTC)


def test_dst_week_moves_the_all_open_span() -> None:
    window = CallingWindow(EVERY_DAY, time(7), None)
    # St John's moves to UTC-2:30 on Sunday 2026-03-08; Guam has no DST
    saturday = datetime(2026, 3, 7, 21, 0, tzinfo=UTC)
    sunday = datetime(2026, 3, 8, 21, 0, tzinfo=UTC)
    assert window.next_opening(TOLL_FREE_US, saturday - timedelta(hours=1)) == saturday
    assert window.open_until(TOLL_FREE_US, saturday) == datetime(2026, 3, 8, 3, 30, tzinfo=UTC)
    assert window.open_until(TOLL_FREE_US, sunday) == datetime(2026, 3, 9, 2, 30, tzinfo=UTC)


def test_zones_that_line_up_only_once_dst_starts() -> None:
    # Weekdays 09-19 in every zone of a Russian mobile: Bucharest (UTC+2) opens at 07:00 UTC
    # when Anadyr (UTC+12) closes; only once Bucharest is on summer time (2026-03-29) do they
    # overlap, 06:00-07:00 UTC, from Monday 2026-03-30.
    window = CallingWindow(frozenset(range(5)), time(9), time(19))
    winter = datetime(2026, 1, 14, 5, 30, tzinfo=UTC)
    opening = window.next_opening(MOBILE_RU, winter)
    assert opening == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert window.open_until(MOBILE_RU, opening) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_never_open_in_all_zones() -> None:
    mondays = CallingWindow(frozenset({0}), time(9), time(10))
    now = datetime(2026, 3, 9, 12, tzinfo=UTC)
    pair = zone_set(["Asia/Tokyo", "America/New_York"])
    assert pair == "America/New_York Asia/Tokyo"
    assert mondays.next_opening("Asia/Tokyo", now) is not None
    assert mondays.next_opening("America/New_York", now) is not None
    assert mondays.next_opening(pair, now) is None
    assert not mondays.is_open(pair, now)
    assert mondays.open_until(pair, now) is None
    business = CallingWindow(frozenset(range(5)), time(9), time(19))
    assert business.next_opening(TOLL_FREE_US, now) is None
    assert never_open_reason(TOLL_FREE_US) == (
        "window: never open in all of America/Adak…Pacific/Saipan"
    )
    assert never_open_reason(pair) == "window: never open in all of America/New_York and Asia/Tokyo"


def test_open_until_one_zone() -> None:
    now = at(JERUSALEM, 2026, 3, 9, 10, 0)
    assert BUSINESS.open_until("Asia/Jerusalem", now) == at(JERUSALEM, 2026, 3, 9, 19, 0)
    assert BUSINESS.open_until("Asia/Jerusalem", at(JERUSALEM, 2026, 3, 9, 20, 0)) is None
    evenings = CallingWindow(EVERY_DAY, time(18), None)
    assert evenings.open_until("Asia/Jerusalem", at(JERUSALEM, 2026, 3, 9, 23, 0)) == at(
        JERUSALEM, 2026, 3, 10, 0, 0
    )


def test_fixed_offsets_and_zone_names() -> None:
    assert zone_name("+02:00") == "UTC+02:00"
    assert zone_name("UTC+2") == "UTC+02:00"
    assert zone_name("gmt-3") == "UTC-03:00"
    assert zone_name(" -05:30 ") == "UTC-05:30"
    assert zone_name("UTC+0545") == "UTC+05:45"
    assert zone_name("UTC\u22124") == "UTC-04:00"
    assert zone_name("-0") == "UTC+00:00"
    assert zone_name("america/new_york") == "America/New_York"
    assert zone_name("UTC") == "UTC"
    for bad in ("Mars/Olympus", "UTC+15", "+02:75", "EST5", "", "2"):
        assert zone_name(bad) is None, bad
    window = CallingWindow(EVERY_DAY, time(9), time(17))
    now = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)  # 08:30 at UTC+02:00, 09:30 in Jerusalem
    assert window.is_open("Asia/Jerusalem", now)
    assert not window.is_open("UTC+02:00", now)
    both = zone_set(["UTC+02:00", "Asia/Jerusalem"])
    assert window.next_opening(both, now) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert window.open_until(both, now + timedelta(hours=1)) == datetime(
        2026, 7, 1, 14, 0, tzinfo=UTC
    )


# --------------------------------------------------------------------------- against the wall clock

ORACLE_ZONES = [
    "America/New_York",
    "America/St_Johns",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Eucla",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "UTC+05:45",
]
QUARTER = timedelta(minutes=15)


def _open_by_wall_clock(window: CallingWindow, zone: str, moment: datetime) -> bool:
    """The rule as a person states it: an allowed local day, local time within the hours."""
    tz = timezone(timedelta(hours=5, minutes=45)) if zone == "UTC+05:45" else ZoneInfo(zone)
    local = moment.astimezone(tz)
    if local.weekday() not in window.days or local.date() in window.blackout_dates:
        return False
    wall = local.time()
    return window.start <= wall and (window.end is None or wall < window.end)


@settings(max_examples=60, deadline=None)
@given(
    days=st.frozensets(st.integers(0, 6), min_size=1),
    start=st.integers(16, 92),  # quarter hours; from 04:00, clear of DST switch times
    length=st.integers(1, 40),
    zones=st.lists(st.sampled_from(ORACLE_ZONES), min_size=1, max_size=3, unique=True),
    quarters=st.integers(0, 365 * 96),
)
def test_matches_the_wall_clock_rule(
    days: frozenset[int], start: int, length: int, zones: list[str], quarters: int
) -> None:
    """Every quarter hour for eight days: open in all zones by the wall clock iff is_open,
    and next_opening / open_until are the first quarter hours where that changes."""
    end = start + length
    window = CallingWindow(
        days, time(start // 4, start % 4 * 15), None if end >= 96 else time(end // 4, end % 4 * 15)
    )
    names = zone_set(zones)
    now = datetime(2026, 1, 1, tzinfo=UTC) + quarters * QUARTER
    grid = [now + i * QUARTER for i in range(8 * 96)]
    truth = [all(_open_by_wall_clock(window, z, t) for z in zones) for t in grid]
    assert [window.is_open(names, t) for t in grid] == truth
    first_open = next((t for t, ok in zip(grid, truth, strict=True) if ok), None)
    opening = window.next_opening(names, now)
    if first_open is not None:
        assert opening == first_open
    else:
        assert opening is None or opening > grid[-1]
    if truth[0]:
        first_closed = next((t for t, ok in zip(grid, truth, strict=True) if not ok), None)
        until = window.open_until(names, now)
        assert until == first_closed or (first_closed is None and until is not None)
