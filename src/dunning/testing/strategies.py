"""Hypothesis strategies for dunning's domain: loans, payments, contact histories, cases, policies.

Plural names and keyword-only options, in Hypothesis' house style; impossible combinations
raise ``hypothesis.errors.InvalidArgument``. Every object is built through the models, so it is
valid by construction, and strategies shrink towards small, plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..agencies import Agencies
from ..decide import agency_status
from ..delinquency import assess
from ..facts import fact_view
from ..model import (
    Case,
    Collateral,
    CollateralKind,
    ContactAttempt,
    ContactChannel,
    ContactPurpose,
    ContactResult,
    Decision,
    DelinquencySnapshot,
    Loan,
    Party,
    Payment,
    Placement,
    Product,
    PromiseToPay,
    Repayment,
    Role,
)
from ..policy import Policy, loads_policy
from ..portfolio import Portfolio
from ._policies import policy_texts

__all__ = [
    "Scenario",
    "cases",
    "contact_histories",
    "loans",
    "payments_for",
    "policies",
    "scenarios",
]

_SECURED = {
    Product.MORTGAGE: CollateralKind.PROPERTY,
    Product.VEHICLE_PLEDGE: CollateralKind.VEHICLE,
}
_ZONES = ("Asia/Shanghai", "Asia/Urumqi", "America/New_York")
#: The moment strategies anchor histories to when no ``as_of`` is given.
DEFAULT_AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def _cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda c: Decimal(c).scaleb(-2))


def _products(products: Iterable[Product | str] | None, secured: bool | None) -> list[Product]:
    chosen = [Product(p) for p in products] if products is not None else list(Product)
    if not chosen:
        raise InvalidArgument("products must name at least one product")
    if secured is True:
        chosen = [p for p in chosen if p in _SECURED]
        if not chosen:
            raise InvalidArgument("secured=True needs mortgage or vehicle_pledge among products")
    return chosen


def loans(
    *,
    products: Iterable[Product | str] | None = None,
    secured: bool | None = None,
    repayments: Iterable[Repayment | str] | None = None,
    min_principal: Decimal | str = Decimal("1000.00"),
    max_principal: Decimal | str = Decimal("2000000.00"),
    max_term_months: int = 120,
    min_start: date = date(2016, 1, 1),
    max_start: date = date(2026, 10, 31),
    currency: str = "CNY",
) -> st.SearchStrategy[Loan]:
    """Valid loans: any product, repayment method, rate below 36 %, terms up to 10 years.

    Args:
        products: Products to draw from (default: all).
        secured: ``True`` only collateralised loans (mortgage, vehicle pledge), ``False`` none,
            ``None`` either (secured products are then usually collateralised).
        repayments: Repayment methods to draw from (default: all).
        min_principal: Smallest principal, to the fen.
        max_principal: Largest principal, to the fen.
        max_term_months: Longest term (30-year mortgages are 360).
        min_start: Earliest start date.
        max_start: Latest start date.
        currency: The loans' currency (a policy decides in its own).
    """
    chosen = _products(products, secured)
    methods = [Repayment(r) for r in repayments] if repayments is not None else list(Repayment)
    if not methods:
        raise InvalidArgument("repayments must name at least one method")
    low, high = _fen(min_principal, "min_principal"), _fen(max_principal, "max_principal")
    if not 1 <= low <= high:
        raise InvalidArgument(
            f"need 0.01 <= min_principal <= max_principal, got {min_principal}..{max_principal}"
        )
    if not 1 <= max_term_months <= 1200:
        raise InvalidArgument(f"max_term_months={max_term_months} must be from 1 to 1200")
    if min_start > max_start:
        raise InvalidArgument(f"min_start {min_start} is after max_start {max_start}")

    @st.composite
    def build(draw: st.DrawFn) -> Loan:
        product = draw(st.sampled_from(chosen))
        collateral = None
        kind = _SECURED.get(product)
        if kind is not None and secured is not False and (secured or draw(st.booleans())):
            collateral = Collateral(kind=kind, value=draw(_cents(100_000, 500_000_000)))
        return Loan(
            loan_id=f"L-{draw(st.integers(1, 999))}",
            product=product,
            principal=draw(_cents(low, high)),
            currency=currency,
            annual_rate=Decimal(draw(st.integers(0, 3599))).scaleb(-4),
            start_date=draw(st.dates(min_start, max_start)),
            term_months=draw(st.integers(1, max_term_months)),
            repayment=draw(st.sampled_from(methods)),
            collateral=collateral,
        )

    return build()


def _fen(amount: Decimal | str, name: str) -> int:
    """An amount given to a strategy, in fen (cents); it must be a whole number of them."""
    try:
        cents = Decimal(amount) * 100
    except ArithmeticError:
        raise InvalidArgument(f"{name}={amount!r} is not an amount") from None
    if not cents.is_finite() or cents != cents.to_integral_value():
        raise InvalidArgument(f"{name}={amount!r} is not a whole number of fen")
    return int(cents)


def payments_for(loan: Loan, *, max_payments: int = 8) -> st.SearchStrategy[list[Payment]]:
    """Payments on ``loan``: dated from its start to a year after its last instalment."""
    if max_payments < 0:
        raise InvalidArgument(f"max_payments={max_payments} must be at least 0")
    end = loan.start_date + relativedelta(months=loan.term_months or 1, years=1)
    return st.lists(
        st.builds(
            Payment,
            date=st.dates(loan.start_date, end),
            amount=_cents(1, int(loan.principal * 100) + 1),
        ),
        max_size=max_payments,
    ).map(lambda ps: sorted(ps, key=lambda p: p.date))


def contact_histories(
    *,
    parties: Sequence[str] = ("P-1",),
    as_of: datetime | None = None,
    days: int = 30,
    max_size: int = 20,
) -> st.SearchStrategy[list[ContactAttempt]]:
    """Contact records with the named parties in the ``days`` before ``as_of``, oldest first.

    Args:
        parties: Party ids the contacts name (they must exist in the case).
        as_of: The moment the history ends (default: 2026-11-28 10:00 +08:00).
        days: How far back the history reaches.
        max_size: The most records.
    """
    if not parties:
        raise InvalidArgument("parties must name at least one party")
    if days < 1 or max_size < 0:
        raise InvalidArgument("days must be at least 1 and max_size at least 0")
    end = as_of or DEFAULT_AS_OF
    if end.utcoffset() is None:
        raise InvalidArgument("as_of must be timezone-aware")
    record = st.builds(
        ContactAttempt,
        at=st.integers(1, days * 24 * 60).map(lambda m: end - timedelta(minutes=m)),
        channel=st.sampled_from(list(ContactChannel)),
        party_id=st.sampled_from(list(parties)),
        outcome=st.sampled_from(list(ContactResult)),
        purpose=st.sampled_from(list(ContactPurpose)),
        recording_ref=st.none() | st.just("REC-1"),
    )
    return st.lists(record, max_size=max_size).map(lambda cs: sorted(cs, key=lambda c: c.at))


def cases(
    *,
    products: Iterable[Product | str] | None = None,
    min_dpd: int = 0,
    max_dpd: int = 1000,
    secured: bool | None = None,
    as_of: date | datetime | None = None,
    currency: str = "CNY",
) -> st.SearchStrategy[Case]:
    """Valid cases with days past due in ``min_dpd..max_dpd``.

    Without ``as_of`` the delinquency is a host snapshot, so the dpd holds at any moment. With
    ``as_of`` it is computed from the loan's schedule: no payment was made and the first
    instalment fell due ``dpd`` days before ``as_of``.

    Args:
        products: Products to draw from (default: all).
        min_dpd: Fewest days past due.
        max_dpd: Most days past due.
        secured: As for :func:`loans`.
        as_of: The moment the dpd is measured at, for computed delinquency.
        currency: The loans' currency.
    """
    if min_dpd < 0 or max_dpd < min_dpd:
        raise InvalidArgument(f"need 0 <= min_dpd <= max_dpd, got {min_dpd}..{max_dpd}")
    chosen = _products(products, secured)
    moment = as_of
    if isinstance(as_of, datetime) and as_of.utcoffset() is None:
        raise InvalidArgument("as_of must be timezone-aware")

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        loan = draw(loans(products=chosen, secured=secured, currency=currency))
        dpd = draw(st.integers(min_dpd, max_dpd))
        zone = draw(st.sampled_from(_ZONES))
        borrower = Party(
            party_id="P-1",
            phones=tuple(
                draw(
                    st.lists(
                        st.sampled_from(["13800000001", "13800000002"]), max_size=2, unique=True
                    )
                )
            ),
            addresses=tuple(draw(st.lists(st.just("1 Main Street"), max_size=1))),
            timezone=zone,
        )
        roles = draw(
            st.lists(st.sampled_from([r for r in Role if r is not Role.BORROWER]), max_size=2)
        )
        related = tuple(
            Party(party_id=f"P-{i + 2}", role=role, phones=("13900000000",))
            for i, role in enumerate(roles)
        )
        ids = ["P-1", *(p.party_id for p in related)]
        end = _moment(moment) if moment is not None else DEFAULT_AS_OF
        snapshot = None
        computed = False
        today = end.astimezone(borrower.zone).date()  # due dates are the borrower's
        if moment is not None and _computable(today, dpd):
            redated = _overdue_by(loan, today, dpd)
            probe = Case(case_id="probe", loan=redated, borrower=borrower)
            if assess(probe, end).dpd == dpd:  # zero-amount instalments can shift it
                loan, computed = redated, True
        if not computed:
            overdue = draw(_cents(0, int(loan.principal * 100))) if dpd else Decimal(0)
            snapshot = DelinquencySnapshot(
                dpd=dpd,
                overdue_principal=overdue,
                overdue_interest=draw(_cents(0, 10_000_000)) if dpd else Decimal(0),
                penalty_interest=draw(_cents(0, 1_000_000)) if dpd else Decimal(0),
            )
        placement = None
        if dpd > 90 and draw(st.booleans()):
            placement = Placement(
                agency_id="AG-1",
                placed_on=end.date() - timedelta(days=draw(st.integers(0, dpd - 90))),
                commission_rate=draw(st.sampled_from([Decimal("0.14"), Decimal("0.2")])),
            )
        rarely = st.sampled_from([False] * 9 + [True])
        dispute = draw(rarely)
        return Case(
            case_id=f"C-{draw(st.integers(1, 9999))}",
            loan=loan,
            borrower=borrower,
            related_parties=related,
            delinquency=snapshot,
            contacts=tuple(draw(contact_histories(parties=ids, as_of=end, max_size=8))),
            promises=tuple(
                draw(
                    st.lists(
                        st.builds(
                            PromiseToPay,
                            made_at=st.integers(1, 40).map(lambda d: end - timedelta(days=d)),
                            amount=_cents(100, 1_000_000),
                            due_date=st.integers(-30, 10).map(
                                lambda d: end.date() + timedelta(days=d)
                            ),
                        ),
                        max_size=2,
                    )
                )
            ),
            placement=placement,
            lost_contact=draw(rarely),
            dispute=dispute,
            do_not_contact=draw(rarely),
            deceased=draw(rarely),
            bankrupt=draw(rarely),
            attorney_represented=draw(rarely),
            complaint=draw(rarely),
            litigation=draw(rarely),
            rating=draw(st.none() | st.sampled_from("ABCDE")),
        )

    return build()


def _moment(as_of: date | datetime) -> datetime:
    if isinstance(as_of, datetime):
        return as_of
    return datetime.combine(as_of, time(10), timezone(timedelta(hours=8)))


def _computable(today: date, dpd: int) -> bool:
    """Whether a monthly schedule can fall due exactly ``dpd`` days before ``today``."""
    due = today - timedelta(days=dpd) if dpd else today + timedelta(days=1)
    return due.day <= 28  # later days are clamped in short months


def _overdue_by(loan: Loan, today: date, dpd: int) -> Loan:
    """``loan`` re-dated so that, unpaid, its first instalment is ``dpd`` days overdue."""
    due = today - timedelta(days=dpd) if dpd else today + timedelta(days=1)
    months = loan.term_months or 1 if loan.repayment is Repayment.BULLET else 1
    return loan.model_copy(update={"start_date": due - relativedelta(months=months)})


@dataclass(frozen=True, slots=True)
class Scenario:
    """A case with the moment, portfolio figures and agencies it is decided with."""

    case: Case
    as_of: datetime
    portfolio: Portfolio
    agencies: Agencies | None = None

    def decide(self, policy: Policy) -> Decision:
        """Decide this scenario with ``policy``."""
        return policy.decide(
            self.case, as_of=self.as_of, portfolio=self.portfolio, agencies=self.agencies
        )

    def facts(self, policy: Policy) -> dict[str, Any]:
        """The fact view the rules of ``policy`` read for this scenario."""
        assessment = policy.assess(self.case, self.as_of)
        status = agency_status(self.case, self.agencies, assessment.as_of)
        return fact_view(self.case, assessment, self.as_of, self.portfolio, status)


def scenarios(
    *,
    products: Iterable[Product | str] | None = None,
    max_dpd: int = 1000,
    currency: str = "CNY",
) -> st.SearchStrategy[Scenario]:
    """Cases of ``products`` in ``currency``, a moment of decision (any hour), a book figure."""
    moments = st.integers(-3 * 24 * 60, 3 * 24 * 60).map(
        lambda m: DEFAULT_AS_OF + timedelta(minutes=m)
    )
    return st.builds(
        Scenario,
        case=cases(products=products, max_dpd=max_dpd, currency=currency),
        as_of=moments,
        portfolio=st.integers(0, 1000).map(Portfolio),
    )


def policies(*, engine: str = "compiled") -> st.SearchStrategy[Policy]:
    """Random valid policies covering every product (as the engine equivalence test uses)."""
    if engine not in ("compiled", "rete"):
        raise InvalidArgument(f"engine must be compiled or rete, not {engine!r}")
    return policy_texts().map(lambda text: loads_policy(text, name="<generated>", engine=engine))
