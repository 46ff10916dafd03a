"""Kill `dialer run` with SIGKILL at random moments, resume until done: nobody is dialed twice,
no row is lost, and the ledger stays intact. The dialer runs as a real subprocess against the
sandbox served by this test on 127.0.0.1 (it discovers the sandbox's clock through GET /).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from dialer.sandbox import Sandbox, SandboxConfig

from .dialing import legs_per_number, numbers, write_campaign
from .figures import dialed_twice, record


def _env(sb: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YAPPR_")}
    return env | {"YAPPR_BASE_URL": sb.base_url, "YAPPR_API_KEY": sb.api_key}


async def _dialer(sb: Sandbox, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialer",
        *args,
        env=_env(sb),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _run_to_end(sb: Sandbox, *args: str) -> tuple[int, str]:
    process = await _dialer(sb, *args)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return int(process.returncode or 0), output.decode()


async def _kill_at_random(sb: Sandbox, rng: random.Random, *args: str) -> int | None:
    """Start the dialer, SIGKILL it after a random moment; its exit code if it ended first."""
    process = await _dialer(sb, *args)
    deadline = rng.uniform(0.6, 3.0)  # the dialer takes ~0.5 s to start
    try:
        await asyncio.wait_for(process.wait(), timeout=deadline)
        await process.communicate()
        return process.returncode
    except TimeoutError:
        process.send_signal(signal.SIGKILL)
        await process.communicate()
        return None


def _ledger_rows(db: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return list(conn.execute("SELECT phone, status, attempts FROM leads ORDER BY row"))


async def _chaos(
    tmp_path: Path, *, kills: int, seed: int, leads: int = 30, time_scale: float = 200.0
) -> None:
    rng = random.Random(seed)
    phones = numbers(leads, start=seed * 1000)
    toml = write_campaign(
        tmp_path,
        phones,
        retry='statuses = ["busy"]\nmax_attempts = 2\ndelays_minutes = [1]',
        max_live_calls=5,
    )
    db = tmp_path / "ledger.db"
    run = ["run", str(toml), "--db", str(db), "--max-wait", "30m", "--sync-interval", "2"]
    config = SandboxConfig(time_scale=time_scale, rate_limit=600, seed=seed)
    async with Sandbox(config) as sb:
        endings = [await _kill_at_random(sb, rng, *run) for _ in range(kills)]
        assert endings.count(None) >= 1  # at least one run really died mid-campaign
        code, output = await _run_to_end(
            sb, "resume", "test-campaign", "--db", str(db), "--redial-unknown", "--max-wait", "30m"
        )
        legs = legs_per_number(sb)
    assert code == 0, output
    rows = _ledger_rows(db)
    assert len(rows) == leads  # every row accounted for
    finals = {"completed", "voicemail", "no_answer", "busy", "failed", "transferred", "exhausted"}
    assert {status for _, status, _ in rows} <= finals, rows
    attempts = {phone: n for phone, _, n in rows}
    record("SIGKILLs survived", endings.count(None))
    record("leads run through crashes", leads)
    record("calls placed under crashes", sum(legs.values()))
    record("numbers dialed more often than attempted", dialed_twice(legs, attempts))
    for phone, count in legs.items():
        assert count <= attempts[phone] <= 2, (phone, count, attempts[phone])


@pytest.mark.parametrize("seed", [1, 2])
async def test_sigkill_at_random_moments_never_dials_anyone_twice(
    tmp_path: Path, seed: int
) -> None:
    await _chaos(tmp_path, kills=3, seed=seed)


@pytest.mark.reliability
@pytest.mark.parametrize("seed", range(10, 22))
async def test_many_sigkills(tmp_path: Path, seed: int) -> None:
    # slower calls, so that most kills land while calls are being placed and followed
    await _chaos(tmp_path, kills=7, seed=seed, leads=40, time_scale=40.0)


async def test_ctrl_c_drains_exits_3_and_resume_finishes(tmp_path: Path) -> None:
    phones = numbers(25, start=500)
    toml = write_campaign(tmp_path, phones, retry="statuses = []\nmax_attempts = 1")
    db = tmp_path / "ledger.db"
    async with Sandbox(SandboxConfig(time_scale=100.0, rate_limit=600, seed=4)) as sb:
        process = await _dialer(sb, "run", str(toml), "--db", str(db), "--sync-interval", "2")
        while len(sb.carrier_legs) < 5:  # noqa: ASYNC110 - polling the sandbox
            await asyncio.sleep(0.02)
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 3, output.decode()
        assert "dialer resume test-campaign" in output.decode()
        with sqlite3.connect(db) as conn:
            dialing = conn.execute("SELECT count(*) FROM leads WHERE status = 'dialing'")
            assert dialing.fetchone()[0] == 0  # in-flight requests were drained and recorded
        code, text = await _run_to_end(sb, "resume", "test-campaign", "--db", str(db))
        legs = legs_per_number(sb)
    assert code == 0, text
    assert set(legs) == set(phones)
    assert max(legs.values()) == 1
