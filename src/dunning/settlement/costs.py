"""What collection costs: the seed's question, answered from the ledger and the case records.

The seed keeps cases in-house within M3 and sends them to agencies beyond, because that is
cheaper per yuan recovered (seed §1–§3). :func:`cost_report` measures it over a period:

* **recovered** — the ledger's payments net of reversals, split by route: through an agency
  (the settlement's commission lines) or in-house (every other settled payment); a payment of a
  case that was not overdue the day before is an ordinary repayment, not a recovery, and is
  kept apart (``paid_while_current``) on both routes, with any commission paid on it;
* **cost** — the commission paid, and the in-house cost: each contact the lender's own staff
  made in the period (``contacts`` without an ``agency_id``) at the policy's unit cost for its
  channel (parameters ``cost_per_sms``, ``cost_per_call``, ``cost_per_letter``,
  ``cost_per_field_visit``, ``cost_per_legal_action``);
* **cost per 100 recovered** — cost ÷ recovered × 100, by route, stage (the case's bucket the
  day before the money arrived), product, product × stage (like for like: each route's cost
  against its own recoveries within one product and stage), channel and agency. An in-house
  payment is credited to the lender's last contact at most ``attribution_window_days`` before
  it, so that channels can be compared; a payment with no contact in the window is
  ``unattributed``;
* **recovery curves** by placement cohort: for the placements made in each month, the share of
  what was owed when placed that came back 0, 1, 2… months after;
* **roll rates** between the buckets of two dated snapshots of the portfolio.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from ..agencies import Agencies
from ..cases import check_batch, parse_case
from ..delinquency import Assessor
from ..errors import ArgumentError, CaseError, ConfigError, DunningError
from ..events import Event
from ..model import Case
from ..money import quantum, round_exact
from ..reports.cells import csv_writer
from ..terms import Terms, terms_of

if TYPE_CHECKING:
    from ..policy import Policy
from .ledger import LedgerLine
from .statements import SettledLine, Settlement, settle

__all__ = ["COST_PARAMS", "CostFigures", "CostReport", "RollRates", "cost_report"]

#: The policy parameter giving each channel's unit cost (a missing one costs nothing, and the
#: report says so).
COST_PARAMS = {
    "sms": "cost_per_sms",
    "call": "cost_per_call",
    "letter": "cost_per_letter",
    "field_visit": "cost_per_field_visit",
    "legal_action": "cost_per_legal_action",
}
WINDOW_PARAM = "attribution_window_days"
DEFAULT_WINDOW = 30
#: Settled categories that are money the lender recovered itself.
IN_HOUSE = frozenset({"in_house", "before_placement", "after_recall"})
UNKNOWN = "unknown"


@dataclass
class CostFigures:
    """Recovered and cost of one row, by route."""

    in_house_recovered: Decimal = Decimal(0)
    in_house_cost: Decimal = Decimal(0)
    contacts: int = 0
    agency_recovered: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)

    def to_minor_unit(self, step: Decimal) -> None:
        """Write every amount with the currency's places (sums of them need no rounding)."""
        self.in_house_recovered = self.in_house_recovered.quantize(step)
        self.in_house_cost = self.in_house_cost.quantize(step)
        self.agency_recovered = self.agency_recovered.quantize(step)
        self.commission = self.commission.quantize(step)

    @property
    def in_house_per_100(self) -> Decimal | None:
        """In-house cost per 100 recovered in-house (``None`` when nothing was recovered)."""
        return _per_100(self.in_house_cost, self.in_house_recovered)

    @property
    def agency_per_100(self) -> Decimal | None:
        """Commission per 100 recovered through agencies."""
        return _per_100(self.commission, self.agency_recovered)

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values."""
        return {
            "in_house_recovered": str(self.in_house_recovered),
            "in_house_cost": str(self.in_house_cost),
            "contacts": self.contacts,
            "in_house_per_100": _text(self.in_house_per_100),
            "agency_recovered": str(self.agency_recovered),
            "commission": str(self.commission),
            "agency_per_100": _text(self.agency_per_100),
        }


@dataclass
class RollRates:
    """Cases by bucket in one snapshot against their bucket in a later one.

    Attributes:
        start: The first snapshot's date.
        end: The second snapshot's date.
        labels: The buckets, least to most delinquent.
        counts: ``counts[a][b]``: cases in ``a`` on ``start`` and in ``b`` on ``end``; ``b``
            is ``closed`` when the case is not in the second snapshot.
        new: Cases only in the second snapshot, by bucket.
    """

    start: date
    end: date
    labels: tuple[str, ...]
    counts: dict[str, dict[str, int]]
    new: dict[str, int]

    def rate(self, before: str, after: str) -> Decimal | None:
        """The share of the cases in ``before`` that were in ``after`` (4 places)."""
        row = self.counts.get(before, {})
        total = sum(row.values())
        return round_exact(Decimal(row.get(after, 0)) / total, 4) if total else None

    def to_dict(self) -> dict[str, Any]:
        """The roll rates as JSON-ready values."""
        columns = [*self.labels, "closed"]
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "counts": self.counts,
            "rates": {a: {b: _text(self.rate(a, b)) for b in columns} for a in self.counts},
            "new": self.new,
        }


@dataclass
class CostReport:
    """The report: totals by route; rows by stage, product, channel and agency; curves; rolls."""

    start: date
    end: date
    policy: dict[str, str]
    currency: str
    settlement_digest: str
    unit_costs: dict[str, Decimal | None]
    window_days: int
    total: CostFigures = field(default_factory=CostFigures)
    by_stage: dict[str, CostFigures] = field(default_factory=dict)
    by_product: dict[str, CostFigures] = field(default_factory=dict)
    by_channel: dict[str, CostFigures] = field(default_factory=dict)
    by_agency: dict[str, CostFigures] = field(default_factory=dict)
    by_product_stage: dict[str, dict[str, CostFigures]] = field(default_factory=dict)
    current: CostFigures = field(default_factory=CostFigures)
    cohorts: dict[str, dict[str, Any]] = field(default_factory=dict)
    roll: RollRates | None = None
    cases_read: int = 0
    cases_rejected: int = 0
    unknown_case_lines: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "policy": self.policy,
            "currency": self.currency,
            "settlement_digest": self.settlement_digest,
            "unit_costs": {k: _text(v) for k, v in self.unit_costs.items()},
            "attribution_window_days": self.window_days,
            "total": self.total.to_dict(),
            "by_stage": {k: v.to_dict() for k, v in self.by_stage.items()},
            "by_product": {k: v.to_dict() for k, v in self.by_product.items()},
            "by_channel": {k: v.to_dict() for k, v in self.by_channel.items()},
            "by_agency": {k: v.to_dict() for k, v in self.by_agency.items()},
            "by_product_stage": {
                product: {stage: f.to_dict() for stage, f in stages.items()}
                for product, stages in self.by_product_stage.items()
            },
            "paid_while_current": self.current.to_dict(),
            "cohorts": {
                month: {
                    "placements": c["placements"],
                    "placed_amount": str(c["placed_amount"]),
                    "recovered": [str(x) for x in c["recovered"]],
                    "rates": [_text(x) for x in c["rates"]],
                }
                for month, c in self.cohorts.items()
            },
            "roll_rates": None if self.roll is None else self.roll.to_dict(),
            "cases_read": self.cases_read,
            "cases_rejected": self.cases_rejected,
            "unknown_case_lines": self.unknown_case_lines,
        }

    def write_json(self, out: TextIO) -> None:
        """Write :meth:`to_dict` as indented JSON."""
        json.dump(self.to_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")

    def write_csv(self, out: TextIO) -> None:
        """Every figure as one row ``section, row, column, value`` (a pivot table's source)."""
        writer = csv_writer(out)
        writer.writerow(["section", "row", "column", "value"])
        data = self.to_dict()
        writer.writerows(("total", "all", k, v) for k, v in data["total"].items())
        for section in ("by_stage", "by_product", "by_channel", "by_agency"):
            for row, figures in data[section].items():
                writer.writerows((section, row, k, v) for k, v in figures.items())
        for product, stages in data["by_product_stage"].items():
            for stage, figures in stages.items():
                row = f"{product}/{stage}"
                writer.writerows(("by_product_stage", row, k, v) for k, v in figures.items())
        current = data["paid_while_current"].items()
        writer.writerows(("paid_while_current", "all", k, v) for k, v in current)
        for month, cohort in data["cohorts"].items():
            writer.writerow(("cohorts", month, "placements", cohort["placements"]))
            writer.writerow(("cohorts", month, "placed_amount", cohort["placed_amount"]))
            for offset, rate in enumerate(cohort["rates"]):
                writer.writerow(("cohorts", month, f"rate_m{offset}", rate))
        if self.roll is not None:
            for before, row in data["roll_rates"]["rates"].items():
                writer.writerows(("roll_rates", before, after, v) for after, v in row.items())


def cost_report(
    cases: Iterable[Case | CaseError | Mapping[str, Any] | str | bytes],
    *,
    ledger: Iterable[LedgerLine | CaseError | Mapping[str, Any] | str | bytes],
    events: Iterable[Event | CaseError | Mapping[str, Any] | str | bytes],
    agencies: Agencies,
    policy: Policy | Terms,
    start: date,
    end: date,
    snapshots: tuple[tuple[Iterable[Any], date], tuple[Iterable[Any], date]] | None = None,
) -> CostReport:
    """Measure what collection cost from ``start`` to ``end``.

    Args:
        cases: The cases (their products, schedules and contact records), as for
            :meth:`Policy.decide_many`.
        ledger: The payment ledger, as for :func:`settle`.
        events: The placement events, as for :func:`settle`.
        agencies: The agencies file.
        policy: The policy, or its terms (:func:`~dunning.terms.load_terms`): its buckets,
            currency, grace period and the cost parameters.
        start: The first day of the period.
        end: The last day of the period.
        snapshots: Two ``(cases, as_of)`` snapshots of the portfolio for the roll rates.

    Raises:
        ConfigError: For a bad period or snapshots.
    """
    terms = terms_of(policy)
    for name, day in (("start", start), ("end", end)):
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ArgumentError(f"{name} must be a datetime.date, not {type(day).__name__}")
    if end < start:
        raise ConfigError(f"the period ends ({end}) before it starts ({start})")
    check_batch(cases, "cost_report")
    params = terms.params
    units = {channel: _unit(params.get(name)) for channel, name in COST_PARAMS.items()}
    window = int(params.get(WINDOW_PARAM, DEFAULT_WINDOW))
    with settle(ledger, events=events, agencies=agencies, policy=terms, end=end) as settlement:
        report = CostReport(
            start=start,
            end=end,
            policy=terms.reference,
            currency=settlement.currency,
            settlement_digest=settlement.digest,
            unit_costs=units,
            window_days=window,
        )
        work = _Work(report, terms, units, window)
        seen: set[str] = set()
        for item in cases:
            try:
                case = item if isinstance(item, Case) else _case(item)
            except CaseError:
                report.cases_rejected += 1
                continue
            if case.case_id in seen:
                continue
            seen.add(case.case_id)
            report.cases_read += 1
            work.case(case, list(settlement.case_lines(case.case_id)))
        for line in settlement.lines():
            if line.case_id not in seen and work.recovered(line):
                report.unknown_case_lines += 1
                work.payment(None, line)
        work.cohorts(settlement)
    order = [*terms.bands.labels, UNKNOWN]  # each product's stages in the bands' order
    report.by_product_stage = {
        product: {label: stages[label] for label in order if label in stages}
        for product, stages in report.by_product_stage.items()
    }
    step = quantum(report.currency)
    rows = [
        report.by_stage,
        report.by_product,
        report.by_channel,
        report.by_agency,
        *report.by_product_stage.values(),
    ]
    for figures in [report.total, report.current, *(f for row in rows for f in row.values())]:
        figures.to_minor_unit(step)
    for cohort in report.cohorts.values():
        cohort["placed_amount"] = cohort["placed_amount"].quantize(step)
        cohort["recovered"] = [x.quantize(step) for x in cohort["recovered"]]
    if snapshots is not None:
        report.roll = _roll_rates(terms, snapshots)
    return report


class _Work:
    """Adds one case's contacts and payments to the report's rows."""

    def __init__(
        self, report: CostReport, terms: Terms, units: dict[str, Decimal | None], window: int
    ) -> None:
        self.report, self.units = report, units
        self.window = timedelta(days=window)
        self.zone = terms.timezone
        self.assessor = Assessor(bands=terms.bands)
        self.labels = terms.bands.labels
        for label in [*self.labels, UNKNOWN]:
            report.by_stage[label] = CostFigures()
        for channel in [*COST_PARAMS, "unattributed"]:
            report.by_channel[channel] = CostFigures()

    def recovered(self, line: SettledLine) -> bool:
        """Whether a settled line is money recovered in the period."""
        return (
            line.day is not None
            and self.report.start <= line.day <= self.report.end
            and (line.category == "commission" or line.category in IN_HOUSE)
        )

    def case(self, case: Case, lines: list[SettledLine]) -> None:
        own = sorted((c for c in case.contacts if c.agency_id is None), key=lambda c: c.at)
        days = [c.at.astimezone(self.zone).date() for c in own]
        for contact, day in zip(own, days, strict=True):
            if not self.report.start <= day <= self.report.end:
                continue
            cost = self.units[contact.channel.value] or Decimal(0)
            stage, _ = self._stage(case, day)
            for figures in self._rows(case, stage, contact.channel.value, None):
                figures.in_house_cost += cost
                figures.contacts += 1
        for line in lines:
            if self.recovered(line):
                assert line.day is not None
                channel: str | None = None
                if line.category in IN_HOUSE:
                    channel = "unattributed"
                    for contact, day in zip(reversed(own), reversed(days), strict=True):
                        if day <= line.day:
                            if line.day - day <= self.window:
                                channel = contact.channel.value
                            break
                self.payment(case, line, channel)

    def payment(
        self, case: Case | None, line: SettledLine, channel: str | None = "unattributed"
    ) -> None:
        assert line.day is not None
        assert line.amount is not None
        agency = line.category == "commission"
        if agency:
            channel = None
        stage, current = self._stage(case, line.day)
        # Not overdue the day before: an ordinary repayment (an instalment paid on time), not
        # money collection brought back. Kept apart on both routes, with any commission paid
        # on it, so that every route and stage compares recoveries with what they cost.
        rows = (
            [self.report.current]
            if current
            else self._rows(case, stage, channel, line.agency_id if agency else None)
        )
        for figures in rows:
            if agency:
                figures.agency_recovered += line.amount
                figures.commission += line.commission or Decimal(0)
            else:
                figures.in_house_recovered += line.amount

    def _rows(
        self, case: Case | None, stage: str, channel: str | None, agency: str | None
    ) -> list[CostFigures]:
        """The rows a figure of ``case`` at ``stage`` adds to."""
        report = self.report
        product = case.loan.product.value if case is not None else UNKNOWN
        stages = report.by_product_stage.setdefault(product, {})
        rows = [
            report.total,
            report.by_stage[stage],
            report.by_product.setdefault(product, CostFigures()),
            stages.setdefault(stage, CostFigures()),
        ]
        if channel is not None:
            rows.append(report.by_channel[channel])
        if agency is not None:
            rows.append(report.by_agency.setdefault(agency, CostFigures()))
        return rows

    def _stage(self, case: Case | None, day: date) -> tuple[str, bool]:
        """The case's bucket the day before ``day``, and whether it was current then."""
        if case is None or day <= date.min:
            return UNKNOWN, False
        try:
            assessment = self.assessor.assess(case, day - timedelta(days=1))
        except (DunningError, ArithmeticError, OverflowError, ValueError):
            return UNKNOWN, False
        return assessment.bucket, assessment.dpd == 0

    def cohorts(self, settlement: Settlement) -> None:
        """Recovery by month placed × months since placement, up to the period's end."""
        end = self.report.end
        placed: dict[str, tuple[str, Decimal | None]] = {}
        cohorts: dict[str, dict[str, Any]] = {}
        for _, window in settlement.placements():
            if window.placed_on > end:
                continue
            month = f"{window.placed_on:%Y-%m}"
            placed[window.placement_id] = (month, window.total_due)
            cohort = cohorts.setdefault(
                month, {"placements": 0, "placed_amount": Decimal(0), "by_offset": {}}
            )
            cohort["placements"] += 1
            cohort["placed_amount"] += window.total_due or Decimal(0)
        starts = {pid: month for pid, (month, _) in placed.items()}
        for line in settlement.agency_lines():
            started = starts.get(line.placement_id or "")
            if started is None or line.day is None or line.day > end:
                continue
            month = started
            year, number = map(int, month.split("-"))
            offset = (line.day.year - year) * 12 + line.day.month - number
            by_offset = cohorts[month]["by_offset"]
            by_offset[offset] = by_offset.get(offset, Decimal(0)) + line.amount
        for month in sorted(cohorts):
            cohort = cohorts[month]
            year, number = map(int, month.split("-"))
            months = (end.year - year) * 12 + end.month - number + 1
            running, recovered, rates = Decimal(0), [], []
            for offset in range(months):
                running += cohort["by_offset"].get(offset, Decimal(0))
                recovered.append(running)
                amount = cohort["placed_amount"]
                rates.append(round_exact(running / amount, 4) if amount else None)
            self.report.cohorts[month] = {
                "placements": cohort["placements"],
                "placed_amount": cohort["placed_amount"],
                "recovered": recovered,
                "rates": rates,
            }


def _roll_rates(
    terms: Terms, snapshots: tuple[tuple[Iterable[Any], date], tuple[Iterable[Any], date]]
) -> RollRates:
    """Buckets of the first snapshot's cases against the second's."""
    if len(snapshots) != 2:
        raise ConfigError("roll rates need two snapshots: (cases, as_of), (cases, as_of)")
    (first, start), (second, end) = snapshots
    if end <= start:
        raise ConfigError(f"the second snapshot ({end}) must be after the first ({start})")
    assessor = Assessor(bands=terms.bands)
    labels = terms.bands.labels

    def buckets(cases: Iterable[Any], day: date) -> Iterable[tuple[str, str]]:
        check_batch(cases, "roll rates")
        for item in cases:
            try:
                case = item if isinstance(item, Case) else _case(item)
                yield case.case_id, assessor.assess(case, day).bucket
            except (DunningError, ArithmeticError, OverflowError, ValueError):
                continue

    before = dict(buckets(first, start))
    counts = {label: dict.fromkeys([*labels, "closed"], 0) for label in labels}
    new = dict.fromkeys(labels, 0)
    for case_id, bucket in buckets(second, end):
        was = before.pop(case_id, None)
        if was is None:
            new[bucket] += 1
        else:
            counts[was][bucket] += 1
    for was in before.values():
        counts[was]["closed"] += 1
    return RollRates(start, end, labels, counts, new)


def _case(item: Any) -> Case:
    if isinstance(item, CaseError):
        raise item
    return parse_case(item)


def _unit(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _per_100(cost: Decimal, recovered: Decimal) -> Decimal | None:
    return round_exact(cost * 100 / recovered, 2) if recovered > 0 else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
