"""Campaigns under every fault the sandbox can inject: every lead ends final, nobody is dialed
twice, and the dialer itself never causes a 429."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dialer.sandbox import Sandbox, SandboxConfig

from .dialing import legs_per_number, numbers, run_campaign, write_campaign
from .figures import dialed_twice, record

FINAL = {"completed", "voicemail", "no_answer", "busy", "failed", "transferred"}


async def _faulty_run(
    tmp_path: Path, *, seed: int, leads: int = 30, rate_limit: int = 600, **faults: float
) -> tuple[dict[str, int], dict[str, int], dict[int, int]]:
    phones = numbers(leads, start=seed * 100)
    toml = write_campaign(
        tmp_path,
        phones,
        retry="statuses = []\nmax_attempts = 1",
        requests_per_minute=rate_limit,
    )
    config = SandboxConfig(time_scale=2000.0, rate_limit=rate_limit, seed=seed)
    async with Sandbox(config) as sb:
        for name, value in faults.items():
            setattr(sb.faults, name, value)
        out = await run_campaign(sb, toml, tmp_path / "l.db")
        legs = dict(legs_per_number(sb))
        statuses = dict(sb.status_counts)
        injected = sum(n for code, n in statuses.items() if code >= 500 or code == 429)
        record("faults injected (5xx, lost answers, 429s, dropped connections)", injected)
        record(
            "faults injected (5xx, lost answers, 429s, dropped connections)",
            sb.ctx.dropped_connections,
        )
        record("leads run under faults", leads)
        record("numbers dialed more often than attempted", dialed_twice(legs_per_number(sb), 1))
    assert out.result.ending == "finished"
    assert set(out.statuses()) <= FINAL, out.statuses()
    assert sum(out.statuses().values()) == leads
    return legs, dict(out.statuses()), statuses


@pytest.mark.parametrize(
    "faults",
    [
        {"server_error_rate": 0.15},
        {"lost_answer_rate": 0.15},
        {"drop_connection_rate": 0.15},
        {"latency_seconds": 3.0},
        {"server_error_rate": 0.05, "lost_answer_rate": 0.05, "drop_connection_rate": 0.05},
    ],
    ids=["5xx", "lost-503", "dropped", "slow", "mixed"],
)
async def test_faults_end_every_lead_and_dial_nobody_twice(
    tmp_path: Path, faults: dict[str, float]
) -> None:
    legs, _statuses, _http = await _faulty_run(tmp_path, seed=7, **faults)
    assert len(legs) == 30
    assert max(legs.values()) == 1


async def test_a_429_storm_is_waited_out(tmp_path: Path) -> None:
    legs, _statuses, http = await _faulty_run(tmp_path, seed=8, rate_429_storm=12)
    assert http.get(429) == 12  # exactly the forced ones: none caused by the dialer
    assert max(legs.values()) == 1


async def test_a_limit_lowered_mid_run_is_followed_without_a_429(tmp_path: Path) -> None:
    phones = numbers(40, start=4000)
    toml = write_campaign(
        tmp_path, phones, retry="statuses = []\nmax_attempts = 1", requests_per_minute=120
    )
    async with Sandbox(SandboxConfig(time_scale=300.0, rate_limit=120, seed=9)) as sb:
        task = asyncio.create_task(run_campaign(sb, toml, tmp_path / "l.db"))
        while len(sb.carrier_legs) < 10:  # noqa: ASYNC110 - polling the sandbox
            await asyncio.sleep(0.01)
        sb.set_rate_limit(20)
        out = await task
        legs = legs_per_number(sb)
        http = dict(sb.status_counts)
    assert out.result.ending == "finished"
    # The first answer after the change may be the 429 that announces it (the window had
    # already used more than the new limit); after that the dialer keeps to the new limit.
    assert http.get(429, 0) <= 1
    assert max(legs.values()) == 1 and len(legs) == 40


@pytest.mark.reliability
@pytest.mark.parametrize("seed", range(20, 26))
async def test_many_mixed_faults(tmp_path: Path, seed: int) -> None:
    legs, _statuses, _http = await _faulty_run(
        tmp_path,
        seed=seed,
        leads=120,
        server_error_rate=0.08,
        lost_answer_rate=0.08,
        drop_connection_rate=0.05,
        latency_seconds=1.0,
    )
    assert len(legs) == 120
    assert max(legs.values()) == 1
