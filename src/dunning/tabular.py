"""Reading spreadsheets: CSV and Excel files as finance teams and agencies send them.

A table's first non-blank row is its header. Each field the reader wants is found in the
header under the header a column mapping gives it (``amount=回款金额``), else under its own name;
headers match without regard to case or surrounding spaces, and other columns are ignored.
Cells are normalised for the field's kind before the model validates them: amounts lose their
thousands separators (``1,234.56``), rates may be percentages (``7%``), dates may be written
``2026-10-03``, ``2026/10/3``, ``2026.10.03`` or ``2026年10月3日``, and Excel's numbers become
decimals through their shortest representation (the number the cell shows), never a float.

Limits are checked while reading: a cell of more than 4,000 characters, more than 200 columns,
an Excel file whose parts would unpack to more than 512 MiB. A row that breaks one is that
row's error; a file that breaks one is refused as a whole with a :class:`ConfigError`.
"""

from __future__ import annotations

import codecs
import collections
import csv
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, Literal, TypeVar

from .errors import ConfigError, Problem, did_you_mean

__all__ = ["Row", "parse_columns", "read_rows"]

MAX_COLUMNS = 200
MAX_CELL = 4000
MAX_UNPACKED = 512 * 1024 * 1024
MAX_PARTS = 10_000

Kind = Literal["text", "amount", "rate", "date", "int", "list"]
T = TypeVar("T")

#: What separates the items of a list cell: ``;``, ``；``, ``、`` or a new line (not a comma:
#: addresses have them).
_ITEMS = re.compile(r"[;；、\n]")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass(frozen=True)
class Row:
    """One row of a table, as the model's fields.

    Attributes:
        line: Its line in a CSV file, or its row in a sheet (the header is line 1 or later).
        values: Each field the header has, with its cell normalised (``None`` left out).
        problems: What is wrong with the row before any field is validated.
    """

    line: int
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


def parse_columns(pairs: Sequence[str]) -> dict[str, str]:
    """Read ``FIELD=HEADER`` pairs (``--column amount=回款金额``) into a mapping.

    Raises:
        ConfigError: For a pair without ``=`` or a field given twice.
    """
    columns: dict[str, str] = {}
    for pair in pairs:
        name, sep, header = pair.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise ConfigError(f"a column mapping is FIELD=HEADER, not {pair!r}")
        if name.strip() in columns:
            raise ConfigError(f"the column of {name.strip()!r} is mapped twice")
        columns[name.strip()] = header.strip()
    return columns


