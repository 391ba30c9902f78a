"""Placement properties over generated portfolios, agencies and placement histories.

Each example builds agencies, a batch of cases and a history (the events of a run ten days
earlier, with notices naming the proposed agencies recorded at random), then places the batch
again and checks what must always hold: capacity, eligibility, order independence, one agency
per debt, no placement before its notice's lead time, no internal channel for a placed case,
a reason on every recall, and both engines giving the same events.
"""

from __future__ import annotations

import copy
import random
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SLOW, case_dict
from dunning import (
    Agencies,
    Agency,
    CaseError,
    PlacementEvent,
    PlacementResult,
    Placer,
    Policy,
    Portfolio,
    load_policy,
    loads_policy,
)
from dunning.placement.history import replay

ROOT = Path(__file__).resolve().parent.parent
LENDER = ROOT / "rules" / "lender.yaml"
ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=ZONE)
TODAY = AS_OF.date()
EARLIER = AS_OF - timedelta(days=10)
BOOK = Portfolio(500)
REGIONS = ("CN-11", "CN-31")
LEAD = 7  # the lender policy's notice_lead_days


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    found = {"compiled": load_policy(LENDER)}
    if sys.version_info < (3, 13):
        found["rete"] = load_policy(LENDER, engine="rete")
    return found


@st.composite
def agencies(draw: st.DrawFn) -> Agencies:
    found = []
    for n in range(draw(st.integers(1, 5))):
        start = TODAY + timedelta(days=draw(st.sampled_from([-400, -30, 5])))
        end = draw(st.sampled_from([None, TODAY - timedelta(days=1), TODAY + timedelta(days=90)]))
        bands = draw(
            st.sampled_from(
                [
                    [],
                    [{"min_dpd": 1, "rate": "0.12"}],
                    [{"min_dpd": 1, "max_dpd": 150, "rate": "0.1"}],
                ]
            )
        )
        found.append(
            Agency.model_validate(
                {
                    "agency_id": f"AG-{n}",
                    "name": f"Agency {n}",
                    "phone": "4008001234",
                    "products": draw(st.sampled_from([[], ["consumer_finance"], ["mortgage"]])),
                    "regions": draw(st.sampled_from([[], ["CN-31"], list(REGIONS)])),
                    "capacity": draw(st.one_of(st.none(), st.integers(0, 12))),
                    "contract_start": start.isoformat(),
                    "contract_end": None if end is None else max(end, start).isoformat(),
                    "status": draw(st.sampled_from(["active", "active", "suspended"])),
                    "term_days": draw(st.one_of(st.none(), st.integers(1, 30))),
                    "review_on": draw(
                        st.sampled_from([None, (TODAY - timedelta(days=2)).isoformat()])
                    ),
                    "commission": bands,
                }
            )
        )
    return Agencies(tuple(found))


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    cases = []
    for n in range(draw(st.integers(1, 30))):
        dpd = draw(st.sampled_from([0, 20, 95, 130, 200, 400]))
        case = case_dict(
            case_id=f"C-{n:03d}",
            delinquency={
                "dpd": dpd,
                "overdue_principal": "1000.00" if dpd else "0",
                "overdue_interest": "0",
            },
            borrower__region=draw(st.sampled_from([None, *REGIONS])),
            dispute=draw(st.booleans()) and draw(st.booleans()),
            lost_contact=draw(st.booleans()),
        )
        # Borrowers from a small pool: some have two or three debts in the batch.
        owned_by(case, f"P-{draw(st.integers(0, 19)):02d}")
        if draw(st.booleans()) and draw(st.booleans()):
            case["loan"]["product"] = "mortgage"
            case["loan"]["collateral"] = {"kind": "property", "value": "500000.00"}
        if draw(st.booleans()) and draw(st.booleans()):  # placed before the events began
            case["placement"] = {
                "agency_id": f"AG-{draw(st.integers(0, 5))}",
                "placed_on": (TODAY - timedelta(days=draw(st.integers(1, 90)))).isoformat(),
                "commission_rate": "0.14",
            }
        cases.append(case)
    return cases


def owned_by(case: dict[str, Any], party_id: str) -> dict[str, Any]:
    """The case made ``party_id``'s: its borrower and the contacts with the borrower."""
    for contact in case["contacts"]:
        if contact["party_id"] == case["borrower"]["party_id"]:
            contact["party_id"] = party_id
    case["borrower"]["party_id"] = party_id
    return case


def with_notices(cases: list[dict[str, Any]], first: list[Any], rng: random.Random) -> None:
    """Record, for some proposals of the first run, the notice naming the agency."""
    for result in first:
        if not isinstance(result, PlacementResult):
            continue
        for event in result.events:
            if event.type != "placement.proposed" or rng.random() < 0.3:
                continue
            day = EARLIER + timedelta(days=rng.choice([0, 1, 3, 4]))
            case = next(c for c in cases if c["case_id"] == event.case_id)
            case["contacts"] = [
                *case["contacts"],
                {
                    "at": day.isoformat(),
                    "channel": "sms",
                    "party_id": case["borrower"]["party_id"],
                    "outcome": "delivered",
                    "purpose": "outsourcing_notice",
                    "agency_id": event.payload.agency_id,
                },
            ]


def events_of(results: list[Any]) -> list[PlacementEvent]:
    return [e for r in results if isinstance(r, PlacementResult) for e in r.events]


