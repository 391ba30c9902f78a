"""The compiled engine: the checked IR turned into Python source, compiled once per policy.

The source is generated only from checked syntax nodes — rule text is never evaluated. Within a
group the first rule in policy order whose condition holds wins; the fallback (a rule without
``when``) ends the group.

The generated code maps back to the rule file, as Jinja2's ``debug_info`` maps templates: every
expression of the compiled code carries the line and columns of the rule text it came from, the
code's file name is the rule file's, and the file's text is registered in ``linecache``. A
traceback or a debugger stop inside a policy shows the rule file's line, with carets under the
part of the condition that failed. :attr:`CompiledEngine.source` keeps the Python for readers.
"""

from __future__ import annotations

import ast
import linecache
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..rules.ir import ALL_GROUPS, GROUP_VALUES, GROUPS, PolicyIR, Rule
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
    walk,
)
from ..rules.source import Pos, PScalar
from . import Engine, Verdict, _runtime

__all__ = ["FUNCTIONS", "TABLE_LIMIT", "CompiledEngine", "Generated", "generate"]

_CMP = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
#: The ``_runtime`` function each function of the rule language compiles to.
FUNCTIONS = {"min": "least", "max": "greatest", "abs": "absolute"}

#: Largest number of rule combinations whose outcomes are built once, at compile time.
TABLE_LIMIT = 4096
#: Rules of one group in one if/elif chain of the generated code.
CHAIN_LENGTH = 200


# --- code with the rule text it came from -----------------------------------------------------

#: ``(start, end, node, scalar)``: bytes ``start:end`` of a piece of code were written from
#: ``node``, an expression of the rule file scalar ``scalar``.
_Span = tuple[int, int, Node, PScalar | None]


@dataclass(frozen=True, slots=True)
class _Code:
    text: str
    spans: tuple[_Span, ...] = ()


def _cat(*parts: str | _Code) -> _Code:
    """Join pieces of code, keeping where each came from."""
    texts: list[str] = []
    spans: list[_Span] = []
    at = 0
    for part in parts:
        code = part if isinstance(part, _Code) else _Code(part)
        spans.extend((a + at, b + at, node, scalar) for a, b, node, scalar in code.spans)
        texts.append(code.text)
        at += len(code.text.encode("utf-8"))  # ast columns count UTF-8 bytes
    return _Code("".join(texts), tuple(spans))


