"""Collector performance: the agency's weekly and monthly reports per collector, team and bank.

:func:`performance` reads the event log once — the audit's own pass, which it runs too, so that
the report carries the period's findings — and the bank's payment file (the ledger format), and
counts for each collector of each bank: the cases held at the period's end and worked in it,
contact attempts and right-party contacts, promises made, due and kept, the amounts recovered
and the commission they earn, the special procedures opened and closed, and the findings.

Every figure is counted once, in one cell ``(bank, collector)``; teams, banks and the whole are
sums of cells, so collectors add up to their teams and teams (or banks) to the whole, exactly.
Who is credited:

- a contact, a promise: the collector who recorded it (the event's actor);
- a payment: the collector holding the case at the end of the payment's day (or when it closed,
  if it closed that day); a reversal, the holder of its own day; a payment of a case the log
  does not hold on its day is **unmatched** and shown apart;
- a special procedure opened or closed: the case's holder at that moment;
- a finding: its collector, on its day (an agency-level finding, no collector: the bank's row
  of no collector, or of no bank).

A promise is *due* in the period when its day falls in it (and not after ``as_of``), and *kept*
when the case's payments from the day it was made to its day reach its amount. Commission is
each payment line's amount × its bank's ``commission_rate`` (the procedure file's ``banks:``),
rounded half-up to the fen line by line, so that every total is the sum of its lines.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, TextIO

from ..errors import ArgumentError, CaseError
from ..events import (
    ApprovalEvent,
    AssignmentEvent,
    ClosedEvent,
    ContactEvent,
    HandoverEvent,
    ReceivedEvent,
    ReportEvent,
)
from ..model import CONVERSATION, Collector
from ..money import MINOR_UNITS, round_money
from ..reports.cells import csv_writer
from ..settlement.ledger import LedgerLine, check_payments
from .audit import Audit, run_audit
from .procedure import Procedure

__all__ = ["CollectorFigures", "Figures", "Performance", "PerformanceRow", "performance"]

Period = Literal["week", "month", "range"]


@dataclass(frozen=True)
class CollectorFigures:
    """The figures of one row of the report: each a sum over the cells it covers.

    Attributes:
        held: Open cases held at the end of the period.
        worked: Cases with at least one contact recorded in the period (a case two collectors
            worked counts in each one's row, and once in their team's, bank's and the whole's).
        attempts: Contacts recorded in the period.
        right_party_contacts: Of those, contacts that reached someone (connected, promised or
            refused).
        promises_made: Promises to pay recorded in the period.
        promises_due: Promises whose day falls in the period (up to ``as_of``).
        promises_kept: Of those, promises the case's payments met by their day.
        recovered: Payments less reversals dated in the period, credited to the case's holder.
        commission: What the bank pays the agency on them.
        procedures_opened: Special procedures started in the period.
        procedures_closed: Special procedures ended in the period.
        findings: The audit's findings of the period.
    """

    held: int = 0
    worked: int = 0
    attempts: int = 0
    right_party_contacts: int = 0
    promises_made: int = 0
    promises_due: int = 0
    promises_kept: int = 0
    recovered: Decimal = Decimal("0.00")
    commission: Decimal = Decimal("0.00")
    procedures_opened: int = 0
    procedures_closed: int = 0
    findings: int = 0

    def __add__(self, other: CollectorFigures) -> CollectorFigures:
        return CollectorFigures(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )

    @property
    def kept_rate(self) -> Decimal | None:
        """Promises kept of promises due (``None`` when none was due), to 0.1 %."""
        if not self.promises_due:
            return None
        return (Decimal(self.promises_kept) / self.promises_due).quantize(Decimal("0.001"))

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data: counts as numbers, amounts and the rate as exact text."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = str(value) if isinstance(value, Decimal) else value
        rate = self.kept_rate
        data["kept_rate"] = None if rate is None else str(rate)
        return data


#: The name ``dunning.Figures`` has had since 0.1 (one of three classes so named, until issue 30).
Figures = CollectorFigures
FIGURES = tuple(f.name for f in fields(CollectorFigures))


@dataclass(frozen=True)
class PerformanceRow:
    """One row: a collector (of a bank), a team, a bank, or the whole agency."""

    level: Literal["collector", "team", "bank", "total"]
    bank: str | None
    team: str | None
    collector: str | None
    figures: CollectorFigures
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data."""
        return {
            "level": self.level,
            "bank": self.bank,
            "team": self.team,
            "collector": self.collector,
            "name": self.name,
            **self.figures.to_dict(),
        }


