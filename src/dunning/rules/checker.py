"""Stage 4 of the rule front end: a policy file's checked parts assembled into the policy IR.

The checker walks the file's shape (``schema``) in a fixed order and hands each concern to its
module: products, currency and buckets here; parameters (``params``); the ``assessment:``
section (``assessment``); the guards (``guard_config``); every rule's condition and outcome
(``typecheck``, ``outcomes``); and the totality of each decision group (``coverage``). Every
problem of the file is reported, not the first; the IR is built only from a file without errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..delinquency import DEFAULT_BANDS, BucketBands
from ..errors import ConfigError, did_you_mean
from ..model import Product
from .agency import read_agency
from .assessment import read_assessment, within_cap
from .coverage import analyse
from .guard_config import BUILTIN_PROFILES, GuardProfile, read_guards
from .ir import ALL_GROUPS, PolicyIR, Rule
from .messages import check_messages
from .nodes import BoolOp, Literal, Node
from .outcomes import check_outcome
from .params import check_params
from .placement import read_placement
from .schema import RawPolicy, RawRule
from .source import Pos, PScalar, Source
from .typecheck import Scope, Typer

__all__ = ["check_policy"]


def check_policy(
    raw: RawPolicy,
    overrides: Mapping[str, Any] | None = None,
    profiles: Mapping[str, GuardProfile] = BUILTIN_PROFILES,
) -> PolicyIR | None:
    """Check a policy's expressions, types and coverage; return its IR, or ``None`` on errors.

    Args:
        raw: The file's shape, as ``schema.read_policy`` read it.
        overrides: Parameter values given at load time.
        profiles: The guard profiles the file may name.
    """
    source = raw.source
    products = _products(raw)
    bands = _bands(raw)
    params, param_types = check_params(raw.params, dict(overrides or {}), source, raw.currency)
    scope = Scope(params, param_types, tuple(raw.params), bands.labels)
    typer = Typer(scope, source)
    assessment = read_assessment(raw, typer)
    guards = read_guards(raw.guards, source, profiles)
    if guards is not None:
        assessment = within_cap(assessment, guards, raw, source)
    groups: dict[str, tuple[Rule, ...]] = {}
    unreachable: set[str] = set()
    seen: dict[str, Pos] = {}
    for group in ALL_GROUPS:
        if group not in raw.groups:
            if group == "recall":
                groups[group] = ()
            continue
        key_pos, raw_rules = raw.groups[group]
        checked = []
        for raw_rule in raw_rules:
            if raw_rule.id in seen:
                source.report(
                    raw_rule.pos,
                    "duplicate-rule-id",
                    f"rule id {raw_rule.id!r} is already used",
                    hint=f"the first is on line {seen[raw_rule.id].line}",
                    rule_id=raw_rule.id,
                )
                continue
            seen[raw_rule.id] = raw_rule.pos
            rule = _check_rule(raw_rule, typer, raw.currency)
            if rule is not None:
                checked.append(rule)
        ordered = tuple(sorted(checked, key=lambda r: (-r.priority, r.order)))
        groups[group] = ordered
        if group == "recall":
            continue  # not total: a placed case no recall rule matches stays placed
        if len(checked) == len(raw_rules) and group not in raw.incomplete:
            unreachable |= analyse(group, key_pos, ordered, products, source)
    if guards is not None and guards.collection_fees is not None:
        _fees_the_guards_cut(groups.get("fees", ()), source)
    messages = check_messages(
        raw.messages,
        source,
        groups.get("channel", ()),
        guards,
        raw.guards,
        bands.labels,
        cards="credit_card" in products,
    )
    placement = read_placement(raw.placement, source)
    agency = read_agency(raw.agency, source, typer)
    if source.failed or guards is None:
        return None
    return PolicyIR(
        name=raw.name,
        version=raw.version,
        description=raw.description,
        currency=raw.currency,
        timezone=raw.timezone,
        products=tuple(products),
        bands=bands,
        params=MappingProxyType(dict(params)),
        penalty_multiplier=assessment.penalty_multiplier,
        allocation=assessment.allocation,
        days_in_year=assessment.days_in_year,
        groups=MappingProxyType(groups),
        guards=guards,
        messages=messages,
        placement=placement,
        agency=agency,
        files=(source.path,),
        text=source.text,
        unreachable=frozenset(unreachable),
    )


def _products(raw: RawPolicy) -> list[str]:
    products: list[str] = []
    known = [p.value for p in Product]
    for name, pos in raw.products:
        if name not in known:
            raw.source.report(
                pos, "unknown-value", f"unknown product {name!r}" + did_you_mean(name, known)
            )
        elif name in products:
            raw.source.report(pos, "duplicate-key", f"product {name!r} is listed twice")
        else:
            products.append(name)
    return products


def _bands(raw: RawPolicy) -> BucketBands:
    if raw.buckets is None:
        return DEFAULT_BANDS
    try:
        return BucketBands([(label, low, high) for label, low, high, _ in raw.buckets])
    except ConfigError as exc:
        pos = raw.buckets[0][3] if raw.buckets else raw.rules_pos
        raw.source.report(pos, "bad-buckets", str(exc).replace("\n  ", "; "))
        return DEFAULT_BANDS


def _check_rule(rule: RawRule, typer: Typer, currency: str) -> Rule | None:
    typer.used.clear()
    when: Node | None = None
    conjuncts: tuple[tuple[Node, str], ...] = ()
    text = ""
    sources: dict[str, PScalar] = {}
    ok = True
    if rule.when is not None:
        text = str(rule.when.value) if rule.when.value is not None else "null"
        when = typer.expression(rule.when, rule.id)
        if when is None:
            ok = False
        elif when.type.kind != "bool":
            typer.src.report(
                rule.when.pos,
                "type-mismatch",
                f"a condition must be true or false, got {when.type.describe()}",
                rule_id=rule.id,
            )
            ok = False
        elif isinstance(when, Literal) and when.value is True:
            when = None
        else:
            conjuncts = _conjuncts(when, text)
            sources["when"] = rule.when
    outcome = check_outcome(rule, typer, currency)
    if not ok or outcome is None:
        return None
    value, outcome_sources = outcome
    return Rule(
        rule.id,
        rule.group,
        rule.priority,
        rule.order,
        typer.src.path,
        rule.pos,
        when,
        text,
        conjuncts,
        value,
        rule.doc,
        MappingProxyType(sources | outcome_sources),
        MappingProxyType(dict(rule.overrides)),
        tuple(sorted(typer.used)),
    )


def _fees_the_guards_cut(rules: tuple[Rule, ...], source: Source) -> None:
    """Warn at each fees rule that sets a collection fee the ``collection_fees`` guard cuts."""
    for rule in rules:
        fee = rule.outcome.get("collection_fee") if isinstance(rule.outcome, Mapping) else None
        if fee is None or (isinstance(fee, Literal) and fee.value == 0):
            continue
        source.report(
            rule.sources["collection_fee"].pos,
            "collection-fee-cut",
            f"rule {rule.id!r} sets a collection fee, which the collection_fees guard cuts to 0: "
            "no fee may be charged to the debtor in the name of collection",
            hint="set the fee to 0, or turn the guard off (collection_fees: off) if counsel "
            "approves",
            severity="warning",
            rule_id=rule.id,
        )


def _conjuncts(node: Node, text: str) -> tuple[tuple[Node, str], ...]:
    """The top-level ``and`` parts of a condition, each with its text as written."""
    parts = node.operands if isinstance(node, BoolOp) and node.op == "and" else (node,)
    out = []
    for i, part in enumerate(parts):
        end = parts[i + 1].at if i + 1 < len(parts) else len(text)
        snippet = text[part.at : end].strip()
        snippet = re.sub(r"\s+and$", "", snippet).strip()
        out.append((part, snippet or text))
    return tuple(out)
