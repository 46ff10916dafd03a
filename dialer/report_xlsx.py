"""The XLSX report: sheet "Leads" (one row per input row) and sheet "Summary".

Written with openpyxl's streaming writer so a 100,000-row campaign fits in memory. Every text
cell is stored as a string (never a formula); see :mod:`dialer.reports` for neutralisation and
how values are shown (``true``/``false``, nested values as JSON, whole numbers as integers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from dialer.reports import PHONE_COLUMNS, ReportData, spreadsheet_cell, summary_lines

#: Column widths are fitted to this many rows (the rest rarely changes the answer).
_WIDTH_SAMPLE = 500
_MIN_WIDTH, _MAX_WIDTH = 6, 48


def write(data: ReportData, handle: IO[bytes]) -> None:
    """Both sheets, saved into ``handle``."""
    book = Workbook(write_only=True)
    _leads_sheet(book, data)
    _summary_sheet(book, data)
    book.save(handle)


def _leads_sheet(book: Workbook, data: ReportData) -> None:
    sheet = book.create_sheet("Leads")
    sheet.freeze_panes = "A2"
    for index, width in enumerate(_widths(data.columns, data.rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    sheet.append([_cell(sheet, name, column="", font=bold) for name in data.columns])
    for row in data.rows:
        sheet.append([_cell(sheet, v, column=c) for c, v in zip(data.columns, row, strict=True)])


def _summary_sheet(book: Workbook, data: ReportData) -> None:
    sheet = book.create_sheet("Summary")
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 80
    bold = Font(bold=True)
    for label, value in summary_lines(data.summary):
        sheet.append([_cell(sheet, label, column="", font=bold), _cell(sheet, value, column="")])


def _cell(sheet: Any, value: Any, *, column: str, font: Font | None = None) -> WriteOnlyCell:
    """A cell shown as in the CSV (neutralised), cleaned of characters XLSX cannot hold, text
    typed as a string; phone numbers also get the quote-prefix style so an edit keeps them
    text."""
    value = spreadsheet_cell(value, column=column)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if column in PHONE_COLUMNS and value:
            cell.quotePrefix = True
    if font is not None:
        cell.font = font
    return cell


def _widths(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[float]:
    """Each column as wide as its header or longest sampled value, within sensible bounds."""
    widths = [len(name) for name in columns]
    for row in rows[:_WIDTH_SAMPLE]:
        for index, value in enumerate(row):
            shown = spreadsheet_cell(value, column="")
            widths[index] = max(widths[index], len(str(shown)) if shown is not None else 0)
    return [float(min(max(w + 2, _MIN_WIDTH), _MAX_WIDTH)) for w in widths]
