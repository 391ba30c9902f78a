"""dunning.testing: the strategies generate valid, shrinkable objects; each invariant helper
passes on a policy that keeps it and fails, with a counterexample, on one that breaks it."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import dunning
from dunning import Case, ContactAttempt, Loan, Payment, Policy, assess, load_policy, loads_policy
from dunning.testing import (
    PolicyInvariantError,
    assert_engines_agree,
    assert_guards_hold,
    assert_monotone,
    assert_never,
    assert_total,
    cases,
    contact_histories,
    default_examples,
    from_policy,
    loans,
    payments_for,
    policies,
    solve,
)
from policy_helpers import policy_text

ROOT = Path(__file__).resolve().parent.parent
LENDER = ROOT / "rules" / "lender.yaml"
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=timezone(timedelta(hours=8)))
FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
ORDER = ["none", "sms", "call", "field_visit", "outsource"]


@pytest.fixture(scope="module")
def lender() -> Policy:
    return load_policy(LENDER)


# --- strategies ----------------------------------------------------------------------------------


@FAST
@given(cases(products=["mortgage", "vehicle_pledge"], min_dpd=91, max_dpd=400, secured=True))
def test_cases_keep_their_options(case: Case) -> None:
    assert case.loan.secured and case.loan.product in ("mortgage", "vehicle_pledge")
    assert case.delinquency is not None and 91 <= case.delinquency.dpd <= 400
    Case.model_validate(case.model_dump())  # valid through the models, round trip included


@FAST
@given(cases(min_dpd=1, max_dpd=200, as_of=AS_OF))
def test_cases_with_as_of_compute_their_dpd_from_the_schedule(case: Case) -> None:
    assert 1 <= assess(case, AS_OF).dpd <= 200


def test_computed_delinquency_is_the_common_case() -> None:
    # A share of a distribution: measured on a fixed sample (derandomized), not on whichever 40
    # examples a run draws — 84 % over 2,000 draws, but a random 40 fell to half now and then.
    seen = []

    @settings(
        max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(cases(min_dpd=0, max_dpd=120, as_of=AS_OF))
    def run(case: Case) -> None:
        seen.append(case.delinquency is None)

    run()
    assert sum(seen) > len(seen) / 2


@FAST
@given(
    loans(products=["consumer_finance"], secured=False).flatmap(
        lambda loan: st.tuples(st.just(loan), payments_for(loan))
    )
)
def test_payments_fall_within_the_loans_life(pair: tuple[Loan, list[Payment]]) -> None:
    loan, payments = pair
    assert all(p.date >= loan.start_date for p in payments)
    assert [p.date for p in payments] == sorted(p.date for p in payments)


@FAST
@given(contact_histories(parties=["P-1", "P-2"], as_of=AS_OF, days=7))
def test_contact_histories_end_before_as_of(history: list[ContactAttempt]) -> None:
    assert all(AS_OF - timedelta(days=7) <= c.at < AS_OF for c in history)
    assert {c.party_id for c in history} <= {"P-1", "P-2"}


@pytest.mark.skipif(
    os.environ.get("HYPOTHESIS_PROFILE") != "slow",
    reason="shrinking through 500 examples takes 13 s, a twentieth of make test: make test-slow",
)
def test_strategies_shrink_to_small_examples() -> None:
    case = find(
        cases(min_dpd=0, max_dpd=2000),
        lambda c: c.delinquency is not None and c.delinquency.dpd > 100,
        settings=settings(database=None, max_examples=500),
    )
    assert case.delinquency is not None and case.delinquency.dpd == 101
    assert case.contacts == () and case.related_parties == ()


@FAST
@given(
    loans(
        min_principal="0.01",
        max_principal="0.05",
        max_term_months=360,
        min_start=date(2030, 1, 1),
        max_start=date(2030, 1, 31),
    )
)
def test_loan_options_bound_what_is_drawn(loan: Loan) -> None:
    assert Decimal("0.01") <= loan.principal <= Decimal("0.05")
    assert loan.term_months is not None and 1 <= loan.term_months <= 360
    assert date(2030, 1, 1) <= loan.start_date <= date(2030, 1, 31)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: cases(min_dpd=10, max_dpd=5), "min_dpd <= max_dpd"),
        (lambda: cases(min_dpd=-1), "min_dpd <= max_dpd"),
        (lambda: cases(products=["consumer_finance"], secured=True), "secured=True"),
        (lambda: loans(products=[]), "at least one product"),
        (lambda: loans(min_principal="5", max_principal="1"), "min_principal <= max_principal"),
        (lambda: loans(min_principal="0.001"), "whole number of fen"),
        (lambda: loans(max_principal="lots"), "not an amount"),
        (lambda: loans(max_term_months=0), "from 1 to 1200"),
        (lambda: loans(min_start=date(2026, 1, 2), max_start=date(2026, 1, 1)), "after"),
        (lambda: contact_histories(parties=[]), "at least one party"),
        (lambda: contact_histories(as_of=datetime(2026, 1, 1)), "timezone-aware"),
        (lambda: policies(engine="fast"), "compiled or rete"),
    ],
)
def test_impossible_options_are_invalid_arguments(make: object, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        make().example()  # type: ignore[operator]


@pytest.mark.parametrize("kind", [Case, Loan, Payment, ContactAttempt])
def test_strategies_are_registered_for_from_type(kind: type) -> None:
    # Through the `hypothesis` entry point: installed with the package, run on import.
    quick = settings(database=None, phases=[Phase.generate], max_examples=5)
    found = find(st.from_type(kind), lambda _: True, settings=quick)
    assert isinstance(found, kind)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(policies())
def test_policies_are_loaded_valid_policies(policy: Policy) -> None:
    assert policy.ir.products
    assert set(policy.ir.groups) == {"recall", "channel", "fees", "commission"}


def test_from_policy_reaches_every_reachable_rule(lender: Policy) -> None:
    solution = solve(lender)
    reachable = {r.id for rules in lender.ir.groups.values() for r in rules} - lender.ir.unreachable
    assert solution.unreached == () and set(solution.witnesses) == reachable
    for rule_id, scenario in solution.witnesses.items():
        explanation = lender.explain(
            scenario.case,
            as_of=scenario.as_of,
            portfolio=scenario.portfolio,
            agencies=scenario.agencies,
        )
        assert rule_id in explanation.winners.values()
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(from_policy(lender))
    def run(scenario: dunning.testing.Scenario) -> None:
        explanation = lender.explain(
            scenario.case,
            as_of=scenario.as_of,
            portfolio=scenario.portfolio,
            agencies=scenario.agencies,
        )
        seen.update(explanation.winners.values())

    run()
    assert seen == reachable


# --- invariants -----------------------------------------------------------------------------------


def test_the_lender_policy_keeps_every_invariant(lender: Policy) -> None:
    assert_total(lender, max_examples=60)
    assert_monotone(lender, fact="dpd", order=ORDER, max_examples=60)
    assert_never(lender, when="has_collateral", channel="outsource", max_examples=60)
    assert_guards_hold(lender, max_examples=60)


@pytest.mark.parametrize("name", ["bank_credit_card.yaml", "us_cards.yaml"])
def test_the_card_policies_keep_their_invariants(name: str) -> None:
    """Card cases in the policy's currency: the solver reaches the card rules (it built no
    card, and a US policy's cases were in CNY), and the guards hold as documented."""
    policy = load_policy(ROOT / "rules" / name)
    solution = solve(policy)
    assert len(solution.witnesses) >= 10 if name.startswith("bank") else 6
    assert all(s.case.card is not None for s in solution.witnesses.values())
    assert_total(policy, max_examples=40)
    assert_guards_hold(policy, max_examples=40)


