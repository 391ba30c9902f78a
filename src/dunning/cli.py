"""Command line: ``dunning check | decide | explain | assess | schema``."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import multiprocessing.pool
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, TypeVar, cast
from zoneinfo import ZoneInfo

from . import __version__
from .agencies import (
    agencies_json_schema,
    check_agencies_file,
    is_agencies_file,
    load_agencies,
)
from .agency.assign import HandoverFailed, assign, handover
from .agency.audit import audit
from .agency.bundle import export_bundle, import_bundle, verify_bundle
from .agency.collectors import (
    check_collectors_file,
    collectors_json_schema,
    is_collectors_file,
    load_collectors,
)
from .agency.intake import IntakeFailed, format_of, intake
from .agency.procedure import check_procedure_file, is_procedure_file, load_procedure
from .cases import parse_case, read_numbered
from .delinquency import Assessor
from .diff import diff_policies
from .errors import CaseError, ConfigError, Diagnostic, DunningError, PolicyError
from .events import Event, event_json_schema, read_events
from .model import Case, Decision, check_as_of
from .placement.placer import Placer
from .policy import Policy, check_file, load_policy, loads_policy
from .policytests import run_test_files
from .portfolio import Portfolio
from .reports.document import build_document
from .reports.export import write_csv, write_xlsx
from .reports.locales import LOCALES, locale
from .rules.ir import IntakeSettings
from .settlement.costs import cost_report
from .settlement.ledger import LedgerLine, read_ledger, read_ledger_table
from .settlement.reconcile import ClaimLine, read_claim, read_claim_table, reconcile
from .settlement.statements import Settlement, settle
from .summary import (
    DecisionSummary,
    PlacementSummary,
    PortfolioSummary,
    render_assignment,
    render_costs,
    render_handover,
    render_intake,
    render_performance,
    render_reconciliation,
    render_settlement,
)
from .tabular import parse_columns

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
#: As a shell reports a command ended by SIGINT (Ctrl-C) or SIGPIPE: 128 + the signal.
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141


class _Usage(Exception):
    """A usage error detected after argument parsing (exit 2)."""


class _Interrupt:
    """Whether Ctrl-C was pressed during the command (see :func:`_ctrl_c`)."""

    seen = False

    def check(self) -> None:
        """Stop here if Ctrl-C was pressed and the interrupt got lost on the way."""
        if self.seen:
            raise KeyboardInterrupt


_CTRL_C = _Interrupt()


@contextlib.contextmanager
def _ctrl_c() -> Iterator[None]:
    """Ctrl-C that no C extension can swallow.

    A KeyboardInterrupt raised while C code calls back into Python (pydantic-core serialising a
    ``Decimal``, say) is reported as "Exception ignored" and dropped: the run would go on to
    the end. The handler also remembers the interrupt; the command's loops stop at the next case
    (:meth:`_Interrupt.check`), and the hook keeps the dropped exception's noise off the screen.
    """
    _CTRL_C.seen = False
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook

    def interrupted(signum: int, frame: Any) -> None:
        _CTRL_C.seen = True
        raise KeyboardInterrupt

    def unraisable(what: Any) -> None:
        if isinstance(what.exc_value, KeyboardInterrupt):
            _CTRL_C.seen = True
            return
        hook(what)

    signal.signal(signal.SIGINT, interrupted)
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dunning`` command; return its exit status.

    0 ok, 1 rejected input, 2 usage; 130 interrupted (Ctrl-C), 141 output closed (``| head``).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        with _ctrl_c():
            status = int(args.run(args))
        if _CTRL_C.seen:  # swallowed by C code on the way: said here
            raise KeyboardInterrupt
        return status
    except BrokenPipeError:
        # The reader went away (| head): nothing more can be said to it. Standard output is
        # pointed at /dev/null so that the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    except KeyboardInterrupt:
        print("dunning: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (_Usage, _WorkerFailed) as exc:
        print(f"dunning: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PolicyError as exc:
        _print_diagnostics(exc.diagnostics, sys.stderr)
        return EXIT_REJECTED
    except DunningError as exc:
        print(f"dunning: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception:
        if not _CTRL_C.seen:
            raise
        # Ctrl-C came while C code ran Python (pydantic-core turns it into its own error).
        print("dunning: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dunning", description="Debt collection policy as code.")
    parser.add_argument("--version", action="version", version=f"dunning {__version__}")
    commands = parser.add_subparsers(title="commands", required=True)

    check = commands.add_parser(
        "check",
        help="check rule files and report every problem, compiler style",
        description="Check rule files (or every *.yaml in a folder). Exit 0 when clean, 1 when "
        "errors were found (warnings too with --strict).",
    )
    check.add_argument("paths", nargs="+", help="rule files or folders")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter's default (lists comma-separated); repeatable",
    )
    check.set_defaults(run=_run_check)

    decide = commands.add_parser(
        "decide",
        help="decide the next action and fee terms for each case of a JSON Lines file",
        description="One output line per input line, in order: a decision, or an error record "
        "naming the line. Exit 0 all decided, 1 some rejected, 2 usage error.",
    )
    _policy_options(decide)
    decide.add_argument("cases", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    decide.add_argument(
        "--overdue-customers",
        type=_portfolio,
        default=None,
        metavar="N | PRODUCT=N,...",
        help="the portfolio figure for rules that read it, whole or per product; default: the "
        "distinct overdue borrowers in the input (counted only when a rule reads it)",
    )
    _report_options(
        decide,
        ("jsonl", "table", *REPORT_FORMATS),
        "jsonl",
        "jsonl: a decision (or error record) per line; table: the summary; json, html, csv, "
        "xlsx: the summary as data, a page, figures, a workbook",
    )
    decide.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        help="worker processes (output order is kept; default 1)",
    )
    decide.add_argument(
        "--skip-uncovered",
        action="store_true",
        help="count cases of products the policy does not cover as skipped, not rejected",
    )
    decide.set_defaults(run=_run_decide)

    explain = commands.add_parser(
        "explain",
        help="why one case gets its decision: every rule, matched or not",
    )
    _policy_options(explain)
    explain.add_argument(
        "case",
        help="a file with one case as JSON, or a JSON Lines file with --case-id; - for stdin",
    )
    explain.add_argument(
        "--case-id", default=None, help="the case to explain, from a JSON Lines file of cases"
    )
    explain.add_argument(
        "--overdue-customers",
        type=_portfolio,
        default=None,
        metavar="N | PRODUCT=N,...",
        help="the portfolio figure, needed when the policy's rules read it",
    )
    explain.add_argument(
        "--agencies",
        default=None,
        help="the agencies file: also show the case's placement and which agencies could take it",
    )
    explain.add_argument(
        "--placements",
        default=None,
        metavar="EVENTS.jsonl",
        help="the placement events so far (with --agencies)",
    )
    explain.set_defaults(run=_run_explain)

    assess = commands.add_parser(
        "assess",
        help="delinquency of each case in a JSON Lines file",
        description="Assess every case of a JSON Lines file: days past due, bucket, overdue "
        "amounts. Bad lines are reported with their line numbers; the rest are still assessed.",
    )
    assess.add_argument("cases", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    assess.add_argument("--as-of", type=_as_of, default=None, help="date or aware datetime")
    assess.add_argument("--format", choices=("table", "jsonl"), default="table")
    assess.add_argument(
        "--penalty-multiplier",
        type=_decimal,
        default=None,
        help="accrue penalty interest at the contract rate × this (e.g. 1.5); default: none",
    )
    assess.set_defaults(run=_run_assess)

    test = commands.add_parser(
        "test",
        help="run analyst test files (*.tests.yaml) and report rule coverage",
        description="Run every *.tests.yaml test file (or those of a folder): failures compiler "
        "style, then the rules no test reaches. Exit 0 all passed, 1 a test failed (or, with "
        "--strict, a rule is uncovered), 2 usage error.",
    )
    test.add_argument("paths", nargs="+", help="test files or folders")
    _engine_option(test)
    test.add_argument("--strict", action="store_true", help="fail when a rule is uncovered")
    test.set_defaults(run=_run_test)

    diff = commands.add_parser(
        "diff",
        help="decide cases under two policies and report what would change",
        description="Decide every case of a JSON Lines file under OLD and NEW (or OLD with "
        "--param values): what changed in the policy, how many cases change and how (old × new "
        "channel, done and intended, per product), total due moving to or from agencies, "
        "charges and commission.",
    )
    diff.add_argument("old", help="the policy in force")
    diff.add_argument(
        "files",
        nargs="+",
        metavar="[NEW] CASES",
        help="the proposed policy (default: OLD with "
        "the --param values), and a JSON Lines file of cases or - for stdin",
    )
    diff.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter value for the new policy: a what-if without a second file",
    )
    _report_options(diff, ("text", *REPORT_FORMATS), "text")
    diff.add_argument("--as-of", type=_as_of, default=None, help="date or aware datetime")
    diff.add_argument(
        "--overdue-customers",
        type=_portfolio,
        default=None,
        metavar="N | PRODUCT=N,...",
        help="the portfolio figure for both policies; default: each counts the input",
    )
    diff.add_argument("--changed", default=None, metavar="OUT.jsonl", help="write changed cases")
    _engine_option(diff)
    diff.set_defaults(run=_run_diff)

    place = commands.add_parser(
        "place",
        help="place the cases the rules send to agencies, and recall placed ones: events out",
        description="Decide every case of a JSON Lines file, recall placed cases the recall "
        "rules bring back, and allocate the cases sent out among the eligible agencies. One "
        "JSON line per placement event (and an error record per bad case or event line); "
        "--format table: a summary per agency. Exit 0 all read, 1 some lines rejected, 2 "
        "usage error.",
    )
    _policy_options(place)
    place.add_argument("cases", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    place.add_argument("--agencies", required=True, help="the agencies file (YAML)")
    place.add_argument(
        "--placements",
        default=None,
        metavar="EVENTS.jsonl",
        help="the placement events so far (the output of earlier runs, and the host's "
        "placement.returned events)",
    )
    place.add_argument(
        "--overdue-customers",
        type=_portfolio,
        default=None,
        metavar="N | PRODUCT=N,...",
        help="the portfolio figure for rules that read it; default: counted over the input",
    )
    place.add_argument(
        "--performance",
        type=_performance,
        default=None,
        metavar="AGENCY=RATE,...",
        help="recovery rate per agency, for the performance strategy",
    )
    _report_options(
        place,
        ("jsonl", "table", *REPORT_FORMATS),
        "jsonl",
        "jsonl: the placement events; table, json, html, csv, xlsx: the summary per agency",
    )
    place.add_argument(
        "--skip-uncovered",
        action="store_true",
        help="count cases of products the policy does not cover as skipped, not rejected",
    )
    place.set_defaults(run=_run_place)

    settle = commands.add_parser(
        "settle",
        help="commission statements per agency and period, from the payment ledger and the "
        "placement events",
        description="Settle the payment ledger against the placement events: each agency's "
        "commission statement per period, and where every ledger line went (commission, "
        "in-house, before placement, after recall, outside the period, rejected). Exit 0 every "
        "line settled, 1 some ledger or event lines rejected, 2 usage error.",
    )
    settle.add_argument("ledger", help="the payment ledger: JSON Lines, CSV or .xlsx (- for stdin)")
    _money_options(settle)
    settle.add_argument("--agency", default=None, help="only this agency's statements")
    _report_options(
        settle,
        ("table", "json", "csv", "jsonl", "html", "xlsx"),
        "table",
        "table: statements and accounting; json: the same as one document; csv: the "
        "statement lines; jsonl: every ledger line with its category, then the accounting; "
        "html, xlsx: the statements, their lines and the accounting as a page, a workbook",
    )
    settle.set_defaults(run=_run_settle)

    reconcile = commands.add_parser(
        "reconcile",
        help="match an agency's claim with the lender's statement, line by line",
        description="Settle the ledger as dunning settle does, then match the agency's claim "
        "(CSV or Excel as the agency sends it, or JSON Lines) with its statement lines by "
        "payment reference: matched, different (amount, rate, commission, case, date), claimed "
        "but not in the statement, in the statement but not claimed, claimed twice, unreadable. "
        "Exit 0 the claim agrees, 1 it differs (or lines were rejected), 2 usage error.",
    )
    reconcile.add_argument("claim", help="the agency's claim: CSV, .xlsx or JSON Lines")
    reconcile.add_argument("--ledger", required=True, help="the payment ledger")
    reconcile.add_argument("--agency", required=True, help="the agency whose claim it is")
    _money_options(reconcile)
    reconcile.add_argument(
        "--claim-format", choices=("jsonl", "csv", "xlsx"), default=None,
        help="the claim's format (default: by its extension; JSON Lines otherwise)",
    )  # fmt: skip
    reconcile.add_argument(
        "--column", action="append", default=[], metavar="FIELD=HEADER",
        help="the claim's column for a field (reference, case_id, date, amount, rate, "
        "commission, agency_id); repeatable; default: the agency's claim_columns",
    )  # fmt: skip
    reconcile.add_argument("--sheet", default=None, help="the workbook's sheet (default: first)")
    _report_options(reconcile, ("table", *REPORT_FORMATS), "table")
    reconcile.set_defaults(run=_run_reconcile)

    costs = commands.add_parser(
        "costs",
        help="what collection cost: recovered, commission and in-house cost per 100 recovered",
        description="Settle the ledger, then measure over --from/--to: amounts recovered "
        "in-house and through agencies, the commission paid and the in-house cost (each "
        "contact at the policy's unit cost for its channel), by stage, product, channel and "
        "agency; recovery curves by placement cohort; roll rates between two --snapshot "
        "files. Exit 0 all read, 1 some lines rejected, 2 usage error.",
    )
    costs.add_argument("cases", help="the cases (their products, schedules, contacts): JSON Lines")
    costs.add_argument("--ledger", required=True, help="the payment ledger")
    _money_options(costs, periods=False)
    costs.add_argument(
        "--snapshot", action="append", default=[], metavar="CASES.jsonl=YYYY-MM-DD",
        help="a dated snapshot of the portfolio; give two for the roll rates between them",
    )  # fmt: skip
    _report_options(costs, ("table", *REPORT_FORMATS), "table")
    costs.set_defaults(run=_run_costs)

    _agency_commands(commands)

    schema = commands.add_parser(
        "schema",
        help="print a JSON Schema: of a case, a decision, a policy file, an event, an agencies "
        "file, a collectors file, a ledger line or a claim line",
    )
    schema.add_argument(
        "kind",
        choices=(
            "case",
            "decision",
            "policy",
            "event",
            "agencies",
            "collectors",
            "ledger",
            "claim",
        ),
    )
    schema.set_defaults(run=_run_schema)
    return parser


def _policy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="the policy's rule file")
    parser.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        help="decision moment: YYYY-MM-DD or an ISO 8601 datetime with offset; "
        "default: now in the policy's time zone",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter's default (lists comma-separated); repeatable",
    )
    _engine_option(parser)


def _agency_commands(commands: Any) -> None:
    """The agency's working day: intake, assign, handover, export, verify, import."""
    intake = commands.add_parser(
        "intake",
        help="take a bank's case file into the store, with verified backups",
        description="Validate every line of a bank's case file (JSON Lines, CSV or Excel), write "
        "the accepted cases, the error records and the batch's events into STORE/batches/BATCH/, "
        "copy the batch into each --backup directory and verify each copy against the "
        "manifest of SHA-256 checksums. Exit 0 all taken in on time, 1 some lines refused or the "
        "intake late or failed, 2 usage error.",
    )
    intake.add_argument("bank_file", metavar="BANK_FILE", help="the bank's file")
    intake.add_argument("--bank", required=True, help="the bank that sent it (an id)")
    intake.add_argument(
        "--received-at", required=True, type=_aware, metavar="ISO-8601",
        help="when the file was received (with its offset)",
    )  # fmt: skip
    intake.add_argument("--store", required=True, metavar="DIR", help="the agency's case store")
    intake.add_argument(
        "--backup", action="append", default=[], required=True, metavar="DIR",
        help="a backup directory; repeatable (the policy's agency: intake: backups, default 2)",
    )  # fmt: skip
    intake.add_argument("--policy", default=None, help="the policy (its intake target)")
    intake.add_argument("--actor", default="dunning", help="who takes it in (the events' actor)")
    intake.add_argument("--input-format", choices=("jsonl", "csv", "xlsx"), default=None,
                        help="the file's format (default: by its extension)")  # fmt: skip
    intake.add_argument(
        "--column", action="append", default=[], metavar="FIELD=HEADER",
        help="the sheet's column for a case field (loan.principal=透支本金); repeatable",
    )  # fmt: skip
    intake.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", dest="defaults",
        help="a value for a field the sheet leaves out (loan.product=credit_card); repeatable",
    )  # fmt: skip
    intake.add_argument("--sheet", default=None, help="the workbook's sheet (default: the first)")
    intake.add_argument("--encoding", default="utf-8", help="of a CSV file (e.g. gb18030)")
    intake.add_argument("--format", choices=("table", "json", "jsonl"), default="table",
                        help="a summary, the summary as JSON, or the batch's events")  # fmt: skip
    intake.set_defaults(run=_run_intake)

    assign = commands.add_parser(
        "assign",
        help="assign cases to collectors by the policy's assignment rules: events out",
        description="Give each case a collector (team, skills, language by the policy's agency: "
        "assignment: rules; capacity held; a case keeps its active collector). One JSON line "
        "per assignment event; --format table: the load per collector. Exit 0, 1 some lines "
        "rejected, 2 usage error.",
    )
    _policy_options(assign)
    assign.add_argument("cases", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    assign.add_argument("--collectors", required=True, help="the collectors file (YAML)")
    assign.add_argument("--events", default=None, metavar="EVENTS.jsonl",
                        help="the events so far")  # fmt: skip
    assign.add_argument("--actor", default="dunning", help="who assigns (the events' actor)")
    assign.add_argument("--format", choices=("jsonl", "table", "json"), default="jsonl")
    assign.set_defaults(run=_run_assign)

    handover = commands.add_parser(
        "handover",
        help="hand a departing collector's open cases over, with a sheet per case: events out",
        description="Move every open case of --from to the --to collectors (most room first, "
        "fitting each case's team, skills and language when --policy and --cases are given), "
        "write a handover sheet per case, and check that nothing is left. One JSON line per "
        "handover event; --format table: the sheets in short. Exit 0, 1 the cases do not fit "
        "(nothing recorded), 2 usage error.",
    )
    handover.add_argument("--from", dest="departing", required=True, metavar="COLLECTOR")
    handover.add_argument("--to", action="append", required=True, metavar="COLLECTOR",
                          help="a receiver; repeatable")  # fmt: skip
    handover.add_argument("--collectors", required=True, help="the collectors file (YAML)")
    handover.add_argument("--events", required=True, metavar="EVENTS.jsonl",
                          help="the events so far")  # fmt: skip
    handover.add_argument("--policy", default=None, help="the policy (needs, next actions)")
    handover.add_argument("--cases", default=None, metavar="CASES.jsonl",
                          help="the case file (with --policy)")  # fmt: skip
    handover.add_argument("--as-of", type=_as_of, default=None, help="default: now")
    handover.add_argument("--actor", default="dunning",
                          help="the team lead who supervises it (the events' actor)")  # fmt: skip
    handover.add_argument("--sheets", default=None, metavar="DIR",
                          help="write each case's sheet as DIR/CASE.json")  # fmt: skip
    handover.add_argument("--format", choices=("jsonl", "table", "json"), default="jsonl")
    handover.set_defaults(run=_run_handover)

    export = commands.add_parser(
        "export",
        help="write a bank's (or batches') cases and events into one archive with checksums",
        description="Write every file of the batches named (or of every batch of a bank) and "
        "the events of their cases into a zip archive whose MANIFEST.sha256 lists every "
        "member's checksum: what the agency sends the bank when case-data transmission fails. "
        "Exit 0, 2 usage error.",
    )
    export.add_argument("--bundle", required=True, metavar="OUT.zip", help="the archive")
    export.add_argument("--store", required=True, metavar="DIR", help="the agency's case store")
    export.add_argument("--events", default=None, metavar="EVENTS.jsonl", help="the event log")
    export.add_argument("--batch", action="append", default=[], help="a batch id; repeatable")
    export.add_argument("--bank", default=None, help="a bank: every batch of it")
    export.set_defaults(run=_run_export)

    verify = commands.add_parser(
        "verify",
        help="check an archive written by dunning export against its checksums",
        description="Check the archive's limits, every member against MANIFEST.sha256, and each "
        "batch against its own manifest. Exit 0 verified, 1 not.",
    )
    verify.add_argument("bundle", metavar="BUNDLE.zip")
    verify.set_defaults(run=_run_verify)

    unpack = commands.add_parser(
        "import",
        help="verify an archive and unpack it into an empty directory, as a store",
        description="Verify the archive, then unpack it into DIR (new or empty): batches/… and "
        "events.jsonl, all or nothing. Exit 0, 1 the archive does not verify, 2 usage error.",
    )
    unpack.add_argument("bundle", metavar="BUNDLE.zip")
    unpack.add_argument("--into", required=True, metavar="DIR")
    unpack.set_defaults(run=_run_import)

    audit = commands.add_parser(
        "audit",
        help="hold the agency's events to its procedure file: findings with their evidence",
        description="Read the event log once and report each breach of the procedure file's "
        "obligations with its severity, case, collector, evidence lines and what was expected. "
        "Exit 0 no error findings, 1 error findings (or unreadable event lines), 2 usage error.",
    )
    audit.add_argument("events", metavar="EVENTS.jsonl", help="the event log, or - for stdin")
    audit.add_argument("--procedure", required=True, help="the procedure file (YAML)")
    audit.add_argument("--as-of", type=_aware, default=None, metavar="ISO-8601",
                       help="when the audit is made (default: now)")  # fmt: skip
    audit.add_argument("--from", dest="start", type=_day, default=None, metavar="YYYY-MM-DD",
                       help="the first day audited (default: the first event's)")  # fmt: skip
    audit.add_argument("--to", dest="end", type=_day, default=None, metavar="YYYY-MM-DD",
                       help="the last day audited (default: the --as-of day)")  # fmt: skip
    _report_options(audit, ("table", *REPORT_FORMATS), "table")
    audit.set_defaults(run=_run_audit)

    perf = commands.add_parser(
        "performance",
        help="the weekly or monthly report per collector, team and bank",
        description="Count, per collector, team and bank, the cases held and worked, contacts, "
        "promises made and kept, amounts recovered (from the bank's payment file) and "
        "commission earned, special procedures opened and closed, and the audit's findings, for "
        "one week, month or range; a month's report shows whether its monthly report was "
        "approved. Exit 0, 1 unreadable event or payment lines, 2 usage error.",
    )
    perf.add_argument("events", metavar="EVENTS.jsonl", help="the event log, or - for stdin")
    perf.add_argument(
        "--procedure",
        required=True,
        help="the procedure file (its obligations, the banks' commission)",
    )
    perf.add_argument("--as-of", type=_aware, default=None, metavar="ISO-8601",
                      help="when the report is made (default: now)")  # fmt: skip
    span = perf.add_mutually_exclusive_group(required=True)
    span.add_argument("--week", type=_iso_week, default=None, metavar="YYYY-Www",
                      help="an ISO week, Monday to Sunday (e.g. 2026-W46)")  # fmt: skip
    span.add_argument("--month", type=_month, default=None, metavar="YYYY-MM",
                      help="a calendar month")  # fmt: skip
    span.add_argument("--from", dest="start", type=_day, default=None, metavar="YYYY-MM-DD",
                      help="the first day of a range (with --to)")  # fmt: skip
    perf.add_argument("--to", dest="end", type=_day, default=None, metavar="YYYY-MM-DD",
                      help="the last day of a range (with --from)")  # fmt: skip
    perf.add_argument("--ledger", default=None, metavar="PAYMENTS",
                      help="the bank's payment file: JSON Lines, CSV or .xlsx in the ledger "
                      "format (without it, nothing is recovered)")  # fmt: skip
    _ledger_options(perf)
    perf.add_argument("--collectors", default=None,
                      help="the collectors file: each collector's team (default: the team the "
                      "events last gave them)")  # fmt: skip
    _report_options(perf, ("table", *REPORT_FORMATS), "table")
    perf.set_defaults(run=_run_performance)


REPORT_FORMATS = ("json", "html", "csv", "xlsx")


def _report_options(
    parser: argparse.ArgumentParser, formats: Sequence[str], default: str, help: str | None = None
) -> None:
    """--format, --out and --locale: how and where a command's report is written."""
    parser.add_argument("--format", choices=formats, default=default, help=help)
    parser.add_argument(
        "--out", default=None, metavar="FILE",
        help="write the report to FILE instead of standard output",
    )  # fmt: skip
    parser.add_argument(
        "--locale", choices=LOCALES, default="en",
        help="the words and dates of --format html and xlsx (default en)",
    )  # fmt: skip


class _Report:
    """Where a command's report goes: standard output, or --out opened before the work.

    A file that cannot be written fails the command before it reads anything; a file the
    command created is removed again if the command fails.
    """

    def __init__(self, args: argparse.Namespace, *, streams: Sequence[str] = ("jsonl",)) -> None:
        self.format: str = args.format
        self.locale = locale(args.locale)
        self.path: str | None = args.out
        self.binary = self.format == "xlsx"
        self._file: IO[Any] | None = None
        self._created = False
        if self.format == "html":
            _need_reports_extra()
        if self.path is not None and self.format in streams:
            raise _Usage(f"--out takes a report; --format {self.format} writes standard output")
        if self.path is None and self.binary and sys.stdout.isatty():
            raise _Usage("an Excel workbook is binary: give --out FILE.xlsx or redirect the output")
        if self.path is not None:
            self._created = not os.path.exists(self.path)
            try:  # kept open for the whole command: closed by __exit__
                self._file = (
                    open(self.path, "wb")  # noqa: SIM115
                    if self.binary
                    else open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
                )
            except OSError as exc:
                raise _Usage(f"cannot write {self.path}: {exc.strerror}") from None

    def __enter__(self) -> _Report:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._file is not None:
            self._file.close()
            if error is not None and self._created:
                with contextlib.suppress(OSError):
                    os.unlink(self.path or "")

    @property
    def text(self) -> TextIO:
        """The text stream the report goes to."""
        return cast(TextIO, self._file) if self._file is not None else sys.stdout

    def write(self, report: str, data: dict[str, Any]) -> None:
        """Write ``data`` (the report's JSON) in the chosen format."""
        if self.format == "json":
            json.dump(data, self.text, ensure_ascii=False, indent=2)
            self.text.write("\n")
            return
        document = build_document(report, data)
        if self.format == "html":
            from .reports.html import render_html

            self.text.write(render_html(document, self.locale))
        elif self.format == "csv":
            write_csv(document, self.text)
        else:
            buffer = io.BytesIO()
            write_xlsx(document, buffer, self.locale)
            out = self._file if self._file is not None else sys.stdout.buffer
            out.write(buffer.getvalue())


def _need_reports_extra() -> None:
    import importlib.util

    missing = [m for m in ("jinja2", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        raise _Usage(f"--format html needs {' and '.join(missing)}: pip install 'dunning[reports]'")


def _money_options(parser: argparse.ArgumentParser, *, periods: bool = True) -> None:
    """The inputs of settle, reconcile and costs: policy, agencies, events, range, ledger."""
    parser.add_argument("--policy", required=True, help="the policy (currency, grace_days)")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="override a parameter's default; repeatable",
    )  # fmt: skip
    parser.add_argument("--agencies", required=True, help="the agencies file (YAML)")
    parser.add_argument(
        "--events", required=True, metavar="EVENTS.jsonl",
        help="the placement events (the output of dunning place, and the host's own)",
    )  # fmt: skip
    parser.add_argument("--from", dest="start", type=_day, default=None, metavar="YYYY-MM-DD",
                        help="the first day to settle (default: no bound)")  # fmt: skip
    parser.add_argument("--to", dest="end", type=_day, default=None, metavar="YYYY-MM-DD",
                        help="the last day to settle (default: no bound)")  # fmt: skip
    if periods:
        parser.add_argument(
            "--period", choices=("month", "week", "range"), default="month",
            help="a statement per calendar month, ISO week, or one for the whole --from/--to range",
        )  # fmt: skip
    _ledger_options(parser)


def _ledger_options(parser: argparse.ArgumentParser) -> None:
    """How to read a ledger (or a bank's payment file) that is a table."""
    parser.add_argument(
        "--ledger-format", choices=("jsonl", "csv", "xlsx"), default=None,
        help="the ledger's format (default: by its extension; JSON Lines otherwise)",
    )  # fmt: skip
    parser.add_argument(
        "--ledger-column", action="append", default=[], metavar="FIELD=HEADER",
        help="the ledger table's column for a field (reference, case_id, loan_id, date, amount, "
        "currency, reverses, note); repeatable",
    )  # fmt: skip
    parser.add_argument("--encoding", default="utf-8", help="of CSV files (e.g. gb18030)")


def _aware(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone offset")
    return moment


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("compiled", "rete"),
        default="compiled",
        help="the rule engine (both decide alike; default: compiled)",
    )


def _as_of(text: str) -> date | datetime:
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


def _decimal(text: str) -> Decimal:
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


def _portfolio(text: str) -> Portfolio:
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


def _performance(text: str) -> dict[str, Decimal]:
    """``AGENCY=RATE,...``: each agency's recovery rate, for the performance strategy."""
    rates = {}
    for part in text.split(","):
        agency, sep, rate = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{part!r} is not AGENCY=RATE")
        rates[agency.strip()] = _decimal(rate.strip())
    return rates


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 1")
    return int(text)


#: More worker processes than this only share the same cores and memory.
MAX_JOBS = max(4, 4 * (os.cpu_count() or 1))


def _jobs(text: str) -> int:
    jobs = _positive(text)
    if jobs > MAX_JOBS:
        raise argparse.ArgumentTypeError(
            f"{jobs} worker processes is more than 4 per CPU of this machine (at most {MAX_JOBS})"
        )
    return jobs


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise _Usage(f"--param takes NAME=VALUE, got {pair!r}")
        params[name.strip()] = value.strip()
    return params


def _open(path: str) -> TextIO:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise _Usage(f"cannot read {path}: {exc.strerror}") from None


def _print_diagnostics(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    for diagnostic in diagnostics:
        print(diagnostic, file=out)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    print(f"{errors} error(s), {warnings} warning(s)", file=out)


# --- check ----------------------------------------------------------------------------------


def _rule_files(paths: list[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.glob("*.yaml") if not p.name.endswith(".tests.yaml"))
        elif path.exists():
            yield path
        else:
            raise _Usage(f"no such file or folder: {name}")


def _run_check(args: argparse.Namespace) -> int:
    params = _params(args.param)
    files = list(_rule_files(args.paths))
    if not files:
        raise _Usage("no rule files found")
    diagnostics: list[Diagnostic] = []
    for path in files:
        if is_agencies_file(path):
            diagnostics.extend(check_agencies_file(path))
        elif is_collectors_file(path):
            diagnostics.extend(check_collectors_file(path))
        elif is_procedure_file(path):
            diagnostics.extend(check_procedure_file(path))
        else:
            diagnostics.extend(check_file(path, params=params or None))
    _print_diagnostics(diagnostics, sys.stdout)
    failed = any(d.severity == "error" or args.strict for d in diagnostics)
    if not failed:
        print(f"{len(files)} file(s) checked: ok")
    return EXIT_REJECTED if failed else EXIT_OK


# --- decide and explain ---------------------------------------------------------------------


def _load(args: argparse.Namespace) -> Policy:
    return load_policy(args.policy, engine=args.engine, params=_params(args.param) or None)


def _moment(args: argparse.Namespace, policy: Policy) -> datetime:
    if args.as_of is None:
        return datetime.now(policy.timezone).replace(microsecond=0)
    return policy.moment(args.as_of)


def _run_decide(args: argparse.Namespace) -> int:
    with _Report(args) as report:
        return _decide(args, report)


def _decide(args: argparse.Namespace, report: _Report) -> int:
    policy = _load(args)
    moment = _moment(args, policy)
    portfolio: Portfolio | None = args.overdue_customers
    summary = DecisionSummary(bands=policy.ir.bands.labels)
    sink = _DecisionSink(args.format, args.skip_uncovered, summary, sys.stdout, sys.stderr)
    with _open_binary(args.cases) as given, _rereadable(given, policy, figure=portfolio) as stream:
        if portfolio is None and policy.portfolio_rules and args.jobs == 1:
            # The whole file is the batch: its own count in a first pass, then it streams.
            portfolio = Portfolio(len(policy.overdue_borrowers(_items(stream), as_of=moment)))
            stream.seek(0)
        if args.jobs > 1:
            needs = bool(policy.portfolio_rules)
            parts = _decide_in_processes(args, policy, stream, moment, portfolio, needs)
            for out, err, part in parts:
                _CTRL_C.check()
                sys.stdout.write(out)
                sys.stderr.write(err)
                summary.merge(part)
        else:
            numbered = _numbered_cases(stream)
            for line, product, result in _decide_lines(policy, numbered, moment, portfolio):
                sink.take(line, product, result)
    if args.format == "table":
        title = f"Decisions of policy {policy.name} {policy.version} as of {moment.isoformat()}"
        summary.render(report.text, title=title)
    elif args.format != "jsonl":
        report.write("decisions", {**_run_of(policy, moment), **summary.to_dict()})
    return EXIT_REJECTED if summary.rejected else EXIT_OK


def _run_of(policy: Policy, moment: datetime) -> dict[str, Any]:
    """The policy and moment of a run, as its JSON report names them."""
    return {
        "policy": {"name": policy.name, "version": policy.version, "digest": policy.digest},
        "as_of": moment.isoformat(),
    }


@contextlib.contextmanager
def _rereadable(
    stream: BinaryIO, *policies: Policy, figure: Portfolio | None
) -> Iterator[BinaryIO]:
    """The input, readable twice when the batch must count itself first.

    A pipe cannot be read again: it is copied to a temporary file (on disk, so that memory
    stays flat whatever its size) and read from there.
    """
    needed = any(policy.portfolio_rules for policy in policies)
    if figure is not None or not needed or stream.seekable():
        yield stream
        return
    with tempfile.TemporaryFile() as copy:
        shutil.copyfileobj(stream, copy, _BLOCK)
        copy.seek(0)
        yield cast(BinaryIO, copy)


def _open_binary(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise _Usage(f"cannot read {path}: {exc.strerror}") from None


_BLOCK = 1 << 20  # bytes of input read (and, with --jobs, decided by a worker) at a time


def _blocks(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Cut a byte stream into blocks of whole lines: (number of the first line, the bytes).

    The lines themselves are split by the reader of each block: the parent of ``--jobs`` workers
    only moves blocks, so that it does not become the bottleneck.
    """
    number, rest = 1, b""
    while data := stream.read(_BLOCK):
        data = rest + data
        cut = data.rfind(b"\n") + 1
        block, rest = data[:cut], data[cut:]
        if block:
            yield number, block
            # Lines as bytes.splitlines counts them: \n, \r\n, and a lone \r.
            number += block.count(b"\n")
            if b"\r" in block:  # rare: scanning for it costs more than the \n count
                number += block.count(b"\r") - block.count(b"\r\n")
    if rest:
        yield number, rest


def _numbered_cases(stream: BinaryIO) -> Iterator[tuple[int, Case | CaseError]]:
    """Each non-blank line of a JSON Lines stream, parsed, with its 1-based line number."""
    for first, block in _blocks(stream):
        yield from _parsed(first, block)


def _items(stream: BinaryIO) -> Iterator[Case | CaseError]:
    return (item for _, item in _numbered_cases(stream))


def _parsed(first: int, block: bytes) -> Iterator[tuple[int, Case | CaseError]]:
    """Each non-blank line of ``block`` (numbered from ``first``), parsed."""
    return read_numbered(block.splitlines(), start=first)


def _decide_lines(
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
        _CTRL_C.check()
        line, product = pending.popleft()
        if isinstance(result, CaseError) and result.line is None:
            result.line = line
        yield line, product, result


class _DecisionSink:
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
            self.out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        else:
            print(f"dunning: {result}", file=self.err)


# --- decide --jobs N: worker processes, order preserved, memory bounded ----------------------

_T = TypeVar("_T")
_worker_policy: Policy | None = None  # each worker process's own copy of the policy


_worker_failure: str | None = None  # why a worker could not load it


def _worker_start(content: bytes, name: str, engine: str, params: dict[str, str]) -> None:
    # The bytes the parent compiled, never the path again: a pipe (<(cat X)) reads empty the
    # second time, and an edited file would decide under the parent's digest.
    global _worker_policy, _worker_failure
    # Ctrl-C reaches the whole process group: the parent answers it and ends the pool; a
    # worker prints nothing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _worker_policy = loads_policy(content, name=name, engine=engine, params=params or None)
    except Exception as exc:
        _worker_failure = f"{type(exc).__name__}: {exc}"


def _worker_ready() -> Policy:
    if _worker_policy is None:
        raise _WorkerFailed(f"a worker process could not load the policy: {_worker_failure}")
    return _worker_policy


class _WorkerFailed(Exception):
    """A --jobs worker could not do its work: the run stops with this message (exit 2)."""


def _worker_overdue(first: int, block: bytes, moment: datetime) -> set[str]:
    return _worker_ready().overdue_borrowers(
        (item for _, item in _parsed(first, block)), as_of=moment
    )


def _worker_decide(
    first: int,
    block: bytes,
    moment: datetime,
    portfolio: Portfolio | None,
    sink_options: tuple[str, bool],
) -> tuple[str, str, DecisionSummary]:
    """Decide one block; return its output text, its messages and its part of the summary."""
    policy = _worker_ready()
    out, err, summary = io.StringIO(), io.StringIO(), DecisionSummary()
    sink = _DecisionSink(*sink_options, summary, out, err)
    for line, product, result in _decide_lines(policy, _parsed(first, block), moment, portfolio):
        sink.take(line, product, result)
    return out.getvalue(), err.getvalue(), summary


@contextlib.contextmanager
def _ignoring_ctrl_c() -> Iterator[None]:
    """SIGINT ignored for a moment: processes started now inherit it ignored from the start.

    A worker that only ignores it in its initializer prints a KeyboardInterrupt traceback when
    Ctrl-C comes while it is still starting up.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _decide_in_processes(
    args: argparse.Namespace,
    policy: Policy,
    stream: BinaryIO,
    moment: datetime,
    portfolio: Portfolio | None,
    needs: bool,
) -> Iterator[tuple[str, str, DecisionSummary]]:
    init = (policy.content, args.policy, args.engine, _params(args.param))
    with _ignoring_ctrl_c():  # the workers start with Ctrl-C ignored: the parent answers it
        pool = multiprocessing.get_context("spawn").Pool(
            args.jobs, initializer=_worker_start, initargs=init
        )
    with pool:
        window = 4 * args.jobs
        if portfolio is None and needs:
            # The batch's own count needs every case first: a first pass over the file, in
            # parallel as well, then the file again from the start.
            overdue: set[str] = set()
            jobs = ((first, block, moment) for first, block in _blocks(stream))
            for found in _in_order(pool, _worker_overdue, jobs, window):
                overdue |= found
            portfolio = Portfolio(len(overdue))
            stream.seek(0)
        options = (args.format, args.skip_uncovered)
        decide_jobs = (
            (first, block, moment, portfolio, options) for first, block in _blocks(stream)
        )
        yield from _in_order(pool, _worker_decide, decide_jobs, window)


def _in_order(
    pool: multiprocessing.pool.Pool,
    work: Callable[..., _T],
    jobs: Iterable[tuple[Any, ...]],
    window: int,
) -> Iterator[_T]:
    """Run ``work`` on each job in the pool; results in order, at most ``window`` in flight.

    (``Pool.imap`` would read every job ahead, here the whole file, into memory.)
    """
    pending: deque[multiprocessing.pool.AsyncResult[_T]] = deque()
    for job in jobs:
        pending.append(pool.apply_async(work, job))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _run_explain(args: argparse.Namespace) -> int:
    policy = _load(args)
    moment = _moment(args, policy)
    with _open(args.case) as stream:
        text = stream.read()
    if args.overdue_customers is None and policy.portfolio_rules:
        raise _Usage(
            f"policy {policy.name!r} reads the portfolio figure overdue_customers (rules "
            f"{', '.join(policy.portfolio_rules)}): give --overdue-customers N"
        )
    if args.placements is not None and args.agencies is None:
        raise _Usage("--placements needs --agencies")
    placer = None if args.agencies is None else Placer(policy, load_agencies(args.agencies))
    events = _read_placements(args.placements)
    try:
        case = _one_case(text, args.case_id)
        explanation = policy.explain(
            case,
            as_of=moment,
            portfolio=args.overdue_customers,
            agencies=None if placer is None else placer.agencies,
        )
        placed = None
        if placer is not None:
            bad = [e for e in events if isinstance(e, CaseError)]
            if bad:
                raise _Usage(f"{args.placements}: {bad[0]}")
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


def _read_placements(path: str | None) -> list[Event | CaseError]:
    if path is None:
        return []
    with _open_binary(path) as stream:
        return list(read_events(_event_lines(stream)))


# --- place ---------------------------------------------------------------------------------


class _Numbered(Iterator[Case | CaseError]):
    """Numbered cases as an iterator that remembers the line of the case it gave last."""

    def __init__(self, numbered: Iterator[tuple[int, Case | CaseError]]) -> None:
        self._numbered = numbered
        self.line: int | None = None
        self.product = "?"  # of the case given last: an error about it comes before the next

    def __iter__(self) -> _Numbered:
        return self

    def __next__(self) -> Case | CaseError:
        self.line, item = next(self._numbered)
        self.product = item.loan.product.value if isinstance(item, Case) else "?"
        return item


def _run_place(args: argparse.Namespace) -> int:
    with _Report(args) as report:
        return _place(args, report)


def _place(args: argparse.Namespace, report: _Report) -> int:
    policy = _load(args)
    agencies = load_agencies(args.agencies)
    placer = Placer(policy, agencies)
    moment = _moment(args, policy)
    events = _read_placements(args.placements)
    summary = PlacementSummary(targets=placer.targets(args.performance))
    portfolio: Portfolio | None = args.overdue_customers
    jsonl = args.format == "jsonl"
    with _open_binary(args.cases) as given, _rereadable(given, policy, figure=portfolio) as stream:
        if portfolio is None and policy.portfolio_rules:
            portfolio = Portfolio(len(policy.overdue_borrowers(_items(stream), as_of=moment)))
            stream.seek(0)
        numbered = _Numbered(_numbered_cases(stream))
        run = placer.stream(
            numbered,
            as_of=moment,
            events=events,
            portfolio=portfolio,
            performance=args.performance,
        )
        for error in run.event_errors:
            summary.rejected += 1
            _reject(error, "placements", jsonl)
        for result in run:
            _CTRL_C.check()
            if isinstance(result, CaseError):
                if args.skip_uncovered and result.problems[0].code == "product_not_covered":
                    summary.skipped[numbered.product] += 1
                    continue
                summary.rejected += 1
                _reject(result, "cases", jsonl)
                continue
            summary.add(result)
            if jsonl:
                for event in result.events:
                    sys.stdout.write(event.model_dump_json() + "\n")
        summary.capacity = run.capacity
    title = (
        f"Placements of policy {policy.name} {policy.version} with {agencies.path} "
        f"as of {moment.isoformat()} (strategy: {policy.ir.placement.strategy})"
    )
    if args.format == "table":
        summary.render(report.text, title=title)
    elif args.format != "jsonl":
        run_of = {**_run_of(policy, moment), "strategy": policy.ir.placement.strategy}
        report.write("placements", {**run_of, **summary.to_dict()})
    return EXIT_REJECTED if summary.rejected else EXIT_OK


# --- settle ---------------------------------------------------------------------------------


def _table_kind(path: str, given: str | None) -> str:
    """The format of a ledger or claim file: as given, else by its extension."""
    if given is not None:
        return given
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}.get(suffix, "jsonl")


def _ledger_lines(args: argparse.Namespace, stream: BinaryIO) -> Iterator[LedgerLine | CaseError]:
    kind = _table_kind(args.ledger, args.ledger_format)
    if kind == "jsonl":
        return read_ledger(_event_lines(stream))
    columns = _columns(args.ledger_column)
    return read_ledger_table(
        stream, columns=columns, kind=kind, encoding=args.encoding,  # type: ignore[arg-type]
        name=args.ledger,
    )  # fmt: skip


def _columns(pairs: list[str]) -> dict[str, str]:
    try:
        return parse_columns(pairs)
    except ConfigError as exc:
        raise _Usage(str(exc)) from None


def _settlement(args: argparse.Namespace) -> Settlement:
    """Settle the command's inputs (the ledger read as a stream)."""
    policy = load_policy(args.policy, params=_params(args.param) or None)
    agencies = load_agencies(args.agencies)
    if args.agency is not None and args.agency not in agencies:
        known = ", ".join(a.agency_id for a in agencies)
        raise _Usage(f"no agency {args.agency!r} in {args.agencies} ({known})")
    with _open_binary(args.events) as events, _open_binary(args.ledger) as ledger:
        return settle(
            _Checked(_ledger_lines(args, ledger)),
            events=_Checked(read_events(_event_lines(events))),
            agencies=agencies,
            policy=policy,
            start=args.start,
            end=args.end,
            period=args.period,
        )


class _Checked(Iterator[_T]):
    """The items, stopping at once on Ctrl-C (C code may have swallowed it).

    ``line`` is the inner reader's line of the item given last.
    """

    def __init__(self, items: Iterable[_T]) -> None:
        self._items = iter(items)

    def __iter__(self) -> _Checked[_T]:
        return self

    def __next__(self) -> _T:
        _CTRL_C.check()
        return next(self._items)

    @property
    def line(self) -> int | None:
        return getattr(self._items, "line", None)


def _run_settle(args: argparse.Namespace) -> int:
    with _Report(args) as report, _settlement(args) as settlement:
        out = report.text
        if args.format == "table":
            render_settlement(settlement, out, agency_id=args.agency)
        elif args.format == "json":
            settlement.write_json(out, agency_id=args.agency)
        elif args.format == "csv":
            settlement.write_csv(out, agency_id=args.agency)
        elif args.format == "jsonl":
            settlement.write_jsonl(out)
        else:
            report.write("settlement", settlement.to_dict(agency_id=args.agency))
        accounting = settlement.accounting
        rejected = accounting.categories["rejected"].count + settlement.event_error_count
        if rejected and args.format != "jsonl":
            print(
                f"dunning: {rejected} ledger or event lines rejected; "
                "--format jsonl lists each with its reason",
                file=sys.stderr,
            )
    return EXIT_REJECTED if rejected else EXIT_OK


def _run_reconcile(args: argparse.Namespace) -> int:
    with _Report(args) as report, _settlement(args) as settlement:
        agency = load_agencies(args.agencies).get(args.agency)
        assert agency is not None  # _settlement checked it
        columns = {**agency.claim_columns, **_columns(args.column)}
        kind = _table_kind(args.claim, args.claim_format)
        with _open_binary(args.claim) as stream:
            claim = (
                read_claim(_event_lines(stream))
                if kind == "jsonl"
                else read_claim_table(stream, columns=columns, kind=kind,  # type: ignore[arg-type]
                                      sheet=args.sheet, encoding=args.encoding, name=args.claim)
            )  # fmt: skip
            result = reconcile(settlement, _Checked(claim), agency_id=args.agency)
        if args.format == "table":
            render_reconciliation(result, report.text)
        elif args.format == "csv":
            result.write_csv(report.text)  # a row per line of either side, as before
        else:
            report.write("reconciliation", result.to_dict())
        rejected = settlement.accounting.categories["rejected"].count
        rejected += settlement.event_error_count
    if rejected:
        print(f"dunning: {rejected} ledger or event lines rejected (dunning settle --format "
              "jsonl lists them)", file=sys.stderr)  # fmt: skip
    return EXIT_OK if result.agrees and not rejected else EXIT_REJECTED


def _run_costs(args: argparse.Namespace) -> int:
    if args.start is None or args.end is None:
        raise _Usage("dunning costs measures a period: give --from and --to")
    if len(args.snapshot) not in (0, 2):
        raise _Usage("roll rates need two --snapshot CASES.jsonl=YYYY-MM-DD, first the earlier")
    policy = load_policy(args.policy, params=_params(args.param) or None)
    agencies = load_agencies(args.agencies)
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(_Report(args))
        snapshots = None
        if args.snapshot:
            dated = []
            for given in args.snapshot:
                path, _, day = given.rpartition("=")
                stream = stack.enter_context(_open_binary(path))
                dated.append((_items(stream), _day_of(day)))
            snapshots = (dated[0], dated[1])
        events = stack.enter_context(_open_binary(args.events))
        ledger = stack.enter_context(_open_binary(args.ledger))
        cases = stack.enter_context(_open_binary(args.cases))
        report = cost_report(
            _Checked(_items(cases)),
            ledger=_Checked(_ledger_lines(args, ledger)),
            events=_Checked(read_events(_event_lines(events))),
            agencies=agencies,
            policy=policy,
            start=args.start,
            end=args.end,
            snapshots=snapshots,
        )
        if args.format == "table":
            render_costs(report, output.text)
        elif args.format == "csv":
            report.write_csv(output.text)  # every figure, as before the other forms
        else:
            output.write("costs", report.to_dict())
    return EXIT_REJECTED if report.cases_rejected else EXIT_OK


def _day_of(text: str) -> date:
    try:
        return _day(text)
    except argparse.ArgumentTypeError as exc:
        raise _Usage(f"--snapshot takes CASES.jsonl=YYYY-MM-DD: {exc}") from None


def _event_lines(stream: BinaryIO) -> Iterator[bytes]:
    for _, block in _blocks(stream):
        yield from block.splitlines()


def _reject(error: CaseError, source: str, jsonl: bool) -> None:
    """An error record (JSON lines), or the error on standard error (tables)."""
    if jsonl:
        record = {"input": source, **error.to_dict()}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        print(f"dunning: {source}: {error}", file=sys.stderr)


def _one_case(text: str, case_id: str | None) -> Case:
    """The case to explain: the file's one case, or the one with ``case_id`` among its lines."""
    if case_id is None:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines):
            raise _Usage(f"the file holds {len(lines)} cases: choose one with --case-id")
        return parse_case(text)
    for _, item in read_numbered(text.splitlines()):
        if isinstance(item, Case) and item.case_id == case_id:
            return item
        if isinstance(item, CaseError) and item.case_id == case_id:
            raise item
    raise _Usage(f"no case {case_id!r} in the file")


# --- assess and schema ----------------------------------------------------------------------


def _run_assess(args: argparse.Namespace) -> int:
    as_of = args.as_of or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assessor = Assessor(penalty_multiplier=args.penalty_multiplier)
    summary = PortfolioSummary(bands=assessor.bands)
    with _open_binary(args.cases) as stream:
        for _, item in _numbered_cases(stream):
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
        if args.penalty_multiplier is None:  # say what the totals leave out
            print(
                "\nPenalty interest is not included (no --penalty-multiplier); a policy's "
                "decisions add it, held to the policy's charges cap."
            )
        else:
            print(f"\nPenalty interest at {args.penalty_multiplier} × the contract rate, uncapped.")
    return EXIT_REJECTED if summary.rejected else EXIT_OK


def _test_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(sorted(path.glob("*.tests.yaml")))
        elif path.exists():
            files.append(path)
        else:
            raise _Usage(f"no such file or folder: {name}")
    if not files:
        raise _Usage("no test files (*.tests.yaml) found")
    return files


def _run_test(args: argparse.Namespace) -> int:
    results = run_test_files(_test_files(args.paths), engine=args.engine)
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
            total = len(result.procedure.obligations)
            covered[result.procedure.path or str(result.path)] = (
                f"coverage of {result.procedure.path}: {total - len(result.uncovered())}/{total} "
                "obligations"
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


def _run_diff(args: argparse.Namespace) -> int:
    if len(args.files) > 2:
        raise _Usage("dunning diff takes OLD [NEW] CASES")
    new_path, cases = (args.old, args.files[0]) if len(args.files) == 1 else args.files
    params = _params(args.param)
    if len(args.files) == 1 and not params:
        raise _Usage("give a second policy, or --param values for a what-if of the first")
    old = load_policy(args.old, engine=args.engine)
    new = load_policy(new_path, engine=args.engine, params=params or None)
    moment = _moment(args, old)
    portfolio: Portfolio | None = args.overdue_customers
    with contextlib.ExitStack() as opened:
        # The output files are opened first: a path that cannot be written fails before the work.
        report = opened.enter_context(_Report(args))
        out = opened.enter_context(_open_output(args.changed)) if args.changed else None
        given = opened.enter_context(_open_binary(cases))
        stream = opened.enter_context(_rereadable(given, old, new, figure=portfolio))
        result = diff_policies(
            old,
            new,
            _numbered_cases(stream),
            as_of=moment,
            **_diff_figures(old, new, stream, moment, portfolio),
        )
        if out is not None:
            for change in result.changes:
                out.write(json.dumps(change.to_dict(), ensure_ascii=False) + "\n")
        if args.format == "text":
            result.render(report.text)
            if out is not None:
                print(f"{len(result.changes)} changed case(s) written to {args.changed}",
                      file=report.text)  # fmt: skip
        else:
            report.write("diff", result.to_dict())
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
        counts.append(Portfolio(len(policy.overdue_borrowers(_items(stream), as_of=moment))))
        stream.seek(0)
    return {"portfolio": counts[0], "new_portfolio": counts[1]}


def _open_output(path: str) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise _Usage(f"cannot write {path}: {exc.strerror or exc}") from None


# --- the agency's day: intake, assign, handover -----------------------------------------------


def _run_intake(args: argparse.Namespace) -> int:
    settings = load_policy(args.policy).ir.agency.intake if args.policy else IntakeSettings()
    kind = args.input_format or format_of(Path(args.bank_file))
    layout = settings.banks.get(args.bank) if kind != "jsonl" else None
    # The policy's layout of the bank's sheets, with what the command line adds or changes.
    columns = {**(layout.columns if layout else {}), **parse_columns(args.column)}
    defaults = {**(layout.defaults if layout else {}), **_settings(args.defaults)}
    try:
        result = intake(
            args.bank_file,
            bank=args.bank,
            received_at=args.received_at,
            store=args.store,
            backups=args.backup,
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
            print(f"dunning: batch {payload.batch_id} was taken in before: no new events",
                  file=sys.stderr)  # fmt: skip
    elif args.format == "json":
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        render_intake(result, sys.stdout)
    return EXIT_REJECTED if payload.rejected or payload.late else EXIT_OK


def _settings(pairs: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise _Usage(f"--set takes FIELD=VALUE, not {pair!r}")
        values[name.strip()] = value.strip()
    return values


def _run_assign(args: argparse.Namespace) -> int:
    policy = _load(args)
    collectors = load_collectors(args.collectors)
    moment = _moment(args, policy)
    with _open_binary(args.cases) as stream:
        numbered = _Numbered(_numbered_cases(stream))
        run = assign(
            _Checked(numbered), policy=policy, collectors=collectors,
            events=args.events or (), as_of=moment, actor=args.actor,
        )  # fmt: skip
    jsonl = args.format == "jsonl"
    for error in run.event_errors:
        _reject(error, "events", jsonl)
    rejected = len(run.event_errors)
    for result in run.results:
        if isinstance(result, CaseError):
            rejected += 1
            _reject(result, "cases", jsonl)
    title = f"Assignment as of {moment.isoformat()}"
    _emit(
        args.format, run.events, run.to_dict(), lambda out: render_assignment(run, out, title=title)
    )
    return EXIT_REJECTED if rejected else EXIT_OK


def _emit(
    how: str, events: Sequence[Any], data: dict[str, Any], render: Callable[[TextIO], None]
) -> None:
    """A run's events as JSON lines, its summary as JSON, or the summary rendered as a table."""
    if how == "jsonl":
        for event in events:
            sys.stdout.write(event.model_dump_json() + "\n")
    elif how == "json":
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        render(sys.stdout)


def _run_handover(args: argparse.Namespace) -> int:
    collectors = load_collectors(args.collectors)
    policy = load_policy(args.policy) if args.policy else None
    if (policy is None) != (args.cases is None):
        raise _Usage("--policy and --cases go together (each case's needs and next action)")
    moment: datetime
    if policy is not None:
        moment = _moment(args, policy)
    elif isinstance(args.as_of, datetime):
        moment = args.as_of
    elif args.as_of is None:
        moment = datetime.now().astimezone().replace(microsecond=0)
    else:
        raise _Usage("--as-of needs a time with its offset without --policy")
    with contextlib.ExitStack() as stack:
        cases: Iterable[Any] = ()
        if args.cases is not None:
            cases = _items(stack.enter_context(_open_binary(args.cases)))
        try:
            run = handover(
                departing=args.departing, to=args.to, collectors=collectors,
                events=args.events, as_of=moment, policy=policy, cases=cases, actor=args.actor,
            )  # fmt: skip
        except HandoverFailed as exc:
            print(f"dunning: {exc}", file=sys.stderr)
            return EXIT_REJECTED
    if args.sheets is not None:
        run.write_sheets(args.sheets)
    jsonl = args.format == "jsonl"
    for error in run.event_errors:
        _reject(error, "events", jsonl)
    _emit(args.format, run.events, run.to_dict(), lambda out: render_handover(run, out))
    return EXIT_REJECTED if run.event_errors else EXIT_OK


def _run_export(args: argparse.Namespace) -> int:
    made = export_bundle(
        args.store, args.bundle, events=args.events, batches=args.batch, bank=args.bank
    )
    print(
        f"{made.path}: {len(made.batches)} batch(es), {made.cases:,} cases, {made.events:,} events"
    )
    print(f"  {made.digest}")
    return EXIT_OK


def _run_verify(args: argparse.Namespace) -> int:
    problems = verify_bundle(args.bundle)
    for problem in problems:
        print(f"{args.bundle}: {problem}")
    if not problems:
        print(f"{args.bundle}: verified")
    return EXIT_REJECTED if problems else EXIT_OK


def _run_import(args: argparse.Namespace) -> int:
    if verify_bundle(args.bundle):
        return _run_verify(args)
    made = import_bundle(args.bundle, args.into)
    print(
        f"{args.into}: {len(made.batches)} batch(es), {made.cases:,} cases, {made.events:,} events"
    )
    return EXIT_OK


def _run_audit(args: argparse.Namespace) -> int:
    procedure = load_procedure(args.procedure)
    moment = args.as_of or datetime.now(procedure.zone).replace(microsecond=0)
    with _Report(args) as report:
        with _open_binary(args.events) as stream:
            found = audit(stream, procedure=procedure, as_of=moment, start=args.start, end=args.end)
        if args.format == "table":
            found.render(report.text)
        else:
            report.write("audit", found.to_dict())
    return EXIT_REJECTED if found.errors or found.event_errors else EXIT_OK


def _run_performance(args: argparse.Namespace) -> int:
    from .agency.performance import performance

    procedure = load_procedure(args.procedure)
    moment = args.as_of or datetime.now(procedure.zone).replace(microsecond=0)
    period: Literal["week", "month", "range"]
    if args.week is not None:
        period, (start, end) = "week", args.week
    elif args.month is not None:
        period, (start, end) = "month", args.month
    else:
        if args.end is None or args.end < args.start:
            raise _Usage("--from needs --to, on or after it")
        period, start, end = "range", args.start, args.end
    teams = None
    if args.collectors is not None:
        teams = {c.collector_id: c.team for c in load_collectors(args.collectors) if c.team}
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(_Report(args))
        payments: Iterable[LedgerLine | CaseError] = ()
        if args.ledger is not None:
            stream = stack.enter_context(_open_binary(args.ledger))
            payments = _ledger_lines(args, stream)
        events = stack.enter_context(_open_binary(args.events))
        report = performance(events, procedure=procedure, as_of=moment, start=start, end=end,
                             period=period, payments=payments, teams=teams)  # fmt: skip
        if args.format == "table":
            render_performance(report, output.text)
        elif args.format == "csv":
            report.write_csv(output.text)  # a line per row, as before the other forms
        else:
            output.write("performance", report.to_dict())
    unreadable = report.audit.event_errors or report.payment_errors
    return EXIT_REJECTED if unreadable else EXIT_OK


def _iso_week(text: str) -> tuple[date, date]:
    try:
        monday = date.fromisoformat(f"{text}-1" if len(text) == 8 else text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO week YYYY-Www") from None
    if len(text) != 8 or monday.weekday() != 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO week YYYY-Www")
    return monday, monday + timedelta(days=6)


def _month(text: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM") from None
    if len(text) != 7:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _run_schema(args: argparse.Namespace) -> int:
    from .rules.schema import policy_json_schema

    schema: dict[str, Any]
    if args.kind == "case":
        schema = Case.model_json_schema()
    elif args.kind == "decision":
        schema = Decision.model_json_schema(mode="serialization")
    elif args.kind == "event":
        schema = event_json_schema()
    elif args.kind == "agencies":
        schema = agencies_json_schema()
    elif args.kind == "collectors":
        schema = collectors_json_schema()
    elif args.kind == "ledger":
        schema = LedgerLine.model_json_schema()
    elif args.kind == "claim":
        schema = ClaimLine.model_json_schema()
    else:
        schema = policy_json_schema()
    json.dump(schema, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK
