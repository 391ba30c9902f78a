"""Credit cards are not loans: no penalty interest, a contractual 违约金, their own wording.

PBOC 银发〔2016〕111号 replaced a card's late charges with a 违约金 the card contract sets and the
bank books; a card carries no penalty interest and no interest on the 违约金 or fees. The SMS a
card holder reads speaks of a 信用卡 and its 违约金, and the charges cap does not judge that
one-off charge per day overdue (docs/compliance.md, guard 9).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conftest import card_case, case_dict
from dunning import Policy, Portfolio, load_policy
from dunning.cases import parse_case
from dunning.delinquency import Assessor
from policy_helpers import diagnostics, policy_text

ROOT = Path(__file__).resolve().parent.parent
CARD_POLICY = ROOT / "rules" / "bank_credit_card.yaml"
AS_OF = datetime(2026, 11, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
D = Decimal


@pytest.fixture(scope="module")
def cards() -> Policy:
    return load_policy(CARD_POLICY)


def with_fee(dpd: int, fee: str = "50.00", **delinquency: str) -> dict[str, Any]:
    """A bank's card five days late: 1,000.00 of the minimum unpaid and a 5 % 违约金 booked."""
    data = card_case("SH-9001", dpd=dpd)
    data["delinquency"] |= {"fees": fee, **delinquency}
    return data


def test_a_card_reminder_speaks_of_the_card_and_its_weiyuejin(cards: Policy) -> None:
    decision = cards.decide(with_fee(5), as_of=AS_OF)
    message = decision.action.message
    assert message is not None and message.template == "overdue_notice"
    assert message.text == (
        "您的信用卡已逾期5天，当前应还1070.00元，含违约金及费用50.00元。"
        "请尽快还款，如有疑问请联系客服。"
    )
    assert "借款" not in message.text and "罚息" not in message.text
    assert decision.fee_terms.penalty_interest == D("0.00")


def test_an_english_speaking_card_holder_reads_the_card_wording(cards: Policy) -> None:
    data = with_fee(5)
    data["borrower"]["language"] = "en"
    message = cards.decide(data, as_of=AS_OF).action.message
    assert message is not None and message.text.startswith("Your credit card payment is 5 days")
    assert "including 50.00 in late fees and charges" in message.text


def test_a_loan_keeps_the_loan_wording() -> None:
    lender = load_policy(ROOT / "rules" / "lender.yaml")
    snapshot = {"dpd": 5, "overdue_principal": "1000.00", "overdue_interest": "20.00"}
    data = case_dict(delinquency=snapshot, contacts=[])
    book = Portfolio(overdue_customers=500)
    message = lender.decide(data, as_of=AS_OF, portfolio=book).action.message
    assert message is not None and message.text.startswith("您的借款已逾期5天")


