"""Policy diff: the same cases decided under two policies, and what would change.

The what-if a policy change needs before approval: what changed in the policy itself (its
parameters and rules), how many cases change channel — both what the rules wanted and what was
done after the guards (old × new matrices) — per product, how much total due moves to or from
agencies (cases already placed counted apart), how the charges and the expected commission
change, and the changed cases themselves. As text or as JSON.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from .decide import PLACED
from .errors import CaseError
from .messages import MessageCatalog
from .model import Case, Channel, Decision, GuardEffect, HandledBy
from .money import round_money
from .policy import Policy
from .portfolio import Portfolio
from .rules.ir import ChannelOutcome, RecallOutcome, Rule

__all__ = ["DecisionChange", "PolicyDiff", "ProductDiff", "diff_policies", "policy_changes"]

Result = Decision | CaseError


@dataclass(frozen=True, slots=True)
class DecisionChange:
    """One case decided differently: both decisions (or errors) and what differs."""

    line: int
    case_id: str
    old: Result
    new: Result
    differences: tuple[str, ...]
    intended: tuple[str, str] = ("", "")  # the channel the rules wanted, old and new

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form written by ``dunning diff --changed``."""
        return {
            "line": self.line,
            "case_id": self.case_id,
            "differences": list(self.differences),
            "intended": {"old": self.intended[0], "new": self.intended[1]},
            "old": _as_json(self.old),
            "new": _as_json(self.new),
        }


@dataclass
class ProductDiff:
    """The diff of one product's cases."""

    cases: int = 0
    changed: int = 0
    to_agencies: Decimal = Decimal(0)
    from_agencies: Decimal = Decimal(0)


#: The amounts summed over the batch under each policy.
AMOUNTS = ("penalty_interest", "collection_fee", "total_due", "charges_cut", "commission")