def read_rows(
    source: BinaryIO,
    *,
    fields: Mapping[str, Kind],
    required: Sequence[str],
    columns: Mapping[str, str] | None = None,
    kind: Literal["csv", "xlsx"] = "csv",
    sheet: str | None = None,
    encoding: str = "utf-8",
    name: str = "the table",
) -> Iterator[Row]:
    """Yield each non-blank row after the header, as the fields it maps to.

    Args:
        source: The file, opened in binary mode.
        fields: The fields the model has, and the kind of each.
        required: The fields the header must have a column for.
        columns: ``{field: header}`` for columns not named like their field.
        kind: ``csv`` or ``xlsx``.
        sheet: The workbook's sheet (default: the first).
        encoding: A CSV file's encoding (``utf-8``, with or without a BOM; ``gb18030``).
        name: The file, as messages name it.

    Raises:
        ConfigError: If the header lacks a required column, the mapping names a field or
            header that is not there, or the file cannot be read as a table at all.
    """
    mapping = dict(columns or {})
    unknown = [f for f in mapping if f not in fields]
    if unknown:
        raise ConfigError(
            f"no field {unknown[0]!r} to map a column to{did_you_mean(unknown[0], fields)}; "
            f"the fields are {', '.join(fields)}"
        )
    cells = _xlsx_rows(source, sheet, name) if kind == "xlsx" else _csv_rows(source, encoding)
    for line, row, problem in cells:
        if problem is not None:
            raise ConfigError(f"{name}: line {line}, before the header: {problem.message}")
        if not all(_blank(c) for c in row):
            header = _header(row, fields, required, mapping, name)
            break
    else:
        raise ConfigError(f"{name} has no header row")
    for line, row, problem in cells:
        if problem is not None:
            yield Row(line, {}, [problem])
            continue
        if all(_blank(c) for c in row):
            continue
        yield _row(line, row, header, fields)


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _header(
    row: Sequence[Any],
    fields: Mapping[str, Kind],
    required: Sequence[str],
    mapping: Mapping[str, str],
    name: str,
) -> dict[str, int]:
    """Each field's column index in the header row."""
    found = {str(c).strip().casefold(): i for i, c in reversed(list(enumerate(row))) if c}
    shown = [str(c).strip() for c in row if not _blank(c)]
    header: dict[str, int] = {}
    for wanted in fields:
        title = mapping.get(wanted, wanted)
        index = found.get(title.strip().casefold())
        if index is None:  # a mapped field whose column is named like the field itself
            index = found.get(wanted.casefold())
        if index is not None:
            header[wanted] = index
        elif wanted in mapping:
            raise ConfigError(
                f"{name} has no column {title!r} (mapped to {wanted!r})"
                f"{did_you_mean(title, shown)}; its columns are {', '.join(shown)[:300]}"
            )
    missing = [f for f in required if f not in header]
    if missing:
        raise ConfigError(
            f"{name} has no column for {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(shown)[:300]}. Map one with FIELD=HEADER "
            f"(--column {missing[0]}=...)"
        )
    return header


def _row(
    line: int, row: Sequence[Any], header: Mapping[str, int], fields: Mapping[str, Kind]
) -> Row:
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, index in header.items():
        cell = row[index] if index < len(row) else None
        if _blank(cell):
            continue
        try:
            values[name] = _cell(cell, fields[name])
        except ValueError as exc:
            problems.append(Problem(name, "bad_cell", str(exc)))
    return Row(line, values, problems)


def _cell(cell: Any, kind: Kind) -> Any:
    """A cell as the model reads it: text, or a date, or a number as exact text."""
    if cell is UNCALCULATED:
        raise ValueError(
            "a formula saved without its value: open the file in Excel and save it again, or "
            "give the values"
        )
    if isinstance(cell, bool):
        raise ValueError(f"{cell} is not a value for this column")
    if isinstance(cell, datetime | date):
        if kind != "date":
            raise ValueError(f"{cell.isoformat()} is a date, not a value for this column")
        return cell.date() if isinstance(cell, datetime) else cell
    if isinstance(cell, float) and kind == "int" and cell.is_integer() and abs(cell) < 2**53:
        return str(int(cell))  # Excel keeps whole numbers as doubles too
    if isinstance(cell, float):
        # Excel keeps numbers as binary doubles; the shortest text that reads back as the same
        # double is the number the cell shows (1234.56, not 1234.5599999999999).
        cell = repr(cell)
        if cell in ("nan", "inf", "-inf"):
            raise ValueError(f"{cell} is not a number")
    elif isinstance(cell, int):
        cell = str(cell)
    text = str(cell).strip()
    if kind == "amount" and _THOUSANDS.match(text):
        return text.replace(",", "")
    if kind == "rate" and text.endswith("%"):
        try:
            number = Decimal(text[:-1].strip())
        except InvalidOperation:
            raise ValueError(f"{text[:40]!r} is not a percentage") from None
        if not text[:-1].strip().isascii() or not number.is_finite():
            raise ValueError(f"{text[:40]!r} is not a percentage")
        return str(number.scaleb(-2))
    if kind == "int":
        if not (text.isascii() and text.lstrip("+-").isdigit()) or len(text) > 18:
            raise ValueError(f"{text[:40]!r} is not a whole number")
        return int(text)
    if kind == "list":
        return [item.strip() for item in _ITEMS.split(text) if item.strip()]
    if kind == "date":
        matched = _DATE.match(text)
        if matched:
            year, month, day = map(int, matched.groups())
            try:
                return date(year, month, day)
            except ValueError:
                raise ValueError(f"{text!r} is not a date of the calendar") from None
    return text


