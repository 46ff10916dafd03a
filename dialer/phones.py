"""Phone numbers: from whatever a person typed to the E.164 form the Yappr API accepts.

Two paths give the same answer:

* :func:`normalize` is the reference: clean the text, ``phonenumbers.parse`` it in the row's
  region, then apply phonenumbers validity and the API's own rules (docs/api.md §3.4).
* :func:`normalize_column` is the fast path for a whole sheet. The clean-up runs as pyarrow
  regex kernels (about 5x faster than ``Series.str.replace`` on the same data), and numbers
  that are plainly digits are validated without ``parse``: the country code and national
  number are split by string slicing and checked against phonenumbers' own metadata patterns,
  compiled once per country. Anything the fast path is not sure about (letters, extensions,
  national prefixes after a country code, exotic dialling prefixes) goes through
  :func:`normalize`, once per distinct raw value.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import phonenumbers
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
)

from dialer.models import InvalidReason

__all__ = [
    "DROPPABLE",
    "INVISIBLE",
    "api_accepts",
    "clean",
    "geographic",
    "mask",
    "normalize",
    "normalize_column",
    "region_for_country",
    "supported_regions",
]

#: Invisible marks that ride along when text is copied from RTL documents or web pages:
#: zero-width spaces and joiners, direction marks and embeddings, word joiners and isolates,
#: the Arabic letter mark, the BOM and the soft hyphen. One set for numbers and headers.
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\u061c\ufeff\u00ad]")
#: What an Excel cell holding a number turns into as text: ``501234567.0``.
_EXCEL_FLOAT = r"^[ \t]*([0-9]+)\.0+[ \t]*$"
#: ``+44 (0)20 ...``: the national trunk prefix in brackets, which must not be dialled.
_TRUNK_IN_BRACKETS = r"\(0\)"
#: Separators people put between digits (after NFKC, so full-width forms are already ASCII).
_SEPARATORS = "[ \t\r\n\f\v\\-\u2010-\u2015\u2212\u30fc.()\\[\\]/'\"\u2018\u2019\u201c\u201d`_]"
_EXCEL_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?[eE]\+?[0-9]{1,2}")
_DIGITS_ONLY = r"^\+?[0-9]{1,17}$"
_API_RULE = re.compile(r"\+[1-9][0-9]{7,14}")

_EXCEL_FLOAT_RE = re.compile(_EXCEL_FLOAT)
_TRUNK_RE = re.compile(_TRUNK_IN_BRACKETS)
_SEPARATORS_RE = re.compile(_SEPARATORS)

_PARSE_ERROR_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: InvalidReason.NOT_VALID_FOR_REGION,
    NumberParseException.NOT_A_NUMBER: InvalidReason.UNPARSEABLE,
    NumberParseException.TOO_SHORT_AFTER_IDD: InvalidReason.BAD_LENGTH,
    NumberParseException.TOO_SHORT_NSN: InvalidReason.BAD_LENGTH,
    NumberParseException.TOO_LONG: InvalidReason.BAD_LENGTH,
}
_POSSIBLE = (
    phonenumbers.ValidationResult.IS_POSSIBLE,
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
)


# --------------------------------------------------------------------------- one number


def clean(raw: str) -> str:
    """The typed text without decoration: marks, separators, spreadsheet damage removed."""
    text = INVISIBLE.sub("", raw)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = _EXCEL_FLOAT_RE.sub(r"\1", text)
    text = _from_scientific(text.strip())
    text = _TRUNK_RE.sub("", text)
    return _SEPARATORS_RE.sub("", text)


def _from_scientific(text: str) -> str:
    """``9.72501234567E+11`` (Excel's view of a long number) back to its digits, if exact."""
    if not _EXCEL_SCIENTIFIC.fullmatch(text):
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
        return text
    return str(int(value)) if value == value.to_integral_value() else text


def normalize(raw: str, *, region: str = "IL") -> tuple[str | None, InvalidReason | None]:
    """``(e164, None)`` for a number the API will accept, else ``(None, reason)``.

    ``region`` reads numbers written without a country code; ``"ZZ"`` (unknown) accepts only
    numbers that carry one. ``same_as_from`` is not decided here: see :func:`normalize_column`.
    """
    text = clean(raw)
    if not text:
        return None, InvalidReason.EMPTY
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return None, _PARSE_ERROR_REASONS.get(exc.error_type, InvalidReason.UNPARSEABLE)
    if number.extension:  # the API cannot dial an extension; calling the switchboard is wrong
        return None, InvalidReason.UNPARSEABLE
    return _judge(number)


def _judge(number: PhoneNumber) -> tuple[str | None, InvalidReason | None]:
    """Apply phonenumbers' length and validity rules, then the API's own."""
    if phonenumbers.is_possible_number_with_reason(number) not in _POSSIBLE:
        return None, InvalidReason.BAD_LENGTH
    if not phonenumbers.is_valid_number(number):
        return None, InvalidReason.NOT_VALID_FOR_REGION
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if not api_accepts(e164):
        return None, InvalidReason.BAD_LENGTH
    return e164, None


def api_accepts(e164: str) -> bool:
    """The API's own rule (docs/api.md §3.4): E.164 shape; ``+972`` is 12 or 13 characters."""
    if not _API_RULE.fullmatch(e164):
        return False
    return not e164.startswith("+972") or len(e164) in (12, 13)


def mask(e164: str) -> str:
    """A number fit for a log line: country code and last two digits, ``+97250*****67``."""
    if not e164.startswith("+") or len(e164) < 7:
        return "*" * len(e164)
    shown = _country_code_length(e164[1:]) + 3  # "+", the country code, two more digits
    return e164[:shown] + "*" * (len(e164) - shown - 2) + e164[-2:]


def _country_code_length(digits: str) -> int:
    """How many leading digits form a country calling code (codes are prefix-free)."""
    for length in (1, 2, 3):
        if int(digits[:length] or 0) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return length
    return 1


# --------------------------------------------------------------------------- regions


_COUNTRY_ALIASES = {
    "usa": "US",
    "us": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "united states of america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "czech republic": "CZ",
    "holland": "NL",
    "the netherlands": "NL",
    "uae": "AE",
    "ישראל": "IL",
    'ארה"ב': "US",
    "ארהב": "US",
}


@cache
def _country_names() -> dict[str, str]:
    """English country names (phonenumbers' own locale data) to region codes."""
    from phonenumbers.geocoder import _region_display_name  # heavy: loaded on first use

    names: dict[str, str] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        name = _region_display_name(region, "en", None, None)
        if name:
            names[name.casefold()] = region
    return names | _COUNTRY_ALIASES


def region_for_country(value: str) -> str | None:
    """The region code for a country cell: ``IL``, ``il``, ``Israel``, ``+972``; None if unknown."""
    text = clean(value).strip() if value.strip().startswith("+") else value.strip()
    if not text:
        return None
    if text.startswith("+") and text[1:].isdigit():
        region = phonenumbers.region_code_for_country_code(int(text[1:]))
        return None if region == "ZZ" else region
    if len(text) == 2 and text.upper() in phonenumbers.SUPPORTED_REGIONS:
        return text.upper()
    return _country_names().get(" ".join(text.split()).casefold())


# --------------------------------------------------------------------------- a whole column


def normalize_column(
    raw: pd.Series,
    *,
    region: str,
    regions: pd.Series | None = None,
    from_numbers: Collection[str] = (),
) -> pd.DataFrame:
    """Normalize a sheet's phone column: columns ``phone`` (E.164 or ""), ``reason``, and
    ``number``, the E.164 digits as an integer (-1 for no number: cheap to dedupe on).

    ``regions`` (aligned with ``raw``) overrides ``region`` per row. A number equal to one of
    ``from_numbers`` is ``same_as_from``. Rows keep ``raw``'s index; the answer for every row
    is the one :func:`normalize` gives.
    """
    text = _chunks(raw)
    groups = _region_groups(len(raw), region=region, regions=regions)
    column = _Column(len(raw))
    parts = [(code, part) for code, rows in groups for part in _parts(rows)]

    def run(code: str, rows: Rows) -> None:
        """Clean and judge one part (a thread's work): slices of the column, not copies."""
        consecutive = rows[-1] - rows[0] + 1 == len(rows)
        typed = text.slice(rows[0], len(rows)) if consecutive else text.take(pa.array(rows))
        _fast(_clean_arrow(_one_array(typed)), code, rows, column)

    if len(parts) > 1:
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(parts))) as pool:
            list(pool.map(lambda part: run(*part), parts))
    else:
        run(*parts[0])
    _slow_path(raw, groups, column)
    phone, reason = column.finish(from_numbers)
    columns = {"phone": _series(phone), "reason": _series(reason), "number": column.numbers}
    return pd.DataFrame(columns, index=raw.index)


