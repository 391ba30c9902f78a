"""``dunning place`` and ``dunning notice``: the lender's daily placements; events out."""

from __future__ import annotations

import argparse
import sys

from ..agencies import load_agencies
from ..batch import rereadable
from ..errors import ArgumentError, CaseError
from ..placement.history import notice_events, replay
from ..placement.placer import Placer
from ..portfolio import Portfolio
from ..summary import PlacementSummary
from .common import (
    CTRL_C,
    EXIT_OK,
    EXIT_REJECTED,
    Usage,
    batch_figure,
    cases_of,
    debtors_first,
    figure_record,
    load_policy_of,
    moment_of,
    open_cases,
    product_of,
    read_placements,
    reject,
    run_of,
    say_counted,
)
from .output import Report
from .progress import progress


def run_place(args: argparse.Namespace) -> int:
    """``dunning place``: recall and allocate; placement events out."""
    with Report(args) as report:
        return _place(args, report)


def _place(args: argparse.Namespace, report: Report) -> int:
    policy = load_policy_of(args)
    agencies = load_agencies(args.agencies)
    placer = Placer(policy, agencies)
    moment = moment_of(args, policy)
    events = read_placements(args.placements)
    summary = PlacementSummary(targets=placer.targets(args.performance))
    portfolio: Portfolio | None = args.overdue_customers
    jsonl = args.format == "jsonl"
    count = portfolio is None and bool(policy.portfolio_rules)
    with (
        open_cases(args.cases) as given,
        rereadable(given, True) as stream,
        progress("placing", streaming=jsonl) as advance,
    ):
        if count:
            portfolio = batch_figure(policy, stream, moment)
            if jsonl:  # other formats say it in the report
                say_counted(policy, portfolio)
        numbered = cases_of(stream, debtors_first(stream, moment))
        run = placer.stream(
            numbered,
            as_of=moment,
            events=events,
            portfolio=portfolio,
            performance=args.performance,
        )
        for error in run.event_errors:
            summary.rejected += 1
            reject(error, "placements", jsonl)
        for result in run:
            CTRL_C.check()
            advance(1)
            if isinstance(result, CaseError):
                if args.skip_uncovered and result.problems[0].code == "product_not_covered":
                    summary.skipped[product_of(numbered.last)] += 1
                    continue
                summary.rejected += 1
                reject(result, "cases", jsonl)
                continue
            summary.add(result)
            if jsonl:
                for event in result.events:
                    sys.stdout.write(event.model_dump_json() + "\n")
        summary.capacity = run.capacity
    head = {
        **run_of(policy, moment),
        "strategy": policy.ir.placement.strategy,
        "portfolio": figure_record(policy, portfolio, counted=count),
    }
    report.emit(  # --format jsonl: the events are written already
        "placements",
        lambda: {**head, **summary.to_dict()},
    )
    return EXIT_REJECTED if summary.rejected else EXIT_OK


def run_notice(args: argparse.Namespace) -> int:
    """``dunning notice``: what became of the open proposals' notices, as events to append."""
    policy = load_policy_of(args)
    moment = moment_of(args, policy)
    history = replay(read_placements(args.placements), until=moment)
    for error in history.errors:
        reject(error, "placements", True)
    failed = [case_id for given in args.failed for case_id in given.split(",") if case_id]
    try:
        events = notice_events(history, moment, failed)
    except ArgumentError as exc:
        raise Usage(f"--failed: {exc}") from None
    for event in events:
        sys.stdout.write(event.model_dump_json() + "\n")
    bad = sum(e.payload.reason == "failed" for e in events)
    print(
        f"dunning: {len(events) - bad} notice(s) delivered, {bad} failed, of the proposals "
        f"waiting on {moment.date().isoformat()}",
        file=sys.stderr,
    )
    return EXIT_REJECTED if history.errors else EXIT_OK
