"""Events: the contract between the stages after a decision (docs/events.md).

An event is one JSON line: a ``type``, an aware time ``at``, an ``actor``, the ``case_id`` (none
for a batch's events: an intake, a report, a reconciliation) and a ``payload`` whose fields the
type decides. A stage reads events and writes events and keeps no state of its own between
calls; the same inputs give the same bytes. Events are read with the quality of cases: every
bad line gives an error record naming its line and field, and nothing is dropped.

Placement events (``placement.*``) record a placement's life: ``proposed`` (the notice naming
the agency is to be sent), ``placed`` (in force), then ``recalled`` (the lender took it back),
``returned`` (the agency gave it back; recorded by the host) or ``closed`` (a proposal that
never took effect). ``placement.unavailable`` says that no agency could take a case the rules
sent out; it changes no state.

The agency's working day (docs/agency.md): ``case.received`` (or ``case.refreshed``, a case a
bank's newer file gives again) and ``intake.completed`` (a bank's file taken in),
``case.closed``, ``assignment.assigned`` / ``waiting``, ``contact.recorded`` (the end-of-day
record), ``approval.requested`` / ``granted`` / ``refused`` and ``procedure.started`` /
``ended`` (special procedures), ``visit.reviewed``, ``handover.completed``, ``report.filed``
and ``reconciliation.filed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .batch import MAX_LINE, Numbered, Overlong, numbered
from .cases import check_batch, json_object, problems_of, readable_id
from .errors import CaseError, ConfigError, Problem, did_you_mean
from .model import (
    AS_OF_YEARS,
    Amount,
    ContactChannel,
    ContactResult,
    Id,
    Message,
    OverdueReason,
    PolicyRef,
    Rate,
    Record,
    RepaymentAttitude,
    Role,
    Text,
    TimeZone,
)

__all__ = [
    "EVENT_MODELS",
    "EVENT_TYPES",
    "PLACEMENT_TYPES",
    "ApprovalEvent",
    "ApprovalPayload",
    "AssignmentEvent",
    "AssignmentPayload",
    "BackupCopy",
    "ClosedEvent",
    "ClosedPayload",
    "ContactEvent",
    "ContactPayload",
    "CoordinationEvent",
    "CoordinationPayload",
    "Event",
    "ForceMajeureEvent",
    "ForceMajeurePayload",
    "ForceMajeureReportEvent",
    "ForceMajeureReportPayload",
    "HandoverEvent",
    "HandoverPayload",
    "IntakeEvent",
    "IntakePayload",
    "PlacementEvent",
    "PlacementPayload",
    "PlacementState",
    "ReceivedEvent",
    "ReceivedPayload",
    "ReconciliationEvent",
    "ReconciliationPayload",
    "RefreshedEvent",
    "RefreshedPayload",
    "ReportEvent",
    "ReportPayload",
    "ReviewEvent",
    "ReviewPayload",
    "SpecialProcedure",
    "check_actor",
    "event_json_schema",
    "parse_event",
    "read_events",
]


def _in_years(moment: datetime) -> datetime:
    low, high = AS_OF_YEARS
    if not low <= moment.year <= high:
        raise PydanticCustomError(
            "date_out_of_range",
            "{value} is outside the years {low}-{high} that dunning reads events in",
            {"value": moment.isoformat(), "low": low, "high": high},
        )
    return moment


#: An aware time within :data:`~dunning.model.AS_OF_YEARS` (the audit reads it in the
#: agency's time zone, which a time near year 1 or 9999 would take out of range).
Moment = Annotated[AwareDatetime, AfterValidator(_in_years)]


class PlacementState(StrEnum):
    """The states of a placement; each is entered by the event of the same name."""

    PROPOSED = "proposed"
    PLACED = "placed"
    RECALLED = "recalled"
    RETURNED = "returned"
    CLOSED = "closed"


#: The placement event types, and the states that end a placement. ``placement.extended``
#: moves a placement's term on (it enters no state); ``placement.noticed`` records what became
#: of a proposal's notice (``delivered`` or ``failed``); ``placement.unavailable`` changes
#: nothing.
PLACEMENT_TYPES = (
    *(f"placement.{s.value}" for s in PlacementState),
    "placement.extended",
    "placement.noticed",
    "placement.unavailable",
)
#: What a ``placement.noticed`` event says of the notice (its ``reason``).
NOTICE_OUTCOMES = ("delivered", "failed")
ENDED = frozenset({PlacementState.RECALLED, PlacementState.RETURNED, PlacementState.CLOSED})

EventType = Literal[
    "placement.proposed",
    "placement.placed",
    "placement.recalled",
    "placement.returned",
    "placement.closed",
    "placement.extended",
    "placement.noticed",
    "placement.unavailable",
]


class PlacementPayload(Record):
    """What a placement event says.

    Attributes:
        placement_id: ``CASE/AGENCY/DAY`` of the proposal: one id for the placement's life.
        agency_id: The agency (``None`` only for ``unavailable``).
        loan_id: The case's loan, so that a payment ledger naming loans finds the placement.
        day: The day the transition takes effect.
        reason: Why: the rule or the recall reason (``outsourced``, ``term_end``, ``cured``…).
        rule: The rule that decided, where one did.
        dpd: Days past due on ``day``.
        total_due: What the customer owes on ``day``.
        commission_rate: The placement's rate (fixed when it is placed).
        effective_on: For ``proposed``: the first day it may take effect (the notice's lead).
        term_ends: For ``placed``: the last day of its term; for ``extended``: the new one.
        notice: For ``proposed``: the notice the borrower is sent, naming the agency.
        eligible: For ``proposed`` and ``unavailable``: the agencies that could take it.
        ineligible: For ``proposed`` and ``unavailable``: each other agency and why not.
        policy: The policy that decided.
        agencies_digest: The agencies file in force.
    """

    placement_id: Id | None = None
    agency_id: Id | None = None
    loan_id: Id | None = None
    day: date
    reason: Id
    rule: Id | None = None
    dpd: Annotated[int, Strict(), Field(ge=0)] | None = None
    total_due: Amount | None = None
    commission_rate: Rate | None = None
    effective_on: date | None = None
    term_ends: date | None = None
    notice: Message | None = None
    eligible: tuple[Id, ...] = ()
    ineligible: dict[Id, Text] = Field(default_factory=dict)
    policy: PolicyRef | None = None
    agencies_digest: Id | None = None


class PlacementEvent(Record):
    """One transition of a placement (or a case no agency could take)."""

    type: EventType
    at: Moment
    actor: Id = "dunning"
    case_id: Id
    payload: PlacementPayload

    @model_validator(mode="after")
    def _complete(self) -> Self:
        payload = self.payload
        if self.type != "placement.unavailable" and (
            payload.agency_id is None or payload.placement_id is None
        ):
            raise PydanticCustomError(
                "incomplete_event", f"a {self.type} event names its placement_id and agency_id"
            )
        if self.type == "placement.placed" and payload.commission_rate is None:
            raise PydanticCustomError(
                "incomplete_event", "a placement.placed event gives the commission_rate"
            )
        if self.type == "placement.extended" and payload.term_ends is None:
            raise PydanticCustomError(
                "incomplete_event", "a placement.extended event gives the new term_ends"
            )
        if self.type == "placement.noticed" and payload.reason not in NOTICE_OUTCOMES:
            raise PydanticCustomError(
                "incomplete_event",
                "a placement.noticed event's reason is delivered or failed",
            )
        return self

    @property
    def state(self) -> PlacementState | None:
        """The state the event enters (``None`` for ``unavailable``)."""
        name = self.type.removeprefix("placement.")
        return PlacementState(name) if name in PlacementState.__members__.values() else None


# --- the other events: the agency's working day ---------------------------------------------

#: Words a ``sha256:`` digest is written with.
Digest = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
Count = Annotated[int, Strict(), Field(ge=0, le=10**12)]


class SpecialProcedure(StrEnum):
    """The bank's special procedures: each needs a supervisor's approval and is filed."""

    INSTALMENT_PLAN = "instalment_plan"
    WAIVER = "waiver"
    SUSPENSION = "suspension"


class _Event(Record):
    """What every event says besides its payload (``type`` first, as every line writes it)."""

    type: str
    at: Moment
    actor: Id
    case_id: Id | None = None


class _CaseEvent(_Event):
    case_id: Id


class _BatchEvent(_Event):
    case_id: None = None


class ReceivedPayload(Record):
    """``case.received``: a case taken in from a bank's file.

    Attributes:
        batch_id: The intake batch (``BANK/sha256 of the file``, shortened).
        bank: The bank that sent it.
        line: Its line in the bank's file.
        region: Where the cardholder lives (the file's ``borrower.region``), when it says: a
            case outside the branch's regions is coordinated with head office.
    """

    batch_id: Id
    bank: Id
    line: Annotated[int, Strict(), Field(ge=1)]
    region: Id | None = None


class RefreshedPayload(Record):
    """``case.refreshed``: a case a bank sent before, taken in again from its newer file.

    Attributes:
        batch_id: The newer batch.
        bank: The bank.
        line: Its line in the bank's newer file.
        previous_batch: The batch that held the case before.
        dpd: The newer file's days past due (as of the file).
        total_due: What the newer file says is owed (overdue principal, interest, penalty,
            fees).
    """

    batch_id: Id
    bank: Id
    line: Annotated[int, Strict(), Field(ge=1)]
    previous_batch: Id
    dpd: Annotated[int, Strict(), Field(ge=0)] | None = None
    total_due: Amount | None = None


class ClosedPayload(Record):
    """``case.closed``: the case left the agency's work (paid, or taken back by the bank).

    Attributes:
        reason: ``paid``, ``recalled`` (by the bank), ``returned`` (by the agency) or another word.
        note: What the collector wrote.
    """

    reason: Id
    note: Text | None = None


class ReceivedEvent(_CaseEvent):
    """A case taken in from a bank's file (the actor is who took it in)."""

    type: Literal["case.received"]
    payload: ReceivedPayload


class RefreshedEvent(_CaseEvent):
    """A case refreshed from a bank's newer file (the actor is who took the file in)."""

    type: Literal["case.refreshed"]
    payload: RefreshedPayload


class ClosedEvent(_CaseEvent):
    """A case that left the agency's work: it holds no collector's capacity any more."""

    type: Literal["case.closed"]
    payload: ClosedPayload


class BackupCopy(Record):
    """One verified backup of an intake batch.

    Attributes:
        name: The backup directory, as given.
        manifest: The digest of its manifest of checksums.
        files: How many files the manifest lists.
        site: Where it is kept (``branch``, ``head_office``: the seed's two), when given.
    """

    name: Text
    manifest: Digest
    files: Count
    site: Id | None = None


class IntakePayload(Record):
    """``intake.completed``: a bank's case file taken in.

    Attributes:
        batch_id: ``BANK-`` and the first 16 hex digits of the file's SHA-256: the same file
            from the same bank is the same batch.
        bank: The bank that sent it.
        source: The file's name.
        source_digest: The file's SHA-256.
        received_at: When the agency received the file.
        completed_at: When its cases were written and both backups verified.
        target_minutes: The policy's time limit from receipt to completion.
        elapsed_seconds: ``completed_at - received_at``.
        late: Whether the intake took longer than the target (a finding).
        lines: Non-blank lines (rows) read.
        accepted: Cases written.
        rejected: Lines refused, each in the batch's error file.
        repeated: Of the rejected, cases another bank's batch already took in.
        refreshed: Of the accepted, cases an earlier batch of the bank took in: their newer
            figures.
        cases_digest: The digest of the accepted cases file.
        errors_digest: The digest of the error file.
        backups: The backups written and verified.
    """

    batch_id: Id
    bank: Id
    source: Text
    source_digest: Digest
    received_at: Moment
    completed_at: Moment
    target_minutes: Annotated[int, Strict(), Field(ge=1)]
    elapsed_seconds: Count
    late: bool
    lines: Count
    accepted: Count
    rejected: Count
    repeated: Count = 0
    refreshed: Count = 0
    cases_digest: Digest
    errors_digest: Digest
    backups: tuple[BackupCopy, ...]


class IntakeEvent(_BatchEvent):
    """A bank's file taken in (one event per batch; no case)."""

    type: Literal["intake.completed"]
    payload: IntakePayload


class AssignmentPayload(Record):
    """``assignment.assigned`` / ``assignment.waiting``: who works a case.

    Attributes:
        collector_id: The collector (``None`` while waiting).
        team: The collector's team, or the team the rule asked for.
        rule: The assignment rule that chose the team.
        reason: ``new`` (first assignment), ``kept`` (the active collector keeps it),
            ``reassigned`` (their collector left or lost the skill) or, for ``waiting``, why no
            collector could take it.
        previous: The collector who had it before, if any.
    """

    collector_id: Id | None = None
    team: Id | None = None
    rule: Id | None = None
    reason: Text
    previous: Id | None = None


class AssignmentEvent(_CaseEvent):
    """A case given to a collector, or left waiting because none could take it."""

    type: Literal["assignment.assigned", "assignment.waiting"]
    payload: AssignmentPayload

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.type == "assignment.assigned" and self.payload.collector_id is None:
            raise PydanticCustomError(
                "incomplete_event", "an assignment.assigned event names the collector_id"
            )
        return self


class ContactPayload(Record):
    """``contact.recorded``: the end-of-day record of one contact (the actor is the collector).

    Attributes:
        record_id: The record's id (a field visit's review names it).
        contacted_at: When the contact was made (the event's ``at`` is when it was recorded).
        channel: How: ``call``, ``sms``, ``letter``, ``field_visit``…
        party_id: Whom the collector tried to reach.
        outcome: What happened.
        overdue_reason: Why the customer is overdue, as the collector learned it.
        repayment_attitude: The customer's attitude to repaying.
        repayment_plan: The plan agreed or proposed, in words.
        promise_amount: A promise to pay made in the contact…
        promise_due: …and the day it is due.
        recording_ref: The audio or video recording filed with it (field visits).
        recording_digest: The recording's SHA-256, so that the filed file can be checked.
        note: Anything else the collector wrote.
        party_role: The contacted party's role (``borrower``, ``emergency_contact``…); when
            absent, a ``party_id`` that is a role's name is read as that role.
        timezone: The party's time zone, where it is not the agency's: contact hours are the
            party's.
        number: The number dialled, masked to its last four digits (``*0323``): the audit
            counts unanswered dials per number.
        debt_disclosed: Whether the debt was spoken of (to a third party: a breach).
    """

    record_id: Id
    contacted_at: Moment
    channel: ContactChannel
    party_id: Id
    outcome: ContactResult
    overdue_reason: OverdueReason | None = None
    repayment_attitude: RepaymentAttitude | None = None
    repayment_plan: Text | None = None
    promise_amount: Amount | None = None
    promise_due: date | None = None
    recording_ref: Text | None = None
    recording_digest: Digest | None = None
    note: Text | None = None
    party_role: Role | None = None
    timezone: TimeZone | None = None
    number: Annotated[str, Field(pattern=r"^\*[0-9]{1,4}$")] | None = None
    debt_disclosed: bool = False

    @model_validator(mode="after")
    def _promise(self) -> Self:
        if (self.promise_amount is None) != (self.promise_due is None):
            raise PydanticCustomError(
                "incomplete_event", "a promise gives both promise_amount and promise_due"
            )
        return self


class ContactEvent(_CaseEvent):
    """A contact recorded by the collector who made it."""

    type: Literal["contact.recorded"]
    payload: ContactPayload


class ApprovalPayload(Record):
    """``approval.*`` and ``procedure.*``: a special procedure's request, decision, start and end.

    Attributes:
        request_id: The request: one id from request to end.
        procedure: ``instalment_plan``, ``waiver`` or ``suspension``.
        instalments: For an instalment plan: how many.
        amount: For a waiver: how much is given up; for a plan: what it spreads.
        until: For a suspension: the last day collection is suspended.
        reason: Why the customer asks (``requested``) or why it was decided so.
        filed_ref: Where the papers are filed (``procedure.started`` and ``ended``).
        outcome: How it ended (``procedure.ended``): ``completed``, ``broken``…
        bank_ref: The bank's own agreement to it (its reference), where the bank must agree
            (an instalment plan is agreed between the bank and the cardholder).
        covers: For a waiver: what it gives up (``interest``, ``penalty``, ``fees``,
            ``principal``).
    """

    request_id: Id
    procedure: SpecialProcedure
    instalments: Annotated[int, Strict(), Field(ge=1, le=600)] | None = None
    amount: Amount | None = None
    until: date | None = None
    reason: Text | None = None
    filed_ref: Text | None = None
    outcome: Id | None = None
    bank_ref: Text | None = None
    covers: tuple[Literal["interest", "penalty", "fees", "principal"], ...] = ()


class ApprovalEvent(_CaseEvent):
    """A special procedure asked for, approved or refused (the actor decides), started, ended."""

    type: Literal[
        "approval.requested",
        "approval.granted",
        "approval.refused",
        "procedure.started",
        "procedure.ended",
    ]
    payload: ApprovalPayload


class ReviewPayload(Record):
    """``visit.reviewed``: a supervisor's review of a field visit's record and recording.

    Attributes:
        record_id: The ``contact.recorded`` field visit reviewed.
        result: ``accepted`` or ``returned`` (to the collector, to complete).
        note: What the supervisor wrote.
    """

    record_id: Id
    result: Literal["accepted", "returned"]
    note: Text | None = None


class ReviewEvent(_CaseEvent):
    """A field visit reviewed (the actor is the supervisor)."""

    type: Literal["visit.reviewed"]
    payload: ReviewPayload


class OpenPromise(Record):
    """A promise to pay not yet due, on a handover sheet."""

    amount: Amount
    due: date
    record_id: Id


class HandoverPayload(Record):
    """``handover.completed``: a departing collector's case given to another, with its sheet.

    Attributes:
        from_collector: Who had the case.
        to_collector: Who has it now.
        team: The new collector's team.
        sheet_digest: The digest of the case's handover sheet (JSON), as written.
        last_contacts: How many contacts the sheet lists.
        open_promises: Promises not yet due.
        pending_approvals: Requests not yet granted or refused.
        next_action: The policy's next step for the case, if a case file was given.
        next_action_at: When it may be taken.
    """

    from_collector: Id
    to_collector: Id
    team: Id | None = None
    sheet_digest: Digest
    last_contacts: Count = 0
    open_promises: Count = 0
    pending_approvals: Count = 0
    next_action: Id | None = None
    next_action_at: Moment | None = None


class HandoverEvent(_CaseEvent):
    """A case handed over (the actor is the team lead who supervised it)."""

    type: Literal["handover.completed"]
    payload: HandoverPayload


class _Period(Record):
    """A payload covering ``period_start``..``period_end``."""

    period_start: date
    period_end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.period_end < self.period_start:
            raise PydanticCustomError("period_order", "period_end must not be before period_start")
        return self


class ReportPayload(_Period):
    """``report.filed``: a weekly, monthly or performance report filed (monthly: approved).

    Attributes:
        kind: ``weekly``, ``monthly``, or ``performance`` (each collector's results of the
            month, which the seed has filed with the finance department).
        period_start: The first day the report covers…
        period_end: …and the last.
        scope: Whose: a team, a branch or a bank.
        ref: Where it is filed.
        digest: The filed file's SHA-256.
        approved_by: Who approved it (monthly reports).
        approvals: Everyone who approved it, where it needs several (the seed: the collection
            supervisor and the branch manager); ``approved_by`` counts as one of them.
        filed_with: Who it is filed with, when the procedure says (``head_office``,
            ``finance``).
    """

    kind: Literal["weekly", "monthly", "performance"]
    period_start: date
    period_end: date
    scope: Id
    ref: Text
    digest: Digest | None = None
    approved_by: Id | None = None
    approvals: tuple[Id, ...] = ()
    filed_with: Id | None = None


class ReportEvent(_BatchEvent):
    """A report filed (no case)."""

    type: Literal["report.filed"]
    payload: ReportPayload


class ReconciliationPayload(_Period):
    """``reconciliation.filed``: the agency's statement reconciled with a bank's.

    Attributes:
        bank: The bank (or the lender).
        period_start: The first day reconciled…
        period_end: …and the last.
        agrees: Whether both sides agree, line by line.
        ours: The agency's total.
        theirs: The bank's total.
        differences: Lines that differ.
        ref: Where it is filed.
    """

    bank: Id
    period_start: date
    period_end: date
    agrees: bool
    ours: Amount
    theirs: Amount
    differences: Count = 0
    ref: Text | None = None


class ReconciliationEvent(_BatchEvent):
    """A reconciliation filed (no case)."""

    type: Literal["reconciliation.filed"]
    payload: ReconciliationPayload


class ForceMajeurePayload(Record):
    """``force_majeure.noted``: something beyond the agency's control that stops the work.

    A typhoon closes the field team's roads, a lockdown, the bank's system down.

    Attributes:
        incident: The agency's name for it; its reports to the banks cite it.
        nature: What happened.
        banks: The banks whose cases it affects: each is told (the seed's part 2).
        began: When it began, when earlier than it was noted.
        cases: The cases it affects, when known (else all of the banks' cases).
        note: What else the recorder wrote.
    """

    incident: Id
    nature: Text
    banks: Annotated[tuple[Id, ...], Field(min_length=1)]
    began: Moment | None = None
    cases: tuple[Id, ...] = ()
    note: Text | None = None


class ForceMajeureReportPayload(Record):
    """``force_majeure.reported``: a bank told of a force majeure.

    Attributes:
        incident: The incident reported (its ``force_majeure.noted``).
        bank: The bank told.
        ref: Where the report is filed (or the bank's acknowledgement).
        note: What the bank was told.
    """

    incident: Id
    bank: Id
    ref: Text
    note: Text | None = None


class ForceMajeureEvent(_BatchEvent):
    """A force majeure noted (no case: it may touch many)."""

    type: Literal["force_majeure.noted"]
    payload: ForceMajeurePayload


class ForceMajeureReportEvent(_BatchEvent):
    """A bank told of a force majeure."""

    type: Literal["force_majeure.reported"]
    payload: ForceMajeureReportPayload


class CoordinationPayload(Record):
    """``coordination.filed``: a case outside the branch's regions, coordinated.

    The branch where the cardholder lives agrees who does what, and head office files it (the
    seed's part 2).

    Attributes:
        other_branch: The branch of the cardholder's region.
        ref: Where head office filed the arrangement.
        arrangement: What the two branches agreed (who visits, who calls).
    """

    other_branch: Id
    ref: Text
    arrangement: Text | None = None


class CoordinationEvent(_CaseEvent):
    """A cross-region case's coordination filed with head office."""

    type: Literal["coordination.filed"]
    payload: CoordinationPayload


#: The model of each event type.
EVENT_MODELS: Mapping[str, type[Record]] = MappingProxyType(
    {
        **dict.fromkeys(PLACEMENT_TYPES, PlacementEvent),
        "case.received": ReceivedEvent,
        "case.refreshed": RefreshedEvent,
        "case.closed": ClosedEvent,
        "intake.completed": IntakeEvent,
        "assignment.assigned": AssignmentEvent,
        "assignment.waiting": AssignmentEvent,
        "contact.recorded": ContactEvent,
        **dict.fromkeys(
            (
                "approval.requested",
                "approval.granted",
                "approval.refused",
                "procedure.started",
                "procedure.ended",
            ),
            ApprovalEvent,
        ),
        "visit.reviewed": ReviewEvent,
        "handover.completed": HandoverEvent,
        "report.filed": ReportEvent,
        "reconciliation.filed": ReconciliationEvent,
        "force_majeure.noted": ForceMajeureEvent,
        "force_majeure.reported": ForceMajeureReportEvent,
        "coordination.filed": CoordinationEvent,
    }
)
#: Every event type.
EVENT_TYPES = tuple(EVENT_MODELS)

#: Any event.
Event = (
    PlacementEvent
    | ReceivedEvent
    | RefreshedEvent
    | ClosedEvent
    | IntakeEvent
    | AssignmentEvent
    | ContactEvent
    | ApprovalEvent
    | ReviewEvent
    | HandoverEvent
    | ReportEvent
    | ReconciliationEvent
    | ForceMajeureEvent
    | ForceMajeureReportEvent
    | CoordinationEvent
)


def parse_event(data: str | bytes | Mapping[str, Any], *, line: int | None = None) -> Event:
    """Validate one event (JSON text or a mapping) by the model of its ``type``.

    Raises:
        CaseError: Naming the event's case (when readable), its line and every problem; an
            unknown type is ``unknown_event_type`` with the nearest known one.
    """
    if isinstance(data, Overlong):
        message = f"a line of more than {MAX_LINE:,} bytes, not read"
        raise CaseError(None, [Problem("", "line_too_long", message)], line=line)
    raw = json_object(data, "an event", line=line)
    kind = raw.get("type")
    model = EVENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        if kind is None:
            problem = Problem("type", "missing", "required field 'type' is missing")
        else:
            word = str(kind)[:64]
            problem = Problem(
                "type",
                "unknown_event_type",
                f"unknown event type {word!r}{did_you_mean(word, EVENT_TYPES)}; the types are "
                "listed in docs/events.md",
            )
        raise CaseError(readable_id(raw), [problem], line=line)
    try:
        event: Event = model.model_validate(raw)  # type: ignore[assignment]
    except ValidationError as exc:
        raise CaseError(readable_id(raw), problems_of(exc, model), line=line) from None
    return event


def read_events(lines: Iterable[str | bytes]) -> Numbered[Event | CaseError]:
    """Yield an event or an error record (with its line) for each non-blank line."""
    check_batch(lines, "read_events")
    return Numbered(numbered(lines, lambda text, n: parse_event(text, line=n)))


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of an event line (every type; ``dunning schema event``)."""
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[Event, Field(discriminator="type")])
    schema = adapter.json_schema(mode="serialization")
    schema["title"] = "dunning event"
    return schema


def check_actor(actor: object) -> None:
    """Raise ``ConfigError`` unless ``actor`` can name who acted in an event (1–128 characters)."""
    if not isinstance(actor, str) or not 1 <= len(actor) <= 128 or not actor.strip():
        raise ConfigError(f"the actor is who acts: 1 to 128 characters, not {actor!r}")
