"""GET /billing on the sandbox (docs/api.md §12), read raw and through YapprClient.get_billing,
and the 402s the account's billing state causes."""

from __future__ import annotations

from typing import Any

import pytest

from dialer.api import CallRequest, YapprClient
from dialer.errors import AuthError, BillingError
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Sandbox, Scenario

TO = "+972501234567"
CALL = {"agent_id": AGENT_ID, "to": TO, "from": FROM_NUMBERS[0]}


async def post_call(http: Any, sb: Sandbox) -> tuple[int, Any]:
    async with http(sb).post("/calls", json=CALL) as resp:
        return resp.status, await resp.json()


async def billing(http: Any, sb: Sandbox, key: str | None = None) -> tuple[int, Any]:
    async with http(sb, key).get("/billing") as resp:
        return resp.status, await resp.json()


def client(sb: Sandbox, key: str | None = None) -> YapprClient:
    return YapprClient(base_url=sb.base_url, api_key=key or sb.api_key, clock=sb.clock)


async def test_billing_shows_the_balance_and_what_the_month_spent(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    scenario = Scenario(overrides={TO: "completed"}, talk_seconds=(90, 90))
    sb = await make_sandbox(balance_cents=5_000, monthly_budget_cents=20_000, scenario=scenario)
    status, before = await billing(http, sb)
    assert status == 200
    assert before == {
        "balance_cents": 5_000,
        "has_payment_method": True,
        "is_suspended": False,
        "monthly_budget_cents": 20_000,
        "monthly_spend_cents": 0,
    }
    assert (await post_call(http, sb))[0] == 201
    await eventually(lambda: next(iter(sb.calls.values()))["cost_status"] == "charged")
    _, after = await billing(http, sb)
    assert (after["balance_cents"], after["monthly_spend_cents"]) == (5_000 - 24, 24)


async def test_the_client_reads_billing_and_a_key_without_the_scope_is_refused(
    sandbox: Sandbox,
) -> None:
    async with client(sandbox) as api:
        found = await api.get_billing()
    assert found.balance_cents == 10_000_000  # the sandbox's default: $100,000
    assert (found.has_payment_method, found.is_suspended) == (True, False)
    assert found.monthly_budget_cents is None and found.monthly_spend_cents == 0
    blind = sandbox.add_key(scopes={"calls:read", "calls:create"})
    async with client(sandbox, blind) as api:
        with pytest.raises(AuthError, match="billing:read"):
            await api.get_billing()


async def test_an_unlimited_sandbox_balance_reads_as_null(make_sandbox: Any) -> None:
    sb = await make_sandbox(balance_cents=None)
    async with client(sb) as api:
        assert (await api.get_billing()).balance_cents is None


@pytest.mark.parametrize(
    ("config", "code"),
    [
        ({"has_payment_method": False}, "BILLING_ERROR"),
        ({"is_suspended": True}, "BILLING_ERROR"),
        ({"monthly_budget_cents": 0}, "SPEND_BUDGET_REACHED"),
    ],
)
async def test_billing_state_refuses_calls_with_402(
    make_sandbox: Any, http: Any, config: dict[str, Any], code: str
) -> None:
    sb = await make_sandbox(**config)
    status, answer = await post_call(http, sb)
    assert (status, answer["code"]) == (402, code)
    assert sb.carrier_legs == []
    async with client(sb) as api:
        found = await api.get_billing()  # billing itself still answers
    assert found.has_payment_method is config.get("has_payment_method", True)


async def test_a_spent_monthly_budget_stops_the_next_call(
    make_sandbox: Any, http: Any, eventually: Any
) -> None:
    scenario = Scenario(overrides={TO: "completed"}, talk_seconds=(30, 30))
    sb = await make_sandbox(monthly_budget_cents=12, scenario=scenario)
    assert (await post_call(http, sb))[0] == 201
    await eventually(lambda: next(iter(sb.calls.values()))["cost_status"] == "charged")
    status, answer = await post_call(http, sb)
    assert (status, answer["code"]) == (402, "SPEND_BUDGET_REACHED")
    async with client(sb) as api:
        request = CallRequest.model_validate({"to": TO, "from": FROM_NUMBERS[0]})
        with pytest.raises(BillingError, match="budget"):
            await api.place_call(request, idempotency_key="budget-1")
