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
from typing import Any

from ..rules.ir import ALL_GROUPS, GROUPS, PolicyIR, Rule
from .interpret import evaluator

__all__ = ["Engine", "RuleTrace", "Verdict"]


#: Where each group's winning rule stands in a verdict (its value follows it).
_INDEX = {group: 2 * i for i, group in enumerate(GROUPS)}
# The named groups' places, read by properties that must cost next to nothing.
_CHANNEL, _FEES, _COMMISSION = _INDEX["channel"], _INDEX["fees"], _INDEX["commission"]


class Verdict(tuple):  # type: ignore[type-arg]
    """What the rules decided for one fact view, before fee arithmetic and guards.

    A flat tuple, two items per decision group in ``GROUPS`` order: the group's winning rule,
    then what it computed (``GROUP_VALUES``: ``None`` for the channel, the fees by outcome key,
    the commission rate; exact, not yet rounded). Built once per decision, it must cost next to
    nothing: a flat tuple is built in one step (a frozen dataclass took longer to build than
    the rules took to run). Read it by group: :meth:`rule` and :meth:`value`.
    """

    __slots__ = ()

    @classmethod
    def of(cls, winners: Mapping[str, tuple[Rule, Any]]) -> Verdict:
        """A verdict from each group's ``(rule, value)``."""
        return cls(item for group in GROUPS for item in winners[group])

    def rule(self, group: str) -> Rule:
        """The winning rule of ``group``."""
        return self[_INDEX[group]]  # type: ignore[no-any-return]

    def value(self, group: str) -> Any:
        """What the winning rule of ``group`` computed (``None`` for a group without values)."""
        return self[_INDEX[group] + 1]

    @property
    def channel(self) -> Rule:
        """The winning rule of the ``channel`` group (a ``ChannelOutcome``)."""
        return self[_CHANNEL]  # type: ignore[no-any-return]

    @property
    def fees(self) -> Rule:
        """The winning rule of the ``fees`` group."""
        return self[_FEES]  # type: ignore[no-any-return]

    @property
    def fee_values(self) -> Mapping[str, Decimal | Fraction | int]:
        """The fees it computed, by outcome key (``collection_fee``, ``penalty_interest``)."""
        return self[_FEES + 1]  # type: ignore[no-any-return]

    @property
    def commission(self) -> Rule:
        """The winning rule of the ``commission`` group."""
        return self[_COMMISSION]  # type: ignore[no-any-return]

    @property
    def commission_rate(self) -> Decimal | Fraction | int | None:
        """The commission rate it computed (``None`` if missing)."""
        return self[_COMMISSION + 1]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        parts = (f"{g}={self.rule(g).id}:{self.value(g)!r}" for g in GROUPS)
        return f"Verdict({', '.join(parts)})"


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
                    (
                        text
                        for check, (_, text) in zip(checks, rule.conjuncts, strict=True)
                        if not check(facts)
                    ),
                    None,
                )
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
