"""Reports: a real campaign on the sandbox, then every format checked against the ledger."""

from __future__ import annotations

import asyncio
import copy
import csv
import json
import os
import stat
import struct
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from dialer import reports
from dialer.cli import cli
from dialer.errors import ConfigError, InputError
from dialer.models import LeadStatus
from dialer.sandbox import Sandbox, SandboxConfig, Scenario
from dialer.store import AttemptStart, Ledger
from tests.dialing import numbers, run_campaign, write_campaign

CHROMIUM = Path("/usr/bin/chromium")
PHONES = numbers(8)
#: Sheet rows: (name, phone as written, CRM contact). Names and contacts try formula tricks.
SHEET = [
    ('=HYPERLINK("http://evil.example","x")', "0" + PHONES[0][4:], "crm-0"),
    ("Dana", PHONES[1], "+1-555"),  # international form: phone_raw stays +972…
    ("<script>alert(1)</script>", "0" + PHONES[2][4:], "@SUM(A1)"),
    ("-2+3", "0" + PHONES[3][4:], "crm-3"),
    ("\tTabbed", "0" + PHONES[4][4:], "crm-4"),
    ("Eli", "0" + PHONES[5][4:], "crm-5"),
    ("Noa", "0" + PHONES[6][4:], "crm-6"),
    ("Ron", "0" + PHONES[7][4:], "crm-7"),
    ("Bad", "=1+2", "crm-8"),  # invalid number that is also a formula
    ("Dup", "0" + PHONES[0][4:], "crm-9"),  # duplicate of row 1
]
OVERRIDES: dict[str, str | list[str]] = {
    PHONES[1]: "no_answer",  # three tries, then exhausted
    PHONES[2]: ["busy", "completed"],
    PHONES[3]: "voicemail",
    PHONES[4]: "opt_out",
    PHONES[5]: "failed",
    PHONES[6]: "transferred",
}
NAME = "report-campaign"


@dataclass
class Finished:
    """A campaign run to its end on the sandbox, and what the sandbox saw."""

    folder: Path
    db: Path
    calls: dict[str, dict[str, Any]]
    leads: list[dict[str, Any]]
    attempts: list[dict[str, Any]]


def write_sheet(folder: Path) -> Path:
    toml = write_campaign(folder, PHONES, name=NAME)
    with (folder / f"{NAME}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Full Name", "Phone", "CRM Contact"])
        writer.writerows(SHEET)
    return toml


async def _run(folder: Path) -> Finished:
    toml = write_sheet(folder)
    scenario = Scenario(weights={"completed": 1}, overrides=OVERRIDES)
    config = SandboxConfig(time_scale=2000, rate_limit=600, scenario=scenario)
    async with Sandbox(config) as sb:
        outcome = await run_campaign(sb, toml, folder / "ledger.db")
        calls = copy.deepcopy(dict(sb.calls))
    return Finished(folder, folder / "ledger.db", calls, outcome.leads, outcome.attempts)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Finished:
    """One run shared by the module (about a second of wall time)."""
    return asyncio.run(_run(tmp_path_factory.mktemp("report")))


def export(finished: Finished, suffix: str) -> Path:
    target = finished.folder / f"out{suffix}"
    with Ledger(finished.db) as ledger:
        reports.export(ledger, NAME, target)
    return target


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def last_attempts(finished: Finished) -> dict[int, dict[str, Any]]:
    last: dict[int, dict[str, Any]] = {}
    for attempt in finished.attempts:
        lead = int(attempt["lead_id"])
        if lead not in last or attempt["number"] > last[lead]["number"]:
            last[lead] = attempt
    return last


def text(value: Any) -> str:
    return "" if value is None else str(value)


def safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# -- CSV ------------------------------------------------------------------------------------


def test_the_run_produced_every_kind_of_row(finished: Finished) -> None:
    statuses = {lead["row"]: lead["status"] for lead in finished.leads}
    assert statuses == {
        1: "completed",
        2: "exhausted",
        3: "completed",
        4: "voicemail",
        5: "completed",
        6: "failed",
        7: "transferred",
        8: "completed",
        9: "invalid",
        10: "duplicate",
    }


