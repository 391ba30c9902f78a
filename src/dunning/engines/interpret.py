"""The expression language's reference semantics: a checked tree turned into Python closures.

Each node becomes a function of the fact view, built once; evaluating it walks no tree and
looks nothing up by node class. Missing values follow the rules every engine follows (see
``_runtime``): arithmetic with a missing value is missing, a comparison with one is false,
``x == null`` tests for one, and ``not`` of a false comparison is true. The rete engine computes
its outcomes with these closures, and explanations of every engine evaluate conditions with
them, part by part; the differential tests hold the engines to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..rules.nodes import (
    Binary,
    BoolOp,
    Call,
    Compare,
    In,
    ListExpr,
    Literal,
    Name,
    Neg,
    Node,
    NodeVisitor,
    Not,
    Range,
)
from . import _runtime as rt

__all__ = ["FUNCTIONS", "evaluator"]

Facts = Mapping[str, Any]
Closure = Callable[[Facts], Any]

_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": rt.add,
    "-": rt.sub,
    "*": rt.mul,
    "/": rt.div,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": rt.eq,
    "!=": rt.ne,
    "<": rt.lt,
    "<=": rt.le,
    ">": rt.gt,
    ">=": rt.ge,
}
#: What each function of the rule language means.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": rt.least,
    "max": rt.greatest,
    "abs": rt.absolute,
}


def evaluator(node: Node) -> Closure:
    """Return a function computing ``node``'s value from a fact view."""
    return _Closures().visit(node)


class _Closures(NodeVisitor[Closure]):
    def visit_Literal(self, node: Literal) -> Closure:
        value = node.value
        return lambda f: value

    def visit_Name(self, node: Name) -> Closure:
        name = node.name
        return lambda f: f[name]

    def visit_Neg(self, node: Neg) -> Closure:
        operand = self.visit(node.operand)
        return lambda f: rt.neg(operand(f))

    def visit_Binary(self, node: Binary) -> Closure:
        op, left, right = _ARITHMETIC[node.op], self.visit(node.left), self.visit(node.right)
        return lambda f: op(left(f), right(f))

    def visit_Call(self, node: Call) -> Closure:
        func, args = FUNCTIONS[node.func], [self.visit(a) for a in node.args]
        return lambda f: func(*(arg(f) for arg in args))

    def visit_Not(self, node: Not) -> Closure:
        operand = self.visit(node.operand)
        return lambda f: not operand(f)

    def visit_BoolOp(self, node: BoolOp) -> Closure:
        parts = [self.visit(p) for p in node.operands]
        if node.op == "and":
            return lambda f: all(part(f) for part in parts)
        return lambda f: any(part(f) for part in parts)

    def visit_Compare(self, node: Compare) -> Closure:
        links = [self._link(op, a, b) for op, a, b in node.pairs()]
        return lambda f: all(link(f) for link in links)

    def _link(self, op: str, a: Node, b: Node) -> Closure:
        if _is_null(a) or _is_null(b):  # x == null tests for a missing value
            other = self.visit(b if _is_null(a) else a)
            if op == "==":
                return lambda f: other(f) is None
            return lambda f: other(f) is not None
        test, left, right = _COMPARE[op], self.visit(a), self.visit(b)
        return lambda f: test(left(f), right(f))

    def visit_In(self, node: In) -> Closure:
        left = self.visit(node.left)
        container = node.container
        if isinstance(container, Range):
            low, high = self.visit(container.low), self.visit(container.high)

            def inside(f: Facts) -> bool:
                return rt.between(left(f), low(f), high(f))

        else:
            assert isinstance(container, ListExpr)
            values = frozenset(i.value for i in container.items if isinstance(i, Literal))

            def inside(f: Facts) -> bool:
                return left(f) in values  # lists hold no null: a missing value is in none

        if node.negated:  # a missing value is not "not in" anything either
            return lambda f: left(f) is not None and not inside(f)
        return inside


def _is_null(node: Node) -> bool:
    return isinstance(node, Literal) and node.value is None
