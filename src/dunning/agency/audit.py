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
import heapq
import sqlite3
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from sys import intern
from typing import Any

from ..engines.interpret import evaluator
from ..errors import ArgumentError, CaseError, ConfigError, Problem
from ..events import (
    ApprovalEvent,
    AssignmentEvent,
    ClosedEvent,
    ContactEvent,
    CoordinationEvent,
    ForceMajeureEvent,
    ForceMajeureReportEvent,
    HandoverEvent,
    IntakeEvent,
    ReceivedEvent,
    ReconciliationEvent,
    RefreshedEvent,
    ReportEvent,
    ReviewEvent,
    parse_event,
)
from ..model import CONVERSATION, Collector, check_as_of
from .conduct import Conduct
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
        day: The day of the breach in the procedure's time zone: the day of the work, or the
            day a missing thing was due (reports count findings by it); for a contact, the
            day in the contacted party's time zone.
        check: Which check of the obligation, where it has several (``conduct``: ``hours``,
            ``connected_calls``, ``unanswered_dials``, ``third_parties``).
    """

    obligation: str
    severity: str
    case_id: str | None
    collector: str | None
    message: str
    expected: str
    evidence: tuple[int, ...] = ()
    day: date | None = None
    check: str | None = None

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
            "day": self.day.isoformat() if self.day else None,
            "check": self.check,
        }


@dataclass
class Audit:
    """An audit's findings, what each obligation checked, and the event lines it could not read.

    ``notes`` says what could not be checked, by code (``roles_not_checked``: the roles,
    without each person's role). ``names`` gives the name of each collector a finding names,
    when the audit was given the collectors file.
    """

    procedure: Procedure
    start: date
    end: date
    as_of: datetime
    findings: list[Finding] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    event_errors: list[CaseError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """Findings of error severity."""
        return sum(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data."""
        return {
            "procedure": {
                "name": self.procedure.name,
                "version": self.procedure.version,
                "digest": self.procedure.digest,
            },
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "as_of": self.as_of.isoformat(),
            "checked": dict(sorted(self.checked.items())),
            "findings": [f.to_dict() for f in self.findings],
            "errors": self.errors,
            "unreadable_event_lines": [e.line for e in self.event_errors],
            "notes": list(self.notes),
            "names": dict(self.names),
        }


def audit(
    events: Iterable[str | bytes],
    *,
    procedure: Procedure,
    as_of: datetime,
    start: date | None = None,
    end: date | None = None,
    staff: Mapping[str, str] | Iterable[Collector] | None = None,
) -> Audit:
    """Hold the event log (JSON lines, in file order) to the procedure.

    Args:
        events: The event log's lines.
        procedure: The procedure file.
        as_of: When the audit is made (aware): later events are not read, later deadlines are
            not due yet.
        start: The first day audited (default: the first event's day).
        end: The last day audited (default: ``as_of``'s day).
        staff: Each person's role (``{"S1": "supervisor"}``, or the collectors file): who
            approved, started, reviewed and handed over is held to the ``roles`` obligation
            and the monthly report's ``approvers``. Without it those are not checked, and the
            audit says so (``Audit.notes``).
    """
    return run_audit(events, procedure=procedure, as_of=as_of, start=start, end=end, staff=staff)


def run_audit(
    events: Iterable[str | bytes],
    *,
    procedure: Procedure,
    as_of: datetime,
    start: date | None,
    end: date | None,
    watch: Callable[[Any, int], None] | None = None,
    staff: Mapping[str, str] | Iterable[Collector] | None = None,
) -> Audit:
    """:func:`audit`, showing each event it reads (and its line) to ``watch`` as well."""
    if not isinstance(procedure, Procedure):
        raise ArgumentError("audit takes procedure=Procedure (load_procedure)")
    if not isinstance(as_of, datetime) or as_of.tzinfo is None:
        raise ArgumentError("as_of must be an aware datetime")
    for moment in (as_of, start, end):  # ConfigError far outside the years dunning reads
        if moment is not None:
            check_as_of(moment)
    last = end or as_of.astimezone(procedure.zone).date()
    if start is not None:
        _check_period(start, last, "--from")
    roles, names = _staff_of(staff)
    auditor = _Auditor(procedure, as_of, start, last, roles)
    seen = _Seen()
    for line, text in enumerate(events, start=1):
        if isinstance(text, str | bytes) and not text.strip():
            continue
        try:
            event = parse_event(text, line=line)
            seen.check(text, event, line)
        except CaseError as error:
            auditor.result.event_errors.append(error)
            continue
        if event.at <= as_of:
            if auditor.first is None:
                auditor.first = event.at.astimezone(procedure.zone).date()
                if start is None:  # the period starts with the log: as long as an audit's
                    _check_period(auditor.first, last, "the log's first event, on")
            auditor.advance(event.at)
            auditor.see(event, line)
            if watch is not None:
                watch(event, line)
    seen.close()
    first = auditor.first or as_of.astimezone(procedure.zone).date()
    auditor.close(start or first, last)
    monthly = procedure.obligations.get("monthly_report")
    if auditor.staff is None and (
        "roles" in procedure.obligations or (monthly and monthly.settings["approvers"])
    ):
        auditor.result.notes.append("roles_not_checked")
    named = {f.collector for f in auditor.result.findings if f.collector in names}
    auditor.result.names = {who: names[who] for who in sorted(named, key=str)}
    return auditor.result


#: The longest period one audit covers: a year and a month. Every node of every cycle in it is
#: judged and its findings held; a log dated a century back would be a century of findings.
MAX_AUDIT_DAYS = 400


def _staff_of(
    staff: Mapping[str, str] | Iterable[Collector] | None,
) -> tuple[dict[str, str] | None, dict[str, str]]:
    """Each person's role, and (from the collectors file) their name."""
    if staff is None:
        return None, {}
    if isinstance(staff, Mapping):
        return {str(k): str(v) for k, v in staff.items()}, {}
    if isinstance(staff, str | bytes) or not isinstance(staff, Iterable):
        raise ArgumentError("staff is a mapping of id to role, or the collectors file")
    roles, names = {}, {}
    for person in staff:
        if not isinstance(person, Collector):
            raise ArgumentError("staff is a mapping of id to role, or the collectors file")
        roles[person.collector_id] = person.role.value
        names[person.collector_id] = person.name
    return roles, names


def _check_period(first: date, last: date, what: str) -> None:
    if (last - first).days > MAX_AUDIT_DAYS:
        raise ConfigError(
            f"the audit would cover {first.isoformat()} to {last.isoformat()} "
            f"({(last - first).days:,} days; {what} {first.isoformat()}): an audit covers at most "
            f"{MAX_AUDIT_DAYS} days; give the period (--from and --to, or start= and end=)"
        )


class _Seen:
    """The events read so far, to refuse one read twice (a log appended twice, a record re-sent).

    Each line is kept as a 64-bit hash of its text, and each contact record by its
    ``record_id`` (Python's own SipHash, keyed for this process: an audit's hashes are never
    kept). A year's log is millions of them, so memory holds only the latest (a chunk) and a
    Bloom filter of the older ones (4 MB), which go to a private temporary SQLite file, asked
    only when the filter says a hash may be there (about one event in sixty). A log shorter
    than a chunk never touches the filter or the file.
    """

    CHUNK = 1 << 16
    BITS = 1 << 25

    def __init__(self) -> None:
        self.bloom = bytearray(self.BITS // 8)
        self.recent: dict[str, dict[int, int]] = {"lines": {}, "records": {}}
        self.db: sqlite3.Connection | None = None

    def check(self, text: str | bytes, event: Any, line: int) -> None:
        """Raise the ``CaseError`` of ``line`` if it repeats an event read before."""
        raw = text.encode() if isinstance(text, str) else bytes(text)
        first = self.first("lines", hash(raw.strip()) & _MASK, line)
        if first != line:
            message = f"the same event as line {first}: counted once"
            raise CaseError(event.case_id, [Problem("", "duplicate_event", message)], line=line)
        if event.type == "contact.recorded":
            record = event.payload.record_id
            first = self.first("records", hash(record) & _MASK, line)
            if first != line:
                message = f"record {record} is on line {first} already: counted once"
                problem = Problem("payload.record_id", "duplicate_record", message)
                raise CaseError(event.case_id, [problem], line=line)

    def first(self, table: str, key: int, line: int) -> int:
        """The line ``key`` was first seen on (``line`` itself when it is new)."""
        recent = self.recent[table]
        found = recent.get(key)
        if found is not None:
            return found
        if self.db is not None:  # spilled: the older hashes are in the file, under the filter
            mask, bloom = self.BITS - 1, self.bloom
            a, b, c = key & mask, (key >> 25) & mask, (key >> 39) & mask
            if (
                (bloom[a >> 3] >> (a & 7))
                & (bloom[b >> 3] >> (b & 7))
                & (bloom[c >> 3] >> (c & 7))
                & 1
            ):
                row = self.db.execute(
                    f"SELECT line FROM {table} WHERE k = ?", (key - (1 << 63),)
                ).fetchone()
                if row is not None:
                    return int(row[0])
        recent[key] = line
        if len(recent) >= self.CHUNK:
            self.spill(table)
        return line

    def spill(self, table: str) -> None:
        """Move the latest hashes of ``table`` to the temporary file."""
        if self.db is None:
            self.db = sqlite3.connect("")  # a private temporary file, deleted on close
            # Nothing to keep after a crash: no journal, no waiting for the disk.
            self.db.execute("PRAGMA journal_mode = OFF")
            self.db.execute("PRAGMA synchronous = OFF")
            for name in self.recent:
                self.db.execute(f"CREATE TABLE {name} (k INTEGER PRIMARY KEY, line INTEGER)")
        chunk = self.recent[table]
        self.db.executemany(
            f"INSERT OR IGNORE INTO {table} VALUES (?, ?)",
            # in key order: the B-tree takes them as appended, not scattered
            sorted((k - (1 << 63), n) for k, n in chunk.items()),
        )
        mask, bloom = self.BITS - 1, self.bloom
        for key in chunk:
            for bit in (key & mask, (key >> 25) & mask, (key >> 39) & mask):
                bloom[bit >> 3] |= 1 << (bit & 7)
        self.recent[table] = {}

    def close(self) -> None:
        """Let the temporary file go."""
        if self.db is not None:
            self.db.close()


#: A hash as the unsigned 64 bits the filter and the file take.
_MASK = (1 << 64) - 1


@dataclass
class _Request:
    case_id: str
    procedure: str
    requested: tuple[int, str] | None = None
    granted: tuple[int, str] | None = None
    refused: int | None = None
    started: int | None = None
    bank_ref: str | None = None
    decided: datetime | None = None
    late: tuple[int, int] | None = None  # a finding of it undecided: its index, the asking line


#: The cycle facts a contact or request adds to, in the order of a week's counters.
_COUNTERS = ("attempts", "right_party_contacts", "promises", "field_visits", "special_requests")
#: How long after a deadline the audit waits for events logged out of order before judging.
_PATIENCE = timedelta(days=1)


class _Held:
    """A held case in its cycle: its holder, its bank, and its work counted by week.

    Small on purpose (a year's audit holds one per open case): ``counts`` has the
    :data:`_COUNTERS` of each week of the current cycle and the next, as 16-bit numbers.
    """

    __slots__ = ("bank", "cohort", "collector", "counts", "team")

    def __init__(self, cohort: date, bank: str | None, weeks: int) -> None:
        self.cohort = cohort
        self.bank = bank
        self.collector: str | None = None
        self.team: str | None = None
        self.counts = array("H", bytes(2 * weeks * 2 * len(_COUNTERS)))


@dataclass
class _Cohort:
    """The cases first assigned on one day: their cycles start, and their nodes fall, together."""

    start: date  # the current cycle's first day
    number: int = 1
    cases: list[str] = field(default_factory=list)


class _Auditor:
    """The state of one audit: only what is still open."""

    def __init__(
        self,
        procedure: Procedure,
        as_of: datetime,
        start: date | None,
        end: date,
        staff: dict[str, str] | None = None,
    ) -> None:
        self.p = procedure
        self.staff = staff
        self.as_of = as_of
        self.start, self.end = start, end  # the period: nodes outside it are not judged
        self.first: date | None = None
        self.result = Audit(procedure, as_of.date(), as_of.date(), as_of)
        # Visits not yet accepted: (line, case, visitor, review due, line of a return or 0).
        self.visits: dict[str, tuple[int, str, str, datetime, int]] = {}
        self.requests: dict[str, _Request] = {}
        # (kind, first day, last day, filed at, line, approvers, filed with)
        self.reports: list[tuple[str, date, date, datetime, int, frozenset[str], str | None]] = []
        # Force majeure: each incident's noting, each bank's report of it, and a finding that a
        # later report turns into a late one.
        self.incidents: dict[str, tuple[datetime, int]] = {}
        self.told: dict[tuple[str, str], tuple[datetime, int]] = {}
        self.untold: dict[tuple[str, str], int] = {}
        # Cross-region cases: their coordination with head office, and the ones closed.
        self.coordinated: dict[str, tuple[datetime, int]] = {}
        self.uncoordinated: dict[str, int] = {}
        self.closed: set[str] = set()
        # Each case received (once the log shows an intake) and who holds it, by assignment or
        # handover: a contact is recorded by its holder, for a case the agency received.
        self.received_cases: set[str] = set()
        self.holder: dict[str, str] = {}
        self.reconciliations: list[tuple[str, date, date, datetime, int, bool, int]] = []
        self.banks: set[str] = set()
        # Deadlines still to judge, earliest first: (deadline, seq, what, details).
        self.due: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        self.seq = 0
        self.recorded: dict[date, set[str]] = {}  # recent days: the cases with a contact on record
        self.bank_of: dict[str, str] = {}  # cases received, until they enter their cycle
        self.cycles: dict[str, _Held] = {}
        self.cohorts: dict[date, _Cohort] = {}
        cycle = procedure.obligations.get("cycle")
        self.nodes = cycle.settings["nodes"] if cycle is not None else ()
        self.cycle_weeks = cycle.settings["weeks"] if cycle is not None else 0
        self.node_weeks = sorted({n.week for n in self.nodes})
        self.tests = [
            (n, evaluator(n.when) if n.when else None, evaluator(n.require)) for n in self.nodes
        ]
        conduct = procedure.obligations.get("conduct")
        self.conduct = (
            None
            if conduct is None
            else Conduct(
                conduct.settings, procedure.zone, self.find_conduct, self.update, self.count_conduct
            )
        )

    def find(
        self,
        name: str,
        case_id: str | None,
        who: str | None,
        message: str,
        expected: str,
        *lines: int,
        day: date | None = None,
        check: str | None = None,
        severity: str | None = None,
    ) -> int:
        """Record a finding; its index (a cap's finding grows with the day's calls)."""
        obligation = self.p.obligations[name]
        self.result.findings.append(
            Finding(
                name,
                severity or obligation.severity,
                case_id,
                who,
                message,
                expected,
                lines,
                day,
                check,
            )
        )
        return len(self.result.findings) - 1

    def role(
        self, action: str, who: str, case_id: str | None, line: int, what: str, day: date
    ) -> None:
        """A finding when ``who``'s role may not do ``action`` (the ``roles`` obligation)."""
        rules = self.p.obligations.get("roles")
        if rules is None or self.staff is None:
            return
        self.result.checked["roles"] += 1
        allowed = rules.settings[action]
        role = self.staff.get(who)
        if role not in allowed:
            self.find(
                "roles",
                case_id,
                who,
                f"{what} by {who} ({role or 'not on the staff list'})",
                "by " + " or ".join(map(_a, allowed)) if allowed else "by no one",
                line,
                day=day,
                check=action,
            )

    def find_conduct(
        self,
        check: str,
        case_id: str,
        who: str,
        message: str,
        expected: str,
        *lines: int,
        day: date,
    ) -> int:
        """A conduct finding; its index, so that a cap's finding can grow with the day."""
        return self.find("conduct", case_id, who, message, expected, *lines, day=day, check=check)

    def update(self, index: int, message: str, *lines: int) -> None:
        found = self.result.findings[index]
        self.result.findings[index] = replace(found, message=message, evidence=lines)

    def count_conduct(self, count: int) -> None:
        self.result.checked["conduct"] += count

    def end_of(self, day: date, at: time = time(23, 59, 59)) -> datetime:
        return datetime.combine(day, at, tzinfo=self.p.zone)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.p.zone).date()

    def later(self, deadline: datetime, what: str, *details: Any) -> None:
        self.seq += 1
        heapq.heappush(self.due, (deadline, self.seq, what, details))

    def advance(self, now: datetime) -> None:
        """Judge every deadline that passed a while before ``now`` (the log's clock)."""
        while self.due and self.due[0][0] + _PATIENCE < now:
            self.judge(*heapq.heappop(self.due))
        if self.conduct is not None:
            self.conduct.advance(now, _PATIENCE)
        if len(self.recorded) > 4:  # keep the last few days: a record is late after one
            for day in sorted(self.recorded)[:-4]:
                del self.recorded[day]

    def judge(self, deadline: datetime, _seq: int, what: str, details: tuple[Any, ...]) -> None:
        judges: dict[str, Callable[..., None]] = {
            "node": self.node,
            "worked": self.worked,
            "undecided": self.undecided,
            "force_majeure": self.force_majeure,
            "coordination": self.coordination,
        }
        judges[what](deadline, *details)

    # -- each event -------------------------------------------------------------------------

    def see(self, event: Any, line: int) -> None:
        rules = self.p.obligations
        if isinstance(event, IntakeEvent):
            self.banks.add(event.payload.bank)
            if "intake" in rules:
                self.intake(event, line)
        elif isinstance(event, ContactEvent):
            day = self.local_day(event.payload.contacted_at)
            self.recorded.setdefault(day, set()).add(event.case_id)
            if "daily_records" in rules:
                self.daily_record(event, line)
                self.whose(event, line, day)
            if "field_visits" in rules and event.payload.channel.value == "field_visit":
                self.visit(event, line)
            if self.nodes:
                self.count(event.case_id, day, event.payload)
            if self.conduct is not None:
                self.conduct.see(event, line)
        elif isinstance(event, ReviewEvent) and "field_visits" in rules:
            self.review(event, line)
        elif isinstance(event, ApprovalEvent):
            if event.type == "approval.requested":
                if "daily_records" in rules:
                    self.request_seen(event, line)
                if self.nodes:
                    self.count(event.case_id, self.local_day(event.at), None)
            if "special_procedures" in rules:
                self.special(event, line)
        elif isinstance(event, ReportEvent):
            report = event.payload
            approvers = frozenset(filter(None, (report.approved_by, *report.approvals)))
            self.reports.append(
                (
                    report.kind,
                    report.period_start,
                    report.period_end,
                    event.at,
                    line,
                    approvers,
                    report.filed_with,
                )
            )
            if report.kind == "performance" and "performance_report" in rules:
                what = f"the performance report of {report.period_start:%Y-%m}"
                self.role(
                    "file_performance", event.actor, None, line, what, self.local_day(event.at)
                )
        elif isinstance(event, ForceMajeureEvent):
            if "force_majeure" in rules:
                self.noted(event, line)
        elif isinstance(event, ForceMajeureReportEvent):
            if "force_majeure" in rules:
                self.reported(event, line)
        elif isinstance(event, CoordinationEvent):
            self.coordinate(event, line)
        elif isinstance(event, ReconciliationEvent):
            done = event.payload
            self.reconciliations.append(
                (
                    done.bank,
                    done.period_start,
                    done.period_end,
                    event.at,
                    line,
                    done.agrees,
                    done.differences,
                )
            )
        else:
            if isinstance(event, ReceivedEvent | RefreshedEvent):
                self.received_cases.add(event.case_id)
            if isinstance(event, ReceivedEvent) and "cross_region" in rules:
                self.received(event, line)
            elif isinstance(event, ClosedEvent):
                self.closed.add(event.case_id)
                self.holder.pop(event.case_id, None)
            elif isinstance(event, AssignmentEvent) and event.payload.collector_id:
                self.holder[event.case_id] = event.payload.collector_id
            elif isinstance(event, HandoverEvent):
                self.holder[event.case_id] = event.payload.to_collector
            if isinstance(event, HandoverEvent):
                what = f"the handover of {event.case_id} from {event.payload.from_collector}"
                day = self.local_day(event.at)
                self.role("hand_over", event.actor, event.case_id, line, what, day)
            if self.nodes:
                self.holding(event)

    def intake(self, event: IntakeEvent, line: int) -> None:
        self.result.checked["intake"] += 1
        p, settings = event.payload, self.p.obligations["intake"].settings
        minutes = (p.completed_at - p.received_at).total_seconds() / 60
        day = self.local_day(p.completed_at)
        if minutes > settings["within_minutes"]:
            self.find(
                "intake",
                None,
                event.actor,
                f"batch {p.batch_id} taken in {minutes:.0f} minutes after receipt",
                f"within {settings['within_minutes']} minutes",
                line,
                day=day,
            )
        terms = self.p.banks.get(p.bank)
        if settings["agreement"] and (terms is None or not terms.agreement):
            self.find(
                "intake",
                None,
                event.actor,
                f"batch {p.batch_id} of {p.bank} taken in with no agreement with {p.bank} filed",
                "the bank's agreement filed before its cases are taken in (the procedure's "
                "banks: agreement)",
                line,
                day=day,
                check="agreement",
            )
        missing = [site for site in settings["sites"] if site not in {b.site for b in p.backups}]
        if missing:
            self.find(
                "intake",
                None,
                event.actor,
                f"batch {p.batch_id} has no verified backup at {', '.join(missing)}",
                f"a verified backup at each of: {', '.join(settings['sites'])}",
                line,
                day=day,
                check="sites",
            )
        if len(p.backups) < settings["backups"]:
            self.find(
                "intake",
                None,
                event.actor,
                f"batch {p.batch_id} has {len(p.backups)} verified backup(s)",
                f"{settings['backups']} verified backups",
                line,
                day=day,
            )

    def daily_record(self, event: ContactEvent, line: int) -> None:
        self.result.checked["daily_records"] += 1
        cutoff = self.p.obligations["daily_records"].settings["cutoff"]
        made = event.payload.contacted_at.astimezone(self.p.zone)
        day = made.date()
        # Records are entered at the end of the working day: by the cut-off, or, for a
        # contact made after it (a lawful call at 19:30), by the end of that day.
        due = self.end_of(day) if made.time() >= cutoff else self.end_of(day, cutoff)
        if event.at > due:
            self.find(
                "daily_records",
                event.case_id,
                event.actor,
                f"the contact of {day} was recorded at "
                f"{event.at.astimezone(self.p.zone).isoformat()}",
                f"recorded by {cutoff:%H:%M} the same day (the end of the day for a contact "
                "made after it)",
                line,
                day=day,
            )

    def whose(self, event: ContactEvent, line: int, day: date) -> None:
        """A contact for a case the agency never received, or recorded by another's collector."""
        case_id, who = event.case_id, event.actor
        if self.received_cases and case_id not in self.received_cases:
            self.find(
                "daily_records",
                case_id,
                who,
                f"contact {event.payload.record_id} is recorded for {case_id}, a case the "
                "agency never received",
                "contacts recorded only for the cases the bank sent (case.received)",
                line,
                day=day,
                check="unknown_case",
            )
            return
        holder = self.holder.get(case_id)
        role = self.staff.get(who) if self.staff is not None else None
        # A field visit may be made on another collector's case (an assisted visit, 协催).
        assisted = event.payload.channel.value == "field_visit"
        if (
            holder is not None
            and holder != who
            and not assisted
            and role in (None, "collector", "field_collector")
        ):
            self.find(
                "daily_records",
                case_id,
                who,
                f"contact {event.payload.record_id} is recorded by {who}, but {holder} holds "
                f"{case_id}",
                "contacts recorded by the collector who holds the case (its assignment or "
                "handover)",
                line,
                day=day,
                check="holder",
            )

    def request_seen(self, event: ApprovalEvent, line: int) -> None:
        """A customer's request is work on the case: that day's contact must be on record."""
        cutoff = self.p.obligations["daily_records"].settings["cutoff"]
        day = self.local_day(event.at)
        self.later(self.end_of(day, cutoff), "worked", event.case_id, event.actor, day, line)

    def worked(self, deadline: datetime, case_id: str, who: str, day: date, line: int) -> None:
        self.result.checked["daily_records"] += 1
        if case_id not in self.recorded.get(day, ()):
            self.find(
                "daily_records",
                case_id,
                who,
                f"the case was worked on {day} (a special request) but no contact of that "
                "day is on record",
                f"a record of the day's contact by {deadline.time():%H:%M}",
                line,
                day=day,
            )

    def visit(self, event: ContactEvent, line: int) -> None:
        self.result.checked["field_visits"] += 1
        settings = self.p.obligations["field_visits"].settings
        p = event.payload
        day = self.local_day(p.contacted_at)
        if settings["recording"] and (p.recording_ref is None or p.recording_digest is None):
            self.find(
                "field_visits",
                event.case_id,
                event.actor,
                f"field visit {p.record_id} has no recording filed",
                "an audio or video recording with its digest",
                line,
                day=day,
            )
        due = self.end_of(self.p.add_working_days(day, settings["review_within_working_days"]))
        self.visits[p.record_id] = (line, event.case_id, event.actor, due, 0)

    def review(self, event: ReviewEvent, line: int) -> None:
        pending = self.visits.pop(event.payload.record_id, None)
        if pending is None:
            self.find(
                "field_visits",
                event.case_id,
                event.actor,
                f"a review of {event.payload.record_id}, which is no field visit on record",
                "a review of a recorded field visit",
                line,
                day=self.local_day(event.at),
            )
            return
        visit_line, case_id, collector, due, _ = pending
        record, day = event.payload.record_id, self.local_day(event.at)
        if event.at > due:
            self.find(
                "field_visits",
                case_id,
                collector,
                f"visit {record} reviewed on {day}",
                f"reviewed by the supervisor by {due.date()}",
                visit_line,
                line,
                day=due.date(),
            )
        if event.actor == collector:
            self.find(
                "field_visits",
                case_id,
                collector,
                f"visit {record} reviewed by its own visitor",
                "reviewed by a supervisor other than the visitor",
                visit_line,
                line,
                day=day,
                check="reviewer",
            )
        self.role("review_visits", event.actor, case_id, line, f"the review of {record}", day)
        if event.payload.result == "returned":
            # Returned to the collector to complete: it is reviewed again, in as many days.
            within = self.p.obligations["field_visits"].settings["review_within_working_days"]
            again = self.end_of(self.p.add_working_days(day, within))
            self.visits[record] = (visit_line, case_id, collector, again, line)

    def special(self, event: ApprovalEvent, line: int) -> None:
        settings = self.p.obligations["special_procedures"].settings
        p = event.payload
        if p.procedure.value not in settings["procedures"]:
            return
        request = self.requests.setdefault(p.request_id, _Request(event.case_id, p.procedure.value))
        kind, who, day = event.type, event.actor, self.local_day(event.at)
        name = f"{p.procedure.value} {p.request_id}"
        if kind == "approval.requested":
            request.requested = (line, who)
            self.result.checked["special_procedures"] += 1
            within = settings["decide_within_working_days"]
            if within is not None:
                due = self.end_of(self.p.add_working_days(day, within))
                self.later(due, "undecided", p.request_id, event.case_id, who, line, within)
        elif kind in ("approval.granted", "approval.refused"):
            self.role("approve_procedures", who, event.case_id, line, f"{name} decided", day)
            if request.decided is None and request.late is not None:
                index, asked = request.late  # found undecided: say when it was decided
                message = f"{name}: decided only on {day}, after {self.result.findings[index].day}"
                self.update(index, message, asked, line)
            request.decided = request.decided or event.at
        if kind == "approval.granted":
            request.granted = (line, who)
            request.bank_ref = p.bank_ref
            self.limits(event, line, day)
            if (
                request.requested
                and settings["approver_not_requester"]
                and (request.requested[1] == who)
            ):
                self.find(
                    "special_procedures",
                    event.case_id,
                    who,
                    f"{p.request_id} approved by its own requester",
                    "approval by someone other than who asked (the supervisor)",
                    request.requested[0],
                    line,
                    day=day,
                )
        elif kind == "approval.refused":
            request.refused = line
        elif kind == "procedure.started":
            request.started = line
            self.role("start_procedures", who, event.case_id, line, f"{name} started", day)
            if p.procedure.value in settings["bank_approval"] and not (
                p.bank_ref or request.bank_ref
            ):
                self.find(
                    "special_procedures",
                    event.case_id,
                    who,
                    f"{name} started without the bank's agreement on record",
                    "the bank's agreement (bank_ref) on the grant or the start: the bank must "
                    f"agree to a {p.procedure.value} (the procedure's bank_approval)",
                    line,
                    day=day,
                    check="bank_approval",
                )
            if request.granted is None:
                refused = "after it was refused" if request.refused else "without an approval"
                self.find(
                    "special_procedures",
                    event.case_id,
                    who,
                    f"{p.procedure.value} {p.request_id} started {refused}",
                    "started only once approved",
                    line,
                    day=day,
                )
            if not p.filed_ref:
                self.find(
                    "special_procedures",
                    event.case_id,
                    who,
                    f"{p.request_id} started without its papers filed",
                    "a filed_ref when a special procedure starts",
                    line,
                    day=day,
                )
        elif kind == "procedure.ended":
            if request.started is None:
                self.find(
                    "special_procedures",
                    event.case_id,
                    who,
                    f"{p.request_id} ended but never started",
                    "procedure.started before procedure.ended",
                    line,
                    day=day,
                )
            if not p.filed_ref:
                self.find(
                    "special_procedures",
                    event.case_id,
                    who,
                    f"the end of {p.request_id} is not filed",
                    "a filed_ref when a special procedure ends",
                    line,
                    day=day,
                )
            del self.requests[p.request_id]  # ended: nothing more to hold

    def limits(self, event: ApprovalEvent, line: int, day: date) -> None:
        """A grant beyond the bank's limits: too many instalments, a waiver of principal."""
        settings = self.p.obligations["special_procedures"].settings
        p = event.payload
        most = settings["max_instalments"]
        plan = p.procedure.value == "instalment_plan"
        if plan and most is not None and p.instalments and p.instalments > most:
            self.find(
                "special_procedures",
                event.case_id,
                event.actor,
                f"{p.request_id} granted {p.instalments} instalments",
                f"at most {most} instalments (the bank's limit; a personalised plan runs at "
                "most five years: 商业银行信用卡业务监督管理办法 art. 70)",
                line,
                day=day,
                check="limits",
            )
        waiver = p.procedure.value == "waiver"
        if waiver and "principal" in p.covers and not settings["waiver_principal"]:
            self.find(
                "special_procedures",
                event.case_id,
                event.actor,
                f"{p.request_id} waives principal",
                "a waiver of interest, penalty and fees, not principal, unless the bank's "
                "terms allow it (the procedure's waiver_principal)",
                line,
                day=day,
                check="limits",
            )

    def undecided(
        self, deadline: datetime, request_id: str, case_id: str, who: str, line: int, within: int
    ) -> None:
        request = self.requests.get(request_id)
        if request is None or (request.decided is not None and request.decided <= deadline):
            return
        when = (
            f"still undecided at the end of {deadline.date()}"
            if request.decided is None
            else f"decided only on {self.local_day(request.decided)}, after {deadline.date()}"
        )
        index = self.find(
            "special_procedures",
            case_id,
            who,
            f"{request.procedure} {request_id}: {when}",
            f"decided within {within} working days of the request",
            line,
            day=deadline.date(),
            check="undecided",
            severity="warning",
        )
        request.late = (index, line)

    # -- the cycle: each held case's weekly nodes --------------------------------------------

    def noted(self, event: ForceMajeureEvent, line: int) -> None:
        """A force majeure noted: each bank it touches is to be told within the hours set."""
        incident = event.payload.incident
        if incident in self.incidents:
            return  # noted again (by someone else): the first noting starts the clock
        self.incidents[incident] = (event.at, line)
        hours = self.p.obligations["force_majeure"].settings["report_within_hours"]
        due = event.at + timedelta(hours=hours)
        for bank in event.payload.banks:
            self.result.checked["force_majeure"] += 1
            self.later(due, "force_majeure", incident, bank, line)

    def reported(self, event: ForceMajeureReportEvent, line: int) -> None:
        report = event.payload
        key = (report.incident, report.bank)
        what = f"the report of {report.incident} to {report.bank}"
        self.role("report_force_majeure", event.actor, None, line, what, self.local_day(event.at))
        if key in self.told:
            return
        self.told[key] = (event.at, line)
        index = self.untold.pop(key, None)
        if index is not None:  # found unreported at its deadline: it was late
            found = self.result.findings[index]
            late = f"{event.at.astimezone(self.p.zone):%Y-%m-%d %H:%M}"
            message = f"force majeure {report.incident} was reported to {report.bank} late, {late}"
            self.update(index, message, *found.evidence, line)

    def force_majeure(self, due: datetime, incident: str, bank: str, line: int) -> None:
        told = self.told.get((incident, bank))
        if told is not None and told[0] <= due:
            return
        local = f"{due.astimezone(self.p.zone):%Y-%m-%d %H:%M}"
        hours = self.p.obligations["force_majeure"].settings["report_within_hours"]
        if told is not None:
            late = f"{told[0].astimezone(self.p.zone):%Y-%m-%d %H:%M}"
            message = f"force majeure {incident} was reported to {bank} late, {late}"
            lines: tuple[int, ...] = (line, told[1])
        else:
            message = f"force majeure {incident} has not been reported to {bank}"
            lines = (line,)
        index = self.find(
            "force_majeure",
            None,
            None,
            message,
            f"reported to the bank within {hours} hours, by {local}",
            *lines,
            day=due.astimezone(self.p.zone).date(),
        )
        if told is None:
            self.untold[incident, bank] = index

    def received(self, event: ReceivedEvent, line: int) -> None:
        """A case outside the branch's regions: coordinated with head office within some days."""
        settings = self.p.obligations["cross_region"].settings
        region = event.payload.region
        if region is None or region in settings["regions"]:
            return
        self.result.checked["cross_region"] += 1
        day = self.p.add_working_days(self.local_day(event.at), settings["within_working_days"])
        self.later(self.end_of(day), "coordination", event.case_id, region, line)

    def coordinate(self, event: CoordinationEvent, line: int) -> None:
        if event.case_id in self.coordinated:
            return
        self.coordinated[event.case_id] = (event.at, line)
        index = self.uncoordinated.pop(event.case_id, None)
        if index is not None:  # found missing at its deadline: it was late
            found = self.result.findings[index]
            head = found.message.rsplit(": ", 1)[0]
            message = f"{head}: {self._coordinated_late(event.at)}"
            self.update(index, message, *found.evidence, line)

    def _coordinated_late(self, at: datetime) -> str:
        return f"its coordination was filed late, {at.astimezone(self.p.zone):%Y-%m-%d}"

    def coordination(self, due: datetime, case_id: str, region: str, line: int) -> None:
        if case_id in self.closed:
            return  # left the agency's work before it was due
        done = self.coordinated.get(case_id)
        if done is not None and done[0] <= due:
            return
        regions = ", ".join(self.p.obligations["cross_region"].settings["regions"])
        message = f"{case_id} is in {region}, outside the branch's {regions}: " + (
            self._coordinated_late(done[0])
            if done is not None
            else "no coordination with head office is filed"
        )
        index = self.find(
            "cross_region",
            case_id,
            None,
            message,
            f"coordinated with the branch of {region} and filed with head office by {due.date()}",
            *((line, done[1]) if done is not None else (line,)),
            day=due.date(),
        )
        if done is None:
            self.uncoordinated[case_id] = index

    def holding(self, event: Any) -> None:
        """Who holds each case: a case enters its cycle when first assigned, leaves when closed."""
        if isinstance(event, ReceivedEvent):
            self.bank_of[event.case_id] = intern(event.payload.bank)
        elif isinstance(event, AssignmentEvent) and event.type == "assignment.assigned":
            held = self.cycles.get(event.case_id)
            if held is None:
                day = self.local_day(event.at)
                cohort = self.cohorts.get(day)
                if cohort is None:
                    cohort = self.cohorts[day] = _Cohort(day)
                    self.plan(day, cohort)
                held = _Held(day, self.bank_of.pop(event.case_id, None), self.cycle_weeks)
                self.cycles[event.case_id] = held
                cohort.cases.append(event.case_id)
            held.collector, held.team = _interned(event.payload.collector_id, event.payload.team)
        elif isinstance(event, HandoverEvent) and event.case_id in self.cycles:
            held = self.cycles[event.case_id]
            held.collector, held.team = _interned(event.payload.to_collector, event.payload.team)
        elif isinstance(event, ClosedEvent):
            self.cycles.pop(event.case_id, None)  # a closed case has no more nodes
            self.bank_of.pop(event.case_id, None)

    def plan(self, key: date, cohort: _Cohort) -> None:
        """Put the cohort's node deadlines (the end of each node's week) on the calendar."""
        for week in self.node_weeks:
            last = cohort.start + timedelta(days=7 * week - 1)
            self.later(self.end_of(last), "node", key, cohort.number, week)

    def count(self, case_id: str, day: date, contact: Any) -> None:
        held = self.cycles.get(case_id)
        if held is None:
            return
        index = (day - self.cohorts[held.cohort].start).days // 7
        if not 0 <= index < 2 * self.cycle_weeks:
            return  # before the cycle, or beyond the next one: no node of it is still open
        at = index * len(_COUNTERS)
        counts = held.counts
        if contact is None:
            counts[at + 4] = min(counts[at + 4] + 1, 0xFFFF)
            return
        counts[at] = min(counts[at] + 1, 0xFFFF)
        counts[at + 1] += counts[at + 1] < 0xFFFF and contact.outcome in CONVERSATION
        counts[at + 2] += counts[at + 2] < 0xFFFF and contact.promise_amount is not None
        counts[at + 3] += counts[at + 3] < 0xFFFF and contact.channel.value == "field_visit"

    def node(self, deadline: datetime, key: date, number: int, week: int) -> None:
        cohort = self.cohorts[key]
        judged = self.start is None or self.start <= deadline.date() <= self.end
        tests = [t for t in self.tests if t[0].week == week]
        live: list[str] = []
        for case_id in cohort.cases:
            held = self.cycles.get(case_id)
            if held is None or held.cohort != key:
                continue  # closed since (or closed and taken in again: another cohort)
            live.append(case_id)
            if judged and tests:
                self.test(deadline, case_id, held, number, week, tests)
        cohort.cases = live
        if week == self.node_weeks[-1]:
            # The cycle's last node: the next cycle starts after its last week.
            size = self.cycle_weeks * len(_COUNTERS)
            for case_id in live:
                counts = self.cycles[case_id].counts
                counts[:size] = counts[size:]
                counts[size:] = array("H", bytes(2 * size))
            cohort.start += timedelta(days=7 * self.cycle_weeks)
            cohort.number += 1
            if cohort.start <= self.end and live:
                self.plan(key, cohort)
            elif not live:
                del self.cohorts[key]

    def test(
        self,
        deadline: datetime,
        case_id: str,
        held: _Held,
        number: int,
        week: int,
        tests: list[Any],
    ) -> None:
        counts, width = held.counts, len(_COUNTERS)
        facts: dict[str, Any] = {
            name: sum(counts[k : week * width : width]) for k, name in enumerate(_COUNTERS)
        }
        facts.update(
            week=week, cycle=number, team=held.team, collector=held.collector, bank=held.bank
        )
        for node, when, require in tests:
            if when is not None and when(facts) is not True:
                continue
            self.result.checked["cycle"] += 1
            if require(facts) is not True:
                done = ", ".join(f"{facts[n]} {n.replace('_', ' ')}" for n in _COUNTERS)
                self.find(
                    "cycle",
                    case_id,
                    held.collector,
                    f"node {node.id} (week {week} of cycle {number}, to {deadline.date()}): {done}",
                    f"{node.require_text}" + (f" ({node.doc})" if node.doc else ""),
                    day=deadline.date(),
                )

    # -- at the end: what was due and is missing ------------------------------------------------

    def close(self, start: date, end: date) -> None:
        self.result.start, self.result.end = start, end
        while self.due and self.due[0][0] <= self.as_of:
            self.judge(*heapq.heappop(self.due))
        if self.conduct is not None:
            self.conduct.close()
        rules = self.p.obligations
        for record_id, (line, case_id, collector, due, returned) in sorted(self.visits.items()):
            if due <= self.as_of:
                self.find(
                    "field_visits",
                    case_id,
                    collector,
                    f"visit {record_id} was returned and not reviewed again"
                    if returned
                    else f"visit {record_id} has not been reviewed",
                    f"reviewed by the supervisor by {due.date()}",
                    *((line, returned) if returned else (line,)),
                    day=due.date(),
                )
        if "weekly_report" in rules:
            self.weekly(start, end)
        if "monthly_report" in rules:
            self.monthly(start, end)
        if "performance_report" in rules:
            self.performance(start, end)
        if "reconciliation" in rules:
            self.reconcile(start, end)

    def weekly(self, start: date, end: date) -> None:
        settings = self.p.obligations["weekly_report"].settings
        offset = (
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ).index(settings["weekday"])
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
                report = self._filed(
                    "monthly_report", "monthly", first, last, due, settings["filed_with"]
                )
                if report is not None:
                    self.approvals(first, last, report, due)

    def performance(self, start: date, end: date) -> None:
        """Each month's performance report filed (with finance, the seed's) by its day."""
        settings = self.p.obligations["performance_report"].settings
        for first, last in _months(start, end):
            day = _next_month(first).replace(day=settings["by_day"])
            due = self.end_of(self.p.working_day_from(day))
            if due <= self.as_of:
                self.result.checked["performance_report"] += 1
                self._filed(
                    "performance_report", "performance", first, last, due, settings["filed_with"]
                )

    def approvals(self, first: date, last: date, report: Any, due: datetime) -> None:
        """The monthly report approved, and by each role the procedure names."""
        settings = self.p.obligations["monthly_report"].settings
        # An approval may come with a later filing of the same report: all of them count.
        approvers = frozenset().union(
            *(r[5] for r in self.reports if r[0] == "monthly" and r[1] <= first and r[2] >= last)
        )
        if settings["approved"] and not approvers:
            self.find(
                "monthly_report",
                None,
                None,
                f"the report of {first:%Y-%m} is not approved",
                "a monthly report approved (approved_by)",
                report[4],
                day=due.date(),
            )
            return
        wanted: tuple[str, ...] = settings["approvers"]
        if not wanted or not approvers:
            return
        if self.staff is None:
            missing = len(wanted) - len(approvers)
            gap = f"{len(approvers)} approver(s) of {len(wanted)}" if missing > 0 else ""
        else:
            roles = {self.staff.get(a) for a in approvers}
            gap = ", ".join(r for r in wanted if r not in roles)
            gap = f"no approval by a {gap}" if gap else ""
        if gap:
            by = ", ".join(
                f"{a} ({self.staff.get(a, 'not on the staff list')})" if self.staff else a
                for a in sorted(approvers)
            )
            self.find(
                "monthly_report",
                None,
                None,
                f"the report of {first:%Y-%m} is approved by {by}: {gap}",
                f"approved by each of: {', '.join(wanted)}",
                report[4],
                day=due.date(),
                check="approvers",
            )

    def _filed(
        self,
        name: str,
        kind: str,
        first: date,
        last: date,
        due: datetime,
        filed_with: str | None = None,
    ) -> Any:
        covering = [r for r in self.reports if r[0] == kind and r[1] <= first and r[2] >= last]
        elsewhere = [r for r in covering if filed_with is not None and r[6] != filed_with]
        covering = [r for r in covering if r not in elsewhere]
        if not covering and elsewhere:
            where = ", ".join(sorted({r[6] or "no one named" for r in elsewhere}))
            self.find(
                name,
                None,
                None,
                f"the {kind} report of {first} to {last} is filed with {where}",
                f"filed with {filed_with} by {due.isoformat()}",
                *(r[4] for r in elsewhere),
                day=due.date(),
                check="filed_with",
            )
            return None
        if not covering:
            self.find(
                name,
                None,
                None,
                f"no {kind} report covers {first} to {last}",
                f"a {kind} report filed by {due.isoformat()}",
                day=due.date(),
            )
            return None
        best = min(covering, key=lambda r: r[3])
        if best[3] > due:
            self.find(
                name,
                None,
                None,
                f"the {kind} report of {first} to {last} was filed "
                f"{best[3].astimezone(self.p.zone).isoformat()}",
                f"filed by {due.isoformat()}",
                best[4],
                day=due.date(),
            )
        return best

    def reconcile(self, start: date, end: date) -> None:
        settings = self.p.obligations["reconciliation"].settings
        by_day = settings["by_day"]
        for bank in sorted(self.banks):
            for first, last in _months(start, end):
                due = self.end_of(self.p.working_day_from(_next_month(first).replace(day=by_day)))
                if due > self.as_of:
                    continue
                self.result.checked["reconciliation"] += 1
                done = [
                    r
                    for r in self.reconciliations
                    if r[0] == bank and r[1] <= first and r[2] >= last
                ]
                agreeing = [r for r in done if r[5]] if settings["agrees"] else done
                if done and not agreeing:
                    # Filed, but the two sides differ: open until an agreeing one is filed.
                    last_filed = max(done, key=lambda r: r[3])
                    self.find(
                        "reconciliation",
                        None,
                        None,
                        f"the reconciliation with {bank} of {first:%Y-%m} does not agree "
                        f"({last_filed[6]} line(s) differ) and no agreeing one is filed",
                        f"a reconciliation that agrees, filed by {due.date()}",
                        *(r[4] for r in done),
                        day=due.date(),
                        check="agrees",
                    )
                    continue
                done = agreeing
                if not done:
                    self.find(
                        "reconciliation",
                        None,
                        None,
                        f"no reconciliation with {bank} covers {first:%Y-%m}",
                        f"a reconciliation filed by {due.date()}",
                        day=due.date(),
                    )
                elif min(r[3] for r in done) > due:
                    earliest = min(done, key=lambda r: r[3])
                    self.find(
                        "reconciliation",
                        None,
                        None,
                        f"the reconciliation with {bank} of {first:%Y-%m} was filed late",
                        f"filed by {due.date()}",
                        earliest[4],
                        day=due.date(),
                    )


def _a(role: str) -> str:
    """``a supervisor``, ``an admin_assistant``."""
    return f"{'an' if role[0] in 'aeiou' else 'a'} {role}"


def _interned(collector: str | None, team: str | None) -> tuple[str | None, str | None]:
    """Ids shared by many cases, held once."""
    return (intern(collector) if collector else None, intern(team) if team else None)


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
