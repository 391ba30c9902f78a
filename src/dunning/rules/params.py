"""Stage 4b of the rule front end: parameter values — defaults, overrides and their bounds.

A parameter is declared with a type and a default in the file; a host or the command line may
override it at load time. Every value is converted to its type here, checked against the
declared ``min`` and ``max``, and reported at the default's position when it is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..errors import did_you_mean
from ..facts import FACTS
from ..money import MINOR_UNITS
from .nodes import Ty
from .reader import scalar_value
from .schema import RawParam
from .source import Pos, Source

__all__ = ["check_params", "parse_param_value"]

_DAYS = re.compile(r"^([0-9]{1,5})\s*([dw])$")
_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?$")


#: The bounds every parameter value of a kind must keep, whatever its declared min and max:
#: days up to a century; numbers and whole numbers below a trillion, numbers with at most ten
#: decimal places; money not negative, below a trillion and at the currency's minor unit.
LIMIT = Decimal(10) ** 12
MAX_DAYS = 36_500
NUMBER_PLACES = 10


def parse_param_value(kind: str, value: Any, currency: str = "CNY") -> Any:
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
        return tuple(parse_param_value(elem, v, currency) for v in value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("expected true or false")
    if kind == "string":
        if isinstance(value, str):
            if len(value) > 200 or not value.isprintable():
                raise ValueError("expected text of at most 200 printable characters")
            return value
        raise ValueError("expected text")
    days = kind == "days"
    if days and isinstance(value, str):
        match = _DAYS.match(value.strip())
        if match:
            value = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    expected = {"int": "a whole number", "days": "a number of days", "money": "an amount"}.get(
        kind, "a number"
    )
    if isinstance(value, float):
        raise ValueError(f'expected {expected} written as text, e.g. "0.5"')
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"expected {expected}")
    if isinstance(value, str) and not _NUMBER.match(value.strip()):
        raise ValueError(f"expected {expected} in the digits 0-9, such as 12 or 0.5")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except ArithmeticError:
        raise ValueError(f"expected {expected}") from None
    # Bounded before anything else is done with it: int() of 1E+999999999 would not end.
    if not number.is_finite() or abs(number) >= LIMIT:
        raise ValueError(f"expected {expected} below {LIMIT:,}")
    if kind in ("int", "days"):
        if number != number.to_integral_value():
            raise ValueError(f"expected {expected}, not a fraction")
        if days and not 0 <= number <= MAX_DAYS:
            raise ValueError(f"expected a number of days from 0 to {MAX_DAYS:,}")
        return int(number)
    places = MINOR_UNITS.get(currency, 2) if kind == "money" else NUMBER_PLACES
    if -number.as_tuple().exponent > places:  # type: ignore[operator]
        unit = f"the {currency} minor unit" if kind == "money" else f"{places} decimal places"
        raise ValueError(f"{number} has more decimals than {unit}")
    if kind == "money" and number < 0:
        raise ValueError(f"an amount is not negative, got {number}")
    return number


def check_params(
    declared: Mapping[str, RawParam],
    overrides: Mapping[str, Any],
    source: Source,
    currency: str = "CNY",
) -> tuple[dict[str, Any], dict[str, Ty]]:
    """Return the values in force and the types of every parameter whose value is good.

    Reports an override of an undeclared parameter, a parameter named like a fact, and every
    value that does not convert or lies outside its bounds.
    """
    for name in overrides:
        if name not in declared:
            source.report(
                Pos(1, 1),
                "unknown-param",
                f"parameter {name!r} given at load time is not declared"
                + did_you_mean(name, declared),
            )
    values: dict[str, Any] = {}
    types: dict[str, Ty] = {}
    for name, param in declared.items():
        if name in FACTS:
            source.report(
                param.pos,
                "param-shadows-fact",
                f"parameter {name!r} has the name of a fact",
                hint="rename the parameter",
            )
            continue
        value = _value(param, overrides, source, currency)
        if value is None:
            continue
        values[name] = value
        kind = param.type
        if kind.startswith("list["):
            types[name] = Ty("list", elem=kind[5:-1])
        else:
            types[name] = Ty("int" if kind == "days" else kind)
    return values, types


def _value(param: RawParam, overrides: Mapping[str, Any], source: Source, currency: str) -> Any:
    overridden = param.name in overrides
    raw_value = overrides[param.name] if overridden else scalar_value(param.default)
    # An override has no place in the file: it is reported at the parameter's name, saying
    # where it came from; a bad default at the default itself.
    where = param.pos if overridden else param.default.pos
    what = (
        f"the value {raw_value!r} given for parameter {param.name!r} at load time "
        "(params= or --param)"
        if overridden
        else f"the default {getattr(param.default, 'raw', raw_value)} of parameter {param.name!r}"
    )
    try:
        value = parse_param_value(param.type, raw_value, currency)
    except ValueError as exc:
        source.report(where, "bad-param-value", f"{what} ({param.type}): {exc}")
        return None
    for bound, op in ((param.min, "min"), (param.max, "max")):
        if bound is None or not isinstance(value, int | Decimal):
            continue
        limit = bound.value
        assert isinstance(limit, int | Decimal)
        if (op == "min" and value < limit) or (op == "max" and value > limit):
            source.report(where, "bad-param-value", f"{what} is outside its {op} {limit}")
            return None
    return value
