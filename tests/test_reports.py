"""Reports: a real campaign on the sandbox, then every format checked against the ledger."""

from __future__ import annotations

import asyncio
import copy
import csv
import json
import os
import re
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
from dialer.models import AttemptFacts, LeadMove, LeadStatus
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


def shown(value: Any) -> str:
    """A number as a CSV cell shows it: whole numbers without ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return text(value)


def lead_cost(finished: Finished, lead_id: int) -> str:
    known = [a["cost_cents"] for a in finished.attempts if a["lead_id"] == lead_id]
    known = [c for c in known if c is not None]
    return shown(float(sum(known))) if known else ""


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
    keys = extracted_in_order(finished)
    assert keys  # the sandbox's conversations say something, and the dispatcher keeps it
    assert rows[0] == [
        *reports.BASE_COLUMNS,
        "LeadName",
        "contact_id",
        *reports.ANALYSIS_COLUMNS,
        *(f"extracted.{key}" for key in keys),
    ]
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
            *(shown(a.get(c)) for c in reports.BASE_COLUMNS[6:13]),
            min(started) if started else "",
            max(started) if started else "",
            safe(name),
            safe(contact),
            lead["timezone"],
            text(a.get("summary")),
            text(a.get("analysis_status")),
            lead_cost(finished, lead["id"]),
            *(extracted_cell(a, key) for key in keys),
        ]
        assert row == expected, f"row {lead['row']}"


def extracted_in_order(finished: Finished) -> list[str]:
    """The extracted keys of the run's attempts, in the order they first appear."""
    keys: dict[str, None] = {}
    for attempt in finished.attempts:
        keys.update(dict.fromkeys(json.loads(attempt["extracted_data"] or "{}")))
    return list(keys)


def extracted_cell(attempt: dict[str, Any], key: str) -> str:
    """How the CSV shows one extracted value of the lead's last attempt."""
    value = json.loads(attempt.get("extracted_data") or "{}").get(key)
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe(shown(value)) if value is not None else ""


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
    table = read_csv(export(finished, ".csv"))
    name, contact = table[0].index("LeadName"), table[0].index("contact_id")
    rows = {r[0]: r for r in table[1:]}
    assert rows["1"][name] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows["2"][1:3] == [PHONES[1], PHONES[1]]  # +972… kept readable and correct
    assert rows["2"][contact] == "'+1-555"
    assert rows["3"][contact] == "'@SUM(A1)"
    assert rows["4"][name] == "'-2+3"
    assert rows["5"][name] == "'\tTabbed"
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
    charts = markup.count('<svg xmlns="http://www.w3.org/2000/svg"')
    assert charts >= 5 and markup.count("http://") == charts  # SVG namespaces, nothing else
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
    leads = dom.stdout[dom.stdout.index('<table id="leads">') :]
    assert leads.count("<tr>") == 1 + len(SHEET)  # header + every lead
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
    assert rows[0][15:] == ["status (variable)", "status (metadata)", *reports.ANALYSIS_COLUMNS]
    assert rows[1][3] == "dialing"
    assert rows[1][15:17] == ["v1", "m1"]
    assert rows[2][13:] == ["", "", "v2", "m2", "Asia/Jerusalem", "", "", ""]


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


# -- what the calls found out: analyses, extracted data, cost --------------------------------

