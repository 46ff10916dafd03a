"""The preflight estimate ``dialer validate`` prints: how many calls, how long, how much, and
whether the account can pay for it. Nothing is posted: it reads the ledger and GET /billing.

How long: each call holds a line for its talk time plus about :data:`RING_SECONDS` of
ringing, so the live-call cap allows ``max_live_calls * 60 / (typical + ring)`` calls a
minute; each call takes one POST and the outcome syncs take about
:data:`SYNC_REQUESTS_PER_MINUTE`, so the rate limit allows ``requests_per_minute - syncs``
calls a minute. The slower of the two sets the pace. The typical call is the median length of
the connected calls of earlier campaigns in the ledger, or :data:`ASSUMED_CALL_SECONDS` (said
so) when there are none. How much: the average cost per placed call of earlier campaigns,
times the calls to place; without history it says so rather than guess.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from rich.table import Table

from dialer.api.client import YapprClient
from dialer.api.models import Billing
from dialer.campaign.connection import Connection, open_client
from dialer.config import Campaign, load_campaign
from dialer.errors import ApiError, AuthError
from dialer.reports import dollars
from dialer.store import Ledger

#: A typical call when the ledger knows none (stated as an assumption wherever it is used).
ASSUMED_CALL_SECONDS = 120.0
#: Ringing and connecting before (and whether or not) anyone answers.
RING_SECONDS = 20.0
#: What outcome syncs take from the rate limit while calls are live (one every 5 s).
SYNC_REQUESTS_PER_MINUTE = 12
#: The API refuses calls under this balance (docs/api.md §3: at least $3).
MINIMUM_BALANCE_CENTS = 300


@dataclass(frozen=True, slots=True)
class History:
    """What the ledger's earlier campaigns say about call length and cost."""

    campaigns: int = 0
    connected: int = 0  # calls with talk time
    typical_seconds: float | None = None  # their median length
    priced: int = 0  # calls whose cost is known
    cost_cents: float = 0.0  # what those cost together

    @property
    def cost_per_call(self) -> float | None:
        """Average cents per placed call (unanswered calls count, at no cost)."""
        return self.cost_cents / self.priced if self.priced else None


@dataclass(frozen=True, slots=True)
class Estimate:
    """The figures and the words ``validate`` prints."""

    calls: int
    max_calls: int
    typical_seconds: float
    typical_from: str
    calls_per_minute: float
    pace: str
    eta: timedelta
    cost_cents: float | None
    cost_from: str
    billing: Billing | None = None
    billing_note: str | None = None
    warnings: list[str] = field(default_factory=list)


def history(ledger: Ledger, *, exclude: str) -> History:
    """Call lengths and costs of every campaign in the ledger but ``exclude``."""
    calls = ledger.placed_calls(exclude=exclude)
    lengths = [float(c["duration_seconds"]) for c in calls if (c["duration_seconds"] or 0) > 0]
    costs = [float(c["cost_cents"]) for c in calls if c["cost_cents"] is not None]
    return History(
        campaigns=len({c["campaign"] for c in calls}),
        connected=len(lengths),
        typical_seconds=statistics.median(lengths) if lengths else None,
        priced=len(costs),
        cost_cents=sum(costs),
    )


async def read_billing(client: YapprClient) -> tuple[Billing | None, str | None]:
    """GET /billing, or why there is no balance to show (a key without the scope is normal)."""
    try:
        return await client.get_billing(), None
    except AuthError:
        return None, "this API key cannot read billing (scope billing:read); balance not checked"
    except ApiError as error:
        return None, f"billing could not be read ({error}); balance not checked"


async def preflight(
    campaign_path: Path, *, calls: int, ledger: Ledger, connection: Connection
) -> Estimate:
    """The estimate for ``calls`` leads of the campaign file, with the account's balance."""
    campaign = load_campaign(campaign_path)
    billing: Billing | None = None
    note: str | None = "no API key is set; balance not checked"
    if connection.api_key:
        rate = campaign.pacing.requests_per_minute
        async with open_client(connection, requests_per_minute=rate, ledger=ledger) as client:
            billing, note = await read_billing(client)
    found = history(ledger, exclude=campaign.name)
    return estimate(campaign, calls=calls, history=found, billing=billing, billing_note=note)