@settings(
    max_examples=400 if SLOW else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(agencies(), batches(), st.randoms(use_true_random=False))
def test_placements_keep_every_invariant(
    policies: dict[str, Policy], found: Agencies, cases: list[dict[str, Any]], rng: random.Random
) -> None:
    policy = policies["compiled"]
    placer = Placer(policy, found)
    first = placer.place(cases, as_of=EARLIER, portfolio=BOOK)
    history = [e.model_dump(mode="json") for e in first.events]
    with_notices(cases, first.results, rng)
    run = placer.place(cases, as_of=AS_OF, events=history, portfolio=BOOK)
    assert run.event_errors == []
    by_id = {a.agency_id: a for a in found}
    new = run.events

    # One agency per debt: the whole history folds without a bad transition.
    folded = replay([*history, *(e.model_dump(mode="json") for e in new)], until=AS_OF)
    assert folded.errors == []
    # Capacity is never exceeded, counting what this run made.
    load = Counter(entry.agency_id for entry in folded.open.values())
    recorded = {  # placements the cases brought with them: not dunning's to limit
        e.payload.placement_id
        for e in [*first.events, *new]
        if e.payload.reason == "recorded_from_case"
    }
    migrated = Counter(
        entry.agency_id for entry in folded.open.values() if entry.placement_id in recorded
    )
    for agency_id, used in load.items():
        capacity = by_id[agency_id].capacity if agency_id in by_id else None
        if capacity is not None:
            assert used <= max(capacity, migrated[agency_id]), (agency_id, used, capacity)
    # All of a borrower's debts with one agency (those placed by the lender before the
    # events began aside: recorded as they stand).
    borrower_of = {c["case_id"]: c["borrower"]["party_id"] for c in cases}
    holding: dict[str, set[str]] = {}
    for case_id, entry in folded.open.items():
        if entry.placement_id not in recorded:
            holding.setdefault(borrower_of[case_id], set()).add(entry.agency_id)
    assert all(len(held) == 1 for held in holding.values()), holding
    for event in new:
        payload = event.payload
        case = next(c for c in cases if c["case_id"] == event.case_id)
        if event.type == "placement.proposed":
            agency = by_id[payload.agency_id]  # type: ignore[index]
            # Eligibility: product, region, contract, status, review.
            assert agency.serves(case["loan"]["product"])
            assert agency.serves_region(case["borrower"].get("region"))
            assert agency.status_on(TODAY) == "active"
            assert agency.review_on is None or agency.review_on >= TODAY
        if event.type == "placement.placed" and payload.reason != "recorded_from_case":
            # No placement before the notice naming its agency has been on record for the lead.
            proposed = date.fromisoformat(payload.placement_id.rsplit("/", 1)[1])  # type: ignore[union-attr]
            noticed = [
                datetime.fromisoformat(c["at"]).astimezone(ZONE).date()
                for c in case["contacts"]
                if c.get("agency_id") == payload.agency_id
            ]
            assert any(proposed <= d <= TODAY - timedelta(days=LEAD) for d in noticed)
        if event.type == "placement.recalled":
            assert payload.reason and payload.rule and payload.rule.startswith("recall-")
    for result in run.results:
        if not isinstance(result, PlacementResult):
            continue
        action = result.decision.action
        still = folded.open.get(result.case_id)
        if still is not None and still.state.value == "placed":
            # A placed case is its agency's: never an internal contact channel.
            assert (action.channel.value, action.handled_by.value, action.agency_id) in {
                ("outsource", "agency", still.agency_id),
                ("none", "internal", None),  # a guard stopped all collection (dispute …)
            }, (result.case_id, action)
    # The same cases in another order: the same placements.
    shuffled = cases[:]
    rng.shuffle(shuffled)
    again = placer.place(shuffled, as_of=AS_OF, events=history, portfolio=BOOK)
    assert sorted(e.model_dump_json() for e in again.events) == sorted(
        e.model_dump_json() for e in new
    )
    # Both engines place alike.
    if "rete" in policies:
        rete = Placer(policies["rete"], found).place(
            cases, as_of=AS_OF, events=history, portfolio=BOOK
        )
        strip = {"payload": {"policy"}}
        assert [e.model_dump(exclude=strip) for e in rete.events] == [
            e.model_dump(exclude=strip) for e in new
        ]


def _shares_policy(weights: list[int]) -> Policy:
    shares = ", ".join(f"AG-{n}: {w}" for n, w in enumerate(weights))
    text = LENDER.read_text(encoding="utf-8").replace(
        "  strategy: capacity ", f"  shares: {{{shares}}}\n  salt: s\n  strategy: shares   "
    )
    return loads_policy(text)


@settings(max_examples=6 if SLOW else 1, deadline=None)
@given(st.lists(st.integers(1, 99), min_size=2, max_size=4))
def test_fixed_shares_hold_within_one_case_in_a_hundred_over_thousands(
    weights: list[int],
) -> None:
    found = Agencies(
        tuple(
            Agency(
                agency_id=f"AG-{n}", name="A", phone="4008001234", contract_start=date(2025, 1, 1)
            )
            for n in range(len(weights))
        )
    )
    placer = Placer(_shares_policy(weights), found)
    total = 10_000 if SLOW else 2_000  # ten thousand in make test-slow (9 s an example)
    snapshot = {"dpd": 100, "overdue_principal": "1000.00", "overdue_interest": "0"}
    base = case_dict(delinquency=snapshot)
    cases = (
        owned_by(copy.deepcopy(base) | {"case_id": f"C-{n:05d}"}, f"P-{n:05d}")
        for n in range(total)
    )
    run = placer.place(cases, as_of=AS_OF, portfolio=BOOK)
    got = Counter(e.payload.agency_id for e in run.events if e.type == "placement.proposed")
    assert sum(got.values()) == total
    for n, weight in enumerate(weights):
        expected = D(total) * weight / sum(weights)
        assert abs(got[f"AG-{n}"] - expected) <= total / 100  # the bound
        assert abs(got[f"AG-{n}"] - expected) <= 1  # what the round robin gives
    assert not any(isinstance(r, CaseError) for r in run.results)
