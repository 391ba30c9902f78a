"""The decision's commands: decide, explain, assess, test and diff."""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import pickle
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TextIO
from zoneinfo import ZoneInfo

from ..agencies import load_agencies
from ..agency.proceduretests import coverage_items
from ..batch import Numbered, Workers, blocks, count_first, rereadable, result_line
from ..cases import parse_case, read_numbered
from ..debtors import DebtorContacts
from ..delinquency import Assessor
from ..diff import diff_policies
from ..errors import CaseError
from ..model import Case, Decision
from ..placement.placer import Placer
from ..policy import Policy, load_policy, loads_policy
from ..policytests import run_test_files
from ..portfolio import Portfolio
from ..reports.text import report_text
from ..summary import DecisionSummary, PortfolioSummary
from .common import (
    CTRL_C,
    EXIT_OK,
    EXIT_REJECTED,
    Output,
    Usage,
    WorkerFailed,
    batch_figure,
    block_cases,
    cases_of,
    debtors_first,
    figure_record,
    load_policy_of,
    moment_of,
    numbered_cases,
    open_cases,
    open_text,
    overdue_in,
    params_of,
    read_placements,
    reject,
    run_of,
    say_counted,
    shared,
)
from .output import Report
from .progress import progress


def run_decide(args: argparse.Namespace) -> int:
    """``dunning decide``: a decision (or error record) per case line."""
    with Report(args) as report:
        return _decide(args, report)


def _decide(args: argparse.Namespace, report: Report) -> int:
    for option in ("placements", "performance"):
        if getattr(args, option) is not None and args.agencies is None:
            raise Usage(f"--{option} needs --agencies")
    if args.agencies is not None and args.jobs > 1:
        raise Usage(
            "--agencies decides as `dunning place` does, in one allocation over the batch: "
            "it runs in one process (drop --jobs)"
        )
    policy = load_policy_of(args)
    moment = moment_of(args, policy)
    figure: Portfolio | None = args.overdue_customers
    summary = DecisionSummary(bands=policy.ir.bands.labels)
    sink = DecisionSink(args.format, args.skip_uncovered, summary, sys.stdout, sys.stderr)
    count = figure is None and bool(policy.portfolio_rules)
    with (
        open_cases(args.cases) as given,
        rereadable(given, True) as stream,
        progress("deciding", streaming=args.format == "jsonl") as advance,
    ):
        debtors = debtors_first(stream, moment)
        if args.jobs > 1:
            counted: list[Portfolio] = []
            for out, err, part, read in _decide_in_processes(
                args, policy, stream, moment, figure, counted, debtors
            ):
                CTRL_C.check()
                sys.stdout.write(out)
                sys.stderr.write(err)
                summary.merge(part)
                advance(read)
            figure = counted[0] if counted else figure
        else:
            if count:  # the whole file is the batch: its own count first, then it streams
                figure = batch_figure(policy, stream, moment)
                if args.format == "jsonl":  # other formats say it in the report
                    say_counted(policy, figure)
            if args.agencies is not None:
                _decide_placed(args, policy, stream, moment, figure, summary, advance, debtors)
            else:
                _decide_serially(policy, stream, moment, figure, sink, advance, debtors)
    used = figure_record(policy, figure, counted=count)
    report.emit(  # --format jsonl: the lines are written already
        "decisions",
        lambda: {**run_of(policy, moment), "portfolio": used, **summary.to_dict()},
    )
    return EXIT_REJECTED if summary.rejected else EXIT_OK


def _decide_serially(
    policy: Policy,
    stream: BinaryIO,
    moment: datetime,
    figure: Portfolio | None,
    sink: DecisionSink,
    advance: Callable[[int], object],
    debtors: DebtorContacts,
) -> None:
    """Each case decided by the case alone, written as it is decided."""
    numbered = numbered_cases(stream, debtors)
    for line, product, result in decide_lines(policy, numbered, moment, figure):
        sink.take(line, product, result)
        advance(1)


