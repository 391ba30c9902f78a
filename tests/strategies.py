"""Hypothesis strategies for the tests of the foundation (public ones arrive in dunning.testing)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from dunning import Case, Loan, Party, Payment, Product, Repayment

products = st.sampled_from(list(Product))


@st.composite
def loans(
    draw: st.DrawFn,
    *,
    repayments: list[Repayment] | None = None,
    max_term: int = 360,
) -> Loan:
    repayment = draw(st.sampled_from(repayments or list(Repayment)))
    principal = Decimal(draw(st.integers(1, 10**9))) / 100
    rate = Decimal(draw(st.integers(0, 3599))) / 10000
    term = draw(st.integers(1, max_term))
    start = draw(st.dates(date(2015, 1, 1), date(2030, 12, 31)))
    product = draw(st.sampled_from([Product.CONSUMER_FINANCE, Product.CREDIT_CARD]))
    return Loan(
        loan_id="L-1",
        product=product,
        principal=principal,
        annual_rate=rate,
        start_date=start,
        term_months=term,
        repayment=repayment,
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
