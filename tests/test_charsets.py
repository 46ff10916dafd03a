"""Reading sheets in every encoding people save them in: the detection rule measured on a
corpus, Excel's own formats, overrides, and names that come out intact."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.charsets import detect
from dialer.cli import cli
from dialer.config import Campaign, load_campaign
from dialer.errors import ConfigError, InputError
from dialer.leads import load_leads, read_sheet
from dialer.sandbox import AGENT_ID, FROM_NUMBERS
from dialer.store import Ledger
from tests.figures import record
from tests.sheets_corpus import CorpusSheet, corpus, short_sheets

CORPUS = corpus()
WESTERN = "Name,Phone\r\nJosé García,+34 612 345 678\r\nFrançois Müller,06 12 34 56 78\r\n"
CYRILLIC = "Name,Phone\r\nИван Петров,+7 916 123-45-67\r\nОльга Попова,+7 903 765-43-21\r\n"


def write(tmp_path: Path, sheet: CorpusSheet) -> Path:
    path = tmp_path / f"{sheet.name}.csv"
    path.write_bytes(sheet.data())
    return path


@pytest.mark.parametrize("sheet", CORPUS, ids=[s.name for s in CORPUS])
def test_every_corpus_sheet_reads_back_exactly(tmp_path: Path, sheet: CorpusSheet) -> None:
    frame = read_sheet(write(tmp_path, sheet))
    assert tuple(frame.columns) == sheet.rows[0]
    assert [tuple(row) for row in frame.to_numpy().tolist()] == list(sheet.rows[1:])


def test_detection_accuracy_on_the_corpus() -> None:
    """The rule is right on every sheet: the corpus plus 720 sheets of one to five rows."""
    sheets = CORPUS + short_sheets()
    right = sum(
        1
        for sheet in sheets
        if (codec := detect(sheet.data())) and sheet.data().decode(codec) == sheet.text()
    )
    record("encoding corpus sheets read exactly", right)
    record("encoding corpus sheets", len(sheets))
    assert len(sheets) == 34 + 720
    assert right == len(sheets)


@pytest.mark.parametrize(
    ("text", "codec", "names"),
    [
        (WESTERN, "cp1252", ["José García", "François Müller"]),
        (CYRILLIC, "cp1251", ["Иван Петров", "Ольга Попова"]),
    ],
)
def test_names_sent_to_the_agent_are_intact(
    tmp_path: Path, text: str, codec: str, names: list[str]
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(text.encode(codec))
    frame = load_leads(campaign(path))
    assert frame["var.LeadName"].tolist() == names
    assert frame.attrs["encoding"] == f"windows-{codec[2:]} (detected)"


def test_excel_csv_utf8_and_unicode_text(tmp_path: Path) -> None:
    rows = [("Name", "Phone"), ("נועה כהן", "052-234-5678"), ("Zoë Müller", "+49 151 1234567")]
    utf8 = tmp_path / "csv-utf8.csv"
    utf8.write_bytes("\r\n".join(",".join(r) for r in rows).encode("utf-8-sig"))
    unicode_text = tmp_path / "unicode.txt"
    unicode_text.write_bytes("\r\n".join("\t".join(r) for r in rows).encode("utf-16"))
    for path, label in ((utf8, "utf-8 (with BOM)"), (unicode_text, "utf-16 (with BOM)")):
        frame = read_sheet(path)
        assert list(frame.columns) == ["Name", "Phone"]
        assert frame.to_numpy().tolist() == [list(r) for r in rows[1:]]
        assert frame.attrs["encoding"] == f"{label} (detected)"


def test_campaign_key_and_flag_override_detection(tmp_path: Path) -> None:
    # Hebrew letters and Cyrillic ones share byte values: name the encoding to be sure
    path = tmp_path / "leads.csv"
    path.write_bytes("Name,Phone\r\nשלום,0522345678\r\n".encode("cp1255"))
    assert load_leads(campaign(path))["var.LeadName"].tolist() == ["שלום"]
    as_cyrillic = campaign(path, encoding="Windows-1251")
    assert as_cyrillic.encoding == "cp1251"
    frame = load_leads(as_cyrillic)
    assert frame["var.LeadName"].tolist() == ["щмен"]
    assert frame.attrs["encoding"] == "windows-1251 (as given)"
    flagged = load_leads(campaign(path), encoding="cp1251")
    assert flagged["var.LeadName"].tolist() == ["щмен"]


def test_a_named_encoding_that_cannot_read_the_file(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("Name,Phone\r\nNoa,0522345678\r\nDan\x81,0532345678\r\n".encode("latin-1"))
    with pytest.raises(InputError) as caught:
        load_leads(campaign(path, encoding="windows-1252"))
    assert str(caught.value) == (
        f"{path}: cannot be read as windows-1252 (byte 0x81 on line 3); check the encoding "
        "you named (--encoding, or the campaign's encoding key)"
    )


def test_unknown_encoding_name_is_a_config_error(tmp_path: Path) -> None:
    toml = campaign_file(tmp_path, 'encoding = "klingon"\n')
    with pytest.raises(ConfigError) as caught:
        load_campaign(toml)
    assert str(caught.value) == (
        f"{toml}: encoding: 'klingon' is not a text encoding Python knows "
        "(e.g. utf-8, windows-1252, windows-1255)"
    )
    result = CliRunner().invoke(cli, ["validate", str(campaign_file(tmp_path)), "--encoding", "x"])
    assert result.exit_code == 1
    assert "--encoding: 'x' is not a text encoding Python knows" in result.output


def test_validate_prints_the_encoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "leads.csv").write_bytes(WESTERN.encode("cp1252"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YAPPR_API_KEY", raising=False)
    toml = str(campaign_file(tmp_path))
    args = ["validate", toml, "--sandbox", "--db", "l.db", "--out", "s.csv"]
    detected = CliRunner().invoke(cli, args)
    assert detected.exit_code == 0, detected.output
    assert "encoding: windows-1252 (detected)" in detected.output
    given = CliRunner().invoke(cli, [*args, "--encoding", "latin-1"])
    assert "encoding: iso8859-1 (as given)" in given.output
    with open(tmp_path / "s.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # the French number is written without its country code: read as Israeli, invalid
    assert [r["phone"] for r in rows] == ["+34612345678", ""]


# --------------------------------------------------------------------------- helpers


def campaign(leads: Path, **extra: object) -> Campaign:
    return Campaign.model_validate(
        {
            "name": "t",
            "agent_id": AGENT_ID,
            "from": FROM_NUMBERS[0],
            "leads": str(leads),
            "columns": {"phone": "Phone", "variables": {"LeadName": "Name"}},
            **extra,
        }
    )


def campaign_file(folder: Path, extra: str = "") -> Path:
    toml = folder / "campaign.toml"
    toml.write_text(
        f'name = "t"\nagent_id = "{AGENT_ID}"\nfrom = "{FROM_NUMBERS[0]}"\n'
        f'leads = "leads.csv"\n{extra}\n[columns]\nphone = "Phone"\n'
        'variables = { LeadName = "Name" }\n',
        encoding="utf-8",
    )
    return toml


def test_run_reads_the_sheet_in_the_encoding_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run --encoding`` overrides detection, and the ledger keeps the names as read."""
    (tmp_path / "leads.csv").write_bytes("Name,Phone\r\nשלום,0522345678\r\n".encode("cp1255"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YAPPR_API_KEY", raising=False)
    toml = str(campaign_file(tmp_path))
    run = ["run", toml, "--sandbox", "--time-scale", "2000", "--sync-interval", "2"]
    as_hebrew = CliRunner().invoke(cli, [*run, "--db", "detected.db"])
    assert as_hebrew.exit_code == 0, as_hebrew.output
    as_cyrillic = CliRunner().invoke(cli, [*run, "--db", "named.db", "--encoding", "cp1251"])
    assert as_cyrillic.exit_code == 0, as_cyrillic.output
    with Ledger(tmp_path / "detected.db") as detected, Ledger(tmp_path / "named.db") as named:
        assert json.loads(detected.leads_of("t")[0]["fields"]) == ["שלום"]
        assert json.loads(named.leads_of("t")[0]["fields"]) == ["щмен"]
    refused = CliRunner().invoke(cli, [*run, "--db", "x.db", "--encoding", "nope"])
    assert refused.exit_code == 1
    assert "--encoding: 'nope' is not a text encoding Python knows" in refused.output