class _Writer(NodeVisitor[_Code]):
    """Emits Python expressions for checked nodes; constants are hoisted into module globals."""

    def __init__(self, inline: frozenset[str] = frozenset()) -> None:
        self.constants: dict[str, str] = {}  # source text of the value → global name
        self.names: set[str] = set()
        self.inline = inline  # facts read where they are used, not loaded up front

    def expression(self, node: Node, scalar: PScalar | None) -> _Code:
        """The code of a rule's expression, remembering the scalar it was written in."""
        code = self.visit(node)
        return _Code(code.text, tuple((a, b, n, scalar) for a, b, n, _ in code.spans))

    def visit(self, node: Node, *args: Any) -> _Code:
        code = super().visit(node, *args)
        return _Code(code.text, ((0, len(code.text.encode("utf-8")), node, None), *code.spans))

    def const(self, text: str) -> str:
        if text not in self.constants:
            self.constants[text] = f"_K{len(self.constants)}"
        return self.constants[text]

    def literal(self, value: object) -> str:
        if isinstance(value, bool) or value is None or isinstance(value, int | str):
            return repr(value)
        assert isinstance(value, Decimal)
        return self.const(f"Decimal({str(value)!r})")

    def visit_Literal(self, node: Literal) -> _Code:
        return _Code(self.literal(node.value))

    def visit_Name(self, node: Name) -> _Code:
        if node.name in self.inline:
            return _Code(f"f[{node.name!r}]")
        self.names.add(node.name)
        return _Code(f"v_{node.name}")

    def visit_Neg(self, node: Neg) -> _Code:
        return _cat("_rt.neg(", self.visit(node.operand), ")")

    def visit_Not(self, node: Not) -> _Code:
        return _cat("(not ", self.visit(node.operand), ")")

    def visit_BoolOp(self, node: BoolOp) -> _Code:
        parts: list[str | _Code] = ["("]
        for i, operand in enumerate(node.operands):
            parts += [f" {node.op} "] if i else []
            parts.append(self.visit(operand))
        return _cat(*parts, ")")

    def visit_Binary(self, node: Binary) -> _Code:
        left, right = self.visit(node.left), self.visit(node.right)
        return _cat(f"_rt.{_ARITH[node.op]}(", left, ", ", right, ")")

    def visit_Call(self, node: Call) -> _Code:
        parts: list[str | _Code] = [f"_rt.{FUNCTIONS[node.func]}("]
        for i, arg in enumerate(node.args):
            parts += [", "] if i else []
            parts.append(self.visit(arg))
        return _cat(*parts, ")")

    def visit_Compare(self, node: Compare) -> _Code:
        if not any(term.nullable for term in (node.left, *node.rights)):
            parts: list[str | _Code] = ["(", self.visit(node.left)]
            for op, right in zip(node.ops, node.rights, strict=True):
                parts += [f" {op} ", self.visit(right)]
            return _cat(*parts, ")")
        links: list[str | _Code] = ["("]
        for i, (op, a, b) in enumerate(node.pairs()):
            links += [" and "] if i else []
            if _is_null(a) or _is_null(b):
                other = self.visit(b if _is_null(a) else a)
                links.append(_cat("(", other, f" is {'' if op == '==' else 'not '}None)"))
            else:
                links.append(_cat(f"_rt.{_CMP[op]}(", self.visit(a), ", ", self.visit(b), ")"))
        return _cat(*links, ")")

    def visit_In(self, node: In) -> _Code:
        left = self.visit(node.left)
        container = node.container
        if isinstance(container, Range):
            low, high = self.visit(container.low), self.visit(container.high)
            if node.left.nullable or container.low.nullable or container.high.nullable:
                test = _cat("_rt.between(", left, ", ", low, ", ", high, ")")
            else:
                test = _cat("(", low, " <= ", left, " <= ", high, ")")
            if node.negated:
                guard: list[str | _Code] = [left, " is not None and "] if node.left.nullable else []
                return _cat("(", *guard, "not ", test, ")")
            return test
        assert isinstance(container, ListExpr)
        values = ", ".join(self.literal(i.value) for i in container.items if isinstance(i, Literal))
        name = self.const(f"frozenset(({values}{',' if values else ''}))")
        if node.left.nullable and node.negated:
            return _cat("(", left, " is not None and ", left, f" not in {name})")
        # A missing value is in no list (lists hold no null), so `in` already says false.
        return _cat("(", left, f" {'not in' if node.negated else 'in'} {name})")


def _is_null(node: Node) -> bool:
    return isinstance(node, Literal) and node.value is None


# --- the generated module ------------------------------------------------------------------------


@dataclass
class _Lines:
    """Generated lines, each remembering the rule text its expressions came from."""

    lines: list[str] = field(default_factory=list)
    spans: dict[int, tuple[_Span, ...]] = field(default_factory=dict)
    origin: dict[int, Pos] = field(default_factory=dict)

    def add(self, *parts: str | _Code, at: Pos | None = None) -> None:
        code = _cat(*parts)
        self.lines.append(code.text)
        number = len(self.lines)
        if code.spans:
            self.spans[number] = code.spans
        if at is not None:
            self.origin[number] = at

    def extend(self, other: _Lines) -> None:
        offset = len(self.lines)
        self.lines += other.lines
        self.spans.update({n + offset: s for n, s in other.spans.items()})
        self.origin.update({n + offset: p for n, p in other.origin.items()})


@dataclass(frozen=True)
class Generated:
    """A policy's generated code: its Python text, and the tree to compile, mapped to the file."""

    source: str
    tree: ast.Module


