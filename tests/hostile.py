"""A corpus of hostile lead sheets and campaign files, generated into a folder at test time.

Nothing large is committed: each :class:`Case` writes its file when asked. A lead-sheet case
also gets a valid campaign file pointing at it, so every case is exercised the way a user
would meet it: ``dialer validate CAMPAIGN.toml``. ``refuse`` cases must end in exit 1 with one
line naming the file; the others are readable sheets with bad rows (exit 0, a reason per row).
"""

from __future__ import annotations

import codecs
import functools
import io
import os
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import openpyxl

from dialer.sandbox import AGENT_ID, FROM_NUMBERS

GIB = 1024**3
MIB = 1024**2
PHONES = ["0531000001", "0531000002", "0531000003"]


@dataclass(frozen=True)
class Case:
    """One hostile file: how to write it and what a user must see."""

    name: str
    target: Literal["leads", "campaign"]
    write: Callable[[Path], Path]  # writes the file into a folder and returns its path
    refuse: bool  # exit 1 and one error line naming the file; else exit 0 with row reasons
    message: str = ""  # a fragment of that error line
    rows: int | None = None  # a readable sheet: how many rows the per-row CSV must hold
    big: bool = False  # large on disk or in memory: also checked for peak memory

    def build(self, folder: Path) -> Path:
        """Write the case into ``folder``; returns the campaign file to validate."""
        folder.mkdir(parents=True, exist_ok=True)
        written = self.write(folder)
        if self.target == "campaign":
            write_csv(folder / "leads.csv", _good_rows())
            return written
        return campaign_file(folder, written.name)


# --------------------------------------------------------------------------- helpers


def campaign_file(folder: Path, leads: str, *, extra: str = "") -> Path:
    """A valid campaign whose sheet is ``leads`` (phone column "Phone", variable "Name")."""
    toml = folder / "campaign.toml"
    toml.write_text(_campaign_text(leads) + extra, encoding="utf-8")
    return toml


def _campaign_text(leads: str) -> str:
    return (
        f'name = "hostile"\nagent_id = "{AGENT_ID}"\nfrom = "{FROM_NUMBERS[0]}"\n'
        f'leads = "{leads}"\ndefault_region = "IL"\n\n'
        '[columns]\nphone = "Phone"\nvariables = { LeadName = "Name" }\n'
    )


def _good_rows() -> list[list[str]]:
    return [["Phone", "Name"], *([p, f"Lead {i}"] for i, p in enumerate(PHONES))]


def write_csv(path: Path, rows: list[list[str]], *, newline: str = "\n") -> Path:
    """Rows as CSV text (no quoting needed for the values used here)."""
    path.write_text(newline.join(",".join(r) for r in rows) + newline, encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    """A real workbook with one sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return write


def _csv(name: str, rows: list[list[str]], *, newline: str = "\n") -> Callable[[Path], Path]:
    return lambda folder: write_csv(folder / name, rows, newline=newline)


def _toml(text: str | bytes) -> Callable[[Path], Path]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _bytes("campaign.toml", data)


def _with_leads(text: str) -> str:
    """A campaign file's text with ``text`` in place of its last section."""
    return _campaign_text("leads.csv") + text


# --------------------------------------------------------------------------- big files


def huge_line(megabytes: int) -> Callable[[Path], Path]:
    """A header followed by one line of ``megabytes`` MB and no newline anywhere."""

    def write(folder: Path) -> Path:
        path = folder / f"line-{megabytes}mb.csv"
        with path.open("wb") as handle:
            handle.write(b"Phone,Name")
            block = b"x" * MIB
            for _ in range(megabytes):
                handle.write(block)
        return path

    return write


def sparse(folder: Path) -> Path:
    """A 2 GB file that takes no disk: a real header, then a hole of zeros."""
    path = folder / "sparse-2gb.csv"
    with path.open("wb") as handle:
        handle.write(b"Phone,Name\n0531000001,Noa\n")
        handle.truncate(2 * GIB)
    return path


_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>Phone</t></is></c></row>'
)
_SHEET_ROW = b'<row><c t="inlineStr"><is><t>0531000001</t></is></c></row>'
_SHEET_TAIL = b"</sheetData></worksheet>"


