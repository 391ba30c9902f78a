"""The expression language's syntax nodes, its type lattice, and the visitors that walk them.

The parser (``expr``) builds nodes; the checker (``typecheck``) returns a new tree in which
every node carries what it proved — its :class:`Ty`, and with it whether the value may be
missing — and every later stage reads that instead of working it out again. Each stage that
walks a tree is a :class:`NodeVisitor` (one ``visit_<Class>`` method per node class it handles)
or a :class:`NodeTransformer` (a visitor that returns a new tree), as in Python's ``ast``.

Adding a node class means adding a ``visit_`` method to each visitor that meets it: a visitor
without one raises ``NotImplementedError`` naming the class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

__all__ = [
    "NUMERIC",
    "Binary",
    "BoolOp",
    "Call",
    "Compare",
    "In",
    "ListExpr",
    "Literal",
    "Name",
    "Neg",
    "Node",
    "NodeTransformer",
    "NodeVisitor",
    "Not",
    "Range",
    "Ty",
    "iter_children",
    "walk",
]

#: The numeric kinds of :class:`Ty`.
NUMERIC = frozenset({"int", "number", "money"})


@dataclass(frozen=True, slots=True)
class Ty:
    """The static type of an expression, as the checker proved it.

    Attributes:
        kind: ``int``, ``number``, ``money``, ``bool``, ``string``, ``null`` or ``list``.
        nullable: The value may be missing at decision time: a fact that may be missing, an
            expression using one, or a division by something that may be zero. This is the one
            definition of "may be missing" that both engines follow.
        values: The allowed values of a string.
        elem: The element kind of a list.
        literal: A constant written in the rule (a plain number adapts to money).
    """

    kind: str
    nullable: bool = False
    values: tuple[str, ...] | None = None
    elem: str | None = None
    literal: bool = False

    @property
    def missing(self) -> bool:
        """Whether a value of this type may be missing (``null`` always is)."""
        return self.nullable or self.kind == "null"

    def describe(self) -> str:
        """Return the type in words for messages."""
        name = f"list of {self.elem}" if self.kind == "list" else self.kind
        return f"{name} (may be missing)" if self.nullable else name


# --- syntax nodes: every node knows where it stands in the expression text --------------------


@dataclass(frozen=True, slots=True)
class Node:
    """Base of the syntax nodes.

    Attributes:
        at: Offset of the node's first character in the expression text.
        end: Offset just past its last character (``-1`` for nodes the text does not contain).
        ty: Its type, set by the checker (``None`` in a tree fresh from the parser).
    """

    at: int
    end: int = field(default=-1, kw_only=True, compare=False)
    ty: Ty | None = field(default=None, kw_only=True, compare=False, repr=False)

    @property
    def type(self) -> Ty:
        """The type the checker proved (only on checked trees)."""
        if self.ty is None:
            raise AssertionError(f"{type(self).__name__} at {self.at} was never checked")
        return self.ty

    @property
    def nullable(self) -> bool:
        """Whether the value may be missing at decision time (only on checked trees)."""
        return self.type.missing


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A constant: ``int``, ``Decimal``, ``str``, ``bool`` or ``None``."""

    value: int | Decimal | str | bool | None


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A fact or parameter name."""

    name: str


@dataclass(frozen=True, slots=True)
class Neg(Node):
    """Arithmetic negation."""

    operand: Node


@dataclass(frozen=True, slots=True)
class Not(Node):
    """Logical negation."""

    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic: ``+``, ``-``, ``*``, ``/``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    """``and`` / ``or`` over two or more operands."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A comparison chain: ``a < b <= c`` means ``a < b and b <= c``."""

    left: Node
    ops: tuple[str, ...]
    rights: tuple[Node, ...]

    def pairs(self) -> Iterator[tuple[str, Node, Node]]:
        """Yield ``(op, a, b)`` for each link of the chain."""
        terms = (self.left, *self.rights)
        return zip(self.ops, terms, terms[1:], strict=False)


@dataclass(frozen=True, slots=True)
class ListExpr(Node):
    """A list literal ``[a, b, …]``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Range(Node):
    """An inclusive range ``low..high`` (only after ``in``)."""

    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class In(Node):
    """Membership: ``x in [..]``, ``x in a..b``, or their ``not in`` forms."""

    left: Node
    container: Node  # a ListExpr or a Range once checked
    negated: bool


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A call of a whitelisted function."""

    func: str
    args: tuple[Node, ...]


_NODE_CLASSES: tuple[type[Node], ...] = (
    Literal,
    Name,
    Neg,
    Not,
    Binary,
    BoolOp,
    Compare,
    ListExpr,
    Range,
    In,
    Call,
)
_OWN = ("at", "end", "ty")
#: The fields of each node class that may hold sub-expressions, in source order.
_CHILD_FIELDS: dict[type[Node], tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls) if f.name not in _OWN) for cls in _NODE_CLASSES
}


def iter_children(node: Node) -> Iterator[Node]:
    """Yield the direct sub-expressions of ``node``, in source order."""
    for name in _CHILD_FIELDS[type(node)]:
        value = getattr(node, name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            yield from (item for item in value if isinstance(item, Node))


def walk(node: Node) -> Iterator[Node]:
    """Yield ``node`` and every node below it, depth first, in source order."""
    yield node
    for child in iter_children(node):
        yield from walk(child)


# --- visitors ----------------------------------------------------------------------------------

R = TypeVar("R")


class NodeVisitor(Generic[R]):
    """Walks a tree by calling ``visit_<Class>(node, *args)`` for each node it is given.

    Subclasses define a method per node class they handle; :meth:`generic_visit` is called for
    the others. Extra arguments of :meth:`visit` are passed on (the rete translator passes the
    polarity of the condition it builds). Dispatch is looked up once per class, not per node.
    """

    _dispatch: ClassVar[dict[type[Node], str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = {
            node_class: (
                f"visit_{node_class.__name__}"
                if hasattr(cls, f"visit_{node_class.__name__}")
                else "generic_visit"
            )
            for node_class in _NODE_CLASSES
        }

    def visit(self, node: Node, *args: Any) -> R:
        """Visit ``node`` with the method for its class."""
        method: Callable[..., R] = getattr(self, self._dispatch[type(node)])
        return method(node, *args)

    def generic_visit(self, node: Node, *args: Any) -> R:
        """Called for a node class the visitor has no method for: an error by default."""
        raise NotImplementedError(f"{type(self).__name__} cannot visit {type(node).__name__}")


class NodeTransformer(NodeVisitor[Node]):
    """A visitor that returns a tree: by default each node is rebuilt from its visited children.

    Override ``visit_<Class>`` to replace nodes of a class; the result keeps the position and
    type of the node it replaces unless the method says otherwise.
    """

    def generic_visit(self, node: Node, *args: Any) -> Node:
        """Rebuild ``node`` with every sub-expression visited."""
        changes: dict[str, Any] = {}
        for name in _CHILD_FIELDS[type(node)]:
            value = getattr(node, name)
            if isinstance(value, Node):
                new: Any = self.visit(value, *args)
            elif isinstance(value, tuple) and any(isinstance(v, Node) for v in value):
                new = tuple(self.visit(v, *args) if isinstance(v, Node) else v for v in value)
            else:
                continue
            if new is not value:
                changes[name] = new
        return replace(node, **changes) if changes else node
