"""Hypothesis strategies for the foundation's tests, built on the public ``dunning.testing``."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

from dunning import (
    Case,
    Collateral,
    CollateralKind,
    ContactAttempt,
    ContactChannel,
    ContactPurpose,
    ContactResult,
    DelinquencySnapshot,
    Loan,
    OverdueReason,
    Party,
    Payment,
    Placement,
    Product,
    PromiseToPay,
    Repayment,
    RepaymentAttitude,
    Role,
    schedule_of,
    testing,
)

products = st.sampled_from(list(Product))


def loans(
    *, repayments: list[Repayment] | None = None, max_term: int = 360
) -> st.SearchStrategy[Loan]:
    """Unsecured loans over the whole range the arithmetic must handle: 0.01 to 10 million,
    terms up to 30 years, starting 2015 to 2030 (the public strategy with wider options)."""
    return testing.loans(
        products=[Product.CONSUMER_FINANCE, Product.CREDIT_CARD],
        repayments=repayments,
        min_principal="0.01",
        max_principal="10000000.00",
        max_term_months=max_term,
        min_start=date(2015, 1, 1),
        max_start=date(2030, 12, 31),
    )


@st.composite
def cases_with_payments(draw: st.DrawFn, *, max_term: int = 36) -> Case:
    loan = draw(loans(max_term=max_term))
    horizon = loan.start_date + timedelta(days=31 * (loan.term_months or 1) + 400)
    payments = draw(
        st.lists(
            st.builds(
                Payment,
                date=st.dates(loan.start_date, horizon),
                amount=st.integers(1, 10**8).map(lambda c: Decimal(c) / 100),
            ),
            max_size=8,
        )
    )
    return Case(
        case_id="C-1",
        loan=loan,
        borrower=Party(party_id="P-1"),
        payments=tuple(payments),
    )


ids = st.text("ABCXYZ0123456789-", min_size=1, max_size=8)
texts = st.text(max_size=20)
amounts = st.integers(0, 10**10).map(lambda c: Decimal(c) / 100)
positive_amounts = st.integers(1, 10**10).map(lambda c: Decimal(c) / 100)
rates = st.integers(0, 9999).map(lambda c: Decimal(c) / 10000)
zones = st.sampled_from(["Asia/Shanghai", "Asia/Urumqi", "America/New_York", "UTC"])
# Fixed UTC offsets, as JSON carries them: a ZoneInfo time inside a DST gap compares unequal
# to the same instant in another zone (PEP 495), which would say nothing about our round trip.
offsets = st.integers(-12 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
aware = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2035, 1, 1), timezones=offsets
)


@st.composite
def full_cases(draw: st.DrawFn) -> Case:
    """Valid cases using every part of the contract, for round-trip tests."""
    lo = draw(loans(max_term=60))
    product = draw(products)
    collateral = None
    if product in (Product.MORTGAGE, Product.VEHICLE_PLEDGE):
        kind = CollateralKind.PROPERTY if product is Product.MORTGAGE else CollateralKind.VEHICLE
        collateral = Collateral(kind=kind, value=draw(amounts), reference=draw(texts | st.none()))
    signed = draw(st.none() | st.dates(date(2015, 1, 1), lo.start_date))
    lo = lo.model_copy(update={"product": product, "collateral": collateral, "signed_on": signed})
    if draw(st.booleans()):
        schedule = schedule_of(lo)
        lo = Loan.model_validate(
            lo.model_dump() | {"schedule": [i.model_dump() for i in schedule], "term_months": None}
        )
    borrower = Party(
        party_id="B",
        name=draw(texts),
        phones=tuple(draw(st.lists(st.from_regex(r"\+?1[0-9]{10}", fullmatch=True), max_size=2))),
        addresses=tuple(draw(st.lists(texts, max_size=2))),
        timezone=draw(zones),
    )
    related = tuple(
        Party(party_id=f"R{i}", role=role, do_not_contact=draw(st.booleans()))
        for i, role in enumerate(
            draw(st.lists(st.sampled_from([r for r in Role if r is not Role.BORROWER]), max_size=3))
        )
    )
    party_ids = ["B", *(p.party_id for p in related)]
    contacts = draw(
        st.lists(
            st.builds(
                ContactAttempt,
                at=aware,
                channel=st.sampled_from(list(ContactChannel)),
                party_id=st.sampled_from(party_ids),
                outcome=st.sampled_from(list(ContactResult)),
                number=st.none() | st.from_regex(r"1[0-9]{10}", fullmatch=True),
                purpose=st.sampled_from(list(ContactPurpose)),
                overdue_reason=st.sampled_from(list(OverdueReason)) | st.none(),
                overdue_reason_note=texts | st.none(),
                repayment_attitude=st.sampled_from(list(RepaymentAttitude)) | st.none(),
                recording_ref=texts | st.none(),
            ),
            max_size=4,
        )
    )
    promises = draw(
        st.lists(
            st.builds(
                PromiseToPay,
                made_at=aware,
                amount=positive_amounts,
                due_date=st.dates(),
                party_id=st.sampled_from(party_ids) | st.none(),
            ),
            max_size=2,
        )
    )
    snapshot = draw(
        st.none()
        | st.builds(
            DelinquencySnapshot,
            dpd=st.integers(0, 3000),
            overdue_principal=amounts,
            overdue_interest=amounts,
            penalty_interest=amounts,
            fees=amounts,
        )
    )
    placement = draw(
        st.none() | st.builds(Placement, agency_id=ids, placed_on=st.dates(), commission_rate=rates)
    )
    payments = draw(
        st.lists(
            st.builds(
                Payment,
                date=st.dates(),
                amount=positive_amounts,
                currency=st.sampled_from([lo.currency, None]),
            ),
            max_size=3,
        )
    )
    dispute = draw(st.booleans())
    return Case(
        case_id=draw(ids),
        loan=lo,
        borrower=borrower,
        related_parties=related,
        payments=tuple(payments),
        delinquency=snapshot,
        contacts=tuple(contacts),
        promises=tuple(promises),
        placement=placement,
        lost_contact=draw(st.booleans()),
        dispute=dispute,
        disputed_amount=draw(st.none() | amounts) if dispute else None,
        do_not_contact=draw(st.booleans()),
        deceased=draw(st.booleans()),
        bankrupt=draw(st.booleans()),
        attorney_represented=draw(st.booleans()),
        rating=draw(st.sampled_from("ABCDE") | st.none()),
    )


@st.composite
def fact_views(draw: st.DrawFn, *, products: list[str] | None = None) -> dict[str, object]:
    """Fact views with every fact drawn independently (within its type), bucket from dpd."""
    from dunning import DEFAULT_BANDS, FACTS

    money = st.integers(0, 10**9).map(lambda c: Decimal(c) / 100)
    facts: dict[str, object] = {}
    for name, spec in FACTS.items():
        if spec.kind == "int":
            low = -400 if name == "placement_term_left" else 0  # negative once the term is over
            value: object = draw(st.integers(low, 2000))
        elif spec.kind == "money":
            value = draw(money)
        elif spec.kind == "number":
            value = draw(rates)
        elif spec.kind == "bool":
            value = draw(st.booleans())
        else:
            value = draw(st.sampled_from(spec.values or ("A", "B", "C", "D", "E")))
        if spec.nullable and draw(st.booleans()):
            value = None
        facts[name] = value
    if products is not None:
        facts["product"] = draw(st.sampled_from(products))
    facts["bucket"] = DEFAULT_BANDS.bucket(int(facts["dpd"]))  # type: ignore[call-overload]
    return facts