def zip_bomb(*, expands_to: int = 2 * GIB, declared: int | None = None) -> Callable[[Path], Path]:
    """An .xlsx whose sheet XML (identical rows) inflates to ``expands_to`` bytes.

    ``declared`` makes the zip lie about that size in its headers (a bomb that hides).
    """

    def write(folder: Path) -> Path:
        name = "bomb.xlsx" if declared is None else "lying-bomb.xlsx"
        path = folder / name
        sheet, crc, size = _deflated_rows(expands_to)
        members = [*_workbook_parts(), ("xl/worksheets/sheet1.xml", sheet, crc, size)]
        if declared is not None:
            members[-1] = (members[-1][0], sheet, crc, declared)
        path.write_bytes(_zip(members))
        return path

    return write


@functools.cache
def _deflated_rows(target: int) -> tuple[bytes, int, int]:
    """Raw deflate of head + identical rows + tail, built from one repeated block (fast)."""
    block = _SHEET_ROW * ((4 * MIB) // len(_SHEET_ROW))
    repeats = max(1, target // len(block))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(_SHEET_HEAD) + packer.flush(zlib.Z_FULL_FLUSH)
    body = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    # after a full flush the compressor forgets history, so the same block packs the same
    assert body == packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(_SHEET_TAIL) + packer.flush()
    crc = zlib.crc32(_SHEET_HEAD)
    for _ in range(repeats + 1):  # the +1: the block the assert packed twice
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(_SHEET_TAIL, crc)
    size = len(_SHEET_HEAD) + len(block) * (repeats + 1) + len(_SHEET_TAIL)
    return head + body * (repeats + 1) + tail, crc, size


def _workbook_parts() -> list[tuple[str, bytes, int, int]]:
    """The small parts every .xlsx needs, deflated."""
    ns = "http://schemas.openxmlformats.org"
    rel = f"{ns}/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{rel}"><sheets>'
            '<sheet name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
    }
    out = []
    for name, text in parts.items():
        data = text.encode()
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        out.append((name, packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)))
    return out


