"""Portfolio summaries: many assessments and decisions folded into what a manager reads.

The decision and placement summaries are computed here as data (``to_dict``); their text, page,
CSV and workbook are the report documents of :mod:`dunning.reports`, as are the money reports'
(``render_settlement`` and its siblings write their text form).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from .delinquency import DEFAULT_BANDS, Assessment, BucketBands
from .model import SPECIAL_PROCEDURES, Channel, Decision, GuardEffect, HandledBy, Product
from .money import round_money
from .reports.text import report_text

if TYPE_CHECKING:
    from .agency.intake import IntakeResult
    from .placement.placer import PlacementResult
    from .settlement.costs import CostReport
    from .settlement.reconcile import Reconciliation
    from .settlement.statements import Settlement

__all__ = [
    "DecisionSummary",
    "PlacementSummary",
    "PortfolioSummary",
    "render_costs",
    "render_intake",
    "render_reconciliation",
    "render_settlement",
]


@dataclass
class _Amounts:
    cases: int = 0
    principal: Decimal = Decimal(0)
    charges: Decimal = Decimal(0)  # overdue interest + penalty interest + fees
    total_due: Decimal = Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "principal": str(self.principal),
            "charges": str(self.charges),
            "total_due": str(self.total_due),
        }

    def add(self, other: _Amounts) -> None:
        self.cases += other.cases
        self.principal += other.principal
        self.charges += other.charges
        self.total_due += other.total_due


@dataclass
class PortfolioSummary:
    """Counts of cases by product × bucket and overdue amounts by product.

    Feed it with :meth:`add`; amounts are summed exactly (``Decimal``) in the case currency,
    so mix currencies only in separate summaries.
    """

    bands: BucketBands = DEFAULT_BANDS
    buckets: dict[str, Counter[str]] = field(default_factory=dict)
    overdue: dict[str, _Amounts] = field(default_factory=dict)
    rejected: int = 0

    def add(self, product: Product, assessment: Assessment) -> None:
        """Count one assessed case of ``product``."""
        self.buckets.setdefault(product.value, Counter())[assessment.bucket] += 1
        if assessment.dpd > 0:
            row = self.overdue.setdefault(product.value, _Amounts())
            row.add(
                _Amounts(
                    1,
                    assessment.overdue_principal,
                    assessment.overdue_interest + assessment.penalty_interest + assessment.fees,
                    assessment.total_due,
                )
            )

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (amounts as strings), products in the model's order."""
        products = [p.value for p in Product if p.value in self.buckets]
        used = {b for row in self.buckets.values() for b in row}
        labels = _bucket_order(used | set(self.bands.labels), self.bands.labels)  # every band
        return {
            "rejected": self.rejected,
            "products": {
                p: {
                    "cases": sum(self.buckets[p].values()),
                    "buckets": {b: self.buckets[p][b] for b in labels},
                    "overdue": self.overdue.get(p, _Amounts()).to_dict(),
                }
                for p in products
            },
        }


