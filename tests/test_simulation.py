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

import pytest

from dialer.clock import ManualClock
from dialer.sandbox import AGENT_ID, Sandbox
from dialer.sandbox.http import ApiRequest
from dialer.sim import PromiseBroken, SimResult, generate, simulate
from dialer.sim.monitor import Monitor
from dialer.sim.named import NAMED
from dialer.sim.scenario import SimScenario
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


@pytest.mark.reliability
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
