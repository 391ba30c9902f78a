"""The Rete engine (durable-rules): it decides exactly like the compiled engine, and the
measured traps of durable-rules are handled, each with its regression test."""

from __future__ import annotations

import gc
import json
import sys
import threading
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import SLOW
from dunning import (
    FACTS,
    Case,
    ConfigError,
    DunningError,
    Policy,
    Portfolio,
    RuleEngineError,
    load_policy,
    read_cases,
)
from dunning.agencies import is_agencies_file
from dunning.agency.procedure import is_procedure_file
from policy_helpers import CHANNEL, load, policy_text, write
from policy_strategies import fact_value_overrides, policy_texts
from strategies import fact_views, full_cases

ROOT = Path(__file__).resolve().parent.parent
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 13), reason="durable-rules does not import on CPython 3.13+"
)


def both(path: Path, **kw: Any) -> tuple[Policy, Policy]:
    return load_policy(path, **kw), load_policy(path, engine="rete", **kw)


def rete_engine(policy: Policy) -> Any:
    """The policy's rules on a Rete engine of the test's own, built from its public IR."""
    from dunning.engines.rete import ReteEngine

    return ReteEngine(policy.ir, policy.digest)


def outcome_of(policy: Policy, facts: dict[str, Any]) -> tuple[Any, ...]:
    o = policy.evaluate(facts)
    recall = policy.evaluate_recall(facts)
    # The explanation's trace agrees: the first rule it says matched is the one that won.
    traced = {
        group: next((t.rule.id for t in traces if t.matched), None)
        for group, traces in policy.trace(facts).items()
    }
    assert traced == {
        "recall": recall.id if recall else None,
        "channel": o.channel.id,
        "fees": o.fees.id,
        "commission": o.commission.id,
    }
    return (
        recall.id if recall else None,
        o.channel.id,
        o.fees.id,
        o.fee_values,
        o.commission.id,
        o.commission_rate,
    )


def reference(policy: Policy, facts: dict[str, Any]) -> tuple[Any, ...]:
    """What the reference semantics (closures of the checked tree) decide: the third opinion."""
    from dunning.engines.interpret import evaluator

    won = {
        group: next((r for r in rules if r.when is None or evaluator(r.when)(facts)), None)
        for group, rules in policy.ir.groups.items()
    }
    channel, fee_rule, commission_rule = won["channel"], won["fees"], won["commission"]
    assert channel is not None and fee_rule is not None and commission_rule is not None
    fees, commission = fee_rule.outcome, commission_rule.outcome
    assert isinstance(fees, Mapping) and isinstance(commission, Mapping)
    fee_values = {key: evaluator(node)(facts) for key, node in fees.items()}
    rate = evaluator(commission["commission_rate"])(facts)
    recall = won.get("recall")
    return (
        recall.id if recall else None,
        channel.id,
        fee_rule.id,
        fee_values,
        commission_rule.id,
        rate,
    )


# -- proof of equivalence ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in (ROOT / "rules").glob("*.yaml")
        if not p.name.endswith(".tests.yaml")
        and not is_agencies_file(p)
        and not is_procedure_file(p)
    ),
    ids=lambda p: p.name,
)
def test_every_shipped_policy_decides_the_portfolio_identically(path: Path) -> None:
    compiled, rete = both(path)

    def run(policy: Policy) -> bytes:
        with PORTFOLIO.open(encoding="utf-8") as lines:
            results = policy.decide_many(read_cases(lines), as_of=AS_OF, portfolio="batch")
            return b"\n".join(
                r.model_dump_json().encode()
                if hasattr(r, "model_dump_json")
                else json.dumps(r.to_dict()).encode()  # type: ignore[union-attr]
                for r in results
            )

    assert run(rete) == run(compiled)


@settings(
    max_examples=5000 if SLOW else 30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
)
@given(policy_texts(), st.data())
def test_generated_policies_decide_identically(tmp_path_factory: Any, text: str, data: Any) -> None:
    path = tmp_path_factory.mktemp("policy") / "generated.yaml"
    path.write_text(text, encoding="utf-8")
    compiled = load_policy(path)
    try:
        rete = load_policy(path, engine="rete")
    except RuleEngineError as error:
        refusal = str(error)
    else:
        refusal = ""
    # The documented limit: integers must provably fit in 63 bits. Rare in generated policies
    # (a few in a hundred), and the refusal is clear and comes at load time.
    limits = ("63 bits", "too large", "and/or groups per rule")
    assert not refusal or any(limit in refusal for limit in limits), refusal
    assume(not refusal)
    overrides = fact_value_overrides()
    for _ in range(12):
        facts = data.draw(fact_views())
        for name, values in overrides.items():
            if data.draw(st.booleans()):
                facts[name] = data.draw(st.sampled_from(values))
        expected = outcome_of(compiled, facts)
        assert outcome_of(rete, facts) == expected, facts
        assert reference(compiled, facts) == expected, facts
    case = data.draw(full_cases())
    assert _decision(rete, case) == _decision(compiled, case)


