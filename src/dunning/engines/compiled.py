"""The compiled engine: the checked IR turned into Python source, compiled once per policy.

The source is generated only from checked syntax nodes — rule text is never evaluated — and is
registered in ``linecache`` under ``<dunning policy PATH DIGEST>`` so that tracebacks, debuggers
and ``Policy.source`` show it. Within a group the first rule in policy order whose condition
holds wins; the fallback (a rule without ``when``) ends the group.
"""

from __future__ import annotations

import linecache
from decimal import Decimal
from typing import Any

from ..facts import FACTS
from ..rules.checker import PolicyIR, Rule
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

__all__ = ["CompiledEngine", "generate_source", "nullable"]

_CMP = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
_CALLS = {"min": "least", "max": "greatest", "abs": "absolute"}


def nullable(node: Node) -> bool:
    """Whether ``node`` may evaluate to a missing value (the checker's rule, restated)."""
    if isinstance(node, Literal):
        return node.value is None
    if isinstance(node, Name):
        return FACTS[node.name].nullable
    if isinstance(node, Neg):
        return nullable(node.operand)
    if isinstance(node, Binary):
        divides = node.op == "/" and not isinstance(node.right, Literal)
        return divides or nullable(node.left) or nullable(node.right)
    if isinstance(node, Call):
        return any(nullable(a) for a in node.args)
    return False


class _Writer:
    """Emits Python expressions for nodes; constants are hoisted into module globals."""

    def __init__(self, inline: frozenset[str] = frozenset()) -> None:
        self.constants: dict[str, str] = {}  # source text of the value → global name
        self.names: set[str] = set()
        self.inline = inline  # facts read where they are used, not loaded up front

    def const(self, text: str) -> str:
        if text not in self.constants:
            self.constants[text] = f"_K{len(self.constants)}"
        return self.constants[text]

    def literal(self, value: object) -> str:
        if isinstance(value, bool) or value is None or isinstance(value, int | str):
            return repr(value)
        assert isinstance(value, Decimal)
        return self.const(f"Decimal({str(value)!r})")

    def expr(self, node: Node) -> str:
        if isinstance(node, Literal):
            return self.literal(node.value)
        if isinstance(node, Name):
            if node.name in self.inline:
                return f"f[{node.name!r}]"
            self.names.add(node.name)
            return f"v_{node.name}"
        if isinstance(node, Neg):
            return f"_rt.neg({self.expr(node.operand)})"
        if isinstance(node, Not):
            return f"(not {self.expr(node.operand)})"
        if isinstance(node, BoolOp):
            return "(" + f" {node.op} ".join(self.expr(o) for o in node.operands) + ")"
        if isinstance(node, Binary):
            return f"_rt.{_ARITH[node.op]}({self.expr(node.left)}, {self.expr(node.right)})"
        if isinstance(node, Call):
            return f"_rt.{_CALLS[node.func]}({', '.join(self.expr(a) for a in node.args)})"
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, In):
            return self.membership(node)
        raise AssertionError(f"unexpected node {node!r}")

    def compare(self, node: Compare) -> str:
        terms = [node.left, *node.rights]
        if not any(nullable(t) for t in terms):
            out = self.expr(node.left)
            for op, right in zip(node.ops, node.rights, strict=True):
                out += f" {op} {self.expr(right)}"
            return f"({out})"
        parts = []
        for op, a, b in zip(node.ops, terms, terms[1:], strict=False):
            if isinstance(b, Literal) and b.value is None:
                parts.append(f"({self.expr(a)} is {'' if op == '==' else 'not '}None)")
            elif isinstance(a, Literal) and a.value is None:
                parts.append(f"({self.expr(b)} is {'' if op == '==' else 'not '}None)")
            else:
                parts.append(f"_rt.{_CMP[op]}({self.expr(a)}, {self.expr(b)})")
        return "(" + " and ".join(parts) + ")"

    def membership(self, node: In) -> str:
        left = self.expr(node.left)
        container = node.container
        if isinstance(container, Range):
            low, high = self.expr(container.low), self.expr(container.high)
            if nullable(node.left) or nullable(container.low) or nullable(container.high):
                test = f"_rt.between({left}, {low}, {high})"
            else:
                test = f"({low} <= {left} <= {high})"
            if node.negated:
                guard = f"{left} is not None and " if nullable(node.left) else ""
                return f"({guard}not {test})"
            return test
        assert isinstance(container, ListExpr)
        values = ", ".join(self.literal(i.value) for i in container.items if isinstance(i, Literal))
        name = self.const(f"frozenset(({values}{',' if values else ''}))")
        if nullable(node.left) and node.negated:
            return f"({left} is not None and {left} not in {name})"
        # A missing value is in no list (lists hold no null), so `in` already says false.
        return f"({left} {'not in' if node.negated else 'in'} {name})"