@dataclass
class PolicyDiff:
    """What changes between two policies over one batch of cases."""

    old_name: str
    new_name: str
    policy_changes: list[str] = field(default_factory=list)
    policies: dict[str, dict[str, str]] = field(default_factory=dict)  # old, new: name, version…
    as_of: str | None = None
    cases: int = 0
    changed: int = 0
    channels: dict[str, Counter[str]] = field(default_factory=dict)  # done: old → new counts
    intended: dict[str, Counter[str]] = field(default_factory=dict)  # the rules: old → new
    by_product: dict[str, ProductDiff] = field(default_factory=dict)
    to_agencies: Decimal = Decimal(0)  # total due newly going to agencies
    from_agencies: Decimal = Decimal(0)  # total due no longer going to agencies
    already_placed: int = 0  # cases placed with an agency before either decision
    already_placed_due: Decimal = Decimal(0)
    amounts: dict[str, dict[str, Decimal]] = field(
        default_factory=lambda: {
            side: dict.fromkeys(AMOUNTS, Decimal(0)) for side in ("old", "new")
        }
    )
    errors: int = 0
    changes: list[DecisionChange] = field(default_factory=list)
    skip_uncovered: bool = False
    skipped: Counter[str] = field(default_factory=Counter)  # by product, with skip_uncovered

    @property
    def old_commission(self) -> Decimal:
        """Expected commission under the old policy (total due × rate, if all is recovered)."""
        return self.amounts["old"]["commission"]

    @property
    def new_commission(self) -> Decimal:
        """Expected commission under the new policy."""
        return self.amounts["new"]["commission"]

    def add(
        self,
        line: int,
        old: Result,
        new: Result,
        *,
        product: str | None = None,
        placed: bool = False,
        intended: tuple[str, str] = ("", ""),
    ) -> None:
        """Fold one case's two results in.

        Args:
            line: The input line.
            old: The old policy's decision or error.
            new: The new policy's.
            product: The case's product (``None`` for a line that is no case).
            placed: The case was placed with an agency before either decision.
            intended: The channel each policy's rules wanted, before the guards.
        """
        if self.skip_uncovered and _uncovered(old) and _uncovered(new):
            self.skipped[product or "not a case"] += 1
            return
        self.cases += 1
        part = self.by_product.setdefault(product or "not a case", ProductDiff())
        part.cases += 1
        if isinstance(old, CaseError) and isinstance(new, CaseError):
            self.errors += 1
        self.channels.setdefault(_channel(old), Counter())[_channel(new)] += 1
        old_intent = intended[0] or _channel(old)
        new_intent = intended[1] or _channel(new)
        self.intended.setdefault(old_intent, Counter())[new_intent] += 1
        old_agency, new_agency = _at_agency(old), _at_agency(new)
        if placed:
            self.already_placed += 1
            self.already_placed_due += _total(new) if new_agency else _total(old)
        elif new_agency and not old_agency:
            self.to_agencies += _total(new)
            part.to_agencies += _total(new)
        elif old_agency and not new_agency:
            self.from_agencies += _total(old)
            part.from_agencies += _total(old)
        for side, result in (("old", old), ("new", new)):
            for name, value in _amounts(result).items():
                self.amounts[side][name] += value
        differences = _differences(old, new)
        if old_intent != new_intent and isinstance(old, Decision) and isinstance(new, Decision):
            differences = ("intended channel", *differences)
        if differences:
            self.changed += 1
            part.changed += 1
            case_id = old.case_id or new.case_id or "?"
            self.changes.append(
                DecisionChange(line, case_id, old, new, differences, (old_intent, new_intent))
            )

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (``dunning diff --format json``); amounts as text."""
        return {
            "old": self.old_name,
            "new": self.new_name,
            "policies": self.policies,
            "as_of": self.as_of,
            "policy_changes": list(self.policy_changes),
            "cases": self.cases,
            "changed": self.changed,
            "rejected_by_both": self.errors,
            "skipped": dict(sorted(self.skipped.items())),
            "channels": _counts(self.channels),
            "intended_channels": _counts(self.intended),
            "by_product": {
                product: {
                    "cases": part.cases,
                    "changed": part.changed,
                    "newly_placed": str(part.to_agencies),
                    "no_longer_placed": str(part.from_agencies),
                }
                for product, part in sorted(self.by_product.items())
            },
            "agencies": {
                "newly_placed": str(self.to_agencies),
                "no_longer_placed": str(self.from_agencies),
                "already_placed_cases": self.already_placed,
                "already_placed_due": str(self.already_placed_due),
            },
            "amounts": {
                side: {name: str(value) for name, value in values.items()}
                for side, values in self.amounts.items()
            },
        }


def diff_policies(
    old: Policy,
    new: Policy,
    cases: Iterable[tuple[int, Case | CaseError]],
    *,
    as_of: datetime,
    portfolio: Portfolio | Literal["batch"] | None = None,
    new_portfolio: Portfolio | Literal["batch"] | None = None,
    skip_uncovered: bool = False,
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
        skip_uncovered: A case of a product neither policy covers is counted as skipped (by
            product), not as a case both reject.
    """
    result = PolicyDiff(
        f"{old.name} {old.version}",
        f"{new.name} {new.version}",
        policy_changes(old, new),
        policies={
            "old": {"name": old.name, "version": old.version, "digest": old.digest},
            "new": {"name": new.name, "version": new.version, "digest": new.digest},
        },
        as_of=as_of.isoformat(),
        skip_uncovered=skip_uncovered,
    )
    # Three readers of one stream: with portfolios the two policies take a case each in turn,
    # so the copies tee keeps stay a case or two long.
    numbers, to_old, to_new = itertools.tee(cases, 3)
    old_results = old.decide_many((item for _, item in to_old), as_of=as_of, portfolio=portfolio)
    new_results = new.decide_many(
        (item for _, item in to_new), as_of=as_of, portfolio=new_portfolio or portfolio
    )
    intents = (_intents(old), _intents(new))
    for (line, item), a, b in zip(numbers, old_results, new_results, strict=True):
        case = item if isinstance(item, Case) else None
        result.add(
            line,
            a,
            b,
            product=case.loan.product.value if case else None,
            placed=case is not None and case.placement is not None,
            intended=(_intent(a, intents[0]), _intent(b, intents[1])),
        )
    return result


def _uncovered(result: Result) -> bool:
    return isinstance(result, CaseError) and result.problems[0].code == "product_not_covered"


def policy_changes(old: Policy, new: Policy) -> list[str]:
    """What differs between two policies: their parameters and their rules, in words."""
    changes = []
    old_params, new_params = old.params, new.params
    for name in sorted(set(old_params) | set(new_params)):
        before, after = old_params.get(name), new_params.get(name)
        if name not in old_params:
            changes.append(f"parameter {name} added: {_shown(after)}")
        elif name not in new_params:
            changes.append(f"parameter {name} removed (was {_shown(before)})")
        elif before != after:
            changes.append(f"parameter {name}: {_shown(before)} → {_shown(after)}")
    old_rules = {r.id: r for r in old.ir.rules()}
    new_rules = {r.id: r for r in new.ir.rules()}
    for rule_id, rule in new_rules.items():
        if rule_id not in old_rules:
            changes.append(f"rule {rule_id} added ({rule.group}): {_described(rule)}")
    for rule_id, rule in old_rules.items():
        if rule_id not in new_rules:
            changes.append(f"rule {rule_id} removed ({rule.group})")
        elif _described(rule) != _described(new_rules[rule_id]):
            changes.append(
                f"rule {rule_id}: {_described(rule)}  →  {_described(new_rules[rule_id])}"
            )
    old_order = [r.id for r in old.ir.rules() if r.id in new_rules]
    new_order = [r.id for r in new.ir.rules() if r.id in old_rules]
    if old_order != new_order:
        changes.append("rules reordered (a different rule may now decide first)")
    if old.ir.guards != new.ir.guards:
        changes.append("guard settings changed")
    changes.extend(_message_changes(old.ir.messages, new.ir.messages))
    return changes


