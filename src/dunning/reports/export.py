"""CSV and Excel rendering: a report document's tables as data a spreadsheet opens.

CSV is the long form, one figure a line (``section,row,column,value``), values exactly as the
JSON gives them, so that any tool can pivot it. The workbook has a sheet per table with the
locale's titles, amounts stored as numbers with two decimals shown (``#,##0.00``), counts as
whole numbers and shares as percents: Excel sums and sorts them as numbers, not text.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime
from typing import IO, Any, TextIO

from .cells import csv_writer
from .document import Document, Headline, Kind, Table
from .locales import Locale

__all__ = ["EXCEL_FORMATS", "write_csv", "write_xlsx"]

#: The Excel number format of each kind of value.
EXCEL_FORMATS: dict[str, str] = {
    "count": "#,##0",
    "money": "#,##0.00",
    "number": "#,##0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
}


def write_csv(document: Document, out: TextIO) -> None:
    """Every figure of the document, one line each: section, row, column, value."""
    writer = csv_writer(out)
    writer.writerow(("section", "row", "column", "value"))
    for block in document.blocks:
        if isinstance(block, Headline):
            for item in block.items:
                writer.writerow((block.id, item.key, "value", _text(item.value)))
        elif isinstance(block, Table):
            for row in block.rows:
                for column, value in zip(block.columns[1:], row[1:], strict=True):
                    writer.writerow((block.id, _text(row[0]), column.key, _text(value)))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


_SHEET = re.compile(r"[\[\]:*?/\\]")


def write_xlsx(document: Document, out: IO[bytes], loc: Locale) -> None:
    """The document as a workbook: a first sheet with the run and its figures, a sheet a table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    about = book.create_sheet(_unique(loc.text(document.title), set()))
    about.append([_bold(about, loc.text(document.title), bold)])
    for label, value in document.header:
        about.append([_cell(about, loc.text(label), "text"), _cell(about, value, "text")])
    names = {about.title}
    for block in document.blocks:
        if isinstance(block, Headline):
            about.append([])
            for item in block.items:
                about.append(
                    [
                        _cell(about, loc.text(item.title), "text"),
                        _cell(about, item.value, item.kind),
                    ]
                )
        elif isinstance(block, Table):
            heads = [loc.label(c.key) if c.code else loc.text(c.title) for c in block.columns]
            # A table longer than a sheet (Excel's 1,048,576 rows) goes on in the next one.
            for start in range(0, max(len(block.rows), 1), SHEET_ROWS):
                sheet = book.create_sheet(_unique(loc.text(block.title), names))
                names.add(sheet.title)
                for letter, width in _widths(heads, block, loc).items():
                    sheet.column_dimensions[letter].width = width
                sheet.append([_bold(sheet, loc.text(block.title), bold)])
                sheet.append([_bold(sheet, head, bold) for head in heads])
                for number, row in enumerate(block.rows[start : start + SHEET_ROWS], start + 1):
                    last = block.total and number == len(block.rows)
                    sheet.append(
                        [
                            _cell(
                                sheet,
                                _shown(v, c.kind, loc, first=i == 0 and last),
                                c.kind,
                                bold if last else None,
                            )
                            for i, (c, v) in enumerate(zip(block.columns, row, strict=True))
                        ]
                    )
                if block.note is not None:
                    sheet.append([])
                    sheet.append([_cell(sheet, loc.text(block.note), "text")])
    book.save(out)


#: Rows of a table on one sheet: Excel's limit, less the title and the header.
SHEET_ROWS = 1_048_576 - 2


def _shown(value: Any, kind: Kind, loc: Locale, *, first: bool) -> Any:
    """A cell's value for the sheet: codes named in the locale ("total" too), the rest as is."""
    if value is not None and (kind == "label" or (first and value == "total")):
        return loc.label(value)
    if value is not None and kind == "said":
        return loc.value(value, kind)
    return value


def _unique(title: str, taken: set[str]) -> str:
    r"""A sheet name: at most 31 characters, none of ``[]:*?/\\``, unlike the others."""
    name = _SHEET.sub(" ", title)[:31].strip() or "Sheet"
    candidate, n = name, 2
    while candidate in taken:
        suffix = f" ({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    return candidate


def _bold(sheet: Any, value: Any, font: Any) -> Any:
    return _cell(sheet, value, "text", font)


def _cell(sheet: Any, value: Any, kind: Kind, font: Any = None) -> Any:
    """A cell: numbers as numbers with the kind's format, dates as dates, the rest as text."""
    from openpyxl.cell import WriteOnlyCell

    if kind == "date" and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)  # Excel has no zones; the header says which
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):  # text, even if it begins with "=": never a formula
        cell.data_type = "s"
    if kind in EXCEL_FORMATS and value is not None:
        cell.number_format = EXCEL_FORMATS[kind]
    if font is not None:
        cell.font = font
    return cell


def _widths(heads: list[str], table: Table, loc: Locale) -> dict[str, float]:
    from openpyxl.utils import get_column_letter

    widths: dict[str, float] = {}
    for i, column in enumerate(table.columns):
        shown = [len(loc.value(row[i], column.kind)) for row in table.rows[:200]]
        wide = max([len(heads[i]) * (2 if loc.chinese else 1), *shown]) + 2
        widths[get_column_letter(i + 1)] = min(max(wide, 8), 60)
    return widths
