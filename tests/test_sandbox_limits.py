"""Auth, scopes and the per-key rate limit of the sandbox, seen over plain HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dialer.sandbox import AGENT_B_ID, AGENT_ID, FROM_NUMBERS, Sandbox

CALL = {"agent_id": AGENT_ID, "to": "+972501234567", "from": FROM_NUMBERS[0]}
MINUTE = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # the clock starts on a window boundary


async def status_code(session: Any, method: str, path: str, **kw: Any) -> tuple[int, str]:
    async with session.request(method, path, **kw) as resp:
        return resp.status, (await resp.json()).get("code", "")


# -- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "MISSING_KEY"),
        ("Bearer ypr_live_nope", "INVALID_KEY"),
        ("Basic ypr_test_sandbox_4f2a9c1e7b3d5a8f", "INVALID_KEY"),
    ],
)
async def test_bad_keys_are_401(sandbox: Sandbox, http: Any, header: str | None, code: str) -> None:
    headers = {"Authorization": header} if header else {}
    session = http(sandbox, auth=False)
    assert await status_code(session, "GET", "/calls", headers=headers) == (401, code)


async def test_expired_key_is_401(sandbox: Sandbox, http: Any) -> None:
    key = sandbox.add_key(expires_at=sandbox.clock.now() - timedelta(seconds=1))
    assert await status_code(http(sandbox, key), "GET", "/calls") == (401, "EXPIRED_KEY")


SCOPED_ROUTES = [
    ("POST", "/calls", "calls:create"),
    ("GET", "/calls", "calls:read"),
    ("GET", "/agents", "agents:read"),
    ("GET", "/phone-numbers", "phone_numbers:search"),
    ("GET", "/do-not-call", "do_not_call:read"),
    ("POST", "/do-not-call", "do_not_call:manage"),
]


@pytest.mark.parametrize(("method", "path", "scope"), SCOPED_ROUTES)
async def test_a_missing_scope_is_403(
    sandbox: Sandbox, http: Any, method: str, path: str, scope: str
) -> None:
    key = sandbox.add_key(scopes={"billing:read"})
    got = await status_code(http(sandbox, key), method, path, json={})
    assert got == (403, "INSUFFICIENT_SCOPE")
    full = sandbox.add_key(scopes={scope})
    assert (await status_code(http(sandbox, full), method, path, json={}))[
        1
    ] != "INSUFFICIENT_SCOPE"


async def test_older_revision_answers_scope_errors_with_401(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(scope_error_status=401)
    key = sb.add_key(scopes={"calls:read"})
    got = await status_code(http(sb, key), "POST", "/calls", json=CALL)
    assert got == (401, "INSUFFICIENT_SCOPE")


async def test_agent_limited_key(sandbox: Sandbox, http: Any) -> None:
    key = sandbox.add_key(agent_ids={AGENT_ID})
    session = http(sandbox, key)
    assert await status_code(session, "GET", "/do-not-call") == (403, "API_KEY_AGENT_SCOPED")
    assert await status_code(session, "GET", "/phone-numbers") == (403, "API_KEY_AGENT_SCOPED")
    other = {**CALL, "agent_id": AGENT_B_ID}
    assert await status_code(session, "POST", "/calls", json=other) == (
        403,
        "AGENT_OUTSIDE_KEY_SCOPE",
    )
    foreign_line = {**CALL, "from": FROM_NUMBERS[1]}
    assert await status_code(session, "POST", "/calls", json=foreign_line) == (
        403,
        "API_KEY_AGENT_SCOPED",
    )
    assert (await status_code(session, "POST", "/calls", json=CALL))[0] == 201
    await status_code(http(sandbox), "POST", "/calls", json=other)  # full key, agent B
    async with session.get("/calls") as resp:
        assert [c["agent_id"] for c in (await resp.json())["data"]] == [AGENT_ID]


async def test_unknown_route_and_method_answer_json_errors(sandbox: Sandbox, http: Any) -> None:
    session = http(sandbox)
    assert await status_code(session, "GET", "/nope") == (404, "NOT_FOUND")
    assert await status_code(session, "PUT", "/calls") == (405, "METHOD_NOT_ALLOWED")


async def test_index_needs_no_key_and_is_not_counted(sandbox: Sandbox, http: Any) -> None:
    async with http(sandbox, auth=False).get("/") as resp:
        index = await resp.json()
    assert "POST /calls" in index["endpoints"]
    assert index["sandbox"]["rate_limit"] == 60 and index["sandbox"]["capacity"] == 10
    assert index["sandbox"]["time_scale"] == 1000.0
    assert sandbox.request_count == 0


# -- rate limit -----------------------------------------------------------------------------


async def test_window_headers_count_down_then_429(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(time_scale=1.0, start=MINUTE, rate_limit=3)
    session = http(sb)
    remaining = []
    for path in ("/calls", "/nope", "/calls/x"):  # errors use slots too
        async with session.get(path) as resp:
            assert resp.headers["X-RateLimit-Limit"] == "3"
            assert resp.headers["X-RateLimit-Reset"] == str(int(MINUTE.timestamp()) + 60)
            remaining.append(resp.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    async with session.post("/calls", json=CALL) as resp:
        assert resp.status == 429
        assert (await resp.json())["code"] == "RATE_LIMIT"
        assert 59 <= int(resp.headers["Retry-After"]) <= 60
        assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert sb.carrier_legs == []  # nothing in a 429 is executed
    assert sb.status_counts[429] == 1


async def test_401s_do_not_count_and_keys_have_their_own_windows(
    make_sandbox: Any, http: Any
) -> None:
    sb = await make_sandbox(time_scale=1.0, start=MINUTE, rate_limit=2)
    for _ in range(3):
        await status_code(http(sb, "ypr_test_wrong"), "GET", "/calls")
    other = sb.add_key()
    for key in (sb.api_key, other):
        async with http(sb, key).get("/calls") as resp:
            assert resp.headers["X-RateLimit-Remaining"] == "1"


async def test_the_next_window_starts_fresh(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(time_scale=300.0, start=MINUTE, rate_limit=1)
    session = http(sb)
    await status_code(session, "GET", "/calls")
    async with session.get("/calls") as resp:
        assert resp.status == 429
        wait = int(resp.headers["Retry-After"])
    await asyncio.sleep(sb.clock.to_real(wait))  # 0.2 s of wall time at most
    async with session.get("/calls") as resp:
        assert resp.status == 200
        assert resp.headers["X-RateLimit-Remaining"] == "0"


async def test_lowering_the_limit_mid_run_shows_in_the_headers(
    make_sandbox: Any, http: Any
) -> None:
    sb = await make_sandbox(time_scale=1.0, start=MINUTE, rate_limit=60)
    session = http(sb)
    await status_code(session, "GET", "/calls")
    sb.set_rate_limit(2)
    async with session.get("/calls") as resp:
        assert resp.headers["X-RateLimit-Limit"] == "2"
        assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert (await status_code(session, "GET", "/calls"))[0] == 429


async def test_a_429_storm_refuses_n_requests_then_lets_them_through(
    sandbox: Sandbox, http: Any
) -> None:
    sandbox.faults.rate_429_storm = 2
    session = http(sandbox)
    statuses = []
    for _ in range(3):
        async with session.post("/calls", json=CALL, headers={"Idempotency-Key": "k"}) as resp:
            statuses.append(resp.status)
            if resp.status == 429:
                assert int(resp.headers["Retry-After"]) >= 1
    assert statuses == [429, 429, 201]
    assert sandbox.carrier_legs == [CALL["to"]]
