"""Deterministic simulation: the real dispatcher against the real sandbox, on a manual clock,
in thousands of seeded worlds with faults and crashes; the promises are checked after every
step (see :mod:`dialer.sim`). A failing world prints the one line that replays it.

``make test`` runs :data:`SEEDS` worlds (``DIALER_SIM_SEEDS`` changes it); ``make
reliability`` runs :data:`RELIABILITY_SEEDS` more.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialer.clock import ManualClock, parse_instant
from dialer.sandbox import AGENT_ID, Sandbox
from dialer.sandbox.http import ApiRequest
from dialer.sim import PromiseBroken, SimResult, Simulation, generate, simulate
from dialer.sim.monitor import Monitor
from dialer.sim.named import NAMED
from dialer.sim.scenario import SimScenario
from dialer.store import Ledger
from dialer.window import CallingWindow

from .figures import record

SEEDS = int(os.environ.get("DIALER_SIM_SEEDS", "500"))
RELIABILITY_SEEDS = int(os.environ.get("DIALER_SIM_RELIABILITY_SEEDS", "20000"))


def _run(seed: int) -> tuple[int, str | None, dict[str, int]]:
    """One world in a worker process: (seed, what broke or None, its figures)."""
    scenario = generate(seed)
    try:
        result = simulate(scenario)
    except Exception as broken:
        return seed, f"{scenario.replay}  # {type(broken).__name__}: {broken}", {}
    return seed, None, _figures(result)


def _figures(result: SimResult) -> dict[str, int]:
    return {
        "simulated worlds": 1,
        "simulated crashes (process killed at a loop step)": result.crashes,
        "simulated POSTs": result.posts,
        "simulated calls dialled": result.legs,
        "simulated leads": sum(result.statuses.values()),
    }


def _run_many(seeds: range) -> list[str]:
    """Every world of ``seeds`` on every core; the replay lines of those that broke."""
    broken: list[str] = []
    totals: Counter[str] = Counter()
    with ProcessPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        for _, failure, figures in pool.map(_run, seeds, chunksize=16):
            if failure is not None:
                broken.append(failure)
            totals.update(figures)
    for name, amount in totals.items():
        record(name, amount)
    return broken


def test_seeded_worlds_keep_every_promise() -> None:
    broken = _run_many(range(SEEDS))
    assert not broken, "worlds that broke a promise (replay each):\n" + "\n".join(broken)


#: Seeds outside the ``make test`` range that once broke a promise or never ended, kept as
#: regression worlds. 11212 and 13728: a run that ended waiting on resends only (their due
#: lives with the open attempts, not in the leads' times) said no next time, so nobody came
#: back for them. 3639: killed while paused with a call live, nobody followed the call (now
#: `dialer status` says to run `dialer sync`, and the world's person does). 5565: killed with
#: the rate window spent, the next run's first request met a 429 (the ledger now keeps what
#: is left of the window). 15650: an answer lost after a later one was seen was taken back by
#: an earlier one arriving late, and the budget overspent its window. 14271: a run killed past
#: the world's horizon with a call live was never resumed (the world now resumes it once).
#: 17594 and 18977: killed while a stop was under way; now `dialer status` says to sync and
#: stop again, and the world's person does.
FOUND_BUGS = (3639, 5565, 11212, 13728, 14271, 15650, 17594, 18977)


@pytest.mark.parametrize("seed", FOUND_BUGS)
def test_worlds_that_found_bugs(seed: int) -> None:
    result = simulate(generate(seed))
    assert result.lives < 10  # every ending said when to come back, and that was enough


@pytest.mark.reliability
@pytest.mark.timeout(3 * 3600)  # 20,000 worlds: ~20 minutes on two idle cores
def test_many_more_seeded_worlds_keep_every_promise() -> None:
    broken = _run_many(range(SEEDS, SEEDS + RELIABILITY_SEEDS))
    assert not broken, "worlds that broke a promise (replay each):\n" + "\n".join(broken)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_world(name: str) -> None:
    result = simulate(NAMED[name]())
    assert result.statuses  # every lead accounted for (the monitor checked each one)


def test_crash_recovery_finishes_the_job() -> None:
    """The issue's crash run: ten kills, late and lost answers: finished, nobody unknown,
    nobody twice, every number called once."""
    result = simulate(NAMED["crash-recovery-finishes"]())
    assert result.crashes == 10
    assert result.endings[-1] == "finished"
    assert result.statuses == Counter({"completed": 12})
    assert result.legs == 12


def test_a_call_never_held_by_the_platform_ends_unknown_not_forever() -> None:
    result = simulate(NAMED["hold-without-expiry"]())
    assert result.endings == ["finished"]
    assert result.statuses == Counter({"unknown": 3})
    assert result.virtual_seconds < 3600  # given up after the hold's allowance, not polled


def test_a_resend_in_a_closed_window_ends_the_run_waiting_not_finished() -> None:
    result = simulate(NAMED["resend-waits-for-the-next-opening"]())
    assert result.endings == ["waiting", "finished"]
    assert result.statuses == Counter({"completed": 5})


def test_the_same_seed_is_the_same_world() -> None:
    first, second = simulate(generate(11)), simulate(generate(11))
    assert (first.statuses, first.posts, first.steps, first.endings) == (
        second.statuses,
        second.posts,
        second.steps,
        second.endings,
    )


# -- the monitor itself: it does catch a broken promise ---------------------------------------

START = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 06:00 in Jerusalem


def _monitor(scenario: SimScenario) -> Monitor:
    sandbox = Sandbox(clock=ManualClock(START))
    window = CallingWindow.from_config(_window())
    return Monitor(scenario, sandbox, window=window, agent_id=AGENT_ID)


def _window() -> object:
    from dialer.config import Window

    return Window(days=("mon",), start="09:00", end="10:00")


def _post(to: str, key: str) -> ApiRequest:
    body = json.dumps({"to": to, "from": "+972552234567", "agent_id": AGENT_ID}).encode()
    return ApiRequest.build("POST", "/calls", headers={"Idempotency-Key": key}, body=body)


def test_the_monitor_catches_a_post_outside_the_window() -> None:
    scenario = SimScenario(seed=0, phones=("+972531234567",), zones=("Asia/Jerusalem",))
    monitor = _monitor(scenario)
    monitor._check_post(_post("+972531234567", "k1"))
    with pytest.raises(PromiseBroken, match="window closed in Asia/Jerusalem"):
        monitor.step()


def test_the_monitor_catches_a_second_key_for_one_attempt_allowed() -> None:
    scenario = SimScenario(
        seed=0, phones=("+972531234567",), zones=("Asia/Jerusalem",), max_attempts=1
    )
    monitor = _monitor(scenario)
    monitor._count_attempt(_post("+972531234567", "k1"))
    monitor._count_attempt(_post("+972531234567", "k2"))
    with pytest.raises(PromiseBroken, match="got 2 attempts"):
        monitor.step()


# -- several campaigns on one account ----------------------------------------------------------


def _world(name: str, folder: Path) -> Simulation:
    simulation = Simulation(NAMED[name](), folder)
    simulation.run()
    return simulation


def test_two_terminals_share_the_account_and_both_finish(tmp_path: Path) -> None:
    """The issue's two-terminal run: each campaign file claims the account's whole limits;
    together they never queue a call at the platform, never cause a 429, call nobody twice
    (the monitor checks each of these on every step), and both finish."""
    simulation = _world("two-terminals", tmp_path)
    assert simulation.result.states == {"sim": "finished", "second": "finished"}
    assert simulation.result.statuses == Counter({"completed": 80})
    assert (simulation.monitor.queued, simulation.monitor.rate_limited) == (0, 0)
    assert max(Counter(simulation.sandbox.carrier_legs).values()) == 1


def test_weights_split_the_lines_while_both_campaigns_want_them(tmp_path: Path) -> None:
    simulation = _world("weights-split-the-lines", tmp_path)
    start = NAMED["weights-split-the-lines"]().start.timestamp()
    assert _live_per_campaign(simulation, at=start + 120) == {"sim": 6, "light": 2}  # 3 : 1
    assert _live_per_campaign(simulation, at=simulation.clock.time()) == {}  # all ended


def test_a_paused_campaign_places_nothing_until_resumed(tmp_path: Path) -> None:
    simulation = _world("pause-and-resume", tmp_path)
    start = NAMED["pause-and-resume"]().start.timestamp()
    quiet = [t - start for t, c in simulation.monitor.posted if c == "second"]
    assert not [t for t in quiet if 310 < t < 1500]  # within seconds of the pause, until resume
    assert simulation.result.states == {"sim": "finished", "second": "finished"}
    assert simulation.result.statuses == Counter({"completed": 40})


def test_a_stopped_campaign_cancels_what_it_had_not_called(tmp_path: Path) -> None:
    simulation = _world("stop-mid-run", tmp_path)
    start = NAMED["stop-mid-run"]().start.timestamp()
    after = [t - start for t, c in simulation.monitor.posted if c == "second" and t - start > 310]
    assert after == []
    with Ledger(tmp_path / "ledger.db") as ledger:
        second = Counter(lead["status"] for lead in ledger.leads_of("second"))
        reasons = {
            lead["reason"] for lead in ledger.leads_of("second") if lead["status"] == "cancelled"
        }
    assert second["cancelled"] > 0 and second["completed"] > 0
    assert sum(second.values()) == 20
    assert all(reason.startswith("not called: the campaign was stopped") for reason in reasons)


def test_kills_while_two_campaigns_share_numbers_call_each_number_once(tmp_path: Path) -> None:
    simulation = _world("crash-while-sharing", tmp_path)
    assert simulation.result.crashes == 4
    assert simulation.result.statuses["duplicate"] == 5  # the shared numbers, in the second
    assert max(Counter(simulation.sandbox.carrier_legs).values()) == 1


def _live_per_campaign(simulation: Simulation, *, at: float) -> dict[str, int]:
    """Calls ringing or talking at clock time ``at``, per campaign (the sandbox's own rows)."""
    live: Counter[str] = Counter()
    for call in simulation.sandbox.calls.values():
        created = parse_instant(call["created_at"]).timestamp()
        ended = parse_instant(call["ended_at"]).timestamp() if call.get("ended_at") else None
        if created <= at and (ended is None or ended > at):
            live[str(call["metadata"].get("dialer_campaign"))] += 1
    return dict(live)
