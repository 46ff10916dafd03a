"""The rate budget: headers, whole-window bursts, the reset on the API's clock, 429 pauses,
spacing without headers, priorities, limit changes.

Every test runs on a :class:`ManualClock` with the virtual-time loop: waits take no wall time
and the instants asserted are exact.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from dialer.api import MockRequest, MockTransport, RawResponse, YapprClient, json_response
from dialer.api.ratelimit import Priority, RateBudget, parse_rate_headers, parse_retry_after
from dialer.api.servertime import ServerTime
from dialer.clock import ManualClock, run_virtual
from dialer.errors import TransportError
from dialer.models import RateWindow
from dialer.sandbox.ratelimit import RateLimiter

T0 = 1_800_000_000.0  # a whole minute: window resets fall on T0 + 60 n


def headers(limit: int = 60, remaining: int = 59, reset: float = T0 + 60) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(int(reset)),
    }


def virtual(main: Callable[[ManualClock], Awaitable[None]]) -> ManualClock:
    """Run ``main(clock)`` on virtual time starting at T0; returns the clock."""
    clock = ManualClock(datetime.fromtimestamp(T0, UTC))

    async def run() -> None:
        await main(clock)

    run_virtual(run(), clock)
    return clock


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
    assert RateBudget(60).interval == pytest.approx(60 / 57)
    assert RateBudget(10, headroom=1.0).interval == 6.0
    with pytest.raises(ValueError):
        RateBudget(0)


def test_the_header_limit_lowers_but_never_raises_the_pace() -> None:
    async def main(clock: ManualClock) -> None:
        budget = RateBudget(60, clock=clock)
        async with budget.slot() as slot:
            slot.observe(200, headers(limit=20, remaining=19))
        assert budget.limit == 20
        async with budget.slot() as slot:
            slot.observe(200, headers(limit=600, remaining=599))
        assert budget.limit == 60  # min(configured, header)

    virtual(main)


def test_a_known_window_is_used_at_once_then_everyone_waits_for_its_reset() -> None:
    times: list[float] = []

    async def main(clock: ManualClock) -> None:
        exact = ServerTime(low=0, high=0)  # our clock is the API's
        budget = RateBudget(60, clock=clock, reset_margin=0.5, server_time=exact)
        async with budget.slot() as slot:
            slot.observe(200, headers(remaining=5, reset=T0 + 40))

        async def one() -> None:
            async with budget.slot() as slot:
                times.append(clock.time())
                if clock.time() < T0 + 40:  # the same window, one slot fewer each time
                    slot.observe(200, headers(remaining=5 - len(times), reset=T0 + 40))
                else:
                    slot.observe(200, headers(remaining=59, reset=T0 + 100))

        await asyncio.gather(*(one() for _ in range(6)))

    virtual(main)
    assert times[:5] == [T0] * 5  # the whole remaining allowance, at once
    assert times[5] == T0 + 40.5  # the sixth waits for the reset (and its margin)


def test_in_flight_requests_count_against_remaining() -> None:
    async def main(clock: ManualClock) -> None:
        budget = RateBudget(60, clock=clock)
        async with budget.slot() as slot:
            slot.observe(200, headers(remaining=3, reset=T0 + 60))
        for _ in range(3):
            await budget.acquire()  # three go while nothing has answered
        assert clock.time() == T0
        await budget.acquire()  # 3 remaining - 3 in flight
        assert clock.time() >= T0 + 60

    virtual(main)


def test_the_reset_is_read_on_the_apis_clock() -> None:
    """Our clock runs 7 s behind the API's: its reset at T0+30 is our T0+23."""

    async def main(clock: ManualClock) -> None:
        time = ServerTime(low=7.0, high=7.5)
        budget = RateBudget(60, clock=clock, server_time=time, reset_margin=0)
        async with budget.slot() as slot:
            slot.observe(200, headers(remaining=0, reset=T0 + 30))
        await budget.acquire()
        assert clock.time() == T0 + 23

    virtual(main)


def test_answers_out_of_order_keep_the_smallest_remaining() -> None:
    async def main(clock: ManualClock) -> None:
        budget = RateBudget(60, clock=clock)
        async with budget.slot() as first, budget.slot() as second:
            second.observe(200, headers(remaining=0, reset=T0 + 30))
            first.observe(200, headers(remaining=1, reset=T0 + 30))
        await budget.acquire()
        assert clock.time() >= T0 + 30

    virtual(main)