ANALYSED = "analysed"
MEETING = {"room": "A", "slots": [9, 10]}
#: Per lead: (name, zones, calls); each call (outcome, lead status after, fields).
CALLS: list[tuple[str, str, list[tuple[str, str, dict[str, Any]]]]] = [
    (
        "Dana",
        "Asia/Jerusalem",
        [
            (
                "completed",
                "completed",
                {
                    "duration_seconds": 116.0,
                    "disposition": "Interested",
                    "summary": '=HYPERLINK("http://evil.example") wants the offer',
                    "analysis_status": "done",
                    "cost_cents": 24.0,
                    "cost_status": "charged",
                    "extracted_data": {
                        "interest": "high",
                        "callback": True,
                        "quantity": 3,
                        "meeting": MEETING,
                        "note": "=1+2",
                    },
                },
            )
        ],
    ),
    (
        "Eli",
        "Asia/Jerusalem Asia/Gaza",  # a number that may ring in either zone
        [
            (
                "completed",
                "completed",
                {
                    "duration_seconds": 61.5,
                    "disposition": "Call Back Later",
                    "summary": "Asked to be called back tomorrow morning.",
                    "analysis_status": "done",
                    "cost_cents": 24.0,
                    "cost_status": "charged",
                    "extracted_data": {
                        "interest": "medium",
                        "callback": False,
                        "quantity": 12.5,
                        "meeting": None,
                        "note": "tomorrow",
                        "late_key": "only here",
                    },
                },
            )
        ],
    ),
    (
        "Noa",
        "Asia/Jerusalem",
        [
            (
                "voicemail",
                "retry_wait",
                {
                    "duration_seconds": 20.0,
                    "disposition": "Voicemail",
                    "summary": "The call reached voicemail; nobody spoke.",
                    "analysis_status": "done",
                    "cost_cents": 12.0,
                    "cost_status": "charged",
                    "extracted_data": dict.fromkeys(["interest", "callback", "quantity"]),
                },
            ),
            (
                "no_answer",
                "no_answer",
                {
                    "duration_seconds": 0.0,
                    "disposition": "No Answer",
                    "analysis_status": "skipped",
                    "cost_cents": 0.0,
                    "cost_status": "not_charged",
                },
            ),
        ],
    ),
    (
        "Ron",
        "Asia/Jerusalem",
        [
            (
                "completed",
                "completed",
                {
                    "duration_seconds": 30.0,
                    "disposition": "Do Not Call",
                    "summary": "Asked not to be called again.",
                    "analysis_status": "pending",
                    "cost_status": "pending",
                },
            )
        ],
    ),
    ("Tal", "Asia/Jerusalem", []),  # never called
]
EXTRACTED_COLUMNS = [
    f"extracted.{k}" for k in ("interest", "callback", "quantity", "meeting", "note", "late_key")
]


def _analysed_ledger(path: Path) -> None:
    """A campaign whose attempts carry analyses, written through the Ledger's own methods."""
    now = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    with Ledger(path) as ledger:
        ledger.create_campaign(
            name=ANALYSED,
            agent_id="agent",
            settings={},
            campaign_file=None,
            leads_file="x.csv",
            leads_sha256="0",
            variable_names=["LeadName"],
            metadata_names=[],
            rows=[
                (i + 1, PHONES[i], PHONES[i], zones, "pending", "", json.dumps([name]))
                for i, (name, zones, _) in enumerate(CALLS)
            ],
            now=now,
        )
        for lead_id, (_, _, calls) in enumerate(CALLS, start=1):
            status = LeadStatus.PENDING
            for number, (outcome, after, fields) in enumerate(calls, start=1):
                attempt = f"att-{lead_id}-{number}"
                start = AttemptStart(attempt, lead_id, number, PHONES[lead_id - 1], PHONES[7], "{}")
                ledger.begin_attempts([(start, status)], now=now)
                status = LeadStatus(after)
                facts = AttemptFacts(
                    outcome=outcome,
                    call_id=f"call-{lead_id}-{number}",
                    call_status="completed" if outcome != "no_answer" else "no_answer",
                    **fields,
                )
                move = LeadMove(LeadStatus.DIALING, status, outcome)
                ledger.record(attempt, lead_id=lead_id, now=now, facts=facts, move=move)


@pytest.fixture
def analysed(tmp_path: Path) -> Path:
    """The ledger of :data:`CALLS`; returns the folder."""
    _analysed_ledger(tmp_path / "analysed.db")
    return tmp_path


def export_analysed(folder: Path, suffix: str) -> Path:
    target = folder / f"analysed{suffix}"
    with Ledger(folder / "analysed.db") as ledger:
        reports.export(ledger, ANALYSED, target)
    return target


def test_csv_analysis_columns_follow_the_campaign_columns(analysed: Path) -> None:
    rows = read_csv(export_analysed(analysed, ".csv"))
    assert rows[0] == [
        *reports.BASE_COLUMNS,
        "LeadName",
        "zones",
        "summary",
        "analysis_status",
        "cost_cents",
        *EXTRACTED_COLUMNS,
    ]
    table = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    dana, eli, noa, ron, tal = (table[str(i)] for i in range(1, 6))
    assert (dana["disposition"], dana["analysis_status"]) == ("Interested", "done")
    assert dana["summary"] == '\'=HYPERLINK("http://evil.example") wants the offer'
    assert (dana["duration_seconds"], dana["cost_cents"]) == ("116", "24")  # no ".0"
    assert [dana[c] for c in EXTRACTED_COLUMNS] == [
        "high",
        "true",
        "3",
        '{"room": "A", "slots": [9, 10]}',  # nested: its JSON text
        "'=1+2",  # extracted text is neutralised like any other
        "",  # a key this call did not give
    ]
    assert [eli[c] for c in EXTRACTED_COLUMNS] == [
        "medium",
        "false",
        "12.5",
        "",
        "tomorrow",
        "only here",
    ]
    assert (eli["zones"], eli["duration_seconds"]) == ("Asia/Jerusalem Asia/Gaza", "61.5")
    # the last call's columns; the cost of every call
    assert (noa["disposition"], noa["analysis_status"], noa["summary"]) == (
        "No Answer",
        "skipped",
        "",
    )
    assert (noa["cost_cents"], noa["attempts"]) == ("12", "2")
    assert [noa[c] for c in EXTRACTED_COLUMNS] == [""] * 6
    assert (ron["analysis_status"], ron["cost_cents"], ron["disposition"]) == (
        "pending",
        "",
        "Do Not Call",
    )
    assert (tal["status"], tal["summary"], tal["cost_cents"]) == ("pending", "", "")


