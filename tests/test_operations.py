"""``dialer retry`` and ``dialer dnc``, end to end against the sandbox and a real ledger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dialer import campaign as ops
from dialer.cli import cli
from dialer.clock import parse_instant
from dialer.config import load_campaign
from dialer.errors import ConfigError
from dialer.models import AttemptFacts, LeadMove, LeadStatus
from dialer.operations import parse_expiry, parse_statuses
from dialer.sandbox import AGENT_ID, Sandbox, SandboxConfig, Scenario
from dialer.store import AttemptStart, Ledger
from tests.dialing import connection, legs_per_number, numbers, run_campaign, write_campaign

PHONES = numbers(6, start=500)
NAME = "retry-campaign"


def invoke(args: Sequence[str], **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env or None)


async def invoke_async(args: Sequence[str], sb: Sandbox) -> Result:
    """Run a command that uses the API in a worker thread while this loop serves the sandbox."""
    env = {"YAPPR_BASE_URL": sb.base_url, "YAPPR_API_KEY": sb.api_key}
    return await asyncio.to_thread(invoke, args, **env)


# -- retry ----------------------------------------------------------------------------------


async def test_retry_recycles_finished_leads_and_resume_calls_them(tmp_path: Path) -> None:
    overrides: dict[str, str | list[str]] = {
        PHONES[0]: ["no_answer", "no_answer", "completed"],  # exhausted, then reached
        PHONES[1]: ["busy", "completed"],  # busy is final under this policy
        PHONES[2]: "busy",  # busy, then put on the DNC list: held back
        PHONES[3]: "voicemail",  # not asked for
    }
    scenario = Scenario(weights={"completed": 1}, overrides=overrides)
    toml = write_campaign(
        tmp_path,
        PHONES[:5],
        name=NAME,
        retry='statuses = ["no_answer"]\nmax_attempts = 2\ndelays_minutes = [1]',
    )
    db = tmp_path / "ledger.db"
    async with Sandbox(SandboxConfig(time_scale=2000, rate_limit=600, scenario=scenario)) as sb:
        first = await run_campaign(sb, toml, db)
        assert [first.by_phone()[p]["status"] for p in PHONES[:5]] == [
            "exhausted",
            "busy",
            "busy",
            "voicemail",
            "completed",
        ]
        sb.add_dnc(PHONES[2], reason="asked by phone")
        with Ledger(db) as ledger:
            async with ops.open_client(connection(sb), requests_per_minute=600) as client:
                await ops.refresh_dnc(ledger, client, account="sandbox", now=sb.clock.now())

        done = invoke(["retry", NAME, "--status", "no_answer,busy", "--db", str(db)])
        assert done.exit_code == 0, done.output
        assert "Recycled 2 lead(s) of retry-campaign (no_answer, busy)" in done.output
        assert "Held back 1: on the DNC list." in done.output
        assert f"dialer resume {NAME}" in done.output
        with Ledger(db) as ledger:
            leads = {lead["phone"]: lead for lead in ledger.leads_of(NAME)}
        assert leads[PHONES[0]]["status"] == "retry_wait"
        assert leads[PHONES[0]]["attempts"] == 2  # counts kept
        assert leads[PHONES[0]]["reason"] == "retry round after no_answer"
        assert leads[PHONES[1]]["status"] == "retry_wait"
        assert leads[PHONES[2]]["status"] == "busy"

        second = await run_campaign(sb, toml, db, name=NAME)
        after = second.by_phone()
        assert (after[PHONES[0]]["status"], after[PHONES[0]]["attempts"]) == ("completed", 3)
        assert (after[PHONES[1]]["status"], after[PHONES[1]]["attempts"]) == ("completed", 2)
        assert after[PHONES[2]]["status"] == "busy"
        legs = legs_per_number(sb)
        assert (legs[PHONES[0]], legs[PHONES[1]], legs[PHONES[2]], legs[PHONES[3]]) == (3, 2, 1, 1)


def _ledger_with(
    folder: Path,
    outcomes: Sequence[tuple[str, str | None]],
    *,
    analyses: Sequence[str | None] = (),
) -> Ledger:
    """A campaign whose leads each ended one call: (outcome, disposition) per lead, and
    optionally each call's analysis status."""
    ledger = Ledger(folder / "ledger.db")
    now = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    campaign = load_campaign(write_campaign(folder, PHONES, name=NAME))
    settings = campaign.model_dump(mode="json", by_alias=True)
    ledger.create_campaign(
        name=NAME,
        agent_id=AGENT_ID,
        settings=settings,
        campaign_file=None,
        leads_file="x.csv",
        leads_sha256="0",
        variable_names=[],
        metadata_names=[],
        rows=[
            (i + 1, p, p, "Asia/Jerusalem", "pending", "", "[]")
            for i, p in enumerate(PHONES[: len(outcomes)])
        ],
        now=now,
    )
    for i, (outcome, disposition) in enumerate(outcomes):
        start = AttemptStart(f"a{i}", i + 1, 1, PHONES[i], PHONES[5], "{}")
        ledger.begin_attempts([(start, LeadStatus.PENDING)], now=now)
        move = LeadMove(LeadStatus.DIALING, LeadStatus(outcome), outcome)
        analysis = analyses[i] if i < len(analyses) else None
        facts = AttemptFacts(outcome=outcome, disposition=disposition, analysis_status=analysis)
        ledger.record(f"a{i}", lead_id=i + 1, now=now, facts=facts, move=move)
    return ledger


