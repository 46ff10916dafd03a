"""``dialer demo`` and ``dialer init`` from an empty folder, as an installed user runs them,
and the packaged sample files (one copy: ``campaigns/demo*`` link to them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dialer import samples
from dialer.cli import cli

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder, no key and no ledger in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YAPPR_API_KEY", raising=False)
    monkeypatch.delenv("DIALER_DB", raising=False)
    return tmp_path


def dialer(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_demo_runs_from_an_empty_folder_and_writes_there(empty: Path) -> None:
    result = dialer("demo", "--time-scale", "2000")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "Demo: demo-output/demo.toml on the built-in sandbox at x2000; no real calls.\n"
    )
    assert result.stdout.endswith(
        "Campaign 'demo' finished.\n"
        "Report written: demo-output/demo-report.csv\n"
        "Report written: demo-output/demo-report.xlsx\n"
        "Report written: demo-output/demo-report.json\n"
        "Report written: demo-output/demo-report.html\n"
    )
    folder = empty / "demo-output"
    for name in samples.DEMO_FILES:
        assert (folder / name).read_bytes() == samples.read(name)  # what was run, to open
    report = json.loads((folder / "demo-report.json").read_text(encoding="utf-8"))
    assert len(report["leads"]) == 300


def test_init_writes_a_campaign_that_validates_on_the_sandbox(empty: Path) -> None:
    made = dialer("init", "spring")
    assert made.exit_code == 0
    assert made.stdout == (
        "Wrote spring.toml and spring-leads.csv.\n"
        "Try it: dialer validate spring.toml --sandbox\n"
        "Then set agent_id and from in spring.toml to your own for real calls.\n"
    )
    text = (empty / "spring.toml").read_text(encoding="utf-8")
    assert 'name = "spring"' in text and 'leads = "spring-leads.csv"' in text
    assert "$" not in text  # every placeholder filled in
    checked = dialer("validate", "spring.toml", "--sandbox", "--json")
    assert checked.exit_code == 0, checked.output
    counts = json.loads(checked.stdout)["counts"]
    closed = counts.pop("outside window now")  # mon-fri 09-18 in New York: depends on today
    assert counts == {
        "rows read": 6,
        "invalid: bad_length": 1,
        "duplicate": 1,
        "dnc_blocked": 0,
        "no_window": 0,
        "to call": 4,
    }
    assert closed in (0, 4)


def test_init_without_a_name_and_the_whole_starter_runs(empty: Path) -> None:
    assert dialer("init").exit_code == 0
    assert (empty / "my-campaign.toml").exists() and (empty / "my-campaign-leads.csv").exists()
    result = dialer(
        "run", "my-campaign.toml", "--sandbox", "--time-scale", "5000", "--max-wait", "4d"
    )
    assert result.exit_code == 0, result.output
    assert "Campaign 'my-campaign' finished." in result.stdout


def test_init_keeps_existing_files_unless_forced(empty: Path) -> None:
    (empty / "spring-leads.csv").write_text("Phone\n+12025550199\n", encoding="utf-8")
    refused = dialer("init", "spring")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: spring-leads.csv already exists; nothing was written. "
        "Choose another name, or add --force to overwrite\n"
    )
    assert not (empty / "spring.toml").exists()
    assert (empty / "spring-leads.csv").read_text(encoding="utf-8") == "Phone\n+12025550199\n"
    forced = dialer("init", "spring", "--force")
    assert forced.exit_code == 0
    assert (empty / "spring-leads.csv").read_bytes() == samples.read("starter-leads.csv")


def test_init_refuses_a_name_that_is_not_a_file_name(empty: Path) -> None:
    result = dialer("init", "../elsewhere")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: '../elsewhere' cannot name a campaign file: use letters, digits, '.', '_' and "
        "'-' (starting with a letter or digit)\n"
    )
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("name", samples.DEMO_FILES)
def test_the_repository_demo_files_are_the_packaged_ones(name: str) -> None:
    assert (REPO / "campaigns" / name).read_bytes() == samples.read(name)
