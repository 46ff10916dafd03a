"""The campaign file: defaults, normalisation, and one-line errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.config import load_campaign
from dialer.errors import ConfigError

GOOD = """
name = "spring"
agent_id = "5b0c8f4e-1d2a-4c3b-9e7f-0a1b2c3d4e5f"
from = "055-223-4567"
leads = "leads.csv"

[columns]
phone = "Phone"
variables = { LeadName = "Full Name" }
metadata = { contact_id = "CRM" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_normalisation(tmp_path: Path) -> None:
    campaign = load_campaign(write(tmp_path, GOOD))
    assert campaign.from_numbers == ("+972552234567",)
    assert campaign.leads == tmp_path / "leads.csv"
    assert campaign.default_region == "IL"
    assert campaign.pacing.max_live_calls == 10
    assert campaign.pacing.requests_per_minute == 60
    assert campaign.window is None
    assert campaign.retry.max_attempts == 3
    assert campaign.retry.delays_minutes == (60, 180)
    assert campaign.dnc.max_age_minutes == 60
    assert campaign.dedupe.cooldown_days is None


def test_full_file(tmp_path: Path) -> None:
    text = GOOD.replace('from = "055-223-4567"', 'from = ["+972552234567", "0552234568"]')
    text += """
[window]
days = ["Sun", "mon"]
end = "24:00"
timezone = "America/New_York"
blackout_dates = [2026-12-25]
[dnc]
suppression_files = ["lists/suppress.txt"]
[dedupe]
cooldown_days = 7
"""
    campaign = load_campaign(write(tmp_path, text))
    assert campaign.from_numbers == ("+972552234567", "+972552234568")
    assert campaign.window is not None
    assert campaign.window.days == ("sun", "mon")
    assert campaign.window.pinned_zone == "America/New_York"
    assert campaign.dnc.suppression_files == (tmp_path / "lists/suppress.txt",)


def test_example_campaigns_load() -> None:
    root = Path(__file__).resolve().parents[1] / "campaigns"
    assert load_campaign(root / "demo.toml").window is None
    renewals = load_campaign(root / "spring-renewals.toml")
    assert renewals.window is not None and renewals.window.timezone == "Asia/Jerusalem"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "[columns]",
            "[pacing]\nmax_live_call = 3\n[columns]",
            "unknown key 'max_live_call' in [pacing] (did you mean max_live_calls?)",
        ),
        (
            "[columns]",
            "[pacing]\nmax_live_calls = 0\n[columns]",
            "[pacing] max_live_calls: must be at least 1",
        ),
        ('name = "spring"\n', "", "name: is required"),
        ("5b0c8f4e", "zz", "agent_id: 'zz-1d2a-4c3b-9e7f-0a1b2c3d4e5f' is not an agent id"),
        ("055-223-4567", "123", "from: '123' is not a number the API accepts as caller id"),
        ("contact_id", "direction", "[columns] metadata: metadata key 'direction' is reserved"),
        (
            "[columns]",
            '[window]\ntimezone = "Mars/Base"\n[columns]',
            "[window] timezone: 'Mars/Base' is not an IANA time zone (e.g. Asia/Jerusalem) "
            "or a UTC offset (e.g. UTC+02:00)",
        ),
        (
            "[columns]",
            '[window]\ntimezone = "UTC+15"\n[columns]',
            "[window] timezone: 'UTC+15' is not an IANA time zone",
        ),
        (
            'leads = "leads.csv"',
            'leads = "leads.csv"\nencoding = "base64"',
            "encoding: 'base64' is not a text encoding Python knows",
        ),
        (
            "[columns]",
            '[window]\nstart = "19:00"\nend = "09:00"\n[columns]',
            "window: start 19:00 must be before end 09:00",
        ),
        ("[columns]", '[window]\nstart = "9am"\n[columns]', "[window] start: '9am' is not a time"),
        ("[columns]", '[retry]\nstatuses = ["nope"]\n[columns]', "[retry] statuses.0: 'nope'"),
        ("leads =", "lead =", "unknown key 'lead' (did you mean leads?)"),
        ("[columns]", "[columns\n", "not valid TOML"),
    ],
)
def test_errors_name_file_and_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_campaign(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


def test_toml_error_has_line_number(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"line \d+"):
        load_campaign(write(tmp_path, GOOD + "\n[pacing\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: campaign file not found"):
        load_campaign(tmp_path / "nope.toml")


def test_zones_and_encoding_keys(tmp_path: Path) -> None:
    text = GOOD.replace('leads = "leads.csv"', 'leads = "leads.csv"\nencoding = "Windows-1255"')
    text = text.replace(
        'metadata = { contact_id = "CRM" }', 'metadata = { contact_id = "CRM" }\ntimezone = "Zone"'
    )
    text += '[window]\ntimezone = "GMT+5:30"\n'
    campaign = load_campaign(write(tmp_path, text))
    assert campaign.encoding == "cp1255"
    assert campaign.columns.timezone == "Zone"
    assert campaign.window is not None and campaign.window.pinned_zone == "UTC+05:30"
    named = load_campaign(write(tmp_path, GOOD + '[window]\ntimezone = "asia/jerusalem"\n'))
    assert named.window is not None and named.window.pinned_zone == "Asia/Jerusalem"
    assert load_campaign(write(tmp_path, GOOD)).encoding is None
