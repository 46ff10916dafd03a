"""The sandbox without a socket: the real client talks to the real pipeline in one process,
on a virtual clock, and everything a network client sees is the same (answers, rate-limit
headers, the sandbox's Date, lost answers)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from dialer.api.client import YapprClient
from dialer.api.models import CallRequest, Dialed
from dialer.api.ratelimit import RateBudget
from dialer.clock import ManualClock, run_virtual
from dialer.errors import TransportError
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Faults, Sandbox, SandboxConfig

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TO = "+972531234567"


def _client(sandbox: Sandbox, clock: ManualClock, *, retries: int = 8) -> YapprClient:
    return YapprClient(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        clock=clock,
        budget=RateBudget(600, clock=clock),
        transport=sandbox.transport(),
        max_retries=retries,
    )


def _request() -> CallRequest:
    return CallRequest(agent_id=AGENT_ID, to=TO, from_=FROM_NUMBERS[0])


def test_a_call_placed_in_process_runs_its_course_on_virtual_time() -> None:
    clock = ManualClock(START)
    sandbox = Sandbox(SandboxConfig(seed=3), clock=clock)

    async def main() -> tuple[Dialed, str]:
        await sandbox.start(listen=False)
        async with _client(sandbox, clock) as client:
            answer = await client.place_call(_request(), idempotency_key="k-1")
            assert isinstance(answer, Dialed)
            await clock.sleep(3600)  # an hour of the sandbox's clock, no wall time
            call = await client.get_call(answer.id)
        await sandbox.stop()
        return answer, call.status

    answer, status = run_virtual(main(), clock)
    assert answer.to == TO
    assert status not in {"ringing", "in_progress"}  # the call has ended
    assert sandbox.carrier_legs == [TO]
    assert clock.now() >= START.replace(hour=10)


def test_answers_carry_rate_headers_and_the_sandbox_clock_date() -> None:
    clock = ManualClock(START)
    sandbox = Sandbox(SandboxConfig(rate_limit=7), clock=clock)
    seen: dict[str, str] = {}

    async def main() -> None:
        await sandbox.start(listen=False)
        transport = sandbox.transport()
        raw = await transport.request(
            "GET",
            f"{sandbox.base_url}/calls",
            headers={"Authorization": f"Bearer {sandbox.api_key}"},
            json_body=None,
            params={"limit": "5"},
        )
        seen.update(raw.headers)
        assert raw.status == 200
        await sandbox.stop()

    run_virtual(main(), clock)
    assert seen["X-RateLimit-Limit"] == "7"
    assert seen["X-RateLimit-Remaining"] == "6"
    assert parsedate_to_datetime(seen["Date"]) == START


def test_a_dropped_answer_is_a_transport_error_after_the_effect() -> None:
    clock = ManualClock(START)
    faults = Faults(drop_connection_rate=1.0, paths=("POST /calls",))
    sandbox = Sandbox(SandboxConfig(faults=faults), clock=clock)

    async def main() -> None:
        await sandbox.start(listen=False)
        async with _client(sandbox, clock, retries=0) as client:
            with pytest.raises(TransportError):
                await client.place_call(_request(), idempotency_key="k-2")
        await sandbox.stop()

    run_virtual(main(), clock)
    assert sandbox.carrier_legs == [TO]  # the call was placed; only its answer was lost
    assert sandbox.ctx.dropped_connections == 1


def test_a_severed_client_sends_nothing_more() -> None:
    clock = ManualClock(START)
    sandbox = Sandbox(clock=clock)
    transport = sandbox.transport()

    async def main() -> None:
        await sandbox.start(listen=False)
        transport.sever()
        with pytest.raises(TransportError, match="no answer"):
            await transport.request(
                "GET", f"{sandbox.base_url}/calls", headers={}, json_body=None, params=None
            )
        await sandbox.stop()

    run_virtual(main(), clock)
    assert sandbox.request_count == 0
