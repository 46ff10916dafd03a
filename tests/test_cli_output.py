"""Where output goes: the result on stdout (tables, or JSON with --json); progress, notes,
logs and errors on stderr; -q, -v and --log-file; numbers masked and no key in any log."""

from __future__ import annotations

import json
import logging
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dialer.cli import cli
from dialer.logs import Masking
from tests.dialing import numbers, write_campaign

PHONES = numbers(8, start=4100)
RETRY = 'statuses = ["no_answer"]\nmax_attempts = 2\ndelays_minutes = [1]'


@pytest.fixture
def campaign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small campaign file in an empty working folder, with no key in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YAPPR_API_KEY", raising=False)
    monkeypatch.delenv("DIALER_DB", raising=False)
    return write_campaign(tmp_path, PHONES, retry=RETRY)


def dialer(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


RUN = ("--sandbox", "--time-scale", "2000", "--sync-interval", "1", "--db", "l.db")


def test_a_quiet_run_prints_only_its_result(campaign: Path) -> None:
    result = dialer("-q", "run", str(campaign), *RUN)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[0] == "campaign test-campaign"
    assert result.stdout.endswith("Campaign 'test-campaign' finished.\n")


def test_a_piped_run_shows_no_progress_unless_verbose(campaign: Path) -> None:
    plain = dialer("run", str(campaign), *RUN)
    assert plain.exit_code == 0
    assert plain.stderr == ""  # progress lines are info: -v shows them
    verbose = dialer("-v", "run", str(campaign), *RUN)
    assert verbose.exit_code == 0
    lines = verbose.stderr.splitlines()
    assert any(" INFO dialer.runner: sandbox at http://127.0.0.1:" in line for line in lines)
    assert any(" INFO dialer.progress: " in line and "leads final" in line for line in lines)
    assert "dialer." not in verbose.stdout


def test_run_json_is_the_whole_stdout(campaign: Path) -> None:
    result = dialer("run", str(campaign), *RUN, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["campaign"] == "test-campaign"
    assert (data["ending"], data["exit_code"], data["continued"]) == ("finished", 0, False)
    assert data["message"] == "Campaign 'test-campaign' finished."
    assert sum(data["counts"].values()) == len(PHONES)
    assert data["summary"]["rows"] == len(PHONES)
    again = json.loads(
        dialer("resume", "test-campaign", *RUN[:-2], "--db", "l.db", "--json").stdout
    )
    assert (again["ending"], again["counts"]) == ("finished", data["counts"])


def test_validate_report_and_retry_json(campaign: Path) -> None:
    checked = dialer("validate", str(campaign), "--sandbox", "--db", "l.db", "--json")
    assert checked.exit_code == 0
    validated = json.loads(checked.stdout)
    assert validated.pop("estimate")["calls to place"] == "8 (up to 16 with retries)"
    assert validated == {
        "campaign_file": str(campaign),
        "counts": {
            "rows read": 8,
            "duplicate": 0,
            "dnc_blocked": 0,
            "no_window": 0,
            "outside window now": 0,
            "to call": 8,
        },
        "statuses_csv": "test-campaign.validation.csv",
        "encoding": "utf-8 (detected)",
        "warnings": [],
    }
    assert dialer("run", str(campaign), *RUN).exit_code == 0
    written = dialer("report", "test-campaign", "--out", "r.csv", "--db", "l.db", "--json")
    report = json.loads(written.stdout)
    assert (report["campaign"], report["report"]) == ("test-campaign", "r.csv")
    assert report["summary"]["rows"] == 8 and Path("r.csv").exists()
    recycled = dialer("retry", "test-campaign", "--status", "no_answer", "--db", "l.db", "--json")
    assert recycled.exit_code == 0
    found = json.loads(recycled.stdout)
    assert set(found) == {
        "campaign",
        "statuses",
        "dispositions",
        "recycled",
        "due_at",
        "held_back",
        "unmatched_dispositions",
    }
    assert (found["campaign"], found["statuses"], found["held_back"]) == (
        "test-campaign",
        ["no_answer"],
        {},
    )


def test_an_error_leaves_stdout_empty(campaign: Path) -> None:
    result = dialer("report", "nope", "--out", "r.csv", "--db", "l.db", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: no campaign 'nope' in l.db (campaigns there: none)\n"


def test_the_log_file_masks_numbers_and_is_owner_only(campaign: Path, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    result = dialer("-vv", "--log-file", str(log), "run", str(campaign), *RUN)
    assert result.exit_code == 0
    text = log.read_text(encoding="utf-8")
    assert "DEBUG dialer.api: POST /calls to +97253*****" in text
    assert "INFO dialer.progress: " in text
    for phone in PHONES:
        assert phone not in text and phone[1:] not in text and "0" + phone[4:] not in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_the_log_file_keeps_info_when_the_terminal_is_quiet(campaign: Path, tmp_path: Path) -> None:
    log = tmp_path / "quiet.log"
    result = dialer("-q", "--log-file", str(log), "run", str(campaign), *RUN)
    assert result.exit_code == 0 and result.stderr == ""
    text = log.read_text(encoding="utf-8")
    assert "INFO dialer.progress: " in text
    assert "DEBUG" not in text


def test_masking_covers_numbers_keys_and_tracebacks() -> None:
    masking = Masking(secret="s3cr3t-key")
    try:
        raise ValueError("POST to +972531004100 failed")
    except ValueError:
        record = logging.LogRecord(
            "dialer.x", logging.ERROR, __file__, 1, "%s with %s and %s", None, None
        )
        record.args = ("+972531004101", "ypr_live_abc123DEF", "s3cr3t-key")
        record.exc_info = sys.exc_info()
    assert masking.filter(record)
    assert record.getMessage() == "+97253*****01 with [redacted] and [redacted]"
    assert record.exc_text is not None
    assert "+97253*****00" in record.exc_text and "+972531004100" not in record.exc_text