def test_retry_waits_as_asked_and_skips_do_not_call(tmp_path: Path) -> None:
    outcomes = [("no_answer", None), ("completed", "Do Not Call"), ("completed", "Interested")]
    _ledger_with(tmp_path, outcomes).close()
    db = str(tmp_path / "ledger.db")
    before = datetime.now(UTC)
    done = invoke(["retry", NAME, "--status", "completed, no_answer", "--after", "2h", "--db", db])
    assert done.exit_code == 0, done.output
    assert "Recycled 2 lead(s)" in done.output
    assert "Held back 1: asked not to be called." in done.output
    with Ledger(db) as ledger:
        leads = ledger.leads_of(NAME)
    assert [lead["status"] for lead in leads] == ["retry_wait", "completed", "retry_wait"]
    due = parse_instant(leads[0]["next_attempt_at"])
    stored = timedelta(milliseconds=1)  # the ledger keeps milliseconds
    assert before + timedelta(hours=2) - stored <= due <= datetime.now(UTC) + timedelta(hours=2)
    again = invoke(["retry", NAME, "--status", "busy", "--db", db])
    assert again.exit_code == 0
    assert "Recycled 0 lead(s)" in again.output
    assert "resume" not in again.output


DISPOSED = [
    ("completed", "Call Back Later"),
    ("voicemail", "call back later "),  # any case, stray spaces
    ("completed", "Interested"),
    ("no_answer", None),
    ("completed", "Do Not Call"),
]


def _statuses(db: str) -> list[str]:
    with Ledger(db) as ledger:
        return [lead["status"] for lead in ledger.leads_of(NAME)]


def test_retry_by_disposition_matches_the_last_call_in_any_case(tmp_path: Path) -> None:
    _ledger_with(tmp_path, DISPOSED).close()
    db = str(tmp_path / "ledger.db")
    done = invoke(["retry", NAME, "--disposition", "CALL BACK LATER", "--db", db])
    assert done.exit_code == 0, done.output
    assert 'Recycled 2 lead(s) of retry-campaign (disposition "CALL BACK LATER")' in done.output
    assert "Held back" not in done.output and f"dialer resume {NAME}" in done.output
    assert _statuses(db) == ["retry_wait", "retry_wait", "completed", "no_answer", "completed"]


def test_retry_by_disposition_and_status_together(tmp_path: Path) -> None:
    _ledger_with(tmp_path, DISPOSED).close()
    db = str(tmp_path / "ledger.db")
    args = ["retry", NAME, "--status", "no_answer", "--disposition", "Interested"]
    done = invoke([*args, "--disposition", "Call Back Later,Do-not-care", "--db", db])
    assert done.exit_code == 0, done.output
    assert (
        "Recycled 4 lead(s) of retry-campaign (no_answer; disposition "
        '"Interested", "Call Back Later", "Do-not-care")'
    ) in done.output
    assert (
        'No finished lead\'s last call has disposition "Do-not-care" (they have: '
        '"Call Back Later", "Do Not Call", "Interested", "call back later").'
    ) in done.output
    assert _statuses(db) == ["retry_wait"] * 4 + ["completed"]


def test_opt_outs_are_never_recycled(tmp_path: Path) -> None:
    _ledger_with(tmp_path, DISPOSED).close()
    db = str(tmp_path / "ledger.db")
    asked = invoke(["retry", NAME, "--disposition", "Interested, do not call", "--db", db])
    assert asked.exit_code == 1
    assert 'error: --disposition "Do Not Call": these callees asked not to be called' in (
        asked.output
    )
    by_status = invoke(["retry", NAME, "--status", "completed", "--db", db])
    assert by_status.exit_code == 0, by_status.output
    assert "Recycled 2 lead(s)" in by_status.output
    assert "Held back 1: asked not to be called." in by_status.output
    assert _statuses(db)[4] == "completed"