def test_a_request_with_no_answer_is_assumed_counted_and_one_not_sent_is_not() -> None:
    async def main(clock: ManualClock) -> None:
        budget = RateBudget(60, clock=clock)
        async with budget.slot() as slot:
            slot.observe(200, headers(remaining=2, reset=T0 + 60))
        async with budget.slot() as slot:
            slot.cancel()  # never sent: the slot comes back
        with pytest.raises(ConnectionError):
            async with budget.slot():
                raise ConnectionError
        await budget.acquire()  # the one slot left
        assert clock.time() == T0
        await budget.acquire()
        assert clock.time() >= T0 + 60

    virtual(main)


def test_a_429_pauses_everyone_for_retry_after() -> None:
    async def main(clock: ManualClock) -> None:
        budget = RateBudget(60, clock=clock)
        async with budget.slot() as slot:
            slot.observe(429, {"Retry-After": "25"})
        assert budget.rate_limited == 1
        await budget.acquire()
        assert clock.time() == T0 + 25

    virtual(main)


def test_a_429_without_retry_after_waits_for_the_reset() -> None:
    async def main(clock: ManualClock) -> None:
        budget = RateBudget(60, clock=clock, reset_margin=0, server_time=ServerTime(low=0, high=0))
        async with budget.slot() as slot:
            slot.observe(429, {"X-RateLimit-Reset": str(int(T0 + 12))})
        await budget.acquire()
        assert clock.time() >= T0 + 12

    virtual(main)


def test_without_headers_requests_are_spaced_with_no_burst() -> None:
    times: list[float] = []

    async def main(clock: ManualClock) -> None:
        budget = RateBudget(30, clock=clock)  # 30/min -> one per 2.1 s

        async def one() -> None:
            async with budget.slot() as slot:
                times.append(clock.time())
                slot.observe(200, {})

        await asyncio.gather(*(one() for _ in range(40)))

    virtual(main)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 60 / (30 * 0.95) * 0.99  # no burst, not even at the start
    assert max(_per_fixed_minute(times)) <= 30


def test_a_call_never_waits_behind_a_poll() -> None:
    order: list[str] = []

    async def main(clock: ManualClock) -> None:
        budget = RateBudget(60, clock=clock)
        async with budget.slot() as slot:
            slot.observe(200, headers(remaining=0, reset=T0 + 10))

        async def take(name: str, priority: Priority) -> None:
            async with budget.slot(priority) as slot:
                order.append(name)
                slot.observe(200, headers(remaining=30, reset=T0 + 70))

        polls = [asyncio.create_task(take(f"poll{i}", Priority.POLL)) for i in range(3)]
        await asyncio.sleep(1)  # the polls were in line first
        await asyncio.gather(take("call", Priority.CALL), *polls)

    virtual(main)
    assert order[0] == "call"


def test_polls_leave_a_reserve_of_the_window_for_calls() -> None:
    async def main(clock: ManualClock) -> None:
        budget = RateBudget(60, clock=clock)
        async with budget.slot() as slot:
            slot.observe(200, headers(remaining=8, reset=T0 + 60))
        for _ in range(2):  # 8 left, 6 (a tenth of 60) kept for calls
            await budget.acquire(Priority.POLL)
        poll = asyncio.create_task(budget.acquire(Priority.POLL))
        await asyncio.sleep(1)
        assert not poll.done()
        for _ in range(6):
            await budget.acquire(Priority.CALL)
        assert clock.time() == T0 + 1
        await poll  # after the reset
        assert clock.time() >= T0 + 60

    virtual(main)


def test_counters_for_benchmarks() -> None:
    async def main(clock: ManualClock) -> None:
        budget = RateBudget(60, clock=clock)
        for status in (200, 429, 201):
            async with budget.slot() as slot:
                slot.observe(status, {})
        assert (budget.requests_sent, budget.rate_limited) == (3, 1)
        assert "sent=3" in repr(budget)

    virtual(main)