@dataclass
class DecisionSummary:
    """Decisions folded into a manager's view: product × channel, and what goes to agencies."""

    channels: dict[str, Counter[str]] = field(default_factory=dict)
    buckets: dict[str, Counter[str]] = field(default_factory=dict)
    total_due: dict[str, Decimal] = field(default_factory=dict)  # by product
    # Going to agencies, by the case's bucket: [cases, total due, expected commission].
    agency_buckets: dict[str, list[Any]] = field(default_factory=dict)
    agency_cases: int = 0
    agency_total_due: Decimal = Decimal(0)
    expected_commission: Decimal = Decimal(0)
    rejected: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    guards: dict[str, Counter[str]] = field(default_factory=dict)
    charges_cut: Decimal = Decimal(0)
    bands: tuple[str, ...] = DEFAULT_BANDS.labels  # the policy's bucket labels, in order

    def add(self, product: str, decision: Decision) -> None:
        """Count one decision of a case of ``product``."""
        self.channels.setdefault(product, Counter())[decision.action.channel.value] += 1
        self.buckets.setdefault(product, Counter())[decision.bucket] += 1
        due = decision.fee_terms.total_due
        self.total_due[product] = self.total_due.get(product, Decimal(0)) + due
        for record in decision.guards:
            self.guards.setdefault(record.id, Counter())[record.effect.value] += 1
            if record.effect is GuardEffect.CUT and record.amount is not None:
                self.charges_cut += record.amount
        if decision.action.handled_by is HandledBy.AGENCY:
            rate = decision.fee_terms.commission_rate or Decimal(0)
            commission = round_money(due * rate)
            self.agency_cases += 1
            self.agency_total_due += due
            self.expected_commission += commission
            row = self.agency_buckets.setdefault(decision.bucket, [0, Decimal(0), Decimal(0)])
            row[0] += 1
            row[1] += due
            row[2] += commission

    def skip(self, product: str) -> None:
        """Count a case the policy does not cover."""
        self.skipped[product] += 1

    def merge(self, other: DecisionSummary) -> None:
        """Add the counts of ``other`` (a worker's part of the batch) to these."""
        for product, counts in other.channels.items():
            self.channels.setdefault(product, Counter()).update(counts)
        for guard, counts in other.guards.items():
            self.guards.setdefault(guard, Counter()).update(counts)
        for product, counts in other.buckets.items():
            self.buckets.setdefault(product, Counter()).update(counts)
        for product, due in other.total_due.items():
            self.total_due[product] = self.total_due.get(product, Decimal(0)) + due
        for bucket, (cases, due, commission) in other.agency_buckets.items():
            row = self.agency_buckets.setdefault(bucket, [0, Decimal(0), Decimal(0)])
            row[0] += cases
            row[1] += due
            row[2] += commission
        self.agency_cases += other.agency_cases
        self.agency_total_due += other.agency_total_due
        self.expected_commission += other.expected_commission
        self.rejected += other.rejected
        self.skipped.update(other.skipped)
        self.charges_cut += other.charges_cut

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (amounts as strings), products in the model's order."""
        products = [p.value for p in Product if p.value in self.channels]
        used = {c for row in self.channels.values() for c in row}
        channels = [c.value for c in Channel if c not in SPECIAL_PROCEDURES or c.value in used]
        labels = _bucket_order({b for row in self.buckets.values() for b in row}, self.bands)
        return {
            "decided": sum(sum(row.values()) for row in self.channels.values()),
            "rejected": self.rejected,
            "skipped": dict(sorted(self.skipped.items())),
            "products": {
                p: {
                    "cases": sum(self.channels[p].values()),
                    "total_due": str(self.total_due.get(p, Decimal(0))),
                    "buckets": {b: self.buckets[p][b] for b in labels},
                    "channels": {c: self.channels[p][c] for c in channels},
                }
                for p in products
            },
            "agencies": {
                "cases": self.agency_cases,
                "total_due": str(self.agency_total_due),
                "expected_commission": str(self.expected_commission),
                "by_bucket": {
                    b: {
                        "cases": row[0],
                        "total_due": str(row[1]),
                        "expected_commission": str(row[2]),
                    }
                    for b in _bucket_order(set(self.agency_buckets), self.bands)
                    for row in [self.agency_buckets[b]]
                },
            },
            "guards": {
                g: {e.value: counts[e.value] for e in GuardEffect}
                for g, counts in sorted(self.guards.items())
            },
            "charges_cut": str(self.charges_cut),
        }


def _bucket_order(labels: set[str], bands: Sequence[str]) -> list[str]:
    """Bucket labels in the order of the policy's bands; any other (M12, say) after, by stage."""
    known = {label: i for i, label in enumerate(bands)}

    def stage(label: str) -> tuple[int, int, str]:
        digits = label[1:].rstrip("+")
        number = int(digits) if label[:1] == "M" and digits.isdigit() else 1 << 30
        return (known.get(label, len(known)), number, label)

    return sorted(labels, key=stage)


@dataclass
class _AgencyLoad:
    """One agency's part of a placement run."""

    proposed: int = 0
    proposed_due: Decimal = Decimal(0)
    placed: int = 0
    placed_due: Decimal = Decimal(0)
    kept: int = 0
    kept_due: Decimal = Decimal(0)
    recalled: Counter[str] = field(default_factory=Counter)
    closed: Counter[str] = field(default_factory=Counter)


