"""Portfolio summaries: many assessments folded into the tables a collection manager reads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from .delinquency import DEFAULT_BANDS, Assessment, BucketBands
from .errors import CaseError
from .model import SPECIAL_PROCEDURES, Channel, Decision, GuardEffect, HandledBy, Product
from .money import round_money
from .settlement.statements import CATEGORIES, CATEGORY_TITLES, Settlement

if TYPE_CHECKING:
    from .agency.assign import AssignmentRun, HandoverRun
    from .agency.intake import IntakeResult
    from .agency.performance import CollectorFigures, Performance
    from .placement.placer import PlacementResult
    from .settlement.costs import CostReport
    from .settlement.reconcile import Reconciliation

__all__ = [
    "DecisionSummary",
    "PlacementSummary",
    "PortfolioSummary",
    "render_assignment",
    "render_costs",
    "render_handover",
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

    def render(self, out: TextIO, *, title: str) -> None:
        """Write the summary as aligned plain-text tables."""
        products = [p.value for p in Product if p.value in self.channels]
        width = max([len("product"), *map(len, products)])
        out.write(f"{title}\n\nDecisions by product and channel\n")
        # The special procedures get a column only when a decision names one.
        used = {c for row in self.channels.values() for c in row}
        shown = [c for c in Channel if c not in SPECIAL_PROCEDURES or c.value in used]
        _count_table(out, self.channels, {c.value: len(c.value) + 2 for c in shown}, width)
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

    Computed once as data (:meth:`to_dict`), then rendered as a table (:meth:`render`).
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

    def render(self, out: TextIO, *, title: str) -> None:
        """Write the summary as aligned plain-text tables."""
        data = self.to_dict()
        out.write(f"{title}\n\nPlacements by agency\n")
        heads = {
            "proposed": 10,
            "total due": 16,
            "placed": 8,
            "kept": 6,
            "kept due": 16,
            "recalled": 10,
            "open": 6,
            "capacity": 10,
            "left": 6,
            "share": 8,
            "target": 8,
        }
        width = max([len("agency"), *map(len, self.capacity), *map(len, self.agencies)]) + 2
        out.write(f"{'agency':<{width}}{''.join(f'{h:>{w}}' for h, w in heads.items())}\n")
        agencies = data["agencies"]
        assert isinstance(agencies, dict)
        for agency_id, row in agencies.items():
            cells = (
                row["proposed"],
                f"{Decimal(row['proposed_total_due']):,.2f}",
                row["placed"],
                row["kept"],
                f"{Decimal(row['kept_total_due']):,.2f}",
                sum(row["recalled"].values()),
                row["open"],
                "-" if row["capacity"] is None else row["capacity"],
                "-" if row["left"] is None else row["left"],
                "-" if row["share"] is None else f"{Decimal(row['share']):.1%}",
                "-" if row["target"] is None else f"{Decimal(row['target']):.1%}",
            )
            columns = zip(cells, heads.values(), strict=True)
            out.write(f"{agency_id:<{width}}{''.join(f'{c:>{w}}' for c, w in columns)}\n")
        recalls: Counter[str] = Counter()
        closes: Counter[str] = Counter()
        for row in self.agencies.values():
            recalls.update(row.recalled)
            closes.update(row.closed)
        if recalls:
            shown = ", ".join(f"{reason} {n}" for reason, n in sorted(recalls.items()))
            out.write(f"\nRecalled, by reason: {shown}\n")
        if closes:
            shown = ", ".join(f"{reason} {n}" for reason, n in sorted(closes.items()))
            out.write(f"Proposals closed, by reason: {shown}\n")
        if self.unavailable:
            reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.unavailable_reasons.items()))
            out.write(
                f"\nNo agency could take {self.unavailable} case(s) "
                f"(total due {self.unavailable_due:,.2f}); they stay in-house. Agencies' "
                f"reasons: {reasons}\n"
            )
        if self.skipped:
            names = ", ".join(f"{n} {p}" for p, n in sorted(self.skipped.items()))
            out.write(f"\nSkipped, not covered by this policy: {names}\n")
        if self.rejected:
            out.write(f"\n{self.rejected} line(s) rejected; see the messages above.\n")


# --- settlement -----------------------------------------------------------------------------


def render_settlement(settlement: Settlement, out: TextIO, *, agency_id: str | None = None) -> None:
    """Write each statement (lines and total), then where every ledger line went."""
    policy = settlement.policy
    out.write(
        f"Settlement of policy {policy['name']} {policy['version']} "
        f"({settlement.currency}; grace {settlement.grace_days} days; rounding: each line "
        "half-up to the minor unit, totals are the sums of the lines)\n"
        f"inputs {settlement.digest}\n"
    )
    statements = settlement.statements(agency_id)
    if not statements:
        out.write("\nNo commission lines.\n")
    for statement in statements:
        period = statement.period
        name = (
            f" {statement.agency_name}" if statement.agency_name else " (not in the agencies file)"
        )
        out.write(
            f"\nCommission statement: {statement.agency_id}{name}, {period.label} "
            f"({period.start.isoformat()} to {period.end.isoformat()})\n"
        )
        rows = [
            (
                line.case_id or "",
                line.reference or "",
                line.day.isoformat() if line.day else "",
                _money(line.amount),
                str(line.rate or ""),
                _money(line.commission),
            )
            for line in statement.lines()
        ]
        totals = statement.totals
        count = f"{totals.count} line{'s' if totals.count != 1 else ''}"
        footer = ("total", count, "", _money(totals.amount), "", _money(totals.commission))
        head = ("case", "reference", "date", "amount", "rate", "commission")
        widths = [max(len(r[i]) for r in [head, *rows, footer]) for i in range(6)]
        for row in [head, *rows, footer]:
            left = "  ".join(f"{row[i]:<{widths[i]}}" for i in range(3))
            right = "  ".join(f"{row[i]:>{widths[i]}}" for i in range(3, 6))
            out.write(f"{left}  {right}\n".rstrip() + "\n")
    accounting = settlement.accounting
    out.write("\nEvery ledger line, in exactly one category:\n")
    table = [(CATEGORY_TITLES[c], accounting.categories[c]) for c in CATEGORIES]
    table.append(("ledger", accounting.ledger))
    width = max(len(title) for title, _ in table)
    money = max(len(_money(t.amount)) for _, t in table)
    for title, tally in table:
        if title == "ledger":
            out.write(f"  {'-' * width}\n")
        out.write(f"  {title:<{width}}  {tally.count:>8}  {_money(tally.amount):>{money}}\n")
    if accounting.unreadable:
        out.write(f"  ({accounting.unreadable} rejected lines without a readable amount)\n")
    if accounting.balanced:
        out.write("  balanced: the categories' lines and amounts add up to the ledger's\n")
    else:  # never, unless the library is wrong: said, not hidden
        out.write("  NOT BALANCED: the categories do not add up to the ledger\n")
    if settlement.event_error_count:
        out.write(f"  {settlement.event_error_count} event lines rejected (see --format jsonl)\n")
    rejected = accounting.categories["rejected"].count
    if rejected:
        out.write(f"\nRejected ledger lines ({rejected}):\n")
        for line in settlement.lines("rejected"):
            assert line.error is not None
            first = line.error.problems[0]
            what = f"{first.path}: " if first.path else ""
            reference = f" {line.reference}" if line.reference else ""
            out.write(f"  line {line.line}{reference}: {first.code}: {what}{first.message}\n")


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else format(amount, ",")


# --- reconciliation -------------------------------------------------------------------------


def render_reconciliation(reconciliation: Reconciliation, out: TextIO) -> None:
    """Write the counts by category, every line that is not matched, and both totals."""
    from .settlement.reconcile import RECONCILIATION_CATEGORIES, TITLES

    r = reconciliation
    out.write(f"Reconciliation of {r.agency_id}'s claim with the lender's statement\n")
    out.write(f"statement inputs {r.settlement_digest}\n\n")
    width = max(len(t) for t in TITLES.values())
    for category in RECONCILIATION_CATEGORIES:
        out.write(f"  {TITLES[category]:<{width}}  {r.counts[category]:>6}\n")
    for category in RECONCILIATION_CATEGORIES[1:]:
        lines = r.of(category)
        if not lines:
            continue
        out.write(f"\n{TITLES[category][0].upper()}{TITLES[category][1:]}:\n")
        for line in lines:
            where = f"claim line {line.claim_line}" if line.claim_line else "statement"
            if line.error is not None:
                problem = line.error.problems[0]
                out.write(f"  {where}: {problem.code}: {problem.path or ''} {problem.message}\n")
                continue
            side = line.lender if line.lender is not None else line.claim
            amount = _money(side.amount) if side is not None else ""
            out.write(f"  {line.reference}  {amount}  ({where})")
            if line.differences:
                said = "; ".join(f"{f}: lender {a}, agency {b}" for f, a, b in line.differences)
                out.write(f": {said}")
            if line.lender_view:
                out.write(f": the lender's settlement has it as {line.lender_view}")
            out.write("\n")
    lender, agency = r.lender_total, r.agency_total
    claimed = _money(agency[2]) if agency[2] is not None else "(not given)"
    out.write(
        f"\nTotals      lines  {'amount':>14}  {'commission':>12}\n"
        f"  lender  {lender[0]:>7}  {_money(lender[1]):>14}  {_money(lender[2]):>12}\n"
        f"  agency  {agency[0]:>7}  {_money(agency[1]):>14}  {claimed:>12}\n"
    )
    if r.agrees:
        out.write("\nThe claim agrees with the statement, line by line and in total.\n")
    else:
        out.write(
            f"\nThe claim differs: {len(r.lines) - r.counts['matched']} of {len(r.lines)} "
            "lines are not matched"
            + ("" if lender[1:] == agency[1:] else "; the totals differ")
            + ".\n"
        )


# --- what collection costs ------------------------------------------------------------------


def render_costs(report: CostReport, out: TextIO) -> None:
    """Write the cost report's tables: routes, stages, products, channels, agencies, curves."""
    r = report
    out.write(
        f"What collection cost, {r.start.isoformat()} to {r.end.isoformat()} "
        f"(policy {r.policy['name']} {r.policy['version']}; {r.currency}; "
        f"cost per 100 recovered)\n"
    )
    units = ", ".join(
        f"{channel} {cost if cost is not None else 'not set'}"
        for channel, cost in r.unit_costs.items()
    )
    out.write(f"in-house unit costs: {units}\n")
    total = r.total
    _table(
        out,
        "\nBy route",
        ["route", "recovered", "cost", "per 100"],
        [
            [
                "in-house",
                _money(total.in_house_recovered),
                _money(total.in_house_cost),
                _per(total.in_house_per_100),
            ],
            [
                "agencies",
                _money(total.agency_recovered),
                _money(total.commission),
                _per(total.agency_per_100),
            ],
        ],
    )
    for title, rows in (("stage", r.by_stage), ("product", r.by_product)):
        _table(
            out,
            f"\nBy {title} (the case's bucket the day before the payment)"
            if title == "stage"
            else f"\nBy {title}",
            [
                title,
                "in-house recovered",
                "cost",
                "per 100",
                "agency recovered",
                "commission",
                "per 100",
            ],
            [
                [
                    name,
                    _money(f.in_house_recovered),
                    _money(f.in_house_cost),
                    _per(f.in_house_per_100),
                    _money(f.agency_recovered),
                    _money(f.commission),
                    _per(f.agency_per_100),
                ]
                for name, f in rows.items()
                if f.in_house_recovered or f.in_house_cost or f.agency_recovered or f.commission
            ],
        )
    _table(
        out,
        f"\nIn-house by channel (a payment credited to the last contact within "
        f"{r.window_days} days)",
        ["channel", "contacts", "cost", "recovered", "per 100"],
        [
            [
                name,
                str(f.contacts),
                _money(f.in_house_cost),
                _money(f.in_house_recovered),
                _per(f.in_house_per_100),
            ]
            for name, f in r.by_channel.items()
        ],
    )
    _table(
        out,
        "\nBy agency",
        ["agency", "recovered", "commission", "per 100"],
        [
            [name, _money(f.agency_recovered), _money(f.commission), _per(f.agency_per_100)]
            for name, f in sorted(r.by_agency.items())
        ],
    )
    if r.cohorts:
        months = max(len(c["rates"]) for c in r.cohorts.values())
        shown = min(months, 12)
        _table(
            out,
            "\nRecovered by placement cohort (share of what was owed when placed, by months since)",
            ["placed", "cases", "owed", *(f"m{i}" for i in range(shown))],
            [
                [
                    month,
                    str(c["placements"]),
                    _money(c["placed_amount"]),
                    *(_percent(x) for x in c["rates"][:shown]),
                    *([""] * (shown - len(c["rates"][:shown]))),
                ]
                for month, c in r.cohorts.items()
            ],
        )
    if r.roll is not None:
        roll = r.roll
        columns = [*roll.labels, "closed"]
        _table(
            out,
            f"\nRoll rates {roll.start.isoformat()} → {roll.end.isoformat()} (share of the cases "
            "in each bucket on the first date)",
            ["from", *columns, "cases"],
            [
                [
                    a,
                    *(_percent(roll.rate(a, b)) for b in columns),
                    str(sum(roll.counts[a].values())),
                ]
                for a in roll.labels
            ],
        )
        out.write(f"  new in the second snapshot: {sum(roll.new.values())}\n")
    notes = []
    if r.cases_rejected:
        notes.append(f"{r.cases_rejected} case lines rejected")
    if r.unknown_case_lines:
        notes.append(
            f"{r.unknown_case_lines} payments of cases not in the case file (stage unknown)"
        )
    if notes:
        out.write("\n" + "; ".join(notes) + "\n")


