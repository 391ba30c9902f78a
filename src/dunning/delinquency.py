"""Delinquency: a case and its payments turned into days past due, bucket and overdue amounts.

The stage between the domain model and the facts the rules read. Everything here is a pure
function of the case and ``as_of``: no clock, no globals.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from operator import attrgetter
from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, SkipValidation, ValidationError

from .cases import parse_case
from .errors import ArgumentError, ConfigError
from .model import MAX_AMOUNT_DIGITS, Case, Loan, Product
from .money import quantum
from .schedule import iter_schedule_parts

__all__ = [
    "DEFAULT_ALLOCATION",
    "DEFAULT_BANDS",
    "Assessment",
    "Assessor",
    "Band",
    "BucketBands",
    "OverdueInstallment",
    "as_of_date",
    "assess",
]

Component = Literal["penalty", "interest", "principal"]
COMPONENTS: frozenset[str] = frozenset({"penalty", "interest", "principal"})
#: Within one instalment a payment pays penalty first, then interest, then principal.
DEFAULT_ALLOCATION: tuple[Component, ...] = ("penalty", "interest", "principal")


@dataclass(frozen=True, slots=True)
class Band:
    """A delinquency stage: ``label`` for ``min_dpd``..``max_dpd`` (``None`` = no upper end)."""

    label: str
    min_dpd: int
    max_dpd: int | None = None


class BucketBands:
    """Validated bucket bands: they start at 0, leave no gap, overlap nowhere and end open.

    Args:
        bands: The bands in order, as ``Band`` or ``(label, min_dpd, max_dpd)`` tuples.

    Raises:
        ConfigError: Listing every problem of the bands at once.
    """

    __slots__ = ("_labels", "_starts", "bands")

    def __init__(self, bands: Iterable[Band | tuple[str, int, int | None]]) -> None:
        if isinstance(bands, str) or not isinstance(bands, Iterable):
            raise ArgumentError(f"bands must be a list of Band, not {type(bands).__name__}")
        try:
            self.bands = tuple(b if isinstance(b, Band) else Band(*b) for b in bands)
        except TypeError:
            raise ArgumentError(
                "each band is a Band or a (label, min_dpd, max_dpd) tuple"
            ) from None
        problems = _band_problems(self.bands)
        if problems:
            raise ConfigError("invalid bucket bands:\n  " + "\n  ".join(problems))
        self._starts = [b.min_dpd for b in self.bands]
        self._labels = [b.label for b in self.bands]

    def bucket(self, dpd: int) -> str:
        """Return the label of the band holding ``dpd`` (≥ 0)."""
        if not isinstance(dpd, int) or isinstance(dpd, bool) or dpd < 0:
            raise ConfigError(f"dpd must be a whole number >= 0, got {dpd!r}")
        return self._labels[bisect.bisect_right(self._starts, dpd) - 1]

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels, least to most delinquent."""
        return tuple(self._labels)

    def __repr__(self) -> str:
        return f"BucketBands({list(self.bands)!r})"


def _band_problems(bands: Sequence[Band]) -> list[str]:
    if not bands:
        return ["no bands given"]
    problems = []
    if bands[0].min_dpd != 0:
        problems.append(f"band {bands[0].label!r} must start at dpd 0, not {bands[0].min_dpd}")
    labels = [b.label for b in bands]
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        problems.append(f"label {label!r} is used more than once")
    for band in bands:
        if not band.label:
            problems.append("a band has an empty label")
        if band.max_dpd is not None and band.max_dpd < band.min_dpd:
            problems.append(f"band {band.label!r} ends ({band.max_dpd}) before it starts")
    for before, after in pairwise(bands):
        if before.max_dpd is None:
            problems.append(f"band {before.label!r} is open-ended but is not the last band")
            continue
        if after.min_dpd > before.max_dpd + 1:
            problems.append(
                f"gap: dpd {before.max_dpd + 1}..{after.min_dpd - 1} between "
                f"{before.label!r} and {after.label!r}"
            )
        elif after.min_dpd <= before.max_dpd:
            problems.append(
                f"overlap: {before.label!r} and {after.label!r} both hold dpd {after.min_dpd}"
            )
    if bands[-1].max_dpd is not None:
        problems.append(f"the last band {bands[-1].label!r} must be open-ended (no max_dpd)")
    return problems