@dataclass
class PlacementSummary:
    """A placement run folded per agency: what went out, stayed, came back, and the load.

    Computed once as data (:meth:`to_dict`): the ``placements`` report document lays it out.
    """

    agencies: dict[str, _AgencyLoad] = field(default_factory=dict)
    unavailable: int = 0
    unavailable_due: Decimal = Decimal(0)
    unavailable_reasons: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    capacity: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    targets: dict[str, Decimal] = field(default_factory=dict)

    def add(self, result: PlacementResult) -> None:
        """Count one case's result."""
        decision = result.decision
        due = decision.fee_terms.total_due
        # A placement a case brought with it is recorded as placed, but it is not new.
        new = [e for e in result.events if e.payload.reason != "recorded_from_case"]
        kinds = {event.type for event in new}
        for event in new:
            agency = event.payload.agency_id
            if event.type == "placement.unavailable":
                self.unavailable += 1
                self.unavailable_due += due
                self.unavailable_reasons.update(set(event.payload.ineligible.values()))
                continue
            assert agency is not None
            row = self.agencies.setdefault(agency, _AgencyLoad())
            if event.type == "placement.proposed":
                row.proposed += 1
                row.proposed_due += due
            elif event.type == "placement.placed":
                row.placed += 1
                row.placed_due += due
            elif event.type == "placement.recalled":
                row.recalled[event.payload.reason] += 1
            elif event.type == "placement.closed":
                row.closed[event.payload.reason] += 1
        agency_id = decision.action.agency_id
        held = decision.action.channel is Channel.OUTSOURCE and agency_id is not None
        if held and "placement.placed" not in kinds:
            assert agency_id is not None
            row = self.agencies.setdefault(agency_id, _AgencyLoad())
            row.kept += 1
            row.kept_due += due

    def to_dict(self) -> dict[str, object]:
        """The summary as JSON-ready data (amounts as strings)."""
        proposed = sum(row.proposed for row in self.agencies.values())
        agencies = {}
        for agency_id in sorted(set(self.agencies) | set(self.capacity)):
            row = self.agencies.get(agency_id, _AgencyLoad())
            used, capacity = self.capacity.get(agency_id, (0, None))
            agencies[agency_id] = {
                "proposed": row.proposed,
                "proposed_total_due": str(row.proposed_due),
                "placed": row.placed,
                "placed_total_due": str(row.placed_due),
                "kept": row.kept,
                "kept_total_due": str(row.kept_due),
                "recalled": dict(sorted(row.recalled.items())),
                "closed": dict(sorted(row.closed.items())),
                "open": used,
                "capacity": capacity,
                "left": None if capacity is None else capacity - used,
                "share": str(round(Decimal(row.proposed) / proposed, 4)) if proposed else None,
                "target": str(self.targets[agency_id]) if agency_id in self.targets else None,
            }
        return {
            "agencies": agencies,
            "unavailable": {
                "cases": self.unavailable,
                "total_due": str(self.unavailable_due),
                "reasons": dict(sorted(self.unavailable_reasons.items())),
            },
            "rejected": self.rejected,
            "skipped": dict(sorted(self.skipped.items())),
        }


# --- the money reports as text ---------------------------------------------------------------


def render_settlement(settlement: Settlement, out: TextIO, *, agency_id: str | None = None) -> None:
    """Write the settlement as ``dunning settle`` does: its report document as text."""
    out.write(report_text("settlement", settlement.to_dict(agency_id=agency_id)))


def render_reconciliation(reconciliation: Reconciliation, out: TextIO) -> None:
    """Write the reconciliation as ``dunning reconcile`` does: its report document as text."""
    out.write(report_text("reconciliation", reconciliation.to_dict()))


def render_costs(report: CostReport, out: TextIO) -> None:
    """Write the cost report as ``dunning costs`` does: its report document as text."""
    out.write(report_text("costs", report.to_dict()))


# --- the agency's day ---------------------------------------------------------------------------


def render_intake(result: IntakeResult, out: TextIO) -> None:
    """Write what an intake did, as ``dunning intake`` does: with every refused line."""
    out.write(report_text("intake", result.to_dict()))
