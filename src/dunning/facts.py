"""Facts: a case and its assessment turned into the flat, typed table that rules read.

Rules never see objects, only these names. Each fact has a type the checker knows:
``int``, ``number`` (a ``Decimal``), ``money`` (a ``Decimal`` in the policy currency), ``bool``
or ``string`` (some with a fixed set of values), and may be *missing* (``None``): a comparison
with a missing value is false, and ``x == null`` tests for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from .delinquency import Assessment
from .errors import ConfigError, did_you_mean
from .model import (
    Case,
    CollateralKind,
    ContactAttempt,
    ContactChannel,
    ContactPurpose,
    ContactResult,
    Product,
)

__all__ = ["FACTS", "FactSpec", "Portfolio", "fact_view", "is_outsourcing_notice"]


@dataclass(frozen=True, slots=True)
class FactSpec:
    """The type and meaning of one fact."""

    kind: str  # int | number | money | bool | string
    doc: str
    nullable: bool = False
    values: tuple[str, ...] | None = None  # the allowed values of a string fact


@dataclass(frozen=True, slots=True)
class Portfolio:
    """Figures about the lender's whole book that some rules need.

    Attributes:
        overdue_customers: Distinct borrowers currently overdue (the seed's threshold for
            bringing in agencies): one figure for the whole book, or one per product
            (``{"consumer_finance": 120, "mortgage": 30}``), in which case the fact a rule reads
            is the figure of the case's product.

    Raises:
        ConfigError: For a negative figure or an unknown product.
    """

    overdue_customers: int | Mapping[str, int]

    def __post_init__(self) -> None:
        figure = self.overdue_customers
        if isinstance(figure, Mapping):
            known = [p.value for p in Product]
            problems = [
                f"unknown product {name!r}" + did_you_mean(str(name), known)
                for name in figure
                if name not in known
            ]
            problems += [
                f"{name}: {count!r} is not a count (a whole number, at least 0)"
                for name, count in figure.items()
                if type(count) is not int or count < 0
            ]
            if problems:
                raise ConfigError("portfolio figures: " + "; ".join(problems))
            object.__setattr__(self, "overdue_customers", MappingProxyType(dict(figure)))
        elif type(figure) is not int or figure < 0:
            raise ConfigError(
                f"overdue_customers must be a whole number at least 0, or one per product; "
                f"got {figure!r}"
            )

    def overdue_customers_of(self, product: str) -> int | None:
        """The figure for a case of ``product`` (``None``: a per-product figure lacks it)."""
        figure = self.overdue_customers
        return figure.get(product) if isinstance(figure, Mapping) else figure


_CONNECTED = frozenset({ContactResult.CONNECTED, ContactResult.PROMISED})

#: The fact table. docs/rules.md is generated from the same words; keep them in step.
FACTS: dict[str, FactSpec] = {
    "product": FactSpec("string", "the loan's product", values=tuple(p.value for p in Product)),
    "dpd": FactSpec("int", "days past due of the oldest unpaid instalment (0 if none)"),
    "bucket": FactSpec("string", "delinquency bucket of dpd, by the policy's bands"),
    "principal": FactSpec("money", "the loan's original principal"),
    "annual_rate": FactSpec("number", "the contract's annual interest rate (0.18 = 18%)"),
    "outstanding_principal": FactSpec(
        "money", "all unpaid principal, due or not (missing for host snapshots)", nullable=True
    ),
    "overdue_principal": FactSpec("money", "unpaid principal of overdue instalments"),
    "overdue_interest": FactSpec("money", "unpaid interest of overdue instalments"),
    "penalty_interest": FactSpec("money", "penalty interest (罚息) accrued and unpaid"),
    "fees": FactSpec("money", "fees already charged by the host (snapshots)"),
    "total_due": FactSpec(
        "money", "overdue principal + overdue interest + penalty interest + fees"
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
    "outsourcing_notified": FactSpec(
        "bool", "an outsourcing notice reached the borrower (SMS or letter, not failed)"
    ),
    "rating": FactSpec("string", "the lender's customer rating; missing if unrated", True),
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
    "placed": FactSpec("bool", "the case is placed with an agency"),
    "days_since_placement": FactSpec("int", "days since placement; missing if not placed", True),
    "placement_rate": FactSpec(
        "number", "commission rate fixed at placement; missing if not placed", True
    ),
    "overdue_customers": FactSpec(
        "int",
        "portfolio: distinct overdue borrowers, of the case's product where the host gives "
        "figures per product (a policy whose rules read it must be given the figure)",
    ),
}


def fact_view(
    case: Case, assessment: Assessment, as_of: datetime, portfolio: Portfolio
) -> dict[str, Any]:
    """Return the facts of ``case`` at ``as_of`` (aware), keyed by the names in :data:`FACTS`."""
    zone = case.borrower.zone
    today = assessment.as_of
    week_ago, month_ago = as_of - timedelta(days=7), as_of - timedelta(days=30)
    calls = connected = sms = visits = 0
    last: datetime | None = None
    notified = False
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
    open_promise, broken = _promises(case, today, as_of)
    loan, placement, collateral = case.loan, case.placement, case.loan.collateral
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
        "outsourcing_notified": notified,
        "rating": case.rating,
        "calls_7d": calls,
        "connected_calls_7d": connected,
        "sms_7d": sms,
        "field_visits_30d": visits,
        "days_since_last_contact": (
            None if last is None else (today - last.astimezone(zone).date()).days
        ),
        "open_promise": open_promise,
        "broken_promises_30d": broken,
        "placed": placement is not None,
        "days_since_placement": (today - placement.placed_on).days if placement else None,
        "placement_rate": placement.commission_rate if placement else None,
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


def _promises(case: Case, today: date, as_of: datetime) -> tuple[bool, int]:
    """Return (an open promise exists, promises broken in the last 30 days)."""
    if not case.promises:
        return False, 0
    zone = case.borrower.zone
    payments = sorted((p.date, p.amount) for p in case.payments if p.date <= today)
    open_promise, broken = False, 0
    for promise in case.promises:
        if promise.made_at > as_of:
            continue
        made = promise.made_at.astimezone(zone).date()
        # A promise is kept when payments from the day it was made to its due date cover it.
        paid = sum((a for d, a in payments if made <= d <= promise.due_date), Decimal(0))
        kept = paid >= promise.amount
        if promise.due_date >= today:
            open_promise = open_promise or not kept
        elif not kept and (today - promise.due_date).days <= 30:
            broken += 1
    return open_promise, broken
