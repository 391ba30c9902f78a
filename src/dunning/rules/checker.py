"""Stage 4 of the rule front end: names, types and totality → the typed policy IR.

Every expression is parsed, its names resolved against the fact table and the parameters
("did you mean" on a miss), its types checked, and its parameters folded into constants. Then the
rule set is analysed per product the way Drools analyses decision tables: each decision group
needs a fallback, and dpd ranges decided by nothing but the fallback (gaps) or by two rules at
once (overlaps) are reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Context, Decimal
from fractions import Fraction
from typing import Any

from ..delinquency import DEFAULT_ALLOCATION, DEFAULT_BANDS, BucketBands
from ..errors import ConfigError
from ..facts import FACTS
from ..model import Channel, HandledBy, Product
from ..money import MINOR_UNITS
from .expr import (
    MAX_DIGITS,
    Binary,
    BoolOp,
    Call,
    Compare,
    ExprError,
    In,
    ListExpr,
    Literal,
    Name,
    Neg,
    Node,
    Not,
    Range,
    parse,
)
from .guard_config import GuardConfig, read_guards
from .schema import GROUPS, RawParam, RawPolicy, RawRule, scalar_value, suggest
from .source import Pos, PScalar, PSeq, Source

__all__ = ["ChannelOutcome", "PolicyIR", "Rule", "Ty", "check_policy", "parse_param_value"]

NUMERIC = frozenset({"int", "number", "money"})
RECIPIENT_WORDS = ("obligors", "borrower", "guarantor", "co_borrower", "emergency_contact")


@dataclass(frozen=True, slots=True)
class Ty:
    """The static type of an expression."""

    kind: str  # int | number | money | bool | string | null | list
    nullable: bool = False
    values: tuple[str, ...] | None = None  # allowed values of a string
    elem: str | None = None  # element kind of a list
    literal: bool = False  # a constant written in the rule (numbers adapt to money)

    def describe(self) -> str:
        """Return the type in words for messages."""
        name = f"list of {self.elem}" if self.kind == "list" else self.kind
        return f"{name} (may be missing)" if self.nullable else name


@dataclass(frozen=True, slots=True)
class ChannelOutcome:
    """What a ``channel`` rule decides."""

    channel: Channel
    handled_by: HandledBy
    recipients: tuple[str, ...]
    requires_approval: str | None
    message: str | None


@dataclass(frozen=True)
class Rule:
    """A checked rule: typed condition with parameters folded, typed outcomes."""

    id: str
    group: str
    priority: int
    order: int
    file: str
    pos: Pos
    when: Node | None  # None: always
    when_text: str
    conjuncts: tuple[tuple[Node, str], ...]  # top-level parts of `when`, for explanations
    outcome: ChannelOutcome | dict[str, Node]
    nullable_outcome: frozenset[str] = frozenset()
    doc: str = ""


@dataclass(frozen=True)
class PolicyIR:
    """A whole checked policy: what both engines compile."""

    name: str
    version: str
    description: str
    currency: str
    timezone: str
    products: tuple[str, ...]
    bands: BucketBands
    params: dict[str, Any]
    penalty_multiplier: Decimal | None
    allocation: tuple[str, ...]
    days_in_year: int
    groups: dict[str, tuple[Rule, ...]]
    guards: GuardConfig
    files: tuple[str, ...] = field(default=())
    #: Rules no valid case reaches: after a fallback, or a fallback whose group's dpd rules
    #: cover every day past due of every product.
    unreachable: frozenset[str] = field(default=frozenset())


class _CheckError(Exception):
    def __init__(self, code: str, message: str, at: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.at, self.hint = code, message, at, hint


# --- parameters -------------------------------------------------------------------------------

_DAYS = re.compile(r"^(\d{1,5})\s*([dw])$")


def parse_param_value(kind: str, value: Any) -> Any:
    """Convert a parameter value (from YAML, Python or the command line) to its type.

    Raises:
        ValueError: With a message saying what was expected.
    """
    if kind in ("list[string]", "list[int]", "list[number]"):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected a {kind}")
        elem = kind[5:-1]
        return tuple(parse_param_value(elem, v) for v in value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("expected true or false")
    if kind == "string":
        if isinstance(value, str):
            return value
        raise ValueError("expected text")
    if kind == "days":
        if isinstance(value, str):
            match = _DAYS.match(value.strip())
            if match:
                return int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        kind = "int"
    expected = "a whole number" if kind == "int" else "a number"
    if isinstance(value, float):
        raise ValueError(f'expected {expected} written as text, e.g. "0.5"')
    if isinstance(value, bool):
        raise ValueError(f"expected {expected}")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, str | int | Decimal) else None
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"expected {'a whole number' if kind == 'int' else 'a number'}")
    if kind == "int":
        if number != number.to_integral_value():
            raise ValueError("expected a whole number")
        return int(number)
    return number


# --- the checker ----------------------------------------------------------------------------


class _Checker:
    def __init__(self, raw: RawPolicy, overrides: dict[str, Any]) -> None:
        self.raw = raw
        self.src: Source = raw.source
        self.overrides = overrides
        self.params: dict[str, Any] = {}
        self.param_types: dict[str, Ty] = {}
        self.bucket_labels: tuple[str, ...] = DEFAULT_BANDS.labels
        self.unreachable: set[str] = set()  # rules no valid case can reach, proved by analysis

    # -- reporting
    def report(self, pos: Pos, code: str, message: str, **kw: Any) -> None:
        self.src.report(pos, code, message, **kw)

    # -- parameters
    def check_params(self) -> None:
        for name, param in self.raw.params.items():
            if name in FACTS:
                self.report(
                    param.pos,
                    "param-shadows-fact",
                    f"parameter {name!r} has the name of a fact",
                    hint="rename the parameter",
                )
                continue
            value = self._param_default(param)
            if value is None:
                continue
            self.params[name] = value
            kind = param.type
            if kind.startswith("list["):
                self.param_types[name] = Ty("list", elem=kind[5:-1])
            else:
                self.param_types[name] = Ty("int" if kind == "days" else kind)

    def _param_default(self, param: RawParam) -> Any:
        raw_value = scalar_value(param.default)
        if param.name in self.overrides:
            raw_value = self.overrides[param.name]
        try:
            value = parse_param_value(param.type, raw_value)
        except ValueError as exc:
            where = "override" if param.name in self.overrides else "default"
            self.report(
                param.default.pos,
                "bad-param-value",
                f"{where} of parameter {param.name!r} ({param.type}): {exc}",
            )
            return None
        for bound, op in ((param.min, "min"), (param.max, "max")):
            if bound is None or not isinstance(value, int | Decimal):
                continue
            limit = bound.value
            assert isinstance(limit, int | Decimal)
            if (op == "min" and value < limit) or (op == "max" and value > limit):
                self.report(
                    param.default.pos,
                    "bad-param-value",
                    f"parameter {param.name!r} = {value} is outside its {op} {limit}",
                )
                return None
        return value

    # -- expressions
    def typed(self, node: Node) -> tuple[Node, Ty]:
        """Type-check ``node``; return it with parameters folded, and its type."""
        if isinstance(node, Literal):
            return node, _literal_type(node.value)
        if isinstance(node, Name):
            return self._name(node)
        if isinstance(node, Neg):
            operand, ty = self.typed(node.operand)
            self._numeric(ty, node.operand.at, "'-'")
            if isinstance(operand, Literal) and isinstance(operand.value, int | Decimal):
                return Literal(node.at, -operand.value), ty
            return Neg(node.at, operand), replace(ty, literal=False)
        if isinstance(node, Not):
            operand, ty = self.typed(node.operand)
            self._boolean(ty, node.operand.at, "'not'")
            return Not(node.at, operand), Ty("bool")
        if isinstance(node, BoolOp):
            parts = []
            for part in node.operands:
                folded, ty = self.typed(part)
                self._boolean(ty, part.at, f"'{node.op}'")
                parts.append(folded)
            return BoolOp(node.at, node.op, tuple(parts)), Ty("bool")
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, In):
            return self._in(node)
        if isinstance(node, Call):
            args = [self.typed(a) for a in node.args]
            for arg, (_, ty) in zip(node.args, args, strict=True):
                self._numeric(ty, arg.at, f"{node.func}()")
            kinds = [ty for _, ty in args]
            result = _common_numeric(kinds)
            if result is None:
                raise _CheckError(
                    "type-mismatch",
                    f"{node.func}() mixes money with non-money values",
                    node.at,
                )
            nullable = any(ty.nullable for ty in kinds)
            folded_args = tuple(a for a, _ in args)
            if all(isinstance(a, Literal) for a in folded_args):
                values = [a.value for a in folded_args]  # type: ignore[attr-defined]
                if node.func == "abs":
                    value = abs(values[0])
                else:
                    value = min(values) if node.func == "min" else max(values)
                return Literal(node.at, value), Ty(result, literal=True)
            return Call(node.at, node.func, folded_args), Ty(result, nullable)
        if isinstance(node, ListExpr):
            raise _CheckError("type-mismatch", "a list can only follow 'in'", node.at)
        raise _CheckError("syntax-error", "unexpected expression", node.at)

    def _name(self, node: Name) -> tuple[Node, Ty]:
        if node.name in FACTS:
            spec = FACTS[node.name]
            values = self.bucket_labels if node.name == "bucket" else spec.values
            return node, Ty(spec.kind, spec.nullable, values)
        if node.name in self.param_types:
            value = self.params[node.name]
            ty = self.param_types[node.name]
            if isinstance(value, tuple):
                return ListExpr(node.at, tuple(Literal(node.at, v) for v in value)), ty
            return Literal(node.at, value), ty
        choices = [*FACTS, *self.raw.params]
        close = suggest(node.name, choices)
        is_param = close in self.raw.params if close else False
        code = "unknown-param" if is_param else "unknown-fact"
        what = "parameter" if is_param else "fact"
        message = f"unknown {what} {node.name!r}"
        if close:
            message += f" (did you mean {close!r}?)"
        raise _CheckError(
            code, message, node.at, "facts are listed in docs/rules.md; parameters under params:"
        )

    def _numeric(self, ty: Ty, at: int, where: str) -> None:
        if ty.kind not in NUMERIC:
            raise _CheckError("type-mismatch", f"{where} needs a number, got {ty.describe()}", at)

    def _boolean(self, ty: Ty, at: int, where: str) -> None:
        if ty.kind != "bool":
            raise _CheckError("type-mismatch", f"{where} needs true/false, got {ty.describe()}", at)

    def _binary(self, node: Binary) -> tuple[Node, Ty]:
        left, lt = self.typed(node.left)
        right, rt = self.typed(node.right)
        self._numeric(lt, node.left.at, f"'{node.op}'")
        self._numeric(rt, node.right.at, f"'{node.op}'")
        op = node.op
        money_l, money_r = lt.kind == "money", rt.kind == "money"
        if op in "+-":
            if money_l != money_r and not (lt.literal or rt.literal):
                raise _CheckError(
                    "type-mismatch",
                    f"cannot {'add' if op == '+' else 'subtract'} {rt.describe()} "
                    f"{'to' if op == '+' else 'from'} {lt.describe()}",
                    node.at,
                )
            kind = "money" if money_l or money_r else _common_numeric([lt, rt]) or "number"
        elif op == "*":
            if money_l and money_r:
                raise _CheckError("type-mismatch", "cannot multiply money by money", node.at)
            kind = "money" if money_l or money_r else _common_numeric([lt, rt]) or "number"
            if kind == "money" and not (money_l or money_r):
                kind = "number"
        else:
            if isinstance(right, Literal) and right.value == 0:
                raise _CheckError("division-by-zero", "division by zero", node.right.at)
            if money_r and not money_l:
                raise _CheckError("type-mismatch", "cannot divide a number by money", node.at)
            kind = "number" if money_l == money_r else "money"
        nullable = lt.nullable or rt.nullable
        if op == "/" and not isinstance(right, Literal):
            nullable = True  # x / 0 is missing, not an error at decision time
        folded = Binary(node.at, op, left, right)
        constant = lt.literal and rt.literal
        if isinstance(left, Literal) and isinstance(right, Literal):
            folded_value = _fold(op, left.value, right.value)
            if folded_value is not None:
                return Literal(node.at, folded_value), Ty(kind, literal=constant)
        return folded, Ty(kind, nullable, literal=constant)

    def _compare(self, node: Compare) -> tuple[Node, Ty]:
        left, lt = self.typed(node.left)
        operands = [(left, lt, node.left.at)]
        for right in node.rights:
            folded, ty = self.typed(right)
            operands.append((folded, ty, right.at))
        for op, (a, at_, _), (b, bt, b_at) in zip(node.ops, operands, operands[1:], strict=False):
            self._comparable(op, a, at_, b, bt, b_at)
        return Compare(node.at, left, node.ops, tuple(o[0] for o in operands[1:])), Ty("bool")

    def _comparable(self, op: str, a: Node, at_: Ty, b: Node, bt: Ty, at: int) -> None:
        if at_.kind == "null" or bt.kind == "null":
            other = bt if at_.kind == "null" else at_
            if op not in ("==", "!="):
                raise _CheckError("type-mismatch", f"'{op}' cannot compare with null", at)
            if not other.nullable and other.kind != "null":
                raise _CheckError(
                    "type-mismatch",
                    f"{other.describe()} is never missing: comparing it with null is always "
                    f"{'false' if op == '==' else 'true'}",
                    at,
                )
            return
        if op in ("<", "<=", ">", ">="):
            self._numeric(at_, at, f"'{op}'")
            self._numeric(bt, at, f"'{op}'")
        if not _compatible(at_, bt):
            raise _CheckError(
                "type-mismatch", f"cannot compare {at_.describe()} with {bt.describe()}", at
            )
        for ty, node in ((at_, b), (bt, a)):
            if ty.values and isinstance(node, Literal) and isinstance(node.value, str):
                self._known_value(node, ty.values)

    def _known_value(self, literal: Literal, values: tuple[str, ...]) -> None:
        assert isinstance(literal.value, str)
        if literal.value not in values:
            close = suggest(literal.value, values)
            raise _CheckError(
                "unknown-value",
                f"{literal.value!r} is not one of {', '.join(values)}"
                + (f" (did you mean {close!r}?)" if close else ""),
                literal.at,
            )

    def _in(self, node: In) -> tuple[Node, Ty]:
        left, lt = self.typed(node.left)
        container = node.container
        if isinstance(container, Range):
            low, low_t = self.typed(container.low)
            high, high_t = self.typed(container.high)
            for ty, at in (
                (lt, node.left.at),
                (low_t, container.low.at),
                (high_t, container.high.at),
            ):
                self._numeric(ty, at, "a range")
            for bound_t in (low_t, high_t):
                if not _compatible(lt, bound_t):
                    raise _CheckError(
                        "type-mismatch",
                        f"cannot compare {lt.describe()} with a range of {bound_t.describe()}",
                        container.at,
                    )
            return In(node.at, left, Range(container.at, low, high), node.negated), Ty("bool")
        folded, ct = (
            self.typed(container) if not isinstance(container, ListExpr) else (container, None)
        )
        if isinstance(folded, ListExpr):
            items = []
            for item in folded.items:
                value, ty = self.typed(item)
                if not isinstance(value, Literal):
                    raise _CheckError("not-constant", "list items must be constants", item.at)
                if not _compatible(lt, ty):
                    raise _CheckError(
                        "type-mismatch",
                        f"cannot compare {lt.describe()} with {ty.describe()}",
                        item.at,
                    )
                if lt.values and isinstance(value.value, str):
                    self._known_value(value, lt.values)
                items.append(value)
            return In(node.at, left, ListExpr(folded.at, tuple(items)), node.negated), Ty("bool")
        raise _CheckError(
            "type-mismatch",
            f"'in' needs a list or a range, got {ct.describe() if ct else 'something else'}",
            container.at,
        )

    # -- rules
    def expression(self, scalar: PScalar, rule: RawRule, want: str) -> tuple[Node, Ty] | None:
        """Parse and check one expression scalar; report problems at their exact position."""
        value = scalar.value
        if isinstance(value, bool):
            return Literal(0, value), Ty("bool", literal=True)
        if value is None:
            return Literal(0, None), Ty("null", literal=True)
        if isinstance(value, int | Decimal):
            return Literal(0, value), _literal_type(value)
        try:
            return self.typed(parse(value))
        except (ExprError, _CheckError) as exc:
            self.report(
                scalar.pos_at(exc.at), exc.code, exc.message, hint=exc.hint, rule_id=rule.id
            )
            return None

    def check_rule(self, rule: RawRule) -> Rule | None:
        when: Node | None = None
        conjuncts: tuple[tuple[Node, str], ...] = ()
        text = ""
        ok = True
        if rule.when is not None:
            text = str(rule.when.value) if rule.when.value is not None else "null"
            checked = self.expression(rule.when, rule, "bool")
            if checked is None:
                ok = False
            else:
                when, ty = checked
                if ty.kind != "bool":
                    self.report(
                        rule.when.pos,
                        "type-mismatch",
                        f"a condition must be true or false, got {ty.describe()}",
                        rule_id=rule.id,
                    )
                    ok = False
                elif isinstance(when, Literal) and when.value is True:
                    when = None
                if when is not None:
                    conjuncts = _conjuncts(when, text)
        outcome = self.check_outcome(rule)
        if not ok or outcome is None:
            return None
        value, nullable = outcome
        return Rule(
            rule.id,
            rule.group,
            rule.priority,
            rule.order,
            self.src.path,
            rule.pos,
            when,
            text,
            conjuncts,
            value,
            nullable,
            rule.doc,
        )

    def check_outcome(
        self, rule: RawRule
    ) -> tuple[ChannelOutcome | dict[str, Node], frozenset[str]] | None:
        then = rule.then
        if rule.group == "channel":
            channel = self._channel_outcome(rule)
            return None if channel is None else (channel, frozenset())
        wanted = {
            "collection_fee": "money",
            "penalty_interest": "money",
            "commission_rate": "number",
        }
        exprs: dict[str, Node] = {}
        nullable: set[str] = set()
        ok = True
        if rule.group == "commission" and "commission_rate" not in then.items:
            self.report(
                then.pos, "missing-key", "a commission rule sets commission_rate", rule_id=rule.id
            )
            return None
        for key, (_, node) in then.items.items():
            if key not in wanted:
                continue  # already reported as unknown-key
            if not isinstance(node, PScalar):
                self.report(
                    node.pos, "bad-outcome-type", f"{key} must be an expression", rule_id=rule.id
                )
                ok = False
                continue
            checked = self.expression(node, rule, wanted[key])
            if checked is None:
                ok = False
                continue
            expr, ty = checked
            if not self._outcome_type(key, wanted[key], expr, ty, node, rule):
                ok = False
                continue
            exprs[key] = expr
            if ty.nullable or ty.kind == "null":
                nullable.add(key)
        if not ok:
            return None
        return exprs, frozenset(nullable)

    def _outcome_type(
        self, key: str, want: str, expr: Node, ty: Ty, node: PScalar, rule: RawRule
    ) -> bool:
        if ty.kind == "null" or ty.nullable:
            if key == "commission_rate":
                return True
            self.report(
                node.pos,
                "bad-outcome-type",
                f"{key} may be missing here ({ty.describe()}); it needs a value",
                hint="guard the rule's condition, or use a value that is never missing",
                rule_id=rule.id,
            )
            return False
        good = ty.kind in NUMERIC and (
            (want == "money" and (ty.kind == "money" or ty.literal))
            or (want == "number" and ty.kind in ("int", "number"))
        )
        if not good:
            self.report(
                node.pos,
                "bad-outcome-type",
                f"{key} must be {'an amount of money' if want == 'money' else 'a rate'}, "
                f"got {ty.describe()}",
                rule_id=rule.id,
            )
            return False
        if isinstance(expr, Literal) and isinstance(expr.value, int | Decimal):
            value = Decimal(expr.value)
            bad = value < 0 or (want == "number" and value >= 1)
            if want == "money" and -value.as_tuple().exponent > MINOR_UNITS[self.raw.currency]:  # type: ignore[operator]
                bad = True
            if bad:
                self.report(
                    node.pos,
                    "bad-outcome-value",
                    f"{key} = {value} is out of range"
                    + (" (a rate is at least 0 and below 1)" if want == "number" else ""),
                    rule_id=rule.id,
                )
                return False
        return True

    def _channel_outcome(self, rule: RawRule) -> ChannelOutcome | None:
        then = rule.then
        values = {k: scalar_value(v) for k, (_, v) in then.items.items()}
        raw_channel = values.get("channel")
        if "channel" not in then.items:
            self.report(then.pos, "missing-key", "a channel rule sets channel", rule_id=rule.id)
            return None
        ok = True
        channels = [c.value for c in Channel]
        if not isinstance(raw_channel, str):
            self.report(
                then.items["channel"][1].pos,
                "bad-outcome-type",
                "channel must be one of " + ", ".join(channels),
                rule_id=rule.id,
            )
            return None
        if raw_channel not in channels:
            close = suggest(raw_channel, channels)
            self.report(
                then.items["channel"][1].pos,
                "unknown-channel",
                f"unknown channel {raw_channel!r}"
                + (f" (did you mean {close!r}?)" if close else ""),
                hint=f"channels: {', '.join(channels)}",
                rule_id=rule.id,
            )
            return None
        channel = Channel(raw_channel)
        handled = HandledBy.AGENCY if channel is Channel.OUTSOURCE else HandledBy.INTERNAL
        if "handled_by" in values:
            raw = values["handled_by"]
            if raw not in [h.value for h in HandledBy]:
                self.report(
                    then.items["handled_by"][1].pos,
                    "unknown-value",
                    f"handled_by must be internal or agency, not {raw!r}",
                    rule_id=rule.id,
                )
                ok = False
            else:
                handled = HandledBy(raw)
        recipients = _default_recipients(channel)
        if "recipients" in then.items:
            node = then.items["recipients"][1]
            items = node.items if isinstance(node, PSeq) else (node,)
            found = []
            for item in items:
                word = scalar_value(item)
                if not isinstance(word, str) or word not in RECIPIENT_WORDS:
                    close = suggest(str(word), RECIPIENT_WORDS)
                    self.report(
                        item.pos,
                        "unknown-role",
                        f"unknown recipient role {word!r}"
                        + (f" (did you mean {close!r}?)" if close else ""),
                        hint=f"roles: {', '.join(RECIPIENT_WORDS)}",
                        rule_id=rule.id,
                    )
                    ok = False
                else:
                    found.append(word)
            recipients = tuple(found)
        approval = values.get("requires_approval")
        message = values.get("message", "overdue_notice" if channel is Channel.SMS else None)
        for key, value in (("requires_approval", approval), ("message", message)):
            if value is not None and not isinstance(value, str):
                self.report(
                    then.items[key][1].pos,
                    "bad-outcome-type",
                    f"{key} must be a name or null",
                    rule_id=rule.id,
                )
                ok = False
        if not ok:
            return None
        assert approval is None or isinstance(approval, str)
        assert message is None or isinstance(message, str)
        return ChannelOutcome(channel, handled, recipients, approval, message)

    # -- the whole policy
    def run(self) -> PolicyIR | None:
        raw = self.raw
        products = []
        for name, pos in raw.products:
            if name not in [p.value for p in Product]:
                close = suggest(name, [p.value for p in Product])
                self.report(
                    pos,
                    "unknown-value",
                    f"unknown product {name!r}" + (f" (did you mean {close!r}?)" if close else ""),
                )
            elif name in products:
                self.report(pos, "duplicate-key", f"product {name!r} is listed twice")
            else:
                products.append(name)
        if raw.currency not in MINOR_UNITS:
            self.report(Pos(1, 1), "unknown-value", f"unknown currency {raw.currency!r}")
        bands = DEFAULT_BANDS
        if raw.buckets is not None:
            try:
                bands = BucketBands([(label, low, high) for label, low, high, _ in raw.buckets])
            except ConfigError as exc:
                pos = raw.buckets[0][3] if raw.buckets else raw.rules_pos
                self.report(pos, "bad-buckets", str(exc).replace("\n  ", "; "))
        self.bucket_labels = bands.labels
        for name in self.overrides:
            if name not in raw.params:
                close = suggest(name, list(raw.params))
                self.report(
                    Pos(1, 1),
                    "unknown-param",
                    f"parameter {name!r} given at load time is not declared"
                    + (f" (did you mean {close!r}?)" if close else ""),
                )
        self.check_params()
        penalty, allocation, days = self._assessment()
        guards = read_guards(raw.guards, self.src)
        if guards is not None:
            penalty = self._penalty_within_cap(penalty, guards)
        groups: dict[str, tuple[Rule, ...]] = {}
        seen: dict[str, Pos] = {}
        for group in GROUPS:
            if group not in raw.groups:
                continue
            key_pos, raw_rules = raw.groups[group]
            checked = []
            for raw_rule in raw_rules:
                if raw_rule.id in seen:
                    self.report(
                        raw_rule.pos,
                        "duplicate-rule-id",
                        f"rule id {raw_rule.id!r} is already used",
                        hint=f"the first is on line {seen[raw_rule.id].line}",
                        rule_id=raw_rule.id,
                    )
                    continue
                seen[raw_rule.id] = raw_rule.pos
                rule = self.check_rule(raw_rule)
                if rule is not None:
                    checked.append(rule)
            ordered = tuple(sorted(checked, key=lambda r: (-r.priority, r.order)))
            groups[group] = ordered
            if len(checked) == len(raw_rules) and group not in raw.incomplete:
                _analyse(self, group, key_pos, ordered, products)
        if self.src.failed or guards is None:
            return None
        return PolicyIR(
            raw.name,
            raw.version,
            raw.description,
            raw.currency,
            raw.timezone,
            tuple(products),
            bands,
            dict(self.params),
            penalty,
            allocation,
            days,
            groups,
            guards,
            (self.src.path,),
            frozenset(self.unreachable),
        )

    def _penalty_within_cap(self, penalty: Decimal | None, guards: GuardConfig) -> Decimal | None:
        """Apply the charges cap's penalty default, and check the multiplier against its range."""
        cap = guards.charges_cap
        if cap is None:
            return penalty
        if penalty is None:
            return cap.penalty_multiplier_default
        low, high = cap.penalty_multiplier_min, cap.penalty_multiplier_max
        if (low is not None and penalty < low) or (high is not None and penalty > high):
            node, _ = self.raw.assessment["penalty_multiplier"]
            self.report(
                node.pos,
                "penalty-out-of-range",
                f"penalty multiplier {penalty} is outside the range {low or 0}..{high or 'any'} "
                "the charges cap allows",
                hint="set guards.charges_cap.penalty_multiplier_min/max if counsel approves",
            )
        return penalty

    def _assessment(self) -> tuple[Decimal | None, tuple[str, ...], int]:
        penalty: Decimal | None = None
        allocation: tuple[str, ...] = DEFAULT_ALLOCATION
        days = 360
        entries = self.raw.assessment
        if "penalty_multiplier" in entries:
            node, _ = entries["penalty_multiplier"]
            value = scalar_value(node)
            if isinstance(value, str):
                try:
                    folded, ty = self.typed(parse(value))
                except (ExprError, _CheckError) as exc:
                    assert isinstance(node, PScalar)
                    self.report(node.pos_at(exc.at), exc.code, exc.message, hint=exc.hint)
                    folded, ty = Literal(0, None), Ty("null")
                value = folded.value if isinstance(folded, Literal) else None
                if value is None and ty.kind != "null":
                    self.report(
                        node.pos,
                        "not-constant",
                        "penalty_multiplier must be a number or a parameter",
                    )
            if value is not None and (not isinstance(value, int | Decimal) or value < 0):
                self.report(node.pos, "bad-value", "penalty_multiplier must be a number ≥ 0")
            elif value is not None:
                penalty = Decimal(value)
        if "allocation" in entries:
            node, _ = entries["allocation"]
            value = scalar_value(node)
            if not isinstance(value, list) or sorted(map(str, value)) != sorted(DEFAULT_ALLOCATION):
                message = "allocation must order penalty, interest and principal, each once"
                self.report(node.pos, "bad-value", message)
            else:
                allocation = tuple(value)
        if "days_in_year" in entries:
            node, _ = entries["days_in_year"]
            value = scalar_value(node)
            if type(value) is not int or value not in (360, 365):
                self.report(node.pos, "bad-value", "days_in_year must be 360 or 365")
            else:
                days = value
        return penalty, allocation, days


