"""The ``dunning`` command's argument tree: each subcommand, its options and its ``run``.

A new command is a ``run_NAME(args) -> int`` in the module of its wing (decisions, placing,
money, agency, rulefiles) and its parser here, made of the shared options of
:mod:`dunning.cli.options` where it has them. Each command names its ``run`` as
``module.function``: only the module of the command being run is imported (``dunning settle``
never loads the rule engines).
"""

from __future__ import annotations

import argparse
from typing import Any

from .._version import __version__
from .options import (
    REPORT_FORMATS,
    as_of_moment,
    as_of_option,
    aware,
    day,
    decimal_value,
    engine_option,
    figure_option,
    iso_week,
    jobs_count,
    ledger_options,
    money_options,
    month_span,
    param_option,
    performance_rates,
    policy_options,
    report_options,
)
from .rulefiles import SCHEMA_KINDS

#: What ``dunning record KIND`` records: the event types staff write, by a short name.
RECORD_KINDS = {
    "contact": "contact.recorded",
    "review": "visit.reviewed",
    "request": "approval.requested",
    "grant": "approval.granted",
    "refuse": "approval.refused",
    "start": "procedure.started",
    "end": "procedure.ended",
    "close": "case.closed",
    "report": "report.filed",
    "reconciliation": "reconciliation.filed",
    "force-majeure": "force_majeure.noted",
    "force-majeure-report": "force_majeure.reported",
    "coordination": "coordination.filed",
}
_APPROVAL: tuple[str, ...] = ("request_id", "procedure", "instalments", "amount", "until")
_APPROVAL += ("reason", "filed_ref", "outcome", "bank_ref", "covers*")
#: Each kind's payload fields (``*``: given as often as needed), as the event contract has them
#: (a test holds them to it): the options are built without importing the contract's models.
RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "contact": (
        "record_id",
        "contacted_at",
        "channel",
        "party_id",
        "outcome",
        "overdue_reason",
        "repayment_attitude",
        "repayment_plan",
        "promise_amount",
        "promise_due",
        "recording_ref",
        "recording_digest",
        "note",
        "party_role",
        "timezone",
        "number",
        "debt_disclosed",
    ),
    "review": ("record_id", "result", "note"),
    **dict.fromkeys(("request", "grant", "refuse", "start", "end"), _APPROVAL),
    "close": ("reason", "note"),
    "report": (
        "period_start",
        "period_end",
        "kind",
        "scope",
        "ref",
        "digest",
        "approved_by",
        "approvals*",
        "filed_with",
    ),
    "reconciliation": (
        "period_start",
        "period_end",
        "bank",
        "agrees",
        "ours",
        "theirs",
        "differences",
        "ref",
    ),
    "force-majeure": ("incident", "nature", "banks*", "began", "cases*", "note"),
    "force-majeure-report": ("incident", "bank", "ref", "note"),
    "coordination": ("other_branch", "ref", "arrangement"),
}


