"""The domain core: the case contract, every validation problem at once, lossless JSON."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from pydantic import ValidationError

from conftest import case_dict
from dunning import (
    Action,
    Agency,
    Case,
    CaseError,
    Channel,
    Decision,
    FeeTerms,
    HandledBy,
    Message,
    PolicyRef,
    parse_case,
)
from strategies import full_cases

D = Decimal


def problems(data: Any) -> dict[str, str]:
    with pytest.raises(CaseError) as info:
        parse_case(data)
    return {p.path: p.code for p in info.value.problems}


def test_the_contract_example_validates() -> None:
    case = parse_case(case_dict())
    assert case.loan.principal == D("12000.00") and isinstance(case.loan.principal, Decimal)
    assert case.related_parties[0].is_obligor
    assert case.promises[0].amount == D("1100.16")


def test_only_case_id_loan_and_borrower_are_required() -> None:
    data = case_dict()
    minimal = {k: data[k] for k in ("case_id", "loan", "borrower")}
    case = parse_case(minimal)
    assert case.payments == () and case.placement is None and not case.lost_contact
    assert case.borrower.timezone == "Asia/Shanghai" and case.loan.currency == "CNY"
    assert problems({"loan": data["loan"]}) == {"case_id": "missing", "borrower": "missing"}


def test_every_problem_is_listed_with_its_field_path() -> None:
    data = case_dict(
        loan__principal="-5",
        loan__term_months=0,
        loan__annual_rate="1.2",
        loan__curency="CNY",
        payments=[{"date": "2026-02-15", "amount": "10.00", "currency": "USD"}],
        contacts=[
            {
                "at": "2026-06-01T10:00:00",
                "channel": "call",
                "party_id": "P-0001",
                "outcome": "no_answer",
            }
        ],
    )
    with pytest.raises(CaseError) as info:
        parse_case(data)
    err = info.value
    assert err.case_id == "C-0001"
    found = {p.path: p for p in err.problems}
    assert {k: p.code for k, p in found.items()} == {
        "loan.principal": "greater_than",
        "loan.term_months": "greater_than",
        "loan.annual_rate": "less_than",
        "loan.curency": "extra_forbidden",
        "contacts[0].at": "timezone_aware",
    }
    assert "did you mean 'currency'" in found["loan.curency"].message
    assert "C-0001" in str(err) and "loan.principal" in str(err)


def test_cross_field_problems_are_reported_together() -> None:
    data = case_dict(
        payments=[{"date": "2026-02-15", "amount": "10.005", "currency": "USD"}],
        contacts=[
            {
                "at": "2026-06-01T10:00:00+08:00",
                "channel": "sms",
                "party_id": "P-9",
                "outcome": "delivered",
            }
        ],
        related_parties=[{"party_id": "P-0001", "role": "borrower"}],
    )
    assert problems(data) == {
        "payments[0].currency": "currency_mismatch",
        "payments[0].amount": "too_many_decimals",
        "contacts[0].party_id": "unknown_party",
        "related_parties[0].role": "role",
        "related_parties[0].party_id": "duplicate_party",
    }


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        ({"loan__principal": "0"}, "loan.principal", "greater_than"),
        ({"loan__annual_rate": "-0.01"}, "loan.annual_rate", "greater_than_equal"),
        ({"loan__annual_rate": "1"}, "loan.annual_rate", "less_than"),
        ({"loan__annual_rate": 0.18}, "loan.annual_rate", "decimal_as_string"),
        ({"loan__principal": 12000.5}, "loan.principal", "decimal_as_string"),
        ({"loan__principal": "NaN"}, "loan.principal", "finite_number"),
        ({"loan__currency": "XYZ"}, "loan.currency", "unknown_currency"),
        ({"loan__product": "payday"}, "loan.product", "enum"),
        ({"loan__term_months": None}, "loan.term_months", "missing"),
        ({"loan__start_date": "2026-02-30"}, "loan.start_date", "date_from_datetime_parsing"),
        ({"borrower__timezone": "Mars/Olympus"}, "borrower.timezone", "unknown_timezone"),
        ({"borrower__phones": ["call me"]}, "borrower.phones[0]", "invalid_phone"),
        ({"borrower__role": "guarantor"}, "borrower.role", "role"),
        (
            {
                "promises": [
                    {"made_at": "2026-06-01T10:05:00", "amount": "1", "due_date": "2026-06-05"}
                ]
            },
            "promises[0].made_at",
            "timezone_aware",
        ),
        (
            {"loan__collateral": {"kind": "vehicle", "value": "1"}, "loan__product": "mortgage"},
            "loan.collateral.kind",
            "collateral_mismatch",
        ),
        ({"case_id": ""}, "case_id", "string_too_short"),
    ],
)
def test_bad_fields(change: dict[str, Any], path: str, code: str) -> None:
    assert problems(case_dict(**change)) == {path: code}


def test_messages_show_the_value_not_their_template() -> None:
    data = case_dict(
        loan__currency="CYN", borrower__phones=["call me"], borrower__timezone="Asia/Shangai"
    )
    with pytest.raises(CaseError) as info:
        parse_case(data)
    messages = {p.path: p.message for p in info.value.problems}
    assert messages["loan.currency"] == "unknown ISO 4217 currency 'CYN' (did you mean 'CNY'?)"
    assert messages["borrower.phones[0]"] == "'call me' is not a phone number"
    assert messages["borrower.timezone"] == (
        "unknown IANA time zone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)"
    )
    assert not any("{" in m for m in messages.values())


def test_guarantee_ends_belongs_to_guarantors() -> None:
    data = case_dict(borrower__guarantee_ends="2027-01-01")
    assert problems(data) == {"borrower.guarantee_ends": "role"}
    data = case_dict()
    data["related_parties"][0]["guarantee_ends"] = "2027-01-01"
    assert parse_case(data).related_parties[0].guarantee_ends == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("principal", "code"),
    [
        ("123456789012345678901", "decimal_max_digits"),  # 21 digits
        ("1e25", "decimal_max_digits"),  # short text, many digits
        ("0.000000000000000000001", "decimal_max_digits"),  # 21 places count as digits
        (10**21, "decimal_max_digits"),  # a JSON integer
        # Digits a reader would not read as the number Python reads (issue 14).
        ("1_000e30", "not_ascii_number"),
        ("1_000", "not_ascii_number"),
        ("٤٧٨٠٠.٠٠", "not_ascii_number"),
        ("１０００", "not_ascii_number"),  # full-width digits
        ("12345678901234567.891", "too_many_decimals"),  # 20 digits: only the places are wrong
        ("Infinity", "finite_number"),
        ("12,000", "decimal_parsing"),
    ],
)
def test_amount_size_and_form(principal: object, code: str) -> None:
    data = case_dict(loan__principal=principal)
    assert problems(data) == {"loan.principal": code}
    assert problems(json.dumps(data)) == {"loan.principal": code}


@pytest.mark.parametrize("principal", ["1E+3", "1e3", " 1000 ", 1000, "1000.00"])
def test_amount_forms_that_are_numbers(principal: object) -> None:
    data = case_dict(loan__principal=principal)
    data["loan"].pop("term_months")
    data["loan"]["schedule"] = [{"due_date": "2026-03-01", "principal": "1000", "interest": "1"}]
    assert parse_case(data).loan.principal == 1000
    assert parse_case(json.dumps(data)).loan.principal == 1000


def test_text_and_dict_input_report_the_same_problems() -> None:
    # JSON text is validated by pydantic directly; a failing line is read again as a dict.
    data = case_dict(
        loan__principal=12000.5,
        loan__currency="XYZ",
        borrower__phones=["call me"],
        payments=[{"date": "2026-02-30", "amount": "-1"}],
    )
    with pytest.raises(CaseError) as from_text:
        parse_case(json.dumps(data), line=7)
    with pytest.raises(CaseError) as from_dict:
        parse_case(data, line=7)
    assert from_text.value.problems == from_dict.value.problems
    assert (from_text.value.case_id, from_text.value.line) == ("C-0001", 7)
    assert len(from_text.value.problems) == 5


def test_explicit_schedule_must_sum_to_the_principal_and_be_in_order() -> None:
    schedule = [
        {"due_date": "2026-03-01", "principal": "5000.00", "interest": "10.00"},
        {"due_date": "2026-02-01", "principal": "5000.00", "interest": "10.00"},
    ]
    assert problems(case_dict(loan__schedule=schedule)) == {
        "loan.schedule[1].due_date": "schedule_order",
        "loan.schedule": "schedule_sum",
    }


def test_case_error_without_readable_id() -> None:
    with pytest.raises(CaseError) as info:
        parse_case('{"loan": 3}')
    assert info.value.case_id is None
    assert "case without a case_id" in str(info.value)


def test_models_are_frozen() -> None:
    case = parse_case(case_dict())
    with pytest.raises(ValidationError):
        case.loan.principal = D(1)  # type: ignore[misc]


@given(full_cases())
def test_json_round_trip_is_lossless(case: Case) -> None:
    text = case.model_dump_json()
    again = Case.model_validate_json(text)
    assert again == case
    assert again.model_dump_json() == text
    # money and rates travel as strings, never as JSON numbers
    raw = json.loads(text)
    assert isinstance(raw["loan"]["principal"], str)
    assert isinstance(raw["loan"]["annual_rate"], str)


@given(full_cases())
def test_text_and_dict_input_give_the_same_case(case: Case) -> None:
    text = case.model_dump_json()
    assert parse_case(text) == parse_case(json.loads(text)) == case
    assert parse_case(text.encode()) == case


def test_contract_round_trip_keeps_every_digit() -> None:
    case = parse_case(case_dict())
    raw = json.loads(case.model_dump_json())
    assert raw["loan"]["principal"] == "12000.00"
    assert raw["promises"][0]["amount"] == "1100.16"
    assert raw["contacts"][0]["at"] == "2026-06-01T10:00:00+08:00"


def test_decision_types_serialise_money_as_strings() -> None:
    decision = Decision(
        case_id="C-0001",
        as_of="2026-11-28T10:00:00+08:00",  # type: ignore[arg-type]
        dpd=95,
        bucket="M4",
        action=Action(
            channel=Channel.OUTSOURCE,
            handled_by=HandledBy.AGENCY,
            message=Message(template="notice", fields={"dpd": 95, "total_due": "3252.34"}),
        ),
        fee_terms=FeeTerms(
            commission_rate=D("0.14"),
            penalty_interest=D("12.34"),
            collection_fee=D("0.00"),
            total_due=D("3252.34"),
        ),
        rules=("cf-outsource-m4",),
        policy=PolicyRef(name="lender", version="1", digest="sha256:00"),
    )
    raw = json.loads(decision.model_dump_json())
    assert raw["fee_terms"] == {
        "commission_rate": "0.14",
        "overdue_principal": "0",
        "overdue_interest": "0",
        "penalty_interest": "12.34",
        "other_fees": "0",
        "collection_fee": "0.00",
        "on_hold": "0",
        "total_due": "3252.34",
    }
    assert raw["action"]["channel"] == "outsource" and raw["action"]["not_before"] is None
    assert Decision.model_validate_json(decision.model_dump_json()) == decision


SEED_AGENCY = {
    "agency_id": "AG-01",
    "name": "华信资产管理",
    "phone": "4008001234",
    "contract_start": "2025-01-01",
    "commission": [
        {"min_dpd": 1, "max_dpd": 90, "rate": "0.07"},
        {"min_dpd": 91, "max_dpd": 120, "rate": "0.14"},
        {"min_dpd": 121, "max_dpd": 180, "rate": "0.20"},
        {"min_dpd": 181, "rate": "0.25"},
    ],
    "products": ["consumer_finance"],
    "capacity": 500,
}


@pytest.mark.parametrize(
    ("dpd", "rate"),
    [
        (0, None),
        (1, "0.07"),
        (90, "0.07"),
        (91, "0.14"),
        (120, "0.14"),
        (121, "0.20"),
        (180, "0.20"),
        (181, "0.25"),
        (5000, "0.25"),
    ],
)
def test_agency_commission_by_dpd_band(dpd: int, rate: str | None) -> None:
    agency = Agency.model_validate(SEED_AGENCY)
    assert agency.commission_rate(dpd) == (None if rate is None else D(rate))
    assert agency.serves("consumer_finance") and not agency.serves("mortgage")  # type: ignore[arg-type]


def test_agency_bands_must_be_contiguous() -> None:
    bad = SEED_AGENCY | {
        "commission": [
            {"min_dpd": 1, "max_dpd": 90, "rate": "0.07"},
            {"min_dpd": 95, "rate": "0.14"},
        ]
    }
    with pytest.raises(ValidationError, match="must start at 91"):
        Agency.model_validate(bad)


def test_payment_and_promise_dates_are_dates() -> None:
    case = parse_case(case_dict(payments=[{"date": "2026-02-15", "amount": "1"}]))
    assert case.payments[0].date == date(2026, 2, 15)
