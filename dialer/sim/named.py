"""Named worlds: each one a hole found in the first dispatcher, kept as a world that would
fall into it. ``python -m dialer.sim --named NAME`` replays one.

The first dispatcher (before the rebuild) broke each of these: it left crash-interrupted
leads ``unknown`` and waited on them; let a POST held by a 429 pause or a 5xx backoff leave
after its window closed; followed a hold without expiry for ever; let its clock-skew estimate
only grow; turned an attempt that only ever met 429s into ``unknown``; ended a run
"finished" with a resend pending in a closed window; scheduled an after-hours campaign one
lead at a time; compared a hold's expiry on the local clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from dialer.sim.scenario import Event, Other, SimScenario

#: A quiet Monday in June, 09:58 in Jerusalem (06:58 UTC), two minutes before a window ends.
_START = datetime(2026, 6, 1, 6, 58, tzinfo=UTC)
_JERUSALEM_9_TO_10 = {"days": ["sun", "mon", "tue", "wed", "thu"], "start": "09:00", "end": "10:00"}


def _phones(count: int, *, start: int = 0) -> tuple[str, ...]:
    return tuple(f"+97253{5_000_000 + start + i:07d}" for i in range(count))


def _world(name: str, count: int, **fields: object) -> SimScenario:
    """A calm world of ``count`` leads in Jerusalem; ``fields`` add the trouble."""
    phones = _phones(count)
    base = SimScenario(
        seed=7,
        name=name,
        start=_START,
        phones=phones,
        zones=("Asia/Jerusalem",) * count,
        max_live_calls=3,
        requests_per_minute=60,
        api_rate_limit=60,
        capacity=10,
        max_attempts=1,
        weights={"completed": 1.0},
        talk_seconds=(30.0, 120.0),
        must_finish=True,
        all_called=True,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def crash_recovery_finishes() -> SimScenario:
    """Ten kills at random moments, answers arriving 300 ms after their effect, 2% of them
    lost: the campaign finishes by itself, nobody twice, nobody left unknown."""
    return _world(
        "crash-recovery-finishes",
        12,
        answer_delay_seconds=0.3,
        lost_answer_rate=0.02,
        crashes=(25, 60, 110, 160, 230, 300, 380, 460, 560, 680),
        start=_START.replace(hour=8),
    )


def window_closes_during_a_429_pause() -> SimScenario:
    """A storm of 429s holds every POST past the window's end: none may leave after it."""
    return _world(
        "window-closes-during-a-429-pause",
        6,
        window=_JERUSALEM_9_TO_10,
        events=(Event(5.0, "storm", 4),),
    )


def window_closes_during_a_5xx_backoff() -> SimScenario:
    """5xx until after the window ends: the same key waits for the next opening."""
    return _world(
        "window-closes-during-a-5xx-backoff",
        4,
        window=_JERUSALEM_9_TO_10,
        server_error_rate=1.0,
        events=(Event(900.0, "faults_off"),),
    )


def hold_without_expiry() -> SimScenario:
    """Every POST is handed back (a 202 with no id and no expiry) and the platform never
    places it: the run must still end, those leads ``unknown`` (never resent)."""
    return _world(
        "hold-without-expiry",
        3,
        handed_back_rate=1.0,
        handed_back_seconds=30 * 86_400.0,
        all_called=False,
    )


def clock_ahead() -> SimScenario:
    """Our clock five minutes ahead of the API's, with kills and lost answers: windows,
    syncs and look-ups are all kept on the API's clock."""
    return _world(
        "clock-ahead",
        8,
        skew_seconds=300.0,
        window={"days": list(_ALL_DAYS), "start": "09:00", "end": "10:05"},
        lost_answer_rate=0.2,
        crashes=(30, 90, 200),
    )


def clock_behind() -> SimScenario:
    """The same, our clock five minutes behind."""
    return replace(clock_ahead(), name="clock-behind", skew_seconds=-300.0)


