"""Events: the contract between the stages after a decision (placement, and later settlement).

An event is one JSON line: a ``type``, an aware time ``at``, an ``actor``, the ``case_id`` and
a ``payload``. A stage reads events and writes events and keeps no state of its own between
calls; the same inputs give the same bytes. Events are read with the quality of cases: every
bad line gives an error record naming its line, and nothing is dropped.

Placement events (``placement.*``) record a placement's life: ``proposed`` (the notice naming
the agency is to be sent), ``placed`` (in force), then ``recalled`` (the lender took it back),
``returned`` (the agency gave it back; recorded by the host) or ``closed`` (a proposal that
never took effect). ``placement.unavailable`` says that no agency could take a case the rules
sent out; it changes no state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, Field, Strict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from .cases import _readable_id, check_batch, json_object, numbered, problems_of
from .errors import CaseError, Problem
from .model import Amount, Id, Message, PolicyRef, Rate, Text, _Model

__all__ = [
    "EVENT_TYPES",
    "History",
    "OpenPlacement",
    "PlacementEvent",
    "PlacementPayload",
    "PlacementState",
    "Window",
    "parse_event",
    "read_events",
    "replay",
]


class PlacementState(StrEnum):
    """The states of a placement; each is entered by the event of the same name."""

    PROPOSED = "proposed"
    PLACED = "placed"
    RECALLED = "recalled"
    RETURNED = "returned"
    CLOSED = "closed"


#: Every event type, and the states that end a placement.
EVENT_TYPES = (*(f"placement.{s.value}" for s in PlacementState), "placement.unavailable")
ENDED = frozenset({PlacementState.RECALLED, PlacementState.RETURNED, PlacementState.CLOSED})

EventType = Literal[
    "placement.proposed",
    "placement.placed",
    "placement.recalled",
    "placement.returned",
    "placement.closed",
    "placement.unavailable",
]


class PlacementPayload(_Model):
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
        term_ends: For ``placed``: the last day of its term.
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


class PlacementEvent(_Model):
    """One transition of a placement (or a case no agency could take)."""

    type: EventType
    at: AwareDatetime
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
        return self

    @property
    def state(self) -> PlacementState | None:
        """The state the event enters (``None`` for ``unavailable``)."""
        name = self.type.removeprefix("placement.")
        return PlacementState(name) if name in PlacementState.__members__.values() else None


def parse_event(
    data: str | bytes | Mapping[str, Any], *, line: int | None = None
) -> PlacementEvent:
    """Validate one event (JSON text or a mapping).

    Raises:
        CaseError: Naming the event's case (when readable), its line and every problem.
    """
    raw = json_object(data, "an event", line=line)
    try:
        return PlacementEvent.model_validate(raw)
    except ValidationError as exc:
        raise CaseError(_readable_id(raw), problems_of(exc, PlacementEvent), line=line) from None


def read_events(lines: Iterable[str | bytes]) -> Iterator[PlacementEvent | CaseError]:
    """Yield an event or an error record (with its line) for each non-blank line."""
    check_batch(lines, "read_events")
    for _, item in numbered(lines, lambda text, n: parse_event(text, line=n)):
        yield item


# --- replay: the state the events give ------------------------------------------------------


@dataclass
class OpenPlacement:
    """A case's placement in force or proposed, as the events so far say."""

    placement_id: str
    agency_id: str
    state: PlacementState
    proposed_on: date
    placed_on: date | None = None
    rate: Decimal | None = None
    term_ends: date | None = None
    total_due: Decimal | None = None  # when it was placed


@dataclass(frozen=True, slots=True)
class Window:
    """A placement that was in force: the agency held the case from ``placed_on`` on.

    Attributes:
        placement_id: The placement.
        agency_id: The agency that held the case.
        rate: The placement's commission rate.
        placed_on: The first day the agency held the case.
        ended_on: The day it came back (``None`` while it is still placed).
        how: ``recalled`` or ``returned`` (``None`` while placed).
        total_due: What the customer owed when it was placed, if the event says.
    """

    placement_id: str
    agency_id: str
    rate: Decimal
    placed_on: date
    ended_on: date | None = None
    how: str | None = None
    total_due: Decimal | None = None

    @classmethod
    def of(cls, entry: OpenPlacement, ended_on: date | None, how: str | None) -> Window:
        """The window of a placed ``entry`` that ended on ``ended_on`` (or is still open)."""
        assert entry.placed_on is not None
        assert entry.rate is not None
        return cls(
            entry.placement_id, entry.agency_id, entry.rate, entry.placed_on, ended_on, how,
            entry.total_due,
        )  # fmt: skip


