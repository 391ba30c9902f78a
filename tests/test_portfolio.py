"""The portfolio figure is never guessed: given, counted on purpose, or not needed at all."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conftest import NOTICE, case_dict, us_card_case
from dunning import ConfigError, Portfolio, load_policy
from dunning.cli import main

ROOT = Path(__file__).resolve().parent.parent
LENDER = ROOT / "rules" / "lender.yaml"
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def lender() -> Any:
    return load_policy(LENDER)


def beyond_m3(
    case_id: str = "C-1", product: str = "consumer_finance", borrower: str = "P-0001"
) -> dict[str, Any]:
    snapshot = {"dpd": 100, "overdue_principal": "3000.00", "overdue_interest": "0"}
    changes: dict[str, Any] = {"loan__product": product, "borrower__party_id": borrower}
    if product == "mortgage":
        changes["loan__collateral"] = {"kind": "property", "value": "900000.00"}
    notice = NOTICE | {"party_id": borrower}
    return case_dict(
        case_id=case_id, delinquency=snapshot, contacts=[notice], promises=[], **changes
    )


def test_the_policy_knows_which_rules_read_the_figure(lender: Any) -> None:
    assert lender.portfolio_rules == (
        "cf-early-phase-in-house",
        "cf-outsource-lost-contact",
        "cf-outsource-large-amount",
    )
    assert load_policy(ROOT / "rules" / "us_cards.yaml").portfolio_rules == ()


def test_without_the_figure_a_decision_is_refused_not_guessed(lender: Any) -> None:
    with pytest.raises(ConfigError) as info:
        lender.decide(beyond_m3(), as_of=AS_OF)
    message = str(info.value)
    assert "reads the portfolio figure overdue_customers" in message
    assert "cf-early-phase-in-house" in message and "portfolio=dunning.Portfolio(" in message
    with pytest.raises(ConfigError):
        lender.explain(beyond_m3(), as_of=AS_OF)
    results = lender.decide_many([beyond_m3()], as_of=AS_OF)
    with pytest.raises(ConfigError):
        next(results)  # before any case is read


def test_a_policy_that_reads_no_figure_needs_none() -> None:
    us = load_policy(ROOT / "rules" / "us_cards.yaml")
    data = us_card_case({"dpd": 20, "overdue_principal": "150.00", "overdue_interest": "4.00"})
    assert us.decide(data, as_of=AS_OF).action.channel == "call"


def test_the_batch_is_counted_only_when_asked(lender: Any) -> None:
    batch = [beyond_m3(f"C-{i}", borrower=f"P-{i}") for i in range(60)]  # 60 borrowers
    counted = list(lender.decide_many(batch, as_of=AS_OF, portfolio="batch"))
    assert {d.action.channel for d in counted} == {"outsource"}  # 60 ≥ 50
    few = list(lender.decide_many(batch[:10], as_of=AS_OF, portfolio="batch"))
    assert {d.action.channel for d in few} == {"field_visit"}  # the early phase: 10 < 50


def test_a_figure_per_product_is_read_for_the_case_s_product(lender: Any) -> None:
    book = Portfolio({"consumer_finance": 10, "mortgage": 400})
    early = lender.decide(beyond_m3(), as_of=AS_OF, portfolio=book)
    assert early.action.channel == "field_visit"  # consumer finance is in its early phase
    assert lender.explain(beyond_m3(), as_of=AS_OF, portfolio=book).facts["overdue_customers"] == 10
    book = Portfolio({"consumer_finance": 500})
    assert lender.decide(beyond_m3(), as_of=AS_OF, portfolio=book).action.channel == "outsource"
    with pytest.raises(ConfigError, match="not for mortgage"):
        lender.decide(beyond_m3(product="mortgage"), as_of=AS_OF, portfolio=book)


@pytest.mark.parametrize(
    ("figure", "words"),
    [
        (-1, "at least 0"),
        (1.5, "whole number"),
        ({"consumer_finanse": 3}, "did you mean 'consumer_finance'"),
        ({"mortgage": -2}, "mortgage: -2 is not a count"),
    ],
)
def test_bad_figures_are_refused(figure: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        Portfolio(figure)


def test_the_command_line_takes_the_figure_whole_or_per_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(beyond_m3()) + "\n", encoding="utf-8")
    argv = ["decide", "--policy", str(LENDER), "--as-of", AS_OF.isoformat(), str(cases)]
    assert main([*argv, "--overdue-customers", "consumer_finance=10,mortgage=400"]) == 0
    assert json.loads(capsys.readouterr().out)["action"]["channel"] == "field_visit"
    assert main([*argv, "--overdue-customers", "500"]) == 0
    assert json.loads(capsys.readouterr().out)["action"]["channel"] == "outsource"
    # Without it the file is the batch, counted in a first pass: one borrower, the early phase.
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["action"]["channel"] == "field_visit"
    assert main([*argv, "--overdue-customers", "consumer_finance=ten"]) == 2
    assert "'ten' is not a whole number" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_run_says_which_figure_it_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    # A five-case test file decided an M5 case in-house, counting 1 overdue borrower, and
    # neither standard error nor --format json said so.
    import json

    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(beyond_m3()) + "\n", encoding="utf-8")
    argv = ["decide", "--policy", str(LENDER), "--as-of", AS_OF.isoformat(), "--jobs", jobs]
    assert main([*argv, str(cases)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("dunning: overdue_customers = 1: the distinct overdue borrowers of")
    assert "(read by cf-early-phase-in-house, cf-outsource-lost-contact" in err
    assert main([*argv, "--format", "json", str(cases)]) == 0
    said = capsys.readouterr()
    assert said.err == ""  # the report says it
    assert json.loads(said.out)["portfolio"] == {
        "overdue_customers": 1,
        "source": "counted",
        "rules": list(load_policy(LENDER).portfolio_rules),
    }
    per_product = ["--overdue-customers", "consumer_finance=3,mortgage=9"]  # pickled to workers
    assert main([*argv, "--format", "table", *per_product, str(cases)]) == 0
    said = "overdue_customers = consumer_finance=3, mortgage=9, as given (read by"
    assert said in capsys.readouterr().out
    us = ["--policy", str(ROOT / "rules" / "us_cards.yaml"), "--format", "json"]
    assert main(["decide", *us, "--as-of", AS_OF.isoformat(), str(cases)]) == 1
    assert json.loads(capsys.readouterr().out)["portfolio"] is None  # no rule reads it
    place = ["place", "--policy", str(LENDER), "--agencies", str(ROOT / "rules" / "agencies.yaml")]
    assert main([*place, "--as-of", AS_OF.isoformat(), "--format", "json", str(cases)]) == 0
    assert json.loads(capsys.readouterr().out)["portfolio"]["source"] == "counted"
