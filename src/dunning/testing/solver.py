"""Cases that reach every rule of a policy, found by searching over case features.

A rule is reached when a case makes it win its group (first hit). The search changes a small
set of case features — product, days past due, amounts, flags, contact counts, promises,
placement, the portfolio figure — choosing values from those the policy's own conditions
compare against (and their neighbours), builds a real case from them, and keeps changes that
bring the target rule closer to winning: more of its conditions hold, fewer earlier rules
match. Building real cases keeps every witness valid; the facts are never set directly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from ..agencies import Agencies
from ..errors import CaseError
from ..facts import AGENCY_STATUSES
from ..model import (
    Agency,
    AgencyStatus,
    CardAccount,
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
    RepaymentAttitude,
)
from ..policy import Policy
from ..portfolio import Portfolio
from ..rules.nodes import Literal, walk
from .strategies import DEFAULT_AS_OF, Scenario

__all__ = ["Solution", "solve"]

_INTS = (0, 1, 2, 3, 5, 6, 7, 10, 30, 31, 60, 90, 91, 120, 180, 181, 365, 1100)
_MONEY = (Decimal("0.00"), Decimal("100.00"), Decimal("1000.00"), Decimal("20000.00"))
_RATES = (Decimal("0"), Decimal("0.05"), Decimal("0.18"), Decimal("0.24"))
_FLAGS = (
    "lost_contact",
    "dispute",
    "do_not_contact",
    "deceased",
    "bankrupt",
    "attorney_represented",
    "complaint",
    "litigation",
    "notified",
    "open_promise",
)


@dataclass(frozen=True, slots=True)
class Solution:
    """Witnesses: one scenario per rule the search reached, and the rules it did not."""

    witnesses: dict[str, Scenario]
    unreached: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Features:
    product: str
    dpd: int = 0
    overdue_principal: Decimal = Decimal("1000.00")
    overdue_interest: Decimal = Decimal("0.00")
    penalty_interest: Decimal = Decimal("0.00")
    fees: Decimal = Decimal("0.00")
    principal: Decimal = Decimal("12000.00")
    annual_rate: Decimal = Decimal("0.18")
    collateral: Decimal | None = None
    lost_contact: bool = False
    dispute: bool = False
    do_not_contact: bool = False
    deceased: bool = False
    bankrupt: bool = False
    attorney_represented: bool = False
    complaint: bool = False
    litigation: bool = False
    notified: bool = True
    open_promise: bool = False
    overdue_reason: str | None = None
    repayment_attitude: str | None = None
    credit_limit: Decimal = Decimal("12000.00")
    rating: str | None = None
    calls_7d: int = 0
    connected_calls_7d: int = 0
    sms_7d: int = 0
    field_visits_30d: int = 0
    broken_promises_30d: int = 0
    placement_rate: Decimal | None = None
    placed_days: int = 20
    term_left: int | None = None
    paid_when_placed: bool = False
    agency_status: str | None = None
    overdue_customers: int = 0


def _literals(policy: Policy) -> list[Any]:
    return [
        node.value
        for rule in policy.ir.rules()
        if rule.when is not None
        for node in walk(rule.when)
        if isinstance(node, Literal)
    ]


def _choices(policy: Policy) -> dict[str, list[Any]]:
    literals = _literals(policy)
    ints = sorted(
        {v + d for v in literals if type(v) is int for d in (-1, 0, 1) if 0 <= v + d <= 40_000}
        | set(_INTS)
    )
    money = sorted(
        {
            Decimal(v) + d
            for v in literals
            if type(v) in (int, Decimal) and 0 <= v < 10**9
            for d in (Decimal("-0.01"), Decimal(0), Decimal("0.01"))
            if Decimal(v) + d >= 0
        }
        | set(_MONEY)
    )
    money = [m.quantize(Decimal("0.01")) for m in money if m == m.quantize(Decimal("0.01"))]
    rates = sorted(
        {Decimal(v) for v in literals if isinstance(v, Decimal) and 0 <= v < 1} | set(_RATES)
    )
    strings = sorted({v for v in literals if isinstance(v, str)} | set("ABCDE"))
    small = [0, 1, 2, 3, 6, 7]
    return {
        "product": list(policy.ir.products),
        "dpd": ints,
        "overdue_principal": money,
        "overdue_interest": money,
        "penalty_interest": money,
        "fees": money,
        "principal": [m for m in money if m > 0],
        "annual_rate": rates,
        "collateral": [None, *[m for m in money if m > 0]],
        **{flag: [False, True] for flag in _FLAGS},
        "rating": [None, *strings],
        "overdue_reason": [None, *(r.value for r in OverdueReason)],
        "repayment_attitude": [None, *(a.value for a in RepaymentAttitude)],
        "credit_limit": [m for m in money if m > 0],
        "calls_7d": sorted(set(small) | {i for i in ints if i <= 12}),
        "connected_calls_7d": small,
        "sms_7d": small,
        "field_visits_30d": small,
        "broken_promises_30d": [0, 1, 2, 3],
        "placement_rate": [None, *rates],
        "placed_days": [i for i in ints if 0 <= i <= 3650],
        "term_left": [None, -1, 0, 1, 30],
        "paid_when_placed": [False, True],
        "agency_status": [None, *AGENCY_STATUSES],
        "overdue_customers": ints,
    }


def _agencies(status: str | None) -> Agencies | None:
    """An agencies file in which the placement's agency ``AG-1`` has ``status``."""
    if status is None:
        return None
    start, end = date(2000, 1, 1), date(2001, 1, 1) if status == "ended" else None
    agency = Agency(
        agency_id="AG-1",
        name="Agency",
        phone="4008001234",
        contract_start=start,
        contract_end=end,
        status=AgencyStatus.SUSPENDED if status == "suspended" else AgencyStatus.ACTIVE,
    )
    return Agencies((agency,))


