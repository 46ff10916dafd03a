"""Contract tests: the real client against the real sandbox on 127.0.0.1.

One test per POST /calls answer shape and per error code the sandbox can produce, then rate
limiting, idempotent replay after a lost answer, DNC CRUD with scoping and expiry, paging, and
following a workflow call request. The sandbox and the client share one ScaledClock (100×), so
a clock minute is 0.6 s of wall time; every sandbox a test starts is stopped by ``running``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dialer.api import (
    AiohttpTransport,
    CallRequest,
    Dialed,
    DncBlockedAnswer,
    HandedBack,
    QueuedAtCapacity,
    RateBudget,
    RawResponse,
    ScheduledAnswer,
    WorkflowAccepted,
    YapprClient,
)
from dialer.errors import (
    AgentUnavailable,
    ApiError,
    AuthError,
    BadRequest,
    BillingError,
    CampaignStop,
    FromNumberInvalid,
    IdempotencyConflict,
    InvalidDestination,
    LeadRejected,
    NotFound,
    RateLimited,
    SelfCall,
    ServerError,
)
from dialer.sandbox import (
    AGENT_B_ID,
    AGENT_ID,
    FROM_NUMBERS,
    INACTIVE_AGENT_ID,
    INACTIVE_FROM_NUMBER,
    UNPUBLISHED_AGENT_ID,
    WORKFLOW_AGENT_ID,
    CallWindow,
    Faults,
    Sandbox,
    SandboxConfig,
    Scenario,
)

FROM = FROM_NUMBERS[0]
TO = "+972501234567"
SATURDAY_NIGHT = datetime(2026, 5, 2, 1, 0, tzinfo=UTC)  # the default window is closed


@asynccontextmanager
async def running(
    *, api_key: str | None = None, rpm: int = 6000, max_retries: int = 4, **config: Any
) -> AsyncIterator[tuple[Sandbox, YapprClient]]:
    """A sandbox (100× clock, generous limits unless told) and a client on its clock."""
    config.setdefault("time_scale", 100.0)
    config.setdefault("rate_limit", rpm)
    async with Sandbox(SandboxConfig(**config)) as sb:
        budget = RateBudget(rpm, clock=sb.clock)
        client = YapprClient(
            base_url=sb.base_url,
            api_key=api_key or sb.api_key,
            clock=sb.clock,
            budget=budget,
            max_retries=max_retries,
            timeout=5.0,
        )
        async with client:
            yield sb, client


def call(to: str = TO, *, agent: str | None = AGENT_ID, **fields: Any) -> CallRequest:
    return CallRequest(agent_id=agent, to=to, from_=FROM, **fields)


def key() -> str:
    return f"attempt-{uuid.uuid4()}"


def legs(sb: Sandbox, to: str) -> int:
    return sum(1 for leg in sb.carrier_legs if leg == to)


# --------------------------------------------------------------------------- answer shapes


async def test_201_dialed_is_a_call_with_one_carrier_leg(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running() as (sb, client):
        answer = await client.place_call(call(metadata={"lead": "7"}), idempotency_key=key())
        assert isinstance(answer, Dialed) and answer.http_status == 201
        assert answer.status == "ringing" and not answer.replayed
        got = await client.get_call(answer.call_id)
        assert (got.to, got.from_, got.metadata["lead"]) == (TO, FROM, "7")
        assert legs(sb, TO) == 1
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert sb.api_key not in logged and TO not in logged
        assert "+97250*****67" in logged


async def test_200_dnc_blocked_writes_a_call_row_but_no_leg() -> None:
    async with running() as (sb, client):
        sb.add_dnc(TO, reason="asked us")
        answer = await client.place_call(call(), idempotency_key=key())
        assert isinstance(answer, DncBlockedAnswer) and answer.http_status == 200
        assert answer.call_id is not None
        assert (await client.get_call(answer.call_id)).status == "dnc_blocked"
        assert legs(sb, TO) == 0


async def test_202_queued_at_capacity_carries_a_queue_id() -> None:
    async with running(capacity=1) as (_, client):
        first = await client.place_call(call(), idempotency_key=key())
        second = await client.place_call(call("+972501234568"), idempotency_key=key())
        assert isinstance(first, Dialed)
        assert isinstance(second, QueuedAtCapacity) and second.http_status == 202
        assert second.queue_position == 1 and second.queue_id


async def test_202_scheduled_outside_the_call_window() -> None:
    async with running(call_window=CallWindow(), start=SATURDAY_NIGHT) as (sb, client):
        answer = await client.place_call(call(), idempotency_key=key())
        assert isinstance(answer, ScheduledAnswer) and answer.http_status == 202
        assert answer.scheduled_for == datetime(2026, 5, 3, 6, 0, tzinfo=UTC)  # Sun 09:00 IDT
        assert legs(sb, TO) == 0


async def test_202_handed_back_has_no_id() -> None:
    async with running(scenario=Scenario(handed_back_rate=1.0)) as (_, client):
        answer = await client.place_call(call(), idempotency_key=key())
        assert isinstance(answer, HandedBack) and answer.http_status == 202
        assert "id" not in answer.raw


async def test_202_workflow_request_is_followed_to_its_call() -> None:
    async with running() as (sb, client):
        answer = await client.place_call(call(agent=WORKFLOW_AGENT_ID), idempotency_key=key())
        assert isinstance(answer, WorkflowAccepted) and answer.http_status == 202
        state = await client.get_call_request(answer.request_id)
        for _ in range(60):
            if state.is_dispatched or state.is_final:
                break
            await sb.clock.sleep(1.0)
            state = await client.get_call_request(answer.request_id)
        assert state.status == "dispatched" and state.call_id is not None
        got = await client.get_call(state.call_id)
        assert got.metadata.get("workflow_request_id") == answer.request_id


# --------------------------------------------------------------------------- error codes


@pytest.mark.parametrize(
    ("request_", "config", "expected", "status", "code"),
    [
        (call("+9720501234567"), {}, InvalidDestination, 400, "invalid_destination"),
        (
            call("+97250123"),
            {"legacy_codes": True},
            InvalidDestination,
            400,
            "INVALID_TO_NUMBER",
        ),
        (call(FROM), {}, SelfCall, 400, "SELF_CALL_NOT_ALLOWED"),
        (
            CallRequest(agent_id=AGENT_ID, to=TO, from_=INACTIVE_FROM_NUMBER),
            {},
            FromNumberInvalid,
            400,
            "INVALID_FROM_NUMBER",
        ),
        (
            call(metadata={"direction": "in"}),
            {},
            BadRequest,
            400,
            "INVALID_METADATA_RESERVED_KEY",
        ),
        (call(agent=str(uuid.uuid4())), {}, AgentUnavailable, 404, "WORKFLOW_AGENT_UNAVAILABLE"),
        (call(agent=INACTIVE_AGENT_ID), {}, AgentUnavailable, 409, "WORKFLOW_AGENT_INACTIVE"),
        (call(agent=UNPUBLISHED_AGENT_ID), {}, AgentUnavailable, 409, "WORKFLOW_UNPUBLISHED"),
        (
            CallRequest(to=TO, from_=FROM_NUMBERS[1]),
            {},
            AgentUnavailable,
            422,
            "AGENT_NOT_RESOLVED",
        ),
        (
            call(workflow_revision_id=str(uuid.uuid4())),
            {},
            AgentUnavailable,
            422,
            "WORKFLOW_PIN_INVALID",
        ),
        (call(), {"billing_error": "BILLING_ERROR"}, BillingError, 402, "BILLING_ERROR"),
        (
            call(),
            {"billing_error": "SPEND_BUDGET_REACHED"},
            BillingError,
            402,
            "SPEND_BUDGET_REACHED",
        ),
        (call(variables={"Blob": "x" * 70_000}), {}, LeadRejected, 413, "REQUEST_BODY_TOO_LARGE"),
        (
            call(),
            {"call_window": CallWindow(hours={}), "start": SATURDAY_NIGHT},
            CampaignStop,
            422,
            "OUTSIDE_CALL_WINDOW",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_post_calls_error_codes(
    request_: CallRequest, config: dict[str, Any], expected: type, status: int, code: str
) -> None:
    async with running(**config) as (sb, client):
        with pytest.raises(ApiError) as caught:
            await client.place_call(request_, idempotency_key=key())
        assert type(caught.value) is expected
        assert (caught.value.status, caught.value.code) == (status, code)
        assert caught.value.message
        assert client.stats == {status: 1}  # never retried
        assert sb.carrier_legs == []


async def test_invalid_key_is_an_auth_error() -> None:
    async with running(api_key="ypr_test_not_a_real_key") as (_, client):
        with pytest.raises(AuthError) as caught:
            await client.list_agents()
        assert (caught.value.status, caught.value.code) == (401, "INVALID_KEY")
        assert "ypr_test_not_a_real_key" not in str(caught.value)


@pytest.mark.parametrize("scope_status", [403, 401])
async def test_missing_scope_is_an_auth_error_as_401_or_403(scope_status: int) -> None:
    async with running(scope_error_status=scope_status) as (sb, _):
        read_only = sb.add_key(scopes={"calls:read"})
        async with YapprClient(base_url=sb.base_url, api_key=read_only, clock=sb.clock) as client:
            with pytest.raises(AuthError) as caught:
                await client.place_call(call(), idempotency_key=key())
            assert (caught.value.status, caught.value.code) == (scope_status, "INSUFFICIENT_SCOPE")
            assert [c async for c in client.list_calls()] == []  # calls:read still works


async def test_agent_limited_key_codes() -> None:
    async with running() as (sb, _):
        limited = sb.add_key(agent_ids={AGENT_ID})
        async with YapprClient(base_url=sb.base_url, api_key=limited, clock=sb.clock) as client:
            with pytest.raises(AuthError) as caught:
                await client.list_dnc()
            assert (caught.value.status, caught.value.code) == (403, "API_KEY_AGENT_SCOPED")
            with pytest.raises(AuthError) as caught:
                await client.place_call(call(agent=AGENT_B_ID), idempotency_key=key())
            assert caught.value.code in {"AGENT_OUTSIDE_KEY_SCOPE", "API_KEY_AGENT_SCOPED"}
            assert isinstance(await client.place_call(call(), idempotency_key=key()), Dialed)


async def test_same_key_different_body_is_an_idempotency_conflict() -> None:
    async with running() as (sb, client):
        same = key()
        await client.place_call(call(), idempotency_key=same)
        with pytest.raises(IdempotencyConflict) as caught:
            await client.place_call(call("+972501234568"), idempotency_key=same)
        assert caught.value.status == 409
        assert caught.value.code == "WORKFLOW_IDEMPOTENCY_CONFLICT"
        assert legs(sb, "+972501234568") == 0


async def test_lookups_that_find_nothing() -> None:
    async with running() as (_, client):
        with pytest.raises(NotFound):
            await client.get_call(str(uuid.uuid4()))
        with pytest.raises(NotFound) as caught:
            await client.get_call("not-a-uuid")
        assert caught.value.code == "RESOURCE_ID_INVALID"
        with pytest.raises(NotFound):
            await client.get_call_request(str(uuid.uuid4()))
        with pytest.raises(NotFound):
            await client.delete_dnc(str(uuid.uuid4()))
        assert await client.lookup_dnc(TO) is None


async def test_bad_queries_and_dnc_bodies_are_bad_requests() -> None:
    async with running() as (_, client):
        with pytest.raises(BadRequest) as caught:
            await client.list_calls_page(status="sleeping")
        assert caught.value.code == "CALLS_QUERY_INVALID"
        with pytest.raises(AgentUnavailable) as caught:
            await client.list_calls_page(agent_id=str(uuid.uuid4()))
        assert (caught.value.status, caught.value.code) == (404, "CALL_AGENT_UNKNOWN")
        with pytest.raises(BadRequest) as caught:
            await client.add_dnc("not a phone")
        assert caught.value.code == "DO_NOT_CALL_REQUEST_INVALID"
        past = datetime.now(UTC) - timedelta(days=400)
        with pytest.raises(BadRequest):
            await client.add_dnc(TO, expires_at=past)


# --------------------------------------------------------------------------- faults and retries


async def test_5xx_before_any_effect_is_retried_then_given_up() -> None:
    faults = Faults(server_error_rate=1.0, paths=("GET /agents",))
    async with running(faults=faults, max_retries=2) as (sb, client):
        with pytest.raises(ServerError) as caught:
            await client.list_agents()
        assert caught.value.status >= 500
        assert client.stats == {caught.value.status: 3}
        sb.faults.server_error_rate = 0.0
        assert len(await client.list_agents()) >= 3


class LoseFirstAnswer:
    """Wraps the real transport: the first request's answer is lost (503 or dropped)."""

    def __init__(self, inner: AiohttpTransport, faults: Faults, fault: str) -> None:
        self.inner, self.faults, self.fault = inner, faults, fault
        self.first = True

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: bytes | None,
        params: Mapping[str, str] | None,
    ) -> RawResponse:
        setattr(self.faults, self.fault, 1.0 if self.first else 0.0)
        self.first = False
        return await self.inner.request(
            method, url, headers=headers, json_body=json_body, params=params
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize(
    ("fault", "first_status"), [("lost_answer_rate", 503), ("drop_connection_rate", 0)]
)
async def test_a_lost_answer_is_replayed_never_redialled(fault: str, first_status: int) -> None:
    async with running() as (sb, _):
        transport = LoseFirstAnswer(AiohttpTransport(timeout=5), sb.faults, fault)
        client = YapprClient(
            base_url=sb.base_url, api_key=sb.api_key, clock=sb.clock, transport=transport
        )
        async with client:
            answer = await client.place_call(call(), idempotency_key=key())
        assert isinstance(answer, Dialed) and answer.replayed
        assert legs(sb, TO) == 1
        assert client.stats == {first_status: 1, 201: 1}


async def test_a_concurrent_duplicate_waits_and_gets_the_same_call() -> None:
    faults = Faults(latency_seconds=3.0, paths=("POST /calls",))
    async with running(faults=faults) as (sb, client):
        same, request = key(), call()
        first, second = await asyncio.gather(
            client.place_call(request, idempotency_key=same),
            client.place_call(request, idempotency_key=same),
        )
        assert isinstance(first, Dialed) and isinstance(second, Dialed)
        assert first.call_id == second.call_id
        assert {first.replayed, second.replayed} == {False, True}
        assert client.stats.get(409, 0) >= 1  # IDEMPOTENCY_REQUEST_IN_PROGRESS, waited out
        assert legs(sb, TO) == 1


# --------------------------------------------------------------------------- rate limits


async def test_forced_429_is_waited_out_and_resent() -> None:
    async with running(faults=Faults(rate_429_storm=1)) as (_, client):
        answer = await client.place_call(call(), idempotency_key=key())
        assert isinstance(answer, Dialed)
        assert client.stats == {429: 1, 201: 1}
        assert client.budget.rate_limited == 1


async def test_429_after_the_last_retry_is_rate_limited_with_retry_after() -> None:
    async with running(faults=Faults(rate_429_storm=5), max_retries=0) as (_, client):
        with pytest.raises(RateLimited) as caught:
            await client.list_agents()
        assert caught.value.retry_after is not None and caught.value.retry_after >= 1


async def test_a_burst_at_a_low_limit_sees_no_429() -> None:
    async with running(rpm=60, rate_limit=20, time_scale=300.0) as (_, client):
        results = await asyncio.gather(*(client.list_phone_numbers() for _ in range(30)))
        assert len(results) == 30
        assert 429 not in client.stats and client.budget.rate_limited == 0
        assert client.budget.limit == 20  # followed X-RateLimit-Limit below the setting
        assert client.rate.limit == 20


async def test_a_lowered_limit_mid_run_is_followed() -> None:
    async with running(rpm=60, rate_limit=60, time_scale=300.0) as (sb, client):
        await asyncio.gather(*(client.list_phone_numbers() for _ in range(10)))
        sb.set_rate_limit(8)
        start = sb.clock.time()
        await asyncio.gather(*(client.list_phone_numbers() for _ in range(12)))
        assert client.budget.limit == 8
        # Only requests already sent when the limit dropped can meet a 429 (a known window's
        # whole allowance goes at once); nothing in a 429 was executed, so each was resent.
        revealed = client.budget.rate_limited
        assert revealed <= 12
        assert sb.clock.time() - start >= 60  # 12 requests at 8/min span more than a minute
        await asyncio.gather(*(client.list_phone_numbers() for _ in range(10)))
        assert client.budget.rate_limited == revealed  # from then on, never again


async def test_rate_headers_are_exposed_after_each_answer() -> None:
    async with running(rpm=60, rate_limit=60) as (sb, client):
        await client.list_agents()
        await client.place_call(call(), idempotency_key=key())
        await client.list_dnc()
        # one budget for every kind of request
        assert client.budget.requests_sent == sum(client.stats.values()) == 3
        assert client.rate.limit == 60
        assert client.rate.remaining is not None and client.rate.remaining < 60
        assert client.rate.reset is not None and client.rate.reset > sb.clock.time()


# --------------------------------------------------------------------------- DNC


async def test_dnc_crud_round_trip() -> None:
    async with running() as (_, client):
        entry, created = await client.add_dnc(TO, reason="asked", agent_ids=[AGENT_ID])
        assert created and entry.phone_number == TO and entry.agent_ids == (AGENT_ID,)
        again, created = await client.add_dnc("0501234567", reason="other")  # same number
        assert not created and again.id == entry.id and again.reason == "asked"
        found = await client.lookup_dnc(TO)  # "+" must travel as %2B
        assert found is not None and found.id == entry.id
        assert [e.id for e in await client.list_dnc()] == [entry.id]
        updated = await client.update_dnc(entry.id, reason="changed", agent_ids=())
        assert updated.reason == "changed" and updated.is_global
        assert updated.phone_number == TO
        await client.delete_dnc(entry.id)
        assert await client.lookup_dnc(TO) is None
        assert await client.list_dnc() == []


async def test_dnc_scoped_to_one_agent_blocks_only_that_agent() -> None:
    async with running() as (sb, client):
        await client.add_dnc(TO, agent_ids=[AGENT_B_ID])
        blocked = await client.place_call(call(agent=AGENT_B_ID), idempotency_key=key())
        allowed = await client.place_call(call(agent=AGENT_ID), idempotency_key=key())
        assert isinstance(blocked, DncBlockedAnswer)
        assert isinstance(allowed, Dialed)
        assert legs(sb, TO) == 1


async def test_dnc_entry_stops_blocking_when_it_expires() -> None:
    async with running() as (sb, client):
        expires = sb.clock.now() + timedelta(seconds=30)
        entry, _ = await client.add_dnc(TO, expires_at=expires)
        assert entry.expires_at is not None
        assert isinstance(await client.place_call(call(), idempotency_key=key()), DncBlockedAnswer)
        await sb.clock.sleep(31)
        assert isinstance(await client.place_call(call(), idempotency_key=key()), Dialed)
        permanent = await client.update_dnc(entry.id, expires_at=None)
        assert permanent.expires_at is None


# --------------------------------------------------------------------------- calls, agents, numbers


async def test_paging_through_more_than_100_calls() -> None:
    async with running(capacity=500) as (_, client):
        numbers = [f"+97250{n:07d}" for n in range(1, 131)]
        for number in numbers:
            await client.place_call(call(number), idempotency_key=key())
        seen = [c async for c in client.list_calls(agent_id=AGENT_ID)]
        assert sorted(c.to for c in seen if c.to) == numbers
        assert len({c.id for c in seen}) == 130
        page, pagination = await client.list_calls_page(limit=100, agent_id=AGENT_ID)
        assert len(page) == 100 and pagination.total == 130 and pagination.has_more


async def test_filters_find_one_callee_and_recent_changes() -> None:
    async with running() as (sb, client):
        before = sb.clock.now()
        await client.place_call(call(), idempotency_key=key())
        await client.place_call(call("+972501234568"), idempotency_key=key())
        mine = [c async for c in client.list_calls(callee=TO, direction="outbound")]
        assert [c.to for c in mine] == [TO]
        recent = [c async for c in client.list_calls(updated_since=before, caller=FROM)]
        assert len(recent) == 2
        later = sb.clock.now() + timedelta(hours=1)
        assert [c async for c in client.list_calls(created_from=later)] == []


async def test_a_call_runs_to_a_finished_outcome() -> None:
    scenario = Scenario(overrides={TO: "busy"}, ring_seconds=(2.0, 2.0))
    async with running(scenario=scenario) as (sb, client):
        answer = await client.place_call(call(), idempotency_key=key())
        assert isinstance(answer, Dialed)
        await sb.clock.sleep(10)
        got = await client.get_call(answer.call_id)
        assert got.is_terminal and got.status == "failed"
        assert got.failure is not None and got.failure.code == "busy"


async def test_agents_and_phone_numbers() -> None:
    async with running() as (_, client):
        agents = {a.id: a for a in await client.list_agents()}
        assert {AGENT_ID, AGENT_B_ID, WORKFLOW_AGENT_ID} <= set(agents)
        assert agents[WORKFLOW_AGENT_ID].is_workflow and not agents[AGENT_ID].is_workflow
        assert (await client.get_agent(INACTIVE_AGENT_ID)).is_active is False
        numbers = {n.number: n for n in await client.list_phone_numbers()}
        assert all(numbers[n].usable_as_from for n in FROM_NUMBERS)
        assert not numbers[INACTIVE_FROM_NUMBER].usable_as_from