def _per_fixed_minute(times: list[float]) -> list[int]:
    """How many of ``times`` fall in each fixed clock minute, as the server counts them."""
    counts: dict[int, int] = {}
    for moment in times:
        counts[int(moment // 60)] = counts.get(int(moment // 60), 0) + 1
    return list(counts.values())


def _against_a_fixed_window_server(
    limit: int, requests: int, *, seed: int, latency: float, lose: float = 0.0
) -> tuple[dict[int, int], int, int]:
    """``requests`` reads at once through one budget (configured at 60/min) against the
    sandbox's own fixed-window counter behind a MockTransport, each answered after up to
    ``latency`` seconds, a ``lose`` share of the answers lost after the server counted the
    request: (answers by status, answers lost, the budget's limit at the end)."""
    stats: dict[int, int] = {}
    lost: list[int] = []
    limits: list[int] = []

    async def main(clock: ManualClock) -> None:
        server = RateLimiter(clock, limit)
        chance = random.Random(seed)

        async def handler(_: MockRequest) -> RawResponse:
            slot = server.take("key")  # counted on arrival, answered after the latency
            await asyncio.sleep(chance.uniform(0, latency))
            if chance.random() < lose:
                lost.append(1)
                raise TransportError("the answer was lost")
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
            calls = (client.list_phone_numbers() for _ in range(requests))
            await asyncio.gather(*calls, return_exceptions=True)
        stats.update(client.stats)
        limits.append(client.budget.limit)

    virtual(main)
    return stats, len(lost), limits[0]


def test_a_fixed_window_server_never_refuses_the_budget() -> None:
    """The server's limit (30) is below the configured one (60), answers arrive late and out
    of order, windows roll over mid-run, and still no request is refused."""
    stats, _, limit = _against_a_fixed_window_server(30, 75, seed=7, latency=2.0)
    assert stats == {200: 75}
    assert limit == 30


def test_a_lost_answer_is_never_taken_back_by_a_later_answer() -> None:
    """Three requests of a window with 4 left reach the API as 3, 2, 1 left. The answer
    saying 1 is lost, and the one saying 2 arrives after that: 1 is left, not 2."""

    async def main(clock: ManualClock) -> None:
        exact = ServerTime(low=0, high=0)
        budget = RateBudget(60, clock=clock, server_time=exact, reset_margin=0)
        async with budget.slot() as slot:
            slot.observe(200, headers(remaining=4, reset=T0 + 30))
        first, second, third = budget.slot(), budget.slot(), budget.slot()
        a, b, _ = [await s.__aenter__() for s in (first, second, third)]
        a.observe(200, headers(remaining=3, reset=T0 + 30))
        lost = ConnectionError("c's answer is lost")
        assert not await third.__aexit__(ConnectionError, lost, None)
        b.observe(200, headers(remaining=2, reset=T0 + 30))
        for claim in (first, second):
            await claim.__aexit__(None, None, None)
        await budget.acquire()  # the one really left
        assert clock.time() == T0
        await budget.acquire()
        assert clock.time() == T0 + 30

    virtual(main)


@pytest.mark.parametrize("seed", range(5))
def test_a_fixed_window_server_that_loses_answers_never_refuses_the_budget(seed: int) -> None:
    """As above (limit 10, up to 3 s of latency), and three answers in ten are lost after
    the server counted their request."""
    stats, lost, _ = _against_a_fixed_window_server(10, 200, seed=seed, latency=3.0, lose=0.3)
    assert lost > 30
    assert 429 not in stats, stats


def test_a_new_budget_starts_from_the_window_an_earlier_process_left() -> None:
    """A process died with its window spent: the next one waits for that window's reset, and
    notes what it leaves itself when little is left."""
    noted: list[RateWindow] = []

    async def main(clock: ManualClock) -> None:
        exact = ServerTime(low=0, high=0, samples=1)
        spent = RateWindow(reset=T0 + 30, remaining=0, limit=20)
        budget = RateBudget(
            60, clock=clock, server_time=exact, reset_margin=0, recalled=spent,
            remember=noted.append,
        )  # fmt: skip
        assert budget.limit == 20
        async with budget.slot() as slot:
            assert clock.time() == T0 + 30
            slot.observe(200, headers(limit=20, remaining=5, reset=T0 + 90))
        assert noted == []  # 5 of 20 left is not little
        async with budget.slot() as slot:
            slot.observe(200, headers(limit=20, remaining=1, reset=T0 + 90))
        assert noted == [RateWindow(reset=T0 + 90, remaining=1, limit=20)]
        stale = RateWindow(reset=T0 - 7200, remaining=0, limit=20)
        fresh = RateBudget(60, clock=clock, recalled=stale)
        assert fresh.limit == 60  # a window long over says nothing
        await fresh.acquire()
        assert clock.time() == T0 + 30

    virtual(main)


def test_a_note_that_cannot_be_written_never_costs_the_answer() -> None:
    async def main(clock: ManualClock) -> None:
        def locked(_: RateWindow) -> None:
            raise OSError("database is locked")

        budget = RateBudget(60, clock=clock, remember=locked)
        async with budget.slot() as slot:
            info = slot.observe(200, headers(remaining=1, reset=T0 + 30))
        assert info.remaining == 1
        await budget.acquire()  # the one left, and the budget still works
        assert clock.time() == T0

    virtual(main)
