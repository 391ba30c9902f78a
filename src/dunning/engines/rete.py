"""The Rete engine: the checked IR run on durable-rules' Rete network (its C core).

Every rule's condition is compiled to a durable-rules JSON ruleset definition — never through
the ``durable.lang`` decorator DSL — owned by this engine object under a unique name, and freed
when the engine is collected. For each decision the fact view is asserted as a *fact* in a fresh
session; every rule whose condition holds fires once and is collected; the winner of each group
is chosen here, in Python, by the policy's own order; the session is deleted. The measured traps
of durable-rules and what this module does about each are listed in docs/engines.md.

Numbers are compared as exact integers: money in minor units, rates scaled by 10^6, literals at
their own scale, sums aligned to a common scale, and divisions removed by cross-multiplying (with
the sign of the denominators, and a zero denominator meaning "missing"). ``min``, ``max`` and
``abs`` become case splits, ``not`` is pushed down to the comparisons, and membership becomes
``$or`` of equalities, since durable-rules has no ``$in``. The translation is three visitors of
the checked tree: conditions become formulas (``_Formulas``), arithmetic becomes integer
fractions (``_Numbers``), and the translator pushes negation down through a formula once, for
every kind of node alike. Computed outcomes are evaluated with the reference closures
(``interpret``).
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import ConfigError, RuleEngineError
from ..facts import FACTS
from ..money import MINOR_UNITS
from ..rules.ir import GROUP_VALUES, GROUPS, PolicyIR, Rule
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
    NodeTransformer,
    NodeVisitor,
    Not,
    Range,
    Ty,
    walk,
)
from . import Engine, Verdict
from .interpret import evaluator

__all__ = ["BOUNDS", "RATE_SCALE", "SPLITS", "ReteEngine"]

#: The functions the rete engine turns into case splits: each argument in turn, where it is the
#: least (min) or greatest (max) of them; abs splits on the sign.
SPLITS = {"min": "<=", "max": ">=", "abs": ""}
#: Decimal places of rate facts (``number`` type) in the Rete engine's integer encoding.
RATE_SCALE = 6
_LIMIT = 2**62  # keep clear of durable-rules' signed 64-bit integers
_names = itertools.count(1)
_SENTINEL = "sentinel"
#: Rules, and tests of one field over all rules, that a rete network may hold. durable-rules
#: 2.0.28 loops forever (in C, where no timeout reaches) from about 511 of either; refused at
#: load with a margin instead.
NETWORK_LIMIT = 400
_FACT = {"_0": 0}  # only our facts carry the field _0


def _ignore(c: Any) -> None:
    """The sentinel rule's action: nothing to do."""


def _durable() -> Any:
    if sys.version_info >= (3, 13):
        raise ConfigError(
            "engine='rete' needs durable-rules, whose last release (2.0.28) does not import on "
            f"Python {sys.version_info[0]}.{sys.version_info[1]} (undefined symbol "
            "PyEval_CallObject), so it is not installed here; use engine='compiled', which "
            "decides identically"
        )
    try:
        import durable_rules_engine
        from durable import engine
    except ImportError as exc:  # pragma: no cover - only without the dependency
        raise ConfigError(
            f"engine='rete' needs durable-rules, which is not installed ({exc}); "
            "use engine='compiled' or install durable-rules"
        ) from None
    return engine, durable_rules_engine


# --- conditions ------------------------------------------------------------------------------

TRUE: dict[str, Any] = {"$true": 1}
FALSE: dict[str, Any] = {"$false": 1}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_JSON_OP = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}