def _recording(commands: Any) -> None:
    """``dunning record KIND`` and ``dunning history CASE``."""
    record = commands.add_parser(
        "record",
        help="record one event of the agency's day (a contact, a request…) in the event log",
        description="Build one event of the contract from the options, check it, warn of what "
        "the procedure would find of it (contact hours in the party's zone, a day's caps, a "
        "third party, a late record, a plan beyond the bank's limit: with --procedure), and "
        "append it to --events once, under a lock (the same record again appends nothing). "
        "--check warns without recording. Exit 0 recorded (warnings or not), 1 not recorded "
        "(it does not fit the contract, or --check found something), 2 usage error.",
    )
    kinds = record.add_subparsers(dest="kind", required=True, metavar="KIND")
    for short, kind in RECORD_KINDS.items():
        sub = kinds.add_parser(short, help=f"a {kind} event", description=f"Record a {kind}.")
        sub.add_argument("--events", required=True, metavar="EVENTS.jsonl", help="the log")
        sub.add_argument("--actor", required=True, help="who records it (the event's actor)")
        sub.add_argument("--case", default=None, metavar="CASE_ID", help="the case")
        sub.add_argument(
            "--at", type=aware, default=None, metavar="ISO-8601", help="when (default: now)"
        )
        sub.add_argument("--procedure", default=None, help="the procedure file: warnings")
        sub.add_argument("--collectors", default=None, help="the staff's roles: warnings")
        if short == "contact":
            sub.add_argument(
                "--cases", default=None, help="the case file: the party's role and time zone"
            )
        sub.add_argument("--check", action="store_true", help="warn only; record nothing")
        for field in RECORD_FIELDS[short]:
            name = field.rstrip("*")
            # (a request's ``procedure`` is the special one: --procedure is the procedure file)
            option = "special-procedure" if name == "procedure" else name.replace("_", "-")
            sub.add_argument(
                "--" + option,
                dest=f"field_{name}",
                default=None,
                action="append" if field.endswith("*") else "store",
                metavar="VALUE",
                help=f"the payload's {name} (docs/events.md)",
            )
        sub.set_defaults(run="recording.run_record")
    history = commands.add_parser(
        "history",
        help="every event of one case, in time order",
        description="Read the event log once and list the case's events in time order (file "
        "order for the same time): intake, refreshes, assignment, contacts, requests and "
        "approvals, placements, handovers, closing. Exit 0, 1 no event of the case or an "
        "unreadable line of it, 2 usage error.",
    )
    history.add_argument("case", metavar="CASE_ID")
    history.add_argument("--events", required=True, metavar="EVENTS.jsonl")
    history.add_argument("--policy", default=None, help="with --cases: the next step now")
    history.add_argument("--cases", default=None, metavar="CASES.jsonl", help="the case file")
    history.add_argument(
        "--as-of", type=aware, default=None, metavar="ISO-8601", help="the next step's moment"
    )
    history.add_argument("--format", choices=("text", "json"), default="text")
    history.set_defaults(run="recording.run_history")


