"""Edges of crash recovery and campaign stops, each once a way to call someone twice, call a
blocked number, or hang a run (found in review, reproduced against the sandbox, kept here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dialer import campaign as ops
from dialer.clock import parse_instant
from dialer.dispatch import RunOptions
from dialer.sandbox import Sandbox, SandboxConfig, Scenario
from dialer.store import Ledger

from .dialing import connection, legs_per_number, max_overlap, numbers, write_campaign

NO_RETRY = "statuses = []\nmax_attempts = 1"


async def test_a_stop_after_a_lost_answer_never_hands_the_lead_back(tmp_path: Path) -> None:
    """The first POST placed the call but its answer was lost; the retry met a revoked key.
    The lead must wait to be resent under the same key (never handed back as pending), and
    the resume's resend is answered by the API's replay, not a second call."""
    phones = numbers(1, start=7000)
    toml = write_campaign(tmp_path, phones, retry=NO_RETRY, max_live_calls=1)
    scenario = Scenario(weights={"completed": 1.0}, talk_seconds=(5.0, 5.0))
    config = SandboxConfig(time_scale=50.0, rate_limit=600, seed=3, scenario=scenario)
    async with Sandbox(config) as sb:
        with Ledger(tmp_path / "l.db") as ledger:
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=connection(sb))
            sb.faults.lost_answer_rate = 1.0
            sb.faults.paths = ("POST /calls",)
            key = sb.ctx.keys[sb.api_key]

            async def revoke() -> None:
                while not sb.carrier_legs:  # noqa: ASYNC110 - polling the sandbox
                    await asyncio.sleep(0.002)
                del sb.ctx.keys[sb.api_key]

            revoker = asyncio.create_task(revoke())
            first = await ops.dispatch(
                record, ledger=ledger, connection=connection(sb), options=RunOptions()
            )
            await revoker
            assert first.ending == "stopped"
            lead = ledger.leads_of(record.name)[0]
            assert lead["status"] == "resend_wait" and lead["attempts"] == 1
            sb.ctx.keys[sb.api_key] = key
            sb.faults.lost_answer_rate = 0.0
            second = await ops.dispatch(
                record, ledger=ledger, connection=connection(sb), options=RunOptions()
            )
            legs = legs_per_number(sb)
    assert second.ending == "finished"
    assert second.counts == {"completed": 1}  # found again, not re-dialed
    assert legs[phones[0]] == 1


async def test_resends_after_an_outage_respect_dnc_and_the_live_call_cap(tmp_path: Path) -> None:
    phones = numbers(6, start=7100)
    toml = write_campaign(tmp_path, phones, retry=NO_RETRY, max_live_calls=2)
    scenario = Scenario(weights={"completed": 1.0}, talk_seconds=(300.0, 300.0))
    config = SandboxConfig(time_scale=500.0, rate_limit=600, seed=3, scenario=scenario)
    async with Sandbox(config) as sb:
        with Ledger(tmp_path / "l.db") as ledger:
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=connection(sb))
            sb.faults.server_error_rate = 1.0  # nothing is placed; every lead waits to be resent
            sb.faults.paths = ("POST /calls",)
            first = await ops.dispatch(
                record, ledger=ledger, connection=connection(sb), options=RunOptions()
            )
            assert first.ending == "waiting"  # resends back off until they are far apart
            assert first.counts == {"resend_wait": 6}
            sb.faults.server_error_rate = 0.0
            sb.add_dnc(phones[0], reason="asked meanwhile")
            ledger.invalidate_dnc("sandbox")
            second = await ops.dispatch(
                record, ledger=ledger, connection=connection(sb), options=RunOptions()
            )
            legs = legs_per_number(sb)
            spans = [
                (parse_instant(c["created_at"]), parse_instant(c["ended_at"]))
                for c in sb.calls.values()
                if c.get("ended_at")
            ]
    assert second.ending == "finished"
    assert second.counts == {"dnc_blocked": 1, "completed": 5}
    assert phones[0] not in legs
    assert max(legs.values()) == 1
    assert max_overlap(spans) <= 2


async def test_a_second_run_of_the_same_campaign_joins_the_first(tmp_path: Path) -> None:
    """Two `run`s of one campaign at once (two terminals): one dispatches, the other follows
    the campaign there and ends with its result; each number is called once."""
    phones = numbers(3, start=7200)
    toml = write_campaign(tmp_path, phones, retry=NO_RETRY)
    async with Sandbox(SandboxConfig(time_scale=500.0, rate_limit=600, seed=3)) as sb:
        db = tmp_path / "l.db"
        with Ledger(db) as ledger, Ledger(db) as other:
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=connection(sb))
            options = RunOptions(control_interval=0.5)
            first, second = await asyncio.gather(
                ops.dispatch(record, ledger=ledger, connection=connection(sb), options=options),
                ops.dispatch(record, ledger=other, connection=connection(sb), options=options),
            )
            legs = legs_per_number(sb)
    assert first.ending == second.ending == "finished"
    assert second.counts == first.counts
    assert sorted(legs.values()) == [1, 1, 1]


async def test_platform_holds_still_expire_after_a_resume(tmp_path: Path) -> None:
    """Calls queued by the platform (202) whose queue entry expires are given up, also when
    the run that received the 202 was interrupted."""
    phones = numbers(3, start=7300)
    toml = write_campaign(tmp_path, phones, retry=NO_RETRY, max_live_calls=3)
    scenario = Scenario(weights={"completed": 1.0}, talk_seconds=(3000.0, 3000.0))
    config = SandboxConfig(
        time_scale=600.0,
        rate_limit=600,
        capacity=1,
        seed=3,
        scenario=scenario,
        queue_ttl_seconds=60.0,
    )
    async with Sandbox(config) as sb:
        with Ledger(tmp_path / "l.db") as ledger:
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=connection(sb))
            holder: list[object] = []
            task = asyncio.create_task(
                ops.dispatch(
                    record,
                    ledger=ledger,
                    connection=connection(sb),
                    options=RunOptions(),
                    on_dispatcher=holder.append,
                )
            )
            while ledger.counts(record.name).get("platform_queued", 0) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            holder[0].request_stop()  # type: ignore[attr-defined]
            assert (await task).ending == "interrupted"
            again = await asyncio.wait_for(
                ops.dispatch(
                    record, ledger=ledger, connection=connection(sb), options=RunOptions()
                ),
                timeout=30,
            )
    assert again.ending == "finished"
    assert again.counts.get("failed") == 2  # the two expired holds, given up
    assert again.counts.get("completed") == 1


async def test_a_local_clock_ahead_of_the_api_misses_no_outcome(tmp_path: Path) -> None:
    """Our clock runs two minutes ahead of the API's: syncs must still see every change."""
    from datetime import timedelta

    from dialer.clock import ScaledClock

    phones = numbers(8, start=7400)
    toml = write_campaign(tmp_path, phones, retry=NO_RETRY, max_live_calls=3)
    config = SandboxConfig(time_scale=300.0, rate_limit=600, seed=5)
    async with Sandbox(config) as sb:
        ahead = ScaledClock(300.0, start=sb.clock.now() + timedelta(minutes=2))
        skewed = ops.Connection(sb.base_url, sb.api_key, ahead, account="sandbox")
        with Ledger(tmp_path / "l.db") as ledger:
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=skewed)
            result = await asyncio.wait_for(
                ops.dispatch(record, ledger=ledger, connection=skewed, options=RunOptions()),
                timeout=60,
            )
        legs = legs_per_number(sb)
    assert result.ending == "finished"
    assert not set(result.counts) & {"live", "dialing", "platform_queued"}
    assert max(legs.values()) == 1 and len(legs) == 8