def _decide_placed(
    args: argparse.Namespace,
    policy: Policy,
    stream: BinaryIO,
    moment: datetime,
    figure: Portfolio | None,
    summary: DecisionSummary,
    advance: Callable[[int], object],
    debtors: DebtorContacts,
) -> None:
    """``decide --agencies``: each case decided as ``place`` decides it, no event written.

    The placer gives the cases sent out last (allocation is the batch's): the other lines wait
    on disk and all are written in input order at the end.
    """
    placer = Placer(policy, load_agencies(args.agencies))
    products: dict[int, str | None] = {}  # the cases read whose result has not come yet

    def noted() -> Iterator[tuple[int, Case | CaseError]]:
        for index, (line, item) in enumerate(numbered_cases(stream, debtors)):
            products[index] = None if isinstance(item, CaseError) else item.loan.product.value
            yield line, item

    run = placer.stream(
        Numbered(noted()),
        as_of=moment,
        events=read_placements(args.placements),
        portfolio=figure,
        performance=args.performance,
    )
    jsonl = args.format == "jsonl"
    for error in run.event_errors:
        summary.rejected += 1
        reject(error, "placements", jsonl)
    text = io.StringIO()
    sink = DecisionSink(args.format, args.skip_uncovered, summary, text, sys.stderr)
    with InputOrder(sys.stdout) as ordered:
        for index, result in run.indexed():
            CTRL_C.check()
            decided = result if isinstance(result, CaseError) else result.decision
            sink.take(result.line or index + 1, products.pop(index), decided)
            if text.tell():
                (ordered.last if run.allocating else ordered.early)(index, text.getvalue())
                text.seek(0)
                text.truncate()
            advance(1)


