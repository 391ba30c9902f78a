"""Where and how a command's output goes: one emitter for table, JSON, JSON lines, CSV, HTML, xlsx.

Every report is computed once as data (its ``to_dict``); :class:`Report` writes it in the form
``--format`` asks for — JSON, or the document of ``dunning.reports`` rendered as text, a page,
CSV or a workbook — to standard output or to ``--out``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, cast

from ..reports.document import build_document
from ..reports.export import write_csv, write_xlsx
from ..reports.locales import locale
from ..reports.text import render_text
from .common import Output, Usage


class Report:
    """Where a command's report goes: standard output, or --out, written only on success.

    A path that cannot be written, or that is one of the command's inputs, fails the command
    before it reads anything; the report is written beside it and renamed over it when the
    command ends well, so a failed run leaves the file as it was (:class:`Output`).
    """

    def __init__(self, args: argparse.Namespace, *, streams: Sequence[str] = ("jsonl",)) -> None:
        self.format: str = args.format
        self.locale = locale(getattr(args, "locale", "en"))
        self.path: str | None = getattr(args, "out", None)
        self.binary = self.format == "xlsx"
        self._output: Output | None = None
        if self.format in ("csv", "json", "jsonl") and self.locale.chinese:
            raise Usage(
                f"--locale names the words of --format table, html and xlsx; --format "
                f"{self.format} is data, keyed by the JSON's names in every locale (a Chinese "
                "spreadsheet: --format xlsx)"
            )
        if self.format == "html":
            need_reports_extra()
        if self.path is not None and self.format in streams:
            raise Usage(f"--out takes a report; --format {self.format} writes standard output")
        if self.path is None and self.binary and sys.stdout.isatty():
            raise Usage("an Excel workbook is binary: give --out FILE.xlsx or redirect the output")
        if self.path is not None:  # kept open for the whole command: closed by __exit__
            self._output = Output(self.path, args, option="--out", binary=self.binary)

    def __enter__(self) -> Report:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._output is not None:
            self._output.__exit__(kind, error, trace)

    @property
    def text(self) -> TextIO:
        """The text stream the report goes to."""
        return cast(TextIO, self._output.file) if self._output is not None else sys.stdout

    def write(self, report: str, data: dict[str, Any]) -> None:
        """Write ``data`` (the report's JSON) in the chosen format."""
        if self.format == "json":
            json.dump(data, self.text, ensure_ascii=False, indent=2)
            self.text.write("\n")
            return
        document = build_document(report, data)
        if self.format in ("table", "text"):
            self.text.write(render_text(document, self.locale))
        elif self.format == "html":
            from ..reports.html import render_html

            self.text.write(render_html(document, self.locale))
        elif self.format == "csv":
            write_csv(document, self.text)
        else:
            buffer = io.BytesIO()
            write_xlsx(document, buffer, self.locale)
            out = self._output.file if self._output is not None else sys.stdout.buffer
            out.write(buffer.getvalue())

    def emit(
        self,
        report: str,
        data: dict[str, Any] | Callable[[], dict[str, Any]],
        *,
        csv: Callable[[TextIO], None] | None = None,
        lines: Iterable[Any] = (),
    ) -> None:
        """Write a run's output in the chosen format.

        Args:
            report: The report's name in ``dunning.reports`` (its document's layout).
            data: Its JSON (or what makes it: only called when needed).
            csv: Writes a command's own CSV form, where it keeps one; else the document's.
            lines: What ``--format jsonl`` writes, one model a line (a run's events).
        """
        if self.format == "jsonl":
            for line in lines:
                self.text.write(line.model_dump_json() + "\n")
        elif self.format == "csv" and csv is not None:
            csv(self.text)
        else:
            self.write(report, data() if callable(data) else data)


def need_reports_extra() -> None:
    """Refuse ``--format html`` when the ``reports`` extra is not installed."""
    import importlib.util

    missing = [m for m in ("jinja2", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        raise Usage(f"--format html needs {' and '.join(missing)}: pip install 'dunning[reports]'")
