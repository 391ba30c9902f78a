"""Stage 4e of the rule front end: is each decision group total, and does every rule decide?

The rule set is analysed per product the way Drools analyses decision tables: each group needs
a fallback (a rule without ``when``); rules after the fallback never decide; dpd ranges decided
by nothing but the fallback (gaps) or by two rules at once (overlaps) are reported as warnings.
Only rules whose condition is a conjunction of dpd bounds and product tests take part; any other
condition may or may not hold, so it decides nothing for the analysis.
"""

from __future__ import annotations

from ..errors import did_you_mean
from .ir import Rule
from .nodes import BoolOp, Compare, In, ListExpr, Literal, Name, Node, Range
from .source import Pos, Source

__all__ = ["analyse"]

_INF = 10**9
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def analyse(
    group: str, key_pos: Pos, rules: tuple[Rule, ...], products: list[str], source: Source
) -> set[str]:
    """Report gaps, overlaps and rules that never decide; return the ids of unreachable rules.

    Unreachable: a rule after the group's fallback, or a fallback whose group's dpd rules decide
    every day past due of every product.
    """
    unreachable: set[str] = set()
    fallback = next((r for r in rules if r.when is None), None)
    if fallback is None:
        source.report(
            key_pos,
            "missing-fallback",
            f"the {group!r} group has no fallback rule",
            hint="end the group with a rule without 'when': every case must get a decision",
        )
    else:
        for later in rules[rules.index(fallback) + 1 :]:
            unreachable.add(later.id)
            source.report(
                later.pos,
                "unreachable-rule",
                f"rule {later.id!r} comes after the fallback {fallback.id!r} and never decides",
                severity="warning",
                rule_id=later.id,
            )
    order = {rule.id: i for i, rule in enumerate(rules)}
    for rule in rules:
        for other, pos in rule.overrides.items():
            if order.get(other, -1) <= order[rule.id]:
                source.report(
                    pos,
                    "bad-override",
                    f"rule {rule.id!r} overrides {other!r}, which is not a later rule of the "
                    f"{group!r} group" + did_you_mean(other, [r.id for r in rules]),
                    rule_id=rule.id,
                )
    used: set[tuple[str, str]] = set()  # (rule, the later rule it shadowed on purpose)
    fallback_reached = False
    for product in products:
        decided: list[tuple[int, int, Rule]] = []  # dpd intervals decided by pure rules
        for rule in rules:
            if rule.when is None:
                break
            prods, (low, high), pure = _shape(rule.when, products)
            if product not in prods or low > high or not pure:
                continue
            for a, b, earlier in decided:
                lo, hi = max(a, low), min(b, high)
                if lo > hi:
                    continue
                if rule.id in earlier.overrides:
                    used.add((earlier.id, rule.id))
                    continue
                source.report(
                    rule.pos,
                    "dpd-overlap",
                    f"{product}: dpd {_ranges([(lo, hi)])} is already decided by rule "
                    f"{earlier.id!r}, so rule {rule.id!r} never decides it",
                    hint=f"if rule {earlier.id!r} takes precedence on purpose, say so there: "
                    f"overrides: [{rule.id}]",
                    severity="warning",
                    rule_id=rule.id,
                )
                break
            decided.append((low, high, rule))
        gaps, cursor = [], 0
        for a, b, _ in sorted(decided, key=lambda d: (d[0], d[1])):
            if a > cursor:
                gaps.append((cursor, a - 1))
            cursor = max(cursor, b + 1)
        if cursor < _INF:
            gaps.append((cursor, _INF))
        fallback_reached = fallback_reached or bool(gaps)
        # A gap matters where the analyst is building a dpd table (two or more dpd rules); one
        # special case before a fallback is a normal, complete policy.
        if len(decided) < 2 or fallback is None:
            continue
        if gaps:
            source.report(
                key_pos,
                "dpd-gap",
                f"{product}: dpd {_ranges(gaps)} is decided only by the fallback rule "
                f"{fallback.id!r} or by rules with extra conditions",
                severity="warning",
            )
    for rule in rules:
        for other, pos in rule.overrides.items():
            if order.get(other, -1) > order[rule.id] and (rule.id, other) not in used:
                source.report(
                    pos,
                    "bad-override",
                    f"rule {rule.id!r} says it overrides {other!r}, but no dpd range of any "
                    "product is decided by both (only rules made of dpd and product tests are "
                    "compared)",
                    hint="remove it from overrides: there is nothing to acknowledge",
                    rule_id=rule.id,
                )
    if fallback is not None and products and not fallback_reached:
        unreachable.add(fallback.id)
    return unreachable


def _shape(when: Node, products: list[str]) -> tuple[set[str], tuple[int, int], bool]:
    """Return (products, dpd interval, pure) of a condition read as a conjunction."""
    parts = when.operands if isinstance(when, BoolOp) and when.op == "and" else (when,)
    prods, low, high, pure = set(products), 0, _INF, True
    for part in parts:
        found = _dpd_bounds(part)
        if found is not None:
            low, high = max(low, found[0]), min(high, found[1])
            continue
        names = _product_set(part, products)
        if names is not None:
            prods &= names
            continue
        pure = False
    return prods, (low, high), pure


def _dpd_bounds(node: Node) -> tuple[int, int] | None:
    if isinstance(node, In) and not node.negated and _is_name(node.left, "dpd"):
        rng = node.container
        if isinstance(rng, Range):
            low, high = _int_value(rng.low), _int_value(rng.high)
            if low is not None and high is not None:
                return low, high
        return None
    if not isinstance(node, Compare):
        return None
    low, high = 0, _INF
    for op, a, b in node.pairs():
        if _is_name(a, "dpd") and _int_value(b) is not None:
            bound, flipped = _int_value(b), op
        elif _is_name(b, "dpd") and _int_value(a) is not None:
            bound, flipped = _int_value(a), _FLIP[op]
        else:
            return None
        assert bound is not None
        if flipped == "==":
            low, high = max(low, bound), min(high, bound)
        elif flipped == ">=":
            low = max(low, bound)
        elif flipped == ">":
            low = max(low, bound + 1)
        elif flipped == "<=":
            high = min(high, bound)
        elif flipped == "<":
            high = min(high, bound - 1)
        else:
            return None
    return low, high


def _is_name(node: Node, name: str) -> bool:
    return isinstance(node, Name) and node.name == name


def _int_value(node: Node) -> int | None:
    if isinstance(node, Literal) and type(node.value) is int:
        return node.value
    return None


def _product_set(node: Node, products: list[str]) -> set[str] | None:
    if isinstance(node, Compare) and len(node.ops) == 1:
        a, b = node.left, node.rights[0]
        if isinstance(b, Name):
            a, b = b, a
        if isinstance(a, Name) and a.name == "product" and isinstance(b, Literal):
            if node.ops[0] == "==":
                return {str(b.value)}
            if node.ops[0] == "!=":
                return set(products) - {str(b.value)}
    if (
        isinstance(node, In)
        and _is_name(node.left, "product")
        and isinstance(node.container, ListExpr)
    ):
        names = {str(i.value) for i in node.container.items if isinstance(i, Literal)}
        return set(products) - names if node.negated else names
    return None


def _ranges(points: list[tuple[int, int]]) -> str:
    return ", ".join(
        f"{a}+" if b >= _INF else (f"{a}" if a == b else f"{a}..{b}") for a, b in points
    )