def test_the_environment_sets_how_many_scenarios_a_check_tries(
    lender: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dunning.testing.invariants as invariants

    tried: list[int] = []
    real = invariants.settings

    def counting(*args: object, **kwargs: object) -> settings:
        tried.append(kwargs["max_examples"])  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(invariants, "settings", counting)
    monkeypatch.delenv("DUNNING_MAX_EXAMPLES", raising=False)
    assert default_examples() == 200
    monkeypatch.setenv("DUNNING_MAX_EXAMPLES", "7")
    assert_total(lender)
    assert_total(lender, max_examples=3)  # an explicit number wins
    assert tried == [7, 3]
    for wrong in ("0", "-5", "many", "1.5"):
        monkeypatch.setenv("DUNNING_MAX_EXAMPLES", wrong)
        with pytest.raises(ValueError, match=f"DUNNING_MAX_EXAMPLES must be .* not '{wrong}'"):
            assert_total(lender)


def broken(tmp_path: Path, channel: str, name: str = "broken.yaml") -> Policy:
    path = tmp_path / name
    path.write_text(policy_text(channel=channel), encoding="utf-8")
    return load_policy(path)


def test_assert_total_fails_with_a_counterexample(tmp_path: Path) -> None:
    text = policy_text(
        channel="""\
    - id: current
      when: dpd == 0
      then: {channel: none}
    - id: agency
      when: dpd > 90
      then: {channel: outsource}
    - id: late
      then: {channel: call}""",
        commission="""\
    - id: too-much
      when: dpd > 100
      then: {commission_rate: "annual_rate * 10"}
    - id: flat
      then: {commission_rate: "0.1"}""",
    ).replace("products: [consumer_finance]", "products: [consumer_finance, credit_card]")
    policy = loads_policy(text)
    with pytest.raises(PolicyInvariantError) as err:
        # A search: 2,000 tries at most (it stops at the first counterexample), so that a run
        # that does not meet one in the default 200 cannot fail this test by chance.
        assert_total(policy, max_examples=2000)
    message = str(err.value)
    assert "a valid case gets no decision" in message and "bad_outcome" in message
    assert '"case_id"' in message  # the counterexample case, as JSON
    facts = policy.assess(err.value.scenario.case, err.value.scenario.as_of)
    assert facts.dpd > 100


def test_assert_monotone_fails_where_a_later_stage_is_milder(tmp_path: Path) -> None:
    policy = broken(
        tmp_path,
        """\
    - id: current
      when: dpd == 0
      then: {channel: none}
    - id: calls-first
      when: dpd <= 30
      then: {channel: call}
    - id: then-sms
      then: {channel: sms}""",
    )
    with pytest.raises(PolicyInvariantError) as err:
        assert_monotone(policy, fact="dpd", order=ORDER, max_examples=2000)
    assert "→ call, but dpd" in str(err.value) and "→ sms" in str(err.value)


def test_assert_never_fails_when_secured_loans_are_outsourced(tmp_path: Path) -> None:
    text = policy_text(
        channel="""\
    - id: everything-out
      then: {channel: outsource, handled_by: agency}"""
    ).replace("products: [consumer_finance]", "products: [mortgage, consumer_finance]")
    text = text.replace("guards:\n", "guards:\n  outsourcing_notice: off\n")
    policy = loads_policy(text)
    with pytest.raises(PolicyInvariantError) as err:
        assert_never(policy, when="has_collateral", channel="outsource", max_examples=2000)
    assert err.value.scenario.case.loan.secured
    assert "'has_collateral' holds and the decision is outsource" in str(err.value)


def test_assert_never_reports_a_bad_condition(lender: Policy) -> None:
    with pytest.raises(dunning.PolicyError, match="unknown-fact"):
        assert_never(lender, when="has_colateral", channel="outsource")


def test_assert_guards_hold_catches_a_broken_guard(
    lender: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        dunning.guards.Guards, "apply", lambda self, case, d, assessment, allowance=None: d
    )
    with pytest.raises(PolicyInvariantError, match="breaks a compliance guard"):
        assert_guards_hold(lender)


@pytest.mark.skipif(
    not __import__("importlib").util.find_spec("durable"),
    reason="durable-rules is not installed on this Python (it does not build on 3.13+)",
)
def test_assert_engines_agree(lender: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_engines_agree(lender, max_examples=40)
    from dunning.engines import Verdict
    from dunning.engines.rete import ReteEngine
    from dunning.rules.ir import GROUPS

    original = ReteEngine.run

    def skewed(self: ReteEngine, facts: dict[str, object]) -> object:
        outcome = original(self, facts)
        if facts["dpd"] in range(31, 91):  # a wrong answer for M2-M3: the fallback decides
            won = {g: (outcome.rule(g), outcome.value(g)) for g in GROUPS}
            return Verdict.of({**won, "channel": (self.ir.groups["channel"][-1], None)})
        return outcome

    monkeypatch.setattr(ReteEngine, "run", skewed)
    with pytest.raises(PolicyInvariantError, match="engine disagree"):
        assert_engines_agree(lender, max_examples=300)


# --- the pytest plugin --------------------------------------------------------------------------

HOST_TEST = """
from dunning.testing import assert_never, assert_total


def test_my_policy(dunning_policy):
    assert_total(dunning_policy, max_examples=20)
    assert_never(dunning_policy, when="has_collateral", channel="outsource", max_examples=20)
"""


def test_the_pytest_plugin_loads_the_hosts_policy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_host=HOST_TEST)
    result = pytester.runpytest("--dunning-policy", str(LENDER), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_without_a_policy_the_plugins_tests_are_skipped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_host=HOST_TEST)
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*run pytest with --dunning-policy PATH*"])
