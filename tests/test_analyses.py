"""What the AI learned: every talked call is followed until its analysis is final, the follow
list survives an interruption, an opt-out cancels a planned retry whenever it arrives, and
``dialer sync`` fetches what a run did not wait for. The real dispatcher and the real
sandbox, in one process on virtual time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dialer import campaign as ops
from dialer.clock import ManualClock, run_virtual
from dialer.dispatch import RunOptions, RunResult
from dialer.sandbox import Sandbox, SandboxConfig, Scenario
from dialer.sandbox.server import IN_PROCESS_URL
from dialer.store import Ledger

from .dialing import numbers, write_campaign

START = datetime(2026, 6, 3, 9, 0, tzinfo=UTC)
RETRY_COMPLETED = 'statuses = ["completed"]\nmax_attempts = 2\ndelays_minutes = [1]'


def _world(
    tmp_path: Path, scenario: Scenario, main: Callable[[Sandbox, ManualClock], Awaitable[Any]]
) -> Any:
    """Run ``main(sandbox, clock)`` against an in-process sandbox on virtual time."""
    clock = ManualClock(START)
    sandbox = Sandbox(
        SandboxConfig(scenario=scenario, rate_limit=600, opt_out_adds_dnc=False), clock=clock
    )

    async def world() -> Any:
        await sandbox.start(listen=False)
        try:
            return await main(sandbox, clock)
        finally:
            await sandbox.stop()

    return run_virtual(world(), clock)


def _connection(sandbox: Sandbox, clock: ManualClock) -> ops.Connection:
    return ops.Connection(
        IN_PROCESS_URL, sandbox.api_key, clock, account="sandbox", transport=sandbox.transport()
    )


def _talks(**fields: Any) -> Scenario:
    """Every call is answered and talked through; analyses as ``fields`` say."""
    return Scenario(
        weights={"completed": 1.0},
        ring_seconds=(2.0, 2.0),
        talk_seconds=(40.0, 60.0),
        no_transcript_rate=0.0,
        analysis_failed_rate=0.0,
        analysis_stuck_rate=0.0,
        **fields,
    )


def _attempts(db: Path, name: str) -> list[dict[str, Any]]:
    with Ledger(db) as ledger:
        return ledger.attempts_of(name)


def test_every_talked_call_keeps_its_disposition_summary_and_extracted_data(
    tmp_path: Path,
) -> None:
    toml = write_campaign(tmp_path, numbers(12, start=4000), max_live_calls=4)
    db = tmp_path / "l.db"

    async def main(sandbox: Sandbox, clock: ManualClock) -> RunResult:
        with Ledger(db) as ledger:
            conn = _connection(sandbox, clock)
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=conn)
            return await ops.dispatch(record, ledger=ledger, connection=conn, options=RunOptions())

    result = _world(tmp_path, _talks(analysis_seconds=(60.0, 120.0)), main)
    assert result.ending == "finished" and result.analyses_pending == 0
    talked = [a for a in _attempts(db, "test-campaign") if a["outcome"] == "completed"]
    assert len(talked) == 12
    for attempt in talked:
        assert attempt["analysis_status"] == "done"
        assert attempt["disposition"] and attempt["disposition_id"] and attempt["summary"]
        extracted = json.loads(attempt["extracted_data"])
        assert set(extracted) >= {"interest", "quantity"}  # every configured field is a key
        assert attempt["cost_cents"] is not None and attempt["transcript"] is None


def test_a_run_waits_a_bounded_time_then_sync_fetches_the_rest(tmp_path: Path) -> None:
    toml = write_campaign(tmp_path, numbers(5, start=4100), max_live_calls=5)
    db = tmp_path / "l.db"
    slow = _talks(analysis_seconds=(400.0, 500.0))  # later than the run waits, not stuck

    async def main(sandbox: Sandbox, clock: ManualClock) -> tuple[RunResult, RunResult, int]:
        with Ledger(db) as ledger:
            conn = _connection(sandbox, clock)
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=conn)
            options = RunOptions(analysis_wait=timedelta(seconds=30))
            first = await ops.dispatch(record, ledger=ledger, connection=conn, options=options)
            legs = len(sandbox.carrier_legs)
            later = RunOptions(analysis_wait=timedelta(minutes=15))
            synced = await ops.sync_campaign(record, ledger=ledger, connection=conn, options=later)
            assert len(sandbox.carrier_legs) == legs  # a sync places no call
            return first, synced, ledger.awaiting_analysis_count(record.name)

    first, synced, still = _world(tmp_path, slow, main)
    assert first.ending == "finished" and first.analyses_pending == 5  # said, not waited for
    assert synced.ending == "finished" and still == 0
    attempts = _attempts(db, "test-campaign")
    assert {a["analysis_status"] for a in attempts} == {"done"}
    assert all(a["summary"] for a in attempts)


def test_an_opt_out_after_a_resume_cancels_the_retry_and_goes_on_the_dnc_list(
    tmp_path: Path,
) -> None:
    """The call is retryable by policy, so its retry waits for the analysis; the run is
    interrupted before the analysis lands; the resumed run finds it in the ledger's follow
    list, and the "Do Not Call" it brings cancels the retry and is added to the list."""
    phone = numbers(1, start=4200)[0]
    extra = "[dnc]\nadd_on_opt_out = true"
    toml = write_campaign(tmp_path, [phone], retry=RETRY_COMPLETED, extra=extra)
    db = tmp_path / "l.db"
    scenario = _talks(analysis_seconds=(400.0, 400.0), dispositions={"Do Not Call": 1.0})

    async def main(sandbox: Sandbox, clock: ManualClock) -> tuple[str, str, bool]:
        with Ledger(db) as ledger:
            conn = _connection(sandbox, clock)
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=conn)
            stopper: list[ops.Stoppable] = []
            first = asyncio.ensure_future(
                ops.dispatch(
                    record,
                    ledger=ledger,
                    connection=conn,
                    options=RunOptions(),
                    on_dispatcher=stopper.append,
                )
            )
            await clock.sleep(200)  # the call ended; its analysis comes at ~460 s
            stopper[0].request_stop()
            assert (await first).ending == "interrupted"
            assert ledger.leads_of(record.name)[0]["status"] == "retry_wait"
            await ops.dispatch(record, ledger=ledger, connection=conn, options=RunOptions())
            lead = ledger.leads_of(record.name)[0]
            listed = sandbox.world.dnc.find(phone) is not None
            return lead["status"], lead["reason"], listed

    status, reason, listed = _world(tmp_path, scenario, main)
    assert status == "dnc_blocked"
    assert "asked not to be called" in reason and "retry cancelled" in reason
    assert listed
