"""Text rendering: a report document as aligned plain-text tables, for a terminal or a log.

The text form draws the same document as the page, the CSV and the workbook (one layout per
report, :mod:`dunning.reports.document`): its headline figures, then each table with its note,
then the notes; charts are left to the page. Numbers are right-aligned and written as the
locale writes them; codes of the data (a channel, a bucket) appear as the JSON spells them, so
that a reader can grep for them, or named in Chinese under ``--locale zh-CN``; dates stay ISO.
A column of prose (a finding's message) is written under its row rather than padded across.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from .document import NUMERIC, Column, Document, Headline, Kind, Msg, Table, build_document
from .locales import Locale, locale

__all__ = ["render_text", "report_text"]

#: Between two columns.
GAP = "  "
#: What an empty table without a note says.
_NONE = Msg("No rows.")


def report_text(report: str, data: Mapping[str, Any], tag: str = "en") -> str:
    """The text form of ``report`` (a key of ``BUILDERS``) from its JSON ``data``."""
    return render_text(build_document(report, data), locale(tag))


def render_text(document: Document, loc: Locale) -> str:
    r"""The document as plain text: its run, its figures, its tables and notes.

    Control and direction characters of the data (an id holding ``ESC[2J``, a right-to-left
    override) are written as escapes (``\x1b``): the text never drives the terminal it is
    read on.
    """
    out = [_safe(loc.text(document.title))]
    out += _pairs(
        [(_safe(loc.text(label)), _safe(value)) for label, value in document.header], right=False
    )
    for block in document.blocks:
        out.append("")
        if isinstance(block, Headline):
            out += _pairs(
                [(_safe(loc.text(f.title)), _cell(f.value, f.kind, loc)) for f in block.items],
                right=True,
            )
        elif isinstance(block, Table):
            out += _table(block, loc)
        else:
            out.append(_safe(loc.text(block.text)))
    return "\n".join(out) + "\n"


def _pairs(pairs: list[tuple[str, str]], *, right: bool) -> list[str]:
    """``label  value`` lines, the labels padded to one width (the values too, if ``right``)."""
    if not pairs:
        return []
    wide = max(_width(label) for label, _ in pairs)
    values = max(_width(value) for _, value in pairs)
    return [
        f"  {_pad(label, wide)}{GAP}{_pad(value, values, right=True) if right else value}".rstrip()
        for label, value in pairs
    ]


def _table(table: Table, loc: Locale) -> list[str]:
    lines = [_safe(loc.text(table.title))]
    shown = [c for c in table.columns if not c.prose]
    prose = [(i, c) for i, c in enumerate(table.columns) if c.prose]
    heads = [loc.label(c.key) if c.code and loc.chinese else _head(c, loc) for c in shown]
    index = [table.columns.index(c) for c in shown]
    last = len(table.rows) - 1 if table.total else -1
    cells = [
        [_cell(row[i], c.kind, loc, total=n == last) for i, c in zip(index, shown, strict=True)]
        for n, row in enumerate(table.rows)
    ]
    if not cells:  # no header over nothing: the note, or that there is nothing
        return [*lines, "  " + _safe(loc.text(table.note if table.note is not None else _NONE))]
    widths = [max(_width(text) for text in column) for column in zip(heads, *cells, strict=True)]
    right = [c.kind in NUMERIC for c in shown]
    for n, row in enumerate([heads, *cells]):
        padded = (
            _pad(text, width, right=r) for text, width, r in zip(row, widths, right, strict=True)
        )
        lines.append(("  " + GAP.join(padded)).rstrip())
        if n and prose:
            values = table.rows[n - 1]
            lines += [
                f"      {_head(c, loc)}: {_cell(values[i], c.kind, loc)}"
                for i, c in prose
                if values[i] not in (None, "")
            ]
    if table.note is not None:
        lines.append("  " + _safe(loc.text(table.note)))
    return lines


def _head(column: Column, loc: Locale) -> str:
    return _safe(column.key if column.code else loc.text(column.title))


def _shown(value: Any, kind: Kind, loc: Locale, *, total: bool = False) -> str:
    """A value as the text form writes it: codes as the data spells them, dates ISO."""
    if value is None:
        return "" if total else "–"  # a totals row leaves blank what it does not sum
    if (total and value == "total") or kind == "label":
        return loc.label(value) if loc.chinese or value in ("total", "ledger") else str(value)
    if kind == "date":
        return str(value)
    return loc.value(value, kind)


def _cell(value: Any, kind: Kind, loc: Locale, *, total: bool = False) -> str:
    return _safe(_shown(value, kind, loc, total=total))


#: What a terminal would act on rather than show: C0 and C1 controls, zero-width and
#: direction marks, a byte-order mark.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _safe(text: str) -> str:
    """``text`` with each character of :data:`_CONTROL` written as its escape."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal: two for a wide (Chinese) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill
