"""The daily contact caps count the person across their debts (issue 32, item 8).

A borrower with two loans is one person to call: three conversations a day is three, whether the
lender or an agency made them and whichever loan they were about. ``Case.debtor_contacts`` carries
the contacts of the borrower's other debts; ``DebtorContacts`` fills it over a batch, and the
command line does so for every file it decides or places.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import NOTICE, case_dict
from dunning import DebtorContacts, Policy, Portfolio, load_policy
from dunning.cases import parse_case
from policy_helpers import run_dunning

ROOT = Path(__file__).resolve().parent.parent
LENDER = ROOT / "rules" / "lender.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
TOMORROW_8 = datetime(2026, 11, 29, 8, 0, tzinfo=SHANGHAI)
BOOK = Portfolio(overdue_customers=500)


@pytest.fixture(scope="module")
def lender() -> Policy:
    return load_policy(LENDER)


def call(hours_ago: float, outcome: str = "connected", **extra: Any) -> dict[str, Any]:
    at = AS_OF - timedelta(hours=hours_ago)
    return {
        "at": at.isoformat(),
        "channel": "call",
        "party_id": "P-0001",
        "outcome": outcome,
    } | extra


def m1_case(case_id: str, contacts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """An M1 consumer-finance case of borrower P-0001, which the lender's rules call."""
    snapshot = {"dpd": 20, "overdue_principal": "1000.00", "overdue_interest": "50.00"}
    data = case_dict(case_id=case_id, delinquency=snapshot, contacts=[NOTICE, *contacts])
    data["loan"]["loan_id"] = f"L-{case_id}"
    return data | extra


def test_calls_about_another_loan_count_toward_the_daily_cap(lender: Policy) -> None:
    talks = [call(h) for h in (1, 2, 3)]  # three conversations today, about loan C-1
    alone = lender.decide(m1_case("C-2", []), as_of=AS_OF, portfolio=BOOK)
    assert alone.action.channel == "call" and alone.action.not_before is None
    shared = m1_case("C-2", [], debtor_contacts=talks)
    decision = lender.decide(shared, as_of=AS_OF, portfolio=BOOK)
    assert decision.action.not_before == TOMORROW_8
    (record,) = [g for g in decision.guards if g.id == "connected_calls"]
    assert "reached by 3 calls on 2026-11-28, 3 of them about their other debts" in record.reason


def test_one_call_recorded_on_both_loans_is_one_call(lender: Policy) -> None:
    talks = [call(h) for h in (1, 2)]
    both = m1_case("C-2", talks, debtor_contacts=talks)  # the same two calls, on each case
    decision = lender.decide(both, as_of=AS_OF, portfolio=BOOK)
    assert decision.action.not_before is None


def test_unanswered_dials_count_per_number_across_loans(lender: Policy) -> None:
    dials = [call(0.1 * i, "no_answer") for i in range(1, 7)]
    decision = lender.decide(m1_case("C-2", [], debtor_contacts=dials), as_of=AS_OF, portfolio=BOOK)
    assert ("unanswered_dials", "defer") in [(g.id, g.effect) for g in decision.guards]


def test_the_contacts_of_other_loans_are_not_the_cases_facts(lender: Policy) -> None:
    """Nothing but the caps reads them: the case's own history drives its rules."""
    talks = [call(24 * d + 1, "no_answer") for d in range(1, 4)]
    own = lender.explain(m1_case("C-2", []), as_of=AS_OF, portfolio=BOOK).facts
    shared = lender.explain(
        m1_case("C-2", [], debtor_contacts=talks), as_of=AS_OF, portfolio=BOOK
    ).facts
    assert own == shared


def test_the_us_seven_in_seven_stays_per_debt() -> None:
    """Regulation F counts calls "in connection with the collection of a particular debt"
    (12 CFR 1006.14(b)(2)): the rolling cap does not pool, the per-day ones do."""
    us = load_policy(ROOT / "rules" / "us_cards.yaml")
    zone = ZoneInfo("America/New_York")
    as_of = datetime(2026, 11, 20, 10, 0, tzinfo=zone)
    calls = [
        {
            "at": (as_of - timedelta(days=d, hours=1)).isoformat(),
            "channel": "call",
            "party_id": "P-0001",
            "outcome": "no_answer",
        }
        for d in range(1, 8)
    ]
    data = m1_case("C-2", [], debtor_contacts=calls)
    data["loan"] |= {"product": "credit_card", "currency": "USD"}
    data["borrower"]["timezone"] = "America/New_York"
    data["delinquency"]["dpd"] = 40
    decision = us.decide(data, as_of=as_of, portfolio=BOOK)
    assert "rolling_calls" not in [g.id for g in decision.guards]


def test_a_batch_gives_each_case_its_borrowers_other_contacts() -> None:
    first = m1_case("C-1", [call(1), call(2)])
    second = m1_case("C-2", [call(3)])
    other = m1_case("C-3", [call(1)])
    other["borrower"]["party_id"] = "P-0009"
    other["contacts"] = [dict(c, party_id="P-0009") for c in other["contacts"]]
    old = m1_case("C-4", [call(24 * 5)])  # five days ago: no cap counts it
    lines: list[Any] = [
        json.dumps(first),
        json.dumps(second).encode(),
        other,
        parse_case(old),
        "{not json",
        b"",
        json.dumps({"case_id": "X", "borrower": {"party_id": "P-0001"}, "contacts": [{"at": 1}]}),
    ]
    pool = DebtorContacts.of(lines, as_of=AS_OF)
    one, two = parse_case(first), parse_case(second)
    assert [c.at for c in pool.others(one)] == [datetime.fromisoformat(call(3)["at"])]
    assert len(pool.others(two)) == 2  # C-1's two calls (its notice of June is long past)
    assert pool.others(parse_case(other)) == ()
    assert pool.share(one).debtor_contacts == pool.others(one)
    assert pool.share(parse_case(other)) == parse_case(other)  # nothing to add: the same case


@given(st.lists(st.one_of(st.binary(max_size=200), st.text(max_size=200)), max_size=20))
def test_reading_a_batch_for_contacts_never_fails(lines: list[Any]) -> None:
    DebtorContacts.of(lines, as_of=AS_OF)


def test_the_command_line_defers_the_call_about_the_other_loan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two loans of one borrower in one file: the lender called about the first three times
    today, so the second's call waits until tomorrow — serially, with the agencies (as `place`
    decides), from a pipe, and in worker processes."""
    from dunning.cli import main

    cases = tmp_path / "cases.jsonl"
    lines = [m1_case("C-1", [call(1), call(2), call(3)]), m1_case("C-2", [])]
    cases.write_text("".join(json.dumps(c) + "\n" for c in lines), encoding="utf-8")
    common = ["--policy", str(LENDER), "--as-of", AS_OF.isoformat(), "--overdue-customers", "500"]
    agencies = ["--agencies", str(ROOT / "rules" / "agencies.yaml")]

    def second(out: str) -> Any:
        decision = json.loads(out.splitlines()[1])
        assert decision["case_id"] == "C-2"
        return decision["action"]["not_before"]

    for extra in ([], agencies):
        assert main(["decide", *common, *extra, str(cases)]) == 0
        assert second(capsys.readouterr().out) == TOMORROW_8.isoformat()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(cases.read_bytes())))
    assert main(["decide", *common, "-"]) == 0
    assert second(capsys.readouterr().out) == TOMORROW_8.isoformat()
    done = run_dunning("decide", *common, "--jobs", "2", str(cases))  # spawned workers
    assert done.returncode == 0, done.stderr
    assert second(done.stdout) == TOMORROW_8.isoformat()
