"""Command line: ``dunning assess`` (more commands arrive with the policy engine)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from . import __version__
from .cases import read_cases
from .delinquency import Assessor
from .errors import CaseError, DunningError
from .report import PortfolioSummary

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dunning`` command; return its exit status (0 ok, 1 rejected input, 2 usage)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.run(args))
    except DunningError as exc:
        print(f"dunning: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dunning", description="Debt collection policy as code.")
    parser.add_argument("--version", action="version", version=f"dunning {__version__}")
    commands = parser.add_subparsers(title="commands", required=True)
    assess = commands.add_parser(
        "assess",
        help="delinquency of each case in a JSON Lines file",
        description="Assess every case of a JSON Lines file: days past due, bucket, overdue "
        "amounts. Bad lines are reported with their line numbers; the rest are still assessed.",
    )
    assess.add_argument("cases", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    assess.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        help="assessment date (YYYY-MM-DD) or aware ISO-8601 datetime; default: today in "
        "Asia/Shanghai",
    )
    assess.add_argument(
        "--format",
        choices=("table", "jsonl"),
        default="table",
        help="a portfolio table (default) or one JSON line per input line",
    )
    assess.add_argument(
        "--penalty-multiplier",
        type=_decimal,
        default=None,
        help="accrue penalty interest at the contract rate × this (e.g. 1.5); default: none",
    )
    assess.set_defaults(run=_run_assess)
    return parser


def _as_of(text: str) -> date | datetime:
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise argparse.ArgumentTypeError(f"{text!r} has no time zone offset")
            return moment
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 date or datetime") from None


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a non-negative number")
    return value


def _run_assess(args: argparse.Namespace) -> int:
    as_of = args.as_of or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assessor = Assessor(penalty_multiplier=args.penalty_multiplier)
    try:
        stream = sys.stdin if args.cases == "-" else open(args.cases, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"dunning: cannot read {args.cases}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    summary = PortfolioSummary(bands=assessor.bands)
    with stream:
        for item in read_cases(stream):
            if isinstance(item, CaseError):
                summary.rejected += 1
                if args.format == "jsonl":
                    sys.stdout.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
                else:
                    print(f"dunning: {item}", file=sys.stderr)
                continue
            assessment = assessor.assess(item, as_of)
            if args.format == "jsonl":
                sys.stdout.write(assessment.model_dump_json() + "\n")
            else:
                summary.add(item.loan.product, assessment)
    if args.format == "table":
        summary.render(sys.stdout, title=f"Delinquency assessment as of {as_of}")
    return EXIT_REJECTED if summary.rejected else EXIT_OK