def test_csv_matches_the_ledger_cell_by_cell(finished: Finished) -> None:
    rows = read_csv(export(finished, ".csv"))
    assert rows[0] == [*reports.BASE_COLUMNS, "LeadName", "contact_id"]
    last = last_attempts(finished)
    assert len(rows) - 1 == len(SHEET)
    for lead, row in zip(finished.leads, rows[1:], strict=True):
        a = last.get(int(lead["id"]), {})
        started = [x["started_at"] for x in finished.attempts if x["lead_id"] == lead["id"]]
        name, raw, contact = SHEET[lead["row"] - 1]
        expected = [
            str(lead["row"]),
            raw if raw.startswith("+972") else safe(raw),
            lead["phone"],
            lead["status"],
            lead["reason"],
            str(lead["attempts"]),
            *(text(a.get(c)) for c in reports.BASE_COLUMNS[6:13]),
            min(started) if started else "",
            max(started) if started else "",
            safe(name),
            safe(contact),
        ]
        assert row == expected, f"row {lead['row']}"


def test_csv_call_columns_agree_with_the_sandbox(finished: Finished) -> None:
    rows = read_csv(export(finished, ".csv"))
    header = rows[0]
    called = [dict(zip(header, r, strict=True)) for r in rows[1:] if r[header.index("call_id")]]
    assert len(called) == 8
    for row in called:
        call = finished.calls[row["call_id"]]
        assert row["call_status"] == call["status"]
        assert row["phone"] == call["to"]
        assert float(row["duration_seconds"] or 0) == float(call["duration_seconds"] or 0)
        assert row["ended_by"] == text(call["ended_by"])
        assert row["disconnect_reason"] == text(call["disconnect_reason"])
        assert row["failure_code"] == text((call["failure"] or {}).get("code"))


def test_csv_neutralises_formulas_but_keeps_phone_numbers(finished: Finished) -> None:
    rows = {r[0]: r for r in read_csv(export(finished, ".csv"))[1:]}
    assert rows["1"][-2] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows["2"][1:3] == [PHONES[1], PHONES[1]]  # +972… kept readable and correct
    assert rows["2"][-1] == "'+1-555"
    assert rows["3"][-1] == "'@SUM(A1)"
    assert rows["4"][-2] == "'-2+3"
    assert rows["5"][-2] == "'\tTabbed"
    assert rows["9"][1] == "'=1+2"


@pytest.mark.parametrize(
    ("value", "column", "expected"),
    [
        ("+972501234567", "phone", "+972501234567"),
        ("+972501234567", "phone_raw", "+972501234567"),
        ("+972501234567", "LeadName", "'+972501234567"),
        ("+972 50-123-4567", "phone_raw", "'+972 50-123-4567"),
        ("+9725012345678901", "phone", "'+9725012345678901"),
        ("=cmd|' /C calc'!A0", "phone", "'=cmd|' /C calc'!A0"),
        ("\rx", "reason", "'\rx"),
        ("plain", "reason", "plain"),
        (3.5, "duration_seconds", 3.5),
        (None, "call_id", None),
    ],
)
def test_neutralise(value: Any, column: str, expected: Any) -> None:
    assert reports.neutralise(value, column=column) == expected


# -- XLSX -----------------------------------------------------------------------------------


def test_xlsx_reads_back_like_the_csv(finished: Finished) -> None:
    rows = read_csv(export(finished, ".csv"))
    frame = pd.read_excel(
        export(finished, ".xlsx"),
        sheet_name="Leads",
        dtype=str,
        keep_default_na=False,
        engine="calamine",
    )
    assert list(frame.columns) == rows[0]
    assert [[_same(v) for v in r] for r in frame.to_numpy().tolist()] == [
        [_same(v) for v in r] for r in rows[1:]
    ]


def _same(value: str) -> object:
    """A cell as a reader sees it: numbers as numbers (calamine writes 0.0 as "0")."""
    try:
        return float(value)
    except ValueError:
        return value