def _unique(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Repeated tests cost durable-rules expression slots (error 113 past 31 per rule).
    seen: dict[str, dict[str, Any]] = {}
    for part in parts:
        seen.setdefault(json.dumps(part, sort_keys=True), part)
    return list(seen.values())


def _all(parts: list[dict[str, Any]]) -> dict[str, Any]:
    kept: list[dict[str, Any]] = []
    for part in parts:
        if part is FALSE:
            return FALSE
        if part is not TRUE:
            kept.extend(part.get("$and", [part]))
    kept = _unique(kept)
    if not kept:
        return TRUE
    return kept[0] if len(kept) == 1 else {"$and": kept}


def _any(parts: list[dict[str, Any]]) -> dict[str, Any]:
    kept: list[dict[str, Any]] = []
    for part in parts:
        if part is TRUE:
            return TRUE
        if part is not FALSE:
            kept.extend(part.get("$or", [part]))
    kept = _unique(kept)
    if not kept:
        return FALSE
    return kept[0] if len(kept) == 1 else {"$or": kept}


@dataclass(frozen=True, slots=True)
class _Num:
    """A number as ``num / (den × 10**scale)`` over integer expressions of durable-rules.

    ``num`` and ``den`` are ints or durable-rules arithmetic (``{"$m": field}``, ``$add``,
    ``$sub``, ``$mul``); ``den`` is 1 unless a division was involved. ``present`` lists the
    conditions under which the value is not missing (nullable facts present, divisors non-zero).
    """

    num: Any
    den: Any
    scale: int
    present: tuple[dict[str, Any], ...] = ()


def _op(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        value = left + right if op == "$add" else left - right if op == "$sub" else left * right
        if abs(value) >= _LIMIT:
            raise RuleEngineError("a constant of the policy is too large for durable-rules")
        return value
    if op == "$mul" and (left == 0 or right == 0):
        return 0
    if op == "$mul" and (left == 1 or right == 1):
        return right if left == 1 else left
    if op in ("$add", "$sub") and right == 0:
        return left
    return {op: {"$l": left, "$r": right}}


#: The largest magnitude of each kind of fact the rete engine accepts, in its integer encoding:
#: money up to 10^13 minor units (10^11 yuan), counts and days up to 10^7, rates below 10.
#: With these bounds every integer expression of a loaded policy provably fits in 63 bits.
BOUNDS = {"money": 10**13, "int": 10**7, "number": 10 * 10**RATE_SCALE, "bool": 1, "string": 0}


def _bound(expr: Any) -> int:
    """An upper bound of ``abs(expr)`` for facts within :data:`BOUNDS`."""
    if isinstance(expr, int):
        return abs(expr)
    if "$m" in expr:
        name = expr["$m"]
        return 0 if name == "_0" else BOUNDS[FACTS[name].kind]
    ((op, args),) = expr.items()
    left, right = _bound(args["$l"]), _bound(args["$r"])
    return left * right if op == "$mul" else left + right


def _scaled(expr: Any, places: int) -> Any:
    return expr if places == 0 else _op("$mul", expr, 10**places)


# --- conditions as formulas: the checked tree's logic, before negation is pushed down -------


@dataclass(frozen=True, slots=True)
class _Const:
    value: bool


@dataclass(frozen=True, slots=True)
class _Flag:
    name: str  # a true/false fact
    nullable: bool


@dataclass(frozen=True, slots=True)
class _Test:
    op: str  # a op b, false when either is missing
    a: Node
    b: Node


@dataclass(frozen=True, slots=True)
class _Present:
    node: Node


@dataclass(frozen=True, slots=True)
class _Junction:
    conjunction: bool  # and / or
    parts: tuple[_Formula, ...]


@dataclass(frozen=True, slots=True)
class _Negation:
    part: _Formula


_Formula = _Const | _Flag | _Test | _Present | _Junction | _Negation


class _Formulas(NodeVisitor[_Formula]):
    """A checked condition as a formula over comparisons and presence tests."""

    def visit_Literal(self, node: Literal) -> _Formula:
        return _Const(bool(node.value))

    def visit_Name(self, node: Name) -> _Formula:
        return _Flag(node.name, node.nullable)

    def visit_Not(self, node: Not) -> _Formula:
        return _Negation(self.visit(node.operand))

    def visit_BoolOp(self, node: BoolOp) -> _Formula:
        return _Junction(node.op == "and", tuple(self.visit(p) for p in node.operands))

    def visit_Compare(self, node: Compare) -> _Formula:
        return _Junction(True, tuple(_Test(op, a, b) for op, a, b in node.pairs()))

    def visit_In(self, node: In) -> _Formula:
        x, container = node.left, node.container
        if isinstance(container, Range):
            inside = _Junction(
                True, (_Test("<=", container.low, x), _Test("<=", x, container.high))
            )
            # x not in a..b: x present, and not (a <= x <= b).
            return _Junction(True, (_Present(x), _Negation(inside))) if node.negated else inside
        assert isinstance(container, ListExpr)
        if node.negated:  # x present and different from every item (lists hold no null)
            tests = tuple(_Test("!=", x, item) for item in container.items)
            return _Junction(True, (_Present(x), *tests))
        return _Junction(False, tuple(_Test("==", x, item) for item in container.items))


class _Numbers(NodeVisitor[_Num]):
    """An arithmetic expression as an exact integer fraction over durable-rules fields."""

    def __init__(self, translator: _Translator) -> None:
        self.t = translator

    def visit_Literal(self, node: Literal) -> _Num:
        value = node.value
        assert isinstance(value, int | Decimal)
        if isinstance(value, int):
            return _Num(value, 1, 0)
        exponent = value.normalize().as_tuple().exponent  # 2.5000 needs one place, not 4
        assert isinstance(exponent, int)
        places = max(0, -exponent)
        return _Num(int(value.scaleb(places)), 1, places)

    def visit_Name(self, node: Name) -> _Num:
        return _Num({"$m": node.name}, 1, self.t.scale_of(node.name), self.t.presence(node))

    def visit_Neg(self, node: Neg) -> _Num:
        inner = self.visit(node.operand)
        return _Num(_op("$mul", -1, inner.num), inner.den, inner.scale, inner.present)

    def visit_Binary(self, node: Binary) -> _Num:
        a, b = self.visit(node.left), self.visit(node.right)
        present = a.present + b.present
        if node.op in "+-":
            op = "$add" if node.op == "+" else "$sub"
            s = max(a.scale, b.scale)
            if a.den == 1 and b.den == 1:
                num = _op(op, _scaled(a.num, s - a.scale), _scaled(b.num, s - b.scale))
                return _Num(num, 1, s, present)
            left = _op("$mul", _scaled(a.num, s - a.scale), b.den)
            right = _op("$mul", _scaled(b.num, s - b.scale), a.den)
            return _Num(_op(op, left, right), _op("$mul", a.den, b.den), s, present)
        if node.op == "*":
            num, den = _op("$mul", a.num, b.num), _op("$mul", a.den, b.den)
            return _Num(num, den, a.scale + b.scale, present)
        # a / b = (Na / (Da 10^sa)) / (Nb / (Db 10^sb)) = Na Db 10^sb / (Da Nb 10^sa)
        nonzero = self.t.compare_ints("!=", b.num, 0)
        num = _op("$mul", a.num, b.den)
        den = _op("$mul", a.den, b.num)
        if b.scale >= a.scale:
            return _Num(_scaled(num, b.scale - a.scale), den, 0, (*present, nonzero))
        return _Num(num, den, a.scale - b.scale, (*present, nonzero))


class _Substitute(NodeTransformer):
    """Replaces one call node by another expression (a branch of a case split)."""

    def __init__(self, target: Call, value: Node) -> None:
        self.target, self.value = target, value

    def visit(self, node: Node, *args: Any) -> Node:
        return self.value if node is self.target else super().visit(node, *args)


class _Translator:
    """Turns checked conditions into durable-rules condition JSON."""

    def __init__(self, currency: str) -> None:
        self.money_scale = MINOR_UNITS[currency]
        self.numbers = _Numbers(self)

    def condition(self, node: Node) -> dict[str, Any]:
        """The JSON condition that holds exactly when ``node`` is true."""
        return self.realize(_Formulas().visit(node), True)

    def realize(self, formula: _Formula, positive: bool) -> dict[str, Any]:
        """``formula`` (``positive``) or its negation, with ``not`` pushed down to the tests.

        durable-rules has no ``$not``: negation turns and into or (De Morgan), a comparison
        into "either side missing, or the opposite comparison", presence into absence.
        """
        if isinstance(formula, _Const):
            return TRUE if formula.value == positive else FALSE
        if isinstance(formula, _Flag):
            test = {formula.name: positive}
            if formula.nullable and not positive:  # not x: true when x is missing
                return _any([{"$nex": {formula.name: 1}}, test])
            return test
        if isinstance(formula, _Test):
            if positive:
                return self.comparison(formula.op, formula.a, formula.b)
            return self.negated_comparison(formula.op, formula.a, formula.b)
        if isinstance(formula, _Present):
            present = _all(list(self.presence(formula.node)))
            return present if positive else self.negate_tree(present)
        if isinstance(formula, _Negation):
            return self.realize(formula.part, not positive)
        parts = [self.realize(part, positive) for part in formula.parts]
        return _all(parts) if formula.conjunction == positive else _any(parts)

    def scale_of(self, name: str) -> int:
        kind = FACTS[name].kind
        return self.money_scale if kind == "money" else RATE_SCALE if kind == "number" else 0

    def present(self, name: str) -> dict[str, Any]:
        return {"$ex": {name: 1}}

    def compare_ints(self, op: str, left: Any, right: Any) -> dict[str, Any]:
        """``left op right`` over integer expressions, with a field on the left if possible."""
        if max(_bound(left), _bound(right)) * 2 >= _LIMIT:
            raise RuleEngineError(
                "a comparison needs integers beyond 63 bits for facts within the rete engine's "
                "bounds; simplify it or use engine='compiled'"
            )
        if isinstance(left, int) and isinstance(right, int):
            return TRUE if _python_cmp(op, left, right) else FALSE
        if not _is_field(left) and _is_field(right):
            left, right, op = right, left, _FLIP[op]
        if not _is_field(left):
            # durable-rules compares a field with an expression: 0 op (right - left).
            left, right = {"$m": "_0"}, _op("$sub", right, left)
            if isinstance(right, int):
                return TRUE if _python_cmp(op, 0, right) else FALSE
        field = left["$m"]
        if op == "==":
            return {field: right}
        return {_JSON_OP[op]: {field: right}}

    def compare_numbers(self, op: str, a: _Num, b: _Num) -> dict[str, Any]:
        s = max(a.scale, b.scale)
        left = _op("$mul", _scaled(a.num, s - a.scale), b.den)
        right = _op("$mul", _scaled(b.num, s - b.scale), a.den)
        if a.den == 1 and b.den == 1:
            test = self.compare_ints(op, left, right)
        else:
            product = _op("$mul", a.den, b.den)
            test = _any(
                [
                    _all([self.compare_ints(">", product, 0), self.compare_ints(op, left, right)]),
                    _all(
                        [
                            self.compare_ints("<", product, 0),
                            self.compare_ints(_FLIP[op], left, right),
                        ]
                    ),
                ]
            )
        return _all([*a.present, *b.present, test])

    def comparison(self, op: str, a: Node, b: Node) -> dict[str, Any]:
        """``a op b`` with the compiled engine's semantics (false when anything is missing)."""
        call = _first_call(a) or _first_call(b)
        if call is not None:
            return self.split(call, lambda x: self.comparison(op, *_swap(a, b, call, x)))
        if _is_null(a) or _is_null(b):
            other = b if _is_null(a) else a
            present = _all(list(self.presence(other)))
            return present if op == "!=" else self.negate_tree(present)
        if a.type.kind in ("string", "bool") or b.type.kind in ("string", "bool"):
            return self.equality(op, a, b)
        return self.compare_numbers(op, self.numbers.visit(a), self.numbers.visit(b))

    def negated_comparison(self, op: str, a: Node, b: Node) -> dict[str, Any]:
        """``not (a op b)``: true when anything is missing, else the opposite comparison."""
        if _is_null(a) or _is_null(b):
            return self.comparison(_NEGATE[op], a, b)
        return _any([self.missing(a), self.missing(b), self.comparison(_NEGATE[op], a, b)])

    def presence(self, node: Node) -> tuple[dict[str, Any], ...]:
        """Conditions under which ``node`` has a value (nullable facts present, divisors ≠ 0)."""
        if isinstance(node, Name):
            return (self.present(node.name),) if node.nullable else ()
        if isinstance(node, Literal):
            return (FALSE,) if node.value is None else ()
        if isinstance(node, Call):
            return tuple(p for arg in node.args for p in self.presence(arg))
        return self.numbers.visit(node).present

    def missing(self, node: Node) -> dict[str, Any]:
        return self.negate_tree(_all(list(self.presence(node))))

    def equality(self, op: str, a: Node, b: Node) -> dict[str, Any]:
        if isinstance(a, Literal) and not isinstance(b, Literal):
            a, b = b, a
        if isinstance(a, Literal):
            assert isinstance(b, Literal)
            return TRUE if (a.value == b.value) == (op == "==") else FALSE
        assert isinstance(a, Name)
        assert isinstance(b, Name | Literal)
        right = {"$m": b.name} if isinstance(b, Name) else b.value
        test = {a.name: right} if op == "==" else {"$neq": {a.name: right}}
        return _all([*self.presence(a), *self.presence(b), test])

    def split(self, call: Call, build: Any) -> dict[str, Any]:
        """Replace a ``min``/``max``/``abs`` call by a case split over its arguments."""
        if call.func not in SPLITS:
            raise RuleEngineError(f"the rete engine cannot represent {call.func}()")
        if call.func == "abs":
            (x,) = call.args
            negated = Neg(x.at, x, end=x.end, ty=x.type)
            zero = Literal(x.at, 0, end=x.end, ty=Ty("int", literal=True))
            return _any(
                [
                    _all([self.comparison(">=", x, zero), build(x)]),
                    _all([self.comparison("<", x, zero), build(negated)]),
                ]
            )
        op = SPLITS[call.func]
        branches = []
        for i, candidate in enumerate(call.args):
            guards = [
                self.comparison(op, candidate, other) for j, other in enumerate(call.args) if j != i
            ]
            branches.append(_all([*guards, build(candidate)]))
        return _any(branches)

    def negate_tree(self, tree: dict[str, Any]) -> dict[str, Any]:
        """Negate a tree made of presence tests (``$ex``) and integer comparisons."""
        if tree is TRUE:
            return FALSE
        if tree is FALSE:
            return TRUE
        if "$and" in tree:
            return _any([self.negate_tree(t) for t in tree["$and"]])
        if "$or" in tree:
            return _all([self.negate_tree(t) for t in tree["$or"]])
        ((key, value),) = tree.items()
        if key == "$ex":
            return {"$nex": value}
        if key == "$nex":
            return {"$ex": value}
        if key == "$neq":
            return dict(value)
        inverse = {"$lt": "$gte", "$lte": "$gt", "$gt": "$lte", "$gte": "$lt"}
        if key in inverse:
            return {inverse[key]: value}
        return {"$neq": {key: value}}  # a plain equality {field: value}


def _python_cmp(op: str, a: int, b: int) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


def _is_field(expr: Any) -> bool:
    return isinstance(expr, dict) and set(expr) == {"$m"}


def _is_null(node: Node) -> bool:
    return isinstance(node, Literal) and node.value is None


def _first_call(node: Node) -> Call | None:
    return next((n for n in walk(node) if isinstance(n, Call)), None)


def _swap(a: Node, b: Node, target: Call, value: Node) -> tuple[Node, Node]:
    substitute = _Substitute(target, value)
    return substitute.visit(a), substitute.visit(b)


# --- the engine --------------------------------------------------------------------------------


class ReteEngine(Engine):
    """Decides by asserting the fact view into a durable-rules Rete network.

    Attributes:
        conditions: Each rule's condition as durable-rules JSON, by ``group.index`` (``channel.0``).
        ruleset: The durable-rules ruleset (its own object, for inspection).
        ruleset_name: Its process-unique name.
    """

    name = "rete"

    def __init__(self, ir: PolicyIR, digest: str) -> None:
        super().__init__(ir, digest)
        engine, native = _durable()
        translator = _Translator(ir.currency)
        self._money_scale = translator.money_scale
        # Every group by name: the decision groups, and recall (decided alone, see recall()).
        self._groups = {group: ir.groups.get(group, ()) for group in (*GROUPS, "recall")}
        self._fallback = {
            group: next((i for i, r in enumerate(rules) if r.when is None), len(rules))
            for group, rules in self._groups.items()
        }
        definition: dict[str, Any] = {}
        self.conditions: dict[str, Any] = {}
        tests: dict[str, int] = {"_0": 0}  # tests of each field, over every condition
        for g, rules in self._groups.items():
            for index, rule in enumerate(rules):
                if rule.when is None or index > self._fallback[g]:
                    continue
                try:
                    condition = translator.condition(rule.when)
                except RuleEngineError as exc:
                    raise RuleEngineError(f"{_where(rule)}: rule {rule.id}: {exc}") from None
                if condition is FALSE:
                    continue  # can never match: no node in the network
                # Anchor every condition to our facts: durable-rules also matches conditions
                # against its session state object, where "field missing" ($nex) always holds,
                # and every state update would fire such a rule again, forever.
                condition = _all([_FACT, condition])
                key = f"{g}.{index}"
                self.conditions[key] = condition
                _count_tests(condition, tests)
                crowded = max(tests, key=tests.__getitem__)
                if len(self.conditions) > NETWORK_LIMIT or tests[crowded] > NETWORK_LIMIT:
                    what = (
                        f"{len(self.conditions)} rules"
                        if len(self.conditions) > NETWORK_LIMIT
                        else f"{tests[crowded]} tests of {crowded}"
                    )
                    raise RuleEngineError(
                        f"{_where(rule)}: rule {rule.id}: the "
                        f"policy's conditions reach {what}, more than the rete engine takes "
                        f"({NETWORK_LIMIT}; durable-rules stops answering at about 511); "
                        "use engine='compiled'"
                    )
                definition[key] = {"all": [{"m": condition}], "run": self._action(key)}
        # durable-rules crashes (SIGSEGV) when it deletes the session of a fact that no rule
        # matched, and on any fact for an empty ruleset: a sentinel rule matches every fact.
        definition[_SENTINEL] = {"all": [{"m": _FACT}], "run": _ignore}
        # A process-unique name: durable-rules' names cannot be reused or replaced.
        self.ruleset_name = f"dunning-{digest[7:19]}-{next(_names)}"
        try:
            self.ruleset = engine.Ruleset(self.ruleset_name, None, definition)
        except native.error as exc:
            raise RuleEngineError(self._refused(engine, native, exc)) from None
        weakref.finalize(self, native.delete_ruleset, self.ruleset._handle)
        # Computed outcomes, as closures of the reference semantics.
        self._outcomes = {
            rule.id: {key: evaluator(node) for key, node in rule.outcome.items()}
            for rule in ir.rules()
            if isinstance(rule.outcome, Mapping)
        }
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._matched: list[str] = []
        self._running: str | None = None

    def _refused(self, engine: Any, native: Any, error: Exception) -> str:
        """Say which rule durable-rules refused, trying the rules one by one."""
        for key, condition in self.conditions.items():
            trial = {key: {"all": [{"m": condition}], "run": _ignore}}
            try:
                ruleset = engine.Ruleset(f"{self.ruleset_name}-check-{key}", None, trial)
            except native.error:
                limit = ""
                if "113" in str(error):
                    limit = " (it allows about 15 and/or groups per rule, after translation)"
                g, index = _parts(key)
                rule = self._groups[g][index]
                return (
                    f"{_where(rule)}: rule {rule.id}: durable-rules cannot build its condition: "
                    f"{error}{limit}; simplify the condition or use engine='compiled'"
                )
            native.delete_ruleset(ruleset._handle)
        return f"durable-rules cannot build the policy: {error}; use engine='compiled'"

    def _action(self, key: str) -> Any:
        def fired(c: Any) -> None:  # one argument: durable-rules runs it synchronously
            self._running = key
            self._matched.append(key)

        return fired

    def encode(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """Return the fact view as durable-rules sees it: exact integers, no missing keys."""
        event: dict[str, Any] = {"_0": 0}
        for name, spec in FACTS.items():
            value = facts[name]
            if value is None:
                continue  # a missing fact is an absent field
            if spec.kind in ("money", "number"):
                places = self._money_scale if spec.kind == "money" else RATE_SCALE
                scaled = Decimal(value).scaleb(places)
                if scaled != scaled.to_integral_value():
                    raise RuleEngineError(
                        f"fact {name} = {value} has more than {places} decimal places, which "
                        "the rete engine cannot compare exactly; use engine='compiled'"
                    )
                value = int(scaled)
            if spec.kind in ("money", "number", "int") and abs(value) > BOUNDS[spec.kind]:
                raise RuleEngineError(
                    f"fact {name} = {facts[name]} is beyond the rete engine's range; "
                    "use engine='compiled'"
                )
            event[name] = value
        return event

    def matched(self, facts: Mapping[str, Any]) -> set[str]:
        """Return the keys (``group.index``) of every rule whose condition holds for ``facts``."""
        event = self.encode(facts)
        with self._lock:  # durable-rules is not thread-safe
            sid = str(next(self._sessions))
            event["sid"] = sid
            self._matched = []
            self._running = None
            try:
                handle = self.ruleset.assert_fact(event)  # the sentinel always matches
                results: list[tuple[Any, Any]] = []
                self.ruleset.do_actions(handle, lambda e, s: results.append((e, s)))
                error, state = results[-1] if results else (None, None)
                failure = error or (state or {}).get("exception")
                if failure:  # durable-rules swallows an action's exception into the state
                    rule = self._rule_id(self._running)
                    raise RuleEngineError(f"durable-rules failed in rule {rule}: {failure}")
                return set(self._matched) - {_SENTINEL}
            finally:
                # Every session is deleted: a ruleset holds at most 1,024 live sessions.
                self.ruleset.delete_state(sid)

    def _rule_id(self, key: str | None) -> str:
        if key is None or key == _SENTINEL:
            return "?"
        g, index = _parts(key)
        return self._groups[g][index].id

    def _winner(self, group: str, matched: set[str]) -> int:
        """The index of ``group``'s winner: its first matched rule, else its fallback."""
        indices = [index for g, index in map(_parts, matched) if g == group]
        return min([*indices, self._fallback[group]])

    def _computed(self, rule: Rule, facts: Mapping[str, Any]) -> Any:
        """What a winner computes beside itself, as ``GROUP_VALUES`` says of its group."""
        kind = GROUP_VALUES[rule.group]
        if kind is None:
            return None
        outcomes = self._outcomes[rule.id]
        if kind == "*":
            return {key: value(facts) for key, value in outcomes.items()}
        return outcomes[kind](facts)

    def run(self, facts: Mapping[str, Any]) -> Verdict:
        """Decide every group for ``facts``: winners by policy order, outcomes evaluated here."""
        matched = self.matched(facts)
        winners = {}
        for group in GROUPS:
            rule = self._groups[group][self._winner(group, matched)]
            winners[group] = (rule, self._computed(rule, facts))
        return Verdict.of(winners)

    def recall(self, facts: Mapping[str, Any]) -> Rule | None:
        """The first recall rule that holds for a placed case's facts, or ``None``."""
        index = self._winner("recall", self.matched(facts))
        rules = self._groups["recall"]
        return rules[index] if index < len(rules) else None


def _parts(key: str) -> tuple[str, int]:
    """A rule's key in the network (``group.index``) as its group and index."""
    group, _, index = key.rpartition(".")
    return group, int(index)


def _count_tests(condition: Any, tests: dict[str, int]) -> None:
    """Add the field tests of a durable-rules condition to ``tests`` (field → count)."""
    if not isinstance(condition, dict):
        return
    for key, value in condition.items():
        if key in ("$and", "$or", "$all", "$any"):
            for part in value:
                _count_tests(part, tests)
        elif key in ("$true", "$false"):
            continue
        elif key.startswith("$"):  # $lt, $ex, $nex …: {field: operand}
            for field in value if isinstance(value, dict) else ():
                tests[field] = tests.get(field, 0) + 1
        else:  # {field: value}: equality
            tests[key] = tests.get(key, 0) + 1


def _where(rule: Rule) -> str:
    """``file:line:col`` of a rule, as diagnostics give it."""
    return f"{rule.file}:{rule.pos.line}:{rule.pos.col}"
