"""The seed's lender policy (rules/lender.yaml): one test per statement, band edges, properties."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import NOTICE, case_dict
from dunning import (
    CaseError,
    Channel,
    Decision,
    HandledBy,
    Policy,
    Portfolio,
    load_policy,
    loads_policy,
    parse_case,
)
from dunning import assess as dunning_assess
from strategies import fact_views

ROOT = Path(__file__).resolve().parent.parent
LENDER = ROOT / "rules" / "lender.yaml"
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BOOK = Portfolio(overdue_customers=500)  # past the early phase
D = Decimal
SEVERITY = {
    Channel.NONE: 0,
    Channel.SMS: 1,
    Channel.CALL: 2,
    Channel.FIELD_VISIT: 3,
    Channel.OUTSOURCE: 4,
    Channel.LEGAL_PRESERVATION: 4,
}


@pytest.fixture(scope="module")
def lender() -> Policy:
    return load_policy(LENDER)


def case(
    dpd: int,
    *,
    product: str = "consumer_finance",
    principal: str = "3000.00",
    **changes: Any,
) -> dict[str, Any]:
    """A case whose delinquency comes from a host snapshot, so dpd and amounts are exact."""
    defaults: dict[str, Any] = {"contacts": [NOTICE], "promises": [], "rating": "B"}
    data = case_dict(
        loan__product=product,
        delinquency={
            "dpd": dpd,
            "overdue_principal": principal if dpd else "0",
            "overdue_interest": "240.00" if dpd else "0",
        },
        **(defaults | changes),
    )
    if product in ("mortgage", "vehicle_pledge"):
        kind = "property" if product == "mortgage" else "vehicle"
        data["loan"]["collateral"] = {"kind": kind, "value": "900000.00"}
    return data


def decide(policy: Policy, data: dict[str, Any], book: Portfolio = BOOK) -> Decision:
    return policy.decide(data, as_of=AS_OF, portfolio=book)


# -- §4, §5: what each product gets ----------------------------------------------------------


def test_not_overdue_means_no_action(lender: Policy) -> None:
    d = decide(lender, case(0))
    assert d.action.channel is Channel.NONE and d.rules[0] == "not-overdue"
    assert d.fee_terms.commission_rate is None and d.fee_terms.total_due == D("0")


def test_early_m1_is_an_sms_to_the_obligors_with_the_amounts(lender: Policy) -> None:
    data = case(5)
    data["related_parties"].append({"party_id": "P-0003", "role": "emergency_contact"})
    d = decide(lender, data)
    assert d.action.channel is Channel.SMS and d.action.handled_by is HandledBy.INTERNAL
    assert d.action.recipients == ("P-0001", "P-0002")  # borrower and guarantor, not the contact
    assert d.action.message is not None
    assert d.action.message.fields == {"dpd": 5, "total_due": "3240.00", "penalty_interest": "0.00"}
    assert d.action.message.text == (
        "您的借款已逾期5天，当前应还3240.00元，含罚息0.00元。请尽快还款，如有疑问请联系客服。"
    )
    assert d.action.message.language == "zh-CN" and d.action.message.segments == 1


@pytest.mark.parametrize(
    ("dpd", "channel"),
    [
        (7, Channel.SMS),
        (8, Channel.CALL),
        (30, Channel.CALL),
        (31, Channel.FIELD_VISIT),
        (90, Channel.FIELD_VISIT),
    ],
)
def test_in_house_ladder_within_m3(lender: Policy, dpd: int, channel: Channel) -> None:
    for product in ("consumer_finance", "mortgage", "vehicle_pledge"):
        d = decide(lender, case(dpd, product=product))
        assert (d.action.channel, d.action.handled_by) == (channel, HandledBy.INTERNAL)


def test_high_risk_rating_skips_the_sms(lender: Policy) -> None:
    assert decide(lender, case(3, rating="E")).action.channel is Channel.CALL
    assert decide(lender, case(3, rating="A")).action.channel is Channel.SMS


def test_an_open_promise_gets_a_reminder_not_a_call(lender: Policy) -> None:
    promise = {"made_at": "2026-11-20T10:00:00+08:00", "amount": "500.00", "due_date": "2026-12-02"}
    d = decide(lender, case(20, promises=[promise]))
    assert d.action.channel is Channel.SMS and d.action.recipients == ("P-0001",)


def test_broken_promises_bring_the_field_visit_forward(lender: Policy) -> None:
    broken = [
        {
            "made_at": f"2026-11-{day}T10:00:00+08:00",
            "amount": "500.00",
            "due_date": f"2026-11-{day + 2}",
        }
        for day in (10, 20)
    ]
    assert decide(lender, case(20, promises=broken)).action.channel is Channel.FIELD_VISIT
    assert decide(lender, case(20, promises=broken[:1])).action.channel is Channel.CALL


def test_calls_that_never_connect_bring_the_field_visit_forward(lender: Policy) -> None:
    calls = [
        {
            "at": f"2026-11-{day}T10:00:00+08:00",
            "channel": "call",
            "party_id": "P-0001",
            "outcome": "no_answer",
        }
        for day in range(22, 28)
    ]
    assert decide(lender, case(20, contacts=calls)).action.channel is Channel.FIELD_VISIT
    assert decide(lender, case(5, contacts=calls)).action.channel is Channel.SMS
    answered = [*calls[:-1], calls[-1] | {"outcome": "connected"}]
    assert decide(lender, case(20, contacts=answered)).action.channel is Channel.CALL


# -- §2, §3: agencies for consumer finance beyond M3 -----------------------------------------


@pytest.mark.parametrize(
    ("dpd", "rate"),
    [(91, "0.14"), (120, "0.14"), (121, "0.20"), (180, "0.20"), (181, "0.25"), (900, "0.25")],
)
def test_consumer_finance_beyond_m3_is_outsourced_at_the_stage_rate(
    lender: Policy, dpd: int, rate: str
) -> None:
    d = decide(lender, case(dpd))
    assert (d.action.channel, d.action.handled_by) == (Channel.OUTSOURCE, HandledBy.AGENCY)
    assert d.fee_terms.commission_rate == D(rate)
    assert d.rules[0] == "cf-outsource-beyond-m3"


@pytest.mark.parametrize("dpd", [1, 45, 90])
def test_lost_contact_within_m3_is_outsourced_early_at_7_percent(lender: Policy, dpd: int) -> None:
    d = decide(lender, case(dpd, lost_contact=True))
    assert d.action.channel is Channel.OUTSOURCE and d.fee_terms.commission_rate == D("0.07")


def test_a_large_amount_within_m3_is_outsourced_early(lender: Policy) -> None:
    d = decide(lender, case(40, principal="49760.00"))  # total due 50,000.00
    assert d.action.channel is Channel.OUTSOURCE and d.rules[0] == "cf-outsource-large-amount"
    assert decide(lender, case(40, principal="49759.99")).action.channel is Channel.FIELD_VISIT


def test_no_outsourcing_in_the_early_phase(lender: Policy) -> None:
    for count in (0, 49):
        book = Portfolio(count)
        assert decide(lender, case(150), book).action.channel is Channel.FIELD_VISIT
        assert (
            decide(lender, case(40, lost_contact=True), book).action.channel is Channel.FIELD_VISIT
        )
        assert decide(lender, case(150), book).fee_terms.commission_rate is None
    assert decide(lender, case(150), Portfolio(50)).action.channel is Channel.OUTSOURCE


def test_the_threshold_is_a_parameter(lender: Policy) -> None:
    small = load_policy(LENDER, params={"outsourcing_min_overdue_customers": "5"})
    assert decide(small, case(150), Portfolio(5)).action.channel is Channel.OUTSOURCE
    assert small.digest != lender.digest


def test_a_placed_case_keeps_its_placement_rate(lender: Policy) -> None:
    placement = {"agency_id": "AG-01", "placed_on": "2026-11-01", "commission_rate": "0.14"}
    d = decide(lender, case(200, placement=placement))
    assert d.fee_terms.commission_rate == D("0.14") and d.rules[0] == "(placed)"
    assert (d.action.channel, d.action.handled_by, d.action.agency_id) == (
        "outsource",
        "agency",
        "AG-01",
    )
    assert d.recall is None


# -- §5, §6: secured loans go to legal preservation, never to an agency ----------------------


@pytest.mark.parametrize("product", ["mortgage", "vehicle_pledge"])
def test_secured_beyond_m3_is_legal_preservation_with_approval(
    lender: Policy, product: str
) -> None:
    for dpd in (91, 400):
        d = decide(lender, case(dpd, product=product, lost_contact=True, principal="900000.00"))
        assert d.action.channel is Channel.LEGAL_PRESERVATION
        assert d.action.handled_by is HandledBy.INTERNAL
        assert d.action.requires_approval == "supervisor"
        assert d.fee_terms.commission_rate is None


def test_secured_within_m3_is_never_outsourced(lender: Policy) -> None:
    d = decide(lender, case(60, product="mortgage", lost_contact=True, principal="900000.00"))
    assert d.action.channel is Channel.FIELD_VISIT


def test_an_uncovered_product_is_a_case_error(lender: Policy) -> None:
    with pytest.raises(CaseError) as info:
        decide(lender, case(40, product="credit_card"))
    assert info.value.problems[0].code == "product_not_covered"
    assert info.value.problems[0].path == "loan.product"


# -- fees ---------------------------------------------------------------------------------------


def test_penalty_interest_and_total_due(lender: Policy) -> None:
    # The worked example of docs/compliance.md §9: a 1.5 × 18 % penalty is cut only by its part
    # above the 24 % cap, each overdue instalment measured on its own.
    paid = [{"date": f"2026-0{m}-15", "amount": "1100.16"} for m in (2, 3, 4)]
    data = case_dict(payments=paid, contacts=[], promises=[])
    d = lender.decide(data, as_of=date(2026, 6, 20), portfolio=BOOK)
    # Penalty: 962.19 × 0.18 × 1.5 / 360 × 36 days = 25.98, 976.62 × … × 5 days = 3.66: 29.64.
    # The cap: (962.19 × 36 + 976.62 × 5) × 0.24 / 360 = 26.3486… → 26.34 (rounded down).
    assert d.fee_terms.penalty_interest == D("26.34")
    (cut,) = [g for g in d.guards if g.id == "charges_cap"]
    assert (cut.effect, cut.amount) == ("cut", D("3.30"))
    assert "962.19 for 36 days, 976.62 for 5 days" in cut.reason
    assert d.fee_terms.collection_fee == D("0.00")
    assert d.fee_terms.total_due == D("2200.32") + D("26.34")
    assert d.dpd == 36 and d.action.channel is Channel.FIELD_VISIT


def test_collection_fee_parameter_applies_from_m2_where_the_guard_allows_it() -> None:
    charging = load_policy(LENDER, params={"collection_fee": "30.00"})
    # Under cn the collection_fees guard cuts it, and loading says so at the rule's line.
    (warning,) = [w for w in charging.warnings if w.code == "collection-fee-cut"]
    assert warning.rule_id == "collection-fee"
    d = decide(charging, case(31))
    assert d.fee_terms.collection_fee == D("0.00")
    assert [(g.id, g.effect, g.amount) for g in d.guards if g.id == "collection_fees"] == [
        ("collection_fees", "cut", D("30.00"))
    ]
    text = LENDER.read_text(encoding="utf-8").replace(
        "  profile: cn\n", "  profile: cn\n  collection_fees: off\n"
    )
    allowed = loads_policy(text, name=str(LENDER), params={"collection_fee": "30.00"})
    assert decide(allowed, case(31)).fee_terms.collection_fee == D("30.00")
    assert decide(allowed, case(31)).fee_terms.total_due == D("3270.00")
    assert decide(allowed, case(30)).fee_terms.collection_fee == D("0.00")


# -- properties ---------------------------------------------------------------------------------

COVERED = ["mortgage", "vehicle_pledge", "consumer_finance"]


@given(fact_views(products=COVERED), st.integers(0, 2000), st.integers(0, 2000))
def test_more_dpd_never_gives_a_less_severe_channel(
    lender: Policy, facts: dict[str, Any], a: int, b: int
) -> None:
    low, high = sorted((a, b))
    channels = []
    for dpd in (low, high):
        view = facts | {"dpd": dpd}
        channels.append(lender.evaluate(view).channel.outcome.channel)  # type: ignore[union-attr]
    assert SEVERITY[channels[0]] <= SEVERITY[channels[1]]


@given(fact_views(products=["mortgage", "vehicle_pledge"]))
def test_secured_loans_are_never_outsourced(lender: Policy, facts: dict[str, Any]) -> None:
    outcome = lender.evaluate(facts)
    assert outcome.channel.outcome.channel is not Channel.OUTSOURCE  # type: ignore[union-attr]


@given(fact_views(products=COVERED))
def test_every_group_decides_exactly_once(lender: Policy, facts: dict[str, Any]) -> None:
    outcome = lender.evaluate(facts)
    assert outcome.channel.group == "channel" and outcome.fees.group == "fees"
    assert outcome.commission.group == "commission"


def test_rules_read_what_the_customer_can_lawfully_be_asked_for(tmp_path: Path) -> None:
    # The README's case: its penalty is 29.64 at 1.5 × 18 %, of which the 24 % cap allows 26.34.
    # A threshold between the two totals is not crossed on penalty the cap removes.
    text = LENDER.read_text(encoding="utf-8").replace(
        "    - id: not-overdue\n",
        "    - id: threshold\n"
        "      when: total_due >= 2228.00\n"
        "      then: {channel: outsource, handled_by: agency}\n"
        "    - id: not-overdue\n",
    )
    policy = loads_policy(text, name="threshold.yaml")
    paid = [{"date": f"2026-0{m}-15", "amount": "1100.16"} for m in (2, 3, 4)]
    data = case_dict(payments=paid, contacts=[], promises=[])
    lawful = policy.assess(parse_case(data), date(2026, 6, 20))
    assert (lawful.penalty_interest, lawful.total_due) == (D("26.34"), D("2226.66"))
    assert lawful.penalty_multiplier == D("1.5")
    d = policy.decide(data, as_of=date(2026, 6, 20), portfolio=BOOK)
    assert d.rules[0] != "threshold" and d.fee_terms.total_due == lawful.total_due
    bare = dunning_assess(parse_case(data), date(2026, 6, 20))
    assert bare.penalty_multiplier is None and bare.total_due == D("2200.32")  # says it left out
