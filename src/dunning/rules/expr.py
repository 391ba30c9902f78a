"""Stage 2 of the rule front end: the expression language — tokens and parser.

The language analysts write in ``when`` conditions and in computed outcomes::

    1 <= dpd <= 30 and product in ["consumer_finance", "credit_card"]
    not lost_contact and total_due >= large_amount
    dpd in 91..120 or broken_promises_30d >= 2
    min(total_due * collection_fee_rate, collection_fee_cap)

Grammar (lowest precedence first)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum ((CMP sum)+ | "not"? "in" (list | sum ".." sum))?
    sum        := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | "true" | "false" | "null" | NAME | NAME "(" args ")"
                | "(" expr ")" | list

There is no attribute access, no indexing, no power operator and no call outside a short
whitelist, so rule text cannot reach Python. Size, nesting and literals are bounded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from .nodes import Binary, BoolOp, Call, Compare, In, ListExpr, Literal, Name, Neg, Node, Not, Range

__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_DIGITS", "ExprError", "parse"]

MAX_LENGTH = 4000
MAX_DEPTH = 32
MAX_DIGITS = 20
MAX_STRING = 200
MAX_LIST = 1000

#: The only functions rule text may call, with their arities (min, max).
FUNCTIONS: dict[str, tuple[int, int]] = {"min": (2, 8), "max": (2, 8), "abs": (1, 1)}


class ExprError(Exception):
    """A problem in one expression, at character ``at`` of its text."""

    def __init__(self, code: str, message: str, at: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.at = at
        self.hint = hint


# --- lexer -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<string>"[^"\\\n]*"|'[^'\\\n]*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.|==|!=|<=|>=|\*\*|[<>+\-*/()\[\],])
    """,
    re.VERBOSE | re.ASCII,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_CMP = {"==", "!=", "<", "<=", ">", ">="}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # number, string, name, keyword, op, end
    text: str
    at: int


def _tokens(text: str) -> list[_Tok]:
    out = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            ch = text[at]
            if ch == ".":
                raise ExprError(
                    "forbidden-syntax",
                    "attribute access ('.') is not part of the rule language",
                    at,
                    "use a fact name such as 'collateral_value'; ranges are written 1..30",
                )
            if ch in "\"'":
                raise ExprError("syntax-error", "unterminated string", at)
            if ch.isdigit() or ch.isspace():
                what = "digit" if ch.isdigit() else "space"
                raise ExprError(
                    "syntax-error",
                    f"{ch!r} ({unicodedata.name(ch, 'unnamed')}) is not an ASCII {what}",
                    at,
                    "rules are written with the digits 0-9 and plain spaces, so that what a "
                    "reader sees is what the engine reads",
                )
            raise ExprError("syntax-error", f"unexpected character {ch!r}", at)
        kind = match.lastgroup or ""
        word = match.group()
        if kind == "number" and re.match(r"\.\d|[A-Za-z_]", text[match.end() :]):
            raise ExprError("syntax-error", f"malformed number starting {word!r}", at)
        if kind == "number" and sum(c.isdigit() for c in word) > MAX_DIGITS:
            raise ExprError("literal-too-large", f"number {word[:12]}… has too many digits", at)
        if kind == "string" and len(word) - 2 > MAX_STRING:
            raise ExprError("literal-too-large", f"string longer than {MAX_STRING} characters", at)
        if kind == "name" and word in _KEYWORDS:
            kind = "keyword"
        if kind == "name" and word.startswith("__"):
            raise ExprError(
                "forbidden-syntax", f"{word!r} is not allowed: rule text cannot reach Python", at
            )
        if kind == "op" and word == "**":
            raise ExprError(
                "forbidden-syntax",
                "'**' (power) is not part of the rule language",
                at,
                "write the value you need as a number or a parameter",
            )
        if kind != "space":
            out.append(_Tok(kind, word, at))
        at = match.end()
    out.append(_Tok("end", "", len(text)))
    return out