class InputOrder:
    """Texts written in the order of their inputs, though some come last.

    Those that come in order are spilled to a temporary file as they come; those that come
    last (the cases a placement run sends out) are held, as ``place`` holds their cases; at
    the end of the ``with`` block all are written to ``out`` in input order.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.spill = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 - closed on exit
        self.late: dict[int, str] = {}

    def __enter__(self) -> InputOrder:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if error is None:
                self._write()
        finally:
            self.spill.close()

    def early(self, index: int, text: str) -> None:
        """The text of input ``index``, which comes after every earlier early one."""
        self.spill.write(f"{index} {len(text)}\n{text}")

    def last(self, index: int, text: str) -> None:
        """The text of input ``index``, which came after all the early ones."""
        self.late[index] = text

    def _write(self) -> None:
        waiting = iter(sorted(self.late))
        upcoming = next(waiting, None)
        self.spill.seek(0)
        for header in iter(self.spill.readline, ""):
            index, size = map(int, header.split())
            while upcoming is not None and upcoming < index:
                self.out.write(self.late.pop(upcoming))
                upcoming = next(waiting, None)
            self.out.write(self.spill.read(size))
        while upcoming is not None:
            self.out.write(self.late.pop(upcoming))
            upcoming = next(waiting, None)


def decide_lines(
    policy: Policy,
    numbered: Iterable[tuple[int, Case | CaseError]],
    moment: datetime,
    portfolio: Portfolio | None,
) -> Iterator[tuple[int, str | None, Decision | CaseError]]:
    """Decide numbered cases: (line, product, decision or error), in input order."""
    # decide_many yields one result per input, in order: remember each input's line and product
    # as it goes in, and take them back as its result comes out.
    pending: deque[tuple[int, str | None]] = deque()

    def feed() -> Iterator[Case | CaseError]:
        for line, item in numbered:
            pending.append((line, None if isinstance(item, CaseError) else item.loan.product.value))
            yield item

    for result in policy.decide_many(feed(), as_of=moment, portfolio=portfolio):
        CTRL_C.check()
        line, product = pending.popleft()
        if isinstance(result, CaseError) and result.line is None:
            result.line = line
        yield line, product, result


class DecisionSink:
    """Writes results in order (JSON lines) or folds them into the table summary."""

    def __init__(
        self,
        output_format: str,
        skip_uncovered: bool,
        summary: DecisionSummary,
        out: TextIO,
        err: TextIO,
    ) -> None:
        self.jsonl, self.skip_uncovered = output_format == "jsonl", skip_uncovered
        self.summary, self.out, self.err = summary, out, err

    def take(self, line: int, product: str | None, result: Decision | CaseError) -> None:
        """One result: written (JSON lines) and counted in the summary."""
        if isinstance(result, Decision):
            assert product is not None
            self.summary.add(product, result)
            if self.jsonl:
                self.out.write(result.model_dump_json() + "\n")
            return
        if self.skip_uncovered and result.problems[0].code == "product_not_covered":
            self.summary.skip(product or "?")
            if self.jsonl:
                record = {
                    "line": line,
                    "case_id": result.case_id,
                    "skipped": result.problems[0].message,
                }
                self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
            return
        self.summary.rejected += 1
        if self.jsonl:
            self.out.write(result_line(result) + "\n")
        else:
            print(f"dunning: {result}", file=self.err)


# --- decide --jobs N: each worker process decides whole blocks with its own copy of the policy

_worker_policy: Policy | None = None  # each worker process's own copy of the policy
_worker_failure: str | None = None  # why a worker could not load it
_worker_debtors: DebtorContacts | None = None  # the batch's contacts by borrower


def worker_start(
    content: bytes,
    name: str,
    engine: str,
    params: dict[str, str],
    debtors: str | None = None,
) -> None:
    """Load the policy in a worker process (the pool's initializer).

    ``debtors`` is the file of the batch's contacts by borrower (``None``: none to share).
    """
    # The bytes the parent compiled, never the path again: a pipe (<(cat X)) reads empty the
    # second time, and an edited file would decide under the parent's digest.
    global _worker_policy, _worker_failure, _worker_debtors
    try:
        if debtors is not None:
            with open(debtors, "rb") as shared_file:
                _worker_debtors = pickle.load(shared_file)
        _worker_policy = loads_policy(content, name=name, engine=engine, params=params or None)
    except Exception as exc:
        _worker_failure = f"{type(exc).__name__}: {exc}"


def _worker_ready() -> Policy:
    if _worker_policy is None:
        raise WorkerFailed(f"a worker process could not load the policy: {_worker_failure}")
    return _worker_policy


def worker_overdue(block: bytes, moment: datetime) -> set[str]:
    """The overdue borrowers of one block, counted in a worker."""
    return overdue_in(_worker_ready(), block, moment)


def worker_decide(
    first: int,
    block: bytes,
    moment: datetime,
    portfolio: Portfolio | None,
    sink_options: tuple[str, bool],
) -> tuple[str, str, DecisionSummary, int]:
    """Decide one block: its output text, its messages, its part of the summary, its cases."""
    policy = _worker_ready()
    out, err, summary = io.StringIO(), io.StringIO(), DecisionSummary()
    sink = DecisionSink(*sink_options, summary, out, err)
    read = 0
    numbered = shared(block_cases(first, block), _worker_debtors)
    for line, product, result in decide_lines(policy, numbered, moment, portfolio):
        sink.take(line, product, result)
        read += 1
    return out.getvalue(), err.getvalue(), summary, read


def _decide_in_processes(
    args: argparse.Namespace,
    policy: Policy,
    stream: BinaryIO,
    moment: datetime,
    figure: Portfolio | None,
    counted: list[Portfolio],
    debtors: DebtorContacts,
) -> Iterator[tuple[str, str, DecisionSummary, int]]:
    """Decide in worker processes; a figure counted over the input is put in ``counted``."""
    # The contacts by borrower go through a file (owner-only, removed after the run), not the
    # pipe that starts each worker: a worker killed while it starts must not leave the parent
    # writing a large pickle to nobody.
    shared_file = contextlib.ExitStack()
    path = None
    if debtors:
        handle = shared_file.enter_context(tempfile.NamedTemporaryFile(prefix="dunning-"))  # noqa: SIM115
        pickle.dump(debtors, handle)
        handle.flush()
        path = handle.name
    init = (policy.content, args.policy, args.engine, params_of(args.param), path)
    with shared_file, Workers(args.jobs, worker_start, init) as workers:
        if figure is None and policy.portfolio_rules:
            # The batch's own count needs every case first: a first pass over the file, in
            # parallel as well, then the file again from the start.
            overdue = functools.partial(worker_overdue, moment=moment)
            figure = Portfolio(count_first(stream, overdue, workers))
            if args.format == "jsonl":  # other formats say it in the report
                say_counted(policy, figure)
            counted.append(figure)
        options = (args.format, args.skip_uncovered)
        jobs = ((first, block, moment, figure, options) for first, block in blocks(stream))
        yield from workers.ordered(worker_decide, jobs)


def run_explain(args: argparse.Namespace) -> int:
    """``dunning explain``: why one case gets its decision."""
    policy = load_policy_of(args)
    moment = moment_of(args, policy)
    with open_text(args.case) as stream:
        text = stream.read()
    if args.overdue_customers is None and policy.portfolio_rules:
        raise Usage(
            f"policy {policy.name!r} reads the portfolio figure overdue_customers (rules "
            f"{', '.join(policy.portfolio_rules)}): give --overdue-customers N"
        )
    if args.placements is not None and args.agencies is None:
        raise Usage("--placements needs --agencies")
    placer = None if args.agencies is None else Placer(policy, load_agencies(args.agencies))
    events = read_placements(args.placements)
    bad = [e for e in events if isinstance(e, CaseError)]
    if bad:
        raise Usage(f"{args.placements}: {bad[0]}")
    try:
        case = one_case(text, args.case_id)
        placed = None
        if placer is None:
            explanation = policy.explain(case, as_of=moment, portfolio=args.overdue_customers)
        else:
            # The head is the decision the case gets on this run (the placement's), its rules
            # traced as the events place the case.
            explanation = placer.trace(
                case, as_of=moment, events=events, portfolio=args.overdue_customers
            )
            placed = placer.explain(
                case, as_of=moment, events=events, portfolio=args.overdue_customers
            )
    except CaseError as error:
        print(f"dunning: {error}", file=sys.stderr)
        return EXIT_REJECTED
    print(explanation.render())
    if placed is not None:
        print()
        print(placed.render())
    return EXIT_OK


def one_case(text: str, case_id: str | None) -> Case:
    """The case to explain: the file's one case, or the one with ``case_id`` among its lines."""
    if case_id is None:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines):
            raise Usage(f"the file holds {len(lines)} cases: choose one with --case-id")
        return parse_case(text)
    for _, item in read_numbered(text.splitlines()):
        if isinstance(item, Case) and item.case_id == case_id:
            return item
        if isinstance(item, CaseError) and item.case_id == case_id:
            raise item
    raise Usage(f"no case {case_id!r} in the file")


