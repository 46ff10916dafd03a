"""Reading lead sheets (encodings, workbooks, bad files), mapping columns, classifying rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from dialer.config import Campaign
from dialer.dnc import DncEntry, DncIndex
from dialer.errors import InputError
from dialer.leads import classify, load_leads, read_sheet

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AGENT = "5b0c8f4e-1d2a-4c3b-9e7f-0a1b2c3d4e5f"
HEBREW_CSV = "שם מלא,טלפון,הערה\nנועה כהן,052-234-5678,שלום\nדני לוי,0532345678,\n"


def campaign(leads: Path, **columns: object) -> Campaign:
    return Campaign.model_validate(
        {
            "name": "t",
            "agent_id": AGENT,
            "from": "+972552234567",
            "leads": str(leads),
            "columns": {"phone": "Phone", **columns},
        }
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1255"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(HEBREW_CSV.encode(encoding))
    sheet = read_sheet(path)
    assert list(sheet.columns) == ["שם מלא", "טלפון", "הערה"]
    assert sheet["טלפון"].tolist() == ["052-234-5678", "0532345678"]
    assert sheet["שם מלא"].tolist() == ["נועה כהן", "דני לוי"]
    assert sheet["הערה"].tolist() == ["שלום", ""]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_and_text_kept_as_typed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "leads.csv"
    rows = [["Phone", "Zip", "Note"], ["0522345678", "00123", "NA"], ["1e5", "007", "null"]]
    path.write_text("\n".join(delimiter.join(r) for r in rows) + "\n", encoding="utf-8")
    sheet = read_sheet(path)
    assert sheet.values.tolist() == rows[1:]


def test_ragged_rows_do_not_stop_the_read(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text('Phone,Name\n0522345678,a,extra\n"053\n2345678",b\n', encoding="utf-8")
    sheet = read_sheet(path)
    assert sheet["Phone"].tolist() == ["0522345678", "053\n2345678"]


def test_forgiving_header_match(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("\u200f PHONE\u00a0,Full  Name\n0522345678,Noa\n", encoding="utf-8")
    frame = load_leads(campaign(path, variables={"LeadName": "full name"}))
    assert frame.columns.tolist() == ["row", "phone_raw", "region", "var.LeadName"]
    assert frame.iloc[0].tolist() == [1, "0522345678", "IL", "Noa"]


def test_xlsx_numbers_stored_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "leads.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "לקוחות"
    sheet.append(["שם מלא", "טלפון", "מזהה"])
    sheet.append(["נועה", 522345678, 12345])
    sheet.append(["דני", 972532345678, 1.5])
    sheet.append(["רון", "'0542345678", None])
    sheet.append([None, None, None])
    book.save(path)
    read = read_sheet(path)
    assert read["טלפון"].tolist() == ["522345678", "972532345678", "'0542345678"]
    assert read["מזהה"].tolist() == ["12345", "1.5", ""]
    camp = campaign(path, phone="טלפון")
    frame = classify(load_leads(camp), camp, dnc=DncIndex(), now=NOW)
    assert frame["phone"].tolist() == ["+972522345678", "+972532345678", "+972542345678"]


def test_missing_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = tmp_path / "leads.xlsx"
    book = Workbook()
    assert book.active is not None
    book.active.title = "Leads"
    book.save(path)
    with pytest.raises(InputError, match="no sheet named 'Other'; the workbook has 'Leads'"):
        read_sheet(path, sheet="Other")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"\xef\xbb\xbf\n\n  \n", "the file is empty"),
        ("header-only.csv", b"Phone,Name\n", "has a header row but no leads"),
        ("no-header.csv", b"0522345678,0532345678\n0542345678,0552345678\n", "looks like data"),
        ("blank-header.csv", b",,\n0522345678,a,b\n", "the first row is blank"),
        ("binary.csv", bytes(range(256)) * 4, "looks like a binary file"),
        ("book.csv", b"PK\x03\x04rest-of-zip", "rename it to .xlsx"),
        ("leads.pdf", b"%PDF", "unknown file type '.pdf'"),
        ("broken.xlsx", b"not a zip at all", "cannot read the workbook"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_sheet(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="lead sheet not found"):
        read_sheet(tmp_path / "nope.csv")


def test_missing_column_lists_headers(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Tel,Name\n0522345678,Noa\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_leads(campaign(path))
    assert str(caught.value) == (
        f"{path}: no column 'Phone' (campaign [columns] phone); "
        "the sheet's columns are 'Tel', 'Name'"
    )


def test_duplicate_mapped_header(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Phone,Name,phone\n0522345678,Noa,0532345678\n", encoding="utf-8")
    with pytest.raises(InputError, match="column 'Phone' appears more than once"):
        load_leads(campaign(path))


def test_classify_statuses_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    rows = [
        "052-234-5678",  # 1 pending
        "+972 52 234 5678",  # 2 duplicate of 1
        "",  # 3 empty
        "n/a",  # 4 unparseable
        "0552234567",  # 5 same as from
        "0532345678",  # 6 dnc global
        "0542345678",  # 7 cooldown
        "0584345678",  # 8 scoped to another agent: pending
        "(212) 736-0100",  # 9 country column says US
        "0532345678",  # 10 duplicate of 6 (the first row wins, even when blocked)
    ]
    countries = ["", "", "", "", "", "", "", "", "United States", ""]
    body = "\n".join(f'"{r}",{c}' for r, c in zip(rows, countries, strict=True))
    path.write_text("Phone,Country\n" + body + "\n", encoding="utf-8")
    camp = campaign(path, country="Country")
    dnc = DncIndex(
        [
            DncEntry("1", "+972532345678", reason="asked"),
            DncEntry("2", "+972584345678", frozenset({"someone-else"})),
        ]
    )
    out = classify(load_leads(camp), camp, dnc=dnc, now=NOW, cooldown={"+972542345678": "winter"})
    assert out["status"].tolist() == [
        "pending", "duplicate", "invalid", "invalid", "invalid",
        "dnc_blocked", "duplicate", "pending", "pending", "duplicate",
    ]  # fmt: skip
    assert out["reason"].tolist() == [
        "", "duplicate of row 1", "empty", "unparseable", "same_as_from",
        "dnc: cache (global): asked", "called in campaign winter", "", "", "duplicate of row 6",
    ]  # fmt: skip
    assert out["timezone"].tolist()[8] == "America/New_York"
    assert out["row"].tolist() == list(range(1, 11))
    assert (out["phone"] != "").sum() == 7
    assert Counter(out["status"]) == {
        "pending": 3,
        "duplicate": 3,
        "invalid": 3,
        "dnc_blocked": 1,
    }


def test_example_campaigns_classify() -> None:
    from dialer.config import load_campaign
    from dialer.dnc import read_suppression_file

    root = Path(__file__).resolve().parents[1] / "campaigns"
    for name, rows in (("demo.toml", 300), ("spring-renewals.toml", 100)):
        camp = load_campaign(root / name)
        suppressed = {
            n: p.name
            for p in camp.dnc.suppression_files
            for n in read_suppression_file(p, region="IL")
        }
        out = classify(load_leads(camp), camp, dnc=DncIndex(suppressed=suppressed), now=NOW)
        counts = Counter(out["status"])
        assert len(out) == rows
        assert counts["pending"] > rows * 0.6
    assert counts["dnc_blocked"] > 0
