"""Whole campaigns dispatched against the real sandbox (in this process, on virtual time),
into real SQLite files.

Each test asserts what a user would see: lead statuses, attempts, who got a real call (the
sandbox's carrier legs), and how the run ended.
"""

from __future__ import annotations

import asyncio
from datetime import time, timedelta
from pathlib import Path

from dialer import campaign as ops
from dialer.dispatch import RunOptions
from dialer.sandbox import (
    AGENT_B_ID,
    AGENT_ID,
    INACTIVE_AGENT_ID,
    WORKFLOW_AGENT_ID,
    Faults,
    Sandbox,
    SandboxConfig,
    Scenario,
)
from dialer.sandbox.window import DAYS, CallWindow
from dialer.store import Ledger

from .dialing import (
    SEED,
    Outcome,
    VirtualSandbox,
    connection,
    legs_per_number,
    max_overlap,
    numbers,
    run_campaign,
    run_virtual_campaign,
    write_campaign,
)


def _config(**overrides: object) -> SandboxConfig:
    settings: dict[str, object] = {"rate_limit": 600, "seed": 3}
    settings.update(overrides)
    return SandboxConfig(**settings)  # type: ignore[arg-type]


def test_every_lead_ends_final_and_nobody_is_called_twice(tmp_path: Path) -> None:
    phones = numbers(40)
    toml = write_campaign(tmp_path, phones, retry="statuses = []\nmax_attempts = 1")
    out, sb = run_virtual_campaign(_config(), toml, tmp_path / "l.db")
    legs = legs_per_number(sb)
    assert out.result.ending == "finished"
    assert sum(out.statuses().values()) == 40
    assert set(out.statuses()) <= {
        "completed",
        "voicemail",
        "no_answer",
        "busy",
        "failed",
        "transferred",
    }
    assert set(legs) == set(phones)
    assert max(legs.values()) == 1
    assert all(a["call_id"] and a["outcome"] for a in out.attempts)


def test_live_calls_never_exceed_the_cap_and_the_platform_queue_stays_empty(
    tmp_path: Path,
) -> None:
    toml = write_campaign(tmp_path, numbers(30), max_live_calls=4)
    _, sb = run_virtual_campaign(_config(capacity=10), toml, tmp_path / "l.db")
    spans = [(c["created_at"], c["ended_at"]) for c in sb.calls.values() if c.get("ended_at")]
    status_counts = dict(sb.status_counts)
    assert len(spans) >= 30
    assert max_overlap(spans) == 4  # never above the cap, and the cap is used
    assert status_counts.get(202, 0) == 0
    assert status_counts.get(429, 0) == 0


def test_dnc_entries_global_and_for_this_agent_are_never_dialed(tmp_path: Path) -> None:
    phones = numbers(6)
    toml = write_campaign(tmp_path, phones)

    def listed(sb: Sandbox) -> None:
        sb.add_dnc(phones[0], reason="asked")  # global
        sb.add_dnc(phones[1], agent_ids=(AGENT_ID,))  # this campaign's agent
        sb.add_dnc(phones[2], agent_ids=(AGENT_B_ID,))  # another agent: may be called
        expired = sb.clock.now() - timedelta(days=1)
        sb.add_dnc(phones[3], expires_at=expired)  # expired: may be called

    out, sb = run_virtual_campaign(_config(), toml, tmp_path / "l.db", before=listed)
    legs = legs_per_number(sb)
    leads = out.by_phone()
    assert leads[phones[0]]["status"] == "dnc_blocked"
    assert leads[phones[1]]["status"] == "dnc_blocked"
    assert "dnc" in leads[phones[0]]["reason"]
    assert phones[0] not in legs and phones[1] not in legs
    assert legs[phones[2]] >= 1 and legs[phones[3]] >= 1