def test_xlsx_keeps_numbers_numeric_and_text_text(analysed: Path) -> None:
    book = openpyxl.load_workbook(export_analysed(analysed, ".xlsx"))
    sheet = book["Leads"]
    header = [c.value for c in sheet[1]]
    dana = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert header == read_csv(export_analysed(analysed, ".csv"))[0]
    assert (dana["duration_seconds"].value, dana["duration_seconds"].data_type) == (116, "n")
    assert isinstance(dana["duration_seconds"].value, int)
    assert (dana["cost_cents"].value, dana["extracted.quantity"].value) == (24, 3)
    assert (dana["extracted.callback"].value, dana["extracted.callback"].data_type) == ("true", "s")
    assert dana["extracted.meeting"].value == '{"room": "A", "slots": [9, 10]}'
    assert dana["extracted.note"].value == "'=1+2" and dana["summary"].value.startswith("'=")
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True)}
    assert summary["dispositions"] == (
        "Call Back Later 1, Do Not Call 1, Interested 1, No Answer 1"
    )


def test_json_keeps_extracted_data_nested(analysed: Path) -> None:
    document = json.loads(export_analysed(analysed, ".json").read_text(encoding="utf-8"))
    assert document["columns"].count("extracted_data") == 1
    assert not [c for c in document["columns"] if c.startswith("extracted.")]
    dana, eli, noa = document["leads"][:3]
    assert dana["extracted_data"] == {
        "interest": "high",
        "callback": True,
        "quantity": 3,
        "meeting": MEETING,
        "note": "=1+2",  # JSON is data: not neutralised
    }
    assert eli["extracted_data"]["late_key"] == "only here"
    assert list(dana) == [*document["columns"], "attempt_history"]
    assert dana["attempt_history"][0]["extracted_data"]["meeting"] == MEETING
    assert noa["extracted_data"] is None  # its last call extracted nothing
    history = noa["attempt_history"]
    assert history[0]["extracted_data"] == dict.fromkeys(["interest", "callback", "quantity"])
    assert [a["disposition"] for a in history] == ["Voicemail", "No Answer"]
    assert document["summary"]["dispositions"]["Interested"] == 1


def test_summary_counts_analyses_dispositions_and_cost(analysed: Path) -> None:
    with Ledger(analysed / "analysed.db") as ledger:
        stats = reports.summary(ledger, ANALYSED)
    assert stats["analyses"] == {"done": 3, "pending": 1, "skipped": 1}
    assert stats["dispositions"] == {
        "Call Back Later": 1,
        "Do Not Call": 1,
        "Interested": 1,
        "No Answer": 1,
    }
    assert (stats["cost_cents"], stats["cost_pending"]) == (60.0, 1)
    assert stats["cost_per_reached_lead"] == 20.0  # Dana, Eli, Ron reached; $0.60 in all
    lines = dict(reports.summary_lines(stats))
    assert lines["cost"] == "$0.60 · $0.20 per reached lead · 1 call(s) not priced yet"
    assert lines["analyses"] == "done 3, pending 1, skipped 1"