def test_a_card_without_the_banks_figures_accrues_no_penalty_interest() -> None:
    """The same schedule as a consumer loan: the loan accrues 1.5 × its rate, the card none."""
    assessor = Assessor(penalty_multiplier=D("1.5"))
    loan = case_dict()
    card = copy.deepcopy(loan)
    card["loan"]["product"] = "credit_card"
    as_of = datetime(2026, 4, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    on_loan = assessor.assess(parse_case(loan), as_of)
    on_card = assessor.assess(parse_case(card), as_of)
    assert on_loan.penalty_interest > 0 and on_loan.penalty_multiplier == D("1.5")
    assert on_card.penalty_interest == 0 and on_card.penalty_multiplier is None
    # Everything else is the same: the contract interest of the instalments, not on any charge.
    assert on_card.overdue_principal == on_loan.overdue_principal
    assert on_card.overdue_interest == on_loan.overdue_interest
    assert on_card.total_due == on_card.overdue_principal + on_card.overdue_interest


def test_a_card_snapshot_owes_what_the_bank_booked_and_nothing_on_it(cards: Policy) -> None:
    """No interest on the 违约金 or fees: the total is the bank's figures, whatever the day."""
    for day in (5, 60, 400):
        terms = cards.decide(with_fee(day), as_of=AS_OF).fee_terms
        assert terms.other_fees == D("50.00") and terms.penalty_interest == D("0.00")
        assert terms.total_due == D("1070.00")


def test_the_charges_cap_does_not_judge_a_cards_weiyuejin_per_day(cards: Policy) -> None:
    """50.00 on 1,000.00 five days late is far above 24 % a year for five days (3.33): not a
    breach — a court weighs the card's charges with the whole claim when it is brought."""
    decision = cards.decide(with_fee(5), as_of=AS_OF)
    assert [g.id for g in decision.guards if g.id == "charges_cap"] == []
    assert decision.fee_terms.other_fees == D("50.00")


def test_a_policy_may_have_a_cards_charges_measured_like_a_loans(tmp_path: Path) -> None:
    text = CARD_POLICY.read_text(encoding="utf-8").replace(
        'rate: "0.24"', 'rate: "0.24"\n    card_charges: measured'
    )
    (tmp_path / "cards.yaml").write_text(text, encoding="utf-8")
    decision = load_policy(tmp_path / "cards.yaml").decide(with_fee(5), as_of=AS_OF)
    (flag,) = [g for g in decision.guards if g.id == "charges_cap"]
    assert flag.effect == "flag" and flag.amount == D("46.67")  # 50.00 − 1000 × 0.24 × 5 / 360
    assert decision.fee_terms.other_fees == D("50.00")  # flagged, never rewritten


def test_what_a_policy_adds_to_a_card_is_still_cut_to_the_cap(tmp_path: Path) -> None:
    """A collection fee on top of the bank's 违约金 is cut to what the room leaves."""
    text = CARD_POLICY.read_text(encoding="utf-8")
    text = text.replace("profile: cn", "profile: cn\n  collection_fees: off")
    text = text.replace("then: {collection_fee: 0}", 'then: {collection_fee: "30.00"}')
    (tmp_path / "cards.yaml").write_text(text, encoding="utf-8")
    policy = load_policy(tmp_path / "cards.yaml")
    # 120 days: 1,000.00 × 24 % × 120 / 360 = 80.00 of room; the bank's 50.00 leaves 30.00.
    kept = policy.decide(with_fee(120), as_of=AS_OF)
    assert kept.fee_terms.collection_fee == D("30.00")
    # 60 days: 40.00 of room, 50.00 booked: the fee is cut to nothing, the 违约金 stands.
    cut = policy.decide(with_fee(60), as_of=AS_OF)
    assert cut.fee_terms.collection_fee == D("0.00") and cut.fee_terms.other_fees == D("50.00")
    assert [(g.id, g.effect) for g in cut.guards if g.id == "charges_cap"] == [
        ("charges_cap", "cut")
    ]


def test_the_card_wording_is_checked_only_where_cards_are_decided(tmp_path: Path) -> None:
    """A long signature makes the shipped card notice too long: said for a card policy only."""
    section = "messages:\n  sms_signature: 【示例银行信用卡中心】\n"
    loans = diagnostics(tmp_path, policy_text() + section)
    with_cards = diagnostics(
        tmp_path,
        policy_text().replace(
            "products: [consumer_finance]", "products: [consumer_finance, credit_card]"
        )
        + section,
    )
    assert not any(" card text of " in d.message for d in loans)
    assert any("the en card text of 'outsourcing_notice'" in d.message for d in with_cards)


def test_the_banks_sheet_books_the_weiyuejin_as_fees() -> None:
    """The shipped layout of SH-BANK's sheet reads 违约金 into the case's fees."""
    cases = [
        json.loads(line)
        for line in (ROOT / "examples" / "agency" / "cases.jsonl").read_text().splitlines()
    ]
    assert cases and all(c["delinquency"]["penalty_interest"] == "0" for c in cases)
    assert all(D(c["delinquency"]["fees"]) > 0 for c in cases)