def test_xlsx_layout_types_and_summary_sheet(finished: Finished) -> None:
    book = openpyxl.load_workbook(export(finished, ".xlsx"))
    assert book.sheetnames == ["Leads", "Summary"]
    sheet = book["Leads"]
    assert sheet.freeze_panes == "A2"
    assert all(sheet.column_dimensions[c].width >= 6 for c in "ABCDEFGHIJKLMNOPQ")
    assert sheet["A1"].font.b
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    phone = sheet["C3"]
    assert (phone.value, phone.data_type, phone.quotePrefix) == (PHONES[1], "s", True)
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True)}
    assert summary["rows"] == "10"
    assert summary["campaign"] == NAME


# -- JSON and summary -----------------------------------------------------------------------


def test_json_has_the_rows_each_attempt_and_the_summary(finished: Finished) -> None:
    document = json.loads(export(finished, ".json").read_text(encoding="utf-8"))
    assert [lead["row"] for lead in document["leads"]] == list(range(1, 11))
    assert document["leads"][0]["LeadName"] == SHEET[0][0]  # JSON is data: not neutralised
    for lead, entry in zip(finished.leads, document["leads"], strict=True):
        ids = [a["id"] for a in finished.attempts if a["lead_id"] == lead["id"]]
        assert sorted(a["id"] for a in entry["attempt_history"]) == sorted(ids)
        assert [a["number"] for a in entry["attempt_history"]] == list(range(1, len(ids) + 1))
        assert all("body" not in a for a in entry["attempt_history"])
    assert document["summary"]["rows"] == 10


def test_summary_figures_agree_with_the_sandbox(finished: Finished) -> None:
    with Ledger(finished.db) as ledger:
        stats = reports.summary(ledger, NAME)
    assert stats["rows"] == 10
    assert stats["valid"] == 9
    assert stats["called"] == 8
    assert stats["calls_placed"] == len(finished.calls) == 11  # 3 + 2 + one each for six
    assert stats["reached"] == 5  # rows 1, 3, 5 (opt-out), 8 completed; 7 transferred
    assert stats["answer_rate"] == round(5 / 8, 4)
    talk = sum(c["duration_seconds"] or 0 for c in finished.calls.values())
    assert stats["talk_seconds"] == pytest.approx(talk, abs=0.1)
    # Costs settle after the call ends: the ledger holds those the run saw settled, each
    # the sandbox's own figure (following calls to their final cost is the dispatcher's job).
    known = [a for a in finished.attempts if a["cost_cents"] is not None]
    assert all(a["cost_cents"] == finished.calls[a["call_id"]]["cost_cents"] for a in known)
    assert stats["cost_cents"] == sum(a["cost_cents"] for a in known)
    assert stats["calls_with_cost"] == len(known)
    assert stats["still_running"] is False
    assert stats["outcomes"]["completed"] == 4
    assert stats["ended_at"] is not None


def test_summary_table_shows_the_figures(finished: Finished) -> None:
    from rich.console import Console

    with Ledger(finished.db) as ledger:
        stats = reports.summary(ledger, NAME)
    console = Console(width=120, record=True)
    console.print(reports.summary_table(stats))
    shown = console.export_text()
    for words in ("rows", "10", "answer rate", "62.5% of leads called", "talk time", "cost"):
        assert words in shown


# -- HTML -----------------------------------------------------------------------------------