def _table(out: TextIO, title: str, head: list[str], rows: list[list[str]]) -> None:
    out.write(f"{title}\n")
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        cells = [
            f"{row[0]:<{widths[0]}}",
            *(f"{c:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True)),
        ]
        out.write("  " + "  ".join(cells).rstrip() + "\n")


def _per(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _percent(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


# --- the agency's day ---------------------------------------------------------------------------


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def render_intake(result: IntakeResult, out: TextIO) -> None:
    """Write what an intake did: counts, timeliness, backups, and every refused line."""
    import json

    p = result.event.payload
    state = "taken in now" if result.new else "taken in before; checked again"
    out.write(f"Intake of {p.source} from {p.bank}: batch {p.batch_id} ({state})\n\n")
    out.write(f"  lines read     {p.lines:>10,}\n")
    out.write(f"  accepted       {p.accepted:>10,}\n")
    out.write(f"  refused        {p.rejected:>10,}")
    out.write(
        f"  (of which taken in by an earlier batch: {p.repeated:,})\n" if p.repeated else "\n"
    )
    verdict = "LATE: a finding" if p.late else "on time"
    out.write(f"  received       {p.received_at.isoformat()}\n")
    out.write(f"  completed      {p.completed_at.isoformat()}\n")
    out.write(
        f"  elapsed        {_duration(p.elapsed_seconds)} of {_duration(p.target_minutes * 60)} "
        f"allowed: {verdict}\n"
    )
    for copy in p.backups:
        out.write(
            f"  backup         {copy.name}: {copy.files} files verified "
            f"(manifest {copy.manifest[:23]}…)\n"
        )
    for name in result.repaired:
        out.write(
            f"  repaired       {name}: the copy was missing or damaged and was written again\n"
        )
    out.write(f"  batch          {result.directory}\n")
    if p.rejected:
        out.write("\nRefused lines\n")
        with result.errors_file.open(encoding="utf-8") as records:
            for text in records:
                record = json.loads(text)
                case = f" {record['case_id']}:" if record.get("case_id") else ""
                for problem in record["errors"]:
                    where = f" {problem['path']}:" if problem["path"] else ""
                    out.write(
                        f"  {p.source}:{record['line']}:{case}{where} {problem['message']} "
                        f"[{problem['code']}]\n"
                    )


def render_assignment(run: AssignmentRun, out: TextIO, *, title: str) -> None:
    """Write the counts by status and each collector's load against capacity."""
    counts = run.counts()
    out.write(f"{title}\n\n")
    out.write("  ".join(f"{name} {counts[name]}" for name in sorted(counts)) + "\n\n")
    out.write(
        f"{'collector':<12}{'team':<12}{'status':<10}{'before':>8}{'after':>8}{'capacity':>10}\n"
    )
    for c in run.collectors:
        out.write(
            f"{c.collector_id:<12}{c.team:<12}{c.status.value:<10}"
            f"{run.before.get(c.collector_id, 0):>8}{run.after.get(c.collector_id, 0):>8}"
            f"{c.capacity:>10}\n"
        )
    waiting = [r for r in run.results if not isinstance(r, CaseError) and r.status == "waiting"]
    if waiting:
        out.write("\nWaiting for a collector\n")
        for r in waiting:
            out.write(f"  {r.case_id}: {r.reason}\n")


def render_handover(run: HandoverRun, out: TextIO) -> None:
    """Write who received what, and each case's sheet in one line."""
    out.write(
        f"Handover of {run.departing}'s cases: {run.open_before} open, {len(run.events)} handed "
        f"over, {run.left_after} left\n\n"
    )
    for receiver, count in sorted(run.received.items()):
        out.write(f"  {receiver}: {count}\n")
    out.write(f"\n{'case':<16}{'to':<10}{'promises':>9}{'approvals':>10}  next action\n")
    for sheet in run.sheets:
        step = sheet["next_action"]
        nxt = "-" if step is None else f"{step['channel']} at {step['at']}"
        out.write(
            f"{sheet['case_id']:<16}{sheet['to']:<10}{len(sheet['open_promises']):>9}"
            f"{len(sheet['pending_approvals']):>10}  {nxt}\n"
        )


# --- collector performance ----------------------------------------------------------------------


def render_performance(report: Performance, out: TextIO) -> None:
    """Write the report: the monthly report's approval, then collectors, teams, banks, the whole."""
    r = report
    p = r.procedure
    out.write(
        f"Collector performance, {r.period} {r.start} to {r.end} (procedure {p.name} "
        f"{p.version}, as of {r.as_of.isoformat()}; {r.currency})\n"
    )
    if r.approval is not None:
        a = r.approval
        state = a["state"]
        if state == "approved":
            state = f"approved by {a['approved_by']}"
        if "filed_at" in a:
            state += f" (filed {a['filed_at']}, {a['ref']}, events line {a['filed_by_line']})"
        out.write(f"Monthly report: {state}\n")
    head = [
        "held",
        "worked",
        "attempts",
        "reached",
        "promised",
        "due",
        "kept",
        "kept %",
        "recovered",
        "commission",
        "opened",
        "closed",
        "findings",
    ]
    levels = (
        ("collector", "By collector", ["collector", "team", "bank"]),
        ("team", "By team", ["team"]),
        ("bank", "By bank", ["bank"]),
        ("total", "Whole agency", [""]),
    )
    for level, title, keys in levels:
        rows = [row for row in r.rows if row.level == level]
        _table(
            out,
            f"\n{title}",
            [*keys, *head],
            [
                [*(getattr(row, key) or "-" for key in keys if key), *_figures(row.figures)]
                if level != "total"
                else ["all", *_figures(row.figures)]
                for row in rows
            ],
        )
    if r.unmatched:
        lines = ", ".join(f"{why} {n}" for why, n in sorted(r.unmatched.items()))
        out.write(f"\nPayments credited to no collector: {lines}; {_money(r.unmatched_amount)}\n")
    if r.no_terms:
        out.write(f"No commission terms in the procedure file for: {', '.join(r.no_terms)}\n")
    found = r.audit.errors
    out.write(f"\nFindings of the period: {r.total.findings} ({found} error(s) in the audit)\n")
    for error in r.audit.event_errors:
        out.write(f"unreadable event line {error.line}: {error.problems[0]}\n")
    for error in r.payment_errors:
        out.write(f"unreadable payment line {error.line}: {error.problems[0]}\n")


def _figures(f: CollectorFigures) -> list[str]:
    return [
        str(f.held),
        str(f.worked),
        str(f.attempts),
        str(f.right_party_contacts),
        str(f.promises_made),
        str(f.promises_due),
        str(f.promises_kept),
        _percent(f.kept_rate),
        _money(f.recovered),
        _money(f.commission),
        str(f.procedures_opened),
        str(f.procedures_closed),
        str(f.findings),
    ]
