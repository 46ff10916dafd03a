"""Idempotency-Key replay and conflicts, and the faults that make a retry necessary.

The promise behind these tests: whatever the sandbox does to an answer, a retry with the same
key and body never places a second call.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Faults, Sandbox

TO = "+972501234567"
CALL = {"agent_id": AGENT_ID, "to": TO, "from": FROM_NUMBERS[0]}


async def post(session: Any, payload: Any, key: str | None = "attempt-1") -> tuple[int, Any, Any]:
    headers = {"Idempotency-Key": key} if key is not None else {}
    async with session.post("/calls", json=payload, headers=headers) as resp:
        return resp.status, await resp.json(), resp.headers


async def test_same_key_and_body_replays_the_original_answer(sandbox: Sandbox, http: Any) -> None:
    session = http(sandbox)
    first = await post(session, CALL)
    again = await post(session, {"from": FROM_NUMBERS[0], "to": TO, "agent_id": AGENT_ID})
    assert first[0] == again[0] == 201 and first[1] == again[1]
    assert "Idempotency-Replayed" not in first[2]
    assert again[2]["Idempotency-Replayed"] == "true"
    assert sandbox.carrier_legs == [TO]


async def test_queued_and_dnc_answers_replay_too(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(capacity=1)
    session = http(sb)
    await post(session, {**CALL, "to": "+972501234560"}, key="a")
    queued = await post(session, CALL, key="b")
    assert queued[0] == 202 and (await post(session, CALL, key="b"))[:2] == queued[:2]
    sb.add_dnc("+972501234561")
    blocked = await post(session, {**CALL, "to": "+972501234561"}, key="c")
    assert blocked[0] == 200
    assert (await post(session, {**CALL, "to": "+972501234561"}, key="c"))[:2] == blocked[:2]
    assert len([c for c in sb.calls.values() if c["status"] == "dnc_blocked"]) == 1


async def test_same_key_with_another_body_is_a_conflict(sandbox: Sandbox, http: Any) -> None:
    session = http(sandbox)
    await post(session, CALL)
    status, answer, _ = await post(session, {**CALL, "to": "+972501234568"})
    assert (status, answer["code"]) == (409, "WORKFLOW_IDEMPOTENCY_CONFLICT")
    assert sandbox.carrier_legs == [TO]


@pytest.mark.parametrize("key", ["has space", "x" * 201, "ключ", "tab\tkey"])
async def test_malformed_keys_are_refused(sandbox: Sandbox, http: Any, key: str) -> None:
    status, answer, _ = await post(http(sandbox), CALL, key=key)
    assert (status, answer["code"]) == (400, "BAD_REQUEST")
    assert "Idempotency-Key" in answer["error"] and sandbox.carrier_legs == []


async def test_the_longest_key_is_fine(sandbox: Sandbox, http: Any) -> None:
    assert (await post(http(sandbox), CALL, key="!" + "~" * 199))[0] == 201


async def test_a_concurrent_duplicate_is_told_to_wait(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(faults=Faults(latency_seconds=200, paths=("POST /calls",)))
    session = http(sb)
    first = asyncio.ensure_future(post(session, CALL))
    await asyncio.sleep(0.05)  # the first is inside its 0.2 s processing time
    status, answer, headers = await post(session, CALL)
    assert (status, answer["code"]) == (409, "IDEMPOTENCY_REQUEST_IN_PROGRESS")
    assert int(headers["Retry-After"]) >= 1
    assert (await first)[0] == 201
    assert sb.carrier_legs == [TO]


async def test_a_refused_request_does_not_burn_its_key(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(balance_cents=0)
    session = http(sb)
    assert (await post(session, CALL))[0] == 402
    sb.set_balance(None)
    assert (await post(session, CALL))[0] == 201


async def test_a_server_error_happens_before_any_effect(sandbox: Sandbox, http: Any) -> None:
    sandbox.faults.server_error_rate = 1.0
    session = http(sandbox)
    assert (await post(session, CALL))[0] == 503
    assert sandbox.carrier_legs == [] and not sandbox.calls
    sandbox.faults.server_error_rate = 0.0
    status, _, headers = await post(session, CALL)
    assert status == 201 and "Idempotency-Replayed" not in headers


async def test_a_lost_answer_keeps_the_call_and_the_retry_replays_it(
    sandbox: Sandbox, http: Any
) -> None:
    sandbox.faults.lost_answer_rate = 1.0
    session = http(sandbox)
    status, answer, _ = await post(session, CALL)
    assert (status, answer["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert sandbox.carrier_legs == [TO]  # the call was placed anyway
    sandbox.faults.lost_answer_rate = 0.0
    status, answer, headers = await post(session, CALL)
    assert status == 201 and headers["Idempotency-Replayed"] == "true"
    assert answer["id"] in sandbox.calls and sandbox.carrier_legs == [TO]


async def test_a_dropped_connection_keeps_the_call_and_the_retry_replays_it(
    sandbox: Sandbox, http: Any
) -> None:
    sandbox.faults.drop_connection_rate = 1.0
    session = http(sandbox)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(session, CALL)
    assert sandbox.carrier_legs == [TO] and sandbox.request_count == 0
    sandbox.faults.drop_connection_rate = 0.0
    status, _, headers = await post(session, CALL)
    assert status == 201 and headers["Idempotency-Replayed"] == "true"
    assert sandbox.carrier_legs == [TO]


async def test_faults_follow_the_paths_filter(sandbox: Sandbox, http: Any) -> None:
    sandbox.faults.server_error_rate = 1.0
    sandbox.faults.paths = ("POST /calls",)
    session = http(sandbox)
    async with session.get("/calls") as resp:
        assert resp.status == 200
    assert (await post(session, CALL))[0] == 503


async def test_faults_are_repeatable_for_a_seed(make_sandbox: Any, http: Any) -> None:
    runs = []
    for _ in range(2):
        sb = await make_sandbox(seed=7, faults=Faults(server_error_rate=0.5))
        session = http(sb)
        statuses = []
        for _ in range(12):
            async with session.get("/agents") as resp:
                statuses.append(resp.status)
        runs.append(statuses)
    assert runs[0] == runs[1] and set(runs[0]) == {200, 503}


async def test_latency_is_added_in_clock_seconds(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(faults=Faults(latency_seconds=100))
    before = sb.clock.time()
    async with http(sb).get("/agents") as resp:
        assert resp.status == 200
    assert sb.clock.time() - before >= 100
