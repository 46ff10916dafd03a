"""Lead sheets: read whatever file the user has, map its columns, and classify every row.

:func:`read_sheet` turns a CSV (in whatever encoding, :mod:`dialer.charsets`) or workbook
into text columns (never floats, leading zeros kept). :func:`load_leads` maps the campaign's
columns. :func:`classify` gives every row one intake status with a reason a person can read,
in this order: invalid number (or zone cell), duplicate within the sheet (first row wins),
cross-campaign cool-down, DNC, a calling window never open in all the lead's zones. Nothing
here touches the ledger or the clock: ``now`` is an argument.

A million-row sheet is read and classified column-wise in pyarrow and numpy (``make bench``);
the per-row Python work is limited to the rows that need it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]

from dialer import charsets, phones
from dialer.charsets import Choice
from dialer.config import Campaign
from dialer.dnc import DncIndex
from dialer.errors import InputError
from dialer.models import LeadStatus
from dialer.window import (
    CallingWindow,
    never_open_reason,
    zone_for_region,
    zone_name,
    zones_for_numbers,
)

__all__ = ["classify", "load_leads", "read_sheet"]

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
_SNIFF_BYTES = 64 * 1024
#: Larger files are refused before being read: a lead sheet this big is a mistake or an attack,
#: and pandas needs several times a file's size in memory. Split bigger lists into campaigns.
MAX_SHEET_BYTES = 256 * 1024 * 1024
#: A workbook is a zip: the parts it says it unpacks to are capped too (zip bombs).
MAX_WORKBOOK_UNPACKED = 512 * 1024 * 1024
_DATA_LIKE = re.compile(r"[+0-9()\-\s.']{6,}")


# --------------------------------------------------------------------------- reading


def read_sheet(
    path: Path, *, sheet: str | None = None, encoding: str | None = None
) -> pd.DataFrame:
    """Every cell of a CSV or workbook as text ("" for blank); headers cleaned of stray marks.

    A CSV's encoding is detected (:mod:`dialer.charsets`) unless ``encoding`` names it; the
    frame's ``attrs["encoding"]`` says which was used (e.g. ``windows-1252 (detected)``).
    Raises InputError naming the file for anything that stops the whole sheet from being
    read: missing, empty, binary, unknown type, missing sheet, no header row.
    """
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | WORKBOOK_SUFFIXES:
        known = ", ".join(sorted(CSV_SUFFIXES | WORKBOOK_SUFFIXES))
        raise InputError(f"{path}: unknown file type {suffix or '(none)'!r}; use one of {known}")
    _check_file(path)
    if suffix in WORKBOOK_SUFFIXES:
        return _with_header(_read_workbook(path, sheet), path)
    _system_allocator()
    grid, choice = _read_csv(path, encoding)
    give_back_memory()
    frame = _with_header(grid, path)
    frame.attrs["encoding"] = str(choice)
    return frame


def _check_file(path: Path) -> None:
    """Refuse what is not a regular file, or is too large to read safely, before reading."""
    if not path.is_file():
        what = "is a folder, not a lead sheet" if path.is_dir() else "lead sheet not found"
        raise InputError(f"{path}: {what}")
    size = path.stat().st_size
    if size > MAX_SHEET_BYTES:
        raise InputError(
            f"{path}: the file is too large ({_megabytes(size)}; the limit is "
            f"{_megabytes(MAX_SHEET_BYTES)}); split it into smaller sheets"
        )
    unpacked = _unpacked_size(path) if path.suffix.lower() in WORKBOOK_SUFFIXES else 0
    if unpacked > MAX_WORKBOOK_UNPACKED:
        raise InputError(
            f"{path}: the workbook is too large when unpacked "
            f"({_megabytes(unpacked)}; the limit is "
            f"{_megabytes(MAX_WORKBOOK_UNPACKED)}); save it as CSV or split it"
        )


def _unpacked_size(path: Path) -> int:
    """The total size a zip-based workbook declares for its parts (0 if it is not a zip).

    A part that lies about its size is caught later: the workbook reader stops at the
    declared size and fails.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return 0  # not a zip (CSV, .xls) or a broken one the reader reports itself


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB"