def _zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip archive of already-deflated members ``(name, data, crc, uncompressed size)``."""
    out = io.BytesIO()
    central = io.BytesIO()
    for name, data, crc, size in members:
        offset = out.tell()
        encoded = name.encode()
        fields = (20, 0, 8, 0, 0, crc, len(data), size, len(encoded), 0)
        out.write(b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields) + encoded + data)
        central.write(
            b"PK\x01\x02"
            + struct.pack(
                "<HHHHHHIIIHHHHHII",
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start = out.tell()
    directory = central.getvalue()
    out.write(directory)
    count = len(members)
    out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, count, count, len(directory), start, 0))
    return out.getvalue()


# --------------------------------------------------------------------------- small files


def _truncated_xlsx(folder: Path) -> Path:
    path = write_xlsx(folder / "truncated.xlsx", [["Phone", "Name"], [PHONES[0], "Noa"]])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _xlsx_as_csv(folder: Path) -> Path:
    path = write_xlsx(folder / "book.xlsx", [["Phone", "Name"], [PHONES[0], "Noa"]])
    return path.rename(folder / "really-a-workbook.csv")


def _formulas_xlsx(folder: Path) -> Path:
    rows: list[list[object]] = [
        ["Phone", "Name"],
        ["=0531000001", "Noa"],  # a formula that computes a number (no cached value saved)
        [PHONES[1], '=HYPERLINK("http://evil.example","click")'],
        ["=SUM(1,2)", "Dan"],
    ]
    return write_xlsx(folder / "formulas.xlsx", rows)


def _wide(folder: Path) -> Path:
    header = ["Phone", "Name", *(f"extra {i}" for i in range(998))]
    rows = [header, *([p, f"Lead {i}", *("v" for _ in range(998))] for i, p in enumerate(PHONES))]
    return write_csv(folder / "wide-1000.csv", rows)


def _wide_xlsx(folder: Path) -> Path:
    header: list[object] = ["Phone", "Name", *(f"extra {i}" for i in range(998))]
    rows = [header, *([p, f"Lead {i}", *range(998)] for i, p in enumerate(PHONES))]
    return write_xlsx(folder / "wide-1000.xlsx", rows)


def _nul_late(folder: Path) -> Path:
    """NUL bytes past the binary sniff window: a readable sheet whose late rows are junk."""
    filler = [[f"05310{i:05d}", f"Lead {i}"] for i in range(10, 6000)]
    path = write_csv(folder / "nul-late.csv", [["Phone", "Name"], *filler])
    with path.open("ab") as handle:
        handle.write(b"05\x0031000004,N\x00oa\n")
    return path


def _directory(folder: Path) -> Path:
    path = folder / "folder.csv"
    path.mkdir()
    return path


def _symlink_loop(folder: Path) -> Path:
    a, b = folder / "loop-a.csv", folder / "loop-b.csv"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def _device(folder: Path) -> Path:
    path = folder / "zero.csv"
    path.symlink_to(os.devnull)
    return path


def _unreadable(folder: Path) -> Path:
    path = write_csv(folder / "unreadable.csv", _good_rows())
    path.chmod(0)
    return path


def _random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


_GOOD = _good_rows()


def _deep_nesting(depth: int) -> str:
    return _with_leads(f"[pacing]\nmax_live_calls = {'[' * depth}{']' * depth}\n")


LEADS_CASES: list[Case] = [
    Case(
        "binary garbage",
        "leads",
        _bytes("garbage.csv", _random_bytes(1, 64 * 1024)),
        True,
        "binary",
    ),
    Case(
        "ELF executable",
        "leads",
        _bytes("program.csv", b"\x7fELF\x02\x01\x01" + bytes(500)),
        True,
        "binary",
    ),
    Case(
        "png image renamed",
        "leads",
        _bytes("image.csv", b"\x89PNG\r\n\x1a\n" + _random_bytes(2, 4000)),
        True,
    ),
    Case("huge single line 5 MB", "leads", huge_line(5), True, "no leads"),
    Case("huge single line 50 MB", "leads", huge_line(50), True, "no leads", big=True),
    Case(
        "huge cell in one row",
        "leads",
        _csv("huge-cell.csv", [["Phone", "Name"], [PHONES[0], "y" * (4 * MIB)]]),
        False,
        rows=1,
    ),
    Case(
        "ragged sheet with a 1 MB cell",
        "leads",
        _csv("ragged.csv", [["Phone", "Name"], [PHONES[0], "a", "b"], [PHONES[1], "z" * MIB]]),
        True,
        "cannot read the CSV",
    ),
    Case(
        "latin-1 text",
        "leads",
        _bytes("latin1.csv", "Phone,Name\n0531000001,José Müller\n".encode("latin-1")),
        False,
        rows=1,
    ),
    Case(
        "windows-1255 hebrew",
        "leads",
        _bytes("hebrew.csv", "Phone,Name\n0531000001,נועה כהן\n".encode("cp1255")),
        False,
        rows=1,
    ),
    Case(
        "utf-16 without BOM",
        "leads",
        _bytes("utf16-nobom.csv", "Phone,Name\n0531000001,Noa\n".encode("utf-16-le")),
        True,
    ),
    Case(
        "utf-16 BOM, odd length",
        "leads",
        _bytes(
            "utf16-odd.csv",
            codecs.BOM_UTF16_LE + "Phone,Name\n0531000001,N\n".encode("utf-16-le") + b"\x41",
        ),
        False,
        rows=2,
    ),
    Case(
        "invalid utf-8 bytes",
        "leads",
        _bytes("bad-utf8.csv", b"Phone,Name\n0531000001,No\xffa\xc3\n0531000002,Dan\n"),
        False,
        rows=2,
    ),
    Case("zip bomb as .xlsx", "leads", zip_bomb(), True, "too large", big=True),
    Case("zip bomb lying about its size", "leads", zip_bomb(declared=4000), True, big=True),
    Case("truncated .xlsx", "leads", _truncated_xlsx, True, "cannot read the workbook"),
    Case(
        ".xlsx that is CSV",
        "leads",
        lambda f: write_csv(f / "really-csv.xlsx", _GOOD),
        True,
        "cannot read the workbook",
    ),
    Case(".csv that is a workbook", "leads", _xlsx_as_csv, True, "rename it to .xlsx"),
    Case(
        ".xls that is garbage",
        "leads",
        _bytes("old.xls", _random_bytes(3, 3000)),
        True,
        "cannot read the workbook",
    ),
    Case(
        ".ods that is empty zip",
        "leads",
        _bytes("sheet.ods", b"PK\x05\x06" + bytes(18)),
        True,
        "cannot read the workbook",
    ),
    Case(
        "formulas in CSV cells",
        "leads",
        _csv(
            "formulas.csv",
            [
                ["Phone", "Name"],
                ["=1+1", "Noa"],
                ["=cmd|' /C calc'!A0", "Dan"],
                [PHONES[0], '=HYPERLINK("http://x","y")'],
                ["@SUM(1)", "Eli"],
                ["+972531000002", "-2+3"],
            ],
        ),
        False,
        rows=5,
    ),
    Case("formulas in workbook cells", "leads", _formulas_xlsx, False, rows=3),
    Case("1,000 columns", "leads", _wide, False, rows=3),
    Case("1,000 columns, workbook", "leads", _wide_xlsx, False, rows=3),
    Case(
        "duplicate phone header",
        "leads",
        _csv("dup-header.csv", [["Phone", "Name", "Phone"], [PHONES[0], "Noa", PHONES[1]]]),
        True,
        "appears more than once",
    ),
    Case(
        "duplicate unused headers",
        "leads",
        _csv("dup-other.csv", [["Phone", "Name", "x", "x"], [PHONES[0], "Noa", "1", "2"]]),
        False,
        rows=1,
    ),
    Case(
        "NUL bytes at the start",
        "leads",
        _bytes("nul.csv", b"Phone\x00,Name\n\x00\x00\n"),
        True,
        "binary",
    ),
    Case("NUL bytes after the sniff window", "leads", _nul_late, False, rows=5991),
    Case("2 GB sparse file", "leads", sparse, True, "too large", big=True),
    Case("empty file", "leads", _bytes("empty.csv", b""), True, "empty"),
    Case("header only", "leads", _csv("header.csv", [["Phone", "Name"]]), True, "no leads"),
    Case("BOM only", "leads", _bytes("bom.csv", codecs.BOM_UTF8), True, "empty"),
    Case("UTF-16 BOM only", "leads", _bytes("bom16.csv", codecs.BOM_UTF16_LE), True, "empty"),
    Case("only whitespace", "leads", _bytes("space.csv", b" \t\r\n  \n\t\n"), True, "empty"),
    Case("only delimiters", "leads", _bytes("commas.csv", b",,,\n,,,\n"), True, "blank"),
    Case(
        "mixed line endings",
        "leads",
        _bytes("endings.csv", b"Phone,Name\r\n0531000001,Noa\n0531000002,Dan\r0531000003,Eli\r\n"),
        False,
        rows=3,
    ),
    Case(
        "unbalanced quote",
        "leads",
        _bytes("quote.csv", b'Phone,Name\n"0531000001,Noa\n0531000002,Dan\n'),
        False,
        rows=1,
    ),
    Case(
        "HTML saved as .csv",
        "leads",
        _bytes("page.csv", b"<html><body><table><tr><td>Phone</td></tr></table></body></html>"),
        True,
        "no leads",
    ),
    Case("directory instead of a file", "leads", _directory, True, "is a folder"),
    Case("symlink loop", "leads", _symlink_loop, True, "not found"),
    Case("device instead of a file", "leads", _device, True, "not found"),
    Case("unreadable permissions", "leads", _unreadable, True, "cannot read"),
    Case(
        "invisible marks in numbers",
        "leads",
        _csv(
            "bidi.csv",
            [
                ["\ufeffPhone\u200b", "Name"],
                ["\u202a0531000001\u202c", "Noa"],
                ["05\u200b31000002", "Dan"],
                ["", "Eli"],
            ],
        ),
        False,
        rows=3,
    ),
]

CAMPAIGN_CASES: list[Case] = [
    Case(
        "campaign: binary garbage", "campaign", _toml(_random_bytes(4, 5000)), True, "campaign.toml"
    ),
    Case(
        "campaign: NUL bytes",
        "campaign",
        _toml(_with_leads("\x00\n").encode()),
        True,
        "not valid TOML",
    ),
    Case(
        "campaign: NUL inside a string",
        "campaign",
        _toml(_with_leads("[pacing]\n").replace('name = "hostile"', 'name = "ho\x00stile"')),
        True,
    ),
    Case(
        "campaign: UTF-16",
        "campaign",
        _toml(_with_leads("").encode("utf-16")),
        True,
        "not a text file",
    ),
    Case("campaign: empty", "campaign", _toml(""), True, "is required"),
    Case("campaign: deep nesting", "campaign", _toml(_deep_nesting(50_000)), True),
    Case(
        "campaign: deep tables",
        "campaign",
        _toml(_with_leads("[" + ".".join(["a"] * 5000) + "]\n")),
        True,
        "unknown key",
    ),
    Case(
        "campaign: wrong types",
        "campaign",
        _toml(_with_leads('[pacing]\nmax_live_calls = "ten"\n')),
        True,
        "max_live_calls",
    ),
    Case(
        "campaign: table where a string goes",
        "campaign",
        _toml(
            _campaign_text("leads.csv")
            .replace('from = "', 'from = { a = "')
            .replace('"\nleads', '" }\nleads', 1)
        ),
        True,
        "from",
    ),
    Case(
        "campaign: unknown keys",
        "campaign",
        _toml(_with_leads("[pacing]\nmax_calls = 3\n")),
        True,
        "unknown key 'max_calls'",
    ),
    Case(
        "campaign: huge string value",
        "campaign",
        _toml(_campaign_text("leads.csv").replace(f'"{AGENT_ID}"', '"' + "z" * (2 * MIB) + '"')),
        True,
        "agent_id",
    ),
    Case(
        "campaign: huge key",
        "campaign",
        _toml(_with_leads("k" * (2 * MIB) + " = 1\n")),
        True,
        "unknown key",
    ),
    Case(
        "campaign: huge array",
        "campaign",
        _toml(_with_leads("[window]\ndays = [" + '"mon",' * 200_000 + "]\n")),
        False,
        rows=3,
    ),
    Case(
        "campaign: huge integer",
        "campaign",
        _toml(_with_leads("[pacing]\nmax_live_calls = " + "9" * 5000 + "\n")),
        True,
    ),
    Case(
        "campaign: control characters in name",
        "campaign",
        _toml(_with_leads("").replace('name = "hostile"', 'name = "a\\u0007\\nb"')),
        True,
        "name",
    ),
    Case(
        "campaign: leads is a device",
        "campaign",
        _toml(_campaign_text(os.devnull)),
        True,
        os.devnull,
    ),
    Case("campaign: leads path empty", "campaign", _toml(_campaign_text("")), True),
    Case(
        "campaign: bad window times",
        "campaign",
        _toml(_with_leads('[window]\nstart = 09:00:00\nend = "25:99"\n')),
        True,
        "start",
    ),
]

CASES = LEADS_CASES + CAMPAIGN_CASES
