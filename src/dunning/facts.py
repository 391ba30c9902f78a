"""Facts: a case and its assessment turned into the flat, typed table that rules read.

Rules never see objects, only these names. Each fact has a type the checker knows:
``int``, ``number`` (a ``Decimal``), ``money`` (a ``Decimal`` in the policy currency), ``bool``
or ``string`` (some with a fixed set of values), and may be *missing* (``None``): a comparison
with a missing value is false, and ``x == null`` tests for it.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .delinquency import Assessment
from .model import (
    Case,
    CollateralKind,
    ContactAttempt,
    ContactChannel,
    ContactPurpose,
    ContactResult,
    OverdueReason,
    Product,
    RepaymentAttitude,
    Role,
)
from .money import quantum
from .portfolio import Portfolio

__all__ = ["FACTS", "FactSpec", "fact_view", "is_outsourcing_notice"]


@dataclass(frozen=True, slots=True)
class FactSpec:
    """The type and meaning of one fact."""

    kind: str  # int | number | money | bool | string
    doc: str
    nullable: bool = False
    values: tuple[str, ...] | None = None  # the allowed values of a string fact


#: What the ``agency_status`` fact may be: ``Agency.status_on`` of the placement's agency.
AGENCY_STATUSES = ("active", "suspended", "ended")

_CONNECTED = frozenset({ContactResult.CONNECTED, ContactResult.PROMISED})

#: The fact table. docs/rules.md is generated from the same words; keep them in step.
FACTS: dict[str, FactSpec] = {
    "product": FactSpec("string", "the loan's product", values=tuple(p.value for p in Product)),
    "dpd": FactSpec("int", "days past due of the oldest unpaid instalment (0 if none)"),
    "bucket": FactSpec("string", "delinquency bucket of dpd, by the policy's bands"),
    "principal": FactSpec("money", "the loan's original principal"),
    "annual_rate": FactSpec("number", "the contract's annual interest rate (0.18 = 18%)"),
    "outstanding_principal": FactSpec(
        "money",
        "all unpaid principal, due or not (a snapshot's when the host gives it, else missing)",
        nullable=True,
    ),
    "overdue_principal": FactSpec("money", "unpaid principal of overdue instalments"),
    "overdue_interest": FactSpec("money", "unpaid interest of overdue instalments"),
    "penalty_interest": FactSpec(
        "money", "penalty interest (罚息) accrued and unpaid, held to the charges cap"
    ),
    "fees": FactSpec("money", "fees already charged by the host (snapshots)"),
    "total_due": FactSpec(
        "money",
        "overdue principal + overdue interest + penalty interest + fees: what the customer can "
        "lawfully be asked for (before any fee a rule sets)",
    ),
    "has_collateral": FactSpec("bool", "the loan is secured"),
    "collateral_kind": FactSpec(
        "string",
        "property or vehicle; missing when unsecured",
        nullable=True,
        values=tuple(k.value for k in CollateralKind),
    ),
    "collateral_value": FactSpec("money", "value of the collateral (0 when unsecured)"),
    "lost_contact": FactSpec("bool", "失联: no known number or address reaches the customer"),
    "dispute": FactSpec("bool", "the customer disputes the debt"),
    "do_not_contact": FactSpec("bool", "the customer may not be contacted"),
    "deceased": FactSpec("bool", "the borrower has died"),
    "bankrupt": FactSpec("bool", "the borrower is in personal bankruptcy"),
    "attorney_represented": FactSpec("bool", "the borrower is represented by an attorney"),
    "complaint": FactSpec(
        "bool", "the borrower complained of the collection (to the lender or a regulator)"
    ),
    "litigation": FactSpec("bool", "the lender has sued over the debt (起诉)"),
    "outsourcing_notified": FactSpec(
        "bool", "an outsourcing notice reached the borrower (SMS or letter, not failed)"
    ),
    "rating": FactSpec("string", "the lender's customer rating; missing if unrated", True),
    "credit_limit": FactSpec("money", "a card's credit limit (missing without card figures)", True),
    "statement_balance": FactSpec(
        "money", "what a card's last statement says is owed (missing without card figures)", True
    ),
    "minimum_payment_due": FactSpec(
        "money", "the least a card's last statement asked for (missing without card figures)", True
    ),
    "over_limit": FactSpec(
        "money", "how far a card's statement balance is above its limit (0 when it is not)"
    ),
    "calls_7d": FactSpec("int", "call attempts in the 7 days up to as_of"),
    "connected_calls_7d": FactSpec("int", "calls answered (connected or promised), 7 days"),
    "sms_7d": FactSpec("int", "SMS sent in the 7 days up to as_of"),
    "field_visits_30d": FactSpec("int", "field visits in the 30 days up to as_of"),
    "days_since_last_contact": FactSpec(
        "int", "days since the last contact attempt of any kind; missing if none", True
    ),
    "open_promise": FactSpec("bool", "a promise to pay falls due today or later, not yet kept"),
    "broken_promises_30d": FactSpec(
        "int", "promises due in the 30 days before as_of and not kept by their date"
    ),
    "broken_promises_90d": FactSpec(
        "int", "promises due in the 90 days before as_of and not kept by their date"
    ),
    "kept_promises_30d": FactSpec(
        "int", "promises due in the 30 days up to as_of and kept (paid by their date)"
    ),
    "kept_promises_90d": FactSpec(
        "int", "promises due in the 90 days up to as_of and kept (paid by their date)"
    ),
    "days_since_last_payment": FactSpec(
        "int", "days since the last payment up to as_of; missing if none was ever made", True
    ),
    "paid_30d": FactSpec("money", "payments in the 30 days up to as_of"),
    "has_guarantor": FactSpec("bool", "a guarantor is a party of the case"),
    "has_co_borrower": FactSpec("bool", "a co-borrower is a party of the case"),
    "last_overdue_reason": FactSpec(
        "string",
        "the overdue reason (逾期原因) of the latest contact that recorded one, else missing",
        True,
        tuple(r.value for r in OverdueReason),
    ),
    "last_repayment_attitude": FactSpec(
        "string",
        "the repayment attitude (还款态度) of the latest contact that recorded one, else missing",
        True,
        tuple(a.value for a in RepaymentAttitude),
    ),
    "placed": FactSpec("bool", "the case is placed with an agency"),
    "days_since_placement": FactSpec("int", "days since placement; missing if not placed", True),
    "placement_rate": FactSpec(
        "number", "commission rate fixed at placement; missing if not placed", True
    ),
    "placement_agency": FactSpec(
        "string", "the id of the agency the case is placed with; missing if not placed", True
    ),
    "placement_term_left": FactSpec(
        "int",
        "days until the placement's term ends (0 on its last day, negative after); missing if "
        "not placed or the placement has no term",
        True,
    ),
    "paid_since_placement": FactSpec(
        "money",
        "payments from the day of placement up to as_of; missing if not placed",
        True,
    ),
    "agency_status": FactSpec(
        "string",
        "the placement's agency on as_of: active, suspended, or ended (contract not in force); "
        "missing if not placed or decided without the agencies file",
        True,
        AGENCY_STATUSES,
    ),
    "overdue_customers": FactSpec(
        "int",
        "portfolio: distinct overdue borrowers, of the case's product where the host gives "
        "figures per product (a policy whose rules read it must be given the figure)",
    ),
}


def fact_view(
    case: Case,
    assessment: Assessment,
    as_of: datetime,
    portfolio: Portfolio,
    agency_status: str | None = None,
) -> dict[str, Any]:
    """Return the facts of ``case`` at ``as_of`` (aware), keyed by the names in :data:`FACTS`.

    ``agency_status`` is the status of the agency the case is placed with, when the caller
    knows the agencies (:class:`dunning.Placer` does).
    """
    zone = case.borrower.zone
    today = assessment.as_of
    week_ago, month_ago = as_of - timedelta(days=7), as_of - timedelta(days=30)
    calls = connected = sms = visits = 0
    last: datetime | None = None
    notified = False
    reason: tuple[datetime, str] | None = None
    attitude: tuple[datetime, str] | None = None
    for contact in case.contacts:
        if contact.at > as_of:
            continue  # recorded after the moment we decide for: not known yet
        if contact.purpose is ContactPurpose.OUTSOURCING_NOTICE and not notified:
            notified = is_outsourcing_notice(contact, case.borrower.party_id)
        if last is None or contact.at > last:
            last = contact.at
        if contact.at > week_ago:
            if contact.channel is ContactChannel.CALL:
                calls += 1
                connected += contact.outcome in _CONNECTED
            elif contact.channel is ContactChannel.SMS:
                sms += 1
        if contact.channel is ContactChannel.FIELD_VISIT and contact.at > month_ago:
            visits += 1
        if contact.overdue_reason is not None and (reason is None or contact.at >= reason[0]):
            reason = (contact.at, contact.overdue_reason.value)
        recorded = contact.repayment_attitude
        if recorded is not None and (attitude is None or contact.at >= attitude[0]):
            attitude = (contact.at, recorded.value)
    promises = _promises(case, today, as_of)
    last_paid: date | None = None
    paid_30d = Decimal(0)
    placement = case.placement
    since = placement.placed_on if placement else None
    paid_placed = Decimal(0)
    for payment in case.payments:
        if payment.date > today:
            continue
        if last_paid is None or payment.date > last_paid:
            last_paid = payment.date
        if (today - payment.date).days < 30:
            paid_30d += payment.amount
        if since is not None and payment.date >= since:
            paid_placed += payment.amount
    roles = {party.role for party in case.related_parties}
    loan, collateral, card = case.loan, case.loan.collateral, case.card
    minor = quantum(loan.currency)
    return {
        "product": loan.product.value,
        "dpd": assessment.dpd,
        "bucket": assessment.bucket,
        "principal": loan.principal,
        "annual_rate": loan.annual_rate,
        "outstanding_principal": assessment.outstanding_principal,
        "overdue_principal": assessment.overdue_principal,
        "overdue_interest": assessment.overdue_interest,
        "penalty_interest": assessment.penalty_interest,
        "fees": assessment.fees,
        "total_due": assessment.total_due,
        "has_collateral": collateral is not None,
        "collateral_kind": collateral.kind.value if collateral else None,
        "collateral_value": collateral.value if collateral else Decimal(0),
        "lost_contact": case.lost_contact,
        "dispute": case.dispute,
        "do_not_contact": case.do_not_contact,
        "deceased": case.deceased,
        "bankrupt": case.bankrupt,
        "attorney_represented": case.attorney_represented,
        "complaint": case.complaint,
        "litigation": case.litigation,
        "outsourcing_notified": notified,
        "rating": case.rating,
        "credit_limit": card.credit_limit if card else None,
        "statement_balance": card.statement_balance if card else None,
        "minimum_payment_due": card.minimum_payment_due if card else None,
        "over_limit": card.over_limit if card else Decimal(0),
        "calls_7d": calls,
        "connected_calls_7d": connected,
        "sms_7d": sms,
        "field_visits_30d": visits,
        "days_since_last_contact": (
            None if last is None else (today - last.astimezone(zone).date()).days
        ),
        "open_promise": promises.open,
        "broken_promises_30d": promises.broken_30d,
        "broken_promises_90d": promises.broken_90d,
        "kept_promises_30d": promises.kept_30d,
        "kept_promises_90d": promises.kept_90d,
        "days_since_last_payment": None if last_paid is None else (today - last_paid).days,
        "paid_30d": paid_30d.quantize(minor),
        "has_guarantor": Role.GUARANTOR in roles,
        "has_co_borrower": Role.CO_BORROWER in roles,
        "last_overdue_reason": reason[1] if reason else None,
        "last_repayment_attitude": attitude[1] if attitude else None,
        "placed": placement is not None,
        "days_since_placement": (today - placement.placed_on).days if placement else None,
        "placement_rate": placement.commission_rate if placement else None,
        "placement_agency": placement.agency_id if placement else None,
        "placement_term_left": (
            (placement.term_ends - today).days if placement and placement.term_ends else None
        ),
        "paid_since_placement": paid_placed.quantize(minor) if placement else None,
        "agency_status": agency_status if placement else None,
        # The policy checks that a rule reading it gets a figure; unread, a missing one is 0.
        "overdue_customers": portfolio.overdue_customers_of(loan.product.value) or 0,
    }


def is_outsourcing_notice(contact: ContactAttempt, borrower_id: str) -> bool:
    """Whether ``contact`` is an outsourcing notice that reached the borrower."""
    return (
        contact.purpose is ContactPurpose.OUTSOURCING_NOTICE
        and contact.channel in (ContactChannel.SMS, ContactChannel.LETTER)
        and contact.outcome not in (ContactResult.FAILED, ContactResult.WRONG_NUMBER)
        and contact.party_id == borrower_id
    )


@dataclass(frozen=True, slots=True)
class _Promises:
    open: bool
    broken_30d: int
    broken_90d: int
    kept_30d: int
    kept_90d: int


def _promises(case: Case, today: date, as_of: datetime) -> _Promises:
    """Open, broken and kept promises to pay, over 30 and 90 days."""
    if not case.promises:
        return _NO_PROMISES
    zone = case.borrower.zone
    payments = sorted((p.date, p.amount) for p in case.payments if p.date <= today)
    # Payment dates and running totals: what was paid between two days is a difference of two
    # totals found by bisection, so that many promises and payments cost n log n, not n × m.
    dates = [d for d, _ in payments]
    totals = [Decimal(0), *itertools.accumulate(a for _, a in payments)]
    open_promise, broken, kept = False, [0, 0], [0, 0]
    for promise in case.promises:
        if promise.made_at > as_of:
            continue
        made = promise.made_at.astimezone(zone).date()
        # A promise is kept when payments from the day it was made to its due date cover it.
        first = bisect.bisect_left(dates, made)
        paid = totals[max(first, bisect.bisect_right(dates, promise.due_date))] - totals[first]
        is_kept = paid >= promise.amount
        age = (today - promise.due_date).days
        if promise.due_date >= today:
            open_promise = open_promise or not is_kept
        elif not is_kept:
            broken[0] += age <= 30
            broken[1] += age <= 90
        if is_kept and age >= 0:
            kept[0] += age <= 30
            kept[1] += age <= 90
    return _Promises(open_promise, broken[0], broken[1], kept[0], kept[1])


_NO_PROMISES = _Promises(False, 0, 0, 0, 0)