def _value(writer: _Writer, rule: Rule) -> tuple[str, bool]:
    """What a rule decides beyond its own identity, as source: ``(text, varies with facts)``.

    Fee rules give ``{name: value}``, commission rules the rate; channel rules nothing.
    """
    if rule.group == "channel":
        return "None", False
    assert isinstance(rule.outcome, dict)
    if rule.group == "commission":
        value = rule.outcome["commission_rate"]
        return writer.expr(value), bool(_names(value))
    items = ", ".join(f"{k!r}: {writer.expr(v)}" for k, v in sorted(rule.outcome.items()))
    return f"{{{items}}}", any(_names(v) for v in rule.outcome.values())


#: Largest number of rule combinations whose outcomes are built once, at compile time.
TABLE_LIMIT = 4096


def generate_source(ir: PolicyIR, label: str) -> str:
    """Return the Python source of a policy: ``decide(f)`` and one function per conjunct.

    Each group's chain sets the index of its winning rule. When every winner's outcome is a
    constant, ``decide`` returns a prebuilt ``Outcome`` from a table indexed by the three
    winners (building it per decision cost more than running the rules); a winner whose
    values depend on facts (a commission rate read from the case, say) builds it.
    """
    uses: dict[str, int] = {}
    for group in GROUPS:
        for rule in ir.groups[group]:
            nodes = [rule.when] if rule.when is not None else []
            if isinstance(rule.outcome, dict):
                nodes += list(rule.outcome.values())
            for node in nodes:
                for name in _all_names(node):
                    uses[name] = uses.get(name, 0) + 1
    # A fact used once is read where it is used: most decisions end at an early rule, and
    # loading every fact up front cost more than deciding.
    writer = _Writer(frozenset(name for name, count in uses.items() if count == 1))
    values = {g: [_value(writer, rule) for rule in ir.groups[g]] for g in GROUPS}
    varying = {g: any(varies for _, varies in values[g]) for g in GROUPS}  # any rule's values
    combinations = 1
    for group in GROUPS:
        combinations *= len(ir.groups[group])
    table = combinations <= TABLE_LIMIT
    body: list[str] = ["    dynamic = False"] if table and any(varying.values()) else []
    for group in GROUPS:
        body.append(f"    # -- {group}")
        first = True
        for index, rule in enumerate(ir.groups[group]):
            if rule.when is None:
                body.append("    else:" if not first else "    if True:")
            else:
                body.append(f"    {'if' if first else 'elif'} {writer.expr(rule.when)}:")
            body.append(f"        {group} = {index}  # {rule.id}")
            text, varies = values[group][index]
            if varies:  # constant values are looked up by the winner's index at the end
                body.append(f"        {group}_value = {text}")
                if table:
                    body.append("        dynamic = True")
            if rule.when is None:
                break
            first = False
    picked = {}
    for group in ("fees", "commission"):
        varies_at = tuple(i for i, (_, varies) in enumerate(values[group]) if varies)
        picked[group] = (
            f"({group}_value if {group} in {writer.const(repr(frozenset(varies_at)))} "
            f"else _V_{group}[{group}])"
            if varies_at
            else f"_V_{group}[{group}]"
        )
    fee_values, rate = picked["fees"], picked["commission"]
    # tuple.__new__ directly: a named tuple's own __new__ is a Python function.
    build = (
        "_new_tuple(_Outcome, (_rules_channel[channel], _rules_fees[fees], "
        f"{fee_values}, _rules_commission[commission], {rate}))"
    )
    if not table:
        body.append(f"    return {build}")
    elif any(varying.values()):
        body += ["    if not dynamic:", "        return _OUT[channel][fees][commission]"]
        body.append(f"    return {build}")
    else:
        body.append("    return _OUT[channel][fees][commission]")

    loaded = sorted(writer.names)  # what decide() loads up front
    checks: list[str] = []
    writer.inline = frozenset()  # the check functions load what they test
    for group in GROUPS:
        for index, rule in enumerate(ir.groups[group]):
            for part, (node, _) in enumerate(rule.conjuncts):
                checks.append(f"def check_{group}_{index}_{part}(f):  # {rule.id}")
                code = writer.expr(node)
                for name in sorted(_names(node)):
                    checks.append(f"    v_{name} = f[{name!r}]")
                checks.append(f"    return {code}")
                checks.append("")

    head = [
        f"# Generated by dunning from {label}: do not edit. Rule text is never evaluated;",
        "# this source is built from the checked syntax tree.",
        "from decimal import Decimal",
        "",
    ]
    head += [f"{name} = {text}" for text, name in writer.constants.items()]
    for group in ("fees", "commission"):
        # The constant values of the group's rules (None where a rule's values vary).
        items = [text if not varies else "None" for text, varies in values[group]]
        head.append(f"_V_{group} = ({', '.join(items)}{',' if items else ''})")
    if table:
        head.append(
            "_OUT = tuple(tuple(tuple("
            "_new_tuple(_Outcome, (_rules_channel[c], _rules_fees[f], _V_fees[f], "
            "_rules_commission[m], _V_commission[m])) "
            "for m in range(len(_rules_commission))) "
            "for f in range(len(_rules_fees))) "
            "for c in range(len(_rules_channel)))"
        )
    head += ["", "", "def decide(f):"]
    head += [f"    v_{name} = f[{name!r}]" for name in loaded]
    return "\n".join([*head, *body, "", "", *checks]) + "\n"


