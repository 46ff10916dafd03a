"""Clocks: the manual clock and its virtual-time loop (no wall time), and shifted clocks."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiolimiter import AsyncLimiter

from dialer.clock import ManualClock, ShiftedClock, SimulationStuck, run_virtual

START = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def test_hours_of_sleeping_and_pacing_take_no_wall_time() -> None:
    clock = ManualClock(START)

    async def main() -> None:
        await asyncio.sleep(3600)
        limiter = AsyncLimiter(1, 1)  # aiolimiter reads the loop's (virtual) time
        for _ in range(61):
            await limiter.acquire()

    began = time.perf_counter()
    run_virtual(main(), clock)
    assert time.perf_counter() - began < 1.0
    assert clock.now() == START + timedelta(hours=1, minutes=1)


def test_timeouts_fire_on_virtual_time() -> None:
    clock = ManualClock(START)

    async def main() -> bool:
        try:
            async with asyncio.timeout(30):
                await asyncio.Event().wait()
        except TimeoutError:
            return True
        return False

    assert run_virtual(main(), clock)
    assert clock.now() == START + timedelta(seconds=30)


def test_waiting_on_what_can_never_happen_is_reported_not_hung() -> None:
    async def main() -> None:
        await asyncio.Event().wait()

    with pytest.raises(SimulationStuck):
        run_virtual(main(), ManualClock(START))


def test_the_step_hook_sees_every_step_in_order() -> None:
    clock = ManualClock(START)
    seen: list[float] = []

    async def main() -> None:
        for _ in range(3):
            await asyncio.sleep(10)

    run_virtual(main(), clock, on_step=lambda: seen.append(clock.elapsed))
    assert seen == sorted(seen) and seen[-1] == 30.0


def test_a_shifted_clock_is_off_by_its_offset_and_sleeps_like_its_base() -> None:
    base = ManualClock(START)
    ahead = ShiftedClock(base, timedelta(seconds=90))

    async def main() -> None:
        await ahead.sleep(60)

    run_virtual(main(), base)
    assert ahead.now() - base.now() == timedelta(seconds=90)
    assert base.now() == START + timedelta(seconds=60)