#: Large columns are cut in parts of about ``_PART_ROWS`` worked on by threads (pyarrow and
#: numpy release the GIL); small parts keep the temporaries, and so peak memory, small.
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_PART_ROWS = 125_000


def _parts(rows: Rows) -> list[Rows]:
    """``rows`` in consecutive parts of about :data:`_PART_ROWS`."""
    count = max(1, round(len(rows) / _PART_ROWS))
    return [part for part in np.array_split(rows, count) if len(part)] or [rows]


def _chunks(values: pd.Series) -> pa.ChunkedArray:
    """A text column as pyarrow chunks (no copy for pandas' own ``str`` columns)."""
    array = pa.array(values, type=pa.large_string(), from_pandas=True)
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def _one_array(chunks: pa.ChunkedArray) -> pa.StringArray:
    """Some rows of a column as one plain string array, blank for missing."""
    whole = pa.concat_arrays(chunks.chunks) if chunks.num_chunks != 1 else chunks.chunk(0)
    return pc.fill_null(whole.cast(pa.string()), "")


def _series(values: pa.Array) -> pd.Series:
    """A pyarrow (large) string array as a pandas ``str`` column, without copying the text."""
    return pd.Series(pd.array(values, dtype="str"))


Rows = npt.NDArray[np.intp]


def _region_groups(size: int, *, region: str, regions: pd.Series | None) -> list[tuple[str, Rows]]:
    """The rows read in each region: the ``regions`` column's where given, else ``region``."""
    if regions is None:
        return [(region, np.arange(size))]
    codes = pc.dictionary_encode(_one_array(_chunks(regions)))
    indices = codes.indices.to_numpy(zero_copy_only=False)
    groups: dict[str, list[Rows]] = {}
    for i, code in enumerate(codes.dictionary.to_pylist()):
        groups.setdefault(code or region, []).append(np.flatnonzero(indices == i))
    return [(code, np.sort(np.concatenate(parts))) for code, parts in groups.items()]


