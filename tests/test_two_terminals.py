"""Two `dialer run` processes started a second apart in one folder, on one ledger and one
account, each campaign file claiming the account's whole limits: they share one rate budget
and one line pool, so the platform never queues a call (202) and never answers 429, nobody is
dialled twice, and both campaigns finish. Real subprocesses against the sandbox on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from pathlib import Path

from click.testing import CliRunner, Result

from dialer.cli import cli
from dialer.sandbox import Sandbox, SandboxConfig, Scenario

from .dialing import legs_per_number, numbers, write_campaign
from .test_crash import _dialer

ONE_CALL = "statuses = []\nmax_attempts = 1"


async def test_two_terminals_share_the_accounts_lines_and_budget(tmp_path: Path) -> None:
    renewals = numbers(40, start=7100)
    survey = numbers(40, start=7300)
    files = [
        write_campaign(tmp_path, phones, name=name, retry=ONE_CALL, max_live_calls=10,
                       requests_per_minute=300)
        for name, phones in (("renewals", renewals), ("survey", survey))
    ]  # fmt: skip
    db = tmp_path / "ledger.db"
    config = SandboxConfig(time_scale=200.0, rate_limit=300, capacity=10, seed=3)
    async with Sandbox(config) as sb:
        first = await _dialer(sb, "run", str(files[0]), "--db", str(db), "--sync-interval", "2")
        await asyncio.sleep(1.0)  # the second terminal, a second later
        second = await _dialer(sb, "run", str(files[1]), "--db", str(db), "--sync-interval", "2")
        outputs = await asyncio.wait_for(
            asyncio.gather(first.communicate(), second.communicate()), timeout=120
        )
        legs = legs_per_number(sb)
        answers = sb.status_counts
        most_live = sb.most_live
    texts = [out.decode() for out, _ in outputs]
    assert (first.returncode, second.returncode) == (0, 0), texts
    assert answers[202] == 0, answers  # nothing went into the platform's queue
    assert answers[429] == 0, answers  # no request over the account's rate
    assert most_live == 10  # together they used the account's lines, and no more
    assert set(legs) == set(renewals) | set(survey)  # both campaigns called every lead
    assert max(legs.values()) == 1
    with sqlite3.connect(db) as conn:
        states = dict(conn.execute("SELECT name, state FROM campaigns"))
    assert states == {"renewals": "finished", "survey": "finished"}
    assert "finished" in texts[1]


async def test_a_paused_campaign_whose_process_died_says_to_sync(tmp_path: Path) -> None:
    """Paused from another terminal, then the dialing process is killed with calls live:
    `dialer status` says nobody follows them and what to run; `dialer sync` records them."""
    phones = numbers(6, start=7600)
    toml = write_campaign(tmp_path, phones, retry=ONE_CALL, max_live_calls=3)
    db = str(tmp_path / "ledger.db")
    scenario = Scenario(weights={"completed": 1}, talk_seconds=(600.0, 700.0))
    config = SandboxConfig(time_scale=100.0, rate_limit=600, seed=5, scenario=scenario)
    async with Sandbox(config) as sb:
        process = await _dialer(sb, "run", str(toml), "--db", db, "--sync-interval", "1")
        for _ in range(400):  # at most 20 s
            if len(sb.carrier_legs) == 3 or process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert len(sb.carrier_legs) == 3
        paused = await asyncio.to_thread(_cli, "pause", "test-campaign", "--db", db)
        assert paused.exit_code == 0, paused.output
        process.send_signal(signal.SIGKILL)  # calls of 6-7 clock minutes are still live
        await process.communicate()
        status = json.loads(_cli("status", "test-campaign", "--db", db, "--json").stdout)
        assert status["state"] == "paused"
        assert status["live_calls"] == 3
        assert status["next_step"] == "dialer sync test-campaign (follows its 3 calls in flight)"
        env = {"YAPPR_BASE_URL": sb.base_url, "YAPPR_API_KEY": sb.api_key}
        synced = await asyncio.to_thread(
            _cli, "sync", "test-campaign", "--db", db, "--analysis-wait", "0s", env=env
        )
        assert synced.exit_code == 0, synced.output
        legs = legs_per_number(sb)
    after = json.loads(_cli("status", "test-campaign", "--db", db, "--json").stdout)
    assert (after["state"], after["live_calls"], after["next_step"]) == ("paused", 0, None)
    assert after["counts"] == {"completed": 3, "pending": 3}  # the rest wait for a resume
    assert sorted(legs.values()) == [1, 1, 1]


def _cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
