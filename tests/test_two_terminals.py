"""Two `dialer run` processes started a second apart in one folder, on one ledger and one
account, each campaign file claiming the account's whole limits: they share one rate budget
and one line pool, so the platform never queues a call (202) and never answers 429, nobody is
dialled twice, and both campaigns finish. Real subprocesses against the sandbox on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from dialer.sandbox import Sandbox, SandboxConfig

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
