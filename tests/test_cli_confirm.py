"""Questions before what cannot be taken back: ``dnc remove``, and ``run`` with a live key
and many leads. A terminal gets the question; anything else gets a usage error naming --yes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dialer.cli import cli, confirm
from dialer.runner import CONFIRM_ABOVE, needs_consent
from dialer.sandbox import Sandbox, SandboxConfig
from dialer.sandbox.auth import ApiKey
from dialer.store import Ledger
from tests.dialing import numbers, write_campaign

LIVE_KEY = "ypr_live_0123456789abcdef"


async def dialer(sb: Sandbox, args: Sequence[str], *, key: str = "", answer: str = "") -> Result:
    """The command in a worker thread (this loop serves the sandbox); ``answer`` on stdin."""
    env = {"YAPPR_BASE_URL": sb.base_url, "YAPPR_API_KEY": key or sb.api_key}
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, list(args), input=answer, env=env)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a person sits at the terminal."""
    monkeypatch.setattr(confirm, "stdin_is_terminal", lambda: True)


# -- dnc remove -----------------------------------------------------------------------------


async def test_dnc_remove_without_a_terminal_needs_yes(sandbox: Sandbox, tmp_path: Path) -> None:
    entry = sandbox.add_dnc("+972531600001")
    db = str(tmp_path / "l.db")
    refused = await dialer(sandbox, ["dnc", "remove", "0531600001", "--db", db])
    assert refused.exit_code == 2
    assert refused.stdout == ""
    assert refused.stderr.endswith(
        f"Error: not removing +972531600001 (id {entry}) from the do-not-call list without "
        "confirmation, and stdin is not a terminal to ask on; add --yes to go ahead\n"
    )
    assert sandbox.world.dnc.find("+972531600001") is not None
    done = await dialer(sandbox, ["dnc", "remove", "0531600001", "-y", "--db", db])
    assert done.exit_code == 0
    assert done.stdout == f"Removed +972531600001 (id {entry}).\n"
    assert sandbox.world.dnc.find("+972531600001") is None


@pytest.mark.usefixtures("terminal")
async def test_dnc_remove_asks_and_no_keeps_the_entry(sandbox: Sandbox, tmp_path: Path) -> None:
    entry = sandbox.add_dnc("+972531600002", agent_ids=["5b0c8f4e-1d2a-4c3b-9e7f-0a1b2c3d4e5f"])
    args = ["dnc", "remove", entry, "--db", str(tmp_path / "l.db")]
    kept = await dialer(sandbox, args, answer="n\n")
    assert kept.exit_code == 1
    assert kept.stderr == (
        f"Remove +972531600002 (id {entry}) from the do-not-call list? Calls to it (agents "
        "5b0c8f4e-1d2a-4c3b-9e7f-0a1b2c3d4e5f) become possible again. [y/N]: n\n"
        "error: not confirmed: +972531600002 stays on the do-not-call list\n"
    )
    assert sandbox.world.dnc.find("+972531600002") is not None
    gone = await dialer(sandbox, args, answer="y\n")
    assert gone.exit_code == 0
    assert gone.stdout == f"Removed +972531600002 (id {entry}).\n"
    assert sandbox.world.dnc.find("+972531600002") is None


async def test_dnc_region_reads_local_numbers(sandbox: Sandbox, tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    added = await dialer(sandbox, ["dnc", "add", "(202) 555-0123", "--region", "us", "--db", db])
    assert added.exit_code == 0
    assert added.stdout.startswith("Added +12025550123 (id ")
    as_il = await dialer(sandbox, ["dnc", "remove", "(202) 555-0123", "--yes", "--db", db])
    assert as_il.exit_code == 1  # read as an Israeli number it is not on the list
    gone = await dialer(
        sandbox, ["dnc", "remove", "202 555 0123", "--region", "US", "--yes", "--db", db]
    )
    assert gone.exit_code == 0 and gone.stdout.startswith("Removed +12025550123 ")
    bad = await dialer(sandbox, ["dnc", "add", "0531600003", "--region", "XX", "--db", db])
    assert bad.exit_code == 1
    assert bad.stderr == "error: --region 'XX' is not a two-letter country code like IL or US\n"


# -- run with a live key --------------------------------------------------------------------


def test_only_a_live_key_with_many_leads_needs_consent() -> None:
    assert needs_consent(LIVE_KEY, CONFIRM_ABOVE + 1)
    assert not needs_consent(LIVE_KEY, CONFIRM_ABOVE)
    assert not needs_consent("ypr_test_0123", CONFIRM_ABOVE + 1000)
    assert not needs_consent(None, CONFIRM_ABOVE + 1)


@pytest.fixture
async def live() -> AsyncIterator[Sandbox]:
    """A sandbox that takes LIVE_KEY, fast enough for a hundred calls in a moment."""
    async with Sandbox(SandboxConfig(time_scale=5000.0, rate_limit=100_000, capacity=20)) as sb:
        sb.ctx.keys[LIVE_KEY] = ApiKey(LIVE_KEY)
        yield sb


@pytest.fixture
def big(tmp_path: Path) -> Path:
    return write_campaign(
        tmp_path,
        numbers(CONFIRM_ABOVE + 1, start=8800),
        retry="statuses = []\nmax_attempts = 1",
        max_live_calls=20,
        requests_per_minute=100_000,
    )


async def test_a_big_live_run_without_a_terminal_needs_yes(
    live: Sandbox, big: Path, tmp_path: Path
) -> None:
    db = tmp_path / "l.db"
    refused = await dialer(live, ["run", str(big), "--db", str(db)], key=LIVE_KEY)
    assert refused.exit_code == 2
    assert refused.stderr.endswith(
        "Error: not calling 101 leads of 'test-campaign' with a live key without "
        "confirmation, and stdin is not a terminal to ask on; add --yes to go ahead\n"
    )
    assert live.carrier_legs == []
    with Ledger(db) as ledger:  # imported, nothing called: the next run asks again
        assert ledger.counts("test-campaign") == {"pending": 101}
    args = ["run", str(big), "--db", str(db), "--yes", "--sync-interval", "1"]
    done = await dialer(live, args, key=LIVE_KEY)
    assert done.exit_code == 0, done.output
    assert len(live.carrier_legs) == 101


@pytest.mark.usefixtures("terminal")
async def test_a_big_live_run_asks_on_a_terminal(live: Sandbox, big: Path, tmp_path: Path) -> None:
    args = ["run", str(big), "--db", str(tmp_path / "l.db"), "--sync-interval", "1"]
    declined = await dialer(live, args, key=LIVE_KEY, answer="n\n")
    assert declined.exit_code == 1
    assert declined.stderr == (
        "Call 101 leads of 'test-campaign' with a live key (real calls, real cost)? [y/N]: n\n"
        "error: not confirmed: nothing was called. Campaign 'test-campaign' stays imported; "
        "run it again to be asked again\n"
    )
    assert live.carrier_legs == []
    accepted = await dialer(live, args, key=LIVE_KEY, answer="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert len(live.carrier_legs) == 101


async def test_a_small_live_run_is_not_asked(live: Sandbox, tmp_path: Path) -> None:
    toml = write_campaign(tmp_path, numbers(3, start=8990), retry="statuses = []")
    result = await dialer(live, ["run", str(toml), "--db", str(tmp_path / "l.db")], key=LIVE_KEY)
    assert result.exit_code == 0, result.output
    assert "?" not in result.stderr