def test_a_call_whose_analysis_is_pending_is_held_back(tmp_path: Path) -> None:
    outcomes = [("completed", None), ("completed", None)]
    _ledger_with(tmp_path, outcomes, analyses=["pending", "done"]).close()
    db = str(tmp_path / "ledger.db")
    done = invoke(["retry", NAME, "--status", "completed", "--db", db])
    assert done.exit_code == 0, done.output
    assert "Recycled 1 lead(s)" in done.output
    assert "Held back 1: last call's analysis still pending (try again later)." in done.output
    assert _statuses(db) == ["completed", "retry_wait"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "say which leads to call again: --status no_answer,busy, --disposition"),
        (["--disposition", " , "], 1, "--disposition is empty"),
    ],
)
def test_retry_needs_a_status_or_a_disposition(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    _ledger_with(tmp_path, DISPOSED).close()
    done = invoke(["retry", NAME, *args, "--db", str(tmp_path / "ledger.db")])
    assert done.exit_code == code
    assert message in done.output
    assert "Traceback" not in done.output


async def test_retry_by_disposition_end_to_end_on_the_sandbox(tmp_path: Path) -> None:
    """Dispositions the run learned from the sandbox's analyses pick who is called again."""
    scenario = Scenario(
        weights={"completed": 1},
        dispositions={"Call Back Later": 1},
        overrides={PHONES[0]: "opt_out", PHONES[1]: "voicemail"},
        analysis_failed_rate=0.0,
        analysis_stuck_rate=0.0,
        no_transcript_rate=0.0,
    )
    toml = write_campaign(tmp_path, PHONES[:4], name=NAME, extra="[dnc]\nadd_on_opt_out = true")
    db = tmp_path / "ledger.db"
    config = SandboxConfig(time_scale=2000, rate_limit=600, scenario=scenario)
    async with Sandbox(config) as sb:
        first = await run_campaign(sb, toml, db)
        dispositions = [a["disposition"] for a in sorted(first.attempts, key=lambda a: a["phone"])]
        assert dispositions == ["Do Not Call", "Voicemail", "Call Back Later", "Call Back Later"]
        done = invoke(["retry", NAME, "--disposition", "call back later", "--db", str(db)])
        assert done.exit_code == 0, done.output
        assert "Recycled 2 lead(s)" in done.output
        await run_campaign(sb, toml, db, name=NAME)
        legs = legs_per_number(sb)
    assert [legs[p] for p in PHONES[:4]] == [1, 1, 2, 2]


def test_retry_exhausted_brings_back_every_exhausted_lead(tmp_path: Path) -> None:
    with _ledger_with(tmp_path, [("exhausted", None), ("busy", None)]) as ledger:
        moved = ops_recycle(ledger, ["exhausted"])
    assert moved == 1


def ops_recycle(ledger: Ledger, statuses: list[str]) -> int:
    from dialer.operations import recycle

    now = datetime.now(UTC)
    return recycle(ledger, NAME, statuses, after=timedelta(0), now=now).recycled


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["retry", "nope", "--status", "busy"], "no campaign 'nope' in"),
        (["retry", NAME, "--status", "busy,dnc_blocked"], "unknown status dnc_blocked; choose"),
        (["retry", NAME, "--status", " , "], "--status ' , ': empty; choose from"),
    ],
)
def test_retry_bad_input_is_one_line_and_exit_1(
    tmp_path: Path, args: list[str], message: str
) -> None:
    _ledger_with(tmp_path, [("busy", None)]).close()
    done = invoke([*args, "--db", str(tmp_path / "ledger.db")])
    assert done.exit_code == 1
    assert message in done.output
    assert "Traceback" not in done.output


def test_retry_bad_delay_is_a_usage_error(tmp_path: Path) -> None:
    done = invoke(["retry", NAME, "--status", "busy", "--after", "soon"])
    assert done.exit_code == 2
    assert "'soon' is not a duration" in done.output


