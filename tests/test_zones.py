"""Intake in every zone a number may ring in: row and campaign pins, ``no_window``, the
validation CSV's ``zones`` column, and a run that calls nobody while a zone is closed."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer import campaign as ops
from dialer.cli import cli
from dialer.config import Campaign, load_campaign
from dialer.dnc import DncIndex
from dialer.leads import classify, load_leads
from dialer.sandbox import AGENT_ID, FROM_NUMBERS, Sandbox, SandboxConfig, Scenario
from tests.dialing import legs_per_number, run_campaign

# Tuesday 2026-01-13 01:00 UTC: 12:00 in Sydney, 09:00 in Perth, 07:30 in Cocos,
# 04:00 in Moscow, 11:00 in Vladivostok, 20:00 (Monday) in New York, 11:00 in Guam.
NOW = datetime(2026, 1, 13, 1, 0, tzinfo=UTC)
AU_MOBILE = "Australia/Adelaide Australia/Brisbane Australia/Eucla Australia/Lord_Howe " + (
    "Australia/Perth Australia/Sydney Indian/Christmas Indian/Cocos"
)
SHEET = [
    ("+1 800 234 5678", "Toll Free", ""),
    ("+61 412 345 678", "Aussie Mobile", ""),
    ("+7 916 123 4567", "Иван Петров", ""),
    ("+61 412 345 679", "Pinned Perth", "australia/perth"),
    ("+61 412 345 680", "Pinned offset", "UTC+8"),
    ("+61 412 345 681", "Bad zone", "Mars/Olympus"),
    ("n/a", "Bad number", "Mars/Olympus"),
    ("+61 2 1234 5678", "Sydney landline", ""),
]


def write_sheet(folder: Path, *, window: str, zone_column: bool = True) -> Path:
    """A campaign file (weekdays 09-19 plus ``window`` lines) and its sheet."""
    with (folder / "leads.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Phone", "Name", "Zone"])
        writer.writerows(SHEET)
    zone = 'timezone = "Zone"\n' if zone_column else ""
    toml = folder / "zones.toml"
    toml.write_text(
        f"""name = "zones"
agent_id = "{AGENT_ID}"
from = "{FROM_NUMBERS[0]}"
leads = "leads.csv"
default_region = "AU"

[columns]
phone = "Phone"
variables = {{ LeadName = "Name" }}
{zone}
[pacing]
requests_per_minute = 600

[window]
days = ["mon", "tue", "wed", "thu", "fri"]
start = "09:00"
end = "19:00"
{window}
""",
        encoding="utf-8",
    )
    return toml


def classified(campaign: Campaign) -> list[tuple[str, str, str]]:
    frame = classify(load_leads(campaign), campaign, dnc=DncIndex(), now=NOW)
    return list(zip(frame["status"], frame["reason"], frame["timezone"], strict=True))


def test_zone_sets_pins_and_no_window(tmp_path: Path) -> None:
    campaign = load_campaign(write_sheet(tmp_path, window=""))
    rows = classified(campaign)
    toll_free = rows[0]
    assert toll_free[0] == "no_window"
    assert toll_free[1] == "window: never open in all of America/Adak…Pacific/Saipan"
    assert len(toll_free[2].split(" ")) == 42
    assert rows[1] == ("pending", "", AU_MOBILE)
    assert rows[2][0] == "pending" and len(rows[2][2].split(" ")) == 16  # lines up in summer
    assert rows[3] == ("pending", "", "Australia/Perth")
    assert rows[4] == ("pending", "", "UTC+08:00")
    assert rows[5] == (
        "invalid",
        "timezone: 'Mars/Olympus' is not a time zone name or UTC offset",
        "",
    )
    assert rows[6] == ("invalid", "unparseable", "")  # the number's own problem comes first
    assert rows[7] == ("pending", "", "Australia/Sydney")


def test_campaign_pin_applies_to_rows_without_their_own(tmp_path: Path) -> None:
    campaign = load_campaign(write_sheet(tmp_path, window='timezone = "GMT+3"'))
    assert campaign.window is not None and campaign.window.pinned_zone == "UTC+03:00"
    zones = [zone for _, _, zone in classified(campaign)]
    assert zones == [
        "UTC+03:00",
        "UTC+03:00",
        "UTC+03:00",
        "Australia/Perth",
        "UTC+08:00",
        "",
        "",
        "UTC+03:00",
    ]


def test_without_a_zone_column_every_row_is_automatic(tmp_path: Path) -> None:
    campaign = load_campaign(write_sheet(tmp_path, window="", zone_column=False))
    statuses = [status for status, _, _ in classified(campaign)]
    assert statuses == ["no_window", *["pending"] * 5, "invalid", "pending"]


def test_summary_counts_a_lead_closed_in_any_of_its_zones(tmp_path: Path) -> None:
    campaign = load_campaign(write_sheet(tmp_path, window=""))
    frame = classify(load_leads(campaign), campaign, dnc=DncIndex(), now=NOW)
    summary = ops.validation_summary(frame, campaign, now=NOW)
    assert summary["no_window"] == 1
    assert summary["to call"] == 5
    # the Australian mobile (closed in Cocos) and the Russian one (closed in Moscow)
    assert summary["outside window now"] == 2


def test_validate_csv_shows_the_zones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = write_sheet(tmp_path, window="")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YAPPR_API_KEY", raising=False)
    args = ["validate", str(toml), "--sandbox", "--out", "s.csv", "--db", "l.db"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "no_window" in result.output
    with open(tmp_path / "s.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[1]["zones"] == AU_MOBILE
    assert rows[3]["zones"] == "Australia/Perth"
    assert rows[0]["status"] == "no_window"


async def test_nobody_is_called_while_one_of_their_zones_is_closed(tmp_path: Path) -> None:
    toml = write_sheet(tmp_path, window="", zone_column=False)
    scenario = Scenario(weights={"completed": 1})
    config = SandboxConfig(time_scale=1000.0, rate_limit=600, scenario=scenario, start=NOW)
    async with Sandbox(config) as sb:
        out = await run_campaign(sb, toml, tmp_path / "l.db")
        legs = legs_per_number(sb)
    by_phone = out.by_phone()
    # open in every zone now: the Sydney landline (and the Perth-only rows of the other test)
    assert by_phone["+61212345678"]["status"] == "completed"
    for closed in ("+61412345678", "+79161234567"):  # closed in Cocos / in Moscow
        assert by_phone[closed]["status"] == "scheduled", closed
        assert legs[closed] == 0
    assert by_phone["+18002345678"]["status"] == "no_window"
    assert legs["+18002345678"] == 0
    assert legs["+61212345678"] == 1
