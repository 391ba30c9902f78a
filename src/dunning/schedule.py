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
from decimal import ROUND_HALF_UP, Decimal

from .errors import ArgumentError
from .model import Installment, Loan, Repayment
from .money import quantum

__all__ = [
    "debt_due_date",
    "due_dates",
    "final_due_date",
    "installment_payment",
    "iter_schedule_parts",
    "month_after",
    "schedule_of",
    "schedule_parts",
]


def due_dates(start: date, months: int) -> list[date]:
    """Return the ``months`` monthly due dates after ``start``, clamped to month ends.

    The same dates as ``start + relativedelta(months=k)`` (a test holds them equal), computed
    directly: dateutil's general arithmetic was a third of the cost of assessing a case.
    """
    return [month_after(start, k) for k in range(1, months + 1)]


def month_after(start: date, k: int) -> date:
    """``start + relativedelta(months=k)``: the same day ``k`` months on, clamped to month end."""
    year, month = divmod(start.year * 12 + start.month - 1 + k, 12)
    month += 1
    last = _MONTH_DAYS[month] if month != 2 else (29 if isleap(year) else 28)
    return date(year, month, min(start.day, last))


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def final_due_date(loan: Loan) -> date:
    """The due date of the loan's last instalment (without building the schedule)."""
    if loan.schedule is not None:
        return loan.schedule[-1].due_date
    assert loan.term_months is not None  # guaranteed by Loan's validation
    return month_after(loan.start_date, loan.term_months)


def debt_due_date(loan: Loan) -> date:
    """When the whole debt fell (or falls) due: its last instalment, or its acceleration.

    The day the limitation period of an instalment debt runs from (PRC Civil Code art. 189) and
    the guarantee period starts (art. 692).
    """
    last = final_due_date(loan)
    accelerated = loan.accelerated_on
    return last if accelerated is None else min(last, accelerated)


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
    if not isinstance(loan, Loan):
        raise ArgumentError(f"schedule_of takes a dunning.Loan, not {type(loan).__name__}")
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
    step = quantum(loan.currency)
    principal = loan.principal
    # One flat loop per method, rounding with quantize directly: this generator runs for every
    # month of every case assessed, so calls and nested generators are what it costs.
    if loan.repayment is Repayment.BULLET:
        # One instalment at maturity: principal plus simple interest for the whole term.
        interest = (principal * rate * n).quantize(step, ROUND_HALF_UP)
        yield month_after(start, n), principal, interest
        return
    zero = Decimal(0)
    months = _months_after(start)
    if loan.repayment is Repayment.EQUAL_INSTALLMENT:
        payment = installment_payment(principal, rate, n).quantize(step, ROUND_HALF_UP)
        balance = principal
        for k in range(1, n + 1):
            interest = (balance * rate).quantize(step, ROUND_HALF_UP)
            # The last instalment clears the balance; so does any month where the payment would.
            part = balance if k == n else min(balance, max(payment - interest, zero))
            yield next(months), part, interest
            balance -= part
    elif loan.repayment is Repayment.EQUAL_PRINCIPAL:
        # Principal parts follow the exact k × principal / n line, rounded cumulatively.
        repaid = zero
        for k in range(1, n + 1):
            target = principal if k == n else (principal * k / n).quantize(step, ROUND_HALF_UP)
            interest = ((principal - repaid) * rate).quantize(step, ROUND_HALF_UP)
            yield next(months), target - repaid, interest
            repaid = target
    else:
        interest = (principal * rate).quantize(step, ROUND_HALF_UP)
        for k in range(1, n + 1):
            yield next(months), (principal if k == n else zero), interest


def _months_after(start: date) -> Iterator[date]:
    """Yield ``month_after(start, k)`` for k = 1, 2, ... (month-end clamped, never drifting)."""
    day = start.day
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        if day <= 28:
            yield date(year, month, day)
        else:
            last = _MONTH_DAYS[month] if month != 2 else (29 if isleap(year) else 28)
            yield date(year, month, min(day, last))
