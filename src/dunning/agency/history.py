"""A case's history: every event of one case in the log, in time order, each said in a line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ..errors import CaseError
from ..events import (
    ApprovalEvent,
    AssignmentEvent,
    ClosedEvent,
    ContactEvent,
    CoordinationEvent,
    Event,
    HandoverEvent,
    PlacementEvent,
    ReceivedEvent,
    RefreshedEvent,
    ReviewEvent,
    parse_event,
)

__all__ = ["CaseHistory", "case_history", "describe"]


@dataclass
class CaseHistory:
    """The events of one case (with their lines), in time order, and its unreadable lines."""

    case_id: str
    events: list[tuple[int, Event]] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)


def case_history(lines: Iterable[str | bytes], case_id: str) -> CaseHistory:
    """Read the log once, keeping the events of ``case_id`` (time order, then file order).

    Only lines naming the case are parsed; a line that names it and does not read is listed
    by its number.
    """
    found = CaseHistory(case_id)
    needle = json.dumps(case_id, ensure_ascii=False)
    for number, text in enumerate(lines, start=1):
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        if needle not in raw:
            continue
        try:
            event = parse_event(text, line=number)
        except CaseError as error:
            if error.case_id == case_id:
                found.unreadable.append(number)
            continue
        if event.case_id == case_id:
            found.events.append((number, event))
    found.events.sort(key=lambda item: (item[1].at, item[0]))
    return found


def describe(event: Event, zone: ZoneInfo | None = None) -> str:
    """The event in one line: when, who, what."""
    at = event.at.astimezone(zone) if zone else event.at
    head = f"{at:%Y-%m-%d %H:%M} {event.actor:<8} {event.type:<20}"
    return f"{head} {_what(event)}".rstrip()


def _what(event: Event) -> str:
    if isinstance(event, ReceivedEvent):
        r = event.payload
        where = f", region {r.region}" if r.region else ""
        return f"from {r.bank} (batch {r.batch_id}, line {r.line}{where})"
    if isinstance(event, RefreshedEvent):
        f = event.payload
        return f"newer figures from {f.bank} (batch {f.batch_id}): dpd {f.dpd}, owed {f.total_due}"
    if isinstance(event, AssignmentEvent):
        a = event.payload
        return f"to {a.collector_id or 'no one'} ({a.team or 'any team'}): {a.reason}"
    if isinstance(event, ContactEvent):
        c = event.payload
        made = c.contacted_at.isoformat(timespec="minutes")
        promise = f" {c.promise_amount} by {c.promise_due}" if c.promise_amount else ""
        return f"{c.channel.value} to {c.party_id} at {made}: {c.outcome.value}{promise}"
    if isinstance(event, ApprovalEvent):
        q = event.payload
        terms = [
            f"{q.instalments} instalments" if q.instalments else "",
            f"amount {q.amount}" if q.amount is not None else "",
            f"until {q.until}" if q.until else "",
            q.reason or "",
        ]
        shown = ", ".join(t for t in terms if t)
        return f"{q.procedure.value} {q.request_id}" + (f": {shown}" if shown else "")
    if isinstance(event, ReviewEvent):
        return f"visit {event.payload.record_id} {event.payload.result}"
    if isinstance(event, HandoverEvent):
        return f"from {event.payload.from_collector} to {event.payload.to_collector}"
    if isinstance(event, ClosedEvent):
        return event.payload.reason
    if isinstance(event, CoordinationEvent):
        return f"with {event.payload.other_branch}, filed {event.payload.ref}"
    if isinstance(event, PlacementEvent):
        return f"{event.payload.agency_id or ''} {event.payload.reason}".strip()
    return ""