_SECURED = {"mortgage": CollateralKind.PROPERTY, "vehicle_pledge": CollateralKind.VEHICLE}


def _case(f: _Features, currency: str = "CNY") -> Case:
    end = DEFAULT_AS_OF
    contacts: list[ContactAttempt] = []

    def add(days: float, channel: ContactChannel, outcome: ContactResult, **kw: Any) -> None:
        contacts.append(
            ContactAttempt(
                at=end - timedelta(days=days),
                channel=channel,
                party_id="P-1",
                outcome=outcome,
                **kw,
            )
        )

    for i in range(f.calls_7d):
        talked = i < f.connected_calls_7d
        add(
            1 + i * 0.1,
            ContactChannel.CALL,
            ContactResult.CONNECTED if talked else ContactResult.NO_ANSWER,
        )
    for i in range(f.sms_7d):
        add(2 + i * 0.1, ContactChannel.SMS, ContactResult.DELIVERED)
    for i in range(f.field_visits_30d):
        add(10 + i, ContactChannel.FIELD_VISIT, ContactResult.CONNECTED, recording_ref="REC-1")
    if f.notified:
        add(
            45,
            ContactChannel.LETTER,
            ContactResult.DELIVERED,
            purpose=ContactPurpose.OUTSOURCING_NOTICE,
        )
    if f.overdue_reason is not None or f.repayment_attitude is not None:  # a call's record
        add(
            3,
            ContactChannel.CALL,
            ContactResult.CONNECTED,
            overdue_reason=None if f.overdue_reason is None else OverdueReason(f.overdue_reason),
            repayment_attitude=None
            if f.repayment_attitude is None
            else RepaymentAttitude(f.repayment_attitude),
        )
    promises = [
        PromiseToPay(
            made_at=end - timedelta(days=12 + i),
            amount=Decimal("100.00"),
            due_date=(end - timedelta(days=5 + i)).date(),
        )
        for i in range(f.broken_promises_30d)
    ]
    if f.open_promise:
        promises.append(
            PromiseToPay(
                made_at=end - timedelta(days=1),
                amount=Decimal("100.00"),
                due_date=(end + timedelta(days=3)).date(),
            )
        )
    kind = _SECURED.get(f.product, CollateralKind.PROPERTY)
    loan = Loan(
        loan_id="L-1",
        product=Product(f.product),
        principal=f.principal,
        currency=currency,
        annual_rate=f.annual_rate,
        start_date=(end - timedelta(days=400)).date(),
        term_months=12,
        collateral=None if f.collateral is None else Collateral(kind=kind, value=f.collateral),
    )
    placement = None
    payments: tuple[Payment, ...] = ()
    if f.placement_rate is not None:
        placed_on = (end - timedelta(days=f.placed_days)).date()
        term_ends = None
        if f.term_left is not None:
            term_ends = max(end.date() + timedelta(days=f.term_left), placed_on)
        placement = Placement(
            agency_id="AG-1",
            placed_on=placed_on,
            commission_rate=f.placement_rate,
            term_ends=term_ends,
        )
        if f.paid_when_placed:
            payments = (Payment(date=placed_on, amount=Decimal("100.00")),)
    card = None
    if f.product == Product.CREDIT_CARD:  # a card's statement: its balance is the principal
        card = CardAccount(
            credit_limit=f.credit_limit,
            statement_balance=f.principal,
            minimum_payment_due=(f.principal / 10).quantize(Decimal("0.01")),
        )
    return Case(
        case_id="W-1",
        loan=loan,
        card=card,
        borrower=Party(party_id="P-1", phones=("13800000000",), addresses=("1 Main Street",)),
        delinquency=DelinquencySnapshot(
            dpd=f.dpd,
            overdue_principal=f.overdue_principal if f.dpd else Decimal(0),
            overdue_interest=f.overdue_interest if f.dpd else Decimal(0),
            penalty_interest=f.penalty_interest if f.dpd else Decimal(0),
            fees=f.fees if f.dpd else Decimal(0),
        ),
        contacts=tuple(contacts),
        promises=tuple(promises),
        payments=payments,
        placement=placement,
        lost_contact=f.lost_contact,
        dispute=f.dispute,
        do_not_contact=f.do_not_contact,
        deceased=f.deceased,
        bankrupt=f.bankrupt,
        attorney_represented=f.attorney_represented,
        complaint=f.complaint,
        litigation=f.litigation,
        rating=f.rating,
    )


