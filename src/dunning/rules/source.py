"""Stage 1 of the rule front end: YAML text → a tree of nodes that remember their positions.

PyYAML's composer gives every node a start mark; we keep it so that any later stage can report
``file:line:col``. The text is scanned by libyaml (PyYAML's C parser, ten times faster than its
Python one: a policy loads in half the time) and composed in Python, where the limits are
counted node by node; text libyaml refuses (or PyYAML without libyaml) is read by PyYAML's Python
parser, with the same limits, so that an error reads as PyYAML words it. Only plain data is
accepted: no tags beyond the YAML core schema, no anchors or aliases, bounded size and depth.
Numbers are kept as their source text and read as ``int`` or ``Decimal``, never binary floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Union

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from ..errors import POLICY_CODES, Diagnostic

__all__ = ["PMap", "PNode", "PScalar", "PSeq", "Pos", "Source", "load_yaml"]

# libyaml's parser, where PyYAML was built with it (its stubs do not export the class).
CParser: Any = vars(yaml.cyaml)["CParser"] if yaml.__with_libyaml__ else None

MAX_FILE_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_NUMBER_DIGITS = 20
#: Diagnostics reported for one file; the next says that there are more.
MAX_DIAGNOSTICS = 200

_CORE = "tag:yaml.org,2002:"
# Timestamps (an unquoted 2026-10-01) stay text: the schema reads the dates it expects.
_ALLOWED_TAGS = {
    f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in a source file."""

    line: int
    col: int


@dataclass
class Source:
    """One rule file's text, and the diagnostics found in it."""

    path: str
    text: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines = self.text.splitlines()

    def report(
        self,
        pos: Pos,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        severity: str = "error",
        rule_id: str | None = None,
    ) -> None:
        """Record a diagnostic at ``pos``; ``code`` must be one of ``POLICY_CODES``."""
        if code not in POLICY_CODES:
            raise AssertionError(f"undocumented diagnostic code {code!r}")
        if len(self.diagnostics) >= MAX_DIAGNOSTICS:
            if len(self.diagnostics) == MAX_DIAGNOSTICS:
                self.diagnostics.append(
                    Diagnostic(
                        self.path,
                        pos.line,
                        pos.col,
                        "too-many-errors",
                        f"more than {MAX_DIAGNOSTICS} problems: the rest are not reported; "
                        "fix these first",
                    )
                )
            return
        line = self.lines[pos.line - 1] if 0 < pos.line <= len(self.lines) else None
        self.diagnostics.append(
            Diagnostic(self.path, pos.line, pos.col, code, message, severity, hint, rule_id, line)
        )

    @property
    def failed(self) -> bool:
        """Whether any error (not warning) was recorded."""
        return any(d.severity == "error" for d in self.diagnostics)


@dataclass(frozen=True, slots=True)
class PScalar:
    """A scalar: its value (str, int, Decimal, bool or None), raw text, and where it stands."""

    value: str | int | Decimal | bool | None
    raw: str
    pos: Pos
    style: str | None
    quoted: bool

    def pos_at(self, offset: int) -> Pos:
        """Return the position of character ``offset`` of the scalar's string value."""
        if self.style in ("|", ">"):
            before = self.raw[:offset].split("\n")
            # Block scalars start on the line after the indicator, indented; keep the caret on
            # the right line and column relative to that indentation.
            return Pos(self.pos.line + len(before), self._block_indent() + len(before[-1]) + 1)
        if "\n" in self.raw[:offset]:
            return self.pos
        return Pos(self.pos.line, self.pos.col + offset + (1 if self.quoted else 0))

    def _block_indent(self) -> int:
        return self.pos.col + 1  # refined by the loader for the usual two-space indent