@dataclass
class History:
    """The state the events give: each case's open placement, and the placements that ended.

    Attributes:
        open: Each case's placement proposed or in force.
        ended: Each case's placements that were in force and came back, in order.
        known: Every placement id the events name.
        errors: An error per event line that could not be read or cannot follow its case's
            state (``bad_transition``).
    """

    open: dict[str, OpenPlacement] = field(default_factory=dict)
    ended: dict[str, list[Window]] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    errors: list[CaseError] = field(default_factory=list)

    def windows(self, case_id: str) -> list[Window]:
        """Every placement of the case that was in force, the open one last."""
        found = list(self.ended.get(case_id, ()))
        entry = self.open.get(case_id)
        if entry is not None and entry.state is PlacementState.PLACED:
            found.append(Window.of(entry, None, None))
        return found

    def apply(self, event: PlacementEvent) -> str | None:
        """Apply one event; return why it cannot follow the case's state, if it cannot."""
        state = event.state
        if state is None:
            return None  # placement.unavailable changes nothing
        payload, case_id = event.payload, event.case_id
        entry = self.open.get(case_id)
        assert payload.agency_id is not None
        assert payload.placement_id is not None
        if state in (PlacementState.PROPOSED, PlacementState.PLACED) and entry is None:
            # A proposal; or a placement made outside dunning's proposals (recorded from a case).
            entry = OpenPlacement(payload.placement_id, payload.agency_id, state, payload.day)
            self.open[case_id] = entry
            self.known.add(payload.placement_id)
            if state is PlacementState.PLACED:
                entry.placed_on, entry.rate = payload.day, payload.commission_rate
                entry.term_ends, entry.total_due = payload.term_ends, payload.total_due
            return None
        if state is PlacementState.PROPOSED:
            assert entry is not None
            return f"{event.type}: the case already has an open placement ({entry.placement_id})"
        if entry is None or entry.placement_id != payload.placement_id:
            return f"{event.type}: placement {payload.placement_id} is not open"
        if state is PlacementState.PLACED:
            if entry.state is not PlacementState.PROPOSED:
                return f"{event.type}: placement {payload.placement_id} is already placed"
            entry.state, entry.placed_on = state, payload.day
            entry.rate, entry.term_ends = payload.commission_rate, payload.term_ends
            entry.total_due = payload.total_due
            return None
        ends_placed = state in (PlacementState.RECALLED, PlacementState.RETURNED)
        if ends_placed and entry.state is not PlacementState.PLACED:
            return f"{event.type}: placement {payload.placement_id} was never placed"
        assert state in ENDED
        del self.open[case_id]
        if entry.state is PlacementState.PLACED:
            self.ended.setdefault(case_id, []).append(Window.of(entry, payload.day, state.value))
        return None


def replay(
    events: Iterable[PlacementEvent | CaseError | Mapping[str, Any] | str | bytes],
    *,
    until: datetime | None = None,
) -> History:
    """Replay the events (up to ``until``) in the order of their times into a :class:`History`.

    Events of the same time keep their input order. A line that cannot be read, or an event
    that cannot follow its case's state, becomes an error of :attr:`History.errors` with its
    line, and changes nothing.
    """
    history = History()
    known: list[tuple[datetime, int, int | None, PlacementEvent]] = []
    for number, item in enumerate(events):
        line = getattr(item, "line", None)
        if isinstance(item, CaseError):
            history.errors.append(item)
            continue
        try:
            event = item if isinstance(item, PlacementEvent) else parse_event(item)
        except CaseError as error:
            error.line = error.line if error.line is not None else number + 1
            history.errors.append(error)
            continue
        if until is None or event.at <= until:
            known.append((event.at, number, line, event))
    known.sort(key=lambda k: (k[0], k[1]))
    for _, number, line, event in known:
        problem = history.apply(event)
        if problem is not None:
            wrong = CaseError(event.case_id, [Problem("type", "bad_transition", problem)])
            wrong.line = line if line is not None else number + 1
            history.errors.append(wrong)
    return history