def _clean_arrow(text: pa.StringArray) -> pa.StringArray:
    """:func:`clean` for a whole array (scientific notation aside).

    Rows are cleaned byte by byte (numpy on the array's buffers), which is what makes a
    million rows cheap: separators dropped, the ``(0)`` of ``+44 (0)20`` and the ``.0`` of
    Excel's ``501234567.0`` with them, and the invisible marks and Unicode dashes and spaces
    that :func:`clean` would remove anyway (:data:`DROPPABLE`). Rows with any other
    non-ASCII text (wide digits...), or with such marks next to a ``.`` or ``(``, go through
    the same regular expressions as :func:`clean`. Few full-size temporaries are made: in
    this VM a fresh 50 MB array costs more in page faults than the arithmetic on it.
    """
    offsets, body = _buffers(text)
    keep = _KEEP_BYTES[body]
    marks = np.flatnonzero(_MARKED_BYTES[body])  # ".", "(" and non-ASCII bytes: few
    marked = body[marks]
    _drop_trunk_in_brackets(offsets, body, marks[marked == ord("(")], keep)
    _drop_excel_decimals(text, offsets, marks[marked == ord(".")], keep)
    odd = _drop_known_characters(offsets, body, marks, marked, keep)
    cleaned = _kept(text, offsets, body, keep)
    if not len(odd):
        return cleaned
    mask = np.zeros(len(text), dtype=bool)
    mask[odd] = True
    rows = pc.replace_substring_regex(text.take(pa.array(odd)), INVISIBLE.pattern, "")
    rows = pc.utf8_normalize(rows, form="NFKC")
    for pattern, replacement in _CLEAN_STEPS:
        rows = pc.replace_substring_regex(rows, pattern, replacement)
    return pc.replace_with_mask(cleaned, pa.array(mask), rows)


def _drop_known_characters(
    offsets: Offsets, body: Bytes, marks: Rows, marked: Bytes, keep: BoolArray
) -> Rows:
    """Drop the bytes of :data:`DROPPABLE` characters; return the rows that still need the
    regular expressions (other non-ASCII characters, or a ``.`` or ``(`` beside them)."""
    high = marks[marked >= 0x80]
    if not len(high):
        return high
    starts = high[body[high] >= 0xC0]  # first bytes of characters
    size = np.where(body[starts] >= 0xE0, 3, 2) + (body[starts] >= 0xF0)
    code = body[starts].astype(np.int64) << 8 | body[np.minimum(starts + 1, len(body) - 1)]
    three = size == 3
    code[three] = code[three] << 8 | body[np.minimum(starts[three] + 2, len(body) - 1)]
    known = np.isin(code, _droppable()) & (size < 4)
    keep[_ranges(starts[known], starts[known] + size[known])] = False
    row_of = _rows_of(offsets, starts)
    odd = np.zeros(len(offsets) - 1, dtype=bool)
    odd[row_of[~known]] = True
    non_ascii = np.zeros(len(offsets) - 1, dtype=bool)
    non_ascii[row_of] = True
    punctuated = _rows_of(offsets, marks[marked < 0x80])
    odd[punctuated[non_ascii[punctuated]]] = True
    return np.flatnonzero(odd)


#: Non-ASCII characters :func:`clean` removes wherever they stand: the invisible marks, and
#: the characters NFKC leaves as (or turns into) a separator that no other step of
#: :func:`clean` looks at (not ``.``, ``(`` or ``)``). A test derives this list again from
#: :data:`INVISIBLE`, :data:`_SEPARATORS` and NFKC over the whole BMP.
DROPPABLE = (
    "\xa0\xad\u061c\u1fef\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u200b\u200c\u200d\u200e\u200f\u2010\u2011\u2012\u2013\u2014\u2015"
    "\u2018\u2019\u201c\u201d\u202a\u202b\u202c\u202d\u202e\u202f\u205f\u2060\u2061"
    "\u2062\u2063\u2064\u2065\u2066\u2067\u2068\u2069\u207b\u208b\u2212\u3000\u30fc"
    "\ufe31\ufe32\ufe33\ufe34\ufe47\ufe48\ufe4d\ufe4e\ufe4f\ufe58\ufe63\ufeff\uff02"
    "\uff07\uff0d\uff0f\uff3b\uff3d\uff3f\uff40\uff70"
)


@cache
def _droppable() -> npt.NDArray[np.int64]:
    """The UTF-8 bytes of each :data:`DROPPABLE` character, as one integer."""
    codes = sorted(int.from_bytes(ch.encode("utf-8"), "big") for ch in DROPPABLE)
    return np.array(codes, dtype=np.int64)


def _drop_trunk_in_brackets(offsets: Offsets, body: Bytes, opens: Rows, keep: BoolArray) -> None:
    """Drop the ``0`` of every ``(0)`` inside a row (the brackets are separators anyway)."""
    opens = opens[opens + 2 < len(body)]
    hit = opens[(body[opens + 1] == ord("0")) & (body[opens + 2] == ord(")"))]
    ends = offsets[_rows_of(offsets, hit) + 1]
    keep[hit[hit + 3 <= ends] + 1] = False


