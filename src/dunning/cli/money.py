"""The lender's money: settle, reconcile and costs, and reading ledgers and claims."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import BinaryIO, Literal

from ..agencies import load_agencies
from ..batch import Numbered, lines
from ..errors import CaseError, ConfigError
from ..events import read_events
from ..settlement.costs import cost_report
from ..settlement.ledger import LedgerLine, read_ledger, read_ledger_table
from ..settlement.reconcile import read_claim, read_claim_table, reconcile
from ..settlement.statements import Settlement, settle
from ..tabular import parse_columns
from ..terms import load_terms
from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    Usage,
    cases_of,
    checked,
    open_binary,
    open_cases,
    params_of,
)
from .options import snapshot_day
from .output import Report


def table_kind(path: str, given: str | None) -> Literal["jsonl", "csv", "xlsx"]:
    """The format of a ledger or claim file: as given (argparse's choices), else by extension."""
    suffix = Path(path).suffix.lower()
    found = given or {".csv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}.get(suffix, "jsonl")
    return "csv" if found == "csv" else "xlsx" if found == "xlsx" else "jsonl"


def ledger_lines(args: argparse.Namespace, stream: BinaryIO) -> Numbered[LedgerLine | CaseError]:
    """The lines of a ledger (or a bank's payment file): JSON Lines, CSV or a workbook."""
    kind = table_kind(args.ledger, args.ledger_format)
    if kind == "jsonl":
        return read_ledger(lines(stream))
    columns = columns_of(args.ledger_column)
    return read_ledger_table(
        stream,
        columns=columns,
        kind=kind,
        encoding=args.encoding,
        name=args.ledger,
    )


def columns_of(pairs: list[str]) -> dict[str, str]:
    """``FIELD=HEADER`` pairs: which column holds a field."""
    try:
        return parse_columns(pairs)
    except ConfigError as exc:
        raise Usage(str(exc)) from None


def _settlement(args: argparse.Namespace) -> Settlement:
    """Settle the command's inputs (the ledger read as a stream)."""
    policy = load_terms(args.policy, params=params_of(args.param) or None)
    agencies = load_agencies(args.agencies)
    if args.agency is not None and args.agency not in agencies:
        known = ", ".join(a.agency_id for a in agencies)
        raise Usage(f"no agency {args.agency!r} in {args.agencies} ({known})")
    with open_binary(args.events) as events, open_binary(args.ledger) as ledger:
        return settle(
            checked(ledger_lines(args, ledger)),
            events=checked(read_events(lines(events))),
            agencies=agencies,
            policy=policy,
            start=args.start,
            end=args.end,
            period=args.period,
        )


def run_settle(args: argparse.Namespace) -> int:
    """``dunning settle``: commission statements from the ledger and the placements."""
    with Report(args) as report, _settlement(args) as settlement:
        agency = args.agency
        if args.format == "json":  # streamed: a month's ledger lines need not fit in memory
            settlement.write_json(report.text, agency_id=agency)
        elif args.format == "jsonl":
            settlement.write_jsonl(report.text)
        else:
            report.emit(
                "settlement",
                lambda: settlement.to_dict(agency_id=agency),
                csv=lambda out: settlement.write_csv(out, agency_id=agency),
            )
        accounting = settlement.accounting
        rejected = accounting.categories["rejected"].count + settlement.event_error_count
        if rejected and args.format != "jsonl":
            print(
                f"dunning: {rejected} ledger or event lines rejected; "
                "--format jsonl lists each with its reason",
                file=sys.stderr,
            )
        # Commission owed to an agency no contract names: computed, but nobody can pay it yet.
        unknown = sorted({s.agency_id for s in settlement.statements() if s.agency_name is None})
        if unknown:
            print(
                f"dunning: commission owed to {', '.join(unknown)}, which {args.agencies} does "
                "not list: their statements use the policy's rates, with no contract behind "
                "them; add the agencies to the file, or mend the placement events",
                file=sys.stderr,
            )
    return EXIT_REJECTED if rejected or unknown else EXIT_OK


def run_reconcile(args: argparse.Namespace) -> int:
    """``dunning reconcile``: an agency's claim against its statement."""
    with Report(args) as report, _settlement(args) as settlement:
        agency = load_agencies(args.agencies).get(args.agency)
        assert agency is not None  # _settlement checked it
        columns = {**agency.claim_columns, **columns_of(args.column)}
        kind = table_kind(args.claim, args.claim_format)
        with open_binary(args.claim) as stream:
            claim = (
                read_claim(lines(stream))
                if kind == "jsonl"
                else read_claim_table(
                    stream,
                    columns=columns,
                    kind=kind,
                    sheet=args.sheet,
                    encoding=args.encoding,
                    name=args.claim,
                )
            )
            result = reconcile(settlement, checked(claim), agency_id=args.agency)
        # --format csv: a row per line of either side, as before the other forms
        report.emit("reconciliation", result.to_dict, csv=result.write_csv)
        rejected = settlement.accounting.categories["rejected"].count
        rejected += settlement.event_error_count
    if rejected:
        print(
            f"dunning: {rejected} ledger or event lines rejected (dunning settle --format "
            "jsonl lists them)",
            file=sys.stderr,
        )
    return EXIT_OK if result.agrees and not rejected else EXIT_REJECTED


def run_costs(args: argparse.Namespace) -> int:
    """``dunning costs``: what collection cost over a period."""
    if args.start is None or args.end is None:
        raise Usage("dunning costs measures a period: give --from and --to")
    if len(args.snapshot) not in (0, 2):
        raise Usage("roll rates need two --snapshot CASES.jsonl=YYYY-MM-DD, first the earlier")
    policy = load_terms(args.policy, params=params_of(args.param) or None)
    agencies = load_agencies(args.agencies)
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(Report(args))
        snapshots = None
        if args.snapshot:
            dated = []
            for given in args.snapshot:
                path, _, day = given.rpartition("=")
                stream = stack.enter_context(open_binary(path))
                dated.append((cases_of(stream), snapshot_day(day)))
            snapshots = (dated[0], dated[1])
        events = stack.enter_context(open_binary(args.events))
        ledger = stack.enter_context(open_binary(args.ledger))
        cases = stack.enter_context(open_cases(args.cases))
        report = cost_report(
            checked(cases_of(cases)),
            ledger=checked(ledger_lines(args, ledger)),
            events=checked(read_events(lines(events))),
            agencies=agencies,
            policy=policy,
            start=args.start,
            end=args.end,
            snapshots=snapshots,
        )
        # --format csv: every figure, as before the other forms
        output.emit("costs", report.to_dict, csv=report.write_csv)
    return EXIT_REJECTED if report.cases_rejected else EXIT_OK