def _value(writer: _Writer, rule: Rule) -> tuple[_Code, bool]:
    """What a rule decides beyond its own identity, as code: ``(code, varies with facts)``.

    As ``GROUP_VALUES`` says of its group: nothing, one outcome key's value, or every key's
    value as ``{name: value}``.
    """
    kind = GROUP_VALUES[rule.group]
    if kind is None:
        return _Code("None"), False
    outcome = rule.outcome
    assert isinstance(outcome, Mapping)
    if kind != "*":
        value = outcome[kind]
        code = writer.expression(value, rule.sources.get(kind))
        return code, _has_names(value)
    parts: list[str | _Code] = ["{"]
    for i, (key, node) in enumerate(sorted(outcome.items())):
        parts += [", "] if i else []
        parts += [f"{key!r}: ", writer.expression(node, rule.sources.get(key))]
    return _cat(*parts, "}"), any(_has_names(v) for v in outcome.values())


def _has_names(node: Node) -> bool:
    return any(isinstance(n, Name) for n in walk(node))


def generate(ir: PolicyIR, label: str) -> Generated:
    """Return the code of a policy: ``decide(f)`` and one function per conjunct.

    Each group's chain sets the index of its winning rule. When every winner's outcome is a
    constant, ``decide`` returns a prebuilt ``Verdict`` from a table indexed by the groups'
    winners (building it per decision cost more than running the rules); a winner whose
    values depend on facts (a commission rate read from the case, say) builds it.
    """
    uses: dict[str, int] = {}
    for rule in (rule for group in GROUPS for rule in ir.groups[group]):
        nodes = [rule.when] if rule.when is not None else []
        if isinstance(rule.outcome, Mapping):
            nodes += list(rule.outcome.values())
        for node in nodes:
            for found in walk(node):
                if isinstance(found, Name):
                    uses[found.name] = uses.get(found.name, 0) + 1
    # A fact used once is read where it is used: most decisions end at an early rule, and
    # loading every fact up front cost more than deciding.
    writer = _Writer(frozenset(name for name, count in uses.items() if count == 1))
    values = {g: [_value(writer, rule) for rule in ir.groups[g]] for g in GROUPS}
    varying = {g: any(varies for _, varies in values[g]) for g in GROUPS}  # any rule's values
    combinations = 1
    for group in GROUPS:
        combinations *= len(ir.groups[group])
    table = combinations <= TABLE_LIMIT
    body = _Lines()
    if table and any(varying.values()):
        body.add("    dynamic = False")
    for group in GROUPS:
        body.add(f"    # -- {group}")
        first, indent = True, "    "
        chunked = len(ir.groups[group]) > CHAIN_LENGTH
        if chunked:
            body.add(f"    {group} = -1")
        for index, rule in enumerate(ir.groups[group]):
            if chunked and index % CHAIN_LENGTH == 0:
                # Python nests each elif one level deeper in its syntax tree, and fails to
                # compile a few thousand: a long group is a sequence of bounded chains, each
                # tried only while no earlier rule has matched.
                if index:
                    body.add(f"    if {group} < 0:")
                first, indent = True, "    " if index == 0 else "        "
            if rule.when is None:
                body.add(f"{indent}else:" if not first else f"{indent}if True:", at=rule.pos)
            else:
                condition = writer.expression(rule.when, rule.sources.get("when"))
                keyword = "if" if first else "elif"
                body.add(f"{indent}{keyword} ", condition, ":", at=rule.pos)
            body.add(f"{indent}    {group} = {index}  # {rule.id}", at=rule.pos)
            code, varies = values[group][index]
            if varies:  # constant values are looked up by the winner's index at the end
                body.add(f"{indent}    {group}_value = ", code, at=rule.pos)
                if table:
                    body.add(f"{indent}    dynamic = True")
            if rule.when is None:
                break
            first = False
    picked = []
    for group in GROUPS:
        varies_at = tuple(i for i, (_, varies) in enumerate(values[group]) if varies)
        value = (
            f"({group}_value if {group} in {writer.const(repr(frozenset(varies_at)))} "
            f"else _V_{group}[{group}])"
            if varies_at
            else f"_V_{group}[{group}]"
        )
        picked += [f"_rules_{group}[{group}]", value]
    # tuple.__new__ directly: a tuple subclass's own constructor costs a Python call.
    build = f"_new_tuple(_Verdict, ({', '.join(picked)}))"
    # The table of prebuilt verdicts, indexed by each group's winner in GROUPS order.
    prebuilt = "_OUT" + "".join(f"[{group}]" for group in GROUPS)
    if not table:
        body.add(f"    return {build}")
    elif any(varying.values()):
        body.add("    if not dynamic:")
        body.add(f"        return {prebuilt}")
        body.add(f"    return {build}")
    else:
        body.add(f"    return {prebuilt}")

    loaded = sorted(writer.names)  # what decide() loads up front
    writer.inline = frozenset()  # recall() and the check functions load what they test
    recall = _recall_function(writer, ir.groups.get("recall", ()))
    checks = _Lines()
    for group in ALL_GROUPS:
        for index, rule in enumerate(ir.groups.get(group, ())):
            for part, (node, _) in enumerate(rule.conjuncts):
                checks.add(f"def check_{group}_{index}_{part}(f):  # {rule.id}", at=rule.pos)
                code = writer.expression(node, rule.sources.get("when"))
                for name in sorted({n.name for n in walk(node) if isinstance(n, Name)}):
                    checks.add(f"    v_{name} = f[{name!r}]")
                checks.add("    return ", code)
                checks.add("")

    out = _Lines()
    out.add(f"# Generated by dunning from {label}: do not edit. Rule text is never evaluated;")
    out.add("# this source is built from the checked syntax tree.")
    out.add("from decimal import Decimal")
    out.add("")
    for text, name in writer.constants.items():
        out.add(f"{name} = {text}")
    for group in GROUPS:
        # The constant values of the group's rules (None where a rule's values vary).
        items = [code.text if not varies else "None" for code, varies in values[group]]
        out.add(f"_V_{group} = ({', '.join(items)}{',' if items else ''})")
    if table:
        # Nested tuples, the first group outermost: _OUT[i0][i1]... is the verdict of winners
        # i0, i1, ... (constant values only).
        cells = ", ".join(f"_rules_{g}[i{n}], _V_{g}[i{n}]" for n, g in enumerate(GROUPS))
        nested = f"_new_tuple(_Verdict, ({cells}))"
        for n, group in reversed(list(enumerate(GROUPS))):
            nested = f"tuple({nested} for i{n} in range(len(_rules_{group})))"
        out.add(f"_OUT = {nested}")
    out.add("")
    out.add("")
    out.add("def decide(f):")
    for name in loaded:
        out.add(f"    v_{name} = f[{name!r}]")
    out.extend(body)
    out.add("")
    out.add("")
    out.extend(recall)
    out.add("")
    out.add("")
    out.extend(checks)
    source = "\n".join(out.lines) + "\n"
    tree = ast.parse(source)
    _map_to_rule_file(tree, out, ir.text)
    return Generated(source, tree)