def test_a_number_blocked_after_the_cache_was_taken_is_recorded_from_the_api(
    tmp_path: Path,
) -> None:
    phones = numbers(3)
    toml = write_campaign(tmp_path, phones)
    db = tmp_path / "l.db"

    async def main(sb: Sandbox) -> Outcome:
        with Ledger(db) as ledger:  # import (and cache the DNC list) before the entry exists
            await ops.prepare_run(toml, ledger=ledger, connection=connection(sb))
        sb.add_dnc(phones[1], reason="called the office")
        return await run_campaign(sb, toml, db, name="test-campaign")

    world = VirtualSandbox(_config())
    out = world.run(main)
    legs = legs_per_number(world.sandbox)
    lead = out.by_phone()[phones[1]]
    assert lead["status"] == "dnc_blocked"
    assert lead["reason"].startswith("dnc: api")
    assert phones[1] not in legs


def test_faults_and_lost_answers_never_double_dial(tmp_path: Path) -> None:
    phones = numbers(40)
    toml = write_campaign(tmp_path, phones, retry="statuses = []\nmax_attempts = 1")
    faults = Faults(server_error_rate=0.05, lost_answer_rate=0.05)
    out, sb = run_virtual_campaign(_config(faults=faults), toml, tmp_path / "l.db")
    legs = legs_per_number(sb)
    assert sb.status_counts[503] > 0  # the faults did happen
    assert out.result.ending == "finished"
    assert max(legs.values()) == 1
    assert out.statuses().get("unknown", 0) == 0
    assert sum(out.statuses().values()) == 40


def test_retries_follow_the_policy_until_exhausted(tmp_path: Path) -> None:
    phones = numbers(3)
    toml = write_campaign(tmp_path, phones)
    scenario = Scenario(overrides={phones[0]: "busy", phones[1]: ["no_answer", "completed"]})
    out, sb = run_virtual_campaign(_config(scenario=scenario), toml, tmp_path / "l.db")
    legs = legs_per_number(sb)
    leads = out.by_phone()
    assert leads[phones[0]]["status"] == "exhausted"
    assert leads[phones[0]]["reason"] == "busy after 3 attempts"
    assert legs[phones[0]] == 3
    assert leads[phones[1]]["status"] == "completed"
    assert legs[phones[1]] == 2


def test_an_inactive_agent_stops_the_campaign_without_using_up_leads(
    tmp_path: Path,
) -> None:
    toml = write_campaign(tmp_path, numbers(5), agent_id=INACTIVE_AGENT_ID)
    out, sb = run_virtual_campaign(_config(), toml, tmp_path / "l.db")
    legs = legs_per_number(sb)
    assert out.result.ending == "stopped"
    assert out.result.stop_error is not None
    assert out.result.stop_error.status == 409
    assert out.statuses() == {"pending": 5}
    assert all(lead["attempts"] == 0 for lead in out.leads)
    assert not legs


def test_a_workflow_agent_is_followed_through_its_call_request(tmp_path: Path) -> None:
    phones = numbers(4)
    toml = write_campaign(tmp_path, phones, agent_id=WORKFLOW_AGENT_ID)
    out, sb = run_virtual_campaign(_config(), toml, tmp_path / "l.db")
    legs = legs_per_number(sb)
    assert out.result.ending == "finished"
    assert all(a["request_id"] for a in out.attempts)
    assert all(legs[p] <= 3 for p in phones)
    assert not set(out.statuses()) & {"platform_queued", "live", "dialing"}


def test_outside_the_calling_window_leads_wait_and_the_run_says_when(
    tmp_path: Path,
) -> None:
    world = VirtualSandbox(_config())
    now = world.clock.now()
    today = now.strftime("%a").lower()[:3]
    days = [d for d in ("sun", "mon", "tue", "wed", "thu", "fri", "sat") if d != today]
    window = f'\n[window]\ndays = {days!r}\nstart = "09:00"\nend = "17:00"\ntimezone = "UTC"'
    toml = write_campaign(tmp_path, numbers(3), extra=window.replace("'", '"'))
    out = world.run(lambda sb: run_campaign(sb, toml, tmp_path / "l.db"))
    legs = legs_per_number(world.sandbox)
    assert out.result.ending == "waiting"
    assert out.statuses() == {"scheduled": 3}
    assert out.result.next_due is not None and out.result.next_due > now
    assert not legs


