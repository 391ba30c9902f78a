"""The Rete engine: the checked IR run on durable-rules' Rete network (its C core).

Every rule's condition is compiled to a durable-rules JSON ruleset definition — never through
the ``durable.lang`` decorator DSL — owned by this engine object under a unique name, and freed
when the engine is collected. For each decision the fact view is asserted as a *fact* in a fresh
session; every rule whose condition holds fires once and is collected; the winner of each group
is chosen here, in Python, by the policy's own order; the session is deleted. The measured traps
of durable-rules and what this module does about each are listed in docs/engines.md.

Numbers are compared as exact integers: money in minor units, rates scaled by 10^8, literals at
their own scale, sums aligned to a common scale, and divisions removed by cross-multiplying (with
the sign of the denominators, and a zero denominator meaning "missing"). ``min``, ``max`` and
``abs`` become case splits, ``not`` is pushed down to the comparisons, and membership becomes
``$or`` of equalities, since durable-rules has no ``$in``.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import weakref
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import ConfigError, RuleEngineError
from ..facts import FACTS
from ..money import MINOR_UNITS
from ..rules.checker import PolicyIR
from ..rules.expr import (
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
    Not,
    Range,
    children,
)
from ..rules.schema import GROUPS
from . import Engine, Outcome, RuleTrace, _runtime

__all__ = ["BOUNDS", "RATE_SCALE", "ReteEngine", "evaluate"]

#: Decimal places of rate facts (``number`` type) in the Rete engine's integer encoding.
RATE_SCALE = 6
_LIMIT = 2**62  # keep clear of durable-rules' signed 64-bit integers
_names = itertools.count(1)
_SENTINEL = "sentinel"
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


class _Translator:
    """Turns checked condition trees into durable-rules condition JSON."""

    def __init__(self, currency: str) -> None:
        self.money_scale = MINOR_UNITS[currency]

    def scale_of(self, name: str) -> int:
        kind = FACTS[name].kind
        return self.money_scale if kind == "money" else RATE_SCALE if kind == "number" else 0

    # -- numbers
    def number(self, node: Node) -> _Num:
        if isinstance(node, Literal):
            value = node.value
            assert isinstance(value, int | Decimal)
            if isinstance(value, int):
                return _Num(value, 1, 0)
            exponent = value.normalize().as_tuple().exponent  # 2.5000 needs one place, not 4
            assert isinstance(exponent, int)
            places = max(0, -exponent)
            return _Num(int(value.scaleb(places)), 1, places)
        if isinstance(node, Name):
            return _Num({"$m": node.name}, 1, self.scale_of(node.name), self.presence(node))
        if isinstance(node, Neg):
            inner = self.number(node.operand)
            return _Num(_op("$mul", -1, inner.num), inner.den, inner.scale, inner.present)
        assert isinstance(node, Binary), node
        a, b = self.number(node.left), self.number(node.right)
        present = a.present + b.present
        if node.op in "+-":
            op = "$add" if node.op == "+" else "$sub"
            if a.den == 1 and b.den == 1:
                s = max(a.scale, b.scale)
                num = _op(op, _scaled(a.num, s - a.scale), _scaled(b.num, s - b.scale))
                return _Num(num, 1, s, present)
            s = max(a.scale, b.scale)
            left = _op("$mul", _scaled(a.num, s - a.scale), b.den)
            right = _op("$mul", _scaled(b.num, s - b.scale), a.den)
            return _Num(_op(op, left, right), _op("$mul", a.den, b.den), s, present)
        if node.op == "*":
            num, den = _op("$mul", a.num, b.num), _op("$mul", a.den, b.den)
            return _Num(num, den, a.scale + b.scale, present)
        # a / b = (Na / (Da 10^sa)) / (Nb / (Db 10^sb)) = Na Db 10^sb / (Da Nb 10^sa)
        nonzero = self.compare_ints("!=", b.num, 0)
        num = _op("$mul", a.num, b.den)
        den = _op("$mul", a.den, b.num)
        if b.scale >= a.scale:
            return _Num(_scaled(num, b.scale - a.scale), den, 0, (*present, nonzero))
        return _Num(num, den, a.scale - b.scale, (*present, nonzero))

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

    # -- comparisons of any type
    def comparison(self, op: str, a: Node, b: Node) -> dict[str, Any]:
        """``a op b`` with the compiled engine's semantics (false when anything is missing)."""
        calls = _first_call(a) or _first_call(b)
        if calls is not None:
            return self.split(calls, lambda x: self.comparison(op, *_swap(a, b, calls, x)))
        if _is_null(a) or _is_null(b):
            other = b if _is_null(a) else a
            present = _all(list(self.presence(other)))
            return present if op == "!=" else self.negate_tree(present)
        if _kind(a) in ("string", "bool") or _kind(b) in ("string", "bool"):
            return self.equality(op, a, b)
        return self.compare_numbers(op, self.number(a), self.number(b))

    def presence(self, node: Node) -> tuple[dict[str, Any], ...]:
        """Conditions under which ``node`` has a value (nullable facts present, divisors ≠ 0)."""
        if isinstance(node, Name):
            return (self.present(node.name),) if FACTS[node.name].nullable else ()
        if isinstance(node, Literal):
            return (FALSE,) if node.value is None else ()
        if isinstance(node, Call):
            return tuple(p for arg in node.args for p in self.presence(arg))
        return self.number(node).present

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
        if call.func == "abs":
            (x,) = call.args
            negated = Neg(x.at, x)
            return _any(
                [
                    _all([self.comparison(">=", x, Literal(0, 0)), build(x)]),
                    _all([self.comparison("<", x, Literal(0, 0)), build(negated)]),
                ]
            )
        op = "<=" if call.func == "min" else ">="
        branches = []
        for i, candidate in enumerate(call.args):
            guards = [
                self.comparison(op, candidate, other) for j, other in enumerate(call.args) if j != i
            ]
            branches.append(_all([*guards, build(candidate)]))
        return _any(branches)

    # -- boolean structure
    def condition(self, node: Node) -> dict[str, Any]:
        if isinstance(node, Literal):
            return TRUE if node.value else FALSE
        if isinstance(node, Name):
            return {node.name: True}
        if isinstance(node, Not):
            return self.negation(node.operand)
        if isinstance(node, BoolOp):
            parts = [self.condition(p) for p in node.operands]
            return _all(parts) if node.op == "and" else _any(parts)
        if isinstance(node, Compare):
            terms = [node.left, *node.rights]
            return _all(
                [
                    self.comparison(op, a, b)
                    for op, a, b in zip(node.ops, terms, terms[1:], strict=False)
                ]
            )
        assert isinstance(node, In), node
        return self.membership(node)

    def membership(self, node: In) -> dict[str, Any]:
        x, container = node.left, node.container
        if isinstance(container, Range):
            if not node.negated:
                return _all(
                    [
                        self.comparison("<=", container.low, x),
                        self.comparison("<=", x, container.high),
                    ]
                )
            # x not in a..b: x present, and not (a <= x <= b).
            outside = _any(
                [
                    self.negation_of_comparison("<=", container.low, x),
                    self.negation_of_comparison("<=", x, container.high),
                ]
            )
            return _all([*self.presence(x), outside])
        assert isinstance(container, ListExpr)
        if node.negated:
            return _all(
                [*self.presence(x)] + [self.comparison("!=", x, item) for item in container.items]
            )
        return _any([self.comparison("==", x, item) for item in container.items])

    def negation(self, node: Node) -> dict[str, Any]:
        """``not node`` pushed down to comparisons (durable-rules has no ``$not``)."""
        if isinstance(node, Literal):
            return FALSE if node.value else TRUE
        if isinstance(node, Name):
            return {node.name: False}
        if isinstance(node, Not):
            return self.condition(node.operand)
        if isinstance(node, BoolOp):
            parts = [self.negation(p) for p in node.operands]
            return _any(parts) if node.op == "and" else _all(parts)
        if isinstance(node, Compare):
            terms = [node.left, *node.rights]
            return _any(
                [
                    self.negation_of_comparison(op, a, b)
                    for op, a, b in zip(node.ops, terms, terms[1:], strict=False)
                ]
            )
        assert isinstance(node, In)
        if isinstance(node.container, Range):
            low, high = node.container.low, node.container.high
            outside = _any(
                [
                    self.negation_of_comparison("<=", low, node.left),
                    self.negation_of_comparison("<=", node.left, node.container.high),
                ]
            )
            if not node.negated:
                return outside
            # not (x not in a..b): x missing, or x inside.
            return _any(
                [
                    self.missing(node.left),
                    _all(
                        [
                            self.comparison("<=", low, node.left),
                            self.comparison("<=", node.left, high),
                        ]
                    ),
                ]
            )
        assert isinstance(node.container, ListExpr)
        items = node.container.items
        if node.negated:
            # not (x not in L): x missing, or x equals one of L.
            return _any(
                [self.missing(node.left), *[self.comparison("==", node.left, i) for i in items]]
            )
        return _all([self.negation_of_comparison("==", node.left, i) for i in items])

    def negation_of_comparison(self, op: str, a: Node, b: Node) -> dict[str, Any]:
        """``not (a op b)``: true when anything is missing, else the opposite comparison."""
        if _is_null(a) or _is_null(b):
            return self.comparison(_NEGATE[op], a, b)
        return _any([self.missing(a), self.missing(b), self.comparison(_NEGATE[op], a, b)])

    def missing(self, node: Node) -> dict[str, Any]:
        return self.negate_tree(_all(list(self.presence(node))))

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