def _drop_excel_decimals(
    text: pa.StringArray, offsets: Offsets, dots: Rows, keep: BoolArray
) -> None:
    """Drop ``.0…`` to the end of rows that are Excel's view of a whole number
    (:data:`_EXCEL_FLOAT`: digits, a dot, only zeros after it)."""
    if not len(dots):
        return
    dot_rows = _rows_of(offsets, dots)
    has_dot = np.zeros(len(offsets) - 1, dtype=bool)
    has_dot[dot_rows] = True
    rows = np.flatnonzero(has_dot)
    whole = np.zeros(len(offsets) - 1, dtype=bool)
    whole[rows] = _np(pc.match_substring_regex(text.take(pa.array(rows)), _EXCEL_FLOAT))
    chosen = whole[dot_rows]
    keep[_ranges(dots[chosen], offsets[dot_rows[chosen] + 1])] = False


def _ranges(starts: Rows, ends: npt.NDArray[np.integer[Any]]) -> Rows:
    """Every position in the half-open ranges ``[starts[i], ends[i])``."""
    lengths = (ends - starts).astype(np.intp)
    before = np.cumsum(lengths) - lengths
    return np.repeat(starts - before, lengths) + np.arange(int(lengths.sum()))


#: What :func:`clean` does after the invisible marks, in order (regular expressions).
_CLEAN_STEPS = ((_EXCEL_FLOAT, r"\1"), (_TRUNK_IN_BRACKETS, ""), (_SEPARATORS, ""))


def _byte_table(members: bytes) -> npt.NDArray[np.bool_]:
    """A lookup table over byte values: True for ``members``."""
    table = np.zeros(256, dtype=bool)
    table[list(members)] = True
    return table


#: Bytes kept (all but the ASCII characters of :data:`_SEPARATORS`); bytes looked at more
#: closely (``.``, ``(`` and every non-ASCII byte); bytes that are not digits.
_KEEP_BYTES = ~_byte_table(b" \t\r\n\f\v-.()[]/'\"`_")
_MARKED_BYTES = _byte_table(b".(" + bytes(range(0x80, 0x100)))
_NOT_DIGIT = ~_byte_table(b"0123456789")


Offsets = npt.NDArray[np.int32]
Bytes = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]


def _buffers(text: pa.StringArray) -> tuple[Offsets, Bytes]:
    """A string array's offsets (from 0) and its rows' UTF-8 bytes as numpy (no copy)."""
    if text.type != pa.string():  # int32 offsets are read below
        text = text.cast(pa.string())
    _, offsets, data = text.buffers()
    starts = np.frombuffer(offsets, dtype=np.int32)[text.offset : text.offset + len(text) + 1]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    first, last = int(starts[0]), int(starts[-1])
    return (starts - first if first else starts), raw[first:last]


def _rows_of(offsets: Offsets, positions: Rows) -> Rows:
    """The row each byte position (sorted) falls in."""
    return np.searchsorted(offsets, positions, side="right") - 1


def _kept(text: pa.StringArray, offsets: Offsets, body: Bytes, keep: BoolArray) -> pa.StringArray:
    """``text`` with only the bytes marked in ``keep`` (only ASCII bytes are ever dropped:
    one is never part of a multi-byte UTF-8 character)."""
    if keep.all():
        return text
    lengths = np.diff(offsets)
    filled = np.flatnonzero(lengths)  # empty rows hold no bytes: sum between the others
    kept_lengths = np.zeros(len(lengths), dtype=np.int32)
    if len(filled):
        per_row = np.add.reduceat(keep.view(np.uint8), offsets[filled], dtype=np.int32)
        kept_lengths[filled] = per_row
    new_offsets = np.zeros(len(offsets), dtype=np.int32)
    np.cumsum(kept_lengths, out=new_offsets[1:])
    kept = body[keep]
    return pa.StringArray.from_buffers(len(text), pa.py_buffer(new_offsets), pa.py_buffer(kept))


class _Column:
    """The answers for a column as the fast and slow paths decide them.

    A reason code per row (0: valid, -1: not decided yet) and, for valid rows, their E.164
    numbers in pieces (rows, values) that :meth:`finish` puts in row order in one take.
    """

    REASONS = ("", *(r.value for r in InvalidReason))

    def __init__(self, size: int) -> None:
        self.reason = np.full(size, -1, dtype=np.int8)
        self.numbers = np.full(size, -1, dtype=np.int64)
        self.pieces: list[tuple[npt.NDArray[np.intp], pa.Array]] = []

    def valid(self, rows: npt.NDArray[np.intp], e164: pa.Array, numbers: Ints) -> None:
        """These rows' numbers are ``e164`` (and, as integers, ``numbers``)."""
        self.reason[rows] = 0
        self.numbers[rows] = numbers
        self.pieces.append((rows, e164))

    def invalid(self, rows: npt.NDArray[np.intp], why: InvalidReason) -> None:
        """These rows hold no number the API accepts, for ``why``."""
        self.reason[rows] = self.REASONS.index(why.value)

    def finish(self, from_numbers: Iterable[str]) -> tuple[pa.Array, pa.Array]:
        """(phone, reason) arrays; a number equal to a caller id is ``same_as_from``."""
        text = pa.large_string()  # what pandas keeps: no copy when the column is made
        values = pa.concat_arrays([pa.array([""], text), *(v.cast(text) for _, v in self.pieces)])
        source = np.zeros(len(self.reason), dtype=np.int64)
        start = 1
        for rows, piece in self.pieces:
            source[rows] = np.arange(start, start + len(piece))
            start += len(piece)
        phone = values.take(pa.array(source))
        own = pa.array(sorted(set(from_numbers)), type=pa.string())
        if len(own):
            hit = pc.is_in(phone, value_set=own)
            self.reason[_np(hit)] = self.REASONS.index(InvalidReason.SAME_AS_FROM.value)
            self.numbers[_np(hit)] = -1
            phone = pc.if_else(hit, "", phone)
        names = pa.array(self.REASONS, type=text)
        reason = pa.DictionaryArray.from_arrays(pa.array(self.reason), names)
        return phone, reason.cast(text)