def _all_names(node: Node) -> list[str]:
    """Every fact reference in ``node``, repeats included."""
    found = [node.name] if isinstance(node, Name) else []
    for child in children(node):
        found += _all_names(child)
    return found


def _names(node: Node) -> set[str]:
    if isinstance(node, Name):
        return {node.name}
    found: set[str] = set()
    for child in children(node):
        found |= _names(child)
    return found


class CompiledEngine(Engine):
    """Decides by running the policy's generated Python code."""

    name = "compiled"

    def __init__(self, ir: PolicyIR, digest: str) -> None:
        super().__init__(ir, digest)
        label = ir.files[0] if ir.files else ir.name
        self.filename = f"<dunning policy {label} {digest[:19]}>"
        self.source = generate_source(ir, label)
        namespace: dict[str, Any] = {
            "_rt": _runtime,
            "__name__": "dunning_policy",
            "_new_tuple": tuple.__new__,
            "_Outcome": Outcome,
            **{f"_rules_{group}": ir.groups[group] for group in GROUPS},
        }
        code = compile(self.source, self.filename, "exec")
        linecache.cache[self.filename] = (
            len(self.source),
            None,
            self.source.splitlines(True),
            self.filename,
        )
        exec(code, namespace)  # the generated source, never rule text
        self._decide = namespace["decide"]
        # The generated function is the engine's run: no method call in between.
        self.run = self._decide  # type: ignore[method-assign]
        self._checks = {
            (group, index): [
                namespace[f"check_{group}_{index}_{part}"] for part in range(len(rule.conjuncts))
            ]
            for group in GROUPS
            for index, rule in enumerate(ir.groups[group])
        }
        self._groups = tuple(ir.groups[g] for g in GROUPS)

    def run(self, facts: dict[str, Any]) -> Outcome:
        """Decide every group for ``facts``."""
        outcome: Outcome = self._decide(facts)
        return outcome

    def trace(self, facts: dict[str, Any]) -> dict[str, list[RuleTrace]]:
        """Evaluate every rule's condition, part by part, for an explanation."""
        out: dict[str, list[RuleTrace]] = {}
        for group in GROUPS:
            traces = []
            for index, rule in enumerate(self.ir.groups[group]):
                failed = None
                for check, (_, text) in zip(
                    self._checks[(group, index)], rule.conjuncts, strict=True
                ):
                    if not check(facts):
                        failed = text
                        break
                traces.append(RuleTrace(rule, failed is None, failed))
            out[group] = traces
        return out