class _Search:
    def __init__(self, policy: Policy, seed: int) -> None:
        self.policy = policy
        self.rng = random.Random(seed)
        self.choices = _choices(policy)
        self.order = {group: [r.id for r in rules] for group, rules in policy.ir.groups.items()}
        self.rules = {r.id: r for rules in policy.ir.groups.values() for r in rules}
        self.witnesses: dict[str, Scenario] = {}

    def evaluate(self, f: _Features) -> dict[str, Any] | None:
        try:
            case = _case(f, self.policy.ir.currency)
            scenario = Scenario(
                case, DEFAULT_AS_OF, Portfolio(f.overdue_customers), _agencies(f.agency_status)
            )
            facts = scenario.facts(self.policy)
        except (CaseError, ValueError):
            return None
        traces = self.policy.trace(facts)
        if not facts["placed"]:
            traces.pop("recall", None)  # recall rules decide only for placed cases
        elif not any(t.matched for t in traces.get("recall", ())):
            # A placed case its agency keeps: no channel or commission rule decides it.
            traces.pop("channel", None)
            traces.pop("commission", None)
        for trace in traces.values():
            winner = next((t.rule.id for t in trace if t.matched), None)
            if winner is not None and winner not in self.witnesses:
                self.witnesses[winner] = scenario
        return traces

    def score(self, traces: dict[str, Any] | None, target: str) -> int:
        rule = self.rules[target]
        group = rule.group
        if traces is None or group not in traces:
            return -1
        score = 0
        for trace in traces[group]:
            if trace.rule.id == target:
                if trace.matched:
                    return 1_000_000
                texts = [text for _, text in trace.rule.conjuncts]
                done = texts.index(trace.failed) if trace.failed in texts else 0
                return score + 1000 * done
            score += 0 if trace.matched else 1
        return score

    def mutate(self, f: _Features) -> _Features:
        changes = {}
        for _ in range(self.rng.choice((1, 1, 2, 3))):
            name = self.rng.choice(list(self.choices))
            changes[name] = self.rng.choice(self.choices[name])
        return replace(f, **changes)

    def reach(self, target: str, budget: int, restarts: int = 4) -> None:
        # Hill climbing can stall on a plateau (a threshold no score leads to); a fresh start
        # makes a miss unlikely, so that "unreached" rarely means "unlucky".
        placed = [r for r in self.choices["placement_rate"] if r is not None]
        for _ in range(restarts):
            best = _Features(product=self.rng.choice(self.choices["product"]))
            if self.rules[target].group == "recall" and placed:
                # Recall rules decide placed cases only: start placed, not on the plateau of
                # every unplaced case (where no score leads anywhere).
                best = replace(best, placement_rate=self.rng.choice(placed))
            best_score = self.score(self.evaluate(best), target)
            for _ in range(budget):
                if target in self.witnesses:
                    return
                candidate = self.mutate(best)
                value = self.score(self.evaluate(candidate), target)
                if value >= best_score:
                    best, best_score = candidate, value


@lru_cache(maxsize=16)
def solve(policy: Policy, *, budget: int = 300) -> Solution:
    """Search for a scenario that each rule of ``policy`` decides (deterministic).

    Rules the checker proved unreachable are not searched for; rules the search misses within
    four runs of ``budget`` evaluations each are returned in ``unreached``.
    """
    search = _Search(policy, seed=int(policy.digest[-8:], 16))
    wanted = [
        rule_id
        for ids in search.order.values()
        for rule_id in ids
        if rule_id not in policy.ir.unreachable
    ]
    for rule_id in wanted:
        search.reach(rule_id, budget)
    witnesses = {r: search.witnesses[r] for r in wanted if r in search.witnesses}
    return Solution(witnesses, tuple(r for r in wanted if r not in witnesses))