def test_parse_statuses_and_expiry() -> None:
    assert parse_statuses("No_Answer, busy") == ["no_answer", "busy"]
    now = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert parse_expiry("30d", now=now) == now + timedelta(days=30)
    assert parse_expiry("90m", now=now) == now + timedelta(minutes=90)
    assert parse_expiry("2026-12-31", now=now) == datetime(2026, 12, 31, tzinfo=UTC)
    assert parse_expiry("2026-12-31T18:00+02:00", now=now) == datetime(2026, 12, 31, 16, tzinfo=UTC)
    with pytest.raises(ConfigError, match="is in the past"):
        parse_expiry("2020-01-01", now=now)
    with pytest.raises(ConfigError, match="use an ISO date"):
        parse_expiry("next week", now=now)


# -- dnc ------------------------------------------------------------------------------------


async def test_dnc_add_list_sync_remove_end_to_end(sandbox: Sandbox, tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    add = ["dnc", "add", "053-150-0001", "--reason", "asked", "--expires", "30d", "--db", db]
    done = await invoke_async([*add, "--agent", AGENT_ID], sandbox)
    assert done.exit_code == 0, done.output
    assert "Added +972531500001 (id " in done.output
    again = await invoke_async(add, sandbox)
    assert again.exit_code == 0, again.output
    assert "Already on the list: +972531500001" in again.output

    listed = await invoke_async(["dnc", "list", "--json"], sandbox)
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.output)
    assert entry["phone_number"] == "+972531500001"
    assert entry["agent_ids"] == [AGENT_ID]
    assert entry["reason"] == "asked"
    expires = parse_instant(entry["expires_at"]) - sandbox.clock.now()
    assert timedelta(days=29) < expires <= timedelta(days=30)
    account = ops.account_of(sandbox.base_url, sandbox.api_key)
    with Ledger(db) as ledger:  # add refreshed the cache
        assert [e["phone_number"] for e in ledger.dnc_entries(account)] == ["+972531500001"]

    other = sandbox.add_dnc("+972531500002", reason="dashboard")
    synced = await invoke_async(["dnc", "sync", "--db", db], sandbox)
    assert synced.exit_code == 0, synced.output
    assert "2 entries" in synced.output
    table = await invoke_async(["dnc", "list"], sandbox)
    assert "+972531500002" in table.output and "all agents" in table.output

    by_number = await invoke_async(["dnc", "remove", "0531500001", "--yes", "--db", db], sandbox)
    assert by_number.exit_code == 0, by_number.output
    assert "Removed +972531500001" in by_number.output
    by_id = await invoke_async(["dnc", "remove", other, "--yes", "--db", db], sandbox)
    assert by_id.exit_code == 0, by_id.output
    assert f"Removed +972531500002 (id {other})" in by_id.output
    with Ledger(db) as ledger:
        assert ledger.dnc_entries(account) == []
    missing = await invoke_async(["dnc", "remove", "0531500003", "--db", db], sandbox)
    assert missing.exit_code == 1
    assert "0531500003 is not on the do-not-call list" in missing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dnc", "add", "12"], "'12' is not a number that can be called"),
        (["dnc", "add", "0531500001", "--expires", "2001-01-01"], "is in the past"),
        (["dnc", "add", "0531500001", "--expires", "soon"], "use an ISO date"),
    ],
)
async def test_dnc_add_bad_input(
    sandbox: Sandbox, tmp_path: Path, args: list[str], message: str
) -> None:
    done = await invoke_async([*args, "--db", str(tmp_path / "l.db")], sandbox)
    assert done.exit_code == 1
    assert message in done.output


def test_dnc_without_a_key_says_what_to_do(tmp_path: Path) -> None:
    done = invoke(["dnc", "list"], YAPPR_API_KEY="", YAPPR_BASE_URL="http://127.0.0.1:9")
    assert done.exit_code == 1
    assert "YAPPR_API_KEY is not set" in done.output


def test_dnc_sandbox_flag(tmp_path: Path) -> None:
    done = invoke(["dnc", "sync", "--sandbox", "--db", str(tmp_path / "l.db")])
    assert done.exit_code == 0, done.output
    assert "DNC list cached" in done.output


def test_status_says_to_stop_again_when_a_stop_was_cut_short(tmp_path: Path) -> None:
    """A person stopped the campaign and its process died before it finished the stop."""
    with _ledger_with(tmp_path, [("no_answer", None)]) as ledger:
        now = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
        ledger.set_campaign_state(NAME, "running", now=now)
        ledger.set_control(NAME, "stop", now=now)
        status = ops.campaign_status(ledger, NAME)
    assert status["state"] == "stopping"
    assert status["next_step"] == f"dialer stop {NAME} (cancels the leads not yet called)"