@dataclass(frozen=True, slots=True)
class PSeq:
    """A sequence and its position."""

    items: tuple[PNode, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class PMap:
    """A mapping with string keys; each value keeps its key's scalar for positions."""

    items: dict[str, tuple[PScalar, PNode]]
    pos: Pos

    def get(self, key: str) -> PNode | None:
        """Return the value under ``key``, or ``None``."""
        entry = self.items.get(key)
        return entry[1] if entry else None

    def key_pos(self, key: str) -> Pos:
        """Return the position of ``key`` (or of the mapping if absent)."""
        entry = self.items.get(key)
        return entry[0].pos if entry else self.pos


PNode = Union[PScalar, PSeq, PMap]  # noqa: UP007 - a runtime alias used in isinstance checks


def _pos(node: yaml.Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, source: Source) -> None:
        self.source = source

    def build(self, node: yaml.Node) -> PNode | None:
        # Size and depth were bounded while composing (_Bounded), before any node existed.
        if node.tag not in _ALLOWED_TAGS:
            self.source.report(
                _pos(node),
                "unsafe-tag",
                f"YAML tag {node.tag!r} is not allowed in rule files",
                hint="rule files are plain data: remove the tag",
            )
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            items = [self.build(child) for child in node.value]
            return PSeq(tuple(i for i in items if i is not None), _pos(node))
        assert isinstance(node, yaml.MappingNode)
        return self.mapping(node)

    def mapping(self, node: yaml.MappingNode) -> PMap:
        items: dict[str, tuple[PScalar, PNode]] = {}
        for key_node, value_node in node.value:
            key = self.build(key_node)
            if not isinstance(key, PScalar) or not isinstance(key.value, str):
                self.source.report(_pos(key_node), "bad-key", "mapping keys must be plain names")
                continue
            if key.value in items:
                self.source.report(
                    key.pos,
                    "duplicate-key",
                    f"key {key.value!r} appears twice in this mapping",
                    hint=f"the first is on line {items[key.value][0].pos.line}",
                )
                continue
            value = self.build(value_node)
            if value is not None:
                items[key.value] = (key, value)
        return PMap(items, _pos(node))

    def scalar(self, node: yaml.ScalarNode) -> PScalar | None:
        raw, tag = node.value, node.tag.removeprefix(_CORE)
        value: str | int | Decimal | bool | None = raw
        if tag in ("int", "float"):
            digits = sum(ch.isdigit() for ch in raw)
            if digits > MAX_NUMBER_DIGITS:
                self.source.report(
                    _pos(node), "literal-too-large", f"number with {digits} digits is too large"
                )
                return None
            try:
                value = int(raw.replace("_", ""), 0) if tag == "int" else Decimal(raw)
            except (ValueError, InvalidOperation):
                value = raw  # YAML 1.1 forms like 0b1 or .inf: keep the text, schema decides
            if isinstance(value, Decimal) and not value.is_finite():
                value = raw
            # 1E+999999999 has few digits but no place in a policy: a later int() would not end.
            if isinstance(value, Decimal) and abs(value.adjusted()) > MAX_NUMBER_DIGITS:
                self.source.report(
                    _pos(node),
                    "literal-too-large",
                    f"number {raw[:24]} is out of range (at most {MAX_NUMBER_DIGITS} digits "
                    "before or after the point)",
                )
                return None
        elif tag == "bool":
            value = raw.lower() in ("true", "yes", "on", "y")
        elif tag == "null":
            value = None
        scalar = PScalar(value, raw, _pos(node), node.style or None, node.style in ("'", '"'))
        if node.style in ("|", ">"):
            indent = self._indent_of(node.start_mark.line + 1)
            return _BlockScalar(value, raw, scalar.pos, node.style, False, indent)
        return scalar

    def _indent_of(self, line_index: int) -> int:
        lines = self.source.lines
        if line_index < len(lines):
            text = lines[line_index]
            return len(text) - len(text.lstrip(" "))
        return 0


@dataclass(frozen=True, slots=True)
class _BlockScalar(PScalar):
    indent: int = 0

    def _block_indent(self) -> int:
        return self.indent


def load_yaml(source: Source) -> PNode | None:
    """Parse ``source`` into positioned nodes; problems go to ``source.diagnostics``."""
    if len(source.text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        source.report(Pos(1, 1), "too-large", f"rule file is larger than {MAX_FILE_BYTES} bytes")
        return None
    try:
        root = _compose(source.text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        code = exc.code if isinstance(exc, _RefusedError) else "yaml-syntax"
        source.report(pos, code, str(exc.problem or exc.context or "invalid YAML"))
        return None
    except yaml.YAMLError as exc:
        source.report(Pos(1, 1), "yaml-syntax", str(exc))
        return None
    if root is None:
        source.report(Pos(1, 1), "empty-file", "the rule file is empty")
        return None
    return _Builder(source).build(root)


def _compose(text: str) -> yaml.Node | None:
    """The text's node tree, read by libyaml; text it refuses is read again by PyYAML's parser.

    The second reading is only for text that is wrong: its error says what is wrong in the words
    (and at the place) PyYAML's own parser gives, which the docs and the suite show.
    """
    if CParser is not None:
        try:
            return _compose_with(_Loader, text)
        except _RefusedError:
            raise
        except (yaml.YAMLError, UnicodeEncodeError):  # a lone surrogate cannot be encoded
            pass
    return _compose_with(_PythonLoader, text)


def _compose_with(loader: Any, text: str) -> yaml.Node | None:
    composer = loader(text)
    try:
        node: yaml.Node | None = composer.get_single_node()
    finally:
        composer.dispose()
    return node


class _RefusedError(yaml.composer.ComposerError):
    """A node the rule files' limits refuse, with the diagnostic code to report."""

    def __init__(self, code: str, message: str, mark: Any) -> None:
        super().__init__(None, None, message, mark)
        self.code = code


class _Bounded(Composer):
    """The composer with the limits of rule files, applied while composing.

    No anchors or aliases (no "billion laughs", no shared nodes); at most ``MAX_NODES`` nodes
    and ``MAX_DEPTH`` levels, counted as each node is met: PyYAML's composer recurses once a
    level, and would run out of stack before a later check could see the depth.
    """

    _nodes = 0
    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]  # the parser's, mixed in
        if isinstance(event, yaml.AliasEvent):
            message = "anchors and aliases (*name) are not allowed in rule files"
            raise _RefusedError("yaml-alias", message, event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            message = f"anchors (&{anchor}) are not allowed in rule files"
            raise _RefusedError("yaml-alias", message, event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _RefusedError("too-large", f"more than {MAX_NODES} YAML nodes", event.start_mark)
        if self._depth > MAX_DEPTH:
            message = f"nested deeper than {MAX_DEPTH} levels"
            raise _RefusedError("too-deep", message, event.start_mark)
        self._depth += 1
        try:
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1


class _PythonLoader(_Bounded, yaml.SafeLoader):
    """The bounded composer over PyYAML's Python scanner and parser."""


if CParser is not None:

    class _Loader(_Bounded, CParser, SafeConstructor, Resolver):  # type: ignore[misc]
        """The bounded composer over libyaml's events (the C parser's own composer is skipped)."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
