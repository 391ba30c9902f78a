"""Stage 4a of the rule front end: names, types and constants of one expression.

Each expression is parsed, its names resolved against the fact table and the parameters ("did
you mean" on a miss), its types checked, and its parameters and constant arithmetic folded. The
result is a new tree in which every node carries its :class:`~dunning.rules.nodes.Ty` — and so
whether it may be missing — for every later stage to read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Context, Decimal
from fractions import Fraction
from typing import Any

from ..errors import did_you_mean, suggest
from ..facts import FACTS, FactSpec
from .expr import MAX_DIGITS, ExprError, parse
from .nodes import (
    NUMERIC,
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
    NodeTransformer,
    Not,
    Range,
    Ty,
)
from .source import PScalar, Source

__all__ = ["CheckError", "Scope", "Typer", "compatible", "literal_type"]


class CheckError(Exception):
    """A type or name problem in one expression, at character ``at`` of its text."""

    def __init__(self, code: str, message: str, at: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.at, self.hint = code, message, at, hint


class _Reported(Exception):
    """The expression uses something already reported (a parameter whose value was bad)."""


@dataclass(frozen=True)
class Scope:
    """What names an expression may use besides the facts.

    Attributes:
        params: Parameter values in force (only those that passed their checks).
        param_types: Their types.
        declared: Every declared parameter (for suggestions, valid or not).
        bucket_labels: The policy's bucket labels (the values of ``bucket``).
        facts: The facts expressions read (default: a case's, :data:`dunning.facts.FACTS`;
            a procedure file's cycle nodes read their own).
        facts_hint: Where a reader finds them listed.
    """

    params: Mapping[str, Any]
    param_types: Mapping[str, Ty]
    declared: tuple[str, ...]
    bucket_labels: tuple[str, ...]
    facts: Mapping[str, FactSpec] = field(default_factory=lambda: FACTS)
    facts_hint: str = "facts are listed in docs/rules.md; parameters under params:"


class Typer(NodeTransformer):
    """Checks expressions and returns them typed and folded."""

    def __init__(self, scope: Scope, source: Source) -> None:
        self.scope = scope
        self.src = source
        self.used: set[str] = set()  # the parameters folded in, since the caller last cleared it

    def expression(self, scalar: PScalar, rule_id: str | None = None) -> Node | None:
        """Parse and check one expression scalar; report problems at their exact position."""
        value = scalar.value
        if not isinstance(value, str):  # a YAML number, true/false or null
            end = len(scalar.raw)
            return Literal(0, value, end=end, ty=literal_type(value))
        try:
            return self.visit(parse(value))
        except _Reported:
            return None
        except (ExprError, CheckError) as exc:
            self.src.report(
                scalar.pos_at(exc.at), exc.code, exc.message, hint=exc.hint, rule_id=rule_id
            )
            return None

    # -- leaves
    def visit_Literal(self, node: Literal) -> Node:
        """A constant: its own type, marked literal (a plain number adapts to money)."""
        return replace(node, ty=literal_type(node.value))

    def visit_Name(self, node: Name) -> Node:
        """A fact, typed from the fact table; a parameter, folded into its value."""
        scope = self.scope
        facts = scope.facts
        if node.name in facts:
            spec = facts[node.name]
            values = scope.bucket_labels if node.name == "bucket" else spec.values
            return replace(node, ty=Ty(spec.kind, spec.nullable, values))
        if node.name in scope.param_types:
            self.used.add(node.name)
            value, ty = scope.params[node.name], scope.param_types[node.name]
            if isinstance(value, tuple):
                items = tuple(Literal(node.at, v, end=node.end, ty=literal_type(v)) for v in value)
                return ListExpr(node.at, items, end=node.end, ty=ty)
            return Literal(node.at, value, end=node.end, ty=ty)
        if node.name in scope.declared:
            raise _Reported  # declared, but its value was refused: said once, where it stands
        choices = [*facts, *scope.declared]
        close = suggest(node.name, choices)
        is_param = close in scope.declared
        what = "parameter" if is_param else "fact"
        raise CheckError(
            "unknown-param" if is_param else "unknown-fact",
            f"unknown {what} {node.name!r}" + did_you_mean(node.name, choices),
            node.at,
            scope.facts_hint,
        )

    # -- arithmetic
    def visit_Neg(self, node: Neg) -> Node:
        """``-x``: a number; a constant is folded."""
        operand = self.visit(node.operand)
        ty = operand.type
        _numeric(ty, node.operand.at, "'-'")
        if isinstance(operand, Literal) and isinstance(operand.value, int | Decimal):
            return Literal(node.at, -operand.value, end=node.end, ty=ty)
        return Neg(node.at, operand, end=node.end, ty=replace(ty, literal=False))

    def visit_Binary(self, node: Binary) -> Node:
        """Arithmetic: money with money or constants, exact folding, ``/`` may be missing."""
        left, right = self.visit(node.left), self.visit(node.right)
        lt, rt = left.type, right.type
        _numeric(lt, node.left.at, f"'{node.op}'")
        _numeric(rt, node.right.at, f"'{node.op}'")
        op = node.op
        money_l, money_r = lt.kind == "money", rt.kind == "money"
        if op in "+-":
            if money_l != money_r and not (lt.literal or rt.literal):
                raise CheckError(
                    "type-mismatch",
                    f"cannot {'add' if op == '+' else 'subtract'} {rt.describe()} "
                    f"{'to' if op == '+' else 'from'} {lt.describe()}",
                    node.at,
                )
            kind = "money" if money_l or money_r else _common_numeric([lt, rt]) or "number"
        elif op == "*":
            if money_l and money_r:
                raise CheckError("type-mismatch", "cannot multiply money by money", node.at)
            kind = "money" if money_l or money_r else _common_numeric([lt, rt]) or "number"
        else:
            if isinstance(right, Literal) and right.value == 0:
                raise CheckError("division-by-zero", "division by zero", node.right.at)
            if money_r and not money_l:
                raise CheckError("type-mismatch", "cannot divide a number by money", node.at)
            kind = "number" if money_l == money_r else "money"
        nullable = lt.nullable or rt.nullable
        if op == "/" and not isinstance(right, Literal):
            nullable = True  # x / 0 is missing, not an error at decision time
        constant = lt.literal and rt.literal
        if isinstance(left, Literal) and isinstance(right, Literal):
            folded = _fold(op, left.value, right.value)
            if folded is not None:
                return Literal(node.at, folded, end=node.end, ty=Ty(kind, literal=constant))
        ty = Ty(kind, nullable, literal=constant)
        return Binary(node.at, op, left, right, end=node.end, ty=ty)

    def visit_Call(self, node: Call) -> Node:
        """``min``/``max``/``abs`` of numbers of one kind; constant calls are folded."""
        args = tuple(self.visit(a) for a in node.args)
        for written, arg in zip(node.args, args, strict=True):
            _numeric(arg.type, written.at, f"{node.func}()")
        types = [a.type for a in args]
        result = _common_numeric(types)
        if result is None:
            raise CheckError(
                "type-mismatch", f"{node.func}() mixes money with non-money values", node.at
            )
        if all(isinstance(a, Literal) for a in args):
            values = [a.value for a in args]  # type: ignore[attr-defined]
            value = abs(values[0]) if node.func == "abs" else _CONSTANT[node.func](values)
            return Literal(node.at, value, end=node.end, ty=Ty(result, literal=True))
        nullable = any(t.nullable for t in types)
        return Call(node.at, node.func, args, end=node.end, ty=Ty(result, nullable))

    # -- logic
    def visit_Not(self, node: Not) -> Node:
        """``not x``: x must be true/false."""
        operand = self.visit(node.operand)
        _boolean(operand.type, node.operand.at, "'not'")
        return Not(node.at, operand, end=node.end, ty=Ty("bool"))

    def visit_BoolOp(self, node: BoolOp) -> Node:
        """``and``/``or``: every operand must be true/false."""
        parts = []
        for part in node.operands:
            checked = self.visit(part)
            _boolean(checked.type, part.at, f"'{node.op}'")
            parts.append(checked)
        return BoolOp(node.at, node.op, tuple(parts), end=node.end, ty=Ty("bool"))

    def visit_Compare(self, node: Compare) -> Node:
        """A comparison chain: each link of comparable types; ``null`` only with ==, !=."""
        left = self.visit(node.left)
        rights = tuple(self.visit(r) for r in node.rights)
        terms = (left, *rights)
        written = (node.left, *node.rights)
        for i, op in enumerate(node.ops):
            self._comparable(op, terms[i], terms[i + 1], written[i + 1].at)
        return Compare(node.at, left, node.ops, rights, end=node.end, ty=Ty("bool"))

    def _comparable(self, op: str, a: Node, b: Node, at: int) -> None:
        at_, bt = a.type, b.type
        if at_.kind == "null" or bt.kind == "null":
            other = bt if at_.kind == "null" else at_
            if op not in ("==", "!="):
                raise CheckError("type-mismatch", f"'{op}' cannot compare with null", at)
            if not other.nullable and other.kind != "null":
                raise CheckError(
                    "type-mismatch",
                    f"{other.describe()} is never missing: comparing it with null is always "
                    f"{'false' if op == '==' else 'true'}",
                    at,
                )
            return
        if op in ("<", "<=", ">", ">="):
            _numeric(at_, at, f"'{op}'")
            _numeric(bt, at, f"'{op}'")
        if not compatible(at_, bt):
            raise CheckError(
                "type-mismatch", f"cannot compare {at_.describe()} with {bt.describe()}", at
            )
        for ty, node in ((at_, b), (bt, a)):
            if ty.values and isinstance(node, Literal) and isinstance(node.value, str):
                _known_value(node, ty.values)

    def visit_In(self, node: In) -> Node:
        """Membership in a range of numbers or a list of constants (or a list parameter)."""
        left = self.visit(node.left)
        lt = left.type
        container = node.container
        if isinstance(container, Range):
            low, high = self.visit(container.low), self.visit(container.high)
            for ty, at in ((lt, node.left.at), (low.type, low.at), (high.type, high.at)):
                _numeric(ty, at, "a range")
            for bound in (low, high):
                if not compatible(lt, bound.type):
                    raise CheckError(
                        "type-mismatch",
                        f"cannot compare {lt.describe()} with a range of {bound.type.describe()}",
                        container.at,
                    )
            span = Range(container.at, low, high, end=container.end, ty=low.type)
            return In(node.at, left, span, node.negated, end=node.end, ty=Ty("bool"))
        listed = container if isinstance(container, ListExpr) else self.visit(container)
        if not isinstance(listed, ListExpr):
            raise CheckError(
                "type-mismatch",
                f"'in' needs a list or a range, got {listed.type.describe()}",
                container.at,
            )
        items = []
        for item in listed.items:
            value = self.visit(item)
            if not isinstance(value, Literal):
                raise CheckError("not-constant", "list items must be constants", item.at)
            if not compatible(lt, value.type):
                raise CheckError(
                    "type-mismatch",
                    f"cannot compare {lt.describe()} with {value.type.describe()}",
                    item.at,
                )
            if lt.values and isinstance(value.value, str):
                _known_value(value, lt.values)
            items.append(value)
        elem = lt.kind if lt.kind != "list" else lt.elem
        checked = ListExpr(listed.at, tuple(items), end=listed.end, ty=Ty("list", elem=elem))
        return In(node.at, left, checked, node.negated, end=node.end, ty=Ty("bool"))

    def visit_ListExpr(self, node: ListExpr) -> Node:
        """A list outside ``in``: an error."""
        raise CheckError("type-mismatch", "a list can only follow 'in'", node.at)

    def visit_Range(self, node: Range) -> Node:
        """A range outside ``in``: an error (the parser never builds one)."""
        raise CheckError("syntax-error", "unexpected expression", node.at)


_CONSTANT = {"min": min, "max": max}


def _numeric(ty: Ty, at: int, where: str) -> None:
    if ty.kind not in NUMERIC:
        raise CheckError("type-mismatch", f"{where} needs a number, got {ty.describe()}", at)


def _boolean(ty: Ty, at: int, where: str) -> None:
    if ty.kind != "bool":
        raise CheckError("type-mismatch", f"{where} needs true/false, got {ty.describe()}", at)


def _known_value(literal: Literal, values: tuple[str, ...]) -> None:
    assert isinstance(literal.value, str)
    if literal.value not in values:
        raise CheckError(
            "unknown-value",
            f"{literal.value!r} is not one of {', '.join(values)}"
            + did_you_mean(literal.value, values),
            literal.at,
        )


def literal_type(value: object) -> Ty:
    """Return the type of a constant written in a rule."""
    if isinstance(value, bool):
        return Ty("bool", literal=True)
    if isinstance(value, int):
        return Ty("int", literal=True)
    if isinstance(value, Decimal):
        return Ty("number", literal=True)
    if isinstance(value, str):
        return Ty("string", literal=True)
    return Ty("null", literal=True)


def compatible(a: Ty, b: Ty) -> bool:
    """Whether values of types ``a`` and ``b`` may be compared."""
    if a.kind in NUMERIC and b.kind in NUMERIC:
        if (a.kind == "money") != (b.kind == "money"):
            return a.literal or b.literal
        return True
    elem_a = a.elem if a.kind == "list" else a.kind
    elem_b = b.elem if b.kind == "list" else b.kind
    if elem_a in NUMERIC and elem_b in NUMERIC:
        return True
    return elem_a == elem_b


def _common_numeric(types: list[Ty]) -> str | None:
    kinds = {t.kind for t in types}
    if "money" in kinds:
        if all(t.kind == "money" or t.literal for t in types):
            return "money"
        return None
    return "int" if kinds == {"int"} else "number"


def _fold(op: str, a: Any, b: Any) -> int | Decimal | None:
    """Fold constant arithmetic exactly; ``None`` leaves it to run time (as for 1 / 3)."""
    if not isinstance(a, int | Decimal) or not isinstance(b, int | Decimal):
        return None
    exact = Context(prec=10_000)
    if op == "+":
        return a + b if isinstance(a, int) and isinstance(b, int) else exact.add(a, b)
    if op == "-":
        return a - b if isinstance(a, int) and isinstance(b, int) else exact.subtract(a, b)
    if op == "*":
        return a * b if isinstance(a, int) and isinstance(b, int) else exact.multiply(a, b)
    quotient = Fraction(a) / Fraction(b)
    rest = quotient.denominator
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    if rest != 1:
        return None  # no finite decimal: keep the exact division for run time
    value = exact.divide(Decimal(quotient.numerator), Decimal(quotient.denominator))
    return value if len(value.as_tuple().digits) <= MAX_DIGITS else None