def _slow_path(raw: pd.Series, groups: list[tuple[str, Rows]], column: _Column) -> None:
    """Rows the fast path left undecided: :func:`normalize`, once per (value, region)."""
    memo: dict[tuple[str, str], tuple[str | None, InvalidReason | None]] = {}
    found: dict[str, list[int]] = {}  # E.164 → rows
    refused: dict[InvalidReason, list[int]] = {}
    for code, rows in groups:
        rows = rows[column.reason[rows] < 0]
        values = raw.iloc[rows].fillna("").astype("str").tolist()
        for row, value in zip(rows.tolist(), values, strict=True):
            if (value, code) not in memo:
                memo[value, code] = normalize(value, region=code)
            e164, why = memo[value, code]
            if e164 is not None:
                found.setdefault(e164, []).append(row)
            elif why is not None:
                refused.setdefault(why, []).append(row)
    for why, rows_of in refused.items():
        column.invalid(np.array(rows_of, dtype=np.intp), why)
    if found:
        rows_of_number = [np.array(r, dtype=np.intp) for r in found.values()]
        counts = [len(r) for r in rows_of_number]
        texts = np.repeat(np.array(list(found), dtype=object), counts)
        numbers = np.repeat(np.array([int(n[1:]) for n in found], dtype=np.int64), counts)
        column.valid(np.concatenate(rows_of_number), pa.array(texts, pa.string()), numbers)


# --------------------------------------------------------------------------- the fast path

# What the fast path knows about a row. Only a reading that ``parse`` would make too may give
# an invalid verdict; anything else stays undecided and goes to :func:`normalize`.
_UNDECIDED, _VALID, _BAD_LENGTH, _NOT_VALID = 0, 1, 2, 3
Codes = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _Shape:
    """What the fast path needs to know about each cleaned row, from its bytes alone."""

    lengths: Offsets
    first: npt.NDArray[np.uint8]  # the first byte (0 for an empty row)
    plain: BoolArray  # digits only, after an optional leading "+" (1 to 17 digits)

    @classmethod
    def of(cls, digits: pa.StringArray) -> _Shape:
        offsets, body = _buffers(digits)
        lengths = np.diff(offsets)
        first = np.zeros(len(lengths), dtype=np.uint8)
        filled = lengths > 0
        first[filled] = body[offsets[:-1][filled]]
        plus = first == ord("+")
        rows = _rows_of(offsets, np.flatnonzero(_NOT_DIGIT[body]))
        others = np.bincount(rows, minlength=len(lengths)) - plus
        count = lengths - plus
        return cls(lengths, first, (others == 0) & (count >= 1) & (count <= 17))


def _fast(digits: pa.StringArray, region: str, rows: npt.NDArray[np.intp], column: _Column) -> None:
    """Decide what the fast path can for the rows of one region, in ``parse``'s order of
    readings: ``+…`` (or ``00…``), else the national form with its trunk prefix stripped;
    then a local form that already starts with the country code (``972501234567``)."""
    shape = _Shape.of(digits)
    column.invalid(rows[shape.lengths == 0], InvalidReason.EMPTY)
    plus = shape.plain & (shape.first == ord("+"))
    sure = shape.lengths >= 4
    _international(digits, rows, plus, 1, column, sure_length=sure, sure_validity=sure)
    rules = _region_rules(region)
    if rules is None:
        return
    code, trunk, idd00, idd_pattern, general = rules
    candidates = shape.plain & ~plus
    idd = candidates & _matching(digits, candidates, idd_pattern)
    if idd00:
        usable = idd & _starts(digits, "00") & ~_starts(digits, "000")
        never = np.zeros(len(rows), dtype=bool)
        _international(digits, rows, usable, 2, column, sure_length=never, sure_validity=never)
    local = candidates & ~idd
    with_code = local & _starts(digits, code)
    has_trunk = local & _starts(digits, trunk) if trunk else np.zeros(len(rows), dtype=bool)
    viable = _matching(digits, has_trunk | with_code, general)  # only asked of those rows
    bare = local & ~has_trunk & ~with_code
    sure_bare = bare & (shape.lengths >= 3)
    trunked = dict(sure_length=sure_bare, sure_validity=sure_bare | (has_trunk & ~viable))
    _national(digits, rows, has_trunk, len(trunk), int(code), column, **trunked)
    _national(digits, rows, local & ~has_trunk, 0, int(code), column, **trunked)
    second = with_code & ~viable & (column.reason[rows] < 0)
    rest = _sliced(digits, second, len(code))
    sure_code = np.zeros(len(rows), dtype=bool)
    sure_code[second] = _np(pc.match_substring_regex(rest, general))
    if trunk:
        sure_code[second] &= ~_starts(rest, trunk)
    _international(digits, rows, second, 0, column, sure_length=sure_code, sure_validity=sure_code)


