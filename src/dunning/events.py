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
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

import jiter
from pydantic import AwareDatetime, Field, Strict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from .cases import _readable_id, check_batch, problems_of
from .errors import CaseError, Problem
from .model import Amount, Id, Message, PolicyRef, Rate, Text, _Model

__all__ = [
    "EVENT_TYPES",
    "PlacementEvent",
    "PlacementPayload",
    "PlacementState",
    "parse_event",
    "read_events",
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
    raw: Any = data
    if isinstance(data, str | bytes):
        try:
            raw = jiter.from_json(
                data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data,
                catch_duplicate_keys=True,
                allow_inf_nan=False,
            )
        except ValueError as exc:
            problem = Problem("", "invalid_json", f"not valid JSON: {exc}")
            raise CaseError(None, [problem], line=line) from None
    if not isinstance(raw, Mapping):
        problem = Problem(
            "", "not_an_object", f"an event is a JSON object, not {type(raw).__name__}"
        )
        raise CaseError(None, [problem], line=line)
    try:
        return PlacementEvent.model_validate(raw)
    except ValidationError as exc:
        raise CaseError(_readable_id(raw), problems_of(exc, PlacementEvent), line=line) from None


def read_events(lines: Iterable[str | bytes]) -> Iterator[PlacementEvent | CaseError]:
    """Yield an event or an error record (with its line) for each non-blank line."""
    check_batch(lines, "read_events")
    for number, text in enumerate(lines, start=1):
        if not isinstance(text, str | bytes):
            problem = Problem("", "not_an_object", f"a line is text, not {type(text).__name__}")
            yield CaseError(None, [problem], line=number)
            continue
        if not text.strip():
            continue
        try:
            yield parse_event(text, line=number)
        except CaseError as error:
            yield error
