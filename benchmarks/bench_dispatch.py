"""Dispatcher benchmarks against the in-process sandbox (issue 4).

1. Makespan: a 2,000-lead campaign at time scale 100, capacity 10, the sandbox's default
   (realistic) outcome mix and durations, the API's 60 requests/minute. Its physical bound is
   max(total line-time of the calls / capacity, requests needed / rate limit); we print the
   ratio, the 429s and 202s seen (targets: <= 1.10, 0, 0) and API requests per finished lead.
2. Dispatch ceiling: rate limit and capacity lifted, calls near-instant: leads placed and
   recorded per second, against raw aiohttp POSTs to the same sandbox in the same run.

Run: ``python -m benchmarks dispatch`` (or ``make bench``). ``BENCH_LEADS`` shrinks the
makespan run for a quick look.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from dialer import campaign as ops
from dialer.api.models import parse_place_call
from dialer.clock import parse_instant
from dialer.dispatch import RunOptions
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Sandbox, SandboxConfig, Scenario
from dialer.store import Ledger

CAMPAIGN = """name = "bench"
agent_id = "{agent}"
from = "{from_}"
leads = "leads.csv"
default_region = "IL"

[columns]
phone = "Phone"

[pacing]
max_live_calls = {cap}
requests_per_minute = {rpm}

[retry]
statuses = []
max_attempts = 1
"""


def _campaign(folder: Path, leads: int, *, cap: int, rpm: int) -> Path:
    """A campaign of ``leads`` distinct valid mobile numbers, written into ``folder``."""
    rows = "\n".join(f"053{i:07d}" for i in range(leads))
    (folder / "leads.csv").write_text("Phone\n" + rows + "\n", encoding="utf-8")
    path = folder / "bench.toml"
    path.write_text(CAMPAIGN.format(agent=AGENT_ID, from_=FROM_NUMBERS[0], cap=cap, rpm=rpm))
    return path


async def _run(sb: Sandbox, toml: Path, db: Path, options: RunOptions) -> dict[str, Any]:
    """Import and dispatch; returns clock-time makespan, requests and lead counts."""
    conn = ops.Connection(sb.base_url, sb.api_key, sb.clock, account="bench")
    with Ledger(db) as ledger:
        record, _ = await ops.prepare_run(toml, ledger=ledger, connection=conn)
        started_clock, started_wall = sb.clock.time(), time.perf_counter()
        result = await ops.dispatch(record, ledger=ledger, connection=conn, options=options)
        return {
            "makespan": sb.clock.time() - started_clock,
            "wall": time.perf_counter() - started_wall,
            "counts": result.counts,
            "placed": result.placed,
            "placing": result.placing_seconds,
        }


def _line_time(sb: Sandbox) -> float:
    """Total seconds the calls held a line (created -> ended), on the sandbox clock."""
    total = 0.0
    for call in sb.calls.values():
        if call.get("ended_at") and call.get("status") != "dnc_blocked":
            total += (_instant(call["ended_at"]) - _instant(call["created_at"])).total_seconds()
    return total


def _instant(value: Any) -> Any:
    return parse_instant(value) if isinstance(value, str) else value


async def makespan(leads: int, *, sync_interval: float = 5.0) -> list[dict[str, Any]]:
    """The 2,000-lead campaign against its physical bound.

    Polling is the only way to learn that a line freed up, so ``sync_interval`` trades
    requests for idle line time: each call waits on average half an interval before its
    line is refilled. The default (5 s) keeps the makespan within 10% of the bound; a slow
    sync (60 s) shows the other end of the trade.
    """
    config = SandboxConfig(time_scale=100.0, rate_limit=60, capacity=10, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        toml = _campaign(folder, leads, cap=10, rpm=60)
        async with Sandbox(config) as sb:
            options = RunOptions(sync_interval=sync_interval, idle_sync_interval=sync_interval * 6)
            got = await _run(sb, toml, folder / "l.db", options)
            requests = sb.request_count
            bound = max(_line_time(sb) / 10, got["placed"] / (60 / 60))
            queued, limited = sb.status_counts.get(202, 0), sb.status_counts.get(429, 0)
    finished = sum(got["counts"].values())
    return [
        {
            "bench": "makespan",
            "leads": leads,
            "sync_interval_s": sync_interval,
            "makespan_s": round(got["makespan"]),
            "bound_s": round(bound),
            "ratio": round(got["makespan"] / bound, 3),
            "target": "<=1.10",
            "429s": limited,
            "202s": queued,
            "requests_per_lead": round(requests / max(finished, 1), 3),
            "wall_s": round(got["wall"], 1),
        }
    ]


async def _raw_posts(sb: Sandbox, count: int, in_flight: int = 10) -> float:
    """Raw aiohttp POST /calls per second, ``in_flight`` at a time (the floor)."""
    headers = {"Authorization": f"Bearer {sb.api_key}", "Content-Type": "application/json"}
    queue = list(range(count))

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            i = queue.pop()
            body = {"agent_id": AGENT_ID, "to": f"+9725390{i:05d}", "from": FROM_NUMBERS[0]}
            key = {"Idempotency-Key": str(uuid.uuid4())}
            async with session.post(
                f"{sb.base_url}/calls", json=body, headers=headers | key
            ) as response:
                parse_place_call(response.status, await response.json(), replayed=False)

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(in_flight)))
        return count / (time.perf_counter() - started)


async def ceiling(leads: int = 2000) -> list[dict[str, Any]]:
    """Leads placed and recorded per second with the limits lifted, against the raw rate.

    Every lead gets a line (no line has to be freed by a sync), so this measures the placing
    path: claim, durable commit, POST through the rate budget, record the answer. Outcome
    syncs are measured by the makespan benchmark's requests per lead."""
    quick = Scenario(ring_seconds=(0.1, 0.2), talk_seconds=(0.1, 0.2), no_answer_seconds=0.2)
    config = SandboxConfig(
        time_scale=1000.0, rate_limit=10**9, capacity=10**6, seed=5, scenario=quick
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        toml = _campaign(folder, leads, cap=leads, rpm=10**7)
        async with Sandbox(config) as sb:
            raw = await _raw_posts(sb, leads)
        async with Sandbox(config) as sb:
            got = await _run(
                sb, toml, folder / "l.db", RunOptions(sync_interval=300.0, sync_overlap=5.0)
            )
    ours = got["placed"] / got["placing"]
    return [
        {
            "bench": "dispatch_ceiling",
            "leads": leads,
            "ours_per_s": round(ours),
            "raw_aiohttp_per_s": round(raw),
            "ratio": round(ours / raw, 3),
            "target": ">=0.5",
        }
    ]


def run() -> list[dict[str, Any]]:
    """Both benchmarks."""
    leads = int(os.environ.get("BENCH_LEADS", "2000"))
    rows = asyncio.run(ceiling())
    rows += asyncio.run(makespan(leads))
    rows += asyncio.run(makespan(leads, sync_interval=60.0))
    return rows


if __name__ == "__main__":
    for line in run():
        print(line)
