"""The agency's month: intake, assign, handover, export/verify/import, audit, performance."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ..agency.assign import HandoverFailed, assign, handover
from ..agency.audit import audit
from ..agency.bundle import export_bundle, import_bundle, verify_bundle
from ..agency.collectors import load_collectors
from ..agency.intake import IntakeFailed, format_of, intake
from ..agency.procedure import load_procedure
from ..batch import bounded_lines
from ..errors import CaseError
from ..policy import load_policy
from ..rules.ir import IntakeSettings
from ..settlement.ledger import LedgerLine
from ..summary import render_intake
from ..tabular import parse_columns
from .common import (
    EXIT_OK,
    EXIT_REJECTED,
    Usage,
    cases_of,
    checked,
    load_policy_of,
    moment_of,
    open_binary,
    open_cases,
    reject,
)
from .money import ledger_lines
from .output import Report


def run_intake(args: argparse.Namespace) -> int:
    """``dunning intake``: take a bank's file into the store, with verified backups."""
    settings = load_policy(args.policy).ir.agency.intake if args.policy else IntakeSettings()
    if args.procedure:  # the process starts only once the bank's agreement is filed
        terms = load_procedure(args.procedure).banks.get(args.bank)
        if terms is None or not terms.agreement:
            raise Usage(
                f"no agreement with {args.bank} is filed in {args.procedure} (banks: "
                f"{args.bank}: agreement): its cases are not taken in before it is"
            )
    kind = args.input_format or format_of(Path(args.bank_file))
    layout = settings.banks.get(args.bank) if kind != "jsonl" else None
    # The policy's layout of the bank's sheets, with what the command line adds or changes.
    columns = {**(layout.columns if layout else {}), **parse_columns(args.column)}
    defaults = {**(layout.defaults if layout else {}), **settings_of(args.defaults)}
    try:
        result = intake(
            args.bank_file,
            bank=args.bank,
            received_at=args.received_at,
            store=args.store,
            backups=_backups(args.backup),
            target_minutes=settings.within_minutes,
            required_backups=settings.backups,
            file_format=kind,
            columns=columns,
            defaults=defaults,
            sheet=args.sheet,
            encoding=args.encoding,
            actor=args.actor,
        )
    except IntakeFailed as exc:
        print(f"dunning: the intake failed: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    payload = result.event.payload
    if args.format == "jsonl":
        if result.new:
            with result.events_file.open("rb") as events:
                shutil.copyfileobj(events, sys.stdout.buffer)
        else:
            print(
                f"dunning: batch {payload.batch_id} was taken in before: no new events (the "
                f"batch's events are {result.events_file}, appended to the log the first time)",
                file=sys.stderr,
            )
    elif args.format == "json":
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        render_intake(result, sys.stdout)
    return EXIT_REJECTED if payload.rejected or payload.late else EXIT_OK


def _backups(given: Sequence[str]) -> list[str] | dict[str, str]:
    """``--backup DIR`` or ``--backup SITE=DIR`` (all named, or none)."""
    named = [g.partition("=") for g in given]
    if not any(sep for _, sep, _ in named):
        return list(given)
    if not all(sep and site.strip() and path for site, sep, path in named):
        raise Usage("name every backup's site (--backup branch=DIR), or none")
    sites = {site.strip(): path for site, _, path in named}
    if len(sites) != len(named):
        raise Usage("each backup site is named once")
    return sites


def settings_of(pairs: Sequence[str]) -> dict[str, str]:
    """``--set FIELD=VALUE`` pairs: values for fields the sheet leaves out."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise Usage(f"--set takes FIELD=VALUE, not {pair!r}")
        values[name.strip()] = value.strip()
    return values


def run_assign(args: argparse.Namespace) -> int:
    """``dunning assign``: a collector for each case, by the assignment rules."""
    policy = load_policy_of(args)
    collectors = load_collectors(args.collectors)
    moment = moment_of(args, policy)
    with open_cases(args.cases) as stream:
        run = assign(
            checked(cases_of(stream)),
            policy=policy,
            collectors=collectors,
            events=args.events or (),
            as_of=moment,
            actor=args.actor,
        )
    jsonl = args.format == "jsonl"
    for error in run.event_errors:
        reject(error, "events", jsonl)
    rejected = len(run.event_errors)
    for result in run.results:
        if isinstance(result, CaseError):
            rejected += 1
            reject(result, "cases", jsonl)
    with Report(args) as report:
        report.emit(
            "assignment", lambda: {"as_of": moment.isoformat(), **run.to_dict()}, lines=run.events
        )
    return EXIT_REJECTED if rejected else EXIT_OK


def run_handover(args: argparse.Namespace) -> int:
    """``dunning handover``: a departing collector's open cases to the receivers."""
    collectors = load_collectors(args.collectors)
    policy = load_policy(args.policy) if args.policy else None
    if (policy is None) != (args.cases is None):
        raise Usage("--policy and --cases go together (each case's needs and next action)")
    moment: datetime
    if policy is not None:
        moment = moment_of(args, policy)
    elif isinstance(args.as_of, datetime):
        moment = args.as_of
    elif args.as_of is None:
        moment = datetime.now().astimezone().replace(microsecond=0)
    else:
        raise Usage("--as-of needs a time with its offset without --policy")
    with contextlib.ExitStack() as stack:
        cases: Iterable[Any] = ()
        if args.cases is not None:
            cases = cases_of(stack.enter_context(open_cases(args.cases)))
        try:
            run = handover(
                departing=args.departing,
                to=args.to,
                collectors=collectors,
                events=args.events,
                as_of=moment,
                policy=policy,
                cases=cases,
                actor=args.actor,
            )
        except HandoverFailed as exc:
            print(f"dunning: {exc}", file=sys.stderr)
            return EXIT_REJECTED
    if args.sheets is not None:
        run.write_sheets(args.sheets)
    jsonl = args.format == "jsonl"
    for error in run.event_errors:
        reject(error, "events", jsonl)
    with Report(args) as report:
        report.emit("handover", run.to_dict, lines=run.events)
    return EXIT_REJECTED if run.event_errors else EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    """``dunning export``: batches and their events in one archive with checksums."""
    made = export_bundle(
        args.store, args.bundle, events=args.events, batches=args.batch, bank=args.bank
    )
    print(
        f"{made.path}: {len(made.batches)} batch(es), {made.cases:,} cases, {made.events:,} events"
    )
    print(f"  {made.digest}")
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """``dunning verify``: an archive against its checksums."""
    problems = verify_bundle(args.bundle)
    for problem in problems:
        print(f"{args.bundle}: {problem}")
    if not problems:
        print(f"{args.bundle}: verified")
    return EXIT_REJECTED if problems else EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    """``dunning import``: a verified archive unpacked into an empty store."""
    if verify_bundle(args.bundle):
        return run_verify(args)
    made = import_bundle(args.bundle, args.into)
    print(
        f"{args.into}: {len(made.batches)} batch(es), {made.cases:,} cases, {made.events:,} events"
    )
    return EXIT_OK


def run_audit(args: argparse.Namespace) -> int:
    """``dunning audit``: the event log held to the procedure file."""
    procedure = load_procedure(args.procedure)
    staff = load_collectors(args.collectors) if args.collectors else None
    moment = args.as_of or datetime.now(procedure.zone).replace(microsecond=0)
    with Report(args) as report:
        with open_binary(args.events) as stream:
            found = audit(
                bounded_lines(stream),
                procedure=procedure,
                as_of=moment,
                start=args.start,
                end=args.end,
                staff=staff,
            )
        report.emit("audit", found.to_dict)
    return EXIT_REJECTED if found.errors or found.event_errors else EXIT_OK


def run_performance(args: argparse.Namespace) -> int:
    """``dunning performance``: the week's or month's report per collector, team, bank."""
    from ..agency.performance import performance

    procedure = load_procedure(args.procedure)
    moment = args.as_of or datetime.now(procedure.zone).replace(microsecond=0)
    period: Literal["week", "month", "range"]
    if args.week is not None:
        period, (start, end) = "week", args.week
    elif args.month is not None:
        period, (start, end) = "month", args.month
    else:
        if args.end is None or args.end < args.start:
            raise Usage("--from needs --to, on or after it")
        period, start, end = "range", args.start, args.end
    teams = names = staff = None
    if args.collectors is not None:
        staff = load_collectors(args.collectors)
        teams = {c.collector_id: c.team for c in staff if c.team}
        names = {c.collector_id: c.name for c in staff}
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(Report(args))
        payments: Iterable[LedgerLine | CaseError] = ()
        if args.ledger is not None:
            stream = stack.enter_context(open_binary(args.ledger))
            payments = ledger_lines(args, stream)
        events = stack.enter_context(open_binary(args.events))
        report = performance(
            bounded_lines(events),
            procedure=procedure,
            as_of=moment,
            start=start,
            end=end,
            period=period,
            payments=payments,
            teams=teams,
            currency=args.currency,
            names=names,
            staff=staff,
        )
        # --format csv: a line per row, as before the other forms
        output.emit("performance", report.to_dict, csv=report.write_csv)
    unreadable = report.audit.event_errors or report.payment_errors
    return EXIT_REJECTED if unreadable else EXIT_OK
