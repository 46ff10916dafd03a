"""The preflight estimate of ``dialer validate``: figures from the ledger's history and the
campaign's limits, the balance from GET /billing on the real sandbox, and nothing posted."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dialer import campaign as ops
from dialer.api.models import Billing
from dialer.cli import cli
from dialer.config import load_campaign
from dialer.estimate import History, estimate, history, lines
from dialer.models import AttemptFacts, LeadMove, LeadStatus
from dialer.sandbox import Sandbox
from dialer.sandbox.catalog import ALL_SCOPES
from dialer.store import AttemptStart, Ledger
from tests.dialing import numbers, write_campaign

CAMPAIGNS = Path(__file__).resolve().parent.parent / "campaigns"
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _campaign_with_calls(
    ledger: Ledger, name: str, calls: Sequence[tuple[float, float | None, bool]]
) -> None:
    """A campaign whose leads each had one call: (duration, cost, placed) per lead."""
    phones = numbers(len(calls), start=800)
    ledger.create_campaign(
        name=name,
        agent_id="agent",
        settings={},
        campaign_file=None,
        leads_file="x.csv",
        leads_sha256=name,
        variable_names=[],
        metadata_names=[],
        rows=[(i + 1, p, p, "Asia/Jerusalem", "pending", "", "[]") for i, p in enumerate(phones)],
        now=NOW,
    )
    lead_ids = [int(lead["id"]) for lead in ledger.leads_of(name)]
    for i, (duration, cost, placed) in enumerate(calls):
        attempt = f"{name}-{i}"
        start = AttemptStart(attempt, lead_ids[i], 1, phones[i], phones[0], "{}")
        ledger.begin_attempts([(start, LeadStatus.PENDING)], now=NOW)
        move = LeadMove(LeadStatus.DIALING, LeadStatus.COMPLETED, "completed")
        facts = AttemptFacts(
            call_id=f"call-{attempt}" if placed else None,
            duration_seconds=duration,
            cost_cents=cost,
        )
        ledger.record(attempt, lead_id=lead_ids[i], now=NOW, facts=facts, move=move)


def _history_ledger(path: Path) -> None:
    with Ledger(path) as ledger:
        _campaign_with_calls(
            ledger,
            "earlier",
            [(30.0, 12.0, True), (90.0, 24.0, True), (0.0, 0.0, True), (120.0, 24.0, True)],
        )
        _campaign_with_calls(ledger, "other", [(600.0, None, True), (0.0, None, False)])
        # the campaign being validated never counts as its own history
        _campaign_with_calls(ledger, "test-campaign", [(3000.0, 9000.0, True)])


# -- the figures ----------------------------------------------------------------------------


def test_history_is_the_median_connected_call_and_the_cost_per_placed_call(
    tmp_path: Path,
) -> None:
    _history_ledger(tmp_path / "l.db")
    with Ledger(tmp_path / "l.db") as ledger:
        found = history(ledger, exclude="test-campaign")
    assert found == History(
        campaigns=2, connected=4, typical_seconds=105.0, priced=4, cost_cents=60.0
    )
    assert found.cost_per_call == 15.0
    with Ledger(tmp_path / "empty.db") as ledger:
        assert history(ledger, exclude="x") == History()


def test_the_live_call_cap_or_the_rate_limit_sets_the_pace(tmp_path: Path) -> None:
    lines_bound = load_campaign(write_campaign(tmp_path, numbers(3), max_live_calls=5))
    known = History(campaigns=1, connected=10, typical_seconds=100.0, priced=10, cost_cents=150)
    found = estimate(lines_bound, calls=100, history=known)
    assert found.calls_per_minute == pytest.approx(5 * 60 / 120)  # 100 s talk + 20 s ringing
    assert found.eta == timedelta(minutes=40)
    assert (found.cost_cents, found.max_calls) == (1500.0, 300)
    shown = dict(lines(found))
    assert shown["calls to place"] == "100 (up to 300 with retries)"
    assert (
        shown["typical call"] == "1 min 40 s (median of 10 connected calls in 1 earlier campaign)"
    )
    assert shown["time"].startswith("about 40 min at 2.5 calls/min (5 live calls at once set")
    assert shown["cost"] == "about $15.00 (15.0¢ a call over 10 calls of earlier campaigns; " + (
        "retries add to it)"
    )
    assert shown["balance"] == "not checked"

    rate_bound = load_campaign(
        write_campaign(tmp_path, numbers(3), max_live_calls=50, requests_per_minute=20)
    )
    slow = estimate(rate_bound, calls=300, history=History())
    assert slow.calls_per_minute == 10.0  # syncs take at most half of a small budget
    assert "the rate limit of 20 requests/min sets the pace" in slow.pace
    assert dict(lines(slow))["typical call"] == (
        "2 min 00 s (assumed: no connected call in this ledger yet)"
    )
    assert dict(lines(slow))["cost"] == (
        "unknown (no earlier campaign in this ledger has a call with a known cost)"
    )
    assert dict(lines(slow))["time"].startswith("about 30 min at 10.0 calls/min")


@pytest.mark.parametrize(
    ("billing", "words"),
    [
        (Billing(balance_cents=100_000), []),
        (Billing(balance_cents=250), ["under the API's $3 minimum"]),
        (Billing(balance_cents=1_000), ["estimated cost ($15.00) exceeds the balance ($10.00)"]),
        (Billing(balance_cents=5_000, is_suspended=True), ["the account is suspended"]),
        (Billing(balance_cents=5_000, has_payment_method=False), ["no payment method"]),
        (
            Billing(balance_cents=5_000, monthly_budget_cents=2_000, monthly_spend_cents=600),
            ["this month's spend ($6.00) plus the estimate ($15.00) passes the monthly budget"],
        ),
    ],
)
def test_warnings_about_money(tmp_path: Path, billing: Billing, words: list[str]) -> None:
    campaign = load_campaign(write_campaign(tmp_path, numbers(3)))
    known = History(campaigns=1, priced=10, cost_cents=150)
    found = estimate(campaign, calls=100, history=known, billing=billing)
    assert len(found.warnings) == len(words)
    for said, expected in zip(found.warnings, words, strict=True):
        assert expected in said


# -- dialer validate ------------------------------------------------------------------------


def invoke(args: Sequence[str], **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env or None)


async def invoke_on(sb: Sandbox, args: Sequence[str], key: str | None = None) -> Result:
    """Run the command in a thread while this loop serves the sandbox."""
    env = {"YAPPR_BASE_URL": sb.base_url, "YAPPR_API_KEY": key or sb.api_key}
    return await asyncio.to_thread(invoke, args, **env)


def test_validate_on_the_built_in_sandbox_prints_the_estimate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(CAMPAIGNS, tmp_path / "campaigns")
    monkeypatch.chdir(tmp_path)
    done = invoke(["validate", "campaigns/demo.toml", "--sandbox", "--db", "l.db"])
    assert done.exit_code == 0, done.output
    assert "preflight estimate" in done.output
    flat = " ".join(done.output.replace("│", " ").split())
    assert "calls to place 255 (up to 765 with retries)" in flat
    assert "2 min 00 s (assumed: no connected call in this ledger yet)" in flat
    assert "balance $100,000.00" in flat
    assert "warning" not in done.output


@pytest.mark.parametrize(
    ("balance", "warning"),
    [
        (400, "warning: the estimated cost ($6.00) exceeds the balance ($4.00)"),
        (250, "warning: the balance ($2.50) is under the API's $3 minimum"),
    ],
)
async def test_validate_warns_when_the_balance_cannot_pay(
    make_sandbox: Any, tmp_path: Path, balance: int, warning: str
) -> None:
    sb = await make_sandbox(balance_cents=balance)
    _history_ledger(tmp_path / "l.db")
    toml = write_campaign(tmp_path, numbers(40, start=900))
    done = await invoke_on(sb, ["validate", str(toml), "--db", str(tmp_path / "l.db")])
    assert done.exit_code == 0, done.output
    flat = " ".join(done.output.replace("│", " ").split())
    assert "1 min 45 s (median of 4 connected calls in 2 earlier campaigns)" in flat
    assert "about $6.00 (15.0¢ a call over 4 calls" in flat
    assert warning in flat
    assert sb.calls == {} and sb.carrier_legs == []  # nothing was posted


async def test_a_key_without_billing_scope_is_told_and_validate_goes_on(
    make_sandbox: Any, tmp_path: Path
) -> None:
    sb = await make_sandbox()
    key = sb.add_key(scopes=ALL_SCOPES - {"billing:read"})
    toml = write_campaign(tmp_path, numbers(4, start=950))
    done = await invoke_on(sb, ["validate", str(toml), "--db", str(tmp_path / "l.db")], key)
    assert done.exit_code == 0, done.output
    flat = " ".join(done.output.replace("│", " ").split())
    assert "this API key cannot read billing (scope billing:read); balance not checked" in flat


def test_without_a_key_the_estimate_still_prints(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:  # a fresh DNC cache: validate needs no API call at all
        account = ops.account_of("https://api.goyappr.com", None)  # no key: its own cache
        ledger.replace_dnc(account, [], fetched_at=datetime.now(UTC))
    toml = write_campaign(tmp_path, numbers(4, start=970))
    done = invoke(["validate", str(toml), "--db", str(db)], YAPPR_API_KEY="")
    assert done.exit_code == 0, done.output
    flat = " ".join(done.output.replace("│", " ").split())
    assert "calls to place 4 (up to 12 with retries)" in flat
    assert "no API key is set; balance not checked" in flat
