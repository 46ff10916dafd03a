"""The commands a user types, on the example campaigns: validate, run, status, resume."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dialer.cli import cli

CAMPAIGNS = Path(__file__).resolve().parent.parent / "campaigns"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of campaigns/ to run in, with no API key in the environment."""
    shutil.copytree(CAMPAIGNS, tmp_path / "campaigns")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YAPPR_API_KEY", raising=False)
    monkeypatch.delenv("DIALER_DB", raising=False)
    return tmp_path


def _dialer(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_validate_writes_one_status_row_per_input_row(workdir: Path) -> None:
    result = _dialer(
        "validate", "campaigns/demo.toml", "--sandbox", "--out", "statuses.csv", "--db", "l.db"
    )
    assert result.exit_code == 0, result.output
    assert "rows read" in result.output and "to call" in result.output
    with open("statuses.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["row", "phone_raw", "phone", "status", "reason", "zones"]
    assert [int(r["row"]) for r in rows] == list(range(1, 301))
    assert {r["status"] for r in rows} <= {"pending", "invalid", "duplicate", "dnc_blocked"}
    assert all(r["reason"] for r in rows if r["status"] != "pending")
    duplicate = next(r for r in rows if r["status"] == "duplicate")
    assert duplicate["reason"].startswith("duplicate of row ")


def test_validate_applies_the_suppression_file(workdir: Path) -> None:
    result = _dialer(
        "validate", "campaigns/spring-renewals.toml", "--sandbox", "--out", "s.csv", "--db", "l.db"
    )
    assert result.exit_code == 0, result.output
    with open("s.csv", encoding="utf-8-sig", newline="") as handle:
        blocked = [r for r in csv.DictReader(handle) if r["status"] == "dnc_blocked"]
    assert blocked and all("suppress.txt" in r["reason"] for r in blocked)


def test_validate_refuses_without_a_dnc_list_it_can_refresh(workdir: Path) -> None:
    result = _dialer("validate", "campaigns/demo.toml", "--db", "l.db")
    assert result.exit_code == 1
    assert "YAPPR_API_KEY" in result.output


def test_a_typo_in_the_campaign_file_is_one_line_naming_file_and_key(workdir: Path) -> None:
    path = workdir / "campaigns" / "demo.toml"
    path.write_text(path.read_text().replace("max_live_calls", "max_live_call"))
    result = _dialer("validate", str(path), "--sandbox", "--db", "l.db")
    assert result.exit_code == 1
    assert "demo.toml" in result.output and "max_live_call" in result.output
    assert "Traceback" not in result.output


def test_run_then_status_then_run_again(workdir: Path) -> None:
    run = ("run", "campaigns/demo.toml", "--sandbox", "--time-scale", "2000", "--db", "l.db")
    result = _dialer(*run, "--sync-interval", "2")
    assert result.exit_code == 0, result.output
    assert "Campaign 'demo' finished." in result.output
    status = _dialer("status", "demo", "--db", "l.db", "--json")
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert sum(report["counts"].values()) == 300
    assert report["live_calls"] == 0
    assert not set(report["counts"]) & {"pending", "dialing", "live", "platform_queued"}
    again = _dialer(*run)
    assert again.exit_code == 0, again.output
    assert "already imported from this sheet: continued it." in again.stdout


def test_status_of_an_unknown_campaign_lists_the_known_ones(workdir: Path) -> None:
    first = _dialer(
        "run", "campaigns/demo.toml", "--sandbox", "--time-scale", "2000", "--db", "l.db"
    )
    assert first.exit_code == 0, first.output
    result = _dialer("status", "nope", "--db", "l.db")
    assert result.exit_code == 1
    assert "no campaign 'nope'" in result.output and "demo" in result.output


def test_a_campaign_name_cannot_be_reused_for_another_sheet(workdir: Path) -> None:
    run = ("run", "campaigns/demo.toml", "--sandbox", "--time-scale", "2000", "--db", "l.db")
    assert _dialer(*run).exit_code == 0
    sheet = workdir / "campaigns" / "demo-leads.csv"
    sheet.write_text(sheet.read_text(encoding="utf-8") + "Extra Lead,0531234567,ORD-1,CRM-1\n")
    result = _dialer(*run)
    assert result.exit_code == 1
    assert "already in the ledger with a different lead sheet" in result.output


def test_status_prints_counts_live_calls_and_the_summary(workdir: Path) -> None:
    run = ("run", "campaigns/demo.toml", "--sandbox", "--time-scale", "2000", "--db", "l.db")
    assert _dialer(*run).exit_code == 0
    overview = _dialer("status", "--db", "l.db")
    assert overview.exit_code == 0, overview.output
    row = next(line for line in overview.output.splitlines() if " demo " in line)
    assert row.split()[1:3] == ["│", "finished"] or "finished" in row
    assert "300 / 300" in row  # leads done of all leads
    result = _dialer("status", "demo", "--db", "l.db")
    assert result.exit_code == 0, result.output
    assert "campaign demo (finished)" in result.output
    assert "live calls: 0 · share: 0% · next opening: none" in result.output
    for label in ("rows", "valid", "called", "reached", "answer rate", "talk time"):
        assert label in result.output
    assert "total" in result.output and "300" in result.output


def test_pacing_beyond_reason_is_refused(workdir: Path) -> None:
    path = workdir / "campaigns" / "demo.toml"
    path.write_text(path.read_text().replace("max_live_calls = 10", "max_live_calls = 10000000"))
    result = _dialer("validate", str(path), "--sandbox", "--db", "l.db")
    assert result.exit_code == 1
    assert "max_live_calls" in result.output


def test_transcripts_are_kept_only_when_asked_and_sync_places_nothing(workdir: Path) -> None:
    run = ("run", "campaigns/demo.toml", "--sandbox", "--time-scale", "2000", "--db", "l.db")
    assert _dialer(*run, "--with-transcripts", "--analysis-wait", "10m").exit_code == 0
    plain = ("run", "campaigns/demo.toml", "--sandbox", "--time-scale", "2000", "--db", "p.db")
    assert _dialer(*plain, "--analysis-wait", "10m").exit_code == 0
    import sqlite3

    with sqlite3.connect("l.db") as kept, sqlite3.connect("p.db") as left:
        talked = "FROM attempts WHERE analysis_status = 'done' AND outcome = 'completed'"
        assert kept.execute(f"SELECT count(*) {talked} AND transcript IS NULL").fetchone()[0] == 0
        assert (
            left.execute("SELECT count(*) FROM attempts WHERE transcript IS NOT NULL").fetchone()[0]
            == 0
        )
        before = kept.execute("SELECT count(*) FROM attempts").fetchone()[0]
    synced = _dialer("sync", "demo", "--sandbox", "--db", "l.db", "--analysis-wait", "1s")
    assert synced.exit_code == 0, synced.output
    assert "Synced 'demo'" in synced.output
    with sqlite3.connect("l.db") as kept:
        assert kept.execute("SELECT count(*) FROM attempts").fetchone()[0] == before