def _recall_function(writer: _Writer, rules: tuple[Rule, ...]) -> _Lines:
    """``recall(f)``: the first recall rule that holds for a placed case's facts, or ``None``.

    A flat sequence of ``if``s, each returning: no nesting, however many rules there are.
    """
    chain = _Lines()
    writer.names = set()
    for index, rule in enumerate(rules):
        if rule.when is None:
            chain.add(f"    return _rules_recall[{index}]  # {rule.id}", at=rule.pos)
            break
        condition = writer.expression(rule.when, rule.sources.get("when"))
        chain.add("    if ", condition, ":", at=rule.pos)
        chain.add(f"        return _rules_recall[{index}]  # {rule.id}", at=rule.pos)
    else:
        chain.add("    return None")
    lines = _Lines()
    lines.add("def recall(f):")
    for name in sorted(writer.names):
        lines.add(f"    v_{name} = f[{name!r}]")
    lines.extend(chain)
    return lines


def _map_to_rule_file(tree: ast.Module, lines: _Lines, text: str) -> None:
    """Give every node of ``tree`` the position in the rule file of what it was written from.

    An expression takes the span of the innermost rule expression whose code contains it; any
    other node takes the position of the rule its line belongs to (the last one above it).
    """
    file_lines = text.splitlines()

    def offset(pos: Pos) -> tuple[int, int]:  # 1-based line, UTF-8 byte column
        line = file_lines[pos.line - 1] if 0 < pos.line <= len(file_lines) else ""
        return pos.line, len(line[: pos.col - 1].encode("utf-8"))

    origin: dict[int, tuple[int, int]] = {}
    current = (1, 0)
    for number in range(1, len(lines.lines) + 1):
        if number in lines.origin:
            current = offset(lines.origin[number])
        origin[number] = current
    for node in ast.walk(tree):
        if not isinstance(node, ast.expr | ast.stmt | ast.arg | ast.keyword | ast.alias):
            continue  # nodes without a position
        number = node.lineno
        start = end = origin.get(number, (1, 0))
        if node.end_lineno == number and node.end_col_offset is not None:
            inside = [
                s
                for s in lines.spans.get(number, ())
                if s[0] <= node.col_offset and node.end_col_offset <= s[1] and s[3] is not None
            ]
            if inside:
                _, _, written, scalar = min(inside, key=lambda s: s[1] - s[0])
                assert scalar is not None
                start = offset(scalar.pos_at(written.at))
                finish = written.end if written.end > written.at else written.at + 1
                end = max(start, offset(scalar.pos_at(finish)))
        node.lineno, node.col_offset = start
        node.end_lineno, node.end_col_offset = end