#: M0 = current, then one band per 30 days up to M6, and M7+ beyond 180 days (docs/seed.md).
DEFAULT_BANDS = BucketBands(
    [
        ("M0", 0, 0),
        ("M1", 1, 30),
        ("M2", 31, 60),
        ("M3", 61, 90),
        ("M4", 91, 120),
        ("M5", 121, 150),
        ("M6", 151, 180),
        ("M7+", 181, None),
    ]
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


#: ``(start, end, principal)``: ``principal`` was overdue and unpaid on each day after ``start``
#: up to and including ``end`` — ``(end - start).days`` days.
UnpaidPeriod = tuple[date, date, Decimal]


class OverdueInstallment(_Frozen):
    """What is still unpaid of one instalment that fell due before ``as_of``.

    ``due_date`` is the day it fell due: its schedule date, or the loan's acceleration date for
    an instalment the acceleration made due. ``unpaid_periods`` records how much of its
    principal was overdue over which days (partial payments shorten it), the measure the charges
    cap and penalty interest are taken on; ``penalty_paid`` is the penalty interest already paid
    on it, which the cap counts too.
    """

    seq: int
    due_date: date
    days_overdue: int
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    penalty_paid: Decimal = Decimal(0)
    # Computed by the assessor from validated inputs: not validated again (it was a tenth of
    # the cost of assessing a case).
    unpaid_periods: Annotated[tuple[UnpaidPeriod, ...], SkipValidation] = ()


class Assessment(_Frozen):
    """How overdue a case is at ``as_of``, and by how much.

    ``source`` is ``computed`` when the figures come from the schedule and payments, or
    ``snapshot`` when the case carried the host's own delinquency figures (then
    ``overdue_installments`` is empty and the schedule-based figures are ``None``).
    ``total_due`` = overdue principal + overdue interest + penalty interest + fees: what the
    customer must pay to be current again. ``penalty_multiplier`` says how penalty interest was
    accrued: at that multiple of the contract rate, or — ``None`` — not at all (an assessor
    without a multiplier, such as :func:`assess`, leaves penalty interest out; a snapshot carries
    the host's own).
    """

    case_id: str
    as_of: date
    currency: str
    source: Literal["computed", "snapshot"]
    dpd: int
    bucket: str
    overdue_installments: tuple[OverdueInstallment, ...]
    overdue_principal: Decimal
    overdue_interest: Decimal
    penalty_interest: Decimal
    fees: Decimal
    total_due: Decimal
    outstanding_principal: Decimal | None
    paid: Decimal | None
    allocated: Decimal | None
    unapplied_credit: Decimal | None
    penalty_multiplier: Decimal | None = None


def as_of_date(as_of: date | datetime, case: Case) -> date:
    """Return the accounting date of ``as_of`` for ``case``.

    A ``datetime`` must be timezone-aware; it is read in the borrower's time zone, because due
    dates are the borrower's calendar dates. A ``date`` is used as it is.
    """
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None or as_of.utcoffset() is None:
            raise ConfigError(f"as_of must be timezone-aware, got naive {as_of.isoformat()}")
        return as_of.astimezone(case.borrower.zone).date()
    if not isinstance(as_of, date):
        raise ArgumentError(
            f"as_of must be a datetime.date or an aware datetime.datetime, not "
            f"{type(as_of).__name__}"
        )
    return as_of


class _Open:
    """Mutable balance of one instalment during allocation."""

    __slots__ = (
        "due",
        "interest",
        "penalty",
        "penalty_paid",
        "periods",
        "principal",
        "seq",
        "since",
    )

    def __init__(self, seq: int, part: tuple[date, Decimal, Decimal], zero: Decimal) -> None:
        self.seq = seq
        self.due, self.principal, self.interest = part
        self.penalty = self.penalty_paid = zero
        self.since = self.due  # penalty and unpaid periods are accounted up to this date
        self.periods: list[UnpaidPeriod] = []


class _Schedule:
    """The instalments built so far: the schedule is read only as far as the case needs."""

    def __init__(self, loan: Loan, zero: Decimal) -> None:
        self.items: list[_Open] = []
        self.built = zero  # principal of the instalments built so far
        self._parts = iter_schedule_parts(loan)
        self.zero = zero

    def more(self) -> bool:
        """Build the next instalment; ``False`` when there is none."""
        part = next(self._parts, None)
        if part is None:
            return False
        self.items.append(_Open(len(self.items) + 1, part, self.zero))
        self.built += part[1]
        return True

    def through(self, day: date) -> None:
        """Build every instalment due on or before ``day``."""
        while (not self.items or self.items[-1].due <= day) and self.more():
            pass


class Assessor:
    """Assesses cases under one set of options; immutable and safe to share between threads.

    Args:
        bands: Bucket bands (default :data:`DEFAULT_BANDS`).
        allocation: Order in which a payment pays the parts of one instalment; a permutation of
            ``penalty``, ``interest``, ``principal``. Instalments are always paid oldest first.
        penalty_multiplier: When set, penalty interest (罚息) accrues on each instalment's unpaid
            overdue principal at ``annual_rate × penalty_multiplier`` a year, from the day after
            its due date; ``None`` (default) accrues none, leaving penalties to the policy. A
            credit card never accrues it: cards carry a contractual 违约金 instead (PBOC
            银发〔2016〕111号), which the host books as the case's fees.
        days_in_year: Day-count base of the daily penalty rate (360, as Chinese lenders use).
    """

    __slots__ = ("allocation", "bands", "days_in_year", "penalty_multiplier")

    def __init__(
        self,
        *,
        bands: BucketBands = DEFAULT_BANDS,
        allocation: Sequence[Component] = DEFAULT_ALLOCATION,
        penalty_multiplier: Decimal | None = None,
        days_in_year: int = 360,
    ) -> None:
        if not isinstance(bands, BucketBands):
            raise ArgumentError(f"bands must be a BucketBands, not {type(bands).__name__}")
        if isinstance(allocation, str) or not isinstance(allocation, Iterable):
            raise ArgumentError(
                "allocation must be a sequence such as ('penalty', 'interest', 'principal'), "
                f"not {type(allocation).__name__}"
            )
        allocation = tuple(allocation)
        if sorted(map(str, allocation)) != sorted(COMPONENTS):
            raise ConfigError(
                f"allocation must order each of penalty, interest, principal once, got {allocation}"
            )
        if penalty_multiplier is not None and (
            not isinstance(penalty_multiplier, Decimal | int)
            or isinstance(penalty_multiplier, bool)
            or penalty_multiplier < 0
        ):
            raise ConfigError("penalty_multiplier must be a non-negative Decimal")
        if not isinstance(days_in_year, int) or isinstance(days_in_year, bool) or days_in_year <= 0:
            raise ConfigError(f"days_in_year must be a positive whole number, got {days_in_year!r}")
        self.bands = bands
        self.allocation = allocation
        self.penalty_multiplier = penalty_multiplier
        self.days_in_year = days_in_year

    def assess(self, case: Case, as_of: date | datetime) -> Assessment:
        """Return the case's delinquency at ``as_of`` (payments dated after it are ignored)."""
        if not isinstance(case, Case):
            raise ArgumentError(
                f"case must be a dunning.Case, not {type(case).__name__} "
                "(dunning.assess and Policy.decide also take dicts and JSON text)"
            )
        day = as_of_date(as_of, case)
        if case.delinquency is not None:
            return self._from_snapshot(case, day)
        currency = case.loan.currency
        zero = Decimal(0).quantize(quantum(currency))
        schedule = _Schedule(case.loan, zero)
        # Everything due by as_of is needed in any case; a prepayment builds further on. The
        # allocation and accrual below never look past a payment's own date, except to pay in
        # advance, so building these up front changes nothing (property-tested).
        schedule.through(day)
        accelerated = case.loan.accelerated_on
        if accelerated is not None and accelerated < day:
            _accelerate(schedule, accelerated, zero)
        open_items = schedule.items
        daily, multiplier = None, self.penalty_multiplier
        if case.loan.product is Product.CREDIT_CARD:
            # PBOC 银发〔2016〕111号 replaced a card's late charges with a contractual 违约金,
            # charged by the bank, not accrued here: a card carries no penalty interest.
            multiplier = None
        if multiplier is not None:
            daily = case.loan.annual_rate * multiplier / self.days_in_year
        paid = allocated = zero
        first = 0  # instalments before this one are paid in full, penalty included
        for payment in sorted(case.payments, key=_BY_DATE):  # stable: same-day in order
            if payment.date > day:
                break
            paid += payment.amount
            _accrue(open_items, first, payment.date, daily, zero)
            used, first = self._allocate(schedule, first, payment.amount)
            allocated += used
        _accrue(open_items, first, day, daily, zero)

        overdue = [
            OverdueInstallment(
                seq=item.seq,
                due_date=item.due,
                days_overdue=(day - item.due).days,
                principal=item.principal,
                interest=item.interest,
                penalty=item.penalty,
                penalty_paid=item.penalty_paid,
                unpaid_periods=tuple(item.periods),
            )
            for item in open_items
            if item.due < day and (item.principal or item.interest or item.penalty)
        ]
        # An instalment counts as paid once its principal and interest are; penalty left
        # unpaid is still owed (and shown) but does not keep the days-past-due clock running.
        late = [o for o in overdue if o.principal or o.interest]
        dpd = late[0].days_overdue if late else 0
        overdue_principal = sum((o.principal for o in overdue), zero)
        overdue_interest = sum((o.interest for o in overdue), zero)
        penalty = sum((o.penalty for o in overdue), zero)
        return Assessment(
            case_id=case.case_id,
            as_of=day,
            currency=currency,
            source="computed",
            dpd=dpd,
            bucket=self.bands.bucket(dpd),
            overdue_installments=tuple(overdue),
            overdue_principal=overdue_principal,
            overdue_interest=overdue_interest,
            penalty_interest=penalty,
            fees=zero,
            total_due=overdue_principal + overdue_interest + penalty,
            # Instalments not built yet are wholly unpaid: their principal is what was not built.
            outstanding_principal=sum((i.principal for i in open_items), zero)
            + (case.loan.principal - schedule.built),
            paid=paid,
            allocated=allocated,
            unapplied_credit=paid - allocated,
            penalty_multiplier=multiplier,
        )

    def _allocate(self, schedule: _Schedule, first: int, amount: Decimal) -> tuple[Decimal, int]:
        """Pay ``amount`` into the instalments oldest first, from ``first`` on.

        Returns how much was used and the first instalment still owing something (the ones
        before it are settled, so later payments and accruals can start there).
        """
        left = amount
        index = first
        open_items = schedule.items
        while index < len(open_items) or (left and schedule.more()):  # a prepayment builds on
            item = open_items[index]
            owed_in_all = item.principal + item.interest + item.penalty
            if left >= owed_in_all:  # the usual case: the order of the parts does not matter
                left -= owed_in_all
                item.penalty_paid += item.penalty
                item.principal = item.interest = item.penalty = schedule.zero
                index += 1
                if not left:
                    break
                continue
            for part in self.allocation:
                owed: Decimal = getattr(item, part)
                if owed and left:
                    take = owed if owed < left else left
                    setattr(item, part, owed - take)
                    left -= take
                    if part == "penalty":
                        item.penalty_paid += take
            if item.principal or item.interest or item.penalty:
                break  # the money ran out inside this instalment
            index += 1
            if not left:
                break
        return amount - left, index

    def _from_snapshot(self, case: Case, day: date) -> Assessment:
        snap = case.delinquency
        assert snap is not None
        # The host's figures as given, written at the currency's minor unit ("0" → "0.00").
        step = quantum(case.loan.currency)
        principal, interest = (
            snap.overdue_principal.quantize(step),
            snap.overdue_interest.quantize(step),
        )
        penalty, fees = snap.penalty_interest.quantize(step), snap.fees.quantize(step)
        return Assessment(
            case_id=case.case_id,
            as_of=day,
            currency=case.loan.currency,
            source="snapshot",
            dpd=snap.dpd_on(day),
            bucket=self.bands.bucket(snap.dpd_on(day)),
            overdue_installments=(),
            overdue_principal=principal,
            overdue_interest=interest,
            penalty_interest=penalty,
            fees=fees,
            total_due=principal + interest + penalty + fees,
            outstanding_principal=(
                None
                if snap.outstanding_principal is None
                else snap.outstanding_principal.quantize(step)
            ),
            paid=None,
            allocated=None,
            unapplied_credit=None,
        )


def _accrue(
    open_items: list[_Open], first: int, until: date, daily: Decimal | None, zero: Decimal
) -> None:
    """Record each overdue instalment's unpaid principal up to ``until``; accrue its penalty.

    Instalments before ``first`` are settled: with no principal left they accrue nothing.
    ``daily`` is the daily penalty rate (``None``: no penalty). ``zero`` is the currency's zero,
    whose exponent is the minor unit to round to (half-up).
    """
    for item in itertools.islice(open_items, first, None):
        if item.due >= until:
            break  # instalments are in due-date order: the rest are not overdue yet
        start = max(item.since, item.due)
        days = (until - start).days
        if days > 0 and item.principal:
            item.periods.append((start, until, item.principal))
            if daily is not None:
                item.penalty += (item.principal * daily * days).quantize(zero, ROUND_HALF_UP)
        item.since = max(item.since, until)


def _accelerate(schedule: _Schedule, day: date, zero: Decimal) -> None:
    """The loan was declared due on ``day``: every later instalment's principal falls due then.

    Interest of the instalments due after ``day`` is not charged: it is interest of periods the
    acceleration ended, and penalty interest replaces the contract rate on overdue principal
    (PBOC 银发〔2003〕251号). Interest accrued in the period running on ``day`` is left out too
    (a host that claims it books it in a snapshot).
    """
    while schedule.more():
        pass
    for item in schedule.items:
        if item.due > day:
            item.due = item.since = day
            item.interest = zero


_BY_DATE = attrgetter("date")


#: The assessor with the documented defaults.
DEFAULT_ASSESSOR = Assessor()


def assess(case: Case | Mapping[str, Any] | str, as_of: date | datetime) -> Assessment:
    """Assess ``case`` (a ``Case``, or its dict or JSON text) at ``as_of`` with the defaults.

    See :class:`Assessor`. Raises ``CaseError`` for an invalid case.
    """
    return DEFAULT_ASSESSOR.assess(case if isinstance(case, Case) else parse_case(case), as_of)


class _OverdueParts(msgspec.Struct):
    """The parts of a case :func:`quick_overdue` reads; a decoder skips the rest unbuilt."""

    loan: Any = None
    borrower: Any = None
    payments: Any = None
    delinquency: Any = None


_OVERDUE_PARTS = msgspec.json.Decoder(_OverdueParts)


def overdue_parts(text: str | bytes) -> dict[str, Any] | None:
    """The parts of a case's JSON text that :func:`quick_overdue` reads, or None.

    Counting a book reads every case, and most of a case's text is its contact history, which
    the count does not need: msgspec checks the whole text's syntax but builds only these
    parts, four times faster than reading it all. None where the text is not a strict JSON
    object (msgspec refuses NaN, which Python's reader takes): the full reading then decides.
    """
    try:
        parts = _OVERDUE_PARTS.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return None
    return {
        "loan": parts.loan,
        "borrower": parts.borrower,
        "payments": parts.payments,
        "delinquency": parts.delinquency,
    }


def quick_overdue(
    data: Mapping[str, Any],
    as_of: datetime,
    *,
    products: frozenset[str],
    penalty: bool,
) -> tuple[str | None, bool] | None:
    """Whether a case's borrower is overdue, read from the case's data without validating it.

    For counting a book's overdue borrowers (the ``overdue_customers`` figure) at a fraction of
    the cost of reading and assessing each case. The answer is given only when the loan's own
    data settles it; ``None`` asks for the full assessment. Settled:

    - a product not in ``products``: not counted (``(None, False)``);
    - a delinquency snapshot: its ``dpd``;
    - an explicit schedule, not accelerated: overdue when the payments made by ``as_of`` fall
      short of the principal and interest due before it (a penalty could only take more of
      them); not overdue when they do not fall short and no penalty accrues (``penalty`` off,
      or every instalment paid by its due date, so that none ever accrued).

    Anything unusual — a field missing or unreadable, a schedule out of order, a payment in
    another currency, a generated schedule, an acceleration — gives ``None``. For a valid case
    the answer, when given, is the assessment's (``dpd > 0``): property-tested.

    Args:
        data: The case as parsed JSON (amounts as text or :class:`~decimal.Decimal`).
        as_of: The moment (aware), read in the borrower's time zone as the assessment does.
        products: The products the policy covers.
        penalty: Whether the assessment accrues penalty interest (the policy's multiplier).

    Returns:
        ``(party_id, overdue)``, or ``None``.
    """
    try:
        borrower = data["borrower"]
        if data["loan"]["product"] not in products:
            return None, False
        party = borrower["party_id"]
        if not isinstance(party, str) or not party:
            return None
        day = _local_day(borrower.get("timezone", "Asia/Shanghai"), as_of)
        snapshot = data.get("delinquency")
        if snapshot is not None:
            dpd = snapshot["dpd"]
            if type(dpd) is not int or dpd < 0:
                return None
            taken = snapshot.get("as_of")
            if dpd and taken is not None:  # aged as DelinquencySnapshot.dpd_on ages it
                dpd += (day - date.fromisoformat(taken)).days
            return party, dpd > 0
        # The loan alone is validated (a fraction of the case): its schedule is the assessment's.
        loan = Loan.model_validate(data["loan"])
        if loan.accelerated_on is not None:
            return None
        currency = loan.currency
        dues: list[tuple[date, Decimal]] = []
        for due, principal, interest in iter_schedule_parts(loan):
            if due >= day:
                break
            dues.append((due, principal + interest))
        paid: list[tuple[date, Decimal]] = []
        for payment in data.get("payments") or ():
            if payment.get("currency") not in (None, currency):
                return None
            paid.append((date.fromisoformat(payment["date"]), _number(payment["amount"])))
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, ValidationError):
        return None
    paid.sort(key=lambda p: p[0])
    owed = sum((amount for _, amount in dues), Decimal(0))
    total = sum((amount for when, amount in paid if when <= day), Decimal(0))
    if total < owed:
        return party, True
    if not penalty:
        return party, False
    # Never late: by each due date before the day, the payments made cover what was due.
    covered = by_then = Decimal(0)
    index = 0
    for due, amount in dues:
        covered += amount
        while index < len(paid) and paid[index][0] <= due:
            by_then += paid[index][1]
            index += 1
        if by_then < covered:
            return None  # once late: a penalty may have taken part of later payments
    return party, False


def _number(value: Any) -> Decimal:
    """An amount as the case contract writes it (text, or a number parsed as Decimal)."""
    if isinstance(value, str | Decimal):  # JSON numbers are left to the full reading
        found = Decimal(value)
        # Within what the contract reads as an amount: 1E+999999999 overflowed the sums.
        if found.is_finite() and found >= 0 and found.adjusted() < MAX_AMOUNT_DIGITS:
            return found
    raise ValueError(f"not an amount: {value!r}")


@functools.lru_cache(maxsize=64)
def _local_day(zone: Any, as_of: datetime) -> date:
    """The day ``as_of`` falls on in the time zone named ``zone`` (a book has a few zones)."""
    return as_of.astimezone(_zone_of(zone)).date()


def _zone_of(name: Any) -> Any:
    from .model import zone_named

    if not isinstance(name, str):
        raise ValueError("not a time zone")
    try:
        return zone_named(name)
    except Exception as exc:  # ZoneInfoNotFoundError and friends: unknown, not ours to judge
        raise ValueError(name) from exc