def estimate(
    campaign: Campaign,
    *,
    calls: int,
    history: History,
    billing: Billing | None = None,
    billing_note: str | None = None,
) -> Estimate:
    """The figures, from the campaign's limits and the ledger's history (pure)."""
    typical, typical_from = _typical(history)
    per_minute, pace = _pace(campaign, typical)
    per_call = history.cost_per_call
    cost = None if per_call is None else per_call * calls
    found = Estimate(
        calls=calls,
        max_calls=calls * campaign.retry.max_attempts,
        typical_seconds=typical,
        typical_from=typical_from,
        calls_per_minute=per_minute,
        pace=pace,
        eta=timedelta(minutes=calls / per_minute),
        cost_cents=cost,
        cost_from=_cost_from(history),
        billing=billing,
        billing_note=billing_note,
    )
    found.warnings.extend(warnings(found))
    return found


def _typical(history: History) -> tuple[float, str]:
    """The typical call length and where it comes from."""
    if history.typical_seconds is None:
        return ASSUMED_CALL_SECONDS, "assumed: no connected call in this ledger yet"
    campaigns = f"{history.campaigns} earlier campaign{'s' * (history.campaigns != 1)}"
    return (
        history.typical_seconds,
        f"median of {history.connected:,} connected calls in {campaigns}",
    )


def _pace(campaign: Campaign, typical: float) -> tuple[float, str]:
    """Calls a minute, and which limit sets it."""
    lines = campaign.pacing.max_live_calls
    rate = campaign.pacing.requests_per_minute
    by_lines = lines * 60 / (typical + RING_SECONDS)
    # Syncs never take more than half the budget: with a tiny limit they slow down too.
    by_rate = max(rate - SYNC_REQUESTS_PER_MINUTE, rate / 2)
    if by_lines <= by_rate:
        return by_lines, f"{lines} live calls at once set the pace"
    return by_rate, f"the rate limit of {rate} requests/min sets the pace"


def _cost_from(history: History) -> str:
    if history.cost_per_call is None:
        return "no earlier campaign in this ledger has a call with a known cost"
    return (
        f"{history.cost_per_call:.1f}¢ a call over {history.priced:,} calls of earlier "
        "campaigns; retries add to it"
    )


def warnings(found: Estimate) -> list[str]:
    """What could stop the campaign for money: the $3 minimum, the estimate against the
    balance and the monthly budget, a suspended account, no payment method."""
    billing, cost = found.billing, found.cost_cents
    if billing is None:
        return []
    said: list[str] = []
    if billing.is_suspended:
        said.append("the account is suspended: every call will be refused (402)")
    if billing.has_payment_method is False:
        said.append("the account has no payment method: calls may be refused (402)")
    balance = billing.balance_cents
    if balance is not None and balance < MINIMUM_BALANCE_CENTS:
        said.append(
            f"the balance ({dollars(balance)}) is under the API's $3 minimum: every call "
            "will be refused (402) until it is topped up"
        )
    elif balance is not None and cost is not None and cost > balance:
        said.append(
            f"the estimated cost ({dollars(cost)}) exceeds the balance ({dollars(balance)}): "
            "the campaign will stop (402) when the balance runs out"
        )
    budget, spent = billing.monthly_budget_cents, billing.monthly_spend_cents or 0
    if budget is not None and cost is not None and spent + cost > budget:
        said.append(
            f"this month's spend ({dollars(spent)}) plus the estimate ({dollars(cost)}) passes "
            f"the monthly budget ({dollars(budget)}): calls stop (402) when it is reached"
        )
    return said


def lines(found: Estimate) -> list[tuple[str, str]]:
    """The estimate as (label, text) pairs, in reading order."""
    cost = "unknown" if found.cost_cents is None else f"about {dollars(found.cost_cents)}"
    return [
        ("calls to place", f"{found.calls:,} (up to {found.max_calls:,} with retries)"),
        ("typical call", f"{_span(found.typical_seconds)} ({found.typical_from})"),
        (
            "time",
            f"about {_span(found.eta.total_seconds())} at {found.calls_per_minute:.1f} calls/min"
            f" ({found.pace}); calling-window closures and retries come on top",
        ),
        ("cost", f"{cost} ({found.cost_from})"),
        ("balance", _balance(found)),
    ]


def _balance(found: Estimate) -> str:
    billing = found.billing
    if billing is None:
        return found.billing_note or "not checked"
    text = "not given" if billing.balance_cents is None else dollars(billing.balance_cents)
    if billing.monthly_budget_cents is not None:
        spent = dollars(billing.monthly_spend_cents or 0)
        text += f" (monthly budget {dollars(billing.monthly_budget_cents)}, {spent} spent)"
    return text


def table(found: Estimate) -> Table:
    """The estimate as a two-column table."""
    shown = Table(title="preflight estimate", title_justify="left", show_header=False)
    shown.add_column("figure", style="bold", no_wrap=True)
    shown.add_column("value")
    for label, text in lines(found):
        shown.add_row(label, text)
    return shown


def _span(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 04 h``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s" if minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"