def _starts(text: pa.StringArray, prefix: str) -> BoolArray:
    """Per row: whether it starts with the ASCII ``prefix`` (numpy on the buffers)."""
    offsets, body = _buffers(text)
    out = np.diff(offsets) >= len(prefix)
    if not len(body):
        return out & (len(prefix) == 0)
    at = offsets[:-1].copy()
    last = len(body) - 1
    for byte in prefix.encode("ascii"):
        np.minimum(at, last, out=at)
        out &= body[at] == byte
        at += 1
    return out


def _lengths(text: pa.StringArray) -> Offsets:
    """Per row: its length in bytes (characters, for ASCII digits)."""
    return np.diff(_buffers(text)[0])


def _matching(digits: pa.StringArray, where: BoolArray, pattern: str) -> BoolArray:
    """``pattern`` matches, tested on the ``where`` rows only (False elsewhere)."""
    out = np.zeros(len(where), dtype=bool)
    if where.any():
        out[where] = _np(pc.match_substring_regex(digits.filter(pa.array(where)), pattern))
    return out


def _sliced(digits: pa.StringArray, where: BoolArray, skip: int) -> pa.StringArray:
    """The ``where`` rows without their first ``skip`` characters."""
    chosen = digits.filter(pa.array(where))
    return pc.utf8_slice_codeunits(chosen, skip) if skip else chosen


def _national(
    digits: pa.StringArray,
    rows: npt.NDArray[np.intp],
    where: BoolArray,
    skip: int,
    code: int,
    column: _Column,
    *,
    sure_length: BoolArray,
    sure_validity: BoolArray,
) -> None:
    """Judge the ``where`` rows as national numbers of ``code`` (first ``skip`` digits are a
    trunk prefix)."""
    where = where & (column.reason[rows] < 0)
    if where.any():
        national = _sliced(digits, where, skip)
        _decide(national, code, rows[where], column, sure_length[where], sure_validity[where])


def _international(
    digits: pa.StringArray,
    rows: npt.NDArray[np.intp],
    where: BoolArray,
    skip: int,
    column: _Column,
    *,
    sure_length: BoolArray,
    sure_validity: BoolArray,
) -> None:
    """Judge the ``where`` rows as ``<country code><national number>`` after ``skip``
    characters (``+`` or ``00``), country code by country code."""
    where = where & (column.reason[rows] < 0)
    if not where.any():
        return
    numbers = _sliced(digits, where, skip)
    chosen = np.flatnonzero(where)
    for code, mine, national in _by_country_code(numbers):
        at = chosen[mine]
        _decide(national, code, rows[at], column, sure_length[at], sure_validity[at])


def _by_country_code(numbers: pa.StringArray) -> list[tuple[int, npt.NDArray[np.intp], pa.Array]]:
    """Numbers grouped by their country calling code: (code, positions, national numbers).

    Decided per distinct first three digits (one hash pass), since codes are prefix-free.
    """
    heads = pc.dictionary_encode(pc.utf8_slice_codeunits(numbers, 0, 3))
    indices = heads.indices.to_numpy(zero_copy_only=False)
    groups: dict[str, list[int]] = {}
    for i, head in enumerate(heads.dictionary.to_pylist()):
        code = _leading_country_code(head)
        if code is not None:
            groups.setdefault(code, []).append(i)
    out = []
    for code, members in groups.items():
        mine = np.flatnonzero(np.isin(indices, members))
        national = pc.utf8_slice_codeunits(numbers.take(pa.array(mine)), len(code))
        out.append((int(code), mine, national))
    return out


@cache
def _leading_country_code(digits: str) -> str | None:
    """The country calling code ``digits`` start with, if any."""
    for length in (1, 2, 3):
        if digits[:length] in _CALLING_CODES:
            return digits[:length]
    return None


_CALLING_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _decide(
    national: pa.Array,
    code: int,
    rows: npt.NDArray[np.intp],
    column: _Column,
    sure_length: BoolArray,
    sure_validity: BoolArray,
) -> None:
    """Write what is certain about these national numbers of ``code`` into ``column``."""
    codes = _judge_national(code, national)
    codes[(codes == _BAD_LENGTH) & ~sure_length] = _UNDECIDED
    codes[(codes == _NOT_VALID) & ~sure_validity] = _UNDECIDED
    valid = codes == _VALID
    lengths = _lengths(national)
    accepted = valid & _api_accepts_lengths(code, lengths)
    chosen = national.filter(pa.array(accepted))
    e164 = pc.binary_join_element_wise(f"+{code}", chosen, "")
    digits = pc.cast(chosen, pa.int64()).to_numpy()  # at most 15 digits: fits an int64
    column.valid(rows[accepted], e164, code * 10 ** lengths[accepted].astype(np.int64) + digits)
    column.invalid(rows[valid & ~accepted], InvalidReason.BAD_LENGTH)
    column.invalid(rows[codes == _BAD_LENGTH], InvalidReason.BAD_LENGTH)
    column.invalid(rows[codes == _NOT_VALID], InvalidReason.NOT_VALID_FOR_REGION)


def _api_accepts_lengths(code: int, lengths: Offsets) -> BoolArray:
    """:func:`api_accepts` for ``+<code><national>`` numbers made of digits, by length alone:
    8 to 15 digits; ``+972`` numbers are 12 or 13 characters (8 or 9 national digits)."""
    digits = len(str(code)) + lengths
    ok = (digits >= 8) & (digits <= 15)
    return ok & ((lengths == 8) | (lengths == 9)) if code == 972 else ok