# --- CSV ------------------------------------------------------------------------------------

Cells = Iterator[tuple[int, list[Any], Problem | None]]


def _csv_rows(source: BinaryIO, encoding: str) -> Cells:
    """Each record of a CSV file with the line it starts on; a bad record is a problem.

    Every physical line is accounted for: a record is one line, or several where a quoted cell
    holds line breaks (an address). A quote left open — it does not close by the end of the
    file, within :data:`MAX_RECORD_LINES` lines or within :data:`MAX_CELL` characters — is
    its first line's error, and the lines after that one are read again as records of their
    own: a stray ``"`` never swallows the rows that follow it.
    """
    _check_encoding(encoding)
    feed = _Feed(_decoded(source, encoding))
    reader = csv.reader(feed, strict=True)
    while True:
        feed.held.clear()
        try:
            record = next(reader)
        except StopIteration:
            return
        except (csv.Error, _Unclosed) as exc:
            if not feed.held:  # nothing read: nothing to account for
                return
            first = feed.held[0]
            feed.again.extendleft(reversed(feed.held[1:]))  # read again, on their own
            reader = csv.reader(feed, strict=True)
            if first.problem is not None:
                yield first.number, [], Problem("", "invalid_text", first.problem)
            else:
                yield first.number, [], Problem("", "bad_row", _unreadable(exc, len(feed.held)))
            continue
        start = feed.held[0].number
        bad = [line.problem for line in feed.held if line.problem is not None]
        if bad:  # the record holds a line that could not be read
            yield start, [], Problem("", "invalid_text", "; ".join(bad))
            continue
        if len(record) > MAX_COLUMNS:
            yield start, [], Problem("", "bad_row", f"more than {MAX_COLUMNS} columns")
            continue
        long = next((c for c in record if len(c) > MAX_CELL), None)
        if long is not None:
            problem = Problem("", "bad_row", f"a cell of more than {MAX_CELL} characters")
            yield start, [], problem
            continue
        yield start, record, None


#: The physical lines one record may take: a quoted cell may hold a few line breaks (an
#: address); a quote still open after this many lines is a stray one.
MAX_RECORD_LINES = 20


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    problem: str | None = None  # why the line could not be read (then its text is a newline)


class _Unclosed(Exception):
    """A quoted cell runs on past the lines or characters a record may take."""


def _unreadable(exc: BaseException, lines: int) -> str:
    if isinstance(exc, _Unclosed):
        return (
            f"a quote opens a cell here that does not close within {MAX_RECORD_LINES} lines or "
            f'{MAX_CELL:,} characters (a stray "?); the lines after it are read on their own'
        )
    if "unexpected end of data" in str(exc):
        return (
            "a quote opens a cell here that does not close before the end of the file (a stray "
            '"?)' + ("; the lines after it are read on their own" if lines > 1 else "")
        )
    return f"not a CSV record: {exc}"


class _Feed:
    """The lines the CSV reader reads: the file's, after any it must read again.

    ``held`` is what the current record has taken so far; a record that would take a line that
    cannot be read, more than :data:`MAX_RECORD_LINES` lines or more than :data:`MAX_CELL`
    characters after its first line stops with :class:`_Unclosed`.
    """

    def __init__(self, lines: Iterator[_Line]) -> None:
        self.lines = lines
        self.again: collections.deque[_Line] = collections.deque()
        self.held: list[_Line] = []
        self._after_first = 0

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = self.again.popleft() if self.again else next(self.lines)
        if self.held:  # a quoted cell runs on: bounded
            self._after_first += len(line.text)
            too_far = len(self.held) >= MAX_RECORD_LINES or self._after_first > MAX_CELL
            if line.problem is not None or too_far:
                self.again.appendleft(line)  # not this record's: read on its own
                raise _Unclosed
        else:
            self._after_first = 0
        self.held.append(line)
        return line.text