def _kind(node: Node) -> str:
    if isinstance(node, Name):
        return FACTS[node.name].kind
    if isinstance(node, Literal):
        return (
            "bool"
            if isinstance(node.value, bool)
            else "string"
            if isinstance(node.value, str)
            else "number"
        )
    return "number"


def _first_call(node: Node) -> Call | None:
    if isinstance(node, Call):
        return node
    for child in children(node):
        found = _first_call(child)
        if found is not None:
            return found
    return None


def _replace(node: Node, target: Call, value: Node) -> Node:
    if node is target:
        return value
    if isinstance(node, Neg):
        return Neg(node.at, _replace(node.operand, target, value))
    if isinstance(node, Binary):
        return Binary(
            node.at,
            node.op,
            _replace(node.left, target, value),
            _replace(node.right, target, value),
        )
    if isinstance(node, Call):
        return Call(node.at, node.func, tuple(_replace(a, target, value) for a in node.args))
    return node


def _swap(a: Node, b: Node, target: Call, value: Node) -> tuple[Node, Node]:
    return _replace(a, target, value), _replace(b, target, value)


# --- outcomes ----------------------------------------------------------------------------------


def evaluate(node: Node, facts: dict[str, Any]) -> Any:
    """Evaluate an outcome expression by walking its tree (the compiled engine generates code)."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return facts[node.name]
    if isinstance(node, Neg):
        return _runtime.neg(evaluate(node.operand, facts))
    if isinstance(node, Binary):
        op = {"+": _runtime.add, "-": _runtime.sub, "*": _runtime.mul, "/": _runtime.div}
        return op[node.op](evaluate(node.left, facts), evaluate(node.right, facts))
    assert isinstance(node, Call)
    func = {"min": _runtime.least, "max": _runtime.greatest, "abs": _runtime.absolute}
    return func[node.func](*(evaluate(a, facts) for a in node.args))


# --- the engine --------------------------------------------------------------------------------


class ReteEngine(Engine):
    """Decides by asserting the fact view into a durable-rules Rete network."""

    name = "rete"

    def __init__(self, ir: PolicyIR, digest: str) -> None:
        super().__init__(ir, digest)
        engine, native = _durable()
        translator = _Translator(ir.currency)
        self._money_scale = translator.money_scale
        self._groups = tuple(ir.groups[g] for g in GROUPS)
        self._fallback = tuple(
            next(i for i, r in enumerate(rules) if r.when is None) for rules in self._groups
        )
        definition: dict[str, Any] = {}
        self.conditions: dict[str, Any] = {}
        for g, rules in enumerate(self._groups):
            for index, rule in enumerate(rules):
                if rule.when is None or index > self._fallback[g]:
                    continue
                try:
                    condition = translator.condition(rule.when)
                except RuleEngineError as exc:
                    raise RuleEngineError(f"rule {rule.id}: {exc}") from None
                if condition is FALSE:
                    continue  # can never match: no node in the network
                # Anchor every condition to our facts: durable-rules also matches conditions
                # against its session state object, where "field missing" ($nex) always holds,
                # and every state update would fire such a rule again, forever.
                condition = _all([_FACT, condition])
                key = f"{g}.{index}"
                self.conditions[key] = condition
                definition[key] = {"all": [{"m": condition}], "run": self._action(key)}
        # durable-rules crashes (SIGSEGV) when it deletes the session of a fact that no rule
        # matched, and on any fact for an empty ruleset: a sentinel rule matches every fact.
        definition[_SENTINEL] = {"all": [{"m": _FACT}], "run": _ignore}
        # A process-unique name: durable-rules' names cannot be reused or replaced.
        self.ruleset_name = f"dunning-{digest[7:19]}-{next(_names)}"
        try:
            self._ruleset = engine.Ruleset(self.ruleset_name, None, definition)
        except native.error as exc:
            raise RuleEngineError(self._refused(engine, native, exc)) from None
        weakref.finalize(self, native.delete_ruleset, self._ruleset._handle)
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
                return (
                    f"rule {self._rule_id(key)}: durable-rules cannot build its condition: "
                    f"{error}{limit}; simplify the condition or use engine='compiled'"
                )
            native.delete_ruleset(ruleset._handle)
        return f"durable-rules cannot build the policy: {error}; use engine='compiled'"

    def _action(self, key: str) -> Any:
        def fired(c: Any) -> None:  # one argument: durable-rules runs it synchronously
            self._running = key
            self._matched.append(key)

        return fired

    def encode(self, facts: dict[str, Any]) -> dict[str, Any]:
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

    def matched(self, facts: dict[str, Any]) -> set[str]:
        """Return the keys (``group.index``) of every rule whose condition holds for ``facts``."""
        event = self.encode(facts)
        with self._lock:  # durable-rules is not thread-safe
            sid = str(next(self._sessions))
            event["sid"] = sid
            self._matched = []
            self._running = None
            try:
                handle = self._ruleset.assert_fact(event)  # the sentinel always matches
                results: list[tuple[Any, Any]] = []
                self._ruleset.do_actions(handle, lambda e, s: results.append((e, s)))
                error, state = results[-1] if results else (None, None)
                failure = error or (state or {}).get("exception")
                if failure:  # durable-rules swallows an action's exception into the state
                    rule = self._rule_id(self._running)
                    raise RuleEngineError(f"durable-rules failed in rule {rule}: {failure}")
                return set(self._matched) - {_SENTINEL}
            finally:
                # Every session is deleted: a ruleset holds at most 1,024 live sessions.
                self._ruleset.delete_state(sid)

    def _rule_id(self, key: str | None) -> str:
        if key is None or key == _SENTINEL:
            return "?"
        g, index = map(int, key.split("."))
        return self._groups[g][index].id

    def _winners(self, matched: set[str]) -> list[int]:
        winners = []
        for g, fallback in enumerate(self._fallback):
            indices = [int(k.split(".")[1]) for k in matched if int(k.split(".")[0]) == g]
            winners.append(min([*indices, fallback]))
        return winners

    def run(self, facts: dict[str, Any]) -> Outcome:
        """Decide every group for ``facts``: winners by policy order, outcomes evaluated here."""
        ci, fi, mi = self._winners(self.matched(facts))
        channel, fees, commission = (
            rules[i] for rules, i in zip(self._groups, (ci, fi, mi), strict=True)
        )
        assert isinstance(fees.outcome, dict)
        assert isinstance(commission.outcome, dict)
        fee_values = {k: evaluate(v, facts) for k, v in fees.outcome.items()}
        rate = evaluate(commission.outcome["commission_rate"], facts)
        return Outcome(channel, fees, fee_values, commission, rate)

    def trace(self, facts: dict[str, Any]) -> dict[str, list[RuleTrace]]:
        """Which rules matched (durable-rules does not say which part of a condition failed)."""
        matched = self.matched(facts)
        out: dict[str, list[RuleTrace]] = {}
        for g, group in enumerate(GROUPS):
            traces = []
            for index, rule in enumerate(self._groups[g]):
                hit = rule.when is None or f"{g}.{index}" in matched
                traces.append(RuleTrace(rule, hit, None if hit else rule.when_text))
            out[group] = traces
        return out
