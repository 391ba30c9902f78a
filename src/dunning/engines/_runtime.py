"""Helpers that generated policy code calls: exact arithmetic and missing-value semantics.

Rule arithmetic is exact. Sums, differences and products of decimals are computed in a context
wide enough never to round; a quotient is a ``Fraction``, so ``total_due / principal * 3`` is
exactly what it says, and comparisons of fractions with decimals are exact too. Only the outcome
of a rule is rounded, once, to the currency (money) or to 10 decimal places (rates). A missing
value (``None``) makes an arithmetic result missing and a comparison false. The fixed context
keeps decisions independent of whatever ``decimal.getcontext()`` the host set.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from typing import Any

CONTEXT = Context(prec=10_000, rounding=ROUND_HALF_EVEN)


def _exact(op: str, a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a + b if op == "+" else a - b if op == "-" else a * b
    if isinstance(a, Fraction) or isinstance(b, Fraction):
        fa, fb = Fraction(a), Fraction(b)
        return fa + fb if op == "+" else fa - fb if op == "-" else fa * fb
    da, db = Decimal(a), Decimal(b)
    if op == "+":
        return CONTEXT.add(da, db)
    if op == "-":
        return CONTEXT.subtract(da, db)
    return CONTEXT.multiply(da, db)


def add(a: Any, b: Any) -> Any:
    """``a + b``; missing if either is."""
    return None if a is None or b is None else _exact("+", a, b)


def sub(a: Any, b: Any) -> Any:
    """``a - b``; missing if either is."""
    return None if a is None or b is None else _exact("-", a, b)


def mul(a: Any, b: Any) -> Any:
    """``a * b``; missing if either is."""
    return None if a is None or b is None else _exact("*", a, b)


def div(a: Any, b: Any) -> Any:
    """``a / b`` as an exact ``Fraction``; missing if either is missing or ``b`` is zero."""
    if a is None or b is None or b == 0:
        return None
    return Fraction(a) / Fraction(b)


def neg(a: Any) -> Any:
    """``-a``; missing if ``a`` is."""
    return None if a is None else -a


def least(*args: Any) -> Any:
    """``min``; missing if any argument is."""
    return None if any(a is None for a in args) else min(args)


def greatest(*args: Any) -> Any:
    """``max``; missing if any argument is."""
    return None if any(a is None for a in args) else max(args)


def absolute(a: Any) -> Any:
    """``abs``; missing if ``a`` is."""
    return None if a is None else abs(a)


def eq(a: Any, b: Any) -> bool:
    """``a == b``, false when either is missing."""
    return a is not None and b is not None and a == b


def ne(a: Any, b: Any) -> bool:
    """``a != b``, false when either is missing."""
    return a is not None and b is not None and a != b


def lt(a: Any, b: Any) -> bool:
    """``a < b``, false when either is missing."""
    return a is not None and b is not None and a < b


def le(a: Any, b: Any) -> bool:
    """``a <= b``, false when either is missing."""
    return a is not None and b is not None and a <= b


def gt(a: Any, b: Any) -> bool:
    """``a > b``, false when either is missing."""
    return a is not None and b is not None and a > b


def ge(a: Any, b: Any) -> bool:
    """``a >= b``, false when either is missing."""
    return a is not None and b is not None and a >= b


def between(x: Any, low: Any, high: Any) -> bool:
    """``low <= x <= high``, false when any is missing."""
    return x is not None and low is not None and high is not None and low <= x <= high
