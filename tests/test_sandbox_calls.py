"""POST /calls against the real sandbox: the validation rules as tables, and every answer shape."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from dialer.sandbox import (
    AGENT_B_ID,
    AGENT_ID,
    FROM_NUMBERS,
    INACTIVE_AGENT_ID,
    INACTIVE_FROM_NUMBER,
    UNPUBLISHED_AGENT_ID,
    WORKFLOW_AGENT_ID,
    WORKFLOW_REVISION_ID,
    CallWindow,
    Sandbox,
    Scenario,
)

TO = "+972501234567"
GOOD = {"agent_id": AGENT_ID, "to": TO, "from": FROM_NUMBERS[0]}


def body(**changes: Any) -> dict[str, Any]:
    """A valid body with some fields changed (None removes the field)."""
    out = {**GOOD, **changes}
    return {k: v for k, v in out.items() if v is not None}


async def post(http: Any, sb: Sandbox, payload: object, **headers: str) -> tuple[int, Any]:
    async with http(sb).post("/calls", json=payload, headers=headers) as resp:
        return resp.status, await resp.json()


REFUSED = [
    # (changes, status, code)
    ({"to": "0501234567"}, 400, "invalid_destination"),
    ({"to": "+0501234567"}, 400, "invalid_destination"),
    ({"to": "+9725012345"}, 400, "invalid_destination"),  # 11 chars: too short for +972
    ({"to": "+9725012345678"}, 400, "invalid_destination"),  # 14 chars: too long for +972
    ({"to": "+9720501234567"}, 400, "invalid_destination"),  # +9720: trunk zero kept
    ({"to": "+972 50 123 4567"}, 400, "invalid_destination"),
    ({"to": "+1234567"}, 400, "invalid_destination"),  # 7 digits
    ({"to": 972501234567}, 400, "invalid_destination"),
    ({"to": None}, 400, "invalid_destination"),
    ({"from": "055-2234567"}, 400, "INVALID_FROM_NUMBER"),
    ({"from": None}, 400, "INVALID_FROM_NUMBER"),
    ({"from": "+972552299999"}, 400, "INVALID_FROM_NUMBER"),  # not a company number
    ({"from": INACTIVE_FROM_NUMBER}, 400, "INVALID_FROM_NUMBER"),  # pending_requirements
    ({"to": FROM_NUMBERS[0]}, 400, "SELF_CALL_NOT_ALLOWED"),
    ({"metadata": {"direction": "x"}}, 400, "INVALID_METADATA_RESERVED_KEY"),
    ({"metadata": {"id": 1}}, 400, "INVALID_METADATA_RESERVED_KEY"),
    ({"metadata": {"agent_name": "x"}}, 400, "INVALID_METADATA_RESERVED_KEY"),
    ({"metadata": "crm-1"}, 400, "BAD_REQUEST"),
    ({"variables": {"LeadName": 5}}, 400, "BAD_REQUEST"),
    ({"priority": "high"}, 400, "BAD_REQUEST"),
    ({"type": "web"}, 400, "BAD_REQUEST"),
    ({"agent_id": "00000000-0000-4000-8000-000000000000"}, 404, "WORKFLOW_AGENT_UNAVAILABLE"),
    ({"agent_id": "not-a-uuid"}, 404, "WORKFLOW_AGENT_UNAVAILABLE"),
    ({"agent_id": INACTIVE_AGENT_ID}, 409, "WORKFLOW_AGENT_INACTIVE"),
    ({"agent_id": UNPUBLISHED_AGENT_ID}, 409, "WORKFLOW_UNPUBLISHED"),
    ({"agent_id": None, "from": FROM_NUMBERS[1]}, 422, "AGENT_NOT_RESOLVED"),
    ({"workflow_revision_id": WORKFLOW_REVISION_ID}, 422, "WORKFLOW_PIN_INVALID"),
    ({"agent_id": WORKFLOW_AGENT_ID, "priority": 1}, 422, "WORKFLOW_REQUEST_INVALID"),
    ({"agent_id": WORKFLOW_AGENT_ID, "to": None}, 422, "WORKFLOW_REQUEST_INVALID"),
    (
        {"agent_id": WORKFLOW_AGENT_ID, "workflow_revision_id": AGENT_ID},
        404,
        "WORKFLOW_AGENT_UNAVAILABLE",
    ),
]


@pytest.mark.parametrize(("changes", "status", "code"), REFUSED)
async def test_invalid_requests_are_refused_without_a_call(
    sandbox: Sandbox, http: Any, changes: dict[str, Any], status: int, code: str
) -> None:
    got_status, answer = await post(http, sandbox, body(**changes))
    assert (got_status, answer["code"]) == (status, code)
    assert set(answer) == {"error", "code"} and answer["error"]
    assert sandbox.carrier_legs == [] and not sandbox.calls


async def test_unknown_field_is_named(sandbox: Sandbox, http: Any) -> None:
    _, answer = await post(http, sandbox, body(priority="high"))
    assert "priority" in answer["error"]


@pytest.mark.parametrize("payload", [[GOOD], "call me", 5])
async def test_body_must_be_an_object(sandbox: Sandbox, http: Any, payload: object) -> None:
    status, answer = await post(http, sandbox, payload)
    assert (status, answer["code"]) == (400, "BAD_REQUEST")


async def test_malformed_json_is_400(sandbox: Sandbox, http: Any) -> None:
    async with http(sandbox).post("/calls", data=b"{not json") as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == "BAD_REQUEST"


async def test_body_over_64_kib_is_413_with_no_effect(sandbox: Sandbox, http: Any) -> None:
    big = body(metadata={"note": "x" * 65_600})
    status, answer = await post(http, sandbox, big)
    assert (status, answer["code"]) == (413, "REQUEST_BODY_TOO_LARGE")
    assert sandbox.carrier_legs == []


async def test_body_just_under_the_limit_is_accepted(sandbox: Sandbox, http: Any) -> None:
    status, _ = await post(http, sandbox, body(metadata={"note": "x" * 60_000}))
    assert status == 201


async def test_legacy_code_for_a_bad_to(make_sandbox: Any, http: Any) -> None:
    sb = await make_sandbox(legacy_codes=True)
    status, answer = await post(http, sb, body(to="12345"))
    assert (status, answer["code"]) == (400, "INVALID_TO_NUMBER")


async def test_dialled_call_answers_201_ringing(sandbox: Sandbox, http: Any) -> None:
    status, answer = await post(http, sandbox, body(metadata={"lead": "r1"}))
    assert status == 201
    assert set(answer) == {
        "id",
        "status",
        "agent_id",
        "from",
        "to",
        "direction",
        "created_at",
        "metadata",
    }
    assert answer["status"] == "ringing" and answer["direction"] == "outbound"
    assert (answer["to"], answer["from"], answer["agent_id"]) == (TO, FROM_NUMBERS[0], AGENT_ID)
    assert answer["metadata"] == {"lead": "r1"} and answer["created_at"].endswith("Z")
    assert sandbox.carrier_legs == [TO]
    assert answer["id"] in sandbox.calls


async def test_agent_is_resolved_from_the_from_number(sandbox: Sandbox, http: Any) -> None:
    status, answer = await post(http, sandbox, body(agent_id=None))
    assert (status, answer["agent_id"]) == (201, AGENT_ID)


async def test_null_metadata_and_variables_are_accepted(sandbox: Sandbox, http: Any) -> None:
    status, answer = await post(
        http, sandbox, {**GOOD, "metadata": None, "variables": {"LeadName": None}}
    )
    assert (status, answer["metadata"]) == (201, {})


async def test_dnc_blocked_answers_200_and_writes_a_row(sandbox: Sandbox, http: Any) -> None:
    sandbox.add_dnc(TO, reason="asked us")
    status, answer = await post(http, sandbox, body())
    assert status == 200
    assert set(answer) == {
        "call_id",
        "status",
        "agent_id",
        "to",
        "from",
        "message",
        "dnc_reason",
        "started_at",
        "ended_at",
    }
    assert (answer["status"], answer["dnc_reason"]) == ("dnc_blocked", "asked us")
    row = sandbox.calls[answer["call_id"]]
    assert (row["status"], row["cost_cents"]) == ("dnc_blocked", 0)
    assert sandbox.carrier_legs == []


async def test_at_capacity_the_call_is_queued_and_dialled_later(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    sb = await make_sandbox(capacity=1, scenario=Scenario(overrides={TO: "completed"}))
    first = await post(http, sb, body())
    status, answer = await post(http, sb, body(to="+972501234568", metadata={"k": "v"}))
    assert first[0] == 201 and status == 202
    assert set(answer) == {"id", "status", "queue_position", "queued_at", "expires_at", "message"}
    assert (answer["status"], answer["queue_position"]) == ("queued", 1)
    assert answer["id"] not in sb.calls  # a queue entry id, not a call id
    await eventually(lambda: len(sb.carrier_legs) == 2)
    later = next(c for c in sb.calls.values() if c["to"] == "+972501234568")
    assert later["metadata"]["queued"] is True and later["metadata"]["k"] == "v"
    assert later["metadata"]["queue_id"] == answer["id"]
    assert later["metadata"]["queue_wait_seconds"] > 0


async def test_queued_number_put_on_dnc_while_waiting_is_not_dialled(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    sb = await make_sandbox(capacity=1)
    await post(http, sb, body())
    status, answer = await post(http, sb, body(to="+972501234568"))
    assert status == 202
    sb.add_dnc("+972501234568")
    await eventually(lambda: any(c["status"] == "dnc_blocked" for c in sb.calls.values()))
    assert sb.carrier_legs == [TO]
    blocked = next(c for c in sb.calls.values() if c["status"] == "dnc_blocked")
    assert blocked["metadata"]["queue_id"] == answer["id"]


async def test_queued_entry_that_expires_is_never_dialled(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    slow = Scenario(overrides={TO: "completed"}, ring_seconds=(50, 50), talk_seconds=(50, 50))
    sb = await make_sandbox(capacity=1, queue_ttl_seconds=10, scenario=slow)
    await post(http, sb, body())
    assert (await post(http, sb, body(to="+972501234568")))[0] == 202
    await eventually(lambda: sb.calls[next(iter(sb.calls))]["status"] == "completed")
    await eventually(lambda: not sb.world.waiting)
    assert sb.carrier_legs == [TO]


async def test_workflow_agent_answers_202_with_a_request_id(sandbox: Sandbox, http: Any) -> None:
    status, answer = await post(http, sandbox, body(agent_id=WORKFLOW_AGENT_ID))
    assert status == 202
    assert answer["request_id"] == answer["id"] and answer["call_id"] is None
    assert answer["status"] == "queued" and answer["preparation_status"] == "pending"
    assert {"run_id", "agent_id", "to", "from", "queued_at", "expires_at"} <= set(answer)


async def test_outside_the_call_window_the_call_is_scheduled(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    window = CallWindow(hours={d: (time(9), time(17)) for d in ("mon", "tue")}, timezone="UTC")
    # Monday 08:59:00 UTC: the window opens 60 clock seconds later.
    sb = await make_sandbox(call_window=window, start=datetime(2026, 1, 5, 8, 59, tzinfo=UTC))
    status, answer = await post(http, sb, body())
    assert status == 202 and answer["status"] == "scheduled"
    assert answer["scheduled_for"] == "2026-01-05T09:00:00.000Z"
    assert "request_id" not in answer and sb.carrier_legs == []
    await eventually(lambda: sb.carrier_legs == [TO])
    call = next(iter(sb.calls.values()))
    assert call["created_at"] >= "2026-01-05T09:00:00.000Z"
    assert call["metadata"]["queue_id"] == answer["id"]


async def test_handed_back_answer_has_no_id_and_is_retried_by_the_platform(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    sb = await make_sandbox(scenario=Scenario(handed_back_rate=1.0))
    status, answer = await post(http, sb, body())
    assert status == 202 and set(answer) == {"status", "message", "reason"}
    await eventually(lambda: sb.carrier_legs == [TO])


@pytest.mark.parametrize(
    ("config", "code"),
    [
        ({"balance_cents": 299}, "BILLING_ERROR"),
        ({"billing_error": "BILLING_ERROR"}, "BILLING_ERROR"),
        ({"billing_error": "SPEND_BUDGET_REACHED"}, "SPEND_BUDGET_REACHED"),
    ],
)
async def test_billing_refusals_are_402(
    make_sandbox: Any, http: Any, config: dict[str, Any], code: str
) -> None:
    sb = await make_sandbox(**config)
    status, answer = await post(http, sb, body())
    assert (status, answer["code"]) == (402, code)
    assert sb.carrier_legs == []


async def test_a_balance_runs_out_as_calls_are_charged(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    scenario = Scenario(overrides={TO: "completed"}, talk_seconds=(60, 60))
    sb = await make_sandbox(balance_cents=305, scenario=scenario)
    assert (await post(http, sb, body()))[0] == 201
    await eventually(lambda: next(iter(sb.calls.values()))["cost_cents"] is not None)
    assert (await post(http, sb, body()))[0] == 402


async def test_agent_b_is_a_second_prompt_agent(sandbox: Sandbox, http: Any) -> None:
    status, answer = await post(http, sandbox, body(agent_id=AGENT_B_ID))
    assert (status, answer["agent_id"]) == (201, AGENT_B_ID)
