"""Money: Decimal only, rounded half-up to the currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from dunning import Money, round_money

D = Decimal


def test_rounds_half_up_to_the_minor_unit() -> None:
    assert round_money(D("0.005")) == D("0.01")
    assert round_money(D("2.675")) == D("2.68")  # float would give 2.67
    assert round_money(D("-0.005")) == D("-0.01")
    assert round_money(D("1.5"), "JPY") == D("2")
    assert round_money(D("1.0005"), "KWD") == D("1.001")


def test_money_arithmetic_stays_in_one_currency() -> None:
    a, b = Money("0.10"), Money("0.20")
    assert a + b == Money("0.30")
    assert (b - a).amount == D("0.10")
    assert Money("100.00") * D("0.075") == Money("7.50")
    assert Money("10.00") * D("0.3333") == Money("3.33")
    with pytest.raises(ValueError, match="cannot combine"):
        _ = Money("1", "CNY") + Money("1", "USD")
    with pytest.raises(TypeError, match="not float"):
        Money(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown currency"):
        Money("1", "XXX")
    with pytest.raises(AttributeError):
        Money("1").amount = D(2)  # type: ignore[misc]


def test_money_in_a_model_serialises_as_strings() -> None:
    class Holder(BaseModel):
        fee: Money

    held = Holder(fee=Money("12.3"))
    assert held.model_dump_json() == '{"fee":{"amount":"12.30","currency":"CNY"}}'
    assert Holder.model_validate_json(held.model_dump_json()) == held


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_sums_are_exact(a: int, b: int) -> None:
    x, y = Money(D(a) / 100), Money(D(b) / 100)
    assert (x + y).amount == (D(a) + D(b)) / 100
    assert x + y - y == x
