"""The Policy API: decide_many, explain, determinism, totality on real cases, the CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import traceback
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given

from conftest import NOTICE, case_dict
from dunning import (
    FACTS,
    Case,
    CaseError,
    ConfigError,
    Decision,
    Portfolio,
    load_policy,
    loads_policy,
    read_cases,
)
from dunning.cli import main
from policy_helpers import CHANNEL, load, policy_text
from strategies import full_cases

ROOT = Path(__file__).resolve().parent.parent
LENDER = ROOT / "rules" / "lender.yaml"
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def lender() -> Any:
    return load_policy(LENDER)


def overdue(case_id: str, borrower: str, dpd: int) -> dict[str, Any]:
    snapshot = {"dpd": dpd, "overdue_principal": "100.00", "overdue_interest": "0"}
    return case_dict(
        case_id=case_id,
        borrower__party_id=borrower,
        delinquency=snapshot,
        contacts=[NOTICE | {"party_id": borrower}],
        promises=[],
        related_parties=[],
    )


def test_decide_many_counts_overdue_borrowers_in_the_batch_when_asked(lender: Any) -> None:
    batch = [overdue(f"C-{i}", f"P-{i % 60}", 150) for i in range(70)]  # 60 distinct borrowers
    results = list(lender.decide_many(batch, as_of=AS_OF, portfolio="batch"))
    assert [r.action.channel for r in results] == ["outsource"] * 70
    few = list(lender.decide_many(batch[:10], as_of=AS_OF, portfolio="batch"))
    assert {r.action.channel for r in few} == {"field_visit"}  # early phase: 10 < 50
    given_book = list(lender.decide_many(batch[:10], as_of=AS_OF, portfolio=Portfolio(80)))
    assert {r.action.channel for r in given_book} == {"outsource"}


def test_decide_many_keeps_order_and_yields_errors_in_place(lender: Any) -> None:
    lines = [
        json.dumps(overdue("C-1", "P-1", 5)),
        "{broken",
        json.dumps(case_dict(case_id="C-3", loan__product="credit_card")),
        json.dumps(overdue("C-4", "P-4", 40)),
    ]
    results = list(lender.decide_many(read_cases(lines), as_of=AS_OF, portfolio=Portfolio(0)))
    assert [type(r).__name__ for r in results] == ["Decision", "CaseError", "CaseError", "Decision"]
    assert results[1].line == 2
    assert results[2].problems[0].code == "product_not_covered"


def test_explain_lists_every_rule_and_the_failing_part(lender: Any) -> None:
    explanation = lender.explain(overdue("C-1", "P-1", 40), as_of=AS_OF, portfolio=Portfolio(0))
    channel = {t.rule.id: t for t in explanation.groups["channel"]}
    assert explanation.winners["channel"] == "field-visit-m2-m3"
    assert channel["not-overdue"].failed == "dpd == 0"
    assert channel["cf-outsource-lost-contact"].failed == "lost_contact"
    assert channel["field-visit-m2-m3"].matched
    text = explanation.render()
    assert "=> field-visit-m2-m3" in text and "failed at: dpd == 0" in text
    assert "overdue_customers = 0" in text


def test_generated_source_and_decisions_are_deterministic(lender: Any) -> None:
    again = load_policy(LENDER)
    assert again.source == lender.source and again.digest == lender.digest
    script = (
        "import hashlib, sys\n"
        "from dunning import load_policy, read_cases\n"
        "p = load_policy(sys.argv[1])\n"
        "out = [r.model_dump_json() if hasattr(r, 'model_dump_json') else str(r)\n"
        "       for r in p.decide_many(read_cases(open(sys.argv[2], encoding='utf-8')),\n"
        "                              as_of=__import__('datetime').date(2026, 11, 28),\n"
        "                              portfolio='batch')]\n"
        "print(hashlib.sha256(p.source.encode()).hexdigest(),"
        " hashlib.sha256('\\n'.join(out).encode()).hexdigest())\n"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", script, str(LENDER), str(PORTFOLIO)],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1
    source_hash = runs.pop().split()[0]
    assert source_hash == hashlib.sha256(lender.source.encode()).hexdigest()


def test_outcomes_from_the_prebuilt_table_equal_built_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    # Policies with few rule combinations return prebuilt outcomes; larger ones build each. A
    # commission computed from the case goes through the building path even with a table.
    text = LENDER.read_text(encoding="utf-8").replace(
        "    - table: commission-by-stage",
        "    - id: rate-by-contract\n"
        "      when: annual_rate >= 0.2\n"
        "      then: {commission_rate: annual_rate / 2}\n"
        "    - table: commission-by-stage",
    )
    with_table = loads_policy(text)
    monkeypatch.setattr("dunning.engines.compiled.TABLE_LIMIT", 0)
    built = loads_policy(text)
    assert "_OUT" in with_table.source and "_OUT" not in built.source
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()
    from_table = list(with_table.decide_many(lines, as_of=AS_OF, portfolio="batch"))

    def dumped(results: list[Any]) -> list[Any]:
        return [r.model_dump_json() if isinstance(r, Decision) else r.to_dict() for r in results]

    rebuilt = built.decide_many(lines, as_of=AS_OF, portfolio="batch")
    assert dumped(list(rebuilt)) == dumped(from_table)
    computed = [
        d for d in from_table if isinstance(d, Decision) and d.rules[-1:] == ("rate-by-contract",)
    ]
    assert computed  # the commission read from the case went through the building path


def test_an_error_inside_a_compiled_rule_shows_the_rule_file_line(lender: Any) -> None:
    # A fact of the wrong type (a host's bug) fails inside the generated code: the traceback
    # names the rule file, the line of the condition and the part of it that failed.
    facts = dict.fromkeys(FACTS) | {"product": "consumer_finance", "dpd": "ten"}
    with pytest.raises(TypeError) as info:
        lender.evaluate(facts)
    frame = traceback.extract_tb(info.value.__traceback__)[-1]
    text = LENDER.read_text(encoding="utf-8").splitlines()
    rule = next(i for i, line in enumerate(text) if "id: cf-early-phase-in-house" in line)
    when = rule + 3  # the folded condition's first line: `product == ... and dpd >= 91`
    assert (frame.filename, frame.lineno, frame.name) == (str(LENDER), when, "decide")
    assert frame.line == text[when - 1].strip()
    shown = "".join(traceback.format_exception(info.value)).splitlines()
    row = shown.index("    " + text[when - 1].strip())
    caret = shown[row + 1]
    marked = text[when - 1].strip()[caret.index("^") - 4 : caret.rindex("^") - 3]
    assert marked == "dpd >= 91"


def test_an_error_in_a_computed_outcome_points_at_the_outcome(tmp_path: Path) -> None:
    fees = """\
    - id: fee
      when: dpd >= 1
      then:
        collection_fee: "total_due * 0.01 + principal"
    - id: fee-fallback
      then: {collection_fee: 0}"""
    policy = load(tmp_path, policy_text(fees=fees))
    facts = dict.fromkeys(FACTS) | {"dpd": 5, "total_due": Decimal(100), "principal": "x"}
    with pytest.raises(ArithmeticError) as info:
        policy.evaluate(facts)
    (frame,) = [f for f in traceback.extract_tb(info.value.__traceback__) if f.name == "decide"]
    assert frame.filename == str(tmp_path / "policy.yaml")
    assert frame.line == 'collection_fee: "total_due * 0.01 + principal"'


@given(full_cases())
def test_every_valid_case_of_a_covered_product_gets_a_decision(lender: Any, case: Case) -> None:
    if case.loan.product.value not in lender.ir.products:
        with pytest.raises(CaseError):
            lender.decide(case, as_of=AS_OF)
        return
    decision = lender.decide(case, as_of=AS_OF, portfolio=Portfolio(100))
    assert isinstance(decision, Decision) and len(decision.rules) >= 2
    assert decision.policy.digest == lender.digest


def test_as_of_must_be_aware(lender: Any) -> None:
    book = Portfolio(0)
    with pytest.raises(ConfigError, match="timezone-aware"):
        lender.decide(overdue("C-1", "P-1", 5), as_of=datetime(2026, 11, 28, 10, 0), portfolio=book)
    d = lender.decide(overdue("C-1", "P-1", 5), as_of=date(2026, 11, 28), portfolio=book)
    assert d.as_of.isoformat() == "2026-11-28T00:00:00+08:00"


def test_unknown_engine(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown engine"):
        load(tmp_path, policy_text(), engine="drools")


def test_a_computed_value_out_of_range_is_a_case_error(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        policy_text(
            channel=CHANNEL.replace("{channel: call}", "{channel: outsource}"),
            commission="    - id: by-amount\n      then: {commission_rate: principal / total_due}",
        ),
    )
    with pytest.raises(CaseError) as info:
        policy.decide(overdue("C-1", "P-1", 5), as_of=AS_OF)  # 12000 / 100 = 120: not a rate
    assert info.value.problems[0].code == "bad_outcome"


# -- the command line ------------------------------------------------------------------------


def test_cli_decide_jsonl_matches_the_library(
    tmp_path: Path, lender: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps(overdue("C-1", "P-1", 5)),
        "not json",
        json.dumps(case_dict(case_id="C-3", loan__product="credit_card")),
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status = main(["decide", "--policy", str(LENDER), "--as-of", AS_OF.isoformat(), str(path)])
    out = capsys.readouterr().out.splitlines()
    assert status == 1 and len(out) == 3
    expected = lender.decide(json.loads(lines[0]), as_of=AS_OF, portfolio=Portfolio(1))
    assert out[0] == expected.model_dump_json()
    assert json.loads(out[1])["line"] == 2 and json.loads(out[1])["error"]["code"] == "invalid_json"
    third = json.loads(out[2])
    assert third["line"] == 3 and third["case_id"] == "C-3"
    assert third["error"] == {
        "code": "product_not_covered",
        "path": "loan.product",
        "message": third["error"]["message"],
    }
    status = main(
        [
            "decide",
            "--policy",
            str(LENDER),
            "--as-of",
            AS_OF.isoformat(),
            "--skip-uncovered",
            str(path),
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert status == 1 and "skipped" in json.loads(out[2])


def test_cli_decide_params_and_overdue_customers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(overdue("C-1", "P-1", 100)) + "\n", encoding="utf-8")
    argv = ["decide", "--policy", str(LENDER), "--as-of", "2026-11-28", str(path)]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["action"]["channel"] == "field_visit"
    assert main([*argv, "--overdue-customers", "60"]) == 0
    assert json.loads(capsys.readouterr().out)["action"]["channel"] == "outsource"
    assert main([*argv, "--param", "outsourcing_min_overdue_customers=1"]) == 0
    assert json.loads(capsys.readouterr().out)["action"]["channel"] == "outsource"
    assert main([*argv, "--param", "no_such=1"]) == 1
    assert "unknown-param" in capsys.readouterr().err
    assert main([*argv, "--param", "oops"]) == 2


def test_cli_decide_table_summary(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "decide",
        "--policy",
        str(LENDER),
        "--as-of",
        "2026-11-28T10:00:00+08:00",
        "--format",
        "table",
        "--skip-uncovered",
        str(PORTFOLIO),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Decisions by product and channel" in out and "Going to agencies" in out
    assert "Skipped, not covered by this policy: credit card 165" in out
    assert "Compliance guards" in out and "Charges cut to the cap" in out
    channels = out.split("Decisions by product and channel\n")[1].split("\n\n")[0]
    rows = {
        line.split()[0]: line.split()[1:]
        for line in channels.splitlines()
        if line.startswith(("  mortgage", "  vehicle_pledge"))
    }
    assert rows["mortgage"][5] == "0" and rows["vehicle_pledge"][5] == "0"  # never outsourced


def test_cli_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(overdue("C-1", "P-1", 40)), encoding="utf-8")
    argv = ["explain", "--policy", str(LENDER), "--as-of", "2026-11-28", str(path)]
    assert main([*argv, "--overdue-customers", "10"]) == 0
    out = capsys.readouterr().out
    assert "=> field-visit-m2-m3" in out and "commission:" in out
    assert "overdue_customers = 10" in out
    # The lender's rules read the figure: explain will not guess it.
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "reads the portfolio figure overdue_customers" in err and "--overdue-customers" in err


@pytest.mark.parametrize("kind", ["case", "decision", "policy"])
def test_cli_schema(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object" and schema["properties"]


def test_policy_schema_accepts_the_shipped_policy(capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    main(["schema", "policy"])
    schema = json.loads(capsys.readouterr().out)
    data = yaml.safe_load(LENDER.read_text(encoding="utf-8"))
    assert set(data) <= set(schema["properties"])
    for group, rules in data["rules"].items():
        rule_schema, table_schema = schema["properties"]["rules"]["properties"][group]["items"][
            "oneOf"
        ]
        for rule in rules:
            if "table" in rule:
                assert set(rule) <= set(table_schema["properties"])
                assert set(rule["outputs"]) <= set(
                    table_schema["properties"]["outputs"]["items"]["enum"]
                )
                continue
            keys = rule_schema["properties"]
            assert set(rule) <= set(keys)
            assert set(rule["then"]) <= set(keys["then"]["properties"])


def test_every_amount_of_a_decision_is_at_the_minor_unit(lender: Any) -> None:
    snapshot = {"dpd": 40, "overdue_principal": "1000", "overdue_interest": "5", "fees": "0"}
    d = lender.decide(
        case_dict(delinquency=snapshot, contacts=[NOTICE], promises=[]),
        as_of=AS_OF,
        portfolio=Portfolio(0),
    )
    terms = json.loads(d.model_dump_json())["fee_terms"]
    money = ("overdue_principal", "overdue_interest", "penalty_interest", "other_fees")
    for name in (*money, "collection_fee", "on_hold", "total_due"):
        assert len(terms[name].partition(".")[2]) == 2, (name, terms[name])
    assert (terms["other_fees"], terms["on_hold"], terms["overdue_principal"]) == (
        "0.00",
        "0.00",
        "1000.00",
    )


def test_decide_many_gives_line_numbers_to_every_record_of_read_cases(lender: Any) -> None:
    lines = [
        json.dumps(overdue("C-1", "P-1", 5)),
        "",
        json.dumps(case_dict(case_id="C-3", loan__product="credit_card")),
    ]
    for book in (Portfolio(0), "batch"):
        results = list(lender.decide_many(read_cases(lines), as_of=AS_OF, portfolio=book))
        error = results[1]
        assert isinstance(error, CaseError) and error.problems[0].code == "product_not_covered"
        assert error.line == 3  # the blank line 2 is no record, and is counted


def test_cli_explain_picks_a_case_from_a_file_and_shows_everything_the_decision_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["explain", "--policy", str(LENDER), "--as-of", "2026-11-28T23:00:00+08:00"]
    argv += ["--overdue-customers", "60", str(PORTFOLIO)]
    wanted = next(
        json.loads(line)["case_id"]
        for line in PORTFOLIO.read_text(encoding="utf-8").splitlines()
        if '"product": "consumer_finance"' in line
    )
    assert main([*argv, "--case-id", wanted]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"case {wanted} as of 2026-11-28T23:00:00+08:00")
    assert "\n  to: " in out and "not before: " in out and "\n  charges: penalty interest" in out
    assert "parameters (the values the rules used):" in out
    assert "  large_amount = 50000.00  (cf-outsource-large-amount)" in out
    assert main([*argv, "--case-id", "NO-SUCH"]) == 2
    assert "no case 'NO-SUCH' in the file" in capsys.readouterr().err
    assert main(argv) == 2  # a file of many cases, and no --case-id
    assert "the file holds 1200 cases: choose one with --case-id" in capsys.readouterr().err


def test_an_explanation_shows_the_message_and_the_moment(lender: Any) -> None:
    late = datetime(2026, 11, 28, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    text = lender.explain(overdue("C-1", "P-1", 3), as_of=late, portfolio=Portfolio(0)).render()
    assert "decision: sms" in text
    assert "not before: 2026-11-29T08:00:00+08:00" in text
    assert (
        "\n  message: overdue_notice (zh-CN, 1 SMS segment)\n    您的借款已逾期3天，当前应还"
        in text
    )