def test_html_is_self_contained_and_escaped(finished: Finished) -> None:
    page = export(finished, ".html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page
    assert "\\u003cscript\\u003ealert(1)" in page
    markup = page[: page.index('<script type="application/json"')]  # the lead data is text
    for fetch in ("<link", "src=", "@import", "url(", "https://", "fetch("):
        assert fetch not in page
    assert markup.count("http://") == 4  # the SVG namespace of the four charts, nothing else
    assert "connect-src" not in page and "default-src 'none'" in page  # CSP: no fetch at all
    assert "still running" not in page
    for caption in ("Outcome breakdown", "by hour of day", "Attempts per lead", "Call duration"):
        assert caption in page


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_html_renders_in_headless_chromium(finished: Finished, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    page = export(finished, ".html")
    shot = tmp_path / "report.png"
    done = _chromium(page, tmp_path / "profile", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _png_size(shot) == (1280, 2000)
    assert shot.stat().st_size > 30_000  # a page with charts, not a blank one
    dom = _chromium(page, tmp_path / "profile2", "--dump-dom")
    assert 'data-ready="1"' in dom.stdout
    assert "data-errors" not in dom.stdout
    assert dom.stdout.count("<tr>") == 1 + len(SHEET)  # header + every lead
    assert "Uncaught" not in dom.stderr + done.stderr
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout  # rendered as text


# -- a campaign still running, errors, the command -----------------------------------------


def _running_ledger(path: Path) -> Ledger:
    """A campaign with one lead dialing, one pending; the name clashes with a base column."""
    ledger = Ledger(path)
    now = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    fields = [json.dumps(["v1", "m1"]), json.dumps(["v2", "m2"])]
    ledger.create_campaign(
        name="live",
        agent_id="agent",
        settings={},
        campaign_file=None,
        leads_file="x.csv",
        leads_sha256="0",
        variable_names=["status"],
        metadata_names=["status"],
        rows=[
            (1, PHONES[0], PHONES[0], "Asia/Jerusalem", "pending", "", fields[0]),
            (2, PHONES[1], PHONES[1], "Asia/Jerusalem", "pending", "", fields[1]),
        ],
        now=now,
    )
    ledger.set_campaign_state("live", "running", now=now)
    start = AttemptStart("att-1", 1, 1, PHONES[0], PHONES[7], "{}")
    ledger.begin_attempts([(start, LeadStatus.PENDING)], now=now)
    return ledger


def test_report_on_a_running_campaign_says_so(tmp_path: Path) -> None:
    with _running_ledger(tmp_path / "l.db") as ledger:
        stats = reports.summary(ledger, "live")
        reports.export(ledger, "live", tmp_path / "live.html")
        reports.export(ledger, "live", tmp_path / "live.csv")
    assert stats["still_running"] is True
    assert stats["ended_at"] is None
    assert "still running" in (tmp_path / "live.html").read_text(encoding="utf-8")
    rows = read_csv(tmp_path / "live.csv")
    assert rows[0][-2:] == ["status (variable)", "status (metadata)"]
    assert rows[1][3] == "dialing"
    assert rows[1][-2:] == ["v1", "m1"]
    assert rows[2][13:] == ["", "", "v2", "m2"]


def test_files_are_owner_only_and_replaced_atomically(finished: Finished) -> None:
    target = finished.folder / "perm.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    with Ledger(finished.db) as ledger:
        reports.export(ledger, NAME, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8-sig").startswith("row,")
    assert not [p for p in finished.folder.iterdir() if p.name.endswith(".tmp")]


def test_bad_targets_are_one_clear_error(finished: Finished, tmp_path: Path) -> None:
    with Ledger(finished.db) as ledger:
        with pytest.raises(ConfigError, match=r"out\.pdf: unknown report format '\.pdf'"):
            reports.export(ledger, NAME, tmp_path / "out.pdf")
        with pytest.raises(InputError, match=r"missing/out\.csv: cannot write the report"):
            reports.export(ledger, NAME, tmp_path / "missing" / "out.csv")
        if os.geteuid() != 0:  # root writes anywhere
            locked = tmp_path / "locked"
            locked.mkdir(mode=0o500)
            with pytest.raises(InputError, match="cannot write the report"):
                reports.export(ledger, NAME, locked / "out.csv")


def test_report_command(finished: Finished, tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "r.xlsx"
    ok = runner.invoke(cli, ["report", NAME, "--out", str(target), "--db", str(finished.db)])
    assert ok.exit_code == 0, ok.output
    assert f"Report written: {target}" in ok.output
    assert "answer rate" in ok.output
    unknown = runner.invoke(cli, ["report", "nope", "--out", str(target), "--db", str(finished.db)])
    assert unknown.exit_code == 1
    assert f"no campaign 'nope' in {finished.db} (campaigns there: {NAME})" in unknown.output
    bad = runner.invoke(cli, ["report", NAME, "--out", "r.txt", "--db", str(finished.db)])
    assert bad.exit_code == 1
    assert "unknown report format '.txt'" in bad.output
