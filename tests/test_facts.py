"""The fact view: what rules see of a case."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import case_dict
from dunning import FACTS, Portfolio, assess, parse_case
from dunning.facts import fact_view

AS_OF = datetime(2026, 6, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def contact(at: str, channel: str = "call", outcome: str = "no_answer") -> dict[str, str]:
    return {"at": at, "channel": channel, "party_id": "P-0001", "outcome": outcome}


def view(**changes: object) -> dict[str, object]:
    case = parse_case(case_dict(**changes))
    return fact_view(case, assess(case, AS_OF), AS_OF, Portfolio(7))


def test_every_documented_fact_is_in_the_view_with_its_type() -> None:
    facts = view()
    assert set(facts) == set(FACTS)
    kinds = {"int": int, "money": Decimal, "number": Decimal, "bool": bool, "string": str}
    for name, spec in FACTS.items():
        value = facts[name]
        if value is None:
            assert spec.nullable, name
        else:
            assert isinstance(value, kinds[spec.kind]), name
            if spec.values:
                assert value in spec.values


def test_contact_windows() -> None:
    contacts = [
        contact("2026-06-13T10:00:01+08:00"),  # 7 days minus a second before as_of: in
        contact("2026-06-13T10:00:00+08:00"),  # exactly 7 days: out
        contact("2026-06-19T09:00:00+08:00", outcome="connected"),
        contact("2026-06-19T09:30:00+08:00", outcome="promised"),
        contact("2026-06-18T09:00:00+08:00", channel="sms", outcome="delivered"),
        contact("2026-05-25T09:00:00+08:00", channel="field_visit", outcome="connected"),
        contact("2026-05-20T09:00:00+08:00", channel="field_visit", outcome="connected"),
        contact("2026-06-20T11:00:00+08:00"),  # after as_of: not known yet
    ]
    facts = view(contacts=contacts)
    assert facts["calls_7d"] == 3 and facts["connected_calls_7d"] == 2
    assert facts["sms_7d"] == 1 and facts["field_visits_30d"] == 1
    assert facts["days_since_last_contact"] == 1


def test_days_since_last_contact_is_counted_in_the_borrowers_calendar() -> None:
    late_utc = contact("2026-06-19T17:00:00+00:00")  # 2026-06-20 01:00 in Shanghai
    assert view(contacts=[late_utc])["days_since_last_contact"] == 0
    assert view(contacts=[])["days_since_last_contact"] is None


def test_promises_open_kept_and_broken() -> None:
    promises = [
        {"made_at": "2026-06-01T10:00:00+08:00", "amount": "500.00", "due_date": "2026-06-05"},
        {"made_at": "2026-06-06T10:00:00+08:00", "amount": "300.00", "due_date": "2026-06-10"},
        {"made_at": "2026-04-01T10:00:00+08:00", "amount": "100.00", "due_date": "2026-04-05"},
        {"made_at": "2026-06-18T10:00:00+08:00", "amount": "100.00", "due_date": "2026-06-25"},
    ]
    payments = [{"date": "2026-06-08", "amount": "300.00"}]
    facts = view(promises=promises, payments=payments)
    # first broken (nothing paid by the 5th), second kept, third too old, fourth open
    assert facts["broken_promises_30d"] == 1 and facts["open_promise"] is True
    kept_open = view(promises=promises[3:], payments=[{"date": "2026-06-19", "amount": "100.00"}])
    assert kept_open["open_promise"] is False
    # Over 90 days the April promise (75 days ago, unpaid) is broken too; the second is kept.
    assert (facts["broken_promises_90d"], facts["kept_promises_30d"]) == (2, 1)
    assert facts["kept_promises_90d"] == 1


def test_payments_and_the_parties_of_the_loan() -> None:
    payments = [
        {"date": "2026-05-21", "amount": "10.00"},  # 30 days before as_of: out of paid_30d
        {"date": "2026-05-22", "amount": "20.00"},
        {"date": "2026-06-15", "amount": "30.00"},
        {"date": "2026-06-21", "amount": "40.00"},  # after as_of: not known yet
    ]
    facts = view(payments=payments)
    assert facts["days_since_last_payment"] == 5 and facts["paid_30d"] == Decimal("50.00")
    assert view(payments=[])["days_since_last_payment"] is None
    assert facts["has_guarantor"] is True and facts["has_co_borrower"] is False
    alone = view(related_parties=[])
    assert alone["has_guarantor"] is False


def test_the_latest_recorded_reason_and_attitude() -> None:
    def talked(at: str, **recorded: str) -> dict[str, str]:
        return contact(at, outcome="connected") | recorded

    contacts = [
        talked("2026-06-01T10:00:00+08:00", overdue_reason="illness", repayment_attitude="evasive"),
        talked("2026-06-10T10:00:00+08:00", overdue_reason="job_loss"),
        talked("2026-06-12T10:00:00+08:00"),  # records neither
        talked("2026-06-21T10:00:00+08:00", repayment_attitude="hostile"),  # not known yet
    ]
    facts = view(contacts=contacts)
    assert facts["last_overdue_reason"] == "job_loss"
    assert facts["last_repayment_attitude"] == "evasive"
    assert view(contacts=[])["last_overdue_reason"] is None


def test_a_snapshot_may_give_the_outstanding_balance() -> None:
    snapshot = {"dpd": 20, "overdue_principal": "150", "overdue_interest": "4"}
    assert view(delinquency=snapshot)["outstanding_principal"] is None
    given = view(delinquency=snapshot | {"outstanding_principal": "3800"})
    assert given["outstanding_principal"] == Decimal("3800.00")
    assert str(given["overdue_principal"]) == "150.00"


def test_placement_collateral_and_portfolio_facts() -> None:
    placement = {"agency_id": "AG-01", "placed_on": "2026-06-01", "commission_rate": "0.14"}
    facts = view(
        placement=placement,
        loan__product="mortgage",
        loan__collateral={"kind": "property", "value": "800000.00"},
    )
    assert facts["placed"] is True and facts["days_since_placement"] == 19
    assert facts["placement_rate"] == Decimal("0.14")
    assert facts["has_collateral"] is True and facts["collateral_kind"] == "property"
    assert facts["collateral_value"] == Decimal("800000.00")
    assert facts["overdue_customers"] == 7
    unsecured = view()
    assert unsecured["collateral_kind"] is None and unsecured["collateral_value"] == 0
    assert unsecured["placement_rate"] is None and unsecured["placed"] is False


def test_the_rule_guide_lists_exactly_these_facts() -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text("utf-8")
    table = guide.split("<!-- facts -->")[1].split("<!-- /facts -->")[0]
    listed = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    assert listed == set(FACTS)


def test_statuses_and_the_outsourcing_notice() -> None:
    notice = {
        "at": "2026-06-01T09:00:00+08:00",
        "channel": "letter",
        "party_id": "P-0001",
        "outcome": "delivered",
        "purpose": "outsourcing_notice",
    }
    assert view(contacts=[notice])["outsourcing_notified"] is True
    assert view(contacts=[notice | {"outcome": "failed"}])["outsourcing_notified"] is False
    assert view(contacts=[notice | {"party_id": "P-0002"}])["outsourcing_notified"] is False
    assert view(contacts=[notice | {"channel": "call"}])["outsourcing_notified"] is False
    later = notice | {"at": "2026-06-21T09:00:00+08:00"}
    assert view(contacts=[later])["outsourcing_notified"] is False  # not known at as_of
    facts = view(deceased=True, bankrupt=True, attorney_represented=True)
    assert facts["deceased"] and facts["bankrupt"] and facts["attorney_represented"]
