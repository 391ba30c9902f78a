"""Policy diff: the same cases decided under two policies, and what would change.

The what-if a policy change needs before approval: how many cases change channel (a matrix of
old × new channel), how much total due moves to or from agencies, how the expected commission
changes, and the changed cases themselves.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TextIO

from .errors import CaseError
from .facts import Portfolio
from .model import Case, Channel, Decision, HandledBy
from .money import round_money
from .policy import Policy

__all__ = ["DecisionChange", "PolicyDiff", "diff_policies"]


@dataclass(frozen=True, slots=True)
class DecisionChange:
    """One case decided differently: both decisions (or errors) and what differs."""

    line: int
    case_id: str
    old: Decision | CaseError
    new: Decision | CaseError
    differences: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form written by ``dunning diff --changed``."""
        return {
            "line": self.line,
            "case_id": self.case_id,
            "differences": list(self.differences),
            "old": _as_json(self.old),
            "new": _as_json(self.new),
        }


@dataclass
class PolicyDiff:
    """What changes between two policies over one batch of cases."""

    old_name: str
    new_name: str
    cases: int = 0
    changed: int = 0
    channels: dict[str, Counter[str]] = field(default_factory=dict)  # old channel → new counts
    to_agencies: Decimal = Decimal(0)  # total due newly going to agencies
    from_agencies: Decimal = Decimal(0)  # total due no longer going to agencies
    old_commission: Decimal = Decimal(0)
    new_commission: Decimal = Decimal(0)
    errors: int = 0
    changes: list[DecisionChange] = field(default_factory=list)

    def add(self, line: int, old: Decision | CaseError, new: Decision | CaseError) -> None:
        """Fold one case's two results in."""
        self.cases += 1
        if isinstance(old, CaseError) and isinstance(new, CaseError):
            self.errors += 1
        old_channel, new_channel = _channel(old), _channel(new)
        self.channels.setdefault(old_channel, Counter())[new_channel] += 1
        old_agency, new_agency = _at_agency(old), _at_agency(new)
        if new_agency and not old_agency:
            self.to_agencies += _total(new)
        elif old_agency and not new_agency:
            self.from_agencies += _total(old)
        self.old_commission += _commission(old)
        self.new_commission += _commission(new)
        differences = _differences(old, new)
        if differences:
            self.changed += 1
            case_id = old.case_id or new.case_id or "?"
            self.changes.append(DecisionChange(line, case_id, old, new, differences))

    def render(self, out: TextIO) -> None:
        """Write the summary as plain-text tables."""
        out.write(f"Policy diff: {self.old_name} → {self.new_name}\n")
        share = f" ({self.changed / self.cases:.1%})" if self.cases else ""
        out.write(f"{self.cases} cases, {self.changed} decided differently{share}\n\n")
        names = [c.value for c in Channel] + ["error"]
        used = [
            n for n in names if n in self.channels or any(n in c for c in self.channels.values())
        ]
        corner = "old \\ new"
        width = max(len(corner), *map(len, used))
        out.write("Channel: old (rows) × new (columns)\n")
        out.write(f"{corner:<{width}}" + "".join(f"{n:>{len(n) + 2}}" for n in used) + "\n")
        for old in used:
            row = self.channels.get(old, Counter())
            cells = "".join(f"{row[n]:>{len(n) + 2}}" for n in used)
            out.write(f"{old:<{width}}{cells}\n")
        out.write("\nAgencies\n")
        out.write(f"  total due newly placed:      {self.to_agencies:>18,.2f}\n")
        out.write(f"  total due no longer placed:  {self.from_agencies:>18,.2f}\n")
        out.write(f"  expected commission, old:    {self.old_commission:>18,.2f}\n")
        out.write(f"  expected commission, new:    {self.new_commission:>18,.2f}\n")
        change = self.new_commission - self.old_commission
        out.write(f"  change:                      {change:>+18,.2f}\n")
        if self.errors:
            out.write(f"\n{self.errors} case(s) rejected by both policies.\n")