def _with_header(grid: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The first row as column names; an InputError if there is no usable header row."""
    if grid.empty or grid.shape[1] == 0:
        raise InputError(f"{path}: the file is empty; expected a header row and lead rows")
    header = [clean_header(str(v)) for v in grid.iloc[0].tolist()]
    if not any(header):
        raise InputError(f"{path}: the first row is blank; expected column names")
    named = [h for h in header if h]
    if all(_DATA_LIKE.fullmatch(h) for h in named):
        raise InputError(f"{path}: the first row looks like data ({named[0]}); add a header row")
    body = grid.iloc[1:].reset_index(drop=True)
    body.columns = pd.Index(header)
    if body.empty:
        raise InputError(f"{path}: has a header row but no leads below it")
    return body


def clean_header(text: str) -> str:
    """A header as a person reads it: no invisible marks or padding (case is kept).

    No-break spaces count as spaces (``str.split`` splits on them).
    """
    return " ".join(phones.INVISIBLE.sub("", text).split())


# --------------------------------------------------------------------------- CSV


def _read_csv(path: Path, encoding: str | None) -> tuple[pd.DataFrame, Choice]:
    """A CSV file as a headerless grid of text, whatever its encoding and delimiter.

    ``encoding`` (a codec name) overrides detection. UTF-8 bytes go to the parser as they
    are; other encodings are decoded and re-encoded as UTF-8 first.
    """
    data = _read_bytes(path)
    choice = Choice(encoding, "as given") if encoding else _detected(data, path)
    utf8 = (
        data if choice.codec in _UTF8 and choice.how == "detected" else _to_utf8(data, choice, path)
    )
    del data  # the sheet may be large: keep one copy of it
    head = utf8[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
    delimiter = _delimiter(head, path)
    try:
        return _parse_arrow(utf8, delimiter, _width(head, delimiter)), choice
    except (pa.ArrowInvalid, ValueError):
        pass
    try:
        return _parse_csv(utf8, delimiter, engine="c"), choice
    except (pd.errors.ParserError, ValueError):
        return _parse_ragged(utf8, delimiter, path), choice


_UTF8 = frozenset({"utf-8", "utf-8-sig"})
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; empty, unreadable and binary files are InputErrors."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the lead sheet ({exc.strerror})") from None
    if _blank(data):
        raise InputError(f"{path}: the file is empty; expected a header row and lead rows")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(f"{path}: this is an Excel workbook, not CSV; rename it to .xlsx")
    if b"\x00" in data[:_SNIFF_BYTES] and not data.startswith(_UTF16_BOMS):
        raise InputError(f"{path}: looks like a binary file, not a CSV lead sheet")
    return data


_BLANK = b" \t\r\n\xef\xbb\xbf\xff\xfe\x00"  # what an empty sheet may still hold (BOMs)


def _blank(data: bytes) -> bool:
    """Nothing but whitespace, BOMs and NULs (looks at a large file's start only)."""
    return not data[:_SNIFF_BYTES].strip(_BLANK) and not data.strip(_BLANK)


def _detected(data: bytes, path: Path) -> Choice:
    """The encoding :func:`dialer.charsets.detect` finds; an InputError if it finds none."""
    codec = charsets.detect(data)
    if codec is None:
        raise InputError(
            f"{path}: cannot tell the text encoding; save the sheet as CSV UTF-8, or name "
            "the encoding with --encoding (or the campaign's encoding key)"
        )
    return Choice(codec, "detected")


def _to_utf8(data: bytes, choice: Choice, path: Path) -> bytes:
    """The text re-encoded as UTF-8. A detected code page replaces a stray undefined byte;
    an encoding the user named must read every byte, or the error says where it fails."""
    errors = "replace" if choice.how == "detected" else "strict"
    try:
        return data.decode(choice.codec, errors=errors).encode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}: cannot be read as {charsets.label(choice.codec)} (byte "
            f"0x{data[exc.start]:02x} on line {line}); check the encoding you named "
            "(--encoding, or the campaign's encoding key)"
        ) from None


def _delimiter(sample: str, path: Path) -> str:
    """The delimiter of the header line: the most frequent of comma, semicolon, tab."""
    first = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {d: _count_outside_quotes(first, d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _count_outside_quotes(line: str, delimiter: str) -> int:
    """How many times ``delimiter`` separates fields in one CSV line."""
    return sum(1 for _ in next(csv.reader([line], delimiter=delimiter), [])) - 1


def _width(sample: str, delimiter: str) -> int:
    """How many fields the first non-blank line has."""
    first = next((line for line in sample.splitlines() if line.strip()), "")
    return _count_outside_quotes(first, delimiter) + 1


def _parse_arrow(data: bytes, delimiter: str, width: int) -> pd.DataFrame:
    """pyarrow's multi-threaded CSV reader, reading the bytes in place, every column as text
    and nothing as null; an ArrowInvalid if a row does not have ``width`` fields."""
    names = [str(i) for i in range(width)]
    table = pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.large_string()),  # what pandas keeps
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return pd.DataFrame({i: _text(column) for i, column in enumerate(table.columns)})


def _parse_csv(data: bytes, delimiter: str, *, engine: Any) -> pd.DataFrame:
    """pandas' CSV reader with every column as text and nothing turned into NaN."""
    grid = pd.read_csv(
        io.BytesIO(data),
        sep=delimiter,
        header=None,
        dtype=str,
        engine=engine,
        keep_default_na=False,
        skip_blank_lines=True,
    )
    return grid.fillna("")


def _parse_ragged(data: bytes, delimiter: str, path: Path) -> pd.DataFrame:
    """Rows with more fields than the header keep the first ones (a bad row never stops us).

    Python's csv module, not pandas' python engine: that one silently drops some bad lines
    (a stray quote inside a field), and every row must reach the report.
    """
    reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=delimiter)
    try:
        rows = [fields for fields in reader if fields]
    except csv.Error as exc:
        raise InputError(f"{path}: cannot read the CSV (line {reader.line_num}: {exc})") from None
    width = len(rows[0]) if rows else 0
    return pd.DataFrame([(fields + [""] * width)[:width] for fields in rows], dtype="str")


# --------------------------------------------------------------------------- workbooks


def _read_workbook(path: Path, sheet: str | None) -> pd.DataFrame:
    """One sheet of a workbook (the first if not named) as a headerless grid of text."""
    from python_calamine import CalamineError, CalamineWorkbook  # heavy: load on first use

    try:
        book = CalamineWorkbook.from_path(str(path))
        names = list(book.sheet_names)
        if sheet is not None and sheet not in names:
            listed = ", ".join(repr(n) for n in names)
            raise InputError(f"{path}: no sheet named {sheet!r}; the workbook has {listed}")
        rows = book.get_sheet_by_name(sheet or names[0]).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise InputError(f"{path}: cannot read the workbook ({exc})") from None
    return _grid(rows)


def _grid(rows: list[list[Any]]) -> pd.DataFrame:
    """Cells as text, column by column; trailing blank rows dropped."""
    while rows and not any(cell not in ("", None) for cell in rows[-1]):
        rows.pop()
    if not rows:
        return pd.DataFrame()
    width = max(len(r) for r in rows)
    columns = zip(*(r + [""] * (width - len(r)) for r in rows), strict=True)
    return pd.DataFrame({i: _text_column(list(c)) for i, c in enumerate(columns)}, dtype="str")


def _text_column(cells: list[Any]) -> list[str]:
    """One workbook column as text; all-text columns pass through untouched."""
    if all(type(cell) is str for cell in cells):
        return cells
    return [_cell_text(cell) for cell in cells]


def _cell_text(cell: Any) -> str:
    """A workbook cell as the text a person sees: 501234567.0 is "501234567", exactly."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    if isinstance(cell, timedelta):
        return str(cell)
    return "" if cell is None else str(cell)


# --------------------------------------------------------------------------- mapping


def load_leads(
    campaign: Campaign, *, path: Path | None = None, encoding: str | None = None
) -> pd.DataFrame:
    """The campaign's sheet as ``row, phone_raw, region[, timezone_raw], var.<Name>…,
    meta.<key>…``.

    ``row`` is the 1-based data row (header excluded). ``region`` is the row's country
    column read as a region code, else the campaign's default; unknown countries are ``ZZ``
    so only numbers written with a country code can pass. ``timezone_raw`` is the row's
    ``[columns] timezone`` cell, when the campaign names that column. ``encoding`` (else the
    campaign's ``encoding``) overrides detection; ``attrs["encoding"]`` says what was used.
    """
    source = path or campaign.leads
    sheet = read_sheet(source, sheet=campaign.sheet, encoding=encoding or campaign.encoding)
    columns = campaign.columns
    frame = pd.DataFrame({"row": np.arange(1, len(sheet) + 1, dtype=np.int64)})
    frame["phone_raw"] = _column(sheet, columns.phone, "phone", source)
    frame["region"] = _regions(sheet, campaign, source)
    if columns.timezone is not None:
        frame["timezone_raw"] = _column(sheet, columns.timezone, "timezone", source)
    for name, header in columns.variables.items():
        frame[f"var.{name}"] = _column(sheet, header, f"variables.{name}", source)
    for key, header in columns.metadata.items():
        frame[f"meta.{key}"] = _column(sheet, header, f"metadata.{key}", source)
    frame.attrs["encoding"] = sheet.attrs.get("encoding")
    return frame


def _column(sheet: pd.DataFrame, header: str, field: str, path: Path) -> pd.Series:
    """The sheet column a campaign field names, matched without regard to case or padding."""
    wanted = _header_key(header)
    found = [i for i, h in enumerate(sheet.columns) if _header_key(str(h)) == wanted]
    if not found:
        available = ", ".join(repr(str(h)) for h in sheet.columns if str(h)) or "(none)"
        raise InputError(
            f"{path}: no column {header!r} (campaign [columns] {field}); "
            f"the sheet's columns are {available}"
        )
    if len(found) > 1:
        places = " and ".join(str(i + 1) for i in found)
        raise InputError(
            f"{path}: column {header!r} appears more than once (columns {places}); rename one"
        )
    return sheet.iloc[:, found[0]].reset_index(drop=True).astype("str")


def _header_key(text: str) -> str:
    """How headers are compared: cleaned and case-folded."""
    return clean_header(text).casefold()


def _regions(sheet: pd.DataFrame, campaign: Campaign, path: Path) -> pd.Series:
    """The region code each row's number is read in."""
    default = campaign.default_region
    if campaign.columns.country is None:  # one shared string, not a million copies
        zeros = np.zeros(len(sheet), dtype=np.int8)
        return pd.Series(pd.Categorical.from_codes(zeros, pd.Index([default], dtype=object)))
    values = _column(sheet, campaign.columns.country, "country", path)
    codes = {v: _region_of(v, default) for v in values.unique().tolist()}
    return values.map(codes).astype("str")


def _region_of(value: str, default: str) -> str:
    """A country cell's region: blank → the default; unrecognised → ``ZZ`` (unknown)."""
    if not value.strip():
        return default
    return phones.region_for_country(value) or "ZZ"


# --------------------------------------------------------------------------- classifying


def classify(
    frame: pd.DataFrame,
    campaign: Campaign,
    *,
    dnc: DncIndex,
    now: datetime,
    cooldown: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Add ``phone``, ``status``, ``reason`` and ``timezone`` to :func:`load_leads`' frame.

    ``timezone`` is the lead's zone set (see :mod:`dialer.window`): the row's own zone cell,
    else the campaign's pinned zone, else every zone the number may ring in. A lead whose
    window is never open in all of them at once is ``no_window``. ``cooldown`` maps a number
    to the campaign that called it within ``[dedupe] cooldown_days``; the caller (the
    ledger) decides which numbers those are.
    """
    _system_allocator()
    regions = frame["region"] if (frame["region"] != campaign.default_region).any() else None
    numbers = phones.normalize_column(
        frame["phone_raw"],
        region=campaign.default_region,
        regions=regions,
        from_numbers=campaign.from_numbers,
    )
    phone = _array(numbers["phone"])
    verdicts = _Verdicts(_array(numbers["reason"]))
    pins = _row_zones(frame, verdicts)
    _mark_duplicates(numbers["number"].to_numpy(), frame["row"].to_numpy(), verdicts)
    _mark_cooldown(phone, verdicts, cooldown or {}, campaign)
    _mark_dnc(phone, verdicts, dnc, campaign.agent_id, now)
    zones = _zones(numbers["phone"], campaign, pins)
    _mark_no_window(zones, verdicts, campaign, now)
    out = frame.copy()
    out["phone"] = numbers["phone"].set_axis(out.index)
    out["status"], out["reason"] = (c.set_axis(out.index) for c in verdicts.columns())
    out["timezone"] = zones.set_axis(out.index)
    give_back_memory()
    return out


def _system_allocator() -> None:
    """From the first sheet read on, pyarrow allocates from the system allocator.

    Intake allocates and frees a few hundred MB of temporaries for a large sheet, and the
    campaign's rows are then written to the ledger, which needs as much again. pyarrow's
    default allocator (mimalloc) keeps freed pages for reuse; the system allocator's can be
    handed back (:func:`give_back_memory`). For a million rows that is about 100 MB less at
    peak for the same speed (``make bench``). pyarrow is only used by intake and reports.
    """
    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


def give_back_memory() -> None:
    """Return the memory freed by intake's temporaries to the system (``malloc_trim``)."""
    pa.default_memory_pool().release_unused()


class _Verdicts:
    """Each row's intake status and reason, as the checks decide them in order.

    Every check looks only at rows still ``pending`` and settles some of them for good, so a
    row is marked at most once: statuses are small codes, and the reasons of marked rows are
    kept aside and merged into the phone check's reasons in one pass at the end.
    """

    STATUSES = (
        LeadStatus.PENDING,
        LeadStatus.INVALID,
        LeadStatus.DUPLICATE,
        LeadStatus.DNC_BLOCKED,
        LeadStatus.NO_WINDOW,
    )

    def __init__(self, reasons: pa.Array) -> None:
        self.reasons = reasons  # the phone check's: "" for a valid number
        self.status = np.where(_np_bool(pc.equal(reasons, "")), 0, 1).astype(np.int8)
        self._rows: list[npt.NDArray[np.intp]] = []
        self._texts: list[pa.Array] = []

    def pending(self) -> npt.NDArray[np.intp]:
        """The rows no check has settled yet."""
        return np.flatnonzero(self.status == 0)

    def mark(
        self, rows: npt.NDArray[np.intp], status: LeadStatus, reasons: list[str] | pa.Array
    ) -> None:
        """Settle pending ``rows`` with ``status``, each with its reason."""
        self.status[rows] = self.STATUSES.index(status)
        self._rows.append(rows)
        self._texts.append(pa.array(reasons, type=pa.string()))

    def columns(self) -> tuple[pd.Series, pd.Series]:
        """The ``status`` and ``reason`` columns."""
        names = pd.Index([s.value for s in self.STATUSES], dtype=object)
        status = pd.Series(pd.Categorical.from_codes(self.status, categories=names))
        reasons = self.reasons
        if self._rows:
            rows = np.concatenate(self._rows)
            order = np.argsort(rows, kind="stable")
            mask = np.zeros(len(reasons), dtype=bool)
            mask[rows] = True
            texts = pa.concat_arrays(self._texts).take(pa.array(order)).cast(reasons.type)
            reasons = pc.replace_with_mask(reasons, pa.array(mask), texts)
        return status, _text(reasons)


def _array(column: pd.Series) -> pa.Array:
    """A text column as one pyarrow array (no copy for a one-chunk ``str`` column)."""
    values = pa.array(column, from_pandas=True)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _text(values: pa.Array) -> pd.Series:
    """A pyarrow string array as a pandas ``str`` column (no copy of the text)."""
    return pd.Series(pd.array(values, dtype="str"))


def _np_bool(values: pa.Array) -> npt.NDArray[np.bool_]:
    """A pyarrow boolean array as numpy (nulls as False)."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _row_zones(frame: pd.DataFrame, verdicts: _Verdicts) -> pd.Series | None:
    """Each row's own zone from its ``[columns] timezone`` cell, canonical ("" = automatic).

    A cell that names no zone makes the row ``invalid`` (unless its number already did),
    with the value in the reason; its zone is "" (NaN here).
    """
    if "timezone_raw" not in frame:
        return None
    cells = frame["timezone_raw"].reset_index(drop=True)
    names = {cell: zone_name(cell) if cell.strip() else "" for cell in cells.unique().tolist()}
    pins = cells.map(names).astype("str")  # NaN for a cell that names no zone
    pending = verdicts.pending()
    unknown = pending[pins.isna().to_numpy()[pending]]
    reasons = [
        f"timezone: {cell!r} is not a time zone name or UTC offset"
        for cell in cells.iloc[unknown].tolist()
    ]
    verdicts.mark(unknown, LeadStatus.INVALID, reasons)
    return pins


def _mark_duplicates(
    numbers: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], verdicts: _Verdicts
) -> None:
    """Second and later rows of a number: ``duplicate of row N`` (N = the first row).

    ``numbers`` are the E.164 digits as integers. Factorized codes are numbered in order of
    first appearance, so a row is a first occurrence exactly when its code is larger than
    every code before it.
    """
    pending = verdicts.pending()
    codes, _ = pd.factorize(numbers[pending])
    seen = np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
    first = codes > seen
    if first.all():
        return
    first_rows = rows[pending[first]]  # the sheet row of each code's first occurrence
    repeat = ~first
    of_row = pc.cast(pa.array(first_rows[codes[repeat]]), pa.string())
    reasons = pc.binary_join_element_wise("duplicate of row ", of_row, "")
    verdicts.mark(pending[repeat], LeadStatus.DUPLICATE, reasons)


def _mark_cooldown(
    phone: pa.Array, verdicts: _Verdicts, cooldown: Mapping[str, str], campaign: Campaign
) -> None:
    """Numbers another campaign called recently: ``duplicate`` with the campaign named."""
    if not cooldown:
        return
    days = campaign.dedupe.cooldown_days
    within = f" within {days} days" if days else ""
    pending = verdicts.pending()
    numbers = phone.take(pa.array(pending))
    listed = pa.array(list(cooldown), type=pa.string())
    hits = np.flatnonzero(_np_bool(pc.is_in(numbers, value_set=listed)))
    reasons = [
        f"called in campaign {cooldown[n]}{within}"
        for n in numbers.take(pa.array(hits)).to_pylist()
    ]
    verdicts.mark(pending[hits], LeadStatus.DUPLICATE, reasons)


def _mark_dnc(
    phone: pa.Array, verdicts: _Verdicts, dnc: DncIndex, agent_id: str, now: datetime
) -> None:
    """Numbers on the DNC cache or a suppression file for this agent at ``now``.

    The pending numbers go to the index as a column over pyarrow ``string`` data, which is
    what it hashes: no copy or cast on the way in.
    """
    pending = verdicts.pending()
    if not len(pending) or not len(dnc):
        return
    numbers = pc.cast(phone.take(pa.array(pending)), pa.string())
    column = pd.Series(pd.arrays.ArrowExtensionArray(numbers))
    why = pa.array(dnc.blocked(column, agent_id=agent_id, now=now), pa.string())
    hits = np.flatnonzero(_np_bool(pc.not_equal(why, "")))
    verdicts.mark(pending[hits], LeadStatus.DNC_BLOCKED, why.take(pa.array(hits)))


def _zones(numbers: pd.Series, campaign: Campaign, pins: pd.Series | None) -> pd.Series:
    """Each valid number's zone set ("" for rows without a number): the row's own zone,
    else the campaign's pinned one, else the number's."""
    pinned = campaign.window.pinned_zone if campaign.window else None
    default = zone_for_region(campaign.default_region)
    zones = zones_for_numbers(numbers, pinned=pinned, default_zone=default)
    if pins is None:
        return zones
    own = (pins.fillna("") != "").to_numpy() & (numbers != "").to_numpy()
    values = np.where(own, pins.to_numpy(object), zones.to_numpy(object))
    values[pins.isna().to_numpy()] = ""  # a zone cell that names no zone: the row is invalid
    codes, names = pd.factorize(values)
    return pd.Series(pd.Categorical.from_codes(codes, pd.Index(names, dtype=object)))


def _mark_no_window(
    zones: pd.Series, verdicts: _Verdicts, campaign: Campaign, now: datetime
) -> None:
    """Leads whose window is never open in all their zones at once: ``no_window``, final.

    Decided once per distinct zone set; no call is ever made for these leads.
    """
    if campaign.window is None:
        return
    window = CallingWindow.from_config(campaign.window)
    pending = verdicts.pending()
    codes = zones.cat.codes.to_numpy()[pending]
    for code in np.unique(codes).tolist():
        zone_set = str(zones.cat.categories[code])
        if window.next_opening(zone_set, now) is None:
            rows = pending[codes == code]
            verdicts.mark(rows, LeadStatus.NO_WINDOW, [never_open_reason(zone_set)] * len(rows))
