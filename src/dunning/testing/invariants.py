"""Invariant checks for a policy: each searches for a counterexample and fails with it.

Every helper runs Hypothesis over generated scenarios (and the witnesses of
:func:`from_policy`, so every rule is exercised) and raises :class:`PolicyInvariantError` — an
``AssertionError`` — with the smallest counterexample it found: the case as JSON, the moment,
the portfolio figure and what went wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from ..errors import CaseError
from ..facts import FACTS
from ..model import Channel, Decision
from ..policy import Policy, loads_policy
from .guard_oracle import guard_violations
from .solver import solve
from .strategies import Scenario, scenarios

__all__ = [
    "PolicyInvariantError",
    "assert_engines_agree",
    "assert_guards_hold",
    "assert_monotone",
    "assert_never",
    "assert_total",
    "default_examples",
    "from_policy",
]

#: The environment variable that sets how many scenarios each check tries by default.
EXAMPLES_VARIABLE = "DUNNING_MAX_EXAMPLES"


class PolicyInvariantError(AssertionError):
    """A policy broke an invariant; ``scenario`` is the counterexample."""

    def __init__(self, message: str, scenario: Scenario, detail: str) -> None:
        self.scenario = scenario
        self.detail = detail
        case = json.dumps(
            scenario.case.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False
        )
        super().__init__(
            f"{message}\n  {detail}\n  as_of: {scenario.as_of.isoformat()}, overdue_customers: "
            f"{scenario.portfolio.overdue_customers}\n  case: {case}"
        )


def from_policy(policy: Policy) -> st.SearchStrategy[Scenario]:
    """Scenarios that make each rule of ``policy`` win its group, one rule after another.

    The witnesses come from a deterministic search over case features (see
    ``dunning.testing.solver``); rules it cannot reach are left out (``solve(policy).unreached``).
    """
    witnesses = list(solve(policy).witnesses.values())
    # No rule reached (a search that found nothing): no scenarios, rather than an error.
    return st.sampled_from(witnesses) if witnesses else st.nothing()


def _scenarios(policy: Policy) -> st.SearchStrategy[Scenario]:
    found = scenarios(products=policy.ir.products, currency=policy.ir.currency)
    return st.one_of(from_policy(policy), found)


def default_examples() -> int:
    """How many scenarios a check tries when not told: 200, or ``DUNNING_MAX_EXAMPLES``.

    The variable lets a CI ask for more in a nightly run (or fewer on every push) without
    editing the tests that call the checks.

    Raises:
        ValueError: The variable is set to something other than a whole number of at least 1.
    """
    text = os.environ.get(EXAMPLES_VARIABLE, "").strip()
    if not text:
        return 200
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{EXAMPLES_VARIABLE} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _search(
    policy: Policy,
    problem: Callable[[Scenario], str | None],
    message: str,
    max_examples: int | None,
) -> None:
    """Find a scenario for which ``problem`` says something; raise with the smallest one."""
    found: dict[int, str] = {}

    def broken(scenario: Scenario) -> bool:
        detail = problem(scenario)
        if detail is not None:
            found[id(scenario)] = detail
        return detail is not None

    config = settings(
        max_examples=default_examples() if max_examples is None else max_examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    try:
        example = find(_scenarios(policy), broken, settings=config)
    except NoSuchExample:
        return
    detail = problem(example) or found.get(id(example), "")
    raise PolicyInvariantError(f"policy {policy.name!r}: {message}", example, detail)


def _decide(policy: Policy, s: Scenario) -> Decision:
    return s.decide(policy)


def assert_total(policy: Policy, *, max_examples: int | None = None) -> None:
    """Every valid case of a covered product gets a decision (no error, no crash)."""

    def problem(s: Scenario) -> str | None:
        try:
            _decide(policy, s)
        except CaseError as error:
            return f"no decision: {error.problems[0]}"
        except Exception as error:
            return f"crash: {type(error).__name__}: {error}"
        return None

    _search(policy, problem, "a valid case gets no decision", max_examples)


def assert_monotone(
    policy: Policy,
    *,
    fact: str = "dpd",
    order: Sequence[str | Channel],
    max_examples: int | None = None,
) -> None:
    """Raising ``fact`` (all else equal) never moves the channel to a milder one.

    Checked on the rules' own outcome (before guards), at the level of facts: the counterexample
    is a case and the two values of ``fact``. Channels not in ``order`` are not compared.

    Args:
        policy: The policy.
        fact: A numeric fact (``dpd``, ``total_due``, ``calls_7d``, ...).
        order: Channels from the mildest to the harshest, e.g. ``["none", "sms", "call",
            "field_visit", "outsource"]``.
        max_examples: How many scenarios to try (default: :func:`default_examples`).
    """
    spec = FACTS.get(fact)
    if spec is None or spec.kind not in ("int", "number", "money"):
        raise ValueError(f"{fact!r} is not a numeric fact")
    rank = {Channel(c).value: i for i, c in enumerate(order)}
    steps = [1, 7, 30, 90, 365] if spec.kind == "int" else [Decimal("0.01"), Decimal(1000)]

    def problem(s: Scenario) -> str | None:
        try:
            base = s.facts(policy)
        except CaseError:
            return None
        if base[fact] is None:
            return None
        before = _channel(policy, base)
        for step in steps:
            higher = dict(base)
            higher[fact] = base[fact] + step
            if fact == "dpd":
                higher["bucket"] = policy.ir.bands.bucket(higher["dpd"])
            after = _channel(policy, higher)
            if before in rank and after in rank and rank[after] < rank[before]:
                return (
                    f"{fact} {base[fact]} → {before}, but {fact} {higher[fact]} → {after} "
                    f"(rule {policy.evaluate(higher).channel.id!r})"
                )
        return None

    _search(policy, problem, f"raising {fact} makes the channel milder", max_examples)


def _channel(policy: Policy, facts: dict[str, Any]) -> str:
    outcome = policy.evaluate(facts).channel.outcome
    return str(outcome.channel.value)  # type: ignore[union-attr]


def assert_never(
    policy: Policy, *, when: str, channel: str | Channel, max_examples: int | None = None
) -> None:
    """No decision where ``when`` holds has ``channel`` (e.g. secured loans never outsourced).

    Args:
        policy: The policy.
        when: A condition in the rule language over facts, e.g. ``"has_collateral"``.
        channel: The channel that must never be decided when ``when`` holds.
        max_examples: How many scenarios to try (default: :func:`default_examples`).

    Raises:
        PolicyError: If ``when`` is not a valid condition.
    """
    forbidden = Channel(channel).value
    probe = _probe(policy, when)

    def problem(s: Scenario) -> str | None:
        try:
            decision = _decide(policy, s)
        except CaseError:
            return None
        if decision.action.channel.value != forbidden:
            return None
        facts = s.facts(policy)
        if probe.evaluate(facts).channel.id != "holds":
            return None
        return f"{when!r} holds and the decision is {forbidden} (rules {list(decision.rules)})"

    _search(policy, problem, f"decides {forbidden} when {when!r}", max_examples)


def _probe(policy: Policy, when: str) -> Policy:
    """A one-rule policy that tells whether ``when`` holds for a fact view."""
    condition = when.replace("'", "''")
    text = (
        "policy: probe\nversion: '1'\n"
        f"products: [{', '.join(policy.ir.products)}]\n"
        "rules:\n"
        "  channel:\n"
        f"    - {{id: holds, when: '{condition}', then: {{channel: none}}}}\n"
        "    - {id: fails, then: {channel: none}}\n"
        "  fees: [{id: f, then: {collection_fee: 0}}]\n"
        "  commission: [{id: c, then: {commission_rate: null}}]\n"
    )
    return loads_policy(text, name="<when>")


def assert_engines_agree(policy: Policy, *, max_examples: int | None = None) -> None:
    """The compiled and the Rete engine give the same decision for every scenario.

    Raises:
        ConfigError: If the Rete engine is not available on this Python.
    """
    engines = {
        name: loads_policy(policy.text, name=policy.ir.files[0], engine=name, params=policy.params)
        for name in ("compiled", "rete")
    }

    def problem(s: Scenario) -> str | None:
        results = {}
        for name, each in engines.items():
            try:
                results[name] = _decide(each, s).model_dump(mode="json", exclude={"policy"})
            except CaseError as error:
                results[name] = {"error": error.problems[0].code}
        if results["compiled"] != results["rete"]:
            return f"compiled: {results['compiled']}\n  rete: {results['rete']}"
        return None

    _search(policy, problem, "the compiled and the Rete engine disagree", max_examples)


def assert_guards_hold(policy: Policy, *, max_examples: int | None = None) -> None:
    """Every decision keeps the policy's compliance guards (see docs/compliance.md)."""

    def problem(s: Scenario) -> str | None:
        try:
            decision = _decide(policy, s)
        except CaseError:
            return None
        raw = decision.model_copy(update={"guards": ()})
        broken = guard_violations(policy, s.case, raw, decision)
        return "; ".join(broken) if broken else None

    _search(policy, problem, "a decision breaks a compliance guard", max_examples)