@cache
def _region_rules(region: str) -> tuple[str, str, bool, str, str] | None:
    """What the fast path needs about a region, or None if only ``parse`` can read its numbers.

    (country code, trunk prefix, whether ``00`` is the international prefix, the international
    prefix pattern, the general number pattern).
    """
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.international_prefix is None:
        return None
    trunk = meta.national_prefix or ""
    parsing = meta.national_prefix_for_parsing
    if meta.national_prefix_transform_rule or (parsing and parsing != trunk):
        return None  # a clever trunk prefix (carrier codes, rewrites): let parse handle it
    idd00 = re.fullmatch(meta.international_prefix, "00") is not None
    general = meta.general_desc
    pattern = (general.national_number_pattern if general else None) or "$^"
    idd = f"^(?:{meta.international_prefix})"
    return str(meta.country_code), trunk, idd00, idd, f"^(?:{pattern})$"


def _judge_national(code: int, national: pa.Array) -> Codes:
    """``is_valid_number`` (and, if not, the length verdict) for one country code.

    A number that begins like a trunk prefix (``0…`` or the country's prefix pattern) is left
    undecided: ``parse`` may strip it.
    """
    plain = ~_starts(national, "0")
    prefix = _trunk_prefix(code)
    if prefix is not None and prefix.isdigit():
        plain &= ~_starts(national, prefix)
    elif prefix is not None:
        anchored = f"^(?:{prefix})"
        stripped = pc.replace_substring_regex(national, anchored, "", max_replacements=1)
        plain &= _np(pc.equal(pc.utf8_length(stripped), pc.utf8_length(national)))
    codes = np.zeros(len(national), dtype=np.int8)
    rows = np.flatnonzero(plain)
    if len(rows):
        subset = national.take(pa.array(rows))
        lengths = _lengths(subset)
        possible, local_only = _possible_lengths(code)
        verdict = np.where(np.isin(lengths, possible), _NOT_VALID, _UNDECIDED)
        verdict[~np.isin(lengths, possible + local_only)] = _BAD_LENGTH
        verdict[_validator(code)(subset)] = _VALID
        codes[rows] = verdict
    return codes