def run_assess(args: argparse.Namespace) -> int:
    """``dunning assess``: the delinquency of each case."""
    as_of = args.as_of or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assessor = Assessor(penalty_multiplier=args.penalty_multiplier)
    summary = PortfolioSummary(bands=assessor.bands)
    with open_cases(args.cases) as stream:
        for item in cases_of(stream):
            if isinstance(item, CaseError):
                summary.rejected += 1
                if args.format == "jsonl":
                    sys.stdout.write(result_line(item) + "\n")
                else:
                    print(f"dunning: {item}", file=sys.stderr)
                continue
            assessment = assessor.assess(item, as_of)
            if args.format == "jsonl":
                sys.stdout.write(assessment.model_dump_json() + "\n")
            else:
                summary.add(item.loan.product, assessment)
    if args.format == "table":
        data = {
            "as_of": str(as_of),
            "penalty_multiplier": None
            if args.penalty_multiplier is None
            else str(args.penalty_multiplier),
            **summary.to_dict(),
        }
        sys.stdout.write(report_text("assessment", data))
    return EXIT_REJECTED if summary.rejected else EXIT_OK


def analyst_test_files(paths: list[str]) -> list[Path]:
    """The ``*.tests.yaml`` files named, or those of a folder named."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(sorted(path.glob("*.tests.yaml")))
        elif path.exists():
            files.append(path)
        else:
            raise Usage(f"no such file or folder: {name}")
    if not files:
        raise Usage("no test files (*.tests.yaml) found")
    return files


def run_test(args: argparse.Namespace) -> int:
    """``dunning test``: run analyst test files and report rule coverage."""
    results = run_test_files(analyst_test_files(args.paths), engine=args.engine)
    out = sys.stdout
    diagnostics = [d for r in results for d in r.diagnostics]
    for diagnostic in diagnostics:
        print(diagnostic, file=out)
    tests = sum(len(r.outcomes) for r in results)
    failed = sum(not o.passed for r in results for o in r.outcomes)
    print(f"{tests} test(s), {failed} failed", file=out)
    covered: dict[str, str] = {}
    for result in results:
        if result.procedure is not None:
            total = len(coverage_items(result.procedure))
            covered[result.procedure.path or str(result.path)] = (
                f"coverage of {result.procedure.path}: {total - len(result.uncovered())}/{total} "
                "obligations and checks"
            )
        if result.policy is not None:
            ir = result.policy.ir
            total = sum(len(g) for g in ir.groups.values()) - len(ir.unreachable)
            total += len(ir.agency.assignment)
            line = f"coverage of {ir.files[0]}: {total - len(result.uncovered())}/{total} rules"
            if ir.unreachable:
                line += (
                    f" (not counted, no valid case reaches: {', '.join(sorted(ir.unreachable))})"
                )
            if any(
                r.policy is not None and r.policy.ir.files[0] == ir.files[0] and not r.complete
                for r in results
            ):
                line += "; some tests could not run, so more rules may be reached"
            covered[ir.files[0]] = line
    for line in covered.values():
        print(line, file=out)
    uncovered = any(r.uncovered() for r in results)
    if any(r.failed for r in results) or (args.strict and uncovered):
        return EXIT_REJECTED
    return EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    """``dunning diff``: what would change between two policies over one book."""
    if len(args.files) > 2:
        raise Usage("dunning diff takes OLD [NEW] CASES")
    new_path, cases = (args.old, args.files[0]) if len(args.files) == 1 else args.files
    params = params_of(args.param)
    if len(args.files) == 1 and not params:
        raise Usage("give a second policy, or --param values for a what-if of the first")
    old = load_policy(args.old, engine=args.engine)
    new = load_policy(new_path, engine=args.engine, params=params or None)
    moment = moment_of(args, old)
    portfolio: Portfolio | None = args.overdue_customers
    with contextlib.ExitStack() as opened:
        # The output files are opened first: a path that cannot be written fails before the work.
        report = opened.enter_context(Report(args))
        changed = Output(args.changed, args, option="--changed") if args.changed else None
        out = opened.enter_context(changed).file if changed is not None else None
        given = opened.enter_context(open_cases(cases))
        count = portfolio is None and bool(old.portfolio_rules or new.portfolio_rules)
        stream = opened.enter_context(rereadable(given, count))
        result = diff_policies(
            old,
            new,
            numbered_cases(stream),
            as_of=moment,
            skip_uncovered=args.skip_uncovered,
            **_diff_figures(old, new, stream, moment, portfolio),
        )
        if out is not None:
            for change in result.changes:
                out.write(json.dumps(change.to_dict(), ensure_ascii=False) + "\n")

        report.emit("diff", result.to_dict)
        if out is not None and args.format == "text":
            print(
                f"{len(result.changes)} changed case(s) written to {args.changed}", file=report.text
            )
    return EXIT_OK


def _diff_figures(
    old: Policy, new: Policy, stream: BinaryIO, moment: datetime, figure: Portfolio | None
) -> dict[str, Portfolio | None]:
    """The portfolio figures of a diff: the one given, or each policy's own count of the file.

    Counted in a first pass over the file, which is then read again from the start.
    """
    if figure is not None:
        return {"portfolio": figure, "new_portfolio": None}
    counts: list[Portfolio | None] = []
    for policy in (old, new):
        if not policy.portfolio_rules:
            counts.append(None)
            continue
        counts.append(batch_figure(policy, stream, moment))
    return {"portfolio": counts[0], "new_portfolio": counts[1]}
