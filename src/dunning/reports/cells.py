"""Cells a spreadsheet reads as text: no text written by dunning ever runs as a formula.

A spreadsheet program runs a CSV cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in
some, a tab or carriage return) as a formula: a case id or claim reference of
``=HYPERLINK(…)`` or ``=cmd|' /C calc'!A0`` in a report would run on the reader's machine
("CSV injection", OWASP). Every CSV dunning writes goes through :func:`csv_writer`, which
prefixes such a cell with ``'`` — the apostrophe spreadsheets take as "this is text" — unless
it is a plain number (``-400.00`` stays a number). Workbooks store text cells as strings
(:mod:`.export`), which Excel never evaluates, so they need no prefix.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = ["csv_writer", "spreadsheet_text"]

#: What makes a spreadsheet read a cell as a formula.
FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_text(value: Any) -> Any:
    """``value`` as a CSV cell that cannot run: text that would start a formula gets a ``'``."""
    if isinstance(value, str) and value[:1] in FORMULA_START and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Writer:
    """A ``csv.writer`` whose every cell passes :func:`spreadsheet_text`."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_text(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: TextIO) -> _Writer:
    """A CSV writer (Unix line ends) that writes no cell a spreadsheet would run."""
    return _Writer(out)