class CompiledEngine(Engine):
    """Decides by running the policy's generated Python code.

    Attributes:
        source: The generated Python source (for reading; what runs is compiled from the same
            tree with positions in the rule file).
        filename: The file name tracebacks and debuggers show: the rule file's.
    """

    name = "compiled"

    def __init__(self, ir: PolicyIR, digest: str) -> None:
        super().__init__(ir, digest)
        label = ir.files[0] if ir.files else ir.name
        generated = generate(ir, label)
        self.source = generated.source
        self.filename = _register(label, ir.text, digest)
        namespace: dict[str, Any] = {
            "_rt": _runtime,
            "__name__": "dunning_policy",
            "_new_tuple": tuple.__new__,
            "_Verdict": Verdict,
            **{f"_rules_{group}": ir.groups.get(group, ()) for group in ALL_GROUPS},
        }
        exec(compile(generated.tree, self.filename, "exec"), namespace)  # never rule text
        # The generated function is the engine's run: no method call in between.
        self.run = namespace["decide"]
        self.recall = namespace["recall"]
        # Explanations run the generated check of each conjunct (same meaning, faster).
        self.conjunct_checks = {
            group: [
                [namespace[f"check_{group}_{index}_{part}"] for part in range(len(rule.conjuncts))]
                for index, rule in enumerate(ir.groups.get(group, ()))
            ]
            for group in ALL_GROUPS
        }


def _register(label: str, text: str, digest: str) -> str:
    """Put the rule file's text in ``linecache`` under the name the compiled code carries.

    The file's own name, unless ``linecache`` holds another text under it (another policy
    loaded under the same name): then the name with the digest, so no traceback shows the
    wrong rule text.
    """
    lines = text.splitlines(True)
    entry = linecache.cache.get(label)
    name = label
    if entry is not None and len(entry) == 4 and entry[2] != lines:
        name = f"{label} ({digest[:19]})"
    linecache.cache[name] = (len(text), None, lines, name)
    return name