def _decision(policy: Policy, case: Case) -> str:
    try:
        return policy.decide(case, as_of=AS_OF, portfolio=Portfolio(60)).model_dump_json()
    except DunningError as error:
        return f"error: {error}"


AWKWARD = [
    ('product in ["mortgage", "credit_card"]', {"product": "credit_card"}, True),
    ('product not in ["mortgage"]', {"product": "mortgage"}, False),
    ('rating not in ["A"]', {"rating": None}, False),
    ('not (rating in ["A"])', {"rating": None}, True),
    ("1 <= dpd <= 30", {"dpd": 30}, True),
    ("1 <= dpd < 30", {"dpd": 30}, False),
    ("dpd not in 31..90", {"dpd": 91}, True),
    ("not (dpd in 31..90)", {"dpd": 45}, False),
    (
        "overdue_principal + overdue_interest == 0.30",
        {"overdue_principal": Decimal("0.10"), "overdue_interest": Decimal("0.20")},
        True,
    ),
    (
        "total_due / principal * 3 == 1",
        {"total_due": Decimal("1.00"), "principal": Decimal("3.00")},
        True,
    ),
    (
        "total_due / collateral_value > 0.5",
        {"total_due": Decimal("1.00"), "collateral_value": Decimal("0")},
        False,
    ),
    (
        "not (total_due / collateral_value > 0.5)",
        {"total_due": Decimal("1.00"), "collateral_value": Decimal("0")},
        True,
    ),
    ("days_since_last_contact >= 3", {"days_since_last_contact": None}, False),
    ("not (days_since_last_contact >= 3)", {"days_since_last_contact": None}, True),
    ("days_since_last_contact == null", {"days_since_last_contact": None}, True),
    ("min(dpd, calls_7d) >= 2", {"dpd": 5, "calls_7d": 1}, False),
    ("max(dpd, calls_7d) >= 2 and abs(-dpd) == 5", {"dpd": 5, "calls_7d": 1}, True),
    ("annual_rate * 1.5 == 0.27", {"annual_rate": Decimal("0.18")}, True),
    (
        "placement_rate < annual_rate",
        {"placement_rate": None, "annual_rate": Decimal("0.18")},
        False,
    ),
    ("total_due >= large", {"total_due": Decimal("50000.00")}, True),
    ("not lost_contact and dispute", {"lost_contact": False, "dispute": True}, True),
]


@pytest.mark.parametrize(("condition", "facts", "expected"), AWKWARD, ids=[a[0] for a in AWKWARD])
def test_awkward_conditions(
    tmp_path: Path,
    condition: str,
    facts: dict[str, Any],
    expected: bool,
    base_facts: dict[str, Any],
) -> None:
    head = "params:\n  large: {type: money, default: '50000.00'}\n"
    channel = CHANNEL.replace("when: dpd == 0", f"when: '{condition}'")
    text = policy_text(channel=channel).replace("rules:\n", head + "rules:\n")
    path = write(tmp_path, text)
    view = base_facts | facts
    for policy in both(path):
        assert (policy.evaluate(view).channel.id == "current") is expected, policy.engine
        assert (reference(policy, view)[1] == "current") is expected


@pytest.fixture
def base_facts() -> dict[str, Any]:
    """A plain fact view; each awkward case overrides what it tests."""
    from conftest import case_dict
    from dunning import assess, parse_case
    from dunning.facts import fact_view

    case = parse_case(case_dict())
    return fact_view(case, assess(case, AS_OF), AS_OF, Portfolio(0))


# -- the traps of durable-rules -----------------------------------------------------------------


def _overdue(i: int, dpd: int) -> dict[str, Any]:
    from conftest import case_dict

    snapshot = {"dpd": dpd, "overdue_principal": "100.00", "overdue_interest": "0"}
    return case_dict(case_id=f"C-{i}", delinquency=snapshot)


def test_five_thousand_decisions_in_a_row_fit_in_1024_sessions(tmp_path: Path) -> None:
    # Rules that match nothing for most cases: durable-rules keeps a session even then.
    channel = CHANNEL.replace("when: dpd == 0", "when: dpd == 12345")
    rete = load(tmp_path, policy_text(channel=channel), engine="rete")
    for i in range(5000):
        assert rete.decide(_overdue(i, i % 200), as_of=AS_OF).action.channel == "call"


