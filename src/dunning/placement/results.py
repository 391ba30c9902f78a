"""What a placement run makes of each case: its decision, its events, each agency's verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import CaseError
from ..events import PlacementEvent
from ..model import Decision, HandledBy

__all__ = ["INELIGIBLE", "Eligibility", "PlacementResult", "PlacementRun"]

#: Why an agency cannot take a case, in the order they are checked.
INELIGIBLE = {
    "not_started": "its contract has not started",
    "contract_ended": "its contract has ended",
    "suspended": "it is suspended",
    "review_overdue": "its review date has passed",
    "product": "it does not serve the product",
    "region": "it does not serve the borrower's region",
    "cool_off": "the case came back from it within the cool-off period",
    "no_rate": "neither its contract nor the policy gives a rate at this stage",
    "borrower_elsewhere": "the borrower's other debts are with another agency",
    "capacity": "it has no capacity left",
    "no_share": "the shares strategy gives it no share",
}


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Whether one agency could take one case: ``reason`` is ``None`` when it could."""

    agency_id: str
    reason: str | None

    @property
    def eligible(self) -> bool:
        """Whether the agency could take the case."""
        return self.reason is None


@dataclass(frozen=True)
class PlacementResult:
    """What a run made of one case.

    Attributes:
        decision: The case's decision: its agency's for a placed case, the notice naming the
            agency for a proposed one, else the lender's own.
        events: The events of this run for the case (possibly none).
        eligibility: For a case the rules sent out in this run: each agency and why it could
            or could not take it.
        line: The input line of the case, when read from JSON Lines.
    """

    decision: Decision
    events: tuple[PlacementEvent, ...] = ()
    eligibility: tuple[Eligibility, ...] = ()
    line: int | None = None

    @property
    def case_id(self) -> str:
        """The case's id."""
        return self.decision.case_id

    def render(self) -> str:
        """Return the placement of the case as readable text: events, decision, agencies."""
        action = self.decision.action
        lines = ["placement:"]
        for event in self.events:
            p = event.payload
            about = [p.reason] + ([f"rule {p.rule}"] if p.rule else [])
            if p.effective_on is not None:
                about.append(f"takes effect on {p.effective_on.isoformat()} at the earliest")
            if p.commission_rate is not None:
                about.append(f"commission {p.commission_rate}")
            if p.term_ends is not None:
                about.append(f"term ends {p.term_ends.isoformat()}")
            lines.append(f"  {event.type} {p.agency_id or ''} ({', '.join(about)})".rstrip())
        if not self.events:
            lines.append("  no placement event in this run")
        handler = f" {action.agency_id}" if action.agency_id else ""
        if action.agency_id and action.handled_by is HandledBy.INTERNAL:
            handler = f"; the notice names {action.agency_id}"
        lines.append(f"  decision: {action.channel} (handled by {action.handled_by}{handler})")
        if action.message is not None and action.message.text is not None:
            lines.append(f"    {action.message.text}")
        if self.eligibility:
            chosen = next(
                (e.payload.agency_id for e in self.events if e.type == "placement.proposed"),
                None,
            )
            lines.append("  agencies:")
            width = max(len(c.agency_id) for c in self.eligibility)
            for check in self.eligibility:
                if check.reason is None:
                    mark = "=>" if check.agency_id == chosen else "ok"
                    note = "eligible" + (", chosen" if mark == "=>" else "")
                else:
                    mark, note = "--", f"{check.reason}: {INELIGIBLE[check.reason]}"
                lines.append(f"    {mark} {check.agency_id:<{width}}  {note}")
        return "\n".join(lines)


@dataclass
class PlacementRun:
    """The results of one run: one per case (in input order), and the bad event lines.

    Attributes:
        results: A :class:`PlacementResult` or a ``CaseError`` per case.
        event_errors: An error per event line that could not be read or applied.
        capacity: Each agency's open placements after the run, and its capacity.
    """

    results: list[PlacementResult | CaseError]
    event_errors: list[CaseError] = field(default_factory=list)
    capacity: dict[str, tuple[int, int | None]] = field(default_factory=dict)

    @property
    def events(self) -> list[PlacementEvent]:
        """Every event of the run, in the order of the cases."""
        return [e for r in self.results if isinstance(r, PlacementResult) for e in r.events]