def _message_changes(old: MessageCatalog, new: MessageCatalog) -> list[str]:
    """What customers would read differently: the message settings and each template's texts."""
    changes = [
        f"messages {name}: {getattr(old, name)!r} → {getattr(new, name)!r}"
        for name in ("language", "sms_max_segments", "sms_signature")
        if getattr(old, name) != getattr(new, name)
    ]
    for template_id in sorted(set(old.templates) | set(new.templates)):
        if template_id not in old.templates:
            changes.append(f"message template {template_id} added")
        elif template_id not in new.templates:
            changes.append(f"message template {template_id} removed")
        else:
            before = {t.language: t.text for t in old.templates[template_id].texts}
            after = {t.language: t.text for t in new.templates[template_id].texts}
            languages = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            if languages:
                changes.append(f"message template {template_id} changed ({', '.join(languages)})")
    return changes


def _described(rule: Rule) -> str:
    when = f"when {rule.when_text}" if rule.when is not None else "always"
    if isinstance(rule.outcome, ChannelOutcome):
        channel = rule.outcome
        outcome = channel.channel.value + "".join(
            f", {label} {value}"
            for label, value in (
                ("to", "+".join(channel.recipients)),
                ("by", _unusual_handler(channel)),
                ("approved by", channel.requires_approval),
                ("message", channel.message),
            )
            if value
        )
    elif isinstance(rule.outcome, RecallOutcome):
        outcome = f"recall: {rule.outcome.reason or 'none'}"
    else:
        outcome = ", ".join(
            f"{key}: {source.raw if (source := rule.sources.get(key)) else '?'}"
            for key in sorted(rule.outcome)
        )
    return f"{when} → {outcome} (priority {rule.priority})"


def _unusual_handler(outcome: ChannelOutcome) -> str | None:
    """Who handles the action, when it is not who usually does (an agency only outsources)."""
    agency = outcome.handled_by is HandledBy.AGENCY
    return outcome.handled_by.value if agency != (outcome.channel is Channel.OUTSOURCE) else None


def _shown(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _intents(policy: Policy) -> Mapping[str, str]:
    """The channel each channel rule of ``policy`` decides (a placed case: its agency)."""
    return {
        rule.id: rule.outcome.channel.value
        for rule in policy.ir.groups["channel"]
        if isinstance(rule.outcome, ChannelOutcome)
    } | {PLACED: Channel.OUTSOURCE.value}


def _intent(result: Result, intents: Mapping[str, str]) -> str:
    if isinstance(result, CaseError):
        return "error"
    return intents.get(result.rules[0], result.action.channel.value) if result.rules else ""


def _counts(channels: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {old: dict(sorted(row.items())) for old, row in sorted(channels.items())}


def _channel(result: Result) -> str:
    return "error" if isinstance(result, CaseError) else result.action.channel.value


def _at_agency(result: Result) -> bool:
    return isinstance(result, Decision) and result.action.handled_by is HandledBy.AGENCY


def _total(result: Result) -> Decimal:
    return Decimal(0) if isinstance(result, CaseError) else result.fee_terms.total_due


def _amounts(result: Result) -> dict[str, Decimal]:
    if isinstance(result, CaseError):
        return {}
    terms = result.fee_terms
    cut = sum(
        (g.amount or Decimal(0) for g in result.guards if g.effect is GuardEffect.CUT), Decimal(0)
    )
    return {
        "penalty_interest": terms.penalty_interest,
        "collection_fee": terms.collection_fee,
        "total_due": terms.total_due,
        "charges_cut": cut,
        "commission": _commission(result),
    }


def _commission(result: Result) -> Decimal:
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


def _differences(old: Result, new: Result) -> tuple[str, ...]:
    if isinstance(old, CaseError) or isinstance(new, CaseError):
        if isinstance(old, CaseError) and isinstance(new, CaseError):
            same = [p.code for p in old.problems] == [p.code for p in new.problems]
            return () if same else ("error",)
        return ("decided only by the " + ("new" if isinstance(old, CaseError) else "old"),)
    return tuple(name for name, get in _COMPARED.items() if get(old) != get(new))


def _as_json(result: Result) -> dict[str, Any]:
    if isinstance(result, CaseError):
        return result.to_dict()
    data: dict[str, Any] = json.loads(result.model_dump_json())
    return data