def test_post_batch_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from durable import engine

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("batch posting defers actions to a background thread")

    monkeypatch.setattr(engine.Ruleset, "assert_events", refuse)
    monkeypatch.setattr(engine.Ruleset, "assert_facts", refuse)
    monkeypatch.setattr(engine.Host, "post_batch", refuse)
    rete = load_policy(ROOT / "rules" / "lender.yaml", engine="rete")
    batch = [_overdue(i, 100) for i in range(60)]
    decisions = list(rete.decide_many(batch, as_of=AS_OF, portfolio=Portfolio(100)))
    assert {d.action.channel for d in decisions} == {"outsource"}  # type: ignore[union-attr]


def test_an_exception_inside_durable_rules_is_surfaced_with_the_rule_id(
    tmp_path: Path, base_facts: dict[str, Any]
) -> None:
    engine = rete_engine(load(tmp_path, policy_text()))
    action = engine.ruleset._actions["channel.0"]  # durable-rules' own record of the rule's action
    original = action._func

    def broken(c: Any) -> None:
        original(c)
        raise RuntimeError("boom")

    action._func = broken
    facts = base_facts | {"dpd": 0}
    with pytest.raises(DunningError, match=r"rule current: exception caught boom"):
        engine.run(facts)
    action._func = original
    assert engine.run(facts).channel.id == "current"


def test_eight_threads_at_once_get_identical_results() -> None:
    # 400 cases twice over in the slow profile; 150 once in `make test` (8.5 s → 3): the eight
    # threads still decide at the same time throughout.
    compiled, rete = both(ROOT / "rules" / "lender.yaml")
    cases = [
        c
        for c in read_cases(
            PORTFOLIO.read_text(encoding="utf-8").splitlines()[: 400 if SLOW else 150]
        )
        if isinstance(c, Case) and c.loan.product.value != "credit_card"
    ]
    expected = [compiled.decide(c, as_of=AS_OF, portfolio=Portfolio(60)) for c in cases]
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(2 if SLOW else 1):
                got = [rete.decide(c, as_of=AS_OF, portfolio=Portfolio(60)) for c in cases]
                assert got == expected
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_the_same_policy_loads_twice_under_unique_ruleset_names() -> None:
    first = load_policy(ROOT / "rules" / "lender.yaml", engine="rete")
    second = load_policy(ROOT / "rules" / "lender.yaml", engine="rete")
    assert first.digest == second.digest
    assert rete_engine(first).ruleset_name != rete_engine(second).ruleset_name
    book = Portfolio(0)
    one, two = (p.decide(_overdue(1, 5), as_of=AS_OF, portfolio=book) for p in (first, second))
    assert one == two


def test_priority_decides_in_python_not_in_durable_rules(tmp_path: Path) -> None:
    channel = """\
    - id: low
      when: dpd >= 1
      then: {channel: sms}
    - id: high
      priority: 5
      when: dpd >= 1
      then: {channel: field_visit}
    - id: late
      then: {channel: call}"""
    for policy in both(write(tmp_path, policy_text(channel=channel))):
        assert policy.decide(_overdue(1, 3), as_of=AS_OF).rules[0] == "high"


def test_membership_compiles_to_or_not_in(tmp_path: Path) -> None:
    channel = CHANNEL.replace("when: dpd == 0", 'when: rating in ["A", "B"]')
    text = json.dumps(rete_engine(load(tmp_path, policy_text(channel=channel))).conditions)
    assert "$in" not in text and "$or" in text


def test_money_is_compared_as_integer_minor_units(tmp_path: Path) -> None:
    channel = CHANNEL.replace("when: dpd == 0", "when: total_due >= 50000.01")
    engine = rete_engine(load(tmp_path, policy_text(channel=channel)))
    assert engine.conditions["channel.0"] == {"$and": [{"_0": 0}, {"$gte": {"total_due": 5000001}}]}
    facts = dict.fromkeys(FACTS) | {"total_due": Decimal("0.30")}
    assert engine.encode(facts)["total_due"] == 30


