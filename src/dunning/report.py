"""Portfolio summaries: many assessments folded into the tables a collection manager reads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TextIO

from .delinquency import DEFAULT_BANDS, Assessment, BucketBands
from .model import Channel, Decision, GuardEffect, HandledBy, Product
from .money import round_money

__all__ = ["DecisionSummary", "PortfolioSummary"]


@dataclass
class _Amounts:
    cases: int = 0
    principal: Decimal = Decimal(0)
    charges: Decimal = Decimal(0)  # overdue interest + penalty interest + fees
    total_due: Decimal = Decimal(0)

    def add(self, other: _Amounts) -> None:
        self.cases += other.cases
        self.principal += other.principal
        self.charges += other.charges
        self.total_due += other.total_due


def _count_table(
    out: TextIO, rows: dict[str, Counter[str]], columns: dict[str, int], width: int
) -> None:
    """Write counts by product (rows, in product order) and column, with totals."""
    out.write(f"{'product':<{width}}{''.join(f'{c:>{w}}' for c, w in columns.items())}")
    out.write(f"{'total':>8}\n")
    grand: Counter[str] = Counter()
    names = [p.value for p in Product if p.value in rows]
    for name in [*names, "total"]:
        row = grand if name == "total" else rows[name]
        if name != "total":
            grand.update(row)
        cells = "".join(f"{row[c]:>{w}}" for c, w in columns.items())
        out.write(f"{name:<{width}}{cells}{sum(row.values()):>8}\n")


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

    def render(self, out: TextIO, *, title: str) -> None:
        """Write the summary as aligned plain-text tables."""
        products = [p.value for p in Product if p.value in self.buckets]
        width = max([len("product"), *map(len, products)])
        out.write(f"{title}\n\nCases by product and bucket\n")
        _count_table(out, self.buckets, dict.fromkeys(self.bands.labels, 7), width)

        out.write("\nOverdue amounts by product (cases with dpd > 0)\n")
        heads = ("overdue cases", "overdue principal", "interest+penalty+fees", "total due")
        out.write(f"{'product':<{width}}{''.join(f'{h:>23}' for h in heads)}\n")
        total = _Amounts()
        for name in [*products, "total"]:
            amounts = total if name == "total" else self.overdue.get(name, _Amounts())
            if name != "total":
                total.add(amounts)
            cells = (
                f"{amounts.cases:>23,}{amounts.principal:>23,.2f}"
                f"{amounts.charges:>23,.2f}{amounts.total_due:>23,.2f}"
            )
            out.write(f"{name:<{width}}{cells}\n")
        if self.rejected:
            out.write(f"\n{self.rejected} line(s) rejected; see the messages above.\n")


@dataclass
class DecisionSummary:
    """Decisions folded into a manager's view: product × channel, and what goes to agencies."""

    channels: dict[str, Counter[str]] = field(default_factory=dict)
    agency_cases: int = 0
    agency_total_due: Decimal = Decimal(0)
    expected_commission: Decimal = Decimal(0)
    rejected: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    guards: dict[str, Counter[str]] = field(default_factory=dict)
    charges_cut: Decimal = Decimal(0)

    def add(self, product: str, decision: Decision) -> None:
        """Count one decision of a case of ``product``."""
        self.channels.setdefault(product, Counter())[decision.action.channel.value] += 1
        for record in decision.guards:
            self.guards.setdefault(record.id, Counter())[record.effect.value] += 1
            if record.effect is GuardEffect.CUT and record.amount is not None:
                self.charges_cut += record.amount
        if decision.action.handled_by is HandledBy.AGENCY:
            self.agency_cases += 1
            self.agency_total_due += decision.fee_terms.total_due
            rate = decision.fee_terms.commission_rate or Decimal(0)
            self.expected_commission += round_money(decision.fee_terms.total_due * rate)

    def skip(self, product: str) -> None:
        """Count a case the policy does not cover."""
        self.skipped[product] += 1

    def merge(self, other: DecisionSummary) -> None:
        """Add the counts of ``other`` (a worker's part of the batch) to these."""
        for product, counts in other.channels.items():
            self.channels.setdefault(product, Counter()).update(counts)
        for guard, counts in other.guards.items():
            self.guards.setdefault(guard, Counter()).update(counts)
        self.agency_cases += other.agency_cases
        self.agency_total_due += other.agency_total_due
        self.expected_commission += other.expected_commission
        self.rejected += other.rejected
        self.skipped.update(other.skipped)
        self.charges_cut += other.charges_cut

    def render(self, out: TextIO, *, title: str) -> None:
        """Write the summary as aligned plain-text tables."""
        products = [p.value for p in Product if p.value in self.channels]
        width = max([len("product"), *map(len, products)])
        out.write(f"{title}\n\nDecisions by product and channel\n")
        _count_table(out, self.channels, {c.value: len(c.value) + 2 for c in Channel}, width)
        out.write("\nGoing to agencies\n")
        out.write(f"  cases:               {self.agency_cases:>18,}\n")
        out.write(f"  total due:           {self.agency_total_due:>18,.2f}\n")
        out.write(f"  expected commission: {self.expected_commission:>18,.2f}")
        out.write("  (total due × commission rate, if all is recovered)\n")
        if self.guards:
            out.write("\nCompliance guards (decisions changed, by guard and effect)\n")
            effects = {e.value: len(e.value) + 2 for e in GuardEffect}
            out.write(f"{'guard':<20}{''.join(f'{e:>{w}}' for e, w in effects.items())}\n")
            for guard, counts in sorted(self.guards.items()):
                cells = "".join(f"{counts[e]:>{w}}" for e, w in effects.items())
                out.write(f"{guard:<20}{cells}\n")
            out.write(f"  charges cut to the cap: {self.charges_cut:>15,.2f}\n")
        if self.skipped:
            names = ", ".join(f"{n} {p}" for p, n in sorted(self.skipped.items()))
            out.write(f"\nSkipped, not covered by this policy: {names}\n")
        if self.rejected:
            out.write(f"\n{self.rejected} line(s) rejected; see the messages above.\n")