def only_429s_then_called() -> SimScenario:
    """An attempt that only ever met 429s placed nothing: it is not ``unknown``, and the
    lead is called once the storm passes (with one attempt allowed)."""
    return _world("only-429s-then-called", 2, events=(Event(0.0, "storm", 70),))


def resend_waits_for_the_next_opening() -> SimScenario:
    """Answers lost right before the window ends: the run ends waiting (not "finished"
    with leads unknown) and the next morning's run resends under the same keys."""
    return _world(
        "resend-waits-for-the-next-opening",
        5,
        window=_JERUSALEM_9_TO_10,
        start=_START.replace(minute=59, second=30),
        lost_answer_rate=1.0,
        events=(Event(3600.0, "faults_off"),),
    )


def after_hours_start() -> SimScenario:
    """A campaign of 400 started at night: all of it waits for the morning (a statement per
    zone, not per lead) and is called then."""
    return _world(
        "after-hours-start",
        400,
        window=_JERUSALEM_9_TO_10 | {"end": "18:00"},
        start=_START.replace(hour=19),
        max_live_calls=10,
        requests_per_minute=600,
        api_rate_limit=600,
        talk_seconds=(10.0, 30.0),
    )


def two_terminals() -> SimScenario:
    """Two campaigns on one account, started a second apart from two terminals, each file
    claiming the account's whole limits (10 lines, 300 requests/min): they share them."""
    return _world(
        "two-terminals",
        40,
        max_live_calls=10,
        capacity=10,
        requests_per_minute=300,
        api_rate_limit=300,
        others=(_other("second", 40, own_process=True, start_after=1.0, max_live_calls=10),),
    )


def weights_split_the_lines() -> SimScenario:
    """Weights 3 and 1 on 8 lines: while both have leads due, 6 and 2."""
    return _world(
        "weights-split-the-lines",
        30,
        max_live_calls=8,
        capacity=8,
        talk_seconds=(240.0, 300.0),
        others=(_other("light", 30, weight=1.0 / 3.0, max_live_calls=8),),
    )


def pause_and_resume() -> SimScenario:
    """A person pauses the second campaign from another terminal, then resumes it."""
    return _world(
        "pause-and-resume",
        20,
        max_live_calls=2,
        others=(_other("second", 20, own_process=True, max_live_calls=2),),
        events=(Event(300.0, "pause", "second"), Event(1500.0, "resume", "second")),
    )


def stop_mid_run() -> SimScenario:
    """A person stops the second campaign mid-run: its leads not yet called are cancelled."""
    return _world(
        "stop-mid-run",
        20,
        max_live_calls=2,
        others=(_other("second", 20, own_process=True, max_live_calls=2),),
        events=(Event(300.0, "stop", "second"),),
        all_called=True,
    )


def crash_while_sharing() -> SimScenario:
    """Kills while two campaigns share the account, some numbers in both."""
    base = _world("crash-while-sharing", 15, max_live_calls=3, lost_answer_rate=0.1)
    shared = base.phones[:5]
    second = _other("second", 10, own_process=True, start_after=30.0, max_live_calls=2)
    second = replace(
        second, phones=second.phones + shared, zones=second.zones + ("Asia/Jerusalem",) * 5
    )
    return replace(base, others=(second,), crashes=(40, 120, 260, 420), all_called=False)


def _other(name: str, count: int, **fields: object) -> Other:
    """Another calm campaign in Jerusalem on the same account."""
    phones = _phones(count, start=100_000 * (1 + len(name)))
    return replace(Other(name, phones, ("Asia/Jerusalem",) * count), **fields)  # type: ignore[arg-type]


_ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

NAMED: dict[str, Callable[[], SimScenario]] = {
    world().name: world
    for world in (
        crash_recovery_finishes,
        window_closes_during_a_429_pause,
        window_closes_during_a_5xx_backoff,
        hold_without_expiry,
        clock_ahead,
        clock_behind,
        only_429s_then_called,
        resend_waits_for_the_next_opening,
        after_hours_start,
        two_terminals,
        weights_split_the_lines,
        pause_and_resume,
        stop_mid_run,
        crash_while_sharing,
    )
}
