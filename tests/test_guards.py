"""The compliance guards one by one: what each does to a decision, and what it records."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conftest import NOTICE, case_dict, us_card_case
from dunning import (
    Action,
    Channel,
    Decision,
    HandledBy,
    Message,
    Policy,
    PolicyError,
    Portfolio,
    load_policy,
    loads_policy,
    parse_case,
)
from dunning.lpr import LPR_1Y, LprTable
from policy_helpers import diagnostics, load, policy_text

ROOT = Path(__file__).resolve().parent.parent
LENDER = ROOT / "rules" / "lender.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
BOOK = Portfolio(overdue_customers=500)
D = Decimal


@pytest.fixture(scope="module")
def lender() -> Policy:
    return load_policy(LENDER)


def snapshot_case(dpd: int = 20, **changes: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {"contacts": [NOTICE], "promises": []}
    return case_dict(
        delinquency={"dpd": dpd, "overdue_principal": "1000.00", "overdue_interest": "50.00"},
        **(defaults | changes),
    )


def call(at: datetime, outcome: str, party: str = "P-0001", number: str | None = None) -> dict:
    contact = {"at": at.isoformat(), "channel": "call", "party_id": party, "outcome": outcome}
    if number:
        contact["number"] = number
    return contact


def propose(
    policy: Policy,
    data: dict[str, Any],
    channel: Channel,
    *,
    recipients: tuple[str, ...] = (),
    as_of: datetime = AS_OF,
    message: Message | None = None,
    **fees: Any,
) -> Decision:
    """Decide ``data``, replace the action with a proposal, and run the guards on it."""
    case = parse_case(data)
    decided = policy.decide(case, as_of=as_of, portfolio=BOOK)
    # The proposal's own fee terms, before any guard: nothing held back, nothing cut.
    terms = decided.fee_terms
    parts = {k: D(v) for k, v in fees.items()} | {"on_hold": D(0)}
    if parts:
        base = terms.model_dump() | parts
        total = sum(
            base[k]
            for k in (
                "overdue_principal",
                "overdue_interest",
                "penalty_interest",
                "other_fees",
                "collection_fee",
            )
        )
        terms = terms.model_copy(update=parts | {"total_due": total})
    proposal = decided.model_copy(
        update={
            "action": Action(
                channel=channel,
                handled_by=HandledBy.AGENCY if channel is Channel.OUTSOURCE else HandledBy.INTERNAL,
                recipients=recipients,
                message=message,
            ),
            "fee_terms": terms,
            "guards": (),
        }
    )
    return policy.apply_guards(case, proposal)


def effects(decision: Decision) -> list[tuple[str, str]]:
    return [(g.id, g.effect.value) for g in decision.guards]


# --- 1. contact window -------------------------------------------------------------------------


def test_inside_the_window_nothing_moves(lender: Policy) -> None:
    d = propose(lender, snapshot_case(), Channel.CALL)
    assert d.action.not_before is None and ("contact_window", "defer") not in effects(d)


@pytest.mark.parametrize(
    ("hour", "expected"),
    [
        (22, datetime(2026, 11, 29, 8, 0, tzinfo=SHANGHAI)),  # the end is excluded
        (23, datetime(2026, 11, 29, 8, 0, tzinfo=SHANGHAI)),
        (7, datetime(2026, 11, 28, 8, 0, tzinfo=SHANGHAI)),
    ],
)
def test_outside_the_window_the_action_waits_for_the_next_opening(
    lender: Policy, hour: int, expected: datetime
) -> None:
    as_of = AS_OF.replace(hour=hour)
    d = propose(lender, snapshot_case(), Channel.SMS, as_of=as_of)
    assert d.action.not_before == expected
    (record,) = [g for g in d.guards if g.id == "contact_window"]
    assert record.effect == "defer" and "outside the contact window 08:00-22:00" in record.reason


def test_the_window_is_the_partys_own_local_time(lender: Policy) -> None:
    # 09:00 in Shanghai is 07:00 in Urumqi: the call waits until 08:00 there (10:00 Shanghai).
    data = snapshot_case(borrower__timezone="Asia/Urumqi")
    d = propose(lender, data, Channel.CALL, as_of=AS_OF.replace(hour=9))
    assert d.action.not_before == datetime(2026, 11, 28, 8, 0, tzinfo=ZoneInfo("Asia/Urumqi"))


def test_every_recipient_must_be_inside_their_window(lender: Policy) -> None:
    data = snapshot_case()
    data["related_parties"][0]["timezone"] = "America/New_York"
    # 10:00 in Shanghai is 21:00 in New York: 08:00-22:00 both holds only from 08:00 NY time,
    # which is 21:00 in Shanghai, still inside Shanghai's window.
    d = propose(lender, data, Channel.SMS, recipients=("P-0001", "P-0002"), as_of=AS_OF)
    assert d.action.not_before is None
    late = AS_OF.replace(hour=12)  # 23:00 in New York
    d = propose(lender, data, Channel.SMS, recipients=("P-0001", "P-0002"), as_of=late)
    assert d.action.not_before == datetime(2026, 11, 28, 8, 0, tzinfo=NEW_YORK)


def test_the_window_skips_quiet_days_and_holidays(tmp_path: Path) -> None:
    text = LENDER.read_text(encoding="utf-8").replace(
        "guards:\n  profile: cn\n",
        # Dates may be written unquoted: YAML's timestamps are read as text.
        "guards:\n  profile: cn\n  contact_window: {calendar: CN, quiet_dates: [2026-10-04]}\n",
    )
    policy = load(tmp_path, text)
    as_of = datetime(2026, 9, 30, 23, 0, tzinfo=SHANGHAI)
    d = propose(policy, snapshot_case(), Channel.SMS, as_of=as_of)
    # 1-3 and 5-7 October are public holidays in the CN calendar, the 4th a listed quiet day.
    assert d.action.not_before == datetime(2026, 10, 8, 8, 0, tzinfo=SHANGHAI)


def test_legal_and_agency_actions_have_no_contact_window(lender: Policy) -> None:
    d = propose(lender, snapshot_case(dpd=120), Channel.OUTSOURCE, as_of=AS_OF.replace(hour=23))
    assert d.action.channel == "outsource" and d.action.not_before is None


# --- 2-4. call caps ----------------------------------------------------------------------------


def test_three_conversations_a_day_then_tomorrow(lender: Policy) -> None:
    talks = [call(AS_OF - timedelta(hours=h), "connected") for h in (1, 2)]
    d = propose(lender, snapshot_case(contacts=[NOTICE, *talks]), Channel.CALL)
    assert d.action.not_before is None
    talks.append(call(AS_OF - timedelta(hours=1, minutes=30), "promised"))
    d = propose(lender, snapshot_case(contacts=[NOTICE, *talks]), Channel.CALL)
    assert d.action.not_before == datetime(2026, 11, 29, 8, 0, tzinfo=SHANGHAI)
    assert ("connected_calls", "defer") in effects(d)
    # An SMS is not a call.
    assert propose(lender, snapshot_case(contacts=[NOTICE, *talks]), Channel.SMS).guards == ()


def test_six_unanswered_dials_per_number(lender: Policy) -> None:
    data = snapshot_case()
    data["borrower"]["phones"] = ["13800000000", "13800000009"]
    dials = [
        call(AS_OF - timedelta(minutes=5 * i), "no_answer", number="13800000000") for i in range(6)
    ]
    d = propose(
        lender, snapshot_case(contacts=[NOTICE, *dials], borrower=data["borrower"]), Channel.CALL
    )
    assert d.action.not_before is None  # the other number may still be dialled
    more = [call(AS_OF - timedelta(minutes=3 * i), "busy", number="13800000009") for i in range(6)]
    data = snapshot_case(contacts=[NOTICE, *dials, *more], borrower=data["borrower"])
    d = propose(lender, data, Channel.CALL)
    assert d.action.not_before == datetime(2026, 11, 29, 8, 0, tzinfo=SHANGHAI)
    assert ("unanswered_dials", "defer") in effects(d)


def test_a_dial_without_its_number_counts_against_every_number(lender: Policy) -> None:
    dials = [call(AS_OF - timedelta(minutes=5 * i), "no_answer") for i in range(6)]
    d = propose(lender, snapshot_case(contacts=[NOTICE, *dials]), Channel.CALL)
    assert ("unanswered_dials", "defer") in effects(d)


def test_unanswered_dials_can_fall_back_to_sms(tmp_path: Path) -> None:
    text = LENDER.read_text(encoding="utf-8").replace(
        "guards:\n  profile: cn\n", "guards:\n  profile: cn\n  unanswered_dials: {then: sms}\n"
    )
    policy = load(tmp_path, text)
    dials = [call(AS_OF - timedelta(minutes=5 * i), "no_answer") for i in range(6)]
    d = propose(policy, snapshot_case(contacts=[NOTICE, *dials]), Channel.CALL)
    assert d.action.channel == "sms" and d.action.not_before is None
    assert ("unanswered_dials", "replace") in effects(d)


@pytest.fixture(scope="module")
def us() -> Policy:
    return load_policy(ROOT / "rules" / "us_cards.yaml")


def us_case(contacts: list[dict[str, Any]], dpd: int = 40) -> dict[str, Any]:
    data = snapshot_case(dpd=dpd, contacts=contacts)
    data["loan"] |= {"product": "credit_card", "currency": "USD"}
    data["borrower"]["timezone"] = "America/New_York"
    return data


US_AS_OF = datetime(2026, 11, 20, 10, 0, tzinfo=NEW_YORK)


def test_us_seven_calls_in_seven_days(us: Policy) -> None:
    calls = [call(US_AS_OF - timedelta(days=d), "no_answer") for d in range(7)]
    d = propose(us, us_case(calls), Channel.CALL, as_of=US_AS_OF)
    # The oldest of the seven was on 14 November: the 7-day period ending 21 November holds six.
    assert d.action.not_before == datetime(2026, 11, 21, 8, 0, tzinfo=NEW_YORK)
    assert ("rolling_calls", "defer") in effects(d)
    d = propose(us, us_case(calls[:6]), Channel.CALL, as_of=US_AS_OF)
    assert d.action.not_before is None


def test_us_no_call_for_seven_days_after_a_conversation(us: Policy) -> None:
    talk = call(US_AS_OF - timedelta(days=2), "connected")
    d = propose(us, us_case([talk]), Channel.CALL, as_of=US_AS_OF)
    assert d.action.not_before == datetime(2026, 11, 25, 8, 0, tzinfo=NEW_YORK)
    assert "a conversation on 2026-11-18" in d.guards[-1].reason


def test_us_window_ends_at_nine_pm_across_the_dst_change(us: Policy) -> None:
    # 1 November 2026: clocks go back at 02:00. 21:30 EST on 31 October → 08:00 EST.
    as_of = datetime(2026, 10, 31, 21, 30, tzinfo=NEW_YORK)
    d = propose(us, us_case([]), Channel.SMS, as_of=as_of)
    assert d.action.not_before == datetime(2026, 11, 1, 8, 0, tzinfo=NEW_YORK)
    assert d.action.not_before.utcoffset() == timedelta(hours=-5)


def test_the_cn_profile_has_no_rolling_cap(lender: Policy) -> None:
    assert lender.ir.guards.rolling_calls is None
    calls = [call(AS_OF - timedelta(days=d), "no_answer") for d in range(1, 8)]
    assert propose(lender, snapshot_case(contacts=[NOTICE, *calls]), Channel.CALL).guards == ()


# --- 5. obligors and third parties -------------------------------------------------------------


def emergency(**extra: Any) -> dict[str, Any]:
    return {"party_id": "P-0003", "role": "emergency_contact", "phones": ["13700000000"]} | extra


def test_third_parties_are_not_contacted_while_the_borrower_is_reachable(lender: Policy) -> None:
    data = snapshot_case(related_parties=[emergency()])
    d = propose(lender, data, Channel.SMS, recipients=("P-0001", "P-0003"))
    assert d.action.recipients == ("P-0001",)
    assert ("third_parties", "narrow") in effects(d)
    d = propose(lender, data, Channel.CALL, recipients=("P-0003",))
    assert d.action.channel == "none" and ("third_parties", "replace") in effects(d)


def test_a_lost_borrowers_contacts_get_a_message_without_the_debt(lender: Policy) -> None:
    data = snapshot_case(related_parties=[emergency()], lost_contact=True)
    debt = Message(template="overdue_notice")
    d = propose(lender, data, Channel.SMS, recipients=("P-0003",), message=debt)
    assert d.action.recipients == ("P-0003",)
    message = d.action.message
    assert message is not None and message.template == "restore_contact"
    assert message.fields == {} and message.text is not None
    assert str(d.fee_terms.total_due) not in message.text and "逾期" not in message.text
    # Together with an obligor, the third party would see the debt: it is left out.
    d = propose(lender, data, Channel.SMS, recipients=("P-0001", "P-0003"), message=debt)
    assert d.action.recipients == ("P-0001",)
    assert d.action.message is not None and d.action.message.template == "overdue_notice"
    assert str(d.fee_terms.total_due) in (d.action.message.text or "")


@pytest.mark.parametrize(
    "how",
    ["three failed attempts", "every number wrong", "no phone at all"],
)
def test_when_the_borrower_counts_as_lost(lender: Policy, how: str) -> None:
    data = snapshot_case(related_parties=[emergency()])
    if how == "three failed attempts":
        data["contacts"] += [
            call(AS_OF - timedelta(days=d), o)
            for d, o in ((3, "busy"), (2, "no_answer"), (1, "failed"))
        ]
    elif how == "every number wrong":
        data["contacts"].append(
            call(AS_OF - timedelta(days=1), "wrong_number", number="13800000000")
        )
    else:
        data["borrower"]["phones"] = []
    d = propose(lender, data, Channel.CALL, recipients=("P-0003",))
    assert d.action.channel == "call" and d.action.recipients == ("P-0003",)


def test_a_third_party_who_refused_is_never_contacted_again(lender: Policy) -> None:
    data = snapshot_case(related_parties=[emergency()], lost_contact=True)
    data["contacts"].append(call(AS_OF - timedelta(days=30), "refused", party="P-0003"))
    d = propose(lender, data, Channel.CALL, recipients=("P-0003",))
    assert d.action.channel == "none"
    assert any("refused before" in g.reason for g in d.guards)


# --- 6. statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("do_not_contact", "asked not to be contacted"),
        ("deceased", "deceased"),
        ("bankrupt", "bankrupt"),
        ("attorney_represented", "attorney"),
        ("dispute", "disputed"),
    ],
)
def test_no_contact_and_no_agency_for_a_barred_borrower(
    lender: Policy, flag: str, words: str
) -> None:
    for channel in (Channel.SMS, Channel.CALL, Channel.FIELD_VISIT, Channel.OUTSOURCE):
        d = propose(lender, snapshot_case(dpd=100, **{flag: True}), channel)
        assert d.action.channel == "none"
        (record,) = [g for g in d.guards if g.effect == "replace"]
        assert record.id == "contact_status" and words in record.reason


def test_legal_action_stays_possible_with_approval_except_in_a_dispute(lender: Policy) -> None:
    d = propose(lender, snapshot_case(dpd=100, bankrupt=True), Channel.LEGAL_PRESERVATION)
    assert d.action.channel == "legal_preservation" and d.action.requires_approval == "supervisor"
    d = propose(lender, snapshot_case(dpd=100, dispute=True), Channel.LEGAL_PRESERVATION)
    assert d.action.channel == "none"


def test_a_partly_disputed_debt_is_collected_without_the_disputed_amount(lender: Policy) -> None:
    data = snapshot_case(dispute=True, disputed_amount="300.00")
    d = propose(lender, data, Channel.SMS)
    assert d.action.channel == "sms"
    assert d.fee_terms.on_hold == D("300.00")
    assert d.fee_terms.total_due == D("750.00")  # 1000 principal + 50 interest − 300 held
    assert ("contact_status", "narrow") in effects(d)


def test_a_disputed_amount_needs_the_dispute_flag() -> None:
    from dunning import CaseError

    with pytest.raises(CaseError) as err:
        parse_case(snapshot_case(disputed_amount="300.00"))
    assert err.value.problems[0].code == "dispute_flag"


def test_a_party_who_asked_not_to_be_contacted_is_left_out(lender: Policy) -> None:
    data = snapshot_case()
    data["related_parties"][0]["do_not_contact"] = True
    d = propose(lender, data, Channel.SMS, recipients=("P-0001", "P-0002"))
    assert d.action.recipients == ("P-0001",)


# --- 7. field visits ---------------------------------------------------------------------------


def test_a_field_visit_is_recorded_and_needs_an_address(lender: Policy) -> None:
    d = propose(lender, snapshot_case(dpd=40), Channel.FIELD_VISIT)
    assert d.action.requires_recording and ("field_visits", "flag") in effects(d)
    data = snapshot_case(dpd=40)
    data["borrower"]["addresses"] = []
    d = propose(lender, data, Channel.FIELD_VISIT)
    assert d.action.channel == "call" and ("field_visits", "replace") in effects(d)


def test_a_field_visit_record_without_recording_is_a_warning(lender: Policy) -> None:
    visit = {
        "at": "2026-11-20T15:00:00+08:00",
        "channel": "field_visit",
        "party_id": "P-0001",
        "outcome": "connected",
    }
    d = propose(lender, snapshot_case(contacts=[NOTICE, visit]), Channel.SMS)
    (warning,) = [g for g in d.guards if g.effect == "warn"]
    assert "contacts[1].recording_ref" in warning.reason
    visit["recording_ref"] = "REC-0001"
    d = propose(lender, snapshot_case(contacts=[NOTICE, visit]), Channel.SMS)
    assert not [g for g in d.guards if g.effect == "warn"]


# --- 8. outsourcing notice ---------------------------------------------------------------------


def test_no_agency_before_the_borrower_was_told(lender: Policy) -> None:
    d = propose(lender, snapshot_case(dpd=120, contacts=[]), Channel.OUTSOURCE)
    assert d.action.channel == "sms" and d.action.handled_by == "internal"
    message = d.action.message
    assert message is not None and message.template == "outsourcing_notice"
    assert message.text == (
        f"您的借款已逾期120天，应还{d.fee_terms.total_due}元。如仍未还款，我司将委托合作催收"
        "机构与您联系，特此告知。"
    )
    assert d.fee_terms.commission_rate is None
    assert ("outsourcing_notice", "replace") in effects(d)
    d = propose(lender, snapshot_case(dpd=120), Channel.OUTSOURCE)  # NOTICE is on record
    assert d.action.channel == "outsource"


def test_a_failed_notice_does_not_count(lender: Policy) -> None:
    failed = NOTICE | {"outcome": "failed", "channel": "sms"}
    d = propose(lender, snapshot_case(dpd=120, contacts=[failed]), Channel.OUTSOURCE)
    assert d.action.channel == "sms"


def test_a_placed_case_needs_no_new_notice(lender: Policy) -> None:
    placed = {"agency_id": "AG-01", "placed_on": "2026-10-01", "commission_rate": "0.14"}
    d = propose(lender, snapshot_case(dpd=120, contacts=[], placement=placed), Channel.OUTSOURCE)
    assert d.action.channel == "outsource"


# --- 9. charges cap ----------------------------------------------------------------------------


def without_fee_guard(policy: Policy) -> Policy:
    """The same policy with the collection_fees guard turned off (the cap alone cuts fees)."""
    text = policy.text.replace("  profile: cn\n", "  profile: cn\n  collection_fees: off\n")
    return loads_policy(text, name=policy.ir.files[0])


def test_fees_are_cut_to_the_cap_collection_fee_first(lender: Policy) -> None:
    # 24% a year on the overdue principal, 1,000.00 for 20 days: 13.33 (rounded down).
    d = propose(
        without_fee_guard(lender),
        snapshot_case(dpd=20),
        Channel.SMS,
        penalty_interest="30.00",
        collection_fee="100.00",
    )
    assert d.fee_terms.collection_fee == D("0.00")
    assert d.fee_terms.penalty_interest == D("13.33")
    (cut,) = [g for g in d.guards if g.effect == "cut"]
    assert cut.id == "charges_cap" and cut.amount == D("116.67")
    assert cut.reason.endswith("collection fee by 100.00, penalty interest by 16.67")
    assert "13.33 the cap allows on the overdue principal: 1000.00 for 20 days" in cut.reason


def test_under_cn_no_collection_fee_is_charged_at_all(lender: Policy) -> None:
    d = propose(
        lender, snapshot_case(dpd=20), Channel.SMS, penalty_interest="5.00", collection_fee="8.00"
    )
    assert d.fee_terms.collection_fee == D("0.00") and d.fee_terms.penalty_interest == D("5.00")
    (cut,) = [g for g in d.guards if g.effect == "cut"]
    assert (cut.id, cut.amount) == ("collection_fees", D("8.00"))
    assert "in the name of collection" in cut.reason


MORTGAGE_POLICY = """\
policy: mortgage-fees
version: "1"
products: [mortgage]
assessment: {penalty_multiplier: "1.5"}
guards:
  charges_cap: {mode: fixed_rate, rate: "0.24"}
  collection_fees: off