# --- parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    @property
    def done(self) -> int:
        """The offset just past the last token taken: where the node being built ends."""
        tok = self.toks[self.i - 1]
        return tok.at + len(tok.text)

    def at(self, *texts: str) -> bool:
        return self.tok.kind in ("op", "keyword") and self.tok.text in texts

    def expect(self, text: str) -> _Tok:
        if not self.at(text):
            raise self.unexpected(f"expected {text!r}")
        return self.take()

    def unexpected(self, expected: str) -> ExprError:
        tok = self.tok
        found = "end of expression" if tok.kind == "end" else repr(tok.text)
        return ExprError("syntax-error", f"{expected}, found {found}", tok.at)

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(
                "too-deep", f"expression nested deeper than {MAX_DEPTH} levels", self.tok.at
            )

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExprError("syntax-error", "empty expression", 0)
        node = self.expr()
        if self.tok.kind != "end":
            raise self.unexpected("expected an operator or the end")
        return node

    def expr(self) -> Node:
        self.nest()
        first = self.and_expr()
        operands = [first]
        while self.at("or"):
            self.take()
            operands.append(self.and_expr())
        self.depth -= 1
        return (
            first if len(operands) == 1 else BoolOp(first.at, "or", tuple(operands), end=self.done)
        )

    def and_expr(self) -> Node:
        first = self.not_expr()
        operands = [first]
        while self.at("and"):
            self.take()
            operands.append(self.not_expr())
        return (
            first if len(operands) == 1 else BoolOp(first.at, "and", tuple(operands), end=self.done)
        )

    def not_expr(self) -> Node:
        if self.at("not"):
            tok = self.take()
            self.nest()
            operand = self.not_expr()
            self.depth -= 1
            return Not(tok.at, operand, end=self.done)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        if self.tok.kind == "op" and self.tok.text in _CMP:
            ops, rights = [], []
            while self.tok.kind == "op" and self.tok.text in _CMP:
                ops.append(self.take().text)
                rights.append(self.sum())
            return Compare(left.at, left, tuple(ops), tuple(rights), end=self.done)
        negated = False
        if self.at("not") and self.toks[self.i + 1].text == "in":
            self.take()
            negated = True
        if self.at("in"):
            self.take()
            container = self.container()
            return In(left.at, left, container, negated, end=self.done)
        if negated:
            raise self.unexpected("expected 'in' after 'not'")
        return left

    def container(self) -> Node:
        if self.at("["):
            return self.list_expr()
        low = self.sum()
        if self.at(".."):
            self.take()
            high = self.sum()
            return Range(low.at, low, high, end=self.done)
        return low  # a list-valued parameter

    def list_expr(self) -> ListExpr:
        start = self.expect("[")
        items: list[Node] = []
        while not self.at("]"):
            items.append(self.expr())
            if len(items) > MAX_LIST:
                raise ExprError("literal-too-large", f"list longer than {MAX_LIST}", start.at)
            if not self.at("]"):
                self.expect(",")
        self.take()
        return ListExpr(start.at, tuple(items), end=self.done)

    def sum(self) -> Node:
        node, levels = self.term(), 0
        while self.at("+", "-"):
            # Each operator of a chain nests the chain so far one level deeper (a+b+c is
            # (a+b)+c): counted like parentheses, so that every engine can build what passes.
            self.nest()
            levels += 1
            op = self.take().text
            right = self.term()
            node = Binary(node.at, op, node, right, end=self.done)
        self.depth -= levels
        return node

    def term(self) -> Node:
        node, levels = self.unary(), 0
        while self.at("*", "/"):
            self.nest()
            levels += 1
            op = self.take().text
            right = self.unary()
            node = Binary(node.at, op, node, right, end=self.done)
        self.depth -= levels
        return node

    def unary(self) -> Node:
        if self.at("-"):
            tok = self.take()
            self.nest()
            operand = self.unary()
            self.depth -= 1
            if isinstance(operand, Literal) and isinstance(operand.value, int | Decimal):
                return Literal(tok.at, -operand.value, end=self.done)
            return Neg(tok.at, operand, end=self.done)
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.take()
            value = Decimal(tok.text) if "." in tok.text else int(tok.text)
            return Literal(tok.at, value, end=self.done)
        if tok.kind == "string":
            self.take()
            return Literal(tok.at, tok.text[1:-1], end=self.done)
        if tok.kind == "keyword" and tok.text in ("true", "false", "null"):
            self.take()
            word = {"true": True, "false": False, "null": None}[tok.text]
            return Literal(tok.at, word, end=self.done)
        if tok.kind == "name":
            self.take()
            if self.at("("):
                return self.call(tok)
            return Name(tok.at, tok.text, end=self.done)
        if self.at("("):
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        if self.at("["):
            return self.list_expr()
        raise self.unexpected("expected a value, a name or '('")

    def call(self, name: _Tok) -> Call:
        if name.text not in FUNCTIONS:
            raise ExprError(
                "unknown-function",
                f"{name.text}() is not a function of the rule language",
                name.at,
                f"available: {', '.join(sorted(FUNCTIONS))}",
            )
        self.expect("(")
        args: list[Node] = []
        while not self.at(")"):
            args.append(self.expr())
            if not self.at(")"):
                self.expect(",")
        self.take()
        low, high = FUNCTIONS[name.text]
        if not low <= len(args) <= high:
            raise ExprError(
                "bad-arguments",
                f"{name.text}() takes {low}{'' if low == high else f' to {high}'} arguments, "
                f"got {len(args)}",
                name.at,
            )
        return Call(name.at, name.text, tuple(args), end=self.done)


def parse(text: str) -> Node:
    """Parse one expression.

    Raises:
        ExprError: With a stable code, a message and the offset of the problem.
    """
    if len(text) > MAX_LENGTH:
        raise ExprError("expression-too-long", f"expression longer than {MAX_LENGTH} characters", 0)
    return _Parser(text).parse()
