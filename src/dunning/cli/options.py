"""The options several commands share, each defined once, and the types of option values."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from ..errors import ConfigError
from ..model import check_as_of
from ..portfolio import Portfolio
from ..reports.locales import LOCALES
from .common import Usage

#: The help of ``--param`` where it overrides the policy's own parameters.
PARAM_HELP = "override a parameter's default (lists comma-separated); repeatable"


def param_option(parser: argparse.ArgumentParser, help: str = PARAM_HELP) -> None:
    """``--param NAME=VALUE``, repeatable (read with :func:`~dunning.cli.common.params_of`)."""
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help=help)


def figure_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--overdue-customers``: the portfolio figure, whole or per product."""
    parser.add_argument(
        "--overdue-customers",
        type=portfolio_figure,
        default=None,
        metavar="N | PRODUCT=N,...",
        help=help,
    )


def policy_options(parser: argparse.ArgumentParser) -> None:
    """--policy, --as-of, --param and --engine: the policy a command decides with."""
    parser.add_argument("--policy", required=True, help="the policy's rule file")
    as_of_option(parser, "decision moment")
    param_option(parser)
    engine_option(parser)


def as_of_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--as-of: a moment read in the policy's time zone (``what`` it is), default now."""
    parser.add_argument(
        "--as-of",
        type=as_of_moment,
        default=None,
        help=f"{what}: YYYY-MM-DD or an ISO 8601 datetime with offset; "
        "default: now in the policy's time zone",
    )


REPORT_FORMATS = ("json", "html", "csv", "xlsx")


def report_options(
    parser: argparse.ArgumentParser, formats: Sequence[str], default: str, help: str | None = None
) -> None:
    """--format, --out and --locale: how and where a command's report is written."""
    parser.add_argument("--format", choices=formats, default=default, help=help)
    parser.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="write the report to FILE instead of standard output",
    )
    parser.add_argument(
        "--locale",
        choices=LOCALES,
        default="en",
        help="the words of --format table, html and xlsx (default en)",
    )


def money_options(parser: argparse.ArgumentParser, *, periods: bool = True) -> None:
    """The inputs of settle, reconcile and costs: policy, agencies, events, range, ledger."""
    parser.add_argument("--policy", required=True, help="the policy (currency, grace_days)")
    param_option(parser)
    parser.add_argument("--agencies", required=True, help="the agencies file (YAML)")
    parser.add_argument(
        "--events",
        required=True,
        metavar="EVENTS.jsonl",
        help="the placement events (the output of dunning place, and the host's own)",
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the first day to settle (default: no bound)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the last day to settle (default: no bound)",
    )
    if periods:
        parser.add_argument(
            "--period",
            choices=("month", "week", "range"),
            default="month",
            help="a statement per calendar month, ISO week, or one for the whole --from/--to range",
        )
    ledger_options(parser)


def ledger_options(parser: argparse.ArgumentParser) -> None:
    """How to read a ledger (or a bank's payment file) that is a table."""
    parser.add_argument(
        "--ledger-format",
        choices=("jsonl", "csv", "xlsx"),
        default=None,
        help="the ledger's format (default: by its extension; JSON Lines otherwise)",
    )
    parser.add_argument(
        "--ledger-column",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help="the ledger table's column for a field (reference, case_id, loan_id, date, amount, "
        "currency, reverses, note); repeatable",
    )
    parser.add_argument("--encoding", default="utf-8", help="of CSV files (e.g. gb18030)")


def engine_option(parser: argparse.ArgumentParser) -> None:
    """--engine: which rule engine decides (both decide alike)."""
    parser.add_argument(
        "--engine",
        choices=("compiled", "rete"),
        default="compiled",
        help="the rule engine (both decide alike; default: compiled)",
    )


def aware(text: str) -> datetime:
    """An ISO 8601 time with its offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone offset")
    return moment


def day(text: str) -> date:
    """A date ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def as_of_moment(text: str) -> date | datetime:
    """``--as-of``: a date, or an ISO 8601 time with its offset, in the years allowed."""
    try:
        moment: date | datetime
        if "T" in text:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise argparse.ArgumentTypeError(f"{text!r} has no time zone offset")
        else:
            moment = date.fromisoformat(text)
        check_as_of(moment)
        return moment
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 date or datetime") from None


def decimal_value(text: str) -> Decimal:
    """A finite number ≥ 0."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a non-negative number")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 0")
    return int(text)


def portfolio_figure(text: str) -> Portfolio:
    """``N``, or ``product=N,product=N``: the overdue-customers figure, whole or per product."""
    try:
        if "=" not in text:
            return Portfolio(_count(text.strip()))
        figures = {}
        for part in text.split(","):
            product, sep, count = part.partition("=")
            if not sep:
                raise argparse.ArgumentTypeError(f"{part!r} is not product=N")
            figures[product.strip()] = _count(count.strip())
        return Portfolio(figures)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def performance_rates(text: str) -> dict[str, Decimal]:
    """``AGENCY=RATE,...``: each agency's recovery rate, for the performance strategy."""
    rates = {}
    for part in text.split(","):
        agency, sep, rate = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{part!r} is not AGENCY=RATE")
        rates[agency.strip()] = decimal_value(rate.strip())
    return rates


def positive(text: str) -> int:
    """A whole number ≥ 1."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 1")
    return int(text)


#: More worker processes than this only share the same cores and memory.
MAX_JOBS = max(4, 4 * (os.cpu_count() or 1))


def jobs_count(text: str) -> int:
    """``--jobs``: worker processes, at most :data:`MAX_JOBS`."""
    jobs = positive(text)
    if jobs > MAX_JOBS:
        raise argparse.ArgumentTypeError(
            f"{jobs} worker processes is more than 4 per CPU of this machine (at most {MAX_JOBS})"
        )
    return jobs


def iso_week(text: str) -> tuple[date, date]:
    """``--week YYYY-Www``: the ISO week's Monday and Sunday."""
    try:
        monday = date.fromisoformat(f"{text}-1" if len(text) == 8 else text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO week YYYY-Www") from None
    if len(text) != 8 or monday.weekday() != 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO week YYYY-Www")
    return monday, monday + timedelta(days=6)


def month_span(text: str) -> tuple[date, date]:
    """``--month YYYY-MM``: the month's first and last day."""
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM") from None
    if len(text) != 7:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def snapshot_day(text: str) -> date:
    """The day of a ``--snapshot CASES=DAY`` (a usage error if it is not a date)."""
    try:
        return day(text)
    except argparse.ArgumentTypeError as exc:
        raise Usage(f"--snapshot takes CASES.jsonl=YYYY-MM-DD: {exc}") from None
