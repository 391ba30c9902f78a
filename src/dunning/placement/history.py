"""The placement history: the state the placement events give, replayed in the order of time.

Events are the state of placement (docs/events.md): a run reads them and writes new ones, and
keeps nothing in between. :func:`replay` turns them into a :class:`History` — each case's open
placement, and the placements that were in force and came back — which the placement run
continues and the settlement reads (who held a case on the day of a payment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from ..errors import ArgumentError, CaseError, Problem
from ..events import (
    ENDED,
    EVENT_MODELS,
    Event,
    PlacementEvent,
    PlacementPayload,
    PlacementState,
    parse_event,
)

__all__ = [
    "NOTICE_UNDELIVERED",
    "History",
    "OpenPlacement",
    "Window",
    "notice_events",
    "replay",
]

#: Why a proposal closes when its notice never reached the borrower in time.
NOTICE_UNDELIVERED = "notice_undelivered"

#: Every event class: an event given already read is taken as it is.
_EVENTS = tuple(set(EVENT_MODELS.values()))


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
    noticed_on: date | None = None  # a placement.noticed event: the notice reached the borrower
    notice_failed_on: date | None = None  # … or did not (the last such day)


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
        term_ends: The last day of its term (after any extension), if the events say.
        reason: Why it came back: the recall's reason, or ``returned`` (``None`` while placed).
    """

    placement_id: str
    agency_id: str
    rate: Decimal
    placed_on: date
    ended_on: date | None = None
    how: str | None = None
    total_due: Decimal | None = None
    term_ends: date | None = None
    reason: str | None = None

    @classmethod
    def of(
        cls,
        entry: OpenPlacement,
        ended_on: date | None,
        how: str | None,
        reason: str | None = None,
    ) -> Window:
        """The window of a placed ``entry`` that ended on ``ended_on`` (or is still open)."""
        assert entry.placed_on is not None
        assert entry.rate is not None
        return cls(
            entry.placement_id,
            entry.agency_id,
            entry.rate,
            entry.placed_on,
            ended_on,
            how,
            entry.total_due,
            entry.term_ends,
            reason,
        )


@dataclass
class History:
    """The state the events give: each case's open placement, and the placements that ended.

    Attributes:
        open: Each case's placement proposed or in force.
        ended: Each case's placements that were in force and came back, in order.
        known: Every placement id the events name.
        undelivered: Each case's last proposal closed because its notice never reached the
            borrower (``notice_undelivered``): the day it was closed.
        errors: An error per event line that could not be read or cannot follow its case's
            state (``bad_transition``).
    """

    open: dict[str, OpenPlacement] = field(default_factory=dict)
    ended: dict[str, list[Window]] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    undelivered: dict[str, date] = field(default_factory=dict)
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
        payload, case_id = event.payload, event.case_id
        entry = self.open.get(case_id)
        if event.type == "placement.extended":
            return self._extend(entry, payload.placement_id, payload.term_ends)
        if event.type == "placement.noticed":
            return self._noticed(entry, payload.placement_id, payload.day, payload.reason)
        if state is None:
            return None  # placement.unavailable changes nothing
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
        if state is PlacementState.CLOSED and payload.reason == NOTICE_UNDELIVERED:
            self.undelivered[case_id] = payload.day
        if entry.state is PlacementState.PLACED:
            why = payload.reason if state is PlacementState.RECALLED else state.value
            window = Window.of(entry, payload.day, state.value, why)
            self.ended.setdefault(case_id, []).append(window)
        return None

    @staticmethod
    def _noticed(
        entry: OpenPlacement | None, placement_id: str | None, day: date, outcome: str
    ) -> str | None:
        """What became of a proposal's notice: the proposal must be open, not yet placed."""
        if entry is None or entry.placement_id != placement_id:
            return f"placement.noticed: placement {placement_id} is not open"
        if entry.state is not PlacementState.PROPOSED:
            return f"placement.noticed: placement {placement_id} is placed already"
        if outcome == "delivered":
            entry.noticed_on = day if entry.noticed_on is None else min(entry.noticed_on, day)
        else:
            failed = entry.notice_failed_on
            entry.notice_failed_on = day if failed is None else max(failed, day)
        return None

    @staticmethod
    def _extend(
        entry: OpenPlacement | None, placement_id: str | None, term_ends: date | None
    ) -> str | None:
        """A placement's term moved on by the lender: the placement must be in force."""
        if entry is None or entry.placement_id != placement_id:
            return f"placement.extended: placement {placement_id} is not open"
        if entry.state is not PlacementState.PLACED:
            return f"placement.extended: placement {placement_id} is not placed yet"
        assert term_ends is not None
        assert entry.placed_on is not None
        if term_ends < entry.placed_on or (
            entry.term_ends is not None and term_ends <= entry.term_ends
        ):
            return (
                f"placement.extended: the new term_ends {term_ends.isoformat()} does not move "
                f"the term on (it ends {entry.term_ends.isoformat() if entry.term_ends else '?'})"
            )
        entry.term_ends = term_ends
        return None


def replay(
    events: Iterable[Event | CaseError | Mapping[str, Any] | str | bytes],
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
            # An event read already is taken as it is; anything else is read (or refused).
            event = item if isinstance(item, _EVENTS) else parse_event(cast(Any, item))
        except CaseError as error:
            error.line = error.line if error.line is not None else number + 1
            history.errors.append(error)
            continue
        if not isinstance(event, PlacementEvent):
            continue  # the agency's records change no placement
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


def notice_events(
    history: History, at: datetime, failed: Iterable[str] = ()
) -> list[PlacementEvent]:
    """What became of the notices of the proposals waiting for one: ``placement.noticed`` events.

    Each open proposal without a delivered notice on record gets one, dated ``at``: ``failed``
    for the cases ``failed`` names (the SMS gateway's report), else ``delivered``.

    Raises:
        ArgumentError: If ``failed`` names a case that has no proposal waiting for its notice.
    """
    failing = set(failed)
    waiting = {
        case_id: entry
        for case_id, entry in history.open.items()
        if entry.state is PlacementState.PROPOSED and entry.noticed_on is None
    }
    unknown = sorted(failing - set(waiting))
    if unknown:
        more = " …" if len(unknown) > 5 else ""
        raise ArgumentError(
            f"{', '.join(unknown[:5])}{more}: no open proposal waiting for its notice"
        )
    found = []
    for case_id in sorted(waiting):
        entry = waiting[case_id]
        payload = PlacementPayload(
            placement_id=entry.placement_id,
            agency_id=entry.agency_id,
            day=at.date(),
            reason="failed" if case_id in failing else "delivered",
        )
        found.append(
            PlacementEvent(type="placement.noticed", at=at, case_id=case_id, payload=payload)
        )
    return found