def _literal_type(value: object) -> Ty:
    if isinstance(value, bool):
        return Ty("bool", literal=True)
    if isinstance(value, int):
        return Ty("int", literal=True)
    if isinstance(value, Decimal):
        return Ty("number", literal=True)
    if isinstance(value, str):
        return Ty("string", literal=True)
    return Ty("null", literal=True)


def _compatible(a: Ty, b: Ty) -> bool:
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


def _default_recipients(channel: Channel) -> tuple[str, ...]:
    if channel is Channel.SMS:
        return ("obligors",)
    if channel in (Channel.CALL, Channel.FIELD_VISIT):
        return ("borrower",)
    return ()


def _conjuncts(node: Node, text: str) -> tuple[tuple[Node, str], ...]:
    parts = node.operands if isinstance(node, BoolOp) and node.op == "and" else (node,)
    out = []
    for i, part in enumerate(parts):
        end = parts[i + 1].at if i + 1 < len(parts) else len(text)
        snippet = text[part.at : end].strip()
        snippet = re.sub(r"\s+and$", "", snippet).strip()
        out.append((part, snippet or text))
    return tuple(out)


# --- decision-table analysis ------------------------------------------------------------------

_INF = 10**9


def _shape(rule: Rule, products: list[str]) -> tuple[set[str], tuple[int, int], bool] | None:
    """Return (products, dpd interval, pure) of a rule whose condition is a conjunction."""
    if rule.when is None:
        return set(products), (0, _INF), True
    parts = (
        rule.when.operands
        if isinstance(rule.when, BoolOp) and rule.when.op == "and"
        else (rule.when,)
    )
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
    if isinstance(node, In) and not node.negated and _is_dpd(node.left):
        rng = node.container
        if isinstance(rng, Range):
            low, high = _int_value(rng.low), _int_value(rng.high)
            if low is not None and high is not None:
                return low, high
        return None
    if not isinstance(node, Compare):
        return None
    terms = [node.left, *node.rights]
    low, high = 0, _INF
    for op, a, b in zip(node.ops, terms, terms[1:], strict=False):
        if _is_dpd(a) and _int_value(b) is not None:
            bound, flipped = _int_value(b), op
        elif _is_dpd(b) and _int_value(a) is not None:
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


