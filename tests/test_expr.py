"""The expression language: parsing, and hostile rule text refused without running anything."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dunning.rules.expr import (
    BoolOp,
    Call,
    Compare,
    ExprError,
    In,
    ListExpr,
    Literal,
    Name,
    Range,
    parse,
)


def test_chained_comparison_and_membership() -> None:
    node = parse('1 <= dpd <= 30 and product in ["mortgage", "vehicle_pledge"]')
    assert isinstance(node, BoolOp) and node.op == "and"
    chain, member = node.operands
    assert chain == Compare(0, Literal(0, 1), ("<=", "<="), (Name(5, "dpd"), Literal(12, 30)))
    assert isinstance(member, In) and not member.negated
    assert member.container == ListExpr(
        30, (Literal(31, "mortgage"), Literal(43, "vehicle_pledge"))
    )


def test_ranges_precedence_and_literals() -> None:
    node = parse("dpd not in 1..3 or not lost_contact and total_due >= 5000.50")
    assert isinstance(node, BoolOp) and node.op == "or"
    first = node.operands[0]
    assert isinstance(first, In) and first.negated and isinstance(first.container, Range)
    assert isinstance(node.operands[1], BoolOp) and node.operands[1].op == "and"
    assert parse("-3") == Literal(0, -3)
    assert parse("2.50") == Literal(0, Decimal("2.50"))
    assert parse("'x'") == Literal(0, "x")
    assert parse("null") == Literal(0, None)
    call = parse("min(total_due * 0.1, 500)")
    assert isinstance(call, Call) and call.func == "min" and len(call.args) == 2


@pytest.mark.parametrize(
    ("text", "code", "at"),
    [
        ('__import__("os").system("rm -rf /")', "forbidden-syntax", 0),
        ("().__class__.__bases__", "forbidden-syntax", 2),
        ("dpd.real", "forbidden-syntax", 3),
        ("10**10**10", "forbidden-syntax", 2),
        ('open("/etc/passwd")', "unknown-function", 0),
        ("eval('1')", "unknown-function", 0),
        ("(" * 40 + "1" + ")" * 40, "too-deep", 32),
        ("not " * 40 + "x", "too-deep", 128),
        ("1" * 21, "literal-too-large", 0),
        ('"' + "x" * 201 + '"', "literal-too-large", 0),
        ("dpd > " + "1 + " * 2000 + "1", "expression-too-long", 0),
        ("dpd >", "syntax-error", 5),
        ("dpd > 3 3", "syntax-error", 8),
        ("1.2.3", "syntax-error", 0),
        ("'open", "syntax-error", 0),
        ("dpd ; 3", "syntax-error", 4),
        ("min(1)", "bad-arguments", 0),
        ("x not 3", "syntax-error", 2),
        ("", "syntax-error", 0),
    ],
)
def test_hostile_and_broken_text_is_refused(text: str, code: str, at: int) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert (info.value.code, info.value.at) == (code, at)


def test_huge_list_is_refused() -> None:
    with pytest.raises(ExprError) as info:
        parse("dpd in [" + ", ".join(["1"] * 1001) + "]")
    assert info.value.code == "literal-too-large"
