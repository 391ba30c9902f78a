"""Engines: the checked policy IR turned into something that decides.

``compiled`` (the default) generates Python source from the IR and compiles it once; ``rete``
runs the same IR on durable-rules. Both subclass :class:`Engine` and must decide identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from ..rules.checker import PolicyIR, Rule

__all__ = ["Engine", "Outcome", "RuleTrace"]


class Outcome(NamedTuple):
    """The raw result of one run: the winning rule of each group and its computed values.

    A named tuple: built once per decision, it must cost next to nothing (a frozen dataclass
    took longer to build than the rules took to run).
    """

    channel: Rule
    fees: Rule
    fee_values: dict[str, Decimal]
    commission: Rule
    commission_rate: Decimal | None


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """How one rule fared for one case.

    Attributes:
        rule: The rule.
        matched: Whether its condition held.
        failed: The first part of its condition that did not hold (text), if any.
    """

    rule: Rule
    matched: bool
    failed: str | None


class Engine:
    """Base class: decides the groups of one policy for a fact view."""

    name = "engine"

    def __init__(self, ir: PolicyIR, digest: str) -> None:
        self.ir = ir
        self.digest = digest

    def run(self, facts: dict[str, Any]) -> Outcome:
        """Decide every group for ``facts``."""
        raise NotImplementedError

    def trace(self, facts: dict[str, Any]) -> dict[str, list[RuleTrace]]:
        """Evaluate every rule of every group for ``facts`` (for explanations)."""
        raise NotImplementedError
