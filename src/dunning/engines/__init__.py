"""Engines: the checked policy IR turned into something that decides.

``compiled`` (the default) generates Python source from the IR and compiles it once; ``rete``
runs the same IR on durable-rules. Both subclass :class:`Engine` and must decide identically;
``interpret`` holds the language's reference semantics as closures, which the rete engine uses
for computed outcomes and every engine for explanations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any, NamedTuple

from ..rules.ir import ALL_GROUPS, PolicyIR, Rule
from .interpret import evaluator

__all__ = ["Engine", "RuleTrace", "Verdict"]


class Verdict(NamedTuple):
    """What the rules decided for one fact view, before fee arithmetic and guards.

    A named tuple: built once per decision, it must cost next to nothing (a frozen dataclass
    took longer to build than the rules took to run).

    Attributes:
        channel: The winning rule of the ``channel`` group (its outcome is a
            :class:`~dunning.rules.ir.ChannelOutcome`).
        fees: The winning rule of the ``fees`` group.
        fee_values: The values it computed, by outcome key (``collection_fee``,
            ``penalty_interest``), exact: not yet rounded to the currency.
        commission: The winning rule of the ``commission`` group.
        commission_rate: The rate it computed (``None`` if missing), exact.
    """

    channel: Rule
    fees: Rule
    fee_values: Mapping[str, Decimal | Fraction | int]
    commission: Rule
    commission_rate: Decimal | Fraction | int | None


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """How one rule fared for one fact view.

    Attributes:
        rule: The rule.
        matched: Whether its condition held.
        failed: The first part of its condition that did not hold (as written), if any.
    """

    rule: Rule
    matched: bool
    failed: str | None


class Engine:
    """Base class: decides the groups of one policy for a fact view.

    Attributes:
        name: The engine's name (``compiled``, ``rete``).
        ir: The policy it runs.
        digest: The policy's digest.
        run: Decide every group for a fact view: ``run(facts) -> Verdict``. Each engine sets
            it to its fastest form (the compiled engine, to the generated function itself).
        recall: Decide the ``recall`` group for the fact view of a placed case:
            ``recall(facts) -> Rule | None``, the first recall rule that holds (``None``: none
            does, the case stays placed).
    """

    name = "engine"
    run: Callable[[Mapping[str, Any]], Verdict]
    recall: Callable[[Mapping[str, Any]], Rule | None]

    def __init__(self, ir: PolicyIR, digest: str) -> None:
        self.ir = ir
        self.digest = digest

    def trace(self, facts: Mapping[str, Any]) -> dict[str, list[RuleTrace]]:
        """Evaluate every rule of every group for ``facts``, part by part (for explanations)."""
        out: dict[str, list[RuleTrace]] = {}
        for group in ALL_GROUPS:
            traces = []
            for rule, checks in zip(
                self.ir.groups.get(group, ()), self.conjunct_checks.get(group, ()), strict=True
            ):
                failed = next(
                    (text for check, (_, text) in zip(checks, rule.conjuncts, strict=True)
                     if not check(facts)),
                    None,
                )  # fmt: skip
                traces.append(RuleTrace(rule, failed is None, failed))
            out[group] = traces
        return out

    @cached_property
    def conjunct_checks(self) -> dict[str, list[list[Callable[[Mapping[str, Any]], Any]]]]:
        """For each group, each rule's conjuncts as functions of the facts.

        The reference semantics (closures) here; an engine with faster checks of the same
        meaning supplies its own.
        """
        return {
            group: [[evaluator(node) for node, _ in rule.conjuncts] for rule in rules]
            for group, rules in self.ir.groups.items()
        }