def diff_policies(
    old: Policy,
    new: Policy,
    cases: Iterable[tuple[int, Case | CaseError]],
    *,
    as_of: datetime,
    portfolio: Portfolio | Literal["batch"] | None = None,
    new_portfolio: Portfolio | Literal["batch"] | None = None,
) -> PolicyDiff:
    """Decide every case under both policies and collect the differences.

    Args:
        old: The policy in force.
        new: The proposed policy.
        cases: (line number, case or its reading error), as :func:`dunning.cases.read_numbered`
            yields them.
        as_of: The decision moment for both.
        portfolio: Portfolio figures for the old policy, and for the new one unless
            ``new_portfolio`` is given; with them the cases are streamed. ``"batch"``: each
            policy counts the batch's overdue borrowers, so the batch is held in memory.
            Required by a policy whose rules read ``overdue_customers``.
        new_portfolio: The new policy's figures, when they differ (each policy counts only the
            products it covers; see :meth:`Policy.overdue_borrowers`).
    """
    result = PolicyDiff(f"{old.name} {old.version}", f"{new.name} {new.version}")
    # Three readers of one stream: with portfolios the two policies take a case each in turn,
    # so the copies tee keeps stay a case or two long.
    numbers, to_old, to_new = itertools.tee(cases, 3)
    old_results = old.decide_many((item for _, item in to_old), as_of=as_of, portfolio=portfolio)
    new_results = new.decide_many(
        (item for _, item in to_new), as_of=as_of, portfolio=new_portfolio or portfolio
    )
    for (line, _), a, b in zip(numbers, old_results, new_results, strict=True):
        result.add(line, a, b)
    return result


def _channel(result: Decision | CaseError) -> str:
    return "error" if isinstance(result, CaseError) else result.action.channel.value


def _at_agency(result: Decision | CaseError) -> bool:
    return isinstance(result, Decision) and result.action.handled_by is HandledBy.AGENCY


def _total(result: Decision | CaseError) -> Decimal:
    return Decimal(0) if isinstance(result, CaseError) else result.fee_terms.total_due


def _commission(result: Decision | CaseError) -> Decimal:
    if not _at_agency(result):
        return Decimal(0)
    assert isinstance(result, Decision)
    rate = result.fee_terms.commission_rate or Decimal(0)
    return round_money(result.fee_terms.total_due * rate)


_COMPARED: dict[str, Callable[[Decision], Any]] = {
    "channel": lambda d: d.action.channel.value,
    "handled_by": lambda d: d.action.handled_by.value,
    "recipients": lambda d: list(d.action.recipients),
    "not_before": lambda d: d.action.not_before,
    "requires_approval": lambda d: d.action.requires_approval,
    "message": lambda d: d.action.message.template if d.action.message else None,
    "commission_rate": lambda d: d.fee_terms.commission_rate,
    "penalty_interest": lambda d: d.fee_terms.penalty_interest,
    "collection_fee": lambda d: d.fee_terms.collection_fee,
    "total_due": lambda d: d.fee_terms.total_due,
    "bucket": lambda d: d.bucket,
    "rules": lambda d: list(d.rules),
}


def _differences(old: Decision | CaseError, new: Decision | CaseError) -> tuple[str, ...]:
    if isinstance(old, CaseError) or isinstance(new, CaseError):
        if isinstance(old, CaseError) and isinstance(new, CaseError):
            same = [p.code for p in old.problems] == [p.code for p in new.problems]
            return () if same else ("error",)
        return ("decided only by the " + ("new" if isinstance(old, CaseError) else "old"),)
    return tuple(name for name, get in _COMPARED.items() if get(old) != get(new))


def _as_json(result: Decision | CaseError) -> dict[str, Any]:
    if isinstance(result, CaseError):
        return result.to_dict()
    data: dict[str, Any] = json.loads(result.model_dump_json())
    return data