def _check_encoding(encoding: str) -> None:
    """A usage error unless ``encoding`` decodes bytes to text (``rot13`` and ``zlib`` do not)."""
    try:
        "\n".encode(encoding).decode(encoding)
    except LookupError as exc:
        known = "no such encoding" in str(exc) or "unknown encoding" in str(exc)
        said = "unknown encoding" if known else "not a text encoding"
        raise ConfigError(f"{said}: {encoding!r} (utf-8, gb18030, utf-16…)") from None


def _decoded(source: BinaryIO, encoding: str) -> Iterator[_Line]:
    """A CSV file's physical lines as text, numbered, each unreadable one with why."""
    if "\n".encode(encoding) != b"\n":  # UTF-16, UTF-32: not read line by line as bytes
        yield from _decoded_wide(source, encoding)
        return
    # A line is read with a bound: a file without newlines is never read whole.
    limit = MAX_CELL * MAX_COLUMNS
    number = 0
    while True:
        raw = source.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # the rest of the line, unread
                raw = source.readline(limit + 1)
            yield _Line(number, "\n", f"line {number} is longer than {limit} bytes")
            continue
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode(encoding)
        except UnicodeError as exc:
            where = f"byte {exc.start + 1}" if isinstance(exc, UnicodeDecodeError) else "a byte"
            message = (
                f"{where} of line {number} is not {encoding} "
                "(save the file as CSV UTF-8, or name its encoding)"
            )
            yield _Line(number, "\n", message)
            continue
        yield _Line(number, text.removeprefix("\ufeff") if number > 1 else text)


def _decoded_wide(source: BinaryIO, encoding: str) -> Iterator[_Line]:
    """The lines of a file in an encoding wider than a byte a character (UTF-16, UTF-32)."""
    limit = MAX_CELL * MAX_COLUMNS
    text = io.TextIOWrapper(source, encoding=encoding, newline="")
    number = 0
    try:
        while True:
            try:
                line = text.readline(limit + 1)
            except UnicodeError:
                message = (
                    f"line {number + 1} and the rest of the file are not {encoding} "
                    "(save the file as CSV UTF-8, or name its encoding)"
                )
                yield _Line(number + 1, "\n", message)
                return
            if not line:
                return
            number += 1
            if len(line) > limit and not line.endswith("\n"):
                while line and not line.endswith("\n"):  # the rest of the line, unread
                    line = text.readline(limit + 1)
                yield _Line(number, "\n", f"line {number} is longer than {limit} characters")
                continue
            yield _Line(number, line.removeprefix("\ufeff"))
    finally:
        text.detach()  # the caller's file stays open


# --- Excel ----------------------------------------------------------------------------------


#: Excel's last row: a row numbered beyond it is a damaged (or hostile) sheet.
EXCEL_ROWS = 1_048_576
#: Distinct texts a workbook may hold (its shared strings, all held in memory while it is read:
#: about 100 bytes each). A sheet of a million rows with a few text columns fits.
MAX_SHARED_STRINGS = 4_000_000
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[\s>/]")


class _Uncalculated:
    """A formula cell saved without the value it computes (the file was never recalculated)."""

    def __str__(self) -> str:
        return "(a formula without its value)"


#: The value of such a cell: refused as a bad cell, never read as blank (a reversal read as a
#: payment, a fee read as 0).
UNCALCULATED = _Uncalculated()