def test_memory_stays_flat_over_load_and_decide_cycles(tmp_path: Path) -> None:
    # 1,000 cycles in the slow profile, 60 in `make test`; 20 KiB a cycle would be a leak.
    path = ROOT / "rules" / "lender.yaml"
    case = _overdue(1, 95)
    cycles = 1000 if SLOW else 60

    def cycle() -> None:
        policy = load_policy(path, engine="rete")
        policy.decide(case, as_of=AS_OF, portfolio=Portfolio(0))

    for _ in range(cycles // 5):  # warm up allocator pools and caches
        cycle()
    gc.collect()
    before = _rss_kib()
    for _ in range(cycles):
        cycle()
    gc.collect()
    grown = _rss_kib() - before
    assert grown < 20 * cycles, f"resident memory grew by {grown} KiB over {cycles:,} cycles"


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_explain_works_on_the_rete_engine() -> None:
    rete = load_policy(ROOT / "rules" / "lender.yaml", engine="rete")
    explanation = rete.explain(_overdue(1, 40), as_of=AS_OF, portfolio=Portfolio(0))
    assert explanation.winners["channel"] == "field-visit-m2-m3"
    assert "=> field-visit-m2-m3" in explanation.render()


# -- packaging: CPython 3.13+ -----------------------------------------------------------------


def test_on_python_3_13_the_rete_engine_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from dunning.engines import rete

    monkeypatch.setattr(rete.sys, "version_info", (3, 13, 0, "final", 0))
    with pytest.raises(ConfigError, match=r"does not import on Python 3.13.*engine='compiled'"):
        load_policy(ROOT / "rules" / "lender.yaml", engine="rete")


# -- regressions found while building the engine ----------------------------------------------


def test_a_condition_beyond_durable_rules_limits_is_refused_at_load(tmp_path: Path) -> None:
    # durable-rules refuses more than 31 and/or markers in one rule (error 113).
    condition = " or ".join(f"(dpd == {n} and calls_7d == 0)" for n in range(16))
    channel = CHANNEL.replace("when: dpd == 0", f"when: '{condition}'")
    path = write(tmp_path, policy_text(channel=channel))
    with pytest.raises(RuleEngineError, match=r"rule current: .*15 and/or groups per rule"):
        load_policy(path, engine="rete")
    assert load_policy(path).decide(_overdue(1, 15), as_of=AS_OF).rules[0] == "current"


def test_repeated_tests_are_merged(tmp_path: Path) -> None:
    # Found by the slow differential run: a condition repeating itself hit durable's limit.
    condition = " and ".join(["(principal / principal == 1)"] * 20) + " and dpd > 0"
    channel = CHANNEL.replace("when: dpd == 0", f"when: '{condition}'")
    for policy in both(write(tmp_path, policy_text(channel=channel))):
        assert policy.decide(_overdue(1, 5), as_of=AS_OF).rules[0] == "current"


def test_a_policy_of_fallbacks_only_runs_on_rete(tmp_path: Path) -> None:
    # durable-rules segfaulted on a fact asserted into a ruleset without rules.
    channel = "    - id: only\n      then: {channel: call}"
    rete = load(tmp_path, policy_text(channel=channel), engine="rete")
    assert rete.decide(_overdue(1, 5), as_of=AS_OF).rules[0] == "only"


def test_a_missing_fact_condition_does_not_loop_forever(tmp_path: Path) -> None:
    # "$nex" also matched durable-rules' own session state, refiring on every state update.
    channel = CHANNEL.replace("when: dpd == 0", "when: rating == null")
    for policy in both(write(tmp_path, policy_text(channel=channel))):
        assert policy.decide(_overdue(1, 5), as_of=AS_OF, portfolio=Portfolio(0)).rules[0] == "late"
        unrated = _overdue(2, 5) | {"rating": None}
        assert policy.decide(unrated, as_of=AS_OF).rules[0] == "current"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("principal == 0.01 / 3 * 3 * 1200000", True),  # exact: no 28-digit rounding of 1/3
        ("principal == abs(-12000.00)", True),  # a constant call is folded to a literal
        ("total_due / 3 * 3 == total_due", True),
    ],
)
def test_constant_arithmetic_is_exact_in_both_engines(
    tmp_path: Path, condition: str, expected: bool
) -> None:
    channel = CHANNEL.replace("when: dpd == 0", f"when: '{condition}'")
    for policy in both(write(tmp_path, policy_text(channel=channel))):
        decided = policy.decide(_overdue(1, 5), as_of=AS_OF).rules[0]
        assert (decided == "current") is expected, policy.engine


def test_cli_decides_with_the_rete_engine(capsys: pytest.CaptureFixture[str]) -> None:
    from dunning.cli import main

    argv = [
        "decide",
        "--policy",
        str(ROOT / "rules" / "lender.yaml"),
        "--as-of",
        AS_OF.isoformat(),
        "--skip-uncovered",
        str(PORTFOLIO),
    ]
    assert main(argv) == 0
    compiled = capsys.readouterr().out
    assert main([*argv, "--engine", "rete"]) == 0
    assert capsys.readouterr().out == compiled
