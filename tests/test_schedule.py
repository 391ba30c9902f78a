"""Instalment schedules: worked examples, numpy-financial as an oracle, and properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy_financial as npf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning import Installment, Loan, Repayment, schedule_of
from dunning.schedule import due_dates, iter_schedule_parts, month_after
from strategies import loans

D = Decimal
FEN = 0.005 + 1e-6  # half a fen, plus float noise of the oracle


def loan(**kw: object) -> Loan:
    base: dict[str, object] = {
        "loan_id": "L-1",
        "product": "consumer_finance",
        "principal": "12000.00",
        "annual_rate": "0.18",
        "start_date": "2026-01-15",
        "term_months": 12,
    }
    return Loan.model_validate(base | kw)


def test_equal_installment_worked_example() -> None:
    sched = schedule_of(loan())
    assert len(sched) == 12
    assert {i.amount for i in sched[:-1]} == {D("1100.16")}
    assert sched[0] == Installment(
        due_date=date(2026, 2, 15), principal=D("920.16"), interest=D("180.00")
    )
    assert sched[-1] == Installment(
        due_date=date(2027, 1, 15), principal=D("1083.93"), interest=D("16.26")
    )
    assert sum(i.principal for i in sched) == D("12000.00")
    assert sum(i.interest for i in sched) == D("1201.95")


def test_equal_principal_worked_example() -> None:
    sched = schedule_of(loan(principal="10000.00", repayment="equal_principal", term_months=3))
    assert [(i.principal, i.interest) for i in sched] == [
        (D("3333.33"), D("150.00")),
        (D("3333.34"), D("100.00")),
        (D("3333.33"), D("50.00")),
    ]


def test_interest_only_worked_example() -> None:
    sched = schedule_of(loan(principal="100000.00", repayment="interest_only", term_months=3))
    assert [(i.principal, i.interest) for i in sched] == [
        (D("0"), D("1500.00")),
        (D("0"), D("1500.00")),
        (D("100000.00"), D("1500.00")),
    ]


def test_bullet_worked_example() -> None:
    sched = schedule_of(loan(principal="50000.00", repayment="bullet", term_months=6))
    assert sched == (
        Installment(due_date=date(2026, 7, 15), principal=D("50000.00"), interest=D("4500.00")),
    )


def test_zero_rate_equal_installment_splits_principal_evenly() -> None:
    sched = schedule_of(loan(principal="100.00", annual_rate="0", term_months=3))
    assert [(i.principal, i.interest) for i in sched] == [
        (D("33.33"), D("0.00")),
        (D("33.33"), D("0.00")),
        (D("33.34"), D("0.00")),
    ]


def test_month_end_clamping_does_not_drift() -> None:
    assert due_dates(date(2024, 1, 31), 4) == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    assert due_dates(date(2025, 1, 31), 1) == [date(2025, 2, 28)]


def test_explicit_schedule_replaces_the_method() -> None:
    explicit = [
        {"due_date": "2026-03-01", "principal": "5000.00", "interest": "10.00"},
        {"due_date": "2026-09-01", "principal": "7000.00", "interest": "0"},
    ]
    sched = schedule_of(loan(schedule=explicit, term_months=None))
    assert [i.due_date for i in sched] == [date(2026, 3, 1), date(2026, 9, 1)]


@given(loans(repayments=[Repayment.EQUAL_INSTALLMENT]))
def test_equal_installment_agrees_with_numpy_financial(lo: Loan) -> None:
    """The level payment is npf.pmt to the fen; interest is the balance × rate to the fen.

    A payment rounded to the fen cannot amortise the loan exactly, so the schedule drifts from
    the unrounded npf.ipmt/ppmt path by at most one fen per month, compounded; the last
    instalment absorbs the drift. Both bounds are checked here.
    """
    sched = schedule_of(lo)
    n, p = lo.term_months or 0, float(lo.principal)
    r = float(lo.annual_rate) / 12
    payment = sched[0].amount
    if n > 1:
        assert abs(float(payment) - -npf.pmt(r, n, p)) <= FEN
    balance = lo.principal
    for k, inst in enumerate(sched, start=1):
        # To the fen against npf re-amortising the remaining balance over the remaining term.
        assert abs(float(inst.interest) - -npf.ipmt(r, 1, n - k + 1, float(balance))) <= FEN
        if k < n:
            assert inst.amount == payment or inst.principal == balance
        growth = (1 + r) ** (k - 1)
        drift = 0.01 * ((growth - 1) / r if r else k - 1)  # bound on the balance difference
        assert abs(float(inst.interest) - -npf.ipmt(r, k, n, p)) <= FEN + r * drift + 1e-6
        assert abs(float(inst.principal) - -npf.ppmt(r, k, n, p)) <= 2 * FEN + drift + 1e-6
        balance -= inst.principal
    assert balance == 0


@given(loans(repayments=[Repayment.EQUAL_PRINCIPAL]))
def test_equal_principal_agrees_with_numpy_financial_to_the_fen(lo: Loan) -> None:
    sched = schedule_of(lo)
    n, p = lo.term_months or 0, float(lo.principal)
    r = float(lo.annual_rate) / 12
    for k, inst in enumerate(sched, start=1):
        exact_balance = p - p * (k - 1) / n  # before instalment k
        # One month of interest on the exact balance is npf.ipmt of a one-period loan.
        assert abs(float(inst.interest) - -npf.ipmt(r, 1, 1, exact_balance)) < 0.01
        assert abs(float(inst.principal) - p / n) < 0.01


@given(loans())
def test_principal_parts_sum_to_the_principal(lo: Loan) -> None:
    sched = schedule_of(lo)
    assert sum(i.principal for i in sched) == lo.principal
    assert all(i.principal >= 0 and i.interest >= 0 for i in sched)
    assert all(i.principal.as_tuple().exponent >= -2 for i in sched)
    assert [i.due_date for i in sched] == sorted({i.due_date for i in sched})


@pytest.mark.parametrize("method", list(Repayment))
def test_every_method_has_a_schedule(method: Repayment) -> None:
    sched = schedule_of(loan(repayment=method.value))
    assert sum(i.principal for i in sched) == D("12000.00")
    assert sched[-1].due_date == date(2027, 1, 15)


@given(st.dates(date(1900, 1, 1), date(2400, 12, 31)), st.integers(0, 600))
def test_due_dates_are_relativedelta_month_steps(start: date, months: int) -> None:
    from dateutil.relativedelta import relativedelta

    expected = [start + relativedelta(months=k) for k in range(1, months + 1)]
    assert due_dates(start, months) == expected


@given(
    st.dates(date(1900, 1, 1), date(2400, 12, 31)),
    st.integers(1, 600),
    st.sampled_from([r for r in Repayment if r is not Repayment.BULLET]),
)
def test_built_schedules_fall_due_on_the_month_steps(
    start: date, months: int, method: Repayment
) -> None:
    built = loan(start_date=start.isoformat(), term_months=months, repayment=method.value)
    assert [part[0] for part in iter_schedule_parts(built)] == due_dates(start, months)


@given(st.dates(date(1900, 1, 1), date(2400, 12, 31)), st.integers(0, 50))
def test_years_on_are_twelve_month_steps(start: date, years: int) -> None:
    from dateutil.relativedelta import relativedelta

    assert month_after(start, 12 * years) == start + relativedelta(years=years)
