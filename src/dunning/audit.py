"""The audit: an agency's events held to its procedure file, finding by finding.

:func:`audit` reads the event log once, in file order, keeping only what is still open — the
field visits not yet reviewed, the special procedures not yet ended, the reports and
reconciliations filed — so that a year of events takes the memory of what is pending, not of the
log. Each finding names the obligation, its severity, the case and the collector, the event
lines that show it, and what was expected. Deadlines are read in the procedure's time zone; a
deadline after ``as_of`` is not a finding yet.
"""

from __future__ import annotations

import calendar as months
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TextIO

from .errors import ArgumentError, CaseError
from .events import (
    ApprovalEvent,
    ContactEvent,
    IntakeEvent,
    ReconciliationEvent,
    ReportEvent,
    ReviewEvent,
    parse_event,
)
from .procedure import Procedure

__all__ = ["Audit", "Finding", "audit"]


@dataclass(frozen=True)
class Finding:
    """A breach of an obligation.

    Attributes:
        obligation: The procedure's obligation (``daily_records``, ``field_visits``…).
        severity: ``error`` or ``warning``, as the procedure sets it.
        case_id: The case, when the obligation is a case's.
        collector: Who was to do it (the event's actor), when known.
        message: What happened.
        expected: What the procedure asks.
        evidence: The event lines that show it (empty when what is missing is an event).
    """

    obligation: str
    severity: str
    case_id: str | None
    collector: str | None
    message: str
    expected: str
    evidence: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data."""
        return {
            "obligation": self.obligation,
            "severity": self.severity,
            "case_id": self.case_id,
            "collector": self.collector,
            "message": self.message,
            "expected": self.expected,
            "evidence": list(self.evidence),
        }


@dataclass
class Audit:
    """An audit's findings, what each obligation checked, and the event lines it could not read."""

    procedure: Procedure
    start: date
    end: date
    as_of: datetime
    findings: list[Finding] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    event_errors: list[CaseError] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """Findings of error severity."""
        return sum(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data."""
        return {
            "procedure": {"name": self.procedure.name, "version": self.procedure.version,
                          "digest": self.procedure.digest},
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "as_of": self.as_of.isoformat(),
            "checked": dict(sorted(self.checked.items())),
            "findings": [f.to_dict() for f in self.findings],
            "errors": self.errors,
            "unreadable_event_lines": [e.line for e in self.event_errors],
        }  # fmt: skip

    def render(self, out: TextIO) -> None:
        """The findings as a table, then what was checked."""
        out.write(
            f"Audit of {self.start} to {self.end} against procedure {self.procedure.name} "
            f"{self.procedure.version} as of {self.as_of.isoformat()}\n\n"
        )
        if not self.findings:
            out.write("No findings.\n")
        for f in self.findings:
            where = " ".join(x for x in (f.case_id, f.collector and f"({f.collector})") if x)
            lines = f" [events line {', '.join(map(str, f.evidence))}]" if f.evidence else ""
            out.write(f"{f.severity:<8}{f.obligation:<20}{where + ': ' if where else ''}"
                      f"{f.message}; expected: {f.expected}{lines}\n")  # fmt: skip
        out.write("\nChecked: " + ", ".join(f"{n} {k}" for k, n in sorted(self.checked.items())))
        out.write(f"\n{self.errors} error(s), {len(self.findings) - self.errors} warning(s)\n")
        for error in self.event_errors:
            out.write(f"unreadable event line {error.line}: {error.problems[0]}\n")


def audit(
    events: Iterable[str | bytes],
    *,
    procedure: Procedure,
    as_of: datetime,
    start: date | None = None,
    end: date | None = None,
) -> Audit:
    """Hold the event log (JSON lines, in file order) to the procedure.

    Args:
        events: The event log's lines.
        procedure: The procedure file.
        as_of: When the audit is made (aware): later events are not read, later deadlines are
            not due yet.
        start: The first day audited (default: the first event's day).
        end: The last day audited (default: ``as_of``'s day).
    """
    if not isinstance(procedure, Procedure):
        raise ArgumentError("audit takes procedure=Procedure (load_procedure)")
    if not isinstance(as_of, datetime) or as_of.tzinfo is None:
        raise ArgumentError("as_of must be an aware datetime")
    auditor = _Auditor(procedure, as_of)
    for line, text in enumerate(events, start=1):
        if isinstance(text, str | bytes) and not text.strip():
            continue
        try:
            event = parse_event(text, line=line)
        except CaseError as error:
            auditor.result.event_errors.append(error)
            continue
        if event.at <= as_of:
            auditor.first = auditor.first or event.at.astimezone(procedure.zone).date()
            auditor.see(event, line)
    first = auditor.first or as_of.astimezone(procedure.zone).date()
    auditor.close(start or first, end or as_of.astimezone(procedure.zone).date())
    return auditor.result


@dataclass
class _Request:
    case_id: str
    procedure: str
    requested: tuple[int, str] | None = None
    granted: tuple[int, str] | None = None
    refused: int | None = None
    started: int | None = None


class _Auditor:
    """The state of one audit: only what is still open."""

    def __init__(self, procedure: Procedure, as_of: datetime) -> None:
        self.p = procedure
        self.as_of = as_of
        self.first: date | None = None
        self.result = Audit(procedure, as_of.date(), as_of.date(), as_of)
        self.visits: dict[str, tuple[int, str, str, datetime]] = {}
        self.requests: dict[str, _Request] = {}
        self.reports: list[tuple[str, date, date, datetime, int, str | None]] = []
        self.reconciliations: list[tuple[str, date, date, datetime, int]] = []
        self.banks: set[str] = set()

    def find(self, name: str, case_id: str | None, who: str | None, message: str,
             expected: str, *lines: int) -> None:  # fmt: skip
        obligation = self.p.obligations[name]
        self.result.findings.append(
            Finding(name, obligation.severity, case_id, who, message, expected, lines)
        )

    def end_of(self, day: date, at: time = time(23, 59, 59)) -> datetime:
        return datetime.combine(day, at, tzinfo=self.p.zone)

    # -- each event -------------------------------------------------------------------------

    def see(self, event: Any, line: int) -> None:
        rules = self.p.obligations
        if isinstance(event, IntakeEvent):
            self.banks.add(event.payload.bank)
            if "intake" in rules:
                self.intake(event, line)
        elif isinstance(event, ContactEvent):
            if "daily_records" in rules:
                self.daily_record(event, line)
            if "field_visits" in rules and event.payload.channel.value == "field_visit":
                self.visit(event, line)
        elif isinstance(event, ReviewEvent) and "field_visits" in rules:
            self.review(event, line)
        elif isinstance(event, ApprovalEvent) and "special_procedures" in rules:
            self.special(event, line)
        elif isinstance(event, ReportEvent):
            report = event.payload
            self.reports.append((report.kind, report.period_start, report.period_end, event.at,
                                 line, report.approved_by))  # fmt: skip
        elif isinstance(event, ReconciliationEvent):
            done = event.payload
            self.reconciliations.append(
                (done.bank, done.period_start, done.period_end, event.at, line)
            )

    def intake(self, event: IntakeEvent, line: int) -> None:
        self.result.checked["intake"] += 1
        p, settings = event.payload, self.p.obligations["intake"].settings
        minutes = (p.completed_at - p.received_at).total_seconds() / 60
        if minutes > settings["within_minutes"]:
            self.find("intake", None, event.actor,
                      f"batch {p.batch_id} taken in {minutes:.0f} minutes after receipt",
                      f"within {settings['within_minutes']} minutes", line)  # fmt: skip
        if len(p.backups) < settings["backups"]:
            self.find("intake", None, event.actor,
                      f"batch {p.batch_id} has {len(p.backups)} verified backup(s)",
                      f"{settings['backups']} verified backups", line)  # fmt: skip

    def daily_record(self, event: ContactEvent, line: int) -> None:
        self.result.checked["daily_records"] += 1
        cutoff = self.p.obligations["daily_records"].settings["cutoff"]
        day = event.payload.contacted_at.astimezone(self.p.zone).date()
        if event.at > self.end_of(day, cutoff):
            self.find("daily_records", event.case_id, event.actor,
                      f"the contact of {day} was recorded at "
                      f"{event.at.astimezone(self.p.zone).isoformat()}",
                      f"recorded by {cutoff:%H:%M} the same day", line)  # fmt: skip

    def visit(self, event: ContactEvent, line: int) -> None:
        self.result.checked["field_visits"] += 1
        settings = self.p.obligations["field_visits"].settings
        p = event.payload
        if settings["recording"] and (p.recording_ref is None or p.recording_digest is None):
            self.find("field_visits", event.case_id, event.actor,
                      f"field visit {p.record_id} has no recording filed",
                      "an audio or video recording with its digest", line)  # fmt: skip
        day = p.contacted_at.astimezone(self.p.zone).date()
        due = self.end_of(self.p.add_working_days(day, settings["review_within_working_days"]))
        self.visits[p.record_id] = (line, event.case_id, event.actor, due)

    def review(self, event: ReviewEvent, line: int) -> None:
        pending = self.visits.pop(event.payload.record_id, None)
        if pending is None:
            self.find("field_visits", event.case_id, event.actor,
                      f"a review of {event.payload.record_id}, which is no field visit on record",
                      "a review of a recorded field visit", line)  # fmt: skip
            return
        visit_line, case_id, collector, due = pending
        if event.at > due:
            self.find("field_visits", case_id, collector,
                      f"visit {event.payload.record_id} reviewed on "
                      f"{event.at.astimezone(self.p.zone).date()}",
                      f"reviewed by the supervisor by {due.date()}", visit_line, line)  # fmt: skip

    def special(self, event: ApprovalEvent, line: int) -> None:
        settings = self.p.obligations["special_procedures"].settings
        p = event.payload
        if p.procedure.value not in settings["procedures"]:
            return
        request = self.requests.setdefault(p.request_id, _Request(event.case_id, p.procedure.value))
        kind, who = event.type, event.actor
        if kind == "approval.requested":
            request.requested = (line, who)
            self.result.checked["special_procedures"] += 1
        elif kind == "approval.granted":
            request.granted = (line, who)
            if (
                request.requested
                and settings["approver_not_requester"]
                and (request.requested[1] == who)
            ):
                self.find("special_procedures", event.case_id, who,
                          f"{p.request_id} approved by its own requester",
                          "approval by someone other than who asked (the supervisor)",
                          request.requested[0], line)  # fmt: skip
        elif kind == "approval.refused":
            request.refused = line
        elif kind == "procedure.started":
            request.started = line
            if request.granted is None:
                refused = "after it was refused" if request.refused else "without an approval"
                self.find("special_procedures", event.case_id, who,
                          f"{p.procedure.value} {p.request_id} started {refused}",
                          "started only once approved", line)  # fmt: skip
            if not p.filed_ref:
                self.find("special_procedures", event.case_id, who,
                          f"{p.request_id} started without its papers filed",
                          "a filed_ref when a special procedure starts", line)  # fmt: skip
        elif kind == "procedure.ended":
            if request.started is None:
                self.find("special_procedures", event.case_id, who,
                          f"{p.request_id} ended but never started",
                          "procedure.started before procedure.ended", line)  # fmt: skip
            if not p.filed_ref:
                self.find("special_procedures", event.case_id, who,
                          f"the end of {p.request_id} is not filed",
                          "a filed_ref when a special procedure ends", line)  # fmt: skip
            del self.requests[p.request_id]  # ended: nothing more to hold

    # -- at the end: what was due and is missing ------------------------------------------------

    def close(self, start: date, end: date) -> None:
        self.result.start, self.result.end = start, end
        rules = self.p.obligations
        for record_id, (line, case_id, collector, due) in sorted(self.visits.items()):
            if due <= self.as_of:
                self.find("field_visits", case_id, collector,
                          f"visit {record_id} has not been reviewed",
                          f"reviewed by the supervisor by {due.date()}", line)  # fmt: skip
        if "weekly_report" in rules:
            self.weekly(start, end)
        if "monthly_report" in rules:
            self.monthly(start, end)
        if "reconciliation" in rules:
            self.reconcile(start, end)

    def weekly(self, start: date, end: date) -> None:
        settings = self.p.obligations["weekly_report"].settings
        offset = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                  "sunday").index(settings["weekday"])  # fmt: skip
        monday = start - timedelta(days=start.weekday())
        while monday <= end:
            day = monday + timedelta(days=offset)
            due = self.end_of(self.p.working_day_from(day), settings["by"])
            if start <= day <= end and due <= self.as_of:
                self.result.checked["weekly_report"] += 1
                self._filed("weekly_report", "weekly", monday, day, due)
            monday += timedelta(days=7)

    def monthly(self, start: date, end: date) -> None:
        settings = self.p.obligations["monthly_report"].settings
        for first, last in _months(start, end):
            due = self.end_of(
                self.p.working_day_from(_next_month(first).replace(day=settings["by_day"]))
            )
            if due <= self.as_of:
                self.result.checked["monthly_report"] += 1
                report = self._filed("monthly_report", "monthly", first, last, due)
                if report is not None and settings["approved"] and report[5] is None:
                    self.find("monthly_report", None, None,
                              f"the report of {first:%Y-%m} is not approved",
                              "a monthly report approved (approved_by)", report[4])  # fmt: skip

    def _filed(self, name: str, kind: str, first: date, last: date, due: datetime) -> Any:
        covering = [r for r in self.reports if r[0] == kind and r[1] <= first and r[2] >= last]
        if not covering:
            self.find(name, None, None, f"no {kind} report covers {first} to {last}",
                      f"a {kind} report filed by {due.isoformat()}")  # fmt: skip
            return None
        best = min(covering, key=lambda r: r[3])
        if best[3] > due:
            self.find(name, None, None, f"the {kind} report of {first} to {last} was filed "
                      f"{best[3].astimezone(self.p.zone).isoformat()}",
                      f"filed by {due.isoformat()}", best[4])  # fmt: skip
        return best

    def reconcile(self, start: date, end: date) -> None:
        by_day = self.p.obligations["reconciliation"].settings["by_day"]
        for bank in sorted(self.banks):
            for first, last in _months(start, end):
                due = self.end_of(self.p.working_day_from(_next_month(first).replace(day=by_day)))
                if due > self.as_of:
                    continue
                self.result.checked["reconciliation"] += 1
                done = [r for r in self.reconciliations
                        if r[0] == bank and r[1] <= first and r[2] >= last]  # fmt: skip
                if not done:
                    self.find("reconciliation", None, None,
                              f"no reconciliation with {bank} covers {first:%Y-%m}",
                              f"a reconciliation filed by {due.date()}")  # fmt: skip
                elif min(r[3] for r in done) > due:
                    earliest = min(done, key=lambda r: r[3])
                    self.find("reconciliation", None, None,
                              f"the reconciliation with {bank} of {first:%Y-%m} was filed late",
                              f"filed by {due.date()}", earliest[4])  # fmt: skip


def _months(start: date, end: date) -> Iterator[tuple[date, date]]:
    """The calendar months wholly within ``start``..``end``."""
    first = start if start.day == 1 else _next_month(start)
    while True:
        last = first.replace(day=months.monthrange(first.year, first.month)[1])
        if last > end:
            return
        yield first, last
        first = _next_month(first)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)
