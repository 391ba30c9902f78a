"""Collector performance: the month's figures are right, and every level adds up to the whole."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_dunning
from dunning import read_ledger_table
from dunning.agency.performance import FIGURES, CollectorFigures, Performance, performance
from dunning.agency.procedure import load_procedure, loads_procedure
from dunning.money import round_money
from dunning.settlement.ledger import LedgerLine

ROOT = Path(__file__).resolve().parent.parent
AGENCY = ROOT / "examples" / "agency"
EVENTS = (AGENCY / "events.jsonl").read_text(encoding="utf-8").splitlines()
PROCEDURE = load_procedure(ROOT / "rules" / "agency_procedure.yaml")
CST = timezone(timedelta(hours=8))
AS_OF = datetime(2026, 12, 11, 9, 0, tzinfo=CST)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def payments() -> list[Any]:
    with (AGENCY / "payments.csv").open("rb") as stream:
        return list(read_ledger_table(stream))


def month(lines: list[str] = EVENTS, **kwargs: Any) -> Performance:
    return performance(
        lines,
        procedure=PROCEDURE,
        as_of=AS_OF,
        start=NOVEMBER[0],
        end=NOVEMBER[1],
        period="month",
        **kwargs,
    )


def levels_add_up(report: Performance) -> None:
    """Collectors add up to teams, teams and banks to the whole: every figure, exactly, but
    the cases worked, which are counted once however many collectors worked them."""

    def summed(figures: list[CollectorFigures]) -> CollectorFigures:
        return replace(sum(figures, CollectorFigures()), worked=0)

    rows = {
        level: [r.figures for r in report.rows if r.level == level]
        for level in ("collector", "team", "bank", "total")
    }
    whole = summed(rows["collector"])
    assert summed(rows["team"]) == whole
    assert summed(rows["bank"]) == whole
    assert [replace(r, worked=0) for r in rows["total"]] == [whole]
    total = report.total.worked
    assert max((r.worked for r in rows["team"]), default=0) <= total
    assert total <= sum(r.worked for r in rows["team"]) <= sum(r.worked for r in rows["collector"])
    for team in {r.team for r in report.rows if r.level == "collector"}:
        members = [r.figures for r in report.rows if r.level == "collector" and r.team == team]
        (row,) = [r.figures for r in report.rows if r.level == "team" and r.team == team]
        assert summed(members) == replace(row, worked=0)


def test_the_example_month_counts_what_the_log_and_the_payments_hold() -> None:
    paid = payments()
    report = month(payments=paid)
    levels_add_up(report)
    total = report.total
    records = [json.loads(e) for e in EVENTS if '"contact.recorded"' in e]
    assert total.attempts == len(records) == 260
    assert total.right_party_contacts == sum(
        r["payload"]["outcome"] in ("connected", "promised", "refused") for r in records
    )
    assert total.promises_made == sum(
        r["payload"].get("promise_amount") is not None for r in records
    )
    # Worked: each case once (C1's cases handed to C2 and L1 were worked by two).
    assert total.worked == len({r["case_id"] for r in records}) == 37
    by_collector = [r.figures.worked for r in report.rows if r.level == "collector"]
    assert sum(by_collector) == len({(r["case_id"], r["actor"]) for r in records}) == 44
    names = {r.collector: r.name for r in report.rows if r.level == "collector"}
    assert names == dict.fromkeys(names)  # no collectors file given: ids alone
    closed = {json.loads(e)["case_id"] for e in EVENTS if '"case.closed"' in e}
    assert total.held == 37 - len(closed)
    # Every payment of November is credited to a collector, or shown unmatched (SH-9999).
    signed = sum(-p.amount if p.reverses else p.amount for p in paid)
    assert total.recovered + report.unmatched_amount == signed
    assert report.unmatched == {"no_case": 1} and report.unmatched_amount == Decimal("500.00")
    assert total.commission == sum(
        round_money((-p.amount if p.reverses else p.amount) * Decimal("0.18"))
        for p in paid
        if p.case_id != "SH-9999"
    )
    assert 0 < total.promises_kept <= total.promises_due
    # Two started in the month's first weeks, one more once the handover escalated it.
    assert (total.procedures_opened, total.procedures_closed) == (3, 1)
    assert report.approval is not None and report.approval["state"] == "approved"
    assert report.approval["approvals"] == ["M1", "S1"]
    # The month's one finding: C1's request, decided a week late (a warning, on C1's row).
    assert total.findings == 1
    c1 = next(r.figures for r in report.rows if r.collector == "C1")
    assert c1.held == 0 and c1.attempts > 0  # C1 left on 16 November


def test_findings_are_counted_for_their_collector_and_day() -> None:
    index = next(i for i, e in enumerate(EVENTS) if '"contact.recorded"' in e)
    event = json.loads(EVENTS[index])
    event["at"] = (datetime.fromisoformat(event["at"]) + timedelta(days=1)).isoformat()
    late = [*EVENTS[:index], json.dumps(event, ensure_ascii=False), *EVENTS[index + 1 :]]
    report = month(late)
    row = next(r for r in report.rows if r.level == "collector" and r.collector == event["actor"])
    before = next(
        r for r in month().rows if r.level == "collector" and r.collector == event["actor"]
    )
    assert row.figures.findings == before.figures.findings + 1
    assert report.total.findings == month().total.findings + 1
    levels_add_up(report)


def test_staff_who_work_no_case_are_not_collectors_and_names_are_shown() -> None:
    """A late intake is the admin assistant's finding: counted, but on no collector's row."""
    index = next(i for i, e in enumerate(EVENTS) if '"intake.completed"' in e)
    event = json.loads(EVENTS[index])
    completed = datetime.fromisoformat(event["payload"]["received_at"]) + timedelta(hours=3)
    event["payload"]["completed_at"] = completed.isoformat()
    late = [*EVENTS[:index], json.dumps(event, ensure_ascii=False), *EVENTS[index + 1 :]]
    names = {"C1": "王芳", "C2": "李明"}
    report = month(late, names=names)
    collectors = {r.collector for r in report.rows if r.level == "collector"}
    assert event["actor"] == "A1" and "A1" not in collectors and None in collectors
    (nobody,) = [r for r in report.rows if r.level == "collector" and r.collector is None]
    assert nobody.figures.findings == 1
    assert {r.collector: r.name for r in report.rows if r.collector in names} == names
    levels_add_up(report)


def test_the_monthly_report_carries_the_approval_state() -> None:
    unapproved = [
        e.replace('"approved_by":"M1"', '"approved_by":null').replace(
            '"approvals":["S1","M1"]', '"approvals":[]'
        )
        for e in EVENTS
    ]
    assert month(unapproved).approval == {
        "state": "not approved",
        "approved_by": None,
        "approvals": [],
        "filed_at": "2026-12-03T16:00:00+08:00",
        "filed_by_line": next(i for i, e in enumerate(EVENTS, 1) if '"kind":"monthly"' in e),
        "ref": "报表/月报-2026-11.xlsx",
    }
    missing = [e for e in EVENTS if '"kind":"monthly"' not in e]
    assert month(missing).approval == {"state": "not filed"}


def test_a_week_is_a_slice_of_the_month() -> None:
    mondays = [date(2026, 11, 2) + timedelta(days=7 * n) for n in range(4)]
    weeks = [
        performance(
            EVENTS,
            procedure=PROCEDURE,
            as_of=AS_OF,
            start=monday,
            end=monday + timedelta(days=6),
            period="week",
            payments=payments(),
        )
        for monday in mondays
    ]
    whole = month(payments=payments()).total
    # Contacts and payments of the four weeks (2–29 November) are the month's, less the 30th.
    assert sum(w.total.attempts for w in weeks) <= whole.attempts
    assert sum(w.total.recovered for w in weeks) <= whole.recovered
    assert all(w.approval is None for w in weeks)


def test_commission_needs_the_banks_terms() -> None:
    text = (ROOT / "rules" / "agency_procedure.yaml").read_text(encoding="utf-8")
    bare = loads_procedure(text.split("\nbanks:")[0] + "\n")
    report = performance(
        EVENTS, procedure=bare, as_of=AS_OF, start=NOVEMBER[0], end=NOVEMBER[1], payments=payments()
    )
    assert report.total.commission == 0 and report.total.recovered > 0
    assert report.no_terms == ["SH-BANK"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    procedure = str(ROOT / "rules" / "agency_procedure.yaml")
    head = ("performance", "--procedure", procedure, "--as-of", "2026-12-11T09:00:00+08:00")
    return run_dunning(*head, *args)


def test_dunning_performance_writes_table_json_and_csv() -> None:
    common = [
        "--month",
        "2026-11",
        "--ledger",
        str(AGENCY / "payments.csv"),
        "--collectors",
        str(AGENCY / "collectors.yaml"),
        str(AGENCY / "events.jsonl"),
    ]
    table = run(*common)
    assert table.returncode == 0, table.stderr
    assert "Monthly report: approved by M1" in table.stdout and "By team" in table.stdout
    data = json.loads(run(*common, "--format", "json").stdout)
    total = data["rows"][-1]
    assert total["level"] == "total" and total["attempts"] == 260
    rows = list(csv.DictReader(io.StringIO(run(*common, "--format", "csv").stdout)))
    assert [r["level"] for r in rows] == [r["level"] for r in data["rows"]]
    assert rows[-1]["recovered"] == total["recovered"]
    week = run("--week", "2026-W46", str(AGENCY / "events.jsonl"))
    assert week.returncode == 0 and "2026-11-09 – 2026-11-15 (week)" in week.stdout
    bad = run("--week", "2026-46", str(AGENCY / "events.jsonl"))
    assert bad.returncode == 2 and "not an ISO week" in bad.stderr


# --- the property: any log, any payments — every level adds up, and to what was read --------

COLLECTORS = {"A": "north", "B": "north", "C": "south", "D": None}
DAYS = [date(2026, 10, 26) + timedelta(days=n) for n in range(45)]
START, END = date(2026, 11, 2), date(2026, 11, 29)


def _at(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CST).isoformat()


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[str], list[LedgerLine], dict[str, Any]]:
    """A log of a few cases of two banks and the payments around it, with what to expect."""
    lines: list[tuple[str, str]] = []
    expect: dict[str, Any] = {"attempts": 0, "held": 0}

    def add(at: str, type_: str, actor: str, case_id: str, **payload: Any) -> None:
        lines.append(
            (
                at,
                json.dumps(
                    {
                        "type": type_,
                        "at": at,
                        "actor": actor,
                        "case_id": case_id,
                        "payload": payload,
                    }
                ),
            )
        )

    for n in range(draw(st.integers(1, 6))):
        case_id = f"K{n}"
        bank = draw(st.sampled_from(["B1", "B2"]))
        start = draw(st.sampled_from(DAYS[:30]))
        add(_at(start, 9), "case.received", "A1", case_id, batch_id="X", bank=bank, line=n + 1)
        holder = draw(st.sampled_from(sorted(COLLECTORS)))
        add(
            _at(start, 10),
            "assignment.assigned",
            "L1",
            case_id,
            collector_id=holder,
            team=COLLECTORS[holder],
            reason="new",
        )
        closed_on = draw(st.none() | st.sampled_from(DAYS))
        for day in sorted(set(draw(st.lists(st.sampled_from(DAYS), max_size=6)))):
            if day <= start or (closed_on and day >= closed_on):
                continue
            if draw(st.integers(0, 4)) == 0:
                to = draw(st.sampled_from(sorted(COLLECTORS)))
                add(
                    _at(day, 9),
                    "handover.completed",
                    "L1",
                    case_id,
                    from_collector=holder,
                    to_collector=to,
                    team=COLLECTORS[to],
                    sheet_digest="sha256:" + "0" * 64,
                )
                holder = to
            outcome = draw(st.sampled_from(["connected", "no_answer", "promised", "refused"]))
            promise = {"promise_amount": "100.00", "promise_due": str(day + timedelta(days=3))}
            add(
                _at(day, 17),
                "contact.recorded",
                holder,
                case_id,
                record_id=f"R{n}{day}",
                contacted_at=_at(day, 11),
                channel="call",
                party_id="borrower",
                outcome=outcome,
                **(promise if outcome == "promised" else {}),
            )
            expect["attempts"] += START <= day <= END
        if closed_on and closed_on > start:
            add(_at(closed_on, 20), "case.closed", "A1", case_id, reason="paid")
        expect["held"] += start <= END and not (closed_on and start < closed_on <= END)
    lines.sort(key=lambda item: item[0])
    paid: list[LedgerLine] = []
    for i in range(draw(st.integers(0, 8))):
        case_id = f"K{draw(st.integers(0, 7))}"  # some are cases the log never had
        amount = Decimal(draw(st.integers(1, 99_999))) / 100
        day = draw(st.sampled_from(DAYS))
        paid.append(LedgerLine(reference=f"P{i}", case_id=case_id, date=day, amount=amount))
        if draw(st.booleans()):
            paid.append(
                LedgerLine(
                    reference=f"V{i}",
                    case_id=case_id,
                    reverses=f"P{i}",
                    date=day + timedelta(days=1),
                    amount=amount,
                )
            )
    return [text for _, text in lines], paid, expect


TERMS = loads_procedure(
    "procedure: p\nobligations:\n  daily_records: {cutoff: '18:00'}\n"
    "banks: {B1: {commission_rate: '0.15'}, B2: {commission_rate: '0.2'}}\n"
)


@settings(deadline=None)  # the profile: 150 examples, 1,000 in the slow one
@given(histories())
def test_every_level_adds_up_to_the_whole(history: tuple[list[str], list[Any], Any]) -> None:
    lines, paid, expect = history
    report = performance(
        lines,
        procedure=TERMS,
        as_of=datetime(2026, 12, 20, tzinfo=CST),
        start=START,
        end=END,
        payments=paid,
    )
    levels_add_up(report)
    total = report.total
    assert total.attempts == expect["attempts"]
    assert total.held == expect["held"]
    in_period = [p for p in paid if START <= p.date <= END]
    signed = sum((-p.amount if p.reverses else p.amount for p in in_period), Decimal(0))
    assert total.recovered + report.unmatched_amount == signed
    never_held = [p for p in in_period if f'"case_id": "{p.case_id}"' not in "".join(lines)]
    assert report.unmatched.get("no_case", 0) == len(never_held)
    assert 0 <= total.promises_kept <= total.promises_due
    for row in report.rows:
        assert all(getattr(row.figures, name) is not None for name in FIGURES)


@pytest.mark.parametrize(
    "bad",
    [{"start": date(2026, 11, 5), "end": date(2026, 11, 1)}, {"as_of": datetime(2026, 12, 1)}],
)
def test_wrong_arguments_are_refused_clearly(bad: dict[str, Any]) -> None:
    from dunning import ArgumentError

    arguments: dict[str, Any] = {
        "procedure": PROCEDURE,
        "as_of": AS_OF,
        "start": NOVEMBER[0],
        "end": NOVEMBER[1],
        **bad,
    }
    with pytest.raises(ArgumentError):
        performance(EVENTS, **arguments)


def test_payments_of_a_case_of_no_known_bank_earn_no_commission_and_say_so() -> None:
    assigned = json.dumps(
        {
            "type": "assignment.assigned",
            "at": "2026-11-02T11:00:00+08:00",
            "actor": "L1",
            "case_id": "X",
            "payload": {"collector_id": "C9", "reason": "new"},
        }
    )
    paid = [
        LedgerLine(
            reference=f"P{i}", case_id="X", date=date(2026, 11, 3 + i), amount=Decimal("10.00")
        )
        for i in range(3)
    ]
    report = performance(
        [assigned],
        procedure=PROCEDURE,
        as_of=AS_OF,
        start=NOVEMBER[0],
        end=NOVEMBER[1],
        payments=paid,
    )
    (row,) = [r for r in report.rows if r.level == "collector" and r.collector == "C9"]
    assert (row.bank, row.figures.recovered) == (None, Decimal("30.00"))
    assert row.figures.commission == 0 and report.no_terms == ["(unknown bank)"]


# --- the payment file and the log held to their rules (issue 31) --------------------------------


def _payment_lines() -> list[str]:
    return (AGENCY / "payments.csv").read_text(encoding="utf-8").splitlines()


def test_the_same_payment_file_twice_counts_each_payment_once() -> None:
    once = month(payments=payments())
    lines = _payment_lines()
    twice = month(
        payments=read_ledger_table(io.BytesIO(("\n".join(lines + lines[1:]) + "\n").encode()))
    )
    assert twice.total.recovered == once.total.recovered == Decimal("227145.00")
    assert twice.total.commission == once.total.commission
    assert len(twice.payment_errors) == len(lines) - 1
    assert {e.problems[0].code for e in twice.payment_errors} == {"duplicate_reference"}
    assert twice.payment_errors[0].line == len(lines) + 1  # the repeat's own line


def test_reversals_that_fit_no_payment_and_other_currencies_are_refused() -> None:
    lines = _payment_lines()
    bad = [
        "REV-1,SH-0006,2026-11-05,9999.00,CNY,PAY-0001,too much",  # over_reversal
        "REV-2,SH-0006,2026-11-05,1.00,CNY,PAY-9999,",  # unknown_payment
        "REV-3,SH-0006,2026-11-01,1.00,CNY,PAY-0001,",  # date_order
        "REV-4,SH-0014,2026-11-05,1.00,CNY,PAY-0001,",  # case_mismatch
        "USD-1,SH-0006,2026-11-05,100.00,USD,,",
        "JPY-1,SH-0006,2026-11-05,100,JPY,,",
    ]
    report = month(payments=read_ledger_table(io.BytesIO(("\n".join(lines + bad) + "\n").encode())))
    codes = [e.problems[0].code for e in report.payment_errors]
    assert codes == [
        "over_reversal",
        "unknown_payment",
        "date_order",
        "case_mismatch",
        "currency_mismatch",
        "currency_mismatch",
    ]
    assert report.total.recovered == Decimal("227145.00") and report.currency == "CNY"
    assert [e.line for e in report.payment_errors] == list(range(len(lines) + 1, len(lines) + 7))


def test_an_event_log_appended_twice_is_read_once_and_names_the_repeats() -> None:
    once = month(payments=payments())
    twice = month(EVENTS + EVENTS, payments=payments())
    assert twice.rows == once.rows
    assert [f.to_dict() for f in twice.audit.findings] == [f.to_dict() for f in once.audit.findings]
    repeats = twice.audit.event_errors
    assert len(repeats) == sum(1 for line in EVENTS if line.strip())
    assert repeats[0].line == len(EVENTS) + 1
    assert repeats[0].problems[0].code == "duplicate_event"
    assert "the same event as line 1" in repeats[0].problems[0].message


def test_a_contact_record_sent_again_is_named_by_its_record_id() -> None:
    contact = next(line for line in EVENTS if '"contact.recorded"' in line)
    resent = json.loads(contact)
    resent["payload"]["note"] = "sent again"  # the same record, another line
    report = month([*EVENTS, json.dumps(resent, ensure_ascii=False)], payments=payments())
    (error,) = report.audit.event_errors
    assert error.problems[0].code == "duplicate_record"
    assert resent["payload"]["record_id"] in error.problems[0].message
    assert report.rows == month(payments=payments()).rows
