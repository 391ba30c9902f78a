"""Rendering a report against deciding what it reports: a page for a million decisions.

    python benchmarks/report.py [--cases 100000] [--quick] [--out results.json]

Decides ``--cases`` generated cases with ``dunning decide --format json`` (reading, deciding,
folding the decisions into the summary, writing its JSON), then renders that summary in every
form — JSON, CSV, Excel, the HTML page in English and in Chinese — as the command line does. A
report holds aggregates, not rows: below 1,000,000 cases the summary is scaled to a million
decisions (every count and amount times 1,000,000 / ``--cases``, exactly what that many copies
of the book would sum to) and deciding a million is the measured time times the same factor;
``--cases 1000000`` decides a million for real. The goal (issue 20): rendering every form takes
less than a tenth of deciding.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from dunning import __version__
from dunning.cli import main as dunning
from dunning.reports.document import build_document
from dunning.reports.export import write_csv, write_xlsx
from dunning.reports.html import render_html
from dunning.reports.locales import locale
from run import AS_OF, OVERDUE_CUSTOMERS, generate

ROOT = Path(__file__).resolve().parent.parent
MILLION = 1_000_000
# Names whose values are not figures: they are not scaled.
_IDENTITY = {"policy", "as_of"}


def scaled(data: Any, factor: int) -> Any:
    """``data`` with every count and amount times ``factor`` (what ``factor`` books sum to)."""
    if isinstance(data, dict):
        return {k: v if k in _IDENTITY else scaled(v, factor) for k, v in data.items()}
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int):
        return data * factor
    if isinstance(data, str):
        try:
            return str(Decimal(data) * factor)
        except ArithmeticError:
            return data
    return data


def render_all(data: dict[str, Any]) -> dict[str, float]:
    """Seconds to render ``data`` in each form (the first HTML pays matplotlib's import)."""
    seconds: dict[str, float] = {}

    def timed(name: str, render: Any) -> None:
        started = time.perf_counter()
        render()
        seconds[name] = time.perf_counter() - started

    timed("json", lambda: json.dumps(data, ensure_ascii=False, indent=2))
    timed("csv", lambda: write_csv(build_document("decisions", data), io.StringIO()))
    english, chinese = locale("en"), locale("zh-CN")
    timed("xlsx", lambda: write_xlsx(build_document("decisions", data), io.BytesIO(), english))
    timed(
        "html (first: imports matplotlib)",
        lambda: render_html(build_document("decisions", data), english),
    )
    timed("html zh-CN", lambda: render_html(build_document("decisions", data), chinese))
    return seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work:
        cases, summary = Path(work) / "cases.jsonl", Path(work) / "summary.json"
        generate(cases, args.cases, args.seed)
        started = time.perf_counter()
        status = dunning(
            [
                "decide",
                "--policy",
                str(ROOT / "rules" / "lender.yaml"),
                "--as-of",
                AS_OF,
                "--overdue-customers",
                str(OVERDUE_CUSTOMERS),
                "--skip-uncovered",
                "--format",
                "json",
                "--out",
                str(summary),
                str(cases),
            ]
        )
        deciding = time.perf_counter() - started
        assert status in (0, 1), status
        data = json.loads(summary.read_text(encoding="utf-8"))
    factor = max(1, MILLION // args.cases)
    million = scaled(data, factor)
    rendering = render_all(million)
    total = sum(rendering.values())
    return {
        "benchmark": "report",
        "cases_decided": args.cases,
        "scaled_to": args.cases * factor,
        "decide_seconds": round(deciding, 3),
        "decide_million_seconds": round(deciding * factor, 3),
        "render_seconds": {k: round(v, 4) for k, v in rendering.items()},
        "render_total_seconds": round(total, 3),
        "ratio": round(total / (deciding * factor), 5),
        "goal": "render every form < 0.1 × deciding 1,000,000",
        "summary_json_bytes": len(json.dumps(million, ensure_ascii=False, indent=2)),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "versions": {"dunning": __version__},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases decided for real")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="5,000 cases")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases = 5_000
    report = run(args)
    print(
        f"deciding {report['cases_decided']:,} cases: {report['decide_seconds']:.1f} s "
        f"(a million: {report['decide_million_seconds']:.1f} s)"
    )
    for name, seconds in report["render_seconds"].items():
        print(f"  render {name:<36}{seconds:>9.3f} s")
    print(
        f"rendering every form for {report['scaled_to']:,} decisions: "
        f"{report['render_total_seconds']:.2f} s = {report['ratio']:.4f} × deciding them "
        "(goal < 0.1)"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