def _xlsx_rows(source: BinaryIO, sheet: str | None, name: str) -> Cells:
    """Each non-blank row of a workbook's sheet with its row number.

    The sheet's XML is read row by row as it stands: a row numbered far away, or a sheet that
    claims to span every cell Excel has (``<dimension ref="A1:XFD1048576">``), costs nothing,
    since missing rows and cells are never made up.
    """
    data = source.read(MAX_UNPACKED + 1)
    if len(data) > MAX_UNPACKED:
        raise ConfigError(f"{name} is larger than {MAX_UNPACKED // 2**20} MiB")
    buffer = io.BytesIO(data)
    try:
        with zipfile.ZipFile(buffer) as archive:
            parts = archive.infolist()
            if len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_UNPACKED:
                raise ConfigError(f"{name} would unpack to more than {MAX_UNPACKED // 2**20} MiB")
            _count_shared_strings(archive, name)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, RuntimeError) as exc:
        raise ConfigError(f"{name} is not an Excel workbook (.xlsx): {_short(exc)}") from None
    import openpyxl  # imported when a workbook is read: the rest of dunning does not need it

    buffer.seek(0)
    try:
        book = openpyxl.load_workbook(buffer, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file; all mean the same
        raise ConfigError(f"{name} cannot be read as a workbook: {_short(exc)}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ConfigError(
                f"{name} has no sheet {sheet!r}{did_you_mean(sheet, book.sheetnames)}; "
                f"its sheets are {', '.join(book.sheetnames)[:300]}"
            )
        tables = [s.title for s in book.worksheets]
        if sheet is not None and sheet not in tables:
            raise ConfigError(f"{name}: the sheet {sheet!r} is a chart, not a table")
        if not tables:
            raise ConfigError(f"{name} has no sheet of cells")
        yield from _sheet_rows(book, book[sheet if sheet is not None else tables[0]])
    finally:
        book.close()


def _count_shared_strings(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse a workbook whose shared strings alone would fill the memory."""
    for part in archive.infolist():
        if not part.filename.lower().endswith("sharedstrings.xml"):
            continue
        count, tail = 0, b""
        with archive.open(part) as stream:
            while chunk := stream.read(1 << 20):
                text = tail + chunk
                count += len(_SHARED_STRING.findall(text))
                tail = text[-16:]
                count -= len(_SHARED_STRING.findall(tail))  # counted again with the next chunk
                if count > MAX_SHARED_STRINGS:
                    raise ConfigError(
                        f"{name} holds more than {MAX_SHARED_STRINGS:,} distinct texts"
                    )


def _sheet_rows(book: Any, worksheet: Any) -> Cells:
    """The rows of a read-only worksheet, straight from its XML (see :func:`_xlsx_rows`)."""
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class Parser(WorkSheetParser):  # type: ignore[misc]
        def parse_cell(self, element: Any) -> Any:
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                cell["value"] = UNCALCULATED
            return cell

    number = 0
    with worksheet._get_source() as xml:
        parser = Parser(
            xml,
            worksheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        rows = parser.parse()
        while True:
            try:
                number, cells = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # damaged XML inside the sheet
                yield number + 1, [], Problem("", "unreadable_table", _short(exc))
                return
            if number > EXCEL_ROWS:
                message = f"a row numbered {number:,}, beyond Excel's last row ({EXCEL_ROWS:,})"
                yield number, [], Problem("", "unreadable_table", message)
                return
            values: list[Any] = []
            wide = False
            for cell in cells:
                column, value = cell["column"], cell["value"]
                if column > MAX_COLUMNS:
                    wide = wide or not _blank(value)
                    continue
                values.extend([None] * (column - len(values)))
                values[column - 1] = value
            if wide:
                yield number, [], Problem("", "bad_row", f"more than {MAX_COLUMNS} columns")
                continue
            long = next((c for c in values if isinstance(c, str) and len(c) > MAX_CELL), None)
            if long is not None:
                problem = Problem("", "bad_row", f"a cell of more than {MAX_CELL} characters")
                yield number, [], problem
                continue
            yield number, values, None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
