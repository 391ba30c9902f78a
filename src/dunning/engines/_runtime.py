"""Helpers that generated policy code calls.

Arithmetic runs in a fixed decimal context, and a missing value (``None``) makes a comparison
false and an arithmetic result missing.

A fixed context keeps decisions independent of whatever ``decimal.getcontext()`` the host set.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)


def add(a: Any, b: Any) -> Any:
    """``a + b``; missing if either is."""
    if a is None or b is None:
        return None
    if type(a) is int and type(b) is int:
        return a + b
    return CONTEXT.add(Decimal(a), Decimal(b))


def sub(a: Any, b: Any) -> Any:
    """``a - b``; missing if either is."""
    if a is None or b is None:
        return None
    if type(a) is int and type(b) is int:
        return a - b
    return CONTEXT.subtract(Decimal(a), Decimal(b))


def mul(a: Any, b: Any) -> Any:
    """``a * b``; missing if either is."""
    if a is None or b is None:
        return None
    if type(a) is int and type(b) is int:
        return a * b
    return CONTEXT.multiply(Decimal(a), Decimal(b))


def div(a: Any, b: Any) -> Any:
    """``a / b`` as a Decimal; missing if either is missing or ``b`` is zero."""
    if a is None or b is None or b == 0:
        return None
    return CONTEXT.divide(Decimal(a), Decimal(b))


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


def member(x: Any, values: frozenset[Any]) -> bool:
    """``x in values``, false when ``x`` is missing."""
    return x is not None and x in values


def non_member(x: Any, values: frozenset[Any]) -> bool:
    """``x not in values``, false when ``x`` is missing."""
    return x is not None and x not in values