def test_html_shows_dispositions_fields_cost_and_searchable_summaries(analysed: Path) -> None:
    page = export_analysed(analysed, ".html").read_text(encoding="utf-8")
    assert "What the calls found out" in page and "Dispositions (each lead" in page
    for key in ("interest", "callback", "quantity", "meeting", "note", "late_key"):
        assert f"<figcaption>extracted.{key} (" in page
    # over each lead's last call: Noa's was not answered, Ron's analysis is still pending
    assert "extracted.interest (2 leads, 0 not said)" in page
    assert "extracted.meeting (2 leads, 1 not said)" in page
    assert "$0.60 · $0.20 per reached lead" in page
    cost_table = page[page.index('<table class="cost">') :]
    cost_table = cost_table[: cost_table.index("</table>")]
    assert "<td>Interested</td><td>1</td><td>$0.24</td><td>$0.24</td>" in cost_table
    assert "<td>No Answer</td><td>1</td><td>$0.00</td>" in cost_table
    data = page[page.index('id="lead-data">') + len('id="lead-data">') :]
    lead_data = json.loads(data[: data.index("</script>")])
    header = re.findall(r"<th>([^<]*)</th>", page[page.index('<table id="leads">') :])
    assert lead_data["wide"] == [header.index("summary")]
    dana = dict(zip(header, lead_data["rows"][0], strict=True))
    assert dana["extracted.callback"] == "true" and dana["duration_seconds"] == 116
    assert dana["summary"].endswith("wants the offer")  # raw text: the page shows, never runs


def test_html_summaries_are_searched_in_headless_chromium(analysed: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    page = export_analysed(analysed, ".html")
    script = page.read_text(encoding="utf-8").replace(
        'box.addEventListener("input", render);',
        'box.value = "called back tomorrow"; box.addEventListener("input", render);',
    )
    searched = tmp_path / "searched.html"
    searched.write_text(script, encoding="utf-8")
    dom = _chromium(searched, tmp_path / "profile", "--dump-dom")
    assert "data-errors" not in dom.stdout
    assert "1 of 5 leads match" in dom.stdout
    leads = dom.stdout[dom.stdout.index('<table id="leads">') :]
    assert leads.count("<tr>") == 2  # the header and Eli, found by his call's summary
    assert '<td class="long">Asked to be called back tomorrow morning.</td>' in dom.stdout


def test_field_charts_pick_counts_or_a_histogram() -> None:
    from dialer import report_html

    assert report_html.field_kind([True, None, False]) == "boolean"
    assert report_html.field_kind([1, 2.5, None]) == "number"
    assert report_html.field_kind([1, "two"]) == "category"
    assert report_html.histogram([1.0, 2.0, 2.0, 4.0]) == (["1", "2", "3", "4"], [1, 2, 0, 1])
    assert report_html.histogram([1.0, 3.0, 20.0]) == (
        ["1–3", "4–6", "7–9", "10–12", "13–15", "16–18", "19–20"],
        [2, 0, 0, 0, 0, 0, 1],
    )
    labels, counts = report_html.histogram([0.0, 10.0, 100.0, 0.5])
    assert (labels[0], labels[-1], sum(counts)) == ("0–12.5", "87.5–100", 4)
    assert report_html.histogram([0.0, 100.0])[0][-1] == "91–100"
    many = [f"v{i}" for i in range(12)] + ["v0", None]
    shown = report_html.value_counts(many)
    assert list(shown)[:2] == ["v0", "(not said)"]
    assert shown["5 other values"] == 5 and sum(shown.values()) == 14


def test_validation_csv_shares_the_report_writer(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"row": [1, 2], "phone": ["+972531000000", "=2+2"], "reason": [None, "bad"]}
    )
    target = tmp_path / "statuses.csv"
    reports.write_status_csv(frame, target)
    assert read_csv(target) == [
        ["row", "phone", "reason"],
        ["1", "+972531000000", ""],
        ["2", "'=2+2", "bad"],
    ]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_header_cells_are_neutralised_too(tmp_path: Path) -> None:
    with Ledger(tmp_path / "h.db") as ledger:
        ledger.create_campaign(
            name="headers",
            agent_id="agent",
            settings={},
            campaign_file=None,
            leads_file="x.csv",
            leads_sha256="0",
            variable_names=[],
            metadata_names=["@evil", "fine"],  # metadata keys are the sheet's free text
            rows=[(1, PHONES[0], PHONES[0], "Asia/Jerusalem", "pending", "", '["a", "b"]')],
            now=datetime(2026, 3, 1, tzinfo=UTC),
        )
        reports.export(ledger, "headers", tmp_path / "h.csv")
        reports.export(ledger, "headers", tmp_path / "h.xlsx")
    assert read_csv(tmp_path / "h.csv")[0][15:17] == ["'@evil", "fine"]
    sheet = openpyxl.load_workbook(tmp_path / "h.xlsx")["Leads"]
    assert [sheet.cell(1, 16).value, sheet.cell(1, 17).value] == ["'@evil", "fine"]