@dataclass
class Performance:
    """A performance report of one period.

    Attributes:
        procedure: The procedure file (its banks' terms; the audit's obligations).
        period: ``week``, ``month`` or ``range``.
        start: The first day.
        end: The last day.
        as_of: When the report is made.
        rows: The collectors (one row per bank they worked for), the teams, the banks, the
            whole, in that order.
        audit: The audit of the period, whose findings the rows count.
        approval: For a month: the state of its monthly report (``approved``, ``not approved``
            or ``not filed``), with who approved it, when it was filed, its reference and line.
        unmatched: Payment lines of the period credited to no collector, by why (``no_case``:
            a case the log never held; ``not_held``: not held on the payment's day).
        unmatched_amount: Their amount.
        no_terms: Banks with recoveries but no ``commission_rate`` in the procedure file.
        payment_errors: The payment file's unreadable lines.
        currency: The payments' currency.
    """

    procedure: Procedure
    period: Period
    start: date
    end: date
    as_of: datetime
    rows: list[PerformanceRow]
    audit: Audit
    approval: dict[str, Any] | None = None
    unmatched: dict[str, int] = field(default_factory=dict)
    unmatched_amount: Decimal = Decimal("0.00")
    no_terms: list[str] = field(default_factory=list)
    payment_errors: list[CaseError] = field(default_factory=list)
    currency: str = "CNY"

    @property
    def total(self) -> CollectorFigures:
        """The whole agency's figures."""
        return next(r.figures for r in self.rows if r.level == "total")

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data."""
        p = self.procedure
        return {
            "procedure": {"name": p.name, "version": p.version, "digest": p.digest},
            "period": {
                "kind": self.period,
                "from": self.start.isoformat(),
                "to": self.end.isoformat(),
            },
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "approval": self.approval,
            "rows": [r.to_dict() for r in self.rows],
            "unmatched_payments": {
                "lines": dict(sorted(self.unmatched.items())),
                "amount": str(self.unmatched_amount),
            },
            "banks_without_terms": self.no_terms,
            "findings": [f.to_dict() for f in self.audit.findings],
            "unreadable_event_lines": [e.line for e in self.audit.event_errors],
            "unreadable_payment_lines": [e.line for e in self.payment_errors],
        }

    def write_json(self, out: TextIO) -> None:
        """Write :meth:`to_dict` as indented JSON."""
        json.dump(self.to_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")

    def write_csv(self, out: TextIO) -> None:
        """One line per row: level, bank, team, collector and every figure (for a spreadsheet)."""
        writer = csv_writer(out)
        writer.writerow(
            [
                "period_start",
                "period_end",
                "level",
                "bank",
                "team",
                "collector",
                *FIGURES,
                "kept_rate",
            ]
        )
        for row in self.rows:
            data = row.to_dict()
            writer.writerow(
                [
                    self.start.isoformat(),
                    self.end.isoformat(),
                    row.level,
                    row.bank or "",
                    row.team or "",
                    row.collector or "",
                    *(data[name] for name in FIGURES),
                    data["kept_rate"] or "",
                ]
            )


def performance(
    events: Iterable[str | bytes],
    *,
    procedure: Procedure,
    as_of: datetime,
    start: date,
    end: date,
    period: Period = "range",
    payments: Iterable[LedgerLine | CaseError] = (),
    teams: dict[str, str] | None = None,
    currency: str = "CNY",
    names: dict[str, str] | None = None,
    staff: Mapping[str, str] | Iterable[Collector] | None = None,
) -> Performance:
    """The performance report of ``start``..``end``.

    Args:
        events: The event log's lines, in file order.
        procedure: The procedure file: the audit's obligations and the banks' commission.
        as_of: When the report is made (aware): later events are not read.
        start: The period's first day.
        end: Its last day.
        period: What the period is (``week``, ``month``; ``range`` otherwise), as shown.
        payments: The bank's payment file, read with :func:`dunning.read_ledger` or
            :func:`dunning.read_ledger_table`, and held to the rules ``settle`` holds a ledger
            to (:func:`~dunning.settlement.ledger.check_payments`: a reference repeated,
            another currency, a reversal that fits no payment): such lines and unreadable ones
            are reported, not counted.
        teams: Each collector's team (e.g. from the collectors file); by default the team the
            log last gave them.
        currency: The payments' currency (a line stating another is refused).
        names: Each collector's name (e.g. from the collectors file), shown with their id.
        staff: Each person's role, for the audit's roles (see :func:`dunning.audit`).
    """
    if not isinstance(currency, str) or currency not in MINOR_UNITS:
        raise ArgumentError(f"currency must be an ISO 4217 code dunning knows, not {currency!r}")
    if not isinstance(procedure, Procedure):
        raise ArgumentError("performance takes procedure=Procedure (load_procedure)")
    if not isinstance(as_of, datetime) or as_of.tzinfo is None:
        raise ArgumentError("as_of must be an aware datetime")
    if not (isinstance(start, date) and isinstance(end, date)) or end < start:
        raise ArgumentError("performance takes start <= end, both dates")
    tally = _Tally(procedure, as_of, start, end)
    found = run_audit(
        events,
        procedure=procedure,
        as_of=as_of,
        start=start,
        end=end,
        watch=tally.see,
        staff=staff,
    )
    report = Performance(procedure, period, start, end, as_of, [], found, currency=currency)
    tally.pay(payments, report)
    tally.held()
    tally.promises()
    for finding in found.findings:
        if finding.day is not None and start <= finding.day <= end:
            bank = tally.bank.get(finding.case_id) if finding.case_id else None
            # A finding on someone who works no case (the admin assistant of a late intake,
            # the tool's own "dunning") counts in the row of no collector.
            who = finding.collector if finding.collector in tally.staff else None
            tally.cell(bank, who)["findings"] += 1
    report.rows = tally.rows({**tally.teams, **(teams or {})}, names or {})
    report.approval = tally.approval() if period == "month" else None
    return report


class _Tally:
    """What the report counts, gathered while the audit reads the log."""

    def __init__(self, procedure: Procedure, as_of: datetime, start: date, end: date) -> None:
        self.p = procedure
        self.as_of = as_of
        self.start, self.end = start, end
        self.cells: dict[tuple[str | None, str | None], dict[str, Any]] = {}
        self.worked: set[tuple[str, str]] = set()  # (case, collector) with a contact in the period
        self.bank: dict[str, str] = {}
        self.teams: dict[str, str] = {}
        # Each case's holders, in time order: (moment, collector or None once closed).
        self.holders: dict[str, list[tuple[datetime, str | None]]] = defaultdict(list)
        self.open_promises: list[tuple[str, str, date, date, Decimal]] = []
        self.paid: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
        self.monthly: list[tuple[datetime, int, Any]] = []
        self.staff: set[str] = set()  # who held a case or recorded a contact: the collectors

    def cell(self, bank: str | None, collector: str | None) -> dict[str, Any]:
        found = self.cells.get((bank, collector))
        if found is None:
            found = self.cells[(bank, collector)] = dict.fromkeys(FIGURES, 0)
            found["recovered"] = found["commission"] = Decimal("0.00")
        return found

    def in_period(self, moment: datetime) -> bool:
        return self.start <= moment.astimezone(self.p.zone).date() <= self.end

    def see(self, event: Any, line: int) -> None:
        case_id = event.case_id
        if isinstance(event, ReceivedEvent):
            self.bank[case_id] = event.payload.bank
        elif isinstance(event, AssignmentEvent) and event.type == "assignment.assigned":
            who = event.payload.collector_id
            self.holders[case_id].append((event.at, who))
            self.staff.add(who or "")
            if who and event.payload.team:
                self.teams[who] = event.payload.team
        elif isinstance(event, HandoverEvent):
            self.holders[case_id].append((event.at, event.payload.to_collector))
            self.staff.update((event.payload.from_collector, event.payload.to_collector))
            if event.payload.team:
                self.teams[event.payload.to_collector] = event.payload.team
        elif isinstance(event, ClosedEvent):
            self.holders[case_id].append((event.at, None))
        elif isinstance(event, ContactEvent):
            self.contact(event)
        elif isinstance(event, ApprovalEvent) and event.type.startswith("procedure."):
            if self.in_period(event.at):
                name = (
                    "procedures_opened"
                    if event.type == "procedure.started"
                    else ("procedures_closed")
                )
                self.cell(self.bank.get(case_id), self.holder(case_id, event.at))[name] += 1
        elif isinstance(event, ReportEvent) and event.payload.kind == "monthly":
            self.monthly.append((event.at, line, event.payload))

    def contact(self, event: ContactEvent) -> None:
        p, who, case_id = event.payload, event.actor, event.case_id
        self.staff.add(who)
        due = p.promise_due
        if p.promise_amount is not None and due is not None and self.start <= due <= self.end:
            made = p.contacted_at.astimezone(self.p.zone).date()
            self.open_promises.append((case_id, who, made, due, p.promise_amount))
        if not self.in_period(p.contacted_at):
            return
        cell = self.cell(self.bank.get(case_id), who)
        cell["attempts"] += 1
        cell["right_party_contacts"] += p.outcome in CONVERSATION
        cell["promises_made"] += p.promise_amount is not None
        if (case_id, who) not in self.worked:
            self.worked.add((case_id, who))
            cell["worked"] += 1

    def holder(self, case_id: str, moment: datetime) -> str | None:
        """Who held the case at ``moment`` (``None``: no one, or closed)."""
        timeline = self.holders.get(case_id, ())
        index = bisect_right([at for at, _ in timeline], moment)
        return timeline[index - 1][1] if index else None

    def holder_on(self, case_id: str, day: date) -> str | None:
        """Who held the case at the end of ``day``, or when it closed if it closed that day."""
        last = datetime.combine(day, time(23, 59, 59), tzinfo=self.p.zone)
        who = self.holder(case_id, last)
        if who is None:
            for at, held_by in reversed(self.holders.get(case_id, ())):
                if held_by is None and at.astimezone(self.p.zone).date() == day:
                    return self.holder(case_id, at - timedelta(microseconds=1))
        return who

    def pay(self, payments: Iterable[LedgerLine | CaseError], report: Performance) -> None:
        case_of: dict[str, str | None] = {}
        for _, line in check_payments(payments, currency=report.currency):
            if isinstance(line, CaseError):
                report.payment_errors.append(line)
                continue
            case_id = line.case_id or (case_of.get(line.reverses) if line.reverses else None)
            case_of[line.reference] = case_id
            amount = -line.amount if line.reverses else line.amount
            if case_id is not None and line.date <= self.end:
                self.paid[case_id].append((line.date, amount))
            if not self.start <= line.date <= self.end:
                continue
            who = self.holder_on(case_id, line.date) if case_id in self.holders else None
            if who is None:
                why = "no_case" if case_id not in self.holders else "not_held"
                report.unmatched[why] = report.unmatched.get(why, 0) + 1
                report.unmatched_amount += amount
                continue
            bank = self.bank.get(case_id)  # type: ignore[arg-type]
            cell = self.cell(bank, who)
            cell["recovered"] += amount
            terms = self.p.banks.get(bank) if bank else None
            if terms is None:
                name = bank or "(unknown bank)"
                if name not in report.no_terms:
                    report.no_terms.append(name)
                continue
            cell["commission"] += round_money(amount * terms.commission_rate, report.currency)

    def held(self) -> None:
        last = datetime.combine(self.end, time(23, 59, 59), tzinfo=self.p.zone)
        last = min(last, self.as_of)
        for case_id in self.holders:
            who = self.holder(case_id, last)
            if who is not None:
                self.cell(self.bank.get(case_id), who)["held"] += 1

    def promises(self) -> None:
        today = self.as_of.astimezone(self.p.zone).date()
        for case_id, who, made, due, amount in self.open_promises:
            if due > today:
                continue  # not due yet
            cell = self.cell(self.bank.get(case_id), who)
            cell["promises_due"] += 1
            paid = sum(
                (a for day, a in self.paid.get(case_id, ()) if made <= day <= due), Decimal(0)
            )
            cell["promises_kept"] += paid >= amount

    def rows(self, teams: dict[str, str], names: dict[str, str]) -> list[PerformanceRow]:
        figures = {key: CollectorFigures(**values) for key, values in self.cells.items()}
        rows = sorted(
            (
                PerformanceRow(
                    "collector",
                    bank,
                    teams.get(who) if who else None,
                    who,
                    f,
                    names.get(who) if who else None,
                )
                for (bank, who), f in figures.items()
            ),
            key=lambda row: (row.team or "\uffff", row.collector or "\uffff", row.bank or "\uffff"),
        )
        by_team: dict[str | None, CollectorFigures] = {}
        by_bank: dict[str | None, CollectorFigures] = {}
        for row in rows:
            by_team[row.team] = by_team.get(row.team, CollectorFigures()) + row.figures
            by_bank[row.bank] = by_bank.get(row.bank, CollectorFigures()) + row.figures
        # Worked counts cases: a case two collectors worked is one case of their team.
        team_cases: dict[str | None, set[str]] = defaultdict(set)
        bank_cases: dict[str | None, set[str]] = defaultdict(set)
        for case_id, who in self.worked:
            team_cases[teams.get(who)].add(case_id)
            bank_cases[self.bank.get(case_id)].add(case_id)
        rows += [
            PerformanceRow("team", None, t, None, replace(f, worked=len(team_cases[t])))
            for t, f in _sorted(by_team)
        ]
        rows += [
            PerformanceRow("bank", b, None, None, replace(f, worked=len(bank_cases[b])))
            for b, f in _sorted(by_bank)
        ]
        total = sum((row.figures for row in rows if row.level == "collector"), CollectorFigures())
        worked = len({case_id for case_id, _ in self.worked})
        rows.append(PerformanceRow("total", None, None, None, replace(total, worked=worked)))
        return rows

    def approval(self) -> dict[str, Any]:
        covering = [
            (at, line, r)
            for at, line, r in self.monthly
            if r.period_start <= self.start and r.period_end >= self.end
        ]
        if not covering:
            return {"state": "not filed"}
        at, line, report = max(
            covering,
            key=lambda item: (bool(item[2].approved_by or item[2].approvals), item[0]),
        )
        approvers = [a for a in (report.approved_by, *report.approvals) if a]
        return {
            "state": "approved" if approvers else "not approved",
            "approved_by": report.approved_by,
            "approvals": list(dict.fromkeys(approvers)),
            "filed_at": at.isoformat(),
            "filed_by_line": line,
            "ref": report.ref,
        }


def _sorted(
    groups: dict[str | None, CollectorFigures],
) -> list[tuple[str | None, CollectorFigures]]:
    return sorted(groups.items(), key=lambda item: item[0] or "\uffff")