def test_stopping_mid_run_then_resuming_finishes_without_double_calls(
    tmp_path: Path,
) -> None:
    phones = numbers(30)
    toml = write_campaign(tmp_path, phones, retry="statuses = []\nmax_attempts = 1")
    db = tmp_path / "l.db"
    world = VirtualSandbox(_config())
    before_resume: list[int] = []

    async def main(sb: Sandbox) -> Outcome:
        holder: list[ops.Stoppable] = []
        with Ledger(db) as ledger:
            record, _ = await ops.prepare_run(toml, ledger=ledger, connection=connection(sb))
            task = asyncio.create_task(
                ops.dispatch(
                    record,
                    ledger=ledger,
                    connection=connection(sb),
                    options=RunOptions(sync_interval=2.0, seed=SEED),
                    on_dispatcher=holder.append,
                )
            )
            await world.until(lambda: len(sb.carrier_legs) >= 8)
            holder[0].request_stop()
            first = await task
        assert first.ending == "interrupted"
        before_resume.append(len(sb.carrier_legs))
        return await run_campaign(sb, toml, db, name="test-campaign")

    out = world.run(main)
    legs = legs_per_number(world.sandbox)
    assert 8 <= before_resume[0] < 30  # the stop came mid-run: the resume had leads to call
    assert out.result.ending == "finished"
    assert set(legs) == set(phones)
    assert max(legs.values()) == 1


def test_an_opt_out_goes_on_the_company_list_and_later_campaigns_skip_it(
    tmp_path: Path,
) -> None:
    phones = numbers(4, start=900)
    first = write_campaign(tmp_path, phones, name="first", extra="[dnc]\nadd_on_opt_out = true")
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second = write_campaign(second_dir, phones, name="second")
    scenario = Scenario(overrides={phones[0]: "opt_out", phones[1]: "no_answer"})
    db = tmp_path / "l.db"

    async def main(sb: Sandbox) -> Outcome:
        out = await run_campaign(sb, first, db)
        assert out.by_phone()[phones[0]]["status"] == "completed"
        return await run_campaign(sb, second, db)

    # the platform's own opt-out rule is off, so only the dialer can put the number on the list
    world = VirtualSandbox(_config(scenario=scenario, opt_out_adds_dnc=False))
    later = world.run(main)
    legs = legs_per_number(world.sandbox)
    lead = later.by_phone()[phones[0]]
    assert lead["status"] == "dnc_blocked"
    assert "opted out" in lead["reason"]
    assert legs[phones[0]] == 1


def test_a_call_the_platform_scheduled_hours_away_is_not_polled_all_that_time(
    tmp_path: Path,
) -> None:
    """The workspace's own call window opens at 13:00 UTC; the run starts at 09:00, so the
    platform schedules the call (202) four hours ahead. The run follows it to its end with a
    sync every ten minutes or so, not every 30 s (which would be ~480 requests)."""
    workspace = CallWindow(hours={d: (time(13), time(17)) for d in DAYS}, timezone="UTC")
    config = _config(call_window=workspace, scenario=Scenario(weights={"completed": 1}))
    toml = write_campaign(tmp_path, numbers(1), retry="statuses = []\nmax_attempts = 1")
    out, sb = run_virtual_campaign(config, toml, tmp_path / "l.db")
    assert out.result.ending == "finished"
    assert out.statuses() == {"completed": 1}
    assert out.attempts[0]["shape"] == "scheduled"
    assert sum(sb.status_counts.values()) < 60, sb.status_counts
