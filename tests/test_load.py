"""Load: a 100,000-lead campaign on the sandbox with the rate limit lifted finishes with every
promise held (each number dialed at most once, every row final, the ledger intact). The dialer
runs as a real process (``python -m dialer run``); its peak memory (VmHWM, polled from /proc)
and the wall time are printed. Only under ``make reliability``.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from dialer.sandbox import Sandbox, SandboxConfig

from .dialing import legs_per_number, numbers, write_campaign
from .figures import dialed_twice, record

LEADS = int(os.environ.get("DIALER_LOAD_LEADS", "100000"))
LIVE = 200
FINAL = {"completed", "voicemail", "no_answer", "busy", "failed", "transferred", "exhausted"}


def _peak_kib(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in KiB; 0 where /proc is missing."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1])


async def _run_and_watch(sb: Sandbox, args: list[str]) -> tuple[int, str, int]:
    """Run the dialer to its end, polling its peak memory; (exit code, output, peak KiB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YAPPR_")}
    env |= {"YAPPR_BASE_URL": sb.base_url, "YAPPR_API_KEY": sb.api_key}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialer",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = asyncio.ensure_future(process.communicate())
    peak = 0
    while not output.done():
        peak = max(peak, await asyncio.to_thread(_peak_kib, process.pid))
        await asyncio.wait([output], timeout=0.5)
    out, _ = output.result()
    return int(process.returncode or 0), out.decode(errors="replace"), peak


@pytest.mark.reliability
async def test_a_hundred_thousand_leads(tmp_path: Path) -> None:
    phones = numbers(LEADS, start=2_000_000)
    toml = write_campaign(
        tmp_path,
        phones,
        retry="statuses = []\nmax_attempts = 1",
        max_live_calls=LIVE,
        requests_per_minute=1_000_000,
    )
    db = tmp_path / "ledger.db"
    config = SandboxConfig(time_scale=3000.0, rate_limit=1_000_000, capacity=LIVE, seed=21)
    started = time.monotonic()
    async with Sandbox(config) as sb:
        run = ["run", str(toml), "--db", str(db), "--sync-interval", "1", "--max-wait", "1d"]
        code, output, peak_kib = await _run_and_watch(sb, run)
        legs = legs_per_number(sb)
        requests = sb.request_count
    wall = time.monotonic() - started
    assert code == 0, output[-3000:]
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        statuses = dict(conn.execute("SELECT status, count(*) FROM leads GROUP BY status"))
    assert sum(statuses.values()) == LEADS  # every row accounted for
    assert set(statuses) <= FINAL, statuses  # every row final
    assert max(legs.values()) == 1 and set(legs) <= set(phones)  # nobody dialed twice
    assert "429" not in output
    ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    record("load test leads (one campaign)", LEADS)
    record("load test dialer peak RSS (MB)", peak_kib // 1024)
    record("load test wall time (s)", round(wall))
    record("numbers dialed more often than attempted", dialed_twice(legs, 1))
    print(
        f"\nload: {LEADS:,} leads, {len(legs):,} dialed, 0 twice, {requests:,} API requests, "
        f"wall {wall:.0f} s ({LEADS / wall:,.0f} leads/s), dialer peak RSS {peak_kib // 1024} MB "
        f"(test process with sandbox: {ours} MB); statuses {statuses}"
    )
