"""The client on MockTransport: answer shapes, error table, retries, paging, DNC, secrecy.

No socket and no wall-clock sleep: waits go to a fake clock that records them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from dialer.api import (
    UNSET,
    Backoff,
    Call,
    CallRequest,
    Dialed,
    DncBlockedAnswer,
    HandedBack,
    MockRequest,
    MockTransport,
    QueuedAtCapacity,
    RateBudget,
    RawResponse,
    ScheduledAnswer,
    UnknownAnswer,
    WorkflowAccepted,
    YapprClient,
    json_response,
)
from dialer.api.errormap import ERROR_TABLE, STATUS_FALLBACK
from dialer.errors import (
    ApiError,
    AuthError,
    BadRequest,
    ConfigError,
    IdempotencyConflict,
    InvalidDestination,
    NotFound,
    RateLimited,
    RequestInProgress,
    RetryableError,
    ServerError,
    TransportError,
)

KEY = "ypr_live_supersecret_0123456789"
BASE = "https://api.test"
AGENT = "5b0c8f4e-1d2a-4c3b-9e7f-0a1b2c3d4e5f"
TO = "+972501234567"
FROM = "+972552234567"
CALL_ID = "11111111-2222-4333-8444-555555555555"


class FakeClock:
    """A clock that only moves when someone sleeps on it; records every sleep."""

    scale = 1.0

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
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
        return seconds * 1e-6  # the pacing limiter runs on loop time: keep it negligible


Handler = Callable[[MockRequest], RawResponse]


def make_client(handler: Handler, **options: Any) -> tuple[YapprClient, MockTransport, FakeClock]:
    """A client on a MockTransport and a FakeClock, with deterministic jitter."""
    clock = FakeClock()
    transport = MockTransport(handler)
    options.setdefault("backoff", Backoff(rng=random.Random(1)))
    client = YapprClient(
        base_url=BASE,
        api_key=KEY,
        clock=clock,
        budget=RateBudget(clock=clock),
        transport=transport,
        **options,
    )
    return client, transport, clock


def request() -> CallRequest:
    return CallRequest(
        agent_id=AGENT,
        to=TO,
        from_=FROM,
        variables={"LeadName": "Dana", "OrderNumber": "A-1"},
        metadata={"contact_id": "c-9", "attempt": 1},
    )


def error(status: int, code: str, message: str = "nope", **headers: str) -> RawResponse:
    return json_response(status, {"error": message, "code": code}, headers=headers)


def sequence(*answers: RawResponse | Exception) -> Handler:
    """A handler giving ``answers`` in order (an exception is raised instead of answered)."""
    queue = list(answers)

    def handler(_: MockRequest) -> RawResponse:
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


# --------------------------------------------------------------------------- request body


def test_call_request_serialises_to_canonical_bytes() -> None:
    body = request().body()
    assert body == (
        b'{"agent_id":"5b0c8f4e-1d2a-4c3b-9e7f-0a1b2c3d4e5f","from":"+972552234567",'
        b'"metadata":{"attempt":1,"contact_id":"c-9"},'
        b'"to":"+972501234567","variables":{"LeadName":"Dana","OrderNumber":"A-1"}}'
    )


def test_call_request_round_trips_through_its_own_bytes() -> None:
    """The ledger stores the body; a retry after a crash rebuilds it byte for byte."""
    original = request().body()
    assert CallRequest.model_validate_json(original).body() == original


def test_call_request_leaves_out_unset_fields() -> None:
    assert json.loads(CallRequest(to=TO, from_=FROM).body()) == {"to": TO, "from": FROM}
    assert CallRequest.model_validate({"to": TO, "from": FROM}).from_ == FROM


# --------------------------------------------------------------------------- answer shapes

DIALED = {
    "id": CALL_ID,
    "status": "ringing",
    "agent_id": AGENT,
    "from": FROM,
    "to": TO,
    "direction": "outbound",
    "created_at": "2026-05-01T10:00:00.000Z",
    "metadata": {"contact_id": "c-9"},
}
DNC = {
    "call_id": CALL_ID,
    "status": "dnc_blocked",
    "agent_id": AGENT,
    "to": TO,
    "from": FROM,
    "message": "on the do-not-call list",
    "dnc_reason": "asked",
    "started_at": "2026-05-01T10:00:00Z",
    "ended_at": "2026-05-01T10:00:00Z",
}
QUEUED = {
    "id": "q-1",
    "status": "queued",
    "queue_position": 3,
    "queued_at": "2026-05-01T10:00:00Z",
    "expires_at": "2026-05-02T10:00:00Z",
    "message": "all lines busy",
}
SCHEDULED = {"id": "s-1", "status": "scheduled", "scheduled_for": "2026-05-02T06:00:00Z"}
WORKFLOW = {
    "id": "r-1",
    "request_id": "r-1",
    "run_id": "run-1",
    "call_id": None,
    "status": "scheduled",
    "preparation_status": "pending",
    "scheduled_for": "2026-05-02T06:00:00Z",
    "queued_at": "2026-05-01T10:00:00Z",
}
HANDED_BACK = {"status": "queued", "message": "handed back", "reason": "provider_busy"}


@pytest.mark.parametrize(
    ("status", "body", "shape", "check"),
    [
        (201, DIALED, Dialed, lambda a: a.call_id == CALL_ID),
        (200, DNC, DncBlockedAnswer, lambda a: a.call_id == CALL_ID and a.dnc_reason == "asked"),
        (202, QUEUED, QueuedAtCapacity, lambda a: a.queue_id == "q-1" and a.queue_position == 3),
        (202, SCHEDULED, ScheduledAnswer, lambda a: a.scheduled_for.hour == 6),
        (202, WORKFLOW, WorkflowAccepted, lambda a: a.request_id == "r-1"),
        (202, HANDED_BACK, HandedBack, lambda a: a.reason == "provider_busy"),
        (202, {"id": "x", "status": "already_accepted"}, UnknownAnswer, lambda a: True),
        (200, {"id": "x", "status": "ringing"}, UnknownAnswer, lambda a: True),
        (202, {"queue_position": "not a number"}, UnknownAnswer, lambda a: True),
    ],
)
async def test_every_post_calls_answer_has_its_own_shape(
    status: int, body: dict[str, Any], shape: type, check: Callable[[Any], bool]
) -> None:
    client, _, _ = make_client(sequence(json_response(status, body)))
    answer = await client.place_call(request(), idempotency_key="attempt-1")
    assert type(answer) is shape
    assert check(answer)
    assert answer.http_status == status
    assert answer.raw == body
    assert answer.replayed is False


async def test_replayed_answer_is_flagged() -> None:
    replay = json_response(201, DIALED, headers={"Idempotency-Replayed": "true"})
    client, _, _ = make_client(sequence(replay))
    answer = await client.place_call(request(), idempotency_key="attempt-1")
    assert answer.replayed is True


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "ünicode"])
async def test_bad_idempotency_key_is_refused_before_sending(key: str) -> None:
    client, transport, _ = make_client(sequence())
    with pytest.raises(ValueError, match="Idempotency-Key"):
        await client.place_call(request(), idempotency_key=key)
    assert transport.requests == []


async def test_post_calls_sends_key_auth_and_exact_body() -> None:
    client, transport, _ = make_client(sequence(json_response(201, DIALED)))
    await client.place_call(request(), idempotency_key="attempt-1")
    (sent,) = transport.requests
    assert (sent.method, sent.url) == ("POST", f"{BASE}/calls")
    assert sent.headers["Idempotency-Key"] == "attempt-1"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.body == request().body()


# --------------------------------------------------------------------------- error table


@pytest.mark.parametrize(("status", "code"), sorted(ERROR_TABLE))
async def test_every_documented_code_maps_to_its_class(status: int, code: str) -> None:
    client, _, _ = make_client(sequence(error(status, code, "what went wrong")), max_retries=0)
    with pytest.raises(ApiError) as caught:
        await client.place_call(request(), idempotency_key="attempt-1")
    assert type(caught.value) is ERROR_TABLE[(status, code)]
    assert (caught.value.status, caught.value.code) == (status, code)
    assert "what went wrong" in caught.value.message


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "INVALID_TO_NUMBER", InvalidDestination),
        (400, "invalid_destination", InvalidDestination),
        (401, "INSUFFICIENT_SCOPE", AuthError),
        (403, "INSUFFICIENT_SCOPE", AuthError),
        (409, "WORKFLOW_IDEMPOTENCY_CONFLICT", IdempotencyConflict),
        (409, "IDEMPOTENCY_KEY_CONFLICT", IdempotencyConflict),
        (409, "IDEMPOTENCY_REQUEST_IN_PROGRESS", RequestInProgress),
    ],
)
async def test_both_spellings_map_alike(status: int, code: str, expected: type) -> None:
    client, _, _ = make_client(sequence(error(status, code)), max_retries=0)
    with pytest.raises(expected):
        await client.place_call(request(), idempotency_key="attempt-1")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        *sorted(STATUS_FALLBACK.items()),
        *[(405, BadRequest), (409, BadRequest), (418, BadRequest)],
        *[(500, ServerError), (502, ServerError), (503, ServerError), (504, ServerError)],
    ],
)
async def test_unknown_codes_fall_back_by_status(status: int, expected: type) -> None:
    client, _, _ = make_client(sequence(error(status, "SOMETHING_NEW")), max_retries=0)
    with pytest.raises(ApiError) as caught:
        await client.get_call(CALL_ID)
    assert type(caught.value) is expected
    assert caught.value.code == "SOMETHING_NEW"


@pytest.mark.parametrize(
    ("body", "expected_message"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "502 Bad Gateway"),
        (b"", "no message"),
        (b"[1, 2]", "[1, 2]"),
        (b'{"error": {"code": "X", "message": "nested"}}', "nested"),
    ],
)
async def test_non_json_error_bodies_keep_a_message(body: bytes, expected_message: str) -> None:
    answer = RawResponse(502, {"Content-Type": "text/html"}, body)
    client, _, _ = make_client(sequence(answer), max_retries=0)
    with pytest.raises(ServerError) as caught:
        await client.get_call(CALL_ID)
    assert caught.value.status == 502
    assert expected_message in str(caught.value)


# --------------------------------------------------------------------------- retries


async def test_retries_resend_the_same_bytes_and_key() -> None:
    answers = sequence(
        error(503, "WORKFLOW_ADMISSION_UNAVAILABLE"),
        TransportError("dropped"),
        error(500, "INTERNAL_ERROR"),
        json_response(201, DIALED, headers={"Idempotency-Replayed": "true"}),
    )
    client, transport, clock = make_client(answers)
    answer = await client.place_call(request(), idempotency_key="attempt-7")
    assert isinstance(answer, Dialed) and answer.replayed
    assert len(transport.requests) == 4
    assert {r.body for r in transport.requests} == {request().body()}
    assert {r.headers["Idempotency-Key"] for r in transport.requests} == {"attempt-7"}
    assert len(clock.sleeps) == 3
    assert client.stats == {503: 1, 0: 1, 500: 1, 201: 1}


async def test_backoff_grows_and_is_capped_with_jitter() -> None:
    backoff = Backoff(base=1.0, cap=8.0, rng=random.Random(3))
    delays = [backoff.delay(n) for n in range(8)]
    for attempt, delay in enumerate(delays):
        ceiling = min(8.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 8.0


@pytest.mark.parametrize(
    ("answer", "wait"),
    [
        (error(429, "RATE_LIMIT", **{"Retry-After": "7"}), 7.0),
        (error(409, "IDEMPOTENCY_REQUEST_IN_PROGRESS", **{"Retry-After": "3"}), 3.0),
        (error(503, "SERVICE_UNAVAILABLE", **{"Retry-After": "2"}), 2.0),
    ],
)
async def test_retry_after_is_honoured(answer: RawResponse, wait: float) -> None:
    client, _, clock = make_client(sequence(answer, json_response(201, DIALED)))
    await client.place_call(request(), idempotency_key="attempt-1")
    assert wait in clock.sleeps
    assert sum(clock.sleeps) == pytest.approx(wait)  # the budget's pause and ours overlap


async def test_429_pauses_every_request_of_the_budget() -> None:
    client, _, clock = make_client(
        sequence(error(429, "RATE_LIMIT", **{"Retry-After": "20"})), max_retries=0
    )
    start = clock.time()
    with pytest.raises(RateLimited) as caught:
        await client.place_call(request(), idempotency_key="attempt-1")
    assert caught.value.retry_after == 20
    assert client.budget.rate_limited == 1
    client._transport = MockTransport(sequence(json_response(200, {"data": []})))
    assert await client.list_dnc() == []
    assert clock.time() - start >= 20


async def test_gives_up_after_max_retries() -> None:
    client, transport, _ = make_client(lambda _: error(502, "UPSTREAM_ERROR"), max_retries=3)
    with pytest.raises(ServerError):
        await client.place_call(request(), idempotency_key="attempt-1")
    assert len(transport.requests) == 4


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "invalid_destination"), (402, "BILLING_ERROR"), (409, "IDEMPOTENCY_KEY_CONFLICT")],
)
async def test_client_errors_are_never_retried(status: int, code: str) -> None:
    client, transport, clock = make_client(lambda _: error(status, code))
    with pytest.raises(ApiError) as caught:
        await client.place_call(request(), idempotency_key="attempt-1")
    assert not isinstance(caught.value, RetryableError)
    assert len(transport.requests) == 1
    assert clock.sleeps == []


async def test_unreadable_2xx_is_retried_like_a_5xx() -> None:
    garbage = RawResponse(201, {}, b"<html>oops")
    client, transport, _ = make_client(sequence(garbage, json_response(201, DIALED)))
    assert isinstance(await client.place_call(request(), idempotency_key="k"), Dialed)
    assert len(transport.requests) == 2


# --------------------------------------------------------------------------- secrecy


async def test_the_api_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = error(401, "INVALID_KEY", f"key {KEY} is revoked; caller {TO}")
    client, _, _ = make_client(
        sequence(TransportError("dropped"), error(503, "INTERNAL_ERROR", f"busy {KEY}"), echo)
    )
    assert KEY not in repr(client) and KEY not in str(vars(client))
    with pytest.raises(AuthError) as caught:
        await client.place_call(request(), idempotency_key="attempt-1")
    for text in (str(caught.value), repr(caught.value), caught.value.message):
        assert KEY not in text
        assert TO not in text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged, "the client logs its requests"
    assert KEY not in logged and TO not in logged
    assert "+97250*****67" in logged


@pytest.mark.parametrize(("status", "code"), sorted(ERROR_TABLE))
async def test_no_error_message_carries_the_key(status: int, code: str) -> None:
    client, _, _ = make_client(sequence(error(status, code, f"echo {KEY}")), max_retries=0)
    with pytest.raises(ApiError) as caught:
        await client.get_call(CALL_ID)
    assert KEY not in str(caught.value)


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="YAPPR_BASE_URL"):
        YapprClient(base_url="api.goyappr.com", api_key=KEY)
    with pytest.raises(ConfigError, match="YAPPR_API_KEY"):
        YapprClient(base_url=BASE, api_key=" ")


# --------------------------------------------------------------------------- calls


def call_row(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"call-{n}", "status": "completed", "to": TO, "metadata": {"n": n}, **extra}


def paged(total: int, *, cursor: bool = False) -> Handler:
    """GET /calls over ``total`` rows, by offset or (``cursor``) by next_cursor."""

    def handler(sent: MockRequest) -> RawResponse:
        limit = int(sent.params["limit"])
        start = int(sent.params.get("cursor") or sent.params.get("offset") or 0)
        rows = [call_row(n) for n in range(start, min(total, start + limit))]
        more = start + limit < total
        page = {"total": total, "limit": limit, "offset": start, "has_more": more}
        if cursor:
            page["next_cursor"] = str(start + limit) if more else None
        return json_response(200, {"data": rows, "pagination": page})

    return handler


async def test_list_calls_walks_every_page_by_offset() -> None:
    client, transport, _ = make_client(paged(250))
    calls = [call async for call in client.list_calls(agent_id=AGENT)]
    assert [c.id for c in calls] == [f"call-{n}" for n in range(250)]
    assert [r.params["offset"] for r in transport.requests] == ["0", "100", "200"]
    assert all(r.params["agent_id"] == AGENT for r in transport.requests)


async def test_list_calls_follows_the_cursor_and_resends_filters() -> None:
    client, transport, _ = make_client(paged(120, cursor=True))
    calls = [call async for call in client.list_calls(callee=TO, page_size=50)]
    assert len(calls) == 120
    assert [r.params.get("cursor") for r in transport.requests] == [None, "50", "100"]
    assert "offset" not in transport.requests[1].params
    assert all(r.params["callee"] == TO for r in transport.requests)


async def test_list_calls_stops_without_pagination_when_a_page_is_short() -> None:
    client, transport, _ = make_client(sequence(json_response(200, {"data": [call_row(1)]})))
    assert len([c async for c in client.list_calls()]) == 1
    assert len(transport.requests) == 1


async def test_call_filters_become_query_parameters() -> None:
    client, transport, _ = make_client(paged(0))
    moment = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    calls, page = await client.list_calls_page(
        limit=10,
        offset=20,
        status="completed",
        direction="outbound",
        caller=FROM,
        created_from=moment,
        created_to=moment,
        updated_since=moment,
    )
    assert calls == [] and page.total == 0
    assert transport.requests[0].params == {
        "limit": "10",
        "offset": "20",
        "status": "completed",
        "direction": "outbound",
        "caller": FROM,
        "from": "2026-05-01T12:30:00.000Z",
        "to": "2026-05-01T12:30:00.000Z",
        "updated_since": "2026-05-01T12:30:00.000Z",
    }
    with pytest.raises(ValueError, match="limit"):
        await client.list_calls_page(limit=101)


def test_call_model_is_tolerant() -> None:
    call = Call.model_validate(
        {
            "id": CALL_ID,
            "status": "in-progress",
            "from": FROM,
            "failure": {"code": "martian_interference", "stage": "dialing"},
            "disposition": {"id": "d1", "label": "Voicemail"},
            "metadata": None,
            "brand_new_field": 42,
        }
    )
    assert call.status == "in_progress" and call.from_ == FROM
    assert call.failure is not None
    assert call.failure.code == "martian_interference"
    assert call.failure.known_code == "unknown"
    assert call.disposition_label == "Voicemail"
    assert call.metadata == {}
    assert call.model_extra == {"brand_new_field": 42}
    assert not call.is_terminal


async def test_get_call_escapes_the_id_and_maps_404() -> None:
    client, transport, _ = make_client(sequence(error(404, "RESOURCE_ID_INVALID")))
    with pytest.raises(NotFound):
        await client.get_call("../agents")
    assert transport.requests[0].path == "/calls/..%2Fagents"


async def test_call_request_states_and_cancel() -> None:
    state = {"id": "r-1", "status": "dispatched", "call_id": CALL_ID, "run_id": "run"}
    answers = sequence(
        json_response(200, state),
        json_response(200, {"id": "r-1", "status": "cancelled"}),
        error(409, "WORKFLOW_DISPATCH_ALREADY_CLAIMED"),
    )
    client, transport, _ = make_client(answers)
    got = await client.get_call_request("r-1")
    assert got.is_dispatched and not got.is_final
    assert await client.cancel_call_request("r-1") is True
    assert await client.cancel_call_request("r-1") is False
    assert transport.requests[1].path == "/call-requests/r-1/cancel"


async def test_a_malformed_answer_is_an_api_error_not_a_foreign_one() -> None:
    client, _, _ = make_client(sequence(json_response(200, {"status": "completed"})))
    with pytest.raises(ApiError, match="not a Call"):
        await client.get_call(CALL_ID)


# --------------------------------------------------------------------------- DNC, agents, numbers

AGENT_OBJ = {"id": AGENT, "name": "Sales"}
ENTRY = {
    "id": "d-1",
    "phone_number": TO,
    "reason": "asked",
    "source": "api",
    "expires_at": None,
    "agents": [AGENT_OBJ],
    "created_at": "2026-05-01T10:00:00Z",
}


async def test_dnc_lookup_found_and_missing() -> None:
    client, transport, _ = make_client(sequence(json_response(200, ENTRY), error(404, "NOT_FOUND")))
    entry = await client.lookup_dnc(TO)
    assert entry is not None and entry.agent_ids == (AGENT,) and not entry.is_global
    assert await client.lookup_dnc("+972501234568") is None
    assert transport.requests[0].params == {"phone": TO}


async def test_dnc_add_tells_new_from_existing() -> None:
    client, transport, _ = make_client(
        sequence(json_response(201, ENTRY), json_response(200, ENTRY))
    )
    expires = datetime(2027, 1, 1, tzinfo=UTC)
    _, created = await client.add_dnc(TO, reason="asked", expires_at=expires, agent_ids=[AGENT])
    assert created is True
    _, created = await client.add_dnc(TO)
    assert created is False
    assert transport.requests[0].json() == {
        "phone_number": TO,
        "reason": "asked",
        "expires_at": "2027-01-01T00:00:00.000Z",
        "agent_ids": [AGENT],
    }
    assert transport.requests[1].json() == {"phone_number": TO}


async def test_dnc_update_sends_only_the_fields_given() -> None:
    client, transport, _ = make_client(lambda _: json_response(200, ENTRY))
    await client.update_dnc("d-1", agent_ids=())
    await client.update_dnc("d-1", expires_at=None, reason="x")
    assert transport.requests[0].json() == {"agent_ids": []}
    assert transport.requests[1].json() == {"expires_at": None, "reason": "x"}
    assert all(r.method == "PATCH" and r.path == "/do-not-call/d-1" for r in transport.requests)
    with pytest.raises(ValueError, match="at least one"):
        await client.update_dnc("d-1", reason=UNSET)


async def test_dnc_delete_after_a_lost_answer_is_done() -> None:
    client, transport, _ = make_client(sequence(TransportError("lost"), error(404, "NOT_FOUND")))
    await client.delete_dnc("d-1")
    assert [r.method for r in transport.requests] == ["DELETE", "DELETE"]
    client, _, _ = make_client(sequence(error(404, "NOT_FOUND")))
    with pytest.raises(NotFound):
        await client.delete_dnc("d-1")


async def test_agents_pages_and_numbers() -> None:
    agents = [{"id": f"a-{n}", "type": "prompt"} for n in range(130)]

    def handler(sent: MockRequest) -> RawResponse:
        if sent.path == "/phone-numbers":
            row = {"id": "p1", "number": FROM, "status": "active", "is_active": True}
            return json_response(200, {"data": [row]})
        if sent.path.startswith("/agents/"):
            return json_response(200, {"id": "w", "execution_version": "workflow_v1"})
        start, limit = int(sent.params["offset"]), int(sent.params["limit"])
        page = {"total": 130, "limit": limit, "offset": start, "has_more": start + limit < 130}
        return json_response(200, {"data": agents[start : start + limit], "pagination": page})

    client, _, _ = make_client(handler)
    assert len(await client.list_agents()) == 130
    assert (await client.get_agent("w")).is_workflow
    (number,) = await client.list_phone_numbers()
    assert number.usable_as_from


async def test_rate_headers_are_exposed() -> None:
    headers = {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "41", "X-RateLimit-Reset": "0"}
    client, _, clock = make_client(sequence(json_response(200, {"data": []}, headers=headers)))
    await client.list_dnc()
    assert client.rate.limit == 60 and client.rate.remaining == 41
    assert client.rate.reset == pytest.approx(clock.time())


async def test_closing_the_client_closes_the_transport() -> None:
    client, transport, _ = make_client(sequence())
    async with client:
        pass
    assert transport.closed
