"""Workflow agents: POST /calls answers 202 with a request id, followed via /call-requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from typing import Any

import pytest

from dialer.sandbox import FROM_NUMBERS, WORKFLOW_AGENT_ID, CallWindow, Sandbox, Scenario

TO = "+972501234567"
CALL = {"agent_id": WORKFLOW_AGENT_ID, "to": TO, "from": FROM_NUMBERS[0]}


async def submit(session: Any) -> dict[str, Any]:
    async with session.post("/calls", json=CALL) as resp:
        assert resp.status == 202
        answer: dict[str, Any] = await resp.json()
        return answer


async def follow(session: Any, request_id: str) -> tuple[list[str], Any]:
    """Poll the request until it is final or dispatched; the statuses seen and the last body."""
    seen: list[str] = []
    last: dict[str, Any] = {}
    final = {"dispatched", "failed", "expired", "cancelled"}

    async def poll() -> None:
        nonlocal last
        async with session.get(f"/call-requests/{request_id}") as resp:
            last = await resp.json()
        if not seen or seen[-1] != last["status"]:
            seen.append(last["status"])

    async def done() -> bool:
        await poll()
        return seen[-1] in final

    for _ in range(500):
        if await done():
            return seen, last
        await asyncio.sleep(0.002)
    raise AssertionError(f"request stuck: {seen}")


async def test_a_request_is_dispatched_to_a_call(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(time_scale=200.0)
    session = http(sb)
    answer = await submit(session)
    seen, request = await follow(session, answer["request_id"])
    assert seen[0] == "queued" and seen[-1] == "dispatched"
    assert set(seen) <= {"queued", "preparing", "ready", "dispatching", "dispatched"}
    assert request["call_id"] in sb.calls and request["error_code"] is None
    assert request["run_id"] == answer["run_id"]
    assert sb.calls[request["call_id"]]["metadata"]["workflow_request_id"] == answer["id"]
    assert sb.carrier_legs == [TO]


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [
        (Scenario(request_fail_rate=1.0), "failed", "request_failed"),
        (Scenario(request_expire_rate=1.0), "expired", "request_expired"),
    ],
)
async def test_requests_that_die_never_dial(
    make_sandbox: Any, http: Any, scenario: Scenario, status: str, code: str
) -> None:
    sb = await make_sandbox(scenario=scenario)
    session = http(sb)
    seen, request = await follow(session, (await submit(session))["id"])
    assert (seen[-1], request["error_code"], request["call_id"]) == (status, code, None)
    assert sb.carrier_legs == [] and not sb.calls


async def test_a_dnc_hit_fails_the_request(sandbox: Sandbox, http: Any) -> None:
    sandbox.add_dnc(TO)
    session = http(sandbox)
    seen, request = await follow(session, (await submit(session))["id"])
    assert (seen[-1], request["error_code"]) == ("failed", "request_failed")
    assert sandbox.carrier_legs == []


async def test_cancel_before_placement(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(time_scale=1.0)  # steps take 2 real seconds: plenty of time
    session = http(sb)
    request_id = (await submit(session))["id"]
    for _ in range(2):  # cancelling twice is fine
        async with session.post(f"/call-requests/{request_id}/cancel") as resp:
            assert (resp.status, (await resp.json())["status"]) == (200, "cancelled")
    await sb.clock.sleep(0.01)
    sb.scheduler.run_due()
    assert sb.carrier_legs == []


async def test_cancel_after_dispatch_is_409(sandbox: Sandbox, http: Any) -> None:
    session = http(sandbox)
    request_id = (await submit(session))["id"]
    await follow(session, request_id)
    async with session.post(f"/call-requests/{request_id}/cancel") as resp:
        assert (resp.status, (await resp.json())["code"]) == (
            409,
            "WORKFLOW_DISPATCH_ALREADY_CLAIMED",
        )


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/call-requests/00000000-0000-4000-8000-000000000000", "WORKFLOW_REQUEST_NOT_FOUND"),
        ("/call-requests/abc", "RESOURCE_ID_INVALID"),
    ],
)
async def test_unknown_requests_are_404(sandbox: Sandbox, http: Any, path: str, code: str) -> None:
    async with http(sandbox).get(path) as resp:
        assert (resp.status, (await resp.json())["code"]) == (404, code)
    async with http(sandbox).post(path + "/cancel") as resp:
        assert (resp.status, (await resp.json())["code"]) == (404, code)


async def test_outside_the_window_a_request_is_scheduled(make_sandbox: Any, http: Any) -> None:
    window = CallWindow(hours={"mon": (time(9), time(17))}, timezone="UTC")
    sb = await make_sandbox(call_window=window, start=datetime(2026, 1, 5, 8, 59, tzinfo=UTC))
    session = http(sb)
    answer = await submit(session)
    assert answer["status"] == "scheduled" and answer["scheduled_for"] == "2026-01-05T09:00:00.000Z"
    seen, request = await follow(session, answer["id"])
    assert seen[0] == "scheduled" and seen[-1] == "dispatched"
    assert sb.calls[request["call_id"]]["created_at"] >= "2026-01-05T09:00:00.000Z"
