"""Assignment and handover: which collector works each of the agency's cases.

The state is the events (docs/events.md): ``assignment.assigned`` gives a case to a collector,
``handover.completed`` moves it to another, ``case.closed`` ends it. :func:`assign` reads the
cases, finds each case's team and skills by the policy's ``agency: assignment:`` rules (the
first that holds), keeps a case with its collector while they are active, and gives each other
case to the fitting collector with the most room left (ties by collector id): capacity is never
exceeded, and the same inputs give the same events. :func:`handover` moves every open case of a
departing collector to the receivers named, writes a handover sheet per case (last contacts and
their results, open promises, pending approvals, next action and when), and checks that nothing
is left with the departing collector.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from ..batch import bounded_lines
from ..cases import check_batch, parse_case
from ..engines.interpret import evaluator
from ..errors import ArgumentError, CaseError, ConfigError, DunningError, Problem, did_you_mean
from ..events import (
    ApprovalEvent,
    AssignmentEvent,
    AssignmentPayload,
    ClosedEvent,
    ContactEvent,
    Event,
    HandoverEvent,
    HandoverPayload,
    check_actor,
    parse_event,
)
from ..model import CASE_ROLES, Case, Collector, CollectorStatus, StaffRole
from ..policy import Policy
from ..portfolio import Portfolio
from ..rules.ir import AssignmentRule, ProcedureSettings
from .collectors import Collectors

__all__ = [
    "AssignmentResult",
    "AssignmentRun",
    "Desk",
    "HandoverFailed",
    "HandoverRun",
    "assign",
    "handover",
    "next_action",
    "read_desk",
]

#: Contacts a handover sheet lists, the latest first.
SHEET_CONTACTS = 5
Status = Literal["new", "kept", "reassigned", "waiting", "closed"]
EventSource = str | Path | Sequence[Event | CaseError | Mapping[str, Any] | str | bytes]


class HandoverFailed(DunningError):
    """A handover that cannot leave every case with a receiver; nothing was recorded."""


# --- the state: who holds each case ----------------------------------------------------------


@dataclass
class Desk:
    """Who holds each case, as the events say.

    Attributes:
        holder: Each open case's collector.
        closed: Cases that left the agency's work.
        errors: Event lines that could not be read, or cannot follow the case's state.
        departed: Collectors who handed their cases over, and when: a handover is a departure
            (the seed's), until a later assignment gives them a case again.
    """

    holder: dict[str, str] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    errors: list[CaseError] = field(default_factory=list)
    departed: dict[str, datetime] = field(default_factory=dict)

    def load(self) -> Counter[str]:
        """Open cases per collector."""
        return Counter(self.holder.values())

    def cases_of(self, collector_id: str) -> list[str]:
        """The open cases of a collector, by case id."""
        return sorted(c for c, who in self.holder.items() if who == collector_id)


def read_desk(events: EventSource, *, until: datetime | None = None) -> Desk:
    """Replay the assignment events (up to ``until``) in time order into a :class:`Desk`.

    Events of the same time keep their file order. A line that cannot be read, or a transition
    the state does not allow (a handover from a collector who does not hold the case, an event
    for a closed case), is an error with its line and changes nothing.
    """
    desk = Desk()
    moves: list[tuple[datetime, int, int, str, str, str | None]] = []
    for seq, (line, item) in enumerate(_events(events)):
        if isinstance(item, CaseError):
            desk.errors.append(item)
            continue
        if until is not None and item.at > until:
            continue
        if isinstance(item, AssignmentEvent) and item.type == "assignment.assigned":
            moves.append((item.at, seq, line, item.case_id, "assigned", item.payload.collector_id))
        elif isinstance(item, HandoverEvent):
            moves.append(
                (
                    item.at,
                    seq,
                    line,
                    item.case_id,
                    item.payload.from_collector,
                    item.payload.to_collector,
                )
            )
        elif isinstance(item, ClosedEvent):
            moves.append((item.at, seq, line, item.case_id, "closed", None))
    moves.sort(key=lambda m: (m[0], m[1]))
    for at, _, line, case_id, kind, collector in moves:
        problem = _apply(desk, case_id, kind, collector)
        if problem is not None:
            error = CaseError(case_id, [Problem("type", "bad_transition", problem)], line=line)
            desk.errors.append(error)
        elif kind == "assigned":
            desk.departed.pop(collector or "", None)  # given a case again: back at work
        elif kind != "closed":
            desk.departed[kind] = at
    return desk


def _apply(desk: Desk, case_id: str, kind: str, collector: str | None) -> str | None:
    if case_id in desk.closed:
        return f"case {case_id} is closed"
    if kind == "closed":
        desk.closed.add(case_id)
        desk.holder.pop(case_id, None)
        return None
    assert collector is not None
    if kind != "assigned" and desk.holder.get(case_id) != kind:  # a handover from ``kind``
        return f"handover.completed: {kind} does not hold case {case_id}"
    desk.holder[case_id] = collector
    return None


def _events(source: EventSource) -> Iterator[tuple[int, Event | CaseError]]:
    """Each event (or error) with its line, from a file or a sequence."""
    if isinstance(source, str | Path):
        try:
            with open(source, "rb") as stream:
                for number, text in enumerate(bounded_lines(stream), start=1):
                    if text.strip():
                        yield number, _parsed(text, number)
        except OSError as exc:
            raise ConfigError(f"cannot read {source}: {exc.strerror or exc}") from None
        return
    if not isinstance(source, Sequence) or isinstance(source, str | bytes):
        raise ArgumentError("events are a file path or a sequence (read twice): a list of events")
    for number, item in enumerate(source, start=1):
        if isinstance(item, CaseError):
            yield item.line or number, item
        elif isinstance(item, str | bytes | Mapping):
            if isinstance(item, str | bytes) and not item.strip():
                continue
            yield number, _parsed(item, number)
        else:
            yield number, item


def _parsed(item: str | bytes | Mapping[str, Any], line: int) -> Event | CaseError:
    try:
        return parse_event(item, line=line)
    except CaseError as error:
        return error


# --- what a case needs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """The team, skills and language a case's collector must have, and the rule that says so."""

    rule: str | None
    team: str | None
    skills: tuple[str, ...]
    language: str | None

    def fits(self, collector: Collector) -> bool:
        """Whether ``collector`` may work the case (whatever their load)."""
        return (
            (self.team is None or collector.team == self.team)
            and set(self.skills) <= set(collector.skills)
            and collector.speaks(self.language)
        )

    def describe(self) -> str:
        """The need in words, for a waiting case's reason."""
        parts = [f"of team {self.team}" if self.team else "of any team"]
        if self.skills:
            parts.append(f"with {', '.join(self.skills)}")
        if self.language:
            parts.append(f"speaking {self.language}")
        return " ".join(parts)


class Needs:
    """The policy's assignment rules, compiled once: a case's facts → its :class:`Need`."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        # The rules may not read the portfolio figure (the front end refuses it), so a policy
        # whose decision rules need one is given a stand-in that nothing here reads.
        self.book = Portfolio(0) if policy.portfolio_rules else None
        rules: tuple[AssignmentRule, ...] = policy.ir.agency.assignment
        self.rules: list[tuple[AssignmentRule, Callable[[Mapping[str, Any]], Any] | None]] = [
            (rule, None if rule.when is None else evaluator(rule.when)) for rule in rules
        ]

    def of(self, case: Case, as_of: date | datetime) -> Need:
        """The need of ``case`` (no rule holding: anyone may work it)."""
        if not self.rules:
            return Need(None, None, (), None)
        facts = self.policy.facts(case, as_of=as_of, portfolio=self.book)
        for rule, holds in self.rules:
            if holds is None or holds(facts) is True:
                language = case.borrower.language if rule.same_language else None
                return Need(rule.id, rule.team, rule.skills, language)
        return Need(None, None, (), None)


def _pick(collectors: Iterable[Collector], need: Need, load: Mapping[str, int]) -> Collector | None:
    """The fitting active collector with the most room left (then the lowest id)."""
    best: tuple[int, str] | None = None
    chosen = None
    for collector in collectors:
        room = collector.capacity - load.get(collector.collector_id, 0)
        if (
            collector.status is not CollectorStatus.ACTIVE
            or collector.role not in CASE_ROLES
            or room <= 0
            or not need.fits(collector)
        ):
            continue
        key = (-room, collector.collector_id)
        if best is None or key < best:
            best, chosen = key, collector
    return chosen


def _why_waiting(collectors: Collectors, need: Need, load: Mapping[str, int]) -> str:
    fitting = [
        c
        for c in collectors
        if c.status is CollectorStatus.ACTIVE and c.role in CASE_ROLES and need.fits(c)
    ]
    if not fitting:
        return f"no active collector {need.describe()}"
    loads = ", ".join(
        f"{c.collector_id} {load.get(c.collector_id, 0)}/{c.capacity}" for c in fitting
    )
    return f"every active collector {need.describe()} is at capacity ({loads[:300]})"


# --- assign --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentResult:
    """What became of one case.

    Attributes:
        case_id: The case.
        status: ``new``, ``kept``, ``reassigned``, ``waiting`` (no collector could take it) or
            ``closed`` (a closed case is not assigned).
        collector_id: Its collector now.
        team: The collector's team (or, waiting, the team the rule asked for).
        rule: The assignment rule that held.
        reason: In words.
        previous: Its collector before, if any.
        line: Its line in the cases file.
    """

    case_id: str
    status: Status
    collector_id: str | None
    team: str | None
    rule: str | None
    reason: str
    previous: str | None = None
    line: int | None = None


@dataclass
class AssignmentRun:
    """An assignment run: a result per case, the events to record, and the load per collector.

    Attributes:
        results: A result or an error record per case line, in input order.
        events: The ``assignment.assigned`` and ``assignment.waiting`` events, in input order.
        before: Open cases per collector before the run.
        after: Open cases per collector after it.
        event_errors: Event lines that could not be read or applied.
    """

    results: list[AssignmentResult | CaseError]
    events: list[AssignmentEvent]
    before: Counter[str]
    after: Counter[str]
    event_errors: list[CaseError]
    collectors: Collectors

    def counts(self) -> Counter[str]:
        """Cases by status (and ``rejected`` for error records)."""
        return Counter("rejected" if isinstance(r, CaseError) else r.status for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """The run's summary as JSON-ready data."""
        return {
            "counts": dict(sorted(self.counts().items())),
            "collectors": {
                c.collector_id: {
                    "team": c.team,
                    "status": c.status.value,
                    "capacity": c.capacity,
                    "before": self.before.get(c.collector_id, 0),
                    "after": self.after.get(c.collector_id, 0),
                }
                for c in self.collectors
                # the staff who work cases, and anyone who holds some
                if c.role in CASE_ROLES
                or self.before.get(c.collector_id)
                or self.after.get(c.collector_id)
            },
            "waiting": [
                {"case_id": r.case_id, "reason": r.reason}
                for r in self.results
                if isinstance(r, AssignmentResult) and r.status == "waiting"
            ],
        }


def assign(
    cases: Iterable[Case | CaseError | Mapping[str, Any] | str | bytes],
    *,
    policy: Policy,
    collectors: Collectors,
    events: EventSource = (),
    as_of: datetime,
    actor: str = "dunning",
) -> AssignmentRun:
    """Assign each case to a collector by the policy's assignment rules.

    Args:
        cases: The cases (``read_cases`` results, dicts or JSON texts); one result each.
        policy: The agency's policy (its ``agency: assignment:`` rules and facts).
        collectors: The collectors file.
        events: The events so far (a file path or a sequence).
        as_of: When (aware): the events' time, and the facts' moment.
        actor: Who assigns (the events' actor).

    Returns:
        The :class:`AssignmentRun`.
    """
    if not isinstance(policy, Policy) or not isinstance(collectors, Collectors):
        raise ArgumentError("assign takes policy=Policy and collectors=Collectors")
    check_batch(cases, "assign")
    check_actor(actor)
    moment = policy.moment(as_of)
    desk = read_desk(events, until=moment)
    collectors = _without_departed(collectors, desk)
    needs = Needs(policy)
    keep = policy.ir.agency.keep_collector
    load = desk.load()
    before = Counter(load)
    results: list[AssignmentResult | CaseError] = []
    out: list[AssignmentEvent] = []
    seen: set[str] = set()
    source = iter(cases)
    for number, item in enumerate(source, start=1):
        line = getattr(source, "line", None) or number
        try:
            case = _case(item, line)
            if case.case_id in seen:
                problem = Problem("case_id", "duplicate_case", "the case is in the input twice")
                raise CaseError(case.case_id, [problem], line=line)
            seen.add(case.case_id)
            need = needs.of(case, moment)
        except CaseError as error:
            error.line = error.line or line
            results.append(error)
            continue
        result = _assign_one(case, need, desk, collectors, load, keep, line)
        results.append(result)
        if result.status in ("new", "reassigned", "waiting"):
            out.append(_event(result, moment, actor))
    return AssignmentRun(results, out, before, load, desk.errors, collectors)


def _without_departed(collectors: Collectors, desk: Desk) -> Collectors:
    """The collectors, those who handed their cases over marked ``left`` (on that day).

    The collectors file may still list them as active (editing it is easy to forget): they
    must not be given the cases they just handed over back, nor new ones.
    """
    if not any(c.collector_id in desk.departed for c in collectors):
        return collectors
    marked = tuple(
        c.model_copy(
            update={"status": CollectorStatus.LEFT, "left_on": desk.departed[c.collector_id].date()}
        )
        if c.collector_id in desk.departed and c.status is not CollectorStatus.LEFT
        else c
        for c in collectors
    )
    return Collectors(marked, collectors.digest, collectors.path)


def _case(item: Any, line: int) -> Case:
    if isinstance(item, CaseError):
        raise item
    if isinstance(item, Case):
        return item
    return parse_case(item, line=line)


def _assign_one(
    case: Case,
    need: Need,
    desk: Desk,
    collectors: Collectors,
    load: Counter[str],
    keep: bool,
    line: int,
) -> AssignmentResult:
    case_id = case.case_id
    if case_id in desk.closed:
        return AssignmentResult(
            case_id, "closed", None, None, None, "the case is closed", line=line
        )
    current_id = desk.holder.get(case_id)
    current = collectors.get(current_id) if current_id else None
    active = current is not None and current.status is not CollectorStatus.LEFT
    if current is not None and active and (keep or need.fits(current)):
        return AssignmentResult(
            case_id,
            "kept",
            current.collector_id,
            current.team,
            need.rule,
            "its collector is active" if keep else f"its collector fits ({need.describe()})",
            current_id,
            line,
        )
    chosen = _pick(collectors, need, load)
    if chosen is None:
        return AssignmentResult(
            case_id,
            "waiting",
            None,
            need.team,
            need.rule,
            _why_waiting(collectors, need, load),
            current_id,
            line,
        )
    load[chosen.collector_id] += 1
    if current_id is not None:
        load[current_id] -= 1
        if load[current_id] <= 0:
            del load[current_id]
        desk.holder[case_id] = chosen.collector_id
        why = (
            f"{current_id} is not in the collectors file"
            if current is None
            else f"{current_id} has left"
            if current.status is CollectorStatus.LEFT
            else f"{current_id} does not fit ({need.describe()})"
        )
        return AssignmentResult(
            case_id,
            "reassigned",
            chosen.collector_id,
            chosen.team,
            need.rule,
            why,
            current_id,
            line,
        )
    desk.holder[case_id] = chosen.collector_id
    return AssignmentResult(
        case_id,
        "new",
        chosen.collector_id,
        chosen.team,
        need.rule,
        f"the collector {need.describe()} with the most room",
        None,
        line,
    )


def _event(result: AssignmentResult, moment: datetime, actor: str) -> AssignmentEvent:
    waiting = result.status == "waiting"
    return AssignmentEvent(
        type="assignment.waiting" if waiting else "assignment.assigned",
        at=moment,
        actor=actor,
        case_id=result.case_id,
        payload=AssignmentPayload(
            collector_id=result.collector_id,
            team=result.team,
            rule=result.rule,
            reason=result.reason if waiting else result.status,
            previous=result.previous,
        ),
    )


# --- handover ------------------------------------------------------------------------------


@dataclass
class HandoverRun:
    """A departing collector's cases, each with its receiver and its handover sheet.

    Attributes:
        departing: The collector who leaves.
        sheets: One sheet per case (JSON-ready), by case id.
        events: A ``handover.completed`` event per case.
        open_before: The departing collector's open cases before.
        left_after: Their open cases after (0: checked).
        received: Cases per receiver.
        event_errors: Event lines that could not be read or applied.
    """

    departing: str
    sheets: list[dict[str, Any]]
    events: list[HandoverEvent]
    open_before: int
    left_after: int
    received: Counter[str]
    event_errors: list[CaseError]

    def to_dict(self) -> dict[str, Any]:
        """The run's summary as JSON-ready data."""
        return {
            "from": self.departing,
            "open_before": self.open_before,
            "handed_over": len(self.events),
            "left_after": self.left_after,
            "received": dict(sorted(self.received.items())),
            "cases": [
                {
                    "case_id": s["case_id"],
                    "to": s["to"],
                    "next_action": s["next_action"],
                    "open_promises": len(s["open_promises"]),
                    "pending_approvals": len(s["pending_approvals"]),
                }
                for s in self.sheets
            ],
            "escalated": self.escalated(),
        }

    def escalated(self) -> list[dict[str, Any]]:
        """The requests still undecided on the cases handed over: for the supervisor, now."""
        return [
            {
                "case_id": s["case_id"],
                "to": s["to"],
                "request_id": p["request_id"],
                "procedure": p["procedure"],
                "asked_at": p["asked_at"],
            }
            for s in self.sheets
            for p in s["pending_approvals"]
        ]

    def write_sheets(self, directory: str | Path) -> list[Path]:
        """Write each sheet as ``DIRECTORY/CASE_ID.json`` (the id percent-encoded).

        Each is written under a temporary name (owner-only: a sheet names a debtor) and renamed,
        so a sheet is never read half-written and a failed write leaves the one it replaces.
        """
        root = Path(directory)
        try:
            root.mkdir(parents=True, exist_ok=True)
            written = []
            for sheet in self.sheets:
                path = root / f"{quote(sheet['case_id'], safe='')}.json"
                handle, temporary = tempfile.mkstemp(dir=root, prefix=".sheet.", suffix=".part")
                try:
                    with os.fdopen(handle, "wb") as file:
                        file.write(sheet_bytes(sheet))
                    os.replace(temporary, path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(temporary)
                    raise
                written.append(path)
        except OSError as exc:
            raise ConfigError(f"cannot write the sheets to {root}: {exc.strerror or exc}") from None
        return written


def sheet_bytes(sheet: Mapping[str, Any]) -> bytes:
    """A handover sheet as it is written and digested: indented UTF-8 JSON."""
    return (json.dumps(sheet, ensure_ascii=False, indent=2) + "\n").encode()


def handover(
    *,
    departing: str,
    to: Sequence[str],
    collectors: Collectors,
    events: EventSource,
    as_of: datetime,
    policy: Policy | None = None,
    cases: Iterable[Case | CaseError | Mapping[str, Any] | str | bytes] = (),
    actor: str = "dunning",
) -> HandoverRun:
    """Hand every open case of ``departing`` over to the receivers ``to``.

    Each case goes to the receiver with the most room left (ties: the order of ``to``) who fits
    the case's need when the policy and the case are given (team, skills, language; else any
    receiver). Its sheet lists the last contacts and their results, the promises not yet due,
    the approvals asked for and not decided, the procedures started and not ended, and the
    policy's next action and when (with the policy and the case file).

    Args:
        departing: The collector who leaves.
        to: The receivers (active collectors of the collectors file).
        collectors: The collectors file.
        events: The events so far: a file path or a sequence (read twice).
        as_of: When (aware).
        policy: The agency's policy, for each case's need and next action.
        cases: The case file (only the departing collector's cases are used).
        actor: The team lead who supervises the handover (the events' actor).

    Raises:
        ConfigError: For an actor who is no team lead or supervisor of the collectors file; for
            a receiver who is unknown, not active, works no cases, named twice, or the departing
            collector; for a departing collector neither the collectors file nor the events
            know.
        HandoverFailed: When some case fits no receiver with room: nothing is recorded.
    """
    receivers = _receivers(departing, to, collectors)
    _supervised(actor, collectors)
    moment = as_of if policy is None else policy.moment(as_of)
    if moment.tzinfo is None:
        raise ConfigError("as_of must be an aware time")
    check_actor(actor)
    desk = read_desk(events, until=moment)
    moving = desk.cases_of(departing)
    if departing not in collectors and not moving:
        known = [c.collector_id for c in collectors]
        listed = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
        raise ConfigError(
            f"no collector {departing!r} in the collectors file ({listed}), and the events give "
            f"them no open case{did_you_mean(departing, known)}"
        )
    wanted = set(moving)
    needs: dict[str, Need] = {}
    nexts: dict[str, dict[str, Any] | None] = {}
    if policy is not None:
        rules = Needs(policy)
        for item in cases:
            try:
                case = _case(item, 0)
            except CaseError:
                continue
            if case.case_id not in wanted or case.case_id in needs:
                continue
            try:
                needs[case.case_id] = rules.of(case, moment)
                nexts[case.case_id] = next_action(policy, case, moment)
            except CaseError:
                continue
    load = desk.load()
    placed: dict[str, Collector] = {}
    unplaced: list[str] = []
    order = {c.collector_id: i for i, c in enumerate(receivers)}
    for case_id in moving:
        need = needs.get(case_id, Need(None, None, (), None))
        fitting = [c for c in receivers if need.fits(c) and load[c.collector_id] < c.capacity]
        if not fitting:
            unplaced.append(f"{case_id} ({need.describe()})")
            continue
        chosen = min(
            fitting,
            key=lambda c: (load[c.collector_id] - c.capacity, order[c.collector_id]),
        )
        load[chosen.collector_id] += 1
        placed[case_id] = chosen
    if unplaced:
        room = ", ".join(f"{c.collector_id} {load[c.collector_id]}/{c.capacity}" for c in receivers)
        raise HandoverFailed(
            f"{len(unplaced)} of {departing}'s {len(moving)} open cases fit no receiver with room "
            f"({room}): {', '.join(unplaced[:10])}{' …' if len(unplaced) > 10 else ''}; name "
            "another receiver (--to); nothing was recorded"
        )
    records = _records(events, wanted, moment)
    limits = None if policy is None else policy.ir.agency.procedures
    sheets, out = [], []
    for case_id in moving:
        receiver = placed[case_id]
        sheet = _sheet(case_id, departing, receiver, moment, records.get(case_id), nexts, limits)
        sheets.append(sheet)
        step = sheet["next_action"]
        out.append(
            HandoverEvent(
                type="handover.completed",
                at=moment,
                actor=actor,
                case_id=case_id,
                payload=HandoverPayload(
                    from_collector=departing,
                    to_collector=receiver.collector_id,
                    team=receiver.team,
                    sheet_digest="sha256:" + hashlib.sha256(sheet_bytes(sheet)).hexdigest(),
                    last_contacts=len(sheet["last_contacts"]),
                    open_promises=len(sheet["open_promises"]),
                    pending_approvals=len(sheet["pending_approvals"]),
                    next_action=None if step is None else step["channel"],
                    next_action_at=None if step is None else step["at"],
                ),
            )
        )
    # Counted and checked: the handover events, applied to the state, leave nothing behind.
    for event in out:
        problem = _apply(desk, event.case_id, departing, event.payload.to_collector)
        assert problem is None, problem
    left = len(desk.cases_of(departing))
    if left:
        raise HandoverFailed(f"{left} cases would stay with {departing}; nothing was recorded")
    received = Counter(e.payload.to_collector for e in out)
    return HandoverRun(departing, sheets, out, len(moving), left, received, desk.errors)


#: Who supervises a handover (the seed: the team lead; a supervisor may stand in).
HANDOVER_ROLES = (StaffRole.TEAM_LEAD, StaffRole.SUPERVISOR)


def _supervised(actor: str, collectors: Collectors) -> None:
    """Refuse a handover whose ``actor`` is no team lead or supervisor of the collectors file."""
    check_actor(actor)
    person = collectors.get(actor)
    if person is None or person.role not in HANDOVER_ROLES:
        who = "not in the collectors file" if person is None else f"a {person.role.value}"
        leads = [c.collector_id for c in collectors if c.role in HANDOVER_ROLES]
        raise ConfigError(
            f"a handover is supervised by a team lead or a supervisor: {actor!r} is {who} "
            f"(the collectors file's: {', '.join(leads) or 'none'}); name one with --actor"
        )


def _receivers(departing: str, to: Sequence[str], collectors: Collectors) -> list[Collector]:
    if isinstance(to, str) or not to:
        raise ConfigError("name at least one receiver (--to COLLECTOR)")
    found = []
    for collector_id in to:
        collector = collectors.get(collector_id)
        if collector_id == departing:
            raise ConfigError(f"{collector_id} is the departing collector, not a receiver")
        if collector is None:
            raise ConfigError(f"no collector {collector_id!r} in the collectors file")
        if collector.status is not CollectorStatus.ACTIVE:
            raise ConfigError(f"{collector_id} is {collector.status.value}, not active")
        if collector.role not in CASE_ROLES:
            raise ConfigError(f"{collector_id} is a {collector.role.value}: works no cases")
        if collector in found:
            raise ConfigError(f"{collector_id} is named twice")
        found.append(collector)
    return found


def next_action(policy: Policy, case: Case, moment: datetime) -> dict[str, Any]:
    """The policy's next step for ``case`` at ``moment``: channel, when, rule, what is owed."""
    decision = policy.decide(case, as_of=moment)
    action = decision.action
    return {
        "channel": action.channel.value,
        "at": (action.not_before or moment).isoformat(),
        "requires_approval": action.requires_approval,
        "rule": decision.rules[0] if decision.rules else None,
        "total_due": str(decision.fee_terms.total_due),
    }


@dataclass
class _Records:
    contacts: list[ContactEvent] = field(default_factory=list)
    approvals: dict[str, list[ApprovalEvent]] = field(default_factory=dict)


def _records(events: EventSource, wanted: set[str], moment: datetime) -> dict[str, _Records]:
    """The contacts and approvals of the cases handed over (a second pass over the events)."""
    found: dict[str, _Records] = {}
    for _, item in _events(events):
        if isinstance(item, CaseError) or item.at > moment or item.case_id not in wanted:
            continue
        if isinstance(item, ContactEvent):
            entry = found.setdefault(item.case_id, _Records())
            entry.contacts.append(item)
            entry.contacts.sort(key=lambda e: e.payload.contacted_at, reverse=True)
            del entry.contacts[64:]  # enough for the sheet's last ones and every open promise
        elif isinstance(item, ApprovalEvent):
            entry = found.setdefault(item.case_id, _Records())
            entry.approvals.setdefault(item.payload.request_id, []).append(item)
    return found


def _sheet(
    case_id: str,
    departing: str,
    receiver: Collector,
    moment: datetime,
    records: _Records | None,
    nexts: Mapping[str, dict[str, Any] | None],
    limits: Mapping[str, ProcedureSettings] | None,
) -> dict[str, Any]:
    records = records or _Records()
    step = nexts.get(case_id)
    owed = None if step is None else Decimal(step["total_due"])
    today = moment.date()
    contacts = [
        {
            "at": e.payload.contacted_at.isoformat(),
            "by": e.actor,
            "channel": e.payload.channel.value,
            "outcome": e.payload.outcome.value,
            "overdue_reason": _value(e.payload.overdue_reason),
            "repayment_attitude": _value(e.payload.repayment_attitude),
            "repayment_plan": e.payload.repayment_plan,
            "note": e.payload.note,
        }
        for e in records.contacts[:SHEET_CONTACTS]
    ]
    promises = sorted(
        (
            {
                "amount": str(e.payload.promise_amount),
                "due": _iso(e.payload.promise_due),
                "made_at": e.at.isoformat(),
                "record_id": e.payload.record_id,
            }
            for e in records.contacts
            if e.payload.promise_due is not None and e.payload.promise_due >= today
        ),
        key=lambda p: (p["due"], p["record_id"]),
    )
    pending: list[dict[str, Any]] = []
    running: list[dict[str, Any]] = []
    for request_id, trail in sorted(records.approvals.items()):
        kinds = {e.type for e in trail}
        first = trail[0].payload
        entry: dict[str, Any] = {"request_id": request_id, "procedure": first.procedure.value}
        if "approval.requested" in kinds and not kinds & {"approval.granted", "approval.refused"}:
            entry |= {"asked_at": trail[0].at.isoformat(), "reason": first.reason}
            if limits is not None:  # the bank's limit, as the policy gives it
                days = None if first.until is None else (first.until - trail[0].at.date()).days
                entry["beyond_limit"] = limits[first.procedure.value].beyond_limit(
                    instalments=first.instalments, amount=first.amount, owed=owed, days=days
                )
            pending.append(entry)
        elif "procedure.started" in kinds and "procedure.ended" not in kinds:
            running.append(entry)
    return {
        "case_id": case_id,
        "from": departing,
        "to": receiver.collector_id,
        "team": receiver.team,
        "as_of": moment.isoformat(),
        "last_contacts": contacts,
        "open_promises": promises,
        "pending_approvals": pending,
        "open_procedures": running,
        "next_action": step,
    }


def _value(member: Any) -> str | None:
    return None if member is None else str(member.value)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