rules:
  channel:
    - id: call
      then: {channel: call}
  fees:
    - id: fee
      then: {collection_fee: "1000.00"}
  commission:
    - id: none
      then: {commission_rate: null}
"""


def mortgage_case(**changes: Any) -> dict[str, Any]:
    """60,804.00 over 12 months, equal principal (5,067.00 an instalment), first due 2026-11-18."""
    return case_dict(
        loan__product="mortgage",
        loan__principal="60804.00",
        loan__annual_rate="0.049",
        loan__repayment="equal_principal",
        loan__start_date="2026-10-18",
        loan__collateral={"kind": "property", "value": "900000.00"},
        contacts=[NOTICE],
        promises=[],
        **changes,
    )


def test_a_mortgage_instalment_ten_days_late_with_a_collection_fee(tmp_path: Path) -> None:
    # docs/compliance.md §9's worked example. Equal principal over 12 months: each instalment
    # carries 60,804.00 / 12 = 5,067.00 of principal. Ten days late, 24% a year allows
    # 5,067.00 × 0.24 × 10 / 360 = 33.78 for penalty and fees together; the penalty
    # (5,067.00 × 4.9% × 1.5 × 10 / 360 = 10.35) stays, the 1,000.00 fee is cut to 23.43.
    policy = load(tmp_path, MORTGAGE_POLICY)
    d = policy.decide(mortgage_case(), as_of=AS_OF, portfolio=BOOK)  # due 2026-11-18
    assert d.dpd == 10 and d.fee_terms.overdue_principal == D("5067.00")
    assert d.fee_terms.penalty_interest == D("10.35")
    assert d.fee_terms.collection_fee == D("23.43")
    assert d.fee_terms.penalty_interest + d.fee_terms.collection_fee == D("33.78")
    (cut,) = [g for g in d.guards if g.effect == "cut"]
    assert cut.amount == D("976.57") and "5067.00 for 10 days" in cut.reason


def test_a_partly_paid_instalment_is_measured_over_time(tmp_path: Path) -> None:
    # 900.00 paid on day 4 settles the penalty so far (5,067.00 × 7.35% × 4 / 360 = 4.14), the
    # instalment's interest (60,804.00 × 4.9% / 12 = 248.28) and 647.58 of its principal. The
    # room counts 5,067.00 for 4 days and 4,419.42 for the next 6, as a court would — not
    # today's principal for all 10 days — less the 4.14 of penalty already paid.
    policy = load(tmp_path, MORTGAGE_POLICY)
    data = mortgage_case(payments=[{"date": "2026-11-22", "amount": "900.00"}])
    d = policy.decide(data, as_of=AS_OF, portfolio=BOOK)
    assert d.fee_terms.overdue_principal == D("4419.42")
    room = (D("5067.00") * 4 + D("4419.42") * 6) * D("0.24") / 360  # 31.1896…
    charged = d.fee_terms.penalty_interest + d.fee_terms.collection_fee
    assert room.quantize(D("0.01"), "ROUND_FLOOR") == D("31.18")
    assert charged == D("31.18") - D("4.14")


def test_fees_the_host_booked_are_flagged_not_cut() -> None:
    # A US card's 32.00 late fee, booked by the host, stays 32.00: over the 36% cap on 150.00
    # overdue for 20 days (2.95), it is flagged for the host to correct, never rewritten.
    us = load_policy(ROOT / "rules" / "us_cards.yaml")
    snapshot = {"dpd": 20, "overdue_principal": "150.00", "overdue_interest": "40.00"}
    data = us_card_case(
        snapshot | {"fees": "32.00"}, loan__principal="4000.00", loan__annual_rate="0.2499"
    )
    d = us.decide(data, as_of=datetime(2026, 11, 20, 10, 0, tzinfo=NEW_YORK))
    assert d.fee_terms.other_fees == D("32.00")
    (flag,) = [g for g in d.guards if g.id == "charges_cap"]
    assert flag.effect == "flag" and flag.amount == D("32.00") - D("2.95")
    assert "charges the host booked (other fees 32.00) exceed the 2.95" in flag.reason


def test_the_cap_never_raises_a_charge(lender: Policy) -> None:
    d = propose(lender, snapshot_case(dpd=20), Channel.SMS, penalty_interest="1.00")
    assert d.fee_terms.penalty_interest == D("1.00")
    assert not [g for g in d.guards if g.id == "charges_cap"]


def test_message_amounts_follow_the_cut(lender: Policy) -> None:
    message = Message(template="overdue_notice")
    d = propose(
        lender, snapshot_case(dpd=20), Channel.SMS, message=message, penalty_interest="130.00"
    )
    assert ("charges_cap", "cut") in effects(d)
    assert d.action.message is not None and d.action.message.text is not None
    total, penalty = str(d.fee_terms.total_due), str(d.fee_terms.penalty_interest)
    assert d.action.message.fields == {"dpd": 20, "total_due": total, "penalty_interest": penalty}
    assert f"当前应还{total}元，含罚息{penalty}元" in d.action.message.text


def lpr_policy(tmp_path: Path) -> Policy:
    text = policy_text().replace(
        'charges_cap: {mode: fixed_rate, rate: "0.36"}', "charges_cap: {mode: lpr_multiple}"
    )
    return load(tmp_path, text)


def test_lpr_multiple_uses_the_lpr_on_the_signing_date(tmp_path: Path) -> None:
    policy = lpr_policy(tmp_path)
    # Signed 2024-01-05: LPR 3.45% → a cap of 13.8% a year on the overdue principal.
    data = snapshot_case(dpd=30, loan__annual_rate="0.0435", loan__signed_on="2024-01-05")
    d = propose(policy, data, Channel.CALL, penalty_interest="500.00")
    (cut,) = [g for g in d.guards if g.effect == "cut"]
    assert "4 × LPR 3.45% on the signing date 2024-01-05 = 13.8% a year" in cut.reason


def test_contracts_before_2020_08_20_are_split_at_that_day(tmp_path: Path) -> None:
    policy = lpr_policy(tmp_path)
    data = snapshot_case(dpd=2500, loan__annual_rate="0.0435", loan__signed_on="2019-06-01")
    d = propose(policy, data, Channel.CALL, penalty_interest="999999.00")
    (cut,) = [g for g in d.guards if g.effect == "cut"]
    assert "24% a year before 2020-08-20" in cut.reason
    assert "4 × LPR 3% today = 12% a year from 2020-08-20" in cut.reason


def test_a_contract_rate_above_the_cap_is_flagged(tmp_path: Path) -> None:
    policy = lpr_policy(tmp_path)
    # 4 × LPR 3% = 12% a year; the 18% contract rate is above it: flagged for counsel. The
    # penalty is held to 12% on 1,000.00 for 30 days, 10.00.
    d = propose(policy, snapshot_case(dpd=30), Channel.CALL, penalty_interest="25.00")
    assert ("charges_cap", "flag") in effects(d)
    assert d.fee_terms.penalty_interest == D("10.00")


def test_the_lpr_table_is_dated_and_extensible() -> None:
    table = LprTable()
    assert table.on(LPR_1Y[-1][0]) == D("0.0300")
    assert table.on(LPR_1Y[-1][0] - timedelta(days=1)) == D("0.0310")
    newer = LprTable([(LPR_1Y[-1][0] + timedelta(days=400), D("0.0290"))])
    assert newer.on(LPR_1Y[-1][0] + timedelta(days=500)) == D("0.0290")


def test_penalty_multiplier_defaults_to_1_5_and_must_stay_in_range(tmp_path: Path) -> None:
    policy = load(tmp_path, policy_text())
    assert policy.ir.penalty_multiplier == D("1.5")
    text = policy_text(head='assessment:\n  penalty_multiplier: "1.2"\n')
    codes = [d.code for d in diagnostics(tmp_path, text)]
    assert codes == ["penalty-out-of-range"]


# --- 10. limitation ----------------------------------------------------------------------------


def test_the_limitation_period_runs_from_the_last_instalment(lender: Policy) -> None:
    # A one-year loan whose last instalment fell due on 2022-01-15: barred since 2025-01-15.
    old = snapshot_case(dpd=1500, loan__start_date="2021-01-15")
    d = propose(lender, old, Channel.LEGAL_PRESERVATION)
    assert d.action.requires_approval == "supervisor"
    assert ("limitation", "flag") in effects(d)
    (flag,) = [g for g in d.guards if g.id == "limitation"]
    assert "its last instalment fell due on 2022-01-15" in flag.reason
    d = propose(lender, old, Channel.SMS)
    assert ("limitation", "flag") in effects(d) and d.action.channel == "sms"
    # Four years in arrears on a 30-year mortgage is not time-barred: it is not all due yet.
    mortgage = snapshot_case(dpd=1500, loan__start_date="2020-01-15", loan__term_months=360)
    assert ("limitation", "flag") not in effects(propose(lender, mortgage, Channel.SMS))


def test_acceleration_starts_the_limitation_period(lender: Policy) -> None:
    accelerated = snapshot_case(
        dpd=1700,
        loan__start_date="2020-01-15",
        loan__term_months=360,
        loan__accelerated_on="2023-06-01",
    )
    d = propose(lender, accelerated, Channel.SMS)
    (flag,) = [g for g in d.guards if g.id == "limitation"]
    assert "the loan was declared due on 2023-06-01" in flag.reason


def test_a_guarantor_after_the_guarantee_period_is_flagged(lender: Policy) -> None:
    # The one-year loan fell due on 2026-01-15 with its last instalment (start 2025-01-15):
    # the guarantee period ended six months later, 2026-07-15 (Civil Code art. 692).
    data = snapshot_case(dpd=300, loan__start_date="2025-01-15")
    d = propose(lender, data, Channel.SMS, recipients=("P-0001", "P-0002"))
    (flag,) = [g for g in d.guards if g.id == "limitation"]
    assert "P-0002 is a guarantor whose guarantee period ended on 2026-07-15" in flag.reason
    assert "P-0002" in d.action.recipients  # flagged, not dropped: a demand may have kept it
    data["related_parties"][0]["guarantee_ends"] = "2027-12-31"
    d = propose(lender, data, Channel.SMS, recipients=("P-0001", "P-0002"))
    assert ("limitation", "flag") not in effects(d)


# --- the section in the rule file ---------------------------------------------------------------


def test_every_problem_of_the_guards_section_is_reported_at_once(tmp_path: Path) -> None:
    bad_guards = (
        "guards:\n"
        '  contact_windw: {start: "08:00"}\n'
        '  contact_window: {start: "8am", end: "07:00"}\n'
        "  connected_calls: {per_day: 0}\n"
        "  rolling_calls: {max: 7}\n"
        '  charges_cap: {mode: usury, rate: "1.5"}\n'
    )
    text = policy_text()
    text = text[: text.index("guards:\n")] + bad_guards
    found = [(d.line, d.code, d.message) for d in diagnostics(tmp_path, text)]
    first = found[0][0]
    assert [(line - first, code) for line, code, _ in found] == [
        (0, "unknown-key"),
        (1, "bad-guard-value"),
        (2, "bad-guard-value"),
        (3, "unknown-key"),
        (4, "bad-guard-value"),
        (4, "bad-guard-value"),
    ]
    assert "did you mean 'contact_window'" in found[0][2]
    assert "did you mean 'max_calls'" in found[3][2]


def test_turning_a_guard_off_is_a_warning(tmp_path: Path) -> None:
    text = policy_text() + "  outsourcing_notice: off\n"
    found = diagnostics(tmp_path, text)
    assert [(d.code, d.severity) for d in found] == [("guard-disabled", "warning")]
    policy = load(tmp_path, text)
    assert policy.ir.guards.outsourcing_notice is None


def test_unknown_profile_and_calendar(tmp_path: Path) -> None:
    text = policy_text() + "  profile: mars\n"
    assert [d.code for d in diagnostics(tmp_path, text)] == ["unknown-value"]
    text = policy_text() + "  contact_window: {calendar: CNN}\n"
    found = diagnostics(tmp_path, text)
    assert [d.code for d in found] == ["guard-calendar"]
    assert "did you mean 'CN'" in found[0].message


def test_a_guard_turned_on_takes_its_defaults(tmp_path: Path) -> None:
    policy = load(tmp_path, policy_text() + "  rolling_calls: on\n")
    rolling = policy.ir.guards.rolling_calls
    assert rolling is not None and (rolling.max_calls, rolling.days) == (7, 7)


def test_the_us_profile(us: Policy) -> None:
    g = us.ir.guards
    assert g.profile == "us" and g.contact_window is not None
    assert g.contact_window.end.hour == 21 and g.rolling_calls is not None
    assert g.outsourcing_notice is None and g.charges_cap is not None
    assert g.charges_cap.mode == "fixed_rate" and g.charges_cap.rate == D("0.36")


def test_guards_are_idempotent_on_the_example_portfolio(lender: Policy) -> None:
    from dunning import read_cases

    with (ROOT / "examples" / "portfolio.jsonl").open(encoding="utf-8") as lines:
        cases = [c for c in read_cases(lines) if not isinstance(c, Exception)]
    seen = 0
    for case in cases[:400]:
        if case.loan.product.value not in lender.ir.products:
            continue
        d = lender.decide(case, as_of=AS_OF, portfolio=BOOK)
        assert lender.apply_guards(case, d) == d
        seen += 1
    assert seen > 300


def test_explain_shows_what_the_guards_did(lender: Policy) -> None:
    text = lender.explain(parse_case(snapshot_case(dpd=40)), as_of=AS_OF, portfolio=BOOK).render()
    assert "guards:\n  field_visits (flag): the visit must be recorded" in text


def test_policy_errors_name_the_guard_problem(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as err:
        load(tmp_path, policy_text() + "  limitation: {years: -1}\n")
    assert "bad-guard-value" in str(err.value)


def test_a_window_that_never_opens_gives_none_with_a_reason(tmp_path: Path) -> None:
    days = ", ".join(
        (datetime(2026, 11, 28) + timedelta(days=d)).date().isoformat() for d in range(800)
    )
    text = LENDER.read_text(encoding="utf-8").replace(
        "guards:\n  profile: cn\n",
        f"guards:\n  profile: cn\n  contact_window: {{quiet_dates: [{days}]}}\n",
    )
    d = propose(load(tmp_path, text), snapshot_case(), Channel.SMS)
    assert d.action.channel == "none"
    assert any("no permitted moment" in g.reason for g in d.guards)


def test_a_fallback_to_sms_keeps_the_proposed_moment(tmp_path: Path) -> None:
    # Found by the property test: a call proposed for 08:00, made at 07:59, whose number is at
    # its dial cap, becomes an SMS — still not before 08:00.
    text = LENDER.read_text(encoding="utf-8").replace(
        "guards:\n  profile: cn\n",
        "guards:\n  profile: cn\n  unanswered_dials: {then: sms, per_number_per_day: 2}\n",
    )
    policy = load(tmp_path, text)
    as_of = datetime(2026, 3, 8, 7, 59, tzinfo=SHANGHAI)
    dials = [call(as_of, "no_answer"), call(as_of, "no_answer")]
    case = parse_case(snapshot_case(dpd=1, contacts=dials))
    decided = policy.decide(case, as_of=as_of, portfolio=BOOK)
    opening = datetime(2026, 3, 8, 8, 0, tzinfo=SHANGHAI)
    proposal = decided.model_copy(
        update={"action": Action(channel=Channel.CALL, not_before=opening), "guards": ()}
    )
    d = policy.apply_guards(case, proposal)
    assert d.action.channel == "sms" and d.action.not_before == opening


def test_check_warns_at_the_rule_that_sets_a_collection_fee(tmp_path: Path) -> None:
    fees = """\
    - id: fee-from-m2
      when: dpd >= 31
      then: {collection_fee: "50.00"}
    - id: no-fee
      then: {collection_fee: 0}"""
    text = policy_text(fees=fees)
    found = diagnostics(tmp_path, text)
    assert [(d.code, d.severity, d.rule_id) for d in found] == [
        ("collection-fee-cut", "warning", "fee-from-m2")
    ]
    lines = textwrap.dedent(text).splitlines()
    line = lines.index('      then: {collection_fee: "50.00"}') + 1
    assert (found[0].line, found[0].col) == (line, lines[line - 1].index('"50.00"') + 1)
    off = diagnostics(tmp_path, text + "  collection_fees: off\n")
    assert [d.code for d in off] == ["guard-disabled"]