def build_parser() -> argparse.ArgumentParser:
    """The ``dunning`` command and its subcommands, each with its ``run`` function."""
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
    param_option(check)
    check.set_defaults(run="rulefiles.run_check")

    decide = commands.add_parser(
        "decide",
        help="decide the next action and fee terms for each case of a JSON Lines file",
        description="One output line per input line, in order: a decision, or an error record "
        "naming the line. Exit 0 all decided, 1 some rejected, 2 usage error.",
    )
    policy_options(decide)
    decide.add_argument("cases", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    figure_option(
        decide,
        "the portfolio figure for rules that read it, whole or per product; default: the "
        "distinct overdue borrowers in the input (counted only when a rule reads it)",
    )
    report_options(
        decide,
        ("jsonl", "table", *REPORT_FORMATS),
        "jsonl",
        "jsonl: a decision (or error record) per line; table: the summary; json, html, csv, "
        "xlsx: the summary as data, a page, figures, a workbook",
    )
    decide.add_argument(
        "--jobs",
        type=jobs_count,
        default=1,
        help="worker processes (output order is kept; default 1)",
    )
    decide.add_argument(
        "--agencies",
        default=None,
        help="the agencies file: decide each case as `dunning place` would on this run (placed, "
        "proposed, recalled as the events say; a case sent out proposed to its agency), "
        "writing no event; in one process",
    )
    decide.add_argument(
        "--placements",
        default=None,
        metavar="EVENTS.jsonl",
        help="the placement events so far (with --agencies)",
    )
    decide.add_argument(
        "--performance",
        type=performance_rates,
        default=None,
        metavar="AGENCY=RATE,...",
        help="recovery rate per agency, for the performance strategy (with --agencies)",
    )
    decide.add_argument(
        "--skip-uncovered",
        action="store_true",
        help="count cases of products the policy does not cover as skipped, not rejected",
    )
    decide.set_defaults(run="decisions.run_decide")

    explain = commands.add_parser(
        "explain",
        help="why one case gets its decision: every rule, matched or not",
    )
    policy_options(explain)
    explain.add_argument(
        "case",
        help="a file with one case as JSON, or a JSON Lines file with --case-id; - for stdin",
    )
    explain.add_argument(
        "--case-id", default=None, help="the case to explain, from a JSON Lines file of cases"
    )
    figure_option(
        explain,
        "the portfolio figure, needed when the policy's rules read it",
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
    explain.set_defaults(run="decisions.run_explain")

    assess = commands.add_parser(
        "assess",
        help="delinquency of each case in a JSON Lines file",
        description="Assess every case of a JSON Lines file: days past due, bucket, overdue "
        "amounts. Bad lines are reported with their line numbers; the rest are still assessed.",
    )
    assess.add_argument("cases", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    assess.add_argument("--as-of", type=as_of_moment, default=None, help="date or aware datetime")
    assess.add_argument("--format", choices=("table", "jsonl"), default="table")
    assess.add_argument(
        "--penalty-multiplier",
        type=decimal_value,
        default=None,
        help="accrue penalty interest at the contract rate × this (e.g. 1.5); default: none",
    )
    assess.set_defaults(run="decisions.run_assess")

    test = commands.add_parser(
        "test",
        help="run analyst test files (*.tests.yaml) and report rule coverage",
        description="Run every *.tests.yaml test file (or those of a folder): failures compiler "
        "style, then the rules no test reaches. Exit 0 all passed, 1 a test failed (or, with "
        "--strict, a rule is uncovered), 2 usage error.",
    )
    test.add_argument("paths", nargs="+", help="test files or folders")
    engine_option(test)
    test.add_argument("--strict", action="store_true", help="fail when a rule is uncovered")
    test.set_defaults(run="decisions.run_test")

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
    param_option(diff, "a parameter value for the new policy: a what-if without a second file")
    report_options(diff, ("text", *REPORT_FORMATS), "text")
    diff.add_argument("--as-of", type=as_of_moment, default=None, help="date or aware datetime")
    figure_option(
        diff,
        "the portfolio figure for both policies; default: each counts the input",
    )
    diff.add_argument("--changed", default=None, metavar="OUT.jsonl", help="write changed cases")
    diff.add_argument(
        "--skip-uncovered",
        action="store_true",
        help="count cases of products neither policy covers as skipped, not rejected by both",
    )
    engine_option(diff)
    diff.set_defaults(run="decisions.run_diff")

    place = commands.add_parser(
        "place",
        help="place the cases the rules send to agencies, and recall placed ones: events out",
        description="Decide every case of a JSON Lines file, recall placed cases the recall "
        "rules bring back, and allocate the cases sent out among the eligible agencies. One "
        "JSON line per placement event (and an error record per bad case or event line); "
        "--format table: a summary per agency. Exit 0 all read, 1 some lines rejected, 2 "
        "usage error.",
    )
    policy_options(place)
    place.add_argument("cases", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    place.add_argument("--agencies", required=True, help="the agencies file (YAML)")
    place.add_argument(
        "--placements",
        default=None,
        metavar="EVENTS.jsonl",
        help="the placement events so far (the output of earlier runs, and the host's "
        "placement.returned events)",
    )
    figure_option(
        place,
        "the portfolio figure for rules that read it; default: counted over the input",
    )
    place.add_argument(
        "--performance",
        type=performance_rates,
        default=None,
        metavar="AGENCY=RATE,...",
        help="recovery rate per agency, for the performance strategy",
    )
    report_options(
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
    place.set_defaults(run="placing.run_place")

    notice = commands.add_parser(
        "notice",
        help="record what became of the placement notices: placement.noticed events out",
        description="For every proposal of the placement events still waiting for its notice, "
        "a placement.noticed event: delivered, or failed for the cases --failed names (the SMS "
        "gateway's report). Append them to the placement events: the next `dunning place` "
        "places a proposal once its notice is old enough, and closes one whose notice failed. "
        "Exit 0, 1 some event lines rejected, 2 usage error.",
    )
    notice.add_argument("--policy", required=True, help="the policy (its time zone)")
    as_of_option(notice, "when the gateway reported")
    notice.set_defaults(engine="compiled", param=[])
    notice.add_argument(
        "--placements", required=True, metavar="EVENTS.jsonl", help="the placement events so far"
    )
    notice.add_argument(
        "--failed",
        action="append",
        default=[],
        metavar="CASE_ID,...",
        help="cases whose notice did not reach the borrower (repeatable)",
    )
    notice.set_defaults(run="placing.run_notice")

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
    money_options(settle)
    settle.add_argument("--agency", default=None, help="only this agency's statements")
    report_options(
        settle,
        ("table", "json", "csv", "jsonl", "html", "xlsx"),
        "table",
        "table: statements and accounting; json: the same as one document; csv: the "
        "statement lines; jsonl: every ledger line with its category, then the accounting; "
        "html, xlsx: the statements, their lines and the accounting as a page, a workbook",
    )
    settle.set_defaults(run="money.run_settle")

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
    money_options(reconcile)
    reconcile.add_argument(
        "--claim-format",
        choices=("jsonl", "csv", "xlsx"),
        default=None,
        help="the claim's format (default: by its extension; JSON Lines otherwise)",
    )
    reconcile.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help="the claim's column for a field (reference, case_id, date, amount, rate, "
        "commission, agency_id); repeatable; default: the agency's claim_columns",
    )
    reconcile.add_argument("--sheet", default=None, help="the workbook's sheet (default: first)")
    report_options(reconcile, ("table", *REPORT_FORMATS), "table")
    reconcile.set_defaults(run="money.run_reconcile")

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
    money_options(costs, periods=False)
    costs.add_argument(
        "--snapshot",
        action="append",
        default=[],
        metavar="CASES.jsonl=YYYY-MM-DD",
        help="a dated snapshot of the portfolio; give two for the roll rates between them",
    )
    report_options(costs, ("table", *REPORT_FORMATS), "table")
    costs.set_defaults(run="money.run_costs")

    _agency_commands(commands)

    schema = commands.add_parser(
        "schema",
        help="print a JSON Schema: of a case, a decision, a policy file, an event, an agencies "
        "file, a collectors file, a ledger line or a claim line",
    )
    schema.add_argument("kind", choices=SCHEMA_KINDS)
    schema.set_defaults(run="rulefiles.run_schema")
    return parser


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
        "--received-at",
        required=True,
        type=aware,
        metavar="ISO-8601",
        help="when the file was received (with its offset)",
    )
    intake.add_argument("--store", required=True, metavar="DIR", help="the agency's case store")
    intake.add_argument(
        "--backup",
        action="append",
        default=[],
        required=True,
        metavar="DIR",
        help="a backup directory; repeatable (the policy's agency: intake: backups, default 2)",
    )
    intake.add_argument("--policy", default=None, help="the policy (its intake target)")
    intake.add_argument(
        "--procedure",
        default=None,
        help="the procedure file: a bank whose agreement it does not file is refused",
    )
    intake.add_argument("--actor", default="dunning", help="who takes it in (the events' actor)")
    intake.add_argument(
        "--input-format",
        choices=("jsonl", "csv", "xlsx"),
        default=None,
        help="the file's format (default: by its extension)",
    )
    intake.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help="the sheet's column for a case field (loan.principal=透支本金); repeatable",
    )
    intake.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        dest="defaults",
        help="a value for a field the sheet leaves out (loan.product=credit_card); repeatable",
    )
    intake.add_argument("--sheet", default=None, help="the workbook's sheet (default: the first)")
    intake.add_argument("--encoding", default="utf-8", help="of a CSV file (e.g. gb18030)")
    intake.add_argument(
        "--format",
        choices=("table", "json", "jsonl"),
        default="table",
        help="a summary, the summary as JSON, or the batch's events",
    )
    intake.set_defaults(run="agency.run_intake")

    assign = commands.add_parser(
        "assign",
        help="assign cases to collectors by the policy's assignment rules: events out",
        description="Give each case a collector (team, skills, language by the policy's agency: "
        "assignment: rules; capacity held; a case keeps its active collector). One JSON line "
        "per assignment event; --format table: the load per collector. Exit 0, 1 some lines "
        "rejected, 2 usage error.",
    )
    policy_options(assign)
    assign.add_argument("cases", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    assign.add_argument("--collectors", required=True, help="the collectors file (YAML)")
    assign.add_argument("--events", default=None, metavar="EVENTS.jsonl", help="the events so far")
    assign.add_argument("--actor", default="dunning", help="who assigns (the events' actor)")
    assign.add_argument("--format", choices=("jsonl", "table", "json"), default="jsonl")
    assign.set_defaults(run="agency.run_assign")

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
    handover.add_argument(
        "--to", action="append", required=True, metavar="COLLECTOR", help="a receiver; repeatable"
    )
    handover.add_argument("--collectors", required=True, help="the collectors file (YAML)")
    handover.add_argument(
        "--events", required=True, metavar="EVENTS.jsonl", help="the events so far"
    )
    handover.add_argument("--policy", default=None, help="the policy (needs, next actions)")
    handover.add_argument(
        "--cases", default=None, metavar="CASES.jsonl", help="the case file (with --policy)"
    )
    handover.add_argument("--as-of", type=as_of_moment, default=None, help="default: now")
    handover.add_argument(
        "--actor",
        required=True,
        help="the team lead or supervisor who supervises it (the events' actor; their role in "
        "the collectors file)",
    )
    handover.add_argument(
        "--sheets", default=None, metavar="DIR", help="write each case's sheet as DIR/CASE.json"
    )
    handover.add_argument("--format", choices=("jsonl", "table", "json"), default="jsonl")
    handover.set_defaults(run="agency.run_handover")

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
    export.set_defaults(run="agency.run_export")

    verify = commands.add_parser(
        "verify",
        help="check an archive written by dunning export against its checksums",
        description="Check the archive's limits, every member against MANIFEST.sha256, and each "
        "batch against its own manifest. Exit 0 verified, 1 not.",
    )
    verify.add_argument("bundle", metavar="BUNDLE.zip")
    verify.set_defaults(run="agency.run_verify")

    unpack = commands.add_parser(
        "import",
        help="verify an archive and unpack it into an empty directory, as a store",
        description="Verify the archive, then unpack it into DIR (new or empty): batches/… and "
        "events.jsonl, all or nothing. Exit 0, 1 the archive does not verify, 2 usage error.",
    )
    unpack.add_argument("bundle", metavar="BUNDLE.zip")
    unpack.add_argument("--into", required=True, metavar="DIR")
    unpack.set_defaults(run="agency.run_import")

    audit = commands.add_parser(
        "audit",
        help="hold the agency's events to its procedure file: findings with their evidence",
        description="Read the event log once and report each breach of the procedure file's "
        "obligations with its severity, case, collector, evidence lines and what was expected. "
        "Exit 0 no error findings, 1 error findings (or unreadable event lines), 2 usage error.",
    )
    audit.add_argument("events", metavar="EVENTS.jsonl", help="the event log, or - for stdin")
    audit.add_argument("--procedure", required=True, help="the procedure file (YAML)")
    audit.add_argument(
        "--as-of",
        type=aware,
        default=None,
        metavar="ISO-8601",
        help="when the audit is made (default: now)",
    )
    audit.add_argument(
        "--from",
        dest="start",
        type=day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the first day audited (default: the first event's)",
    )
    audit.add_argument(
        "--to",
        dest="end",
        type=day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the last day audited (default: the --as-of day)",
    )
    audit.add_argument(
        "--collectors",
        default=None,
        metavar="COLLECTORS",
        help="the collectors file: each person's role, for the roles obligation and the "
        "monthly report's approvers (without it they are not checked, and the audit says so)",
    )
    report_options(audit, ("table", *REPORT_FORMATS), "table")
    audit.set_defaults(run="agency.run_audit")

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
    perf.add_argument(
        "--as-of",
        type=aware,
        default=None,
        metavar="ISO-8601",
        help="when the report is made (default: now)",
    )
    span = perf.add_mutually_exclusive_group(required=True)
    span.add_argument(
        "--week",
        type=iso_week,
        default=None,
        metavar="YYYY-Www",
        help="an ISO week, Monday to Sunday (e.g. 2026-W46)",
    )
    span.add_argument(
        "--month", type=month_span, default=None, metavar="YYYY-MM", help="a calendar month"
    )
    span.add_argument(
        "--from",
        dest="start",
        type=day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the first day of a range (with --to)",
    )
    perf.add_argument(
        "--to",
        dest="end",
        type=day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the last day of a range (with --from)",
    )
    perf.add_argument(
        "--ledger",
        default=None,
        metavar="PAYMENTS",
        help="the bank's payment file: JSON Lines, CSV or .xlsx in the ledger "
        "format (without it, nothing is recovered)",
    )
    perf.add_argument(
        "--currency",
        default="CNY",
        metavar="CODE",
        help="the payments' currency (default CNY): a line in another is refused",
    )
    ledger_options(perf)
    perf.add_argument(
        "--collectors",
        default=None,
        help="the collectors file: each collector's team (default: the team the "
        "events last gave them)",
    )
    report_options(perf, ("table", *REPORT_FORMATS), "table")
    perf.set_defaults(run="agency.run_performance")

    _recording(commands)