@cache
def _possible_lengths(code: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The national number lengths ``is_possible_number`` accepts (and local-only ones)."""
    region = phonenumbers.region_code_for_country_code(code)
    meta = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    desc = meta.general_desc if meta else None
    if desc is None:
        return (), ()
    return tuple(desc.possible_length or ()), tuple(desc.possible_length_local_only or ())


@cache
def _trunk_prefix(code: int) -> str | None:
    """The country's trunk prefix pattern (``national_prefix_for_parsing``)."""
    region = phonenumbers.region_code_for_country_code(code)
    meta = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    parsing = meta.national_prefix_for_parsing if meta else None
    return parsing or None


@cache
def _validator(code: int) -> _CountryValidator:
    """The validity check for one country code, built once."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    metas = [PhoneMetadata.metadata_for_region_or_calling_code(code, r) for r in regions]
    shared = len(regions) > 1
    rules = [_RegionRule.of(meta, shared=shared) for meta in metas if meta is not None]
    return _CountryValidator(code, rules)


_TYPES = (
    "mobile",
    "fixed_line",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


@dataclass(frozen=True)
class _RegionRule:
    """One region's part of ``is_valid_number``: which numbers it claims, which it accepts.

    A number is valid for a region when it fits the general description and one number type
    (phonenumbers' ``_number_type_helper``). Where regions share a country code (+1, +7,
    +44), the first region whose leading digits match claims the number; regions without
    leading digits claim the numbers valid for them (``_region_code_for_number_from_list``).
    """

    leading: str | None
    general: _Desc | None
    types: tuple[_Desc, ...]
    placed_by_country: tuple[_Desc, ...]  # the types phonenumbers tests before fixed lines
    fixed_line: _Desc | None
    mobile: _Desc | None

    @classmethod
    def of(cls, meta: PhoneMetadata, *, shared: bool) -> _RegionRule:
        leading = f"^(?:{meta.leading_digits})" if shared and meta.leading_digits else None
        types = tuple(d for d in (_desc(getattr(meta, t)) for t in _TYPES) if d)
        others = tuple(d for d in (_desc(getattr(meta, t)) for t in _TYPES[2:]) if d)
        fixed, mobile = _desc(meta.fixed_line), _desc(meta.mobile)
        return cls(leading, _desc(meta.general_desc), types, others, fixed, mobile)

    def claims(self, national: pa.Array) -> BoolArray:
        """Rows this region claims before it looks at validity (by leading digits)."""
        if self.leading is None:
            return np.ones(len(national), dtype=bool)
        return _np(pc.match_substring_regex(national, self.leading))

    def accepts(self, national: pa.Array) -> BoolArray:
        """Rows that are valid numbers of this region."""
        if self.general is None:
            return np.zeros(len(national), dtype=bool)
        lengths = pc.utf8_length(national).to_numpy(zero_copy_only=False).astype(np.int64)
        valid = _matches(national, lengths, self.general)
        found = np.zeros(len(national), dtype=bool)
        for desc in self.types:
            rows = np.flatnonzero(valid & ~found)
            if not len(rows):
                break
            found[rows] = _matches(national.take(pa.array(rows)), lengths[rows], desc)
        return valid & found

    def geographic(self, national: pa.Array, *, mobiles: bool) -> BoolArray:
        """Rows (valid numbers of this region) whose type phonenumbers places by prefix.

        ``_number_type_helper``'s order: premium rate, toll-free, shared cost, VoIP, personal,
        pager, UAN and voicemail come first and are placed by country; then a fixed line is
        geographic; a mobile only where ``mobiles`` (phonenumbers' geographic-mobile
        countries).
        """
        lengths = pc.utf8_length(national).to_numpy(zero_copy_only=False).astype(np.int64)
        geo = np.zeros(len(national), dtype=bool)
        for desc in (self.fixed_line, self.mobile if mobiles else None):
            if desc is not None:
                geo |= _matches(national, lengths, desc)
        for desc in self.placed_by_country:
            rows = np.flatnonzero(geo)
            if not len(rows):
                break
            geo[rows] = ~_matches(national.take(pa.array(rows)), lengths[rows], desc)
        return geo


class _CountryValidator:
    """``phonenumbers.is_valid_number`` for national numbers of one country code, vectorized.

    Falls back to phonenumbers per number (still without ``parse``) if RE2 cannot compile one
    of the country's patterns.
    """

    def __init__(self, code: int, rules: list[_RegionRule]) -> None:
        self.code = code
        self.rules = rules
        self.exact = True

    def __call__(self, national: pa.Array) -> BoolArray:
        if self.exact:
            try:
                return self._vectorized(national)
            except pa.ArrowInvalid:
                self.exact = False
        return self._one_by_one(national)

    def _vectorized(self, national: pa.Array) -> BoolArray:
        valid = np.zeros(len(national), dtype=bool)
        open_rows = np.ones(len(national), dtype=bool)
        for rule in self.rules:
            rows = np.flatnonzero(open_rows)
            if not len(rows):
                break
            subset = national.take(pa.array(rows))
            claimed = rule.claims(subset)
            accepted = claimed.copy()
            accepted[claimed] = rule.accepts(subset.filter(pa.array(claimed)))
            valid[rows[accepted]] = True
            open_rows[rows[claimed if rule.leading else accepted]] = False
        return valid

    def geographic(self, national: pa.Array) -> BoolArray:
        """Per valid national number: placed by its own prefix (see :func:`geographic`)."""
        mobiles = phonenumbers.is_number_type_geographical(PhoneNumberType.MOBILE, self.code)
        if self.exact:
            try:
                return self._geographic_vectorized(national, mobiles=mobiles)
            except pa.ArrowInvalid:
                self.exact = False
        return np.fromiter(
            (_geographic_one(self.code, n) for n in national.to_pylist()),
            dtype=bool,
            count=len(national),
        )

    def _geographic_vectorized(self, national: pa.Array, *, mobiles: bool) -> BoolArray:
        """The region that owns each number (as in :meth:`_vectorized`) judges its type."""
        geo = np.zeros(len(national), dtype=bool)
        open_rows = np.ones(len(national), dtype=bool)
        for rule in self.rules:
            rows = np.flatnonzero(open_rows)
            if not len(rows):
                break
            subset = national.take(pa.array(rows))
            owned = rule.claims(subset)
            if rule.leading is None:
                owned[owned] = rule.accepts(subset.filter(pa.array(owned)))
            mine = rows[owned]
            geo[mine] = rule.geographic(subset.filter(pa.array(owned)), mobiles=mobiles)
            open_rows[mine] = False
        return geo

    def _one_by_one(self, national: pa.Array) -> BoolArray:
        numbers = [
            PhoneNumber(country_code=self.code, national_number=int(n))
            for n in national.to_pylist()
        ]
        return np.fromiter(
            map(phonenumbers.is_valid_number, numbers), dtype=bool, count=len(numbers)
        )


_Desc = tuple[tuple[int, ...], str]


def _geographic_one(code: int, national: str) -> bool:
    """:func:`geographic` for one number, by phonenumbers itself (the slow fallback)."""
    number = phonenumbers.parse(f"+{code}{national}")
    kind = phonenumbers.number_type(number)
    return bool(phonenumbers.is_number_type_geographical(kind, code))


def geographic(country_code: int, national: pa.Array) -> BoolArray:
    """Per valid number of ``country_code`` (national significant numbers): whether
    phonenumbers places it by its own prefix rather than by its whole country.

    This is the type test of ``timezone.time_zones_for_number``: fixed lines are placed by
    prefix; mobiles only in the few countries whose mobile prefixes are geographic (e.g.
    Brazil, Mexico, China); toll-free, premium, VoIP and the like never are. Vectorized
    like the validity check, without ``parse``.
    """
    return _validator(country_code).geographic(national)


def _desc(desc: phonenumbers.PhoneNumberDesc | None) -> _Desc | None:
    """A number description as (possible lengths, anchored pattern); None if it has no data."""
    if desc is None or not desc.national_number_pattern:
        return None
    return tuple(desc.possible_length or ()), f"^(?:{desc.national_number_pattern})$"


def _matches(national: pa.Array, lengths: npt.NDArray[np.int64], desc: _Desc) -> BoolArray:
    """phonenumbers' ``_is_number_matching_desc`` for an array: length listed, pattern matches."""
    possible, pattern = desc
    ok = np.isin(lengths, possible) if possible else np.ones(len(national), dtype=bool)
    return ok & _np(pc.match_substring_regex(national, pattern))


def _np(array: pa.Array | pa.ChunkedArray) -> BoolArray:
    """A pyarrow boolean array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


@cache
def supported_regions() -> frozenset[str]:
    """Two-letter region codes phonenumbers knows."""
    return frozenset(phonenumbers.SUPPORTED_REGIONS)