def _is_dpd(node: Node) -> bool:
    return _is_name(node, "dpd")


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


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
    is_product = isinstance(node, In) and _is_name(node.left, "product")
    if is_product and isinstance(node, In) and isinstance(node.container, ListExpr):
        names = {str(i.value) for i in node.container.items if isinstance(i, Literal)}
        return set(products) - names if node.negated else names
    return None


def _ranges(points: list[tuple[int, int]]) -> str:
    return ", ".join(
        f"{a}+" if b >= _INF else (f"{a}" if a == b else f"{a}..{b}") for a, b in points
    )


def _analyse(
    checker: _Checker, group: str, key_pos: Pos, rules: tuple[Rule, ...], products: list[str]
) -> None:
    fallback = next((r for r in rules if r.when is None), None)
    if fallback is None:
        checker.report(
            key_pos,
            "missing-fallback",
            f"the {group!r} group has no fallback rule",
            hint="end the group with a rule without 'when': every case must get a decision",
        )
    else:
        for later in rules[rules.index(fallback) + 1 :]:
            checker.unreachable.add(later.id)
            checker.report(
                later.pos,
                "unreachable-rule",
                f"rule {later.id!r} comes after the fallback {fallback.id!r} and never decides",
                severity="warning",
                rule_id=later.id,
            )
    fallback_reached = False
    for product in products:
        decided: list[tuple[int, int, str]] = []  # dpd intervals decided by pure rules
        for rule in rules:
            if rule.when is None:
                break
            shape = _shape(rule, products)
            if shape is None:
                continue
            prods, (low, high), pure = shape
            if product not in prods or low > high or not pure:
                continue
            for a, b, other in decided:
                lo, hi = max(a, low), min(b, high)
                if lo <= hi:
                    checker.report(
                        rule.pos,
                        "dpd-overlap",
                        f"{product}: dpd {_ranges([(lo, hi)])} is already decided by rule "
                        f"{other!r}, so rule {rule.id!r} never decides it",
                        severity="warning",
                        rule_id=rule.id,
                    )
                    break
            decided.append((low, high, rule.id))
        gaps, cursor = [], 0
        for a, b, _ in sorted(decided):
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
            checker.report(
                key_pos,
                "dpd-gap",
                f"{product}: dpd {_ranges(gaps)} is decided only by the fallback rule "
                f"{fallback.id!r} or by rules with extra conditions",
                severity="warning",
            )
    if fallback is not None and products and not fallback_reached:
        checker.unreachable.add(fallback.id)


def check_policy(raw: RawPolicy, overrides: dict[str, Any] | None = None) -> PolicyIR | None:
    """Check a policy's expressions, types and coverage; return its IR, or ``None`` on errors."""
    return _Checker(raw, dict(overrides or {})).run()
