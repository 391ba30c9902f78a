"""Random valid policy files, for engine equivalence tests and :func:`policies`.

Expressions are built by type, so every generated policy passes the checker; each is loaded
through the whole front end, exactly as an analyst's file would be.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from hypothesis import strategies as st

from ..delinquency import DEFAULT_BANDS
from ..facts import FACTS
from ..model import Channel

_BY_KIND: dict[str, list[str]] = {}
for _name, _spec in FACTS.items():
    _BY_KIND.setdefault(_spec.kind, []).append(_name)
STRINGS = {n: s.values for n, s in FACTS.items() if s.kind == "string"}
STRINGS["bucket"] = DEFAULT_BANDS.labels
NULLABLE = [n for n, s in FACTS.items() if s.nullable]
SURE_MONEY = [n for n in _BY_KIND["money"] if n not in NULLABLE]
PARAMS = {
    "p_days": ("int", "30"),
    "p_amount": ("money", '"5000.00"'),
    "p_rate": ("number", '"0.125"'),
    "p_ratings": ('"list[string]"', "[A, E]"),
}


@cache
def _decimal(places: int, top: int) -> st.SearchStrategy[str]:
    return st.integers(0, top * 10**places).map(lambda n: str(Decimal(n).scaleb(-places)))


@cache
def literal(kind: str) -> st.SearchStrategy[str]:
    if kind == "int":
        return st.integers(0, 400).map(str)
    if kind == "money":
        return _decimal(2, 100_000)
    return _decimal(4, 2)


@cache
def numeric(kind: str, depth: int) -> st.SearchStrategy[str]:
    """Text of an expression of ``kind`` (int, number or money)."""
    leaves = [st.sampled_from(_BY_KIND[kind]), literal(kind)]
    params = [p for p, (k, _) in PARAMS.items() if k == kind]
    if params:
        leaves.append(st.sampled_from(params))
    leaf = st.one_of(*leaves)
    if depth <= 0:
        return leaf
    sub = numeric(kind, depth - 1)
    scale = literal("number") if kind == "money" else literal(kind)
    return st.one_of(
        leaf,
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, scale).map(lambda t: f"({t[0]} * {t[1]})"),
        st.tuples(sub, st.integers(1, 9)).map(lambda t: f"({t[0]} / {t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        sub.map(lambda t: f"abs({t})"),
        sub.map(lambda t: f"(-{t})"),
    )


@cache
def ratio(depth: int) -> st.SearchStrategy[str]:
    """A number obtained by dividing by a fact that may be zero (missing when it is)."""
    money = st.sampled_from([n for n in _BY_KIND["money"] if n not in NULLABLE])
    return st.tuples(money, st.sampled_from(_BY_KIND["money"])).map(lambda t: f"({t[0]} / {t[1]})")


@cache
def comparison(depth: int) -> st.SearchStrategy[str]:
    ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    same_kind = st.sampled_from(["int", "money", "number"]).flatmap(
        lambda k: st.tuples(numeric(k, depth), ops, numeric(k, depth))
    )
    mixed = st.tuples(numeric("int", depth), ops, numeric("number", depth))
    by_ratio = st.tuples(ratio(depth), ops, literal("number"))
    return st.one_of(same_kind, same_kind, mixed, by_ratio).map(lambda t: f"({t[0]} {t[1]} {t[2]})")


@cache
def string_test() -> st.SearchStrategy[str]:
    def build(name: str) -> st.SearchStrategy[str]:
        values = list(STRINGS[name] or ("A", "B", "C", "D", "E"))
        one = st.sampled_from(values).map(lambda v: f'"{v}"')
        many = st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True).map(
            lambda vs: "[" + ", ".join(f'"{v}"' for v in vs) + "]"
        )
        tests = [
            st.tuples(st.sampled_from(["==", "!="]), one).map(lambda t: f"({name} {t[0]} {t[1]})"),
            st.tuples(st.sampled_from(["in", "not in"]), many).map(
                lambda t: f"({name} {t[0]} {t[1]})"
            ),
        ]
        if name == "rating":
            tests.append(
                st.sampled_from(["in", "not in"]).map(lambda op: f"({name} {op} p_ratings)")
            )
        return st.one_of(*tests)

    return st.sampled_from(sorted(STRINGS)).flatmap(build)


@cache
def condition(depth: int) -> st.SearchStrategy[str]:
    """Text of a true/false expression."""
    leaves = st.one_of(
        st.sampled_from(_BY_KIND["bool"]),
        comparison(1),
        string_test(),
        st.tuples(st.sampled_from(NULLABLE), st.sampled_from(["==", "!="])).map(
            lambda t: f"({t[0]} {t[1]} null)"
        ),
        st.tuples(
            st.sampled_from(_BY_KIND["int"]),
            st.sampled_from(["in", "not in"]),
            st.integers(0, 200),
            st.integers(0, 200),
        ).map(lambda t: f"({t[0]} {t[1]} {min(t[2], t[3])}..{max(t[2], t[3])})"),
        st.tuples(st.integers(0, 100), st.sampled_from(_BY_KIND["int"]), st.integers(0, 400)).map(
            lambda t: f"({t[0]} <= {t[1]} < {t[2]})"
        ),
        st.sampled_from(["true", "false"]),
    )
    if depth <= 0:
        return leaves
    sub = condition(depth - 1)
    return st.one_of(
        leaves,
        leaves,
        sub.map(lambda c: f"(not {c})"),
        st.lists(sub, min_size=2, max_size=3).map(lambda cs: "(" + " and ".join(cs) + ")"),
        st.lists(sub, min_size=2, max_size=3).map(lambda cs: "(" + " or ".join(cs) + ")"),
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@cache
def _outcomes() -> dict[str, st.SearchStrategy[str]]:
    """Text of each group's ``then``: built once, since building strategies is not free."""
    roles = ["obligors", "borrower", "guarantor", "co_borrower", "emergency_contact"]
    return {
        "recall": st.sampled_from(["none", "term_end", "cured", "no_payment"]).map(
            lambda reason: f"{{recall: {reason}}}"
        ),
        "channel": st.tuples(
            st.sampled_from([c.value for c in Channel]),
            st.lists(st.sampled_from(roles), max_size=2, unique=True),
        ).map(lambda t: f"{{channel: {t[0]}, recipients: [{', '.join(t[1])}]}}"),
        "fees": st.one_of(
            literal("money"),
            st.tuples(st.sampled_from(SURE_MONEY), literal("number")).map(
                lambda t: f"{t[0]} * {t[1]}"
            ),
            st.tuples(st.sampled_from(["overdue_principal", "total_due"])).map(
                lambda t: f"min({t[0]}, p_amount) / 3"
            ),
        ).map(lambda e: f"{{collection_fee: {_quote(e)}}}"),
        "commission": st.one_of(
            _decimal(4, 0).map(lambda v: v),
            st.just("null"),
            st.just("placement_rate"),
            st.just("annual_rate / 3"),
            st.just("p_rate"),
        ).map(lambda e: f"{{commission_rate: {_quote(e) if e != 'null' else e}}}"),
    }


@st.composite
def policy_texts(draw: st.DrawFn) -> str:
    """The text of a random, valid policy file covering every product."""
    lines = [
        "policy: generated",
        'version: "1"',
        "products: [mortgage, vehicle_pledge, consumer_finance, credit_card]",
        "params:",
    ]
    for name, (kind, default) in PARAMS.items():
        lines.append(f"  {name}: {{type: {kind}, default: {default}}}")
    lines.append("rules:")
    for group, outcome in _outcomes().items():
        lines.append(f"  {group}:")
        header = len(lines)
        for index in range(draw(st.integers(0, 6))):
            lines.append(f"    - id: {group}-{index}")
            priority = draw(st.integers(-1, 2))
            if priority:
                lines.append(f"      priority: {priority}")
            lines.append(f"      when: {_quote(draw(condition(2)))}")
            lines.append(f"      then: {draw(outcome)}")
        if group != "recall" or draw(st.booleans()):  # recall needs no fallback
            lines.append(f"    - id: {group}-fallback")
            lines.append(f"      then: {draw(outcome)}")
        if len(lines) == header:
            lines[-1] += " []"  # no rules at all
    return "\n".join(lines) + "\n"
