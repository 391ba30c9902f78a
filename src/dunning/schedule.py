"""Instalment schedules: a loan's contract turned into what falls due when.

Monthly due dates are ``start_date + relativedelta(months=k)``, each counted from the start date so
that end-of-month clamping never drifts (a loan started on 31 January falls due on 28/29 February,
then 31 March). The monthly rate is ``annual_rate / 12``. Every part is rounded half-up to the
currency's minor unit and the last instalment absorbs the rounding, so principal parts always sum
exactly to the principal.
"""

from __future__ import annotations

from calendar import isleap
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from .model import Installment, Loan, Repayment
from .money import round_money

__all__ = [
    "due_dates",
    "installment_payment",
    "iter_schedule_parts",
    "schedule_of",
    "schedule_parts",
]


def due_dates(start: date, months: int) -> list[date]:
    """Return the ``months`` monthly due dates after ``start``, clamped to month ends.

    The same dates as ``start + relativedelta(months=k)`` (a test holds them equal), computed
    directly: dateutil's general arithmetic was a third of the cost of assessing a case.
    """
    return [_month_after(start, k) for k in range(1, months + 1)]


def _month_after(start: date, k: int) -> date:
    """``start + relativedelta(months=k)``: the same day ``k`` months on, clamped to month end."""
    year, month = divmod(start.year * 12 + start.month - 1 + k, 12)
    month += 1
    last = _MONTH_DAYS[month] if month != 2 else (29 if isleap(year) else 28)
    return date(year, month, min(start.day, last))


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def installment_payment(principal: Decimal, monthly_rate: Decimal, months: int) -> Decimal:
    """Return the unrounded level payment that amortises ``principal`` over ``months``."""
    if monthly_rate == 0:
        return principal / months
    growth = (1 + monthly_rate) ** months
    return principal * monthly_rate * growth / (growth - 1)


def schedule_of(loan: Loan) -> tuple[Installment, ...]:
    """Return the loan's instalments: its explicit ``schedule``, or one built from its terms.

    * ``equal_installment`` (等额本息): a level payment rounded to the minor unit; each month's
      interest is the outstanding balance × the monthly rate, rounded; the principal part is the
      rest; the last instalment pays off the remaining balance. This is how Chinese lenders print
      the schedule, and the payment equals numpy-financial's ``pmt`` to the fen.
    * ``equal_principal`` (等额本金): principal parts follow the exact ``k × principal / n`` line,
      rounded cumulatively so no rounding accumulates; interest on the outstanding balance.
    * ``interest_only`` (先息后本): interest every month, all principal with the last instalment.
    * ``bullet`` (到期一次还本付息): one instalment at maturity with simple interest for the term.
    """
    if loan.schedule is not None:
        return loan.schedule
    return tuple(
        Installment.model_construct(due_date=d, principal=p, interest=i)
        for d, p, i in schedule_parts(loan)
    )


def schedule_parts(loan: Loan) -> list[tuple[date, Decimal, Decimal]]:
    """The loan's instalments as plain ``(due_date, principal, interest)`` tuples."""
    return list(iter_schedule_parts(loan))


def iter_schedule_parts(loan: Loan) -> Iterator[tuple[date, Decimal, Decimal]]:
    """Yield the loan's instalments as ``(due_date, principal, interest)``, one at a time.

    What :func:`schedule_of` returns, without a model per instalment and only as far as the
    caller reads: assessing a 30-year mortgage five years in needs its first sixty months.
    """
    if loan.schedule is not None:
        for inst in loan.schedule:
            yield inst.due_date, inst.principal, inst.interest
        return
    assert loan.term_months is not None  # guaranteed by Loan's validation
    n = loan.term_months
    start = loan.start_date
    rate = loan.annual_rate / 12
    currency = loan.currency
    principal = loan.principal
    if loan.repayment is Repayment.BULLET:
        # One instalment at maturity: principal plus simple interest for the whole term.
        yield _month_after(start, n), principal, round_money(principal * rate * n, currency)
        return
    if loan.repayment is Repayment.EQUAL_INSTALLMENT:
        parts = _equal_installment(principal, rate, n, currency)
    elif loan.repayment is Repayment.EQUAL_PRINCIPAL:
        parts = _equal_principal(principal, rate, n, currency)
    else:
        parts = _interest_only(principal, rate, n, currency)
    for k, (part, interest) in enumerate(parts, start=1):
        yield _month_after(start, k), part, interest


def _interest_only(
    principal: Decimal, rate: Decimal, n: int, currency: str
) -> Iterator[tuple[Decimal, Decimal]]:
    interest = round_money(principal * rate, currency)
    for k in range(1, n + 1):
        yield (principal if k == n else Decimal(0)), interest


def _equal_installment(
    principal: Decimal, rate: Decimal, n: int, currency: str
) -> Iterator[tuple[Decimal, Decimal]]:
    payment = round_money(installment_payment(principal, rate, n), currency)
    balance = principal
    for k in range(1, n + 1):
        interest = round_money(balance * rate, currency)
        # The last instalment clears the balance; so does any month where the payment would.
        part = balance if k == n else min(balance, max(payment - interest, Decimal(0)))
        yield part, interest
        balance -= part


def _equal_principal(
    principal: Decimal, rate: Decimal, n: int, currency: str
) -> Iterator[tuple[Decimal, Decimal]]:
    repaid = Decimal(0)
    for k in range(1, n + 1):
        target = principal if k == n else round_money(principal * k / n, currency)
        interest = round_money((principal - repaid) * rate, currency)
        yield target - repaid, interest
        repaid = target
