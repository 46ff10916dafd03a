"""The rate budget's arithmetic: headers, window gate, 429 pause, pacing, limit changes.

Gates are tested on a fake clock (waits are recorded, never slept). Pacing runs on aiolimiter,
which reads the event loop's time, so it is tested on a ScaledClock running 2000× faster: a
second of clock time is half a millisecond of wall time.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, datetime

import pytest

from dialer.api import MockRequest, MockTransport, RawResponse, YapprClient, json_response
from dialer.api.ratelimit import RateBudget, parse_rate_headers, parse_retry_after
from dialer.clock import ScaledClock
from dialer.sandbox.ratelimit import RateLimiter

T0 = 1_800_000_000.0  # a whole minute: window resets fall on T0 + 60 n


class FakeClock:
    """Moves only when someone sleeps on it."""

    scale = 1.0

    def __init__(self) -> None:
        self.t = T0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)

    def to_real(self, seconds: float) -> float:
        return seconds * 1e-6


def headers(limit: int = 60, remaining: int = 59, reset: float = T0 + 60) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(int(reset)),
    }


def test_headers_are_read_and_missing_ones_stay_none() -> None:
    info = parse_rate_headers({**headers(60, 12), "Retry-After": "9"}, now=T0)
    assert (info.limit, info.remaining, info.reset, info.retry_after) == (60, 12, T0 + 60, 9.0)
    assert parse_rate_headers({}, now=T0).limit is None
    assert parse_rate_headers({"X-RateLimit-Limit": "lots"}, now=T0).limit is None


def test_a_small_reset_is_read_as_seconds_from_now() -> None:
    assert parse_rate_headers({"X-RateLimit-Reset": "30"}, now=T0).reset == T0 + 30


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("12", now=T0) == 12.0
    date = "Fri, 15 Jan 2027 08:00:30 GMT"
    start = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after(date, now=start) == 30.0
    assert parse_retry_after("soon", now=T0) is None
    assert parse_retry_after("-5", now=T0) == 0.0


def test_interval_paces_slightly_under_the_limit() -> None:
    budget = RateBudget(60, clock=FakeClock())
    assert budget.interval == pytest.approx(60 / 57)
    assert RateBudget(10, clock=FakeClock(), headroom=1.0).interval == 6.0
    with pytest.raises(ValueError):
        RateBudget(0)


async def test_the_header_limit_lowers_but_never_raises_the_pace() -> None:
    budget = RateBudget(60, clock=FakeClock())
    async with budget.slot() as slot:
        slot.observe(200, headers(limit=20, remaining=19))
    assert budget.limit == 20
    async with budget.slot() as slot:
        slot.observe(200, headers(limit=600, remaining=599))
    assert budget.limit == 60  # min(configured, header)


async def test_an_exhausted_window_holds_everyone_until_reset() -> None:
    clock = FakeClock()
    budget = RateBudget(60, clock=clock, reset_margin=0.5)
    async with budget.slot() as slot:
        slot.observe(200, headers(remaining=1, reset=T0 + 40))
    async with budget.slot():  # the last slot: in flight, not answered yet
        assert clock.sleeps == []
        await budget.acquire()  # remaining 1 - 1 in flight = 0: wait for the reset
        assert clock.time() == pytest.approx(T0 + 40.5)
    assert budget.holds == 1


async def test_in_flight_requests_count_against_remaining() -> None:
    clock = FakeClock()
    budget = RateBudget(60, clock=clock)
    async with budget.slot() as slot:
        slot.observe(200, headers(remaining=3, reset=T0 + 60))
    for _ in range(3):
        await budget.acquire()  # three go while nothing has answered
    assert clock.sleeps == []
    await budget.acquire()  # 3 remaining - 3 in flight
    assert clock.time() >= T0 + 60


async def test_answers_out_of_order_keep_the_smallest_remaining() -> None:
    clock = FakeClock()
    budget = RateBudget(60, clock=clock)
    async with budget.slot() as first, budget.slot() as second:
        second.observe(200, headers(remaining=0, reset=T0 + 30))
        first.observe(200, headers(remaining=1, reset=T0 + 30))
    await budget.acquire()
    assert clock.time() >= T0 + 30


async def test_a_newer_window_replaces_the_old_one() -> None:
    clock = FakeClock()
    budget = RateBudget(60, clock=clock)
    async with budget.slot() as slot:
        slot.observe(200, headers(remaining=0, reset=T0 + 30))
    clock.t = T0 + 31  # the window rolled over
    async with budget.slot() as slot:
        slot.observe(200, headers(remaining=58, reset=T0 + 90))
    await budget.acquire()
    assert clock.sleeps == []


async def test_a_request_with_no_answer_is_assumed_counted() -> None:
    clock = FakeClock()
    budget = RateBudget(60, clock=clock)
    async with budget.slot() as slot:
        slot.observe(200, headers(remaining=1, reset=T0 + 60))
    with pytest.raises(ConnectionError):
        async with budget.slot():
            raise ConnectionError
    await budget.acquire()
    assert clock.time() >= T0 + 60


async def test_a_429_pauses_everyone_for_retry_after() -> None:
    clock = FakeClock()
    budget = RateBudget(60, clock=clock)
    async with budget.slot() as slot:
        slot.observe(429, {**headers(remaining=0, reset=T0 + 60), "Retry-After": "25"})
    assert budget.rate_limited == 1
    await budget.acquire()
    assert clock.time() >= T0 + 25


async def test_a_429_without_retry_after_waits_for_the_reset() -> None:
    clock = FakeClock()
    budget = RateBudget(60, clock=clock, reset_margin=0)
    async with budget.slot() as slot:
        slot.observe(429, {"X-RateLimit-Reset": str(int(T0 + 12))})
    await budget.acquire()
    assert clock.time() >= T0 + 12


async def test_counters_for_benchmarks() -> None:
    budget = RateBudget(60, clock=FakeClock())
    for status in (200, 429, 201):
        async with budget.slot() as slot:
            slot.observe(status, {})
    assert (budget.requests_sent, budget.rate_limited) == (3, 1)
    assert "sent=3" in repr(budget)


def windows_counts(times: list[float], start: float) -> list[int]:
    """How many of ``times`` fall in each fixed minute, as the server counts them."""
    counts: dict[int, int] = {}
    for moment in times:
        index = int((moment - start) // 60)
        counts[index] = counts.get(index, 0) + 1
    return list(counts.values())


async def test_pacing_has_no_burst_and_stays_under_the_limit() -> None:
    clock = ScaledClock(2000.0)
    budget = RateBudget(30, clock=clock)  # 30/min → one per 2.1 clock seconds
    times: list[float] = []

    async def one() -> None:
        await budget.acquire()
        times.append(clock.time())

    await asyncio.gather(*(one() for _ in range(40)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= budget.interval * 0.98  # no burst, not even at the start
    assert max(windows_counts(times, times[0])) <= 30


async def test_a_lowered_limit_slows_the_pace_at_once() -> None:
    clock = ScaledClock(2000.0)
    budget = RateBudget(60, clock=clock)
    async with budget.slot() as slot:
        slot.observe(200, headers(limit=12, remaining=11, reset=clock.time() + 60))
    times: list[float] = []
    for _ in range(4):
        await budget.acquire()
        times.append(clock.time())
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 60 / 12 * 0.98


async def test_a_fixed_window_server_never_refuses_the_budget() -> None:
    """The sandbox's own fixed-window counter behind a MockTransport, with answer latency:
    the server's limit (30) is below the configured one (60), answers arrive late and out of
    order, windows roll over mid-run, and still no request is refused."""
    clock = ScaledClock(1000.0)
    server = RateLimiter(clock, 30)
    jitter = random.Random(7)

    async def handler(_: MockRequest) -> RawResponse:
        slot = server.take("key")  # counted on arrival, answered after the latency
        await asyncio.sleep(jitter.uniform(0, 0.002))  # up to 2 clock seconds
        return json_response(200 if slot.allowed else 429, {"data": []}, headers=slot.headers())

    client = YapprClient(
        base_url="https://api.test",
        api_key="k",
        clock=clock,
        budget=RateBudget(60, clock=clock),
        transport=MockTransport(handler),
        max_retries=0,
    )
    async with client:
        await asyncio.gather(*(client.list_phone_numbers() for _ in range(75)))
    assert client.stats == {200: 75}
    assert client.budget.limit == 30 and client.budget.rate_limited == 0
