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
from .nodes import Ty
from .reader import scalar_value
from .schema import RawParam
from .source import Pos, Source

__all__ = ["check_params", "parse_param_value"]

_DAYS = re.compile(r"^(\d{1,5})\s*([dw])$")


def parse_param_value(kind: str, value: Any) -> Any:
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
        return tuple(parse_param_value(elem, v) for v in value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("expected true or false")
    if kind == "string":
        if isinstance(value, str):
            return value
        raise ValueError("expected text")
    if kind == "days":
        if isinstance(value, str):
            match = _DAYS.match(value.strip())
            if match:
                return int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        kind = "int"
    expected = "a whole number" if kind == "int" else "a number"
    if isinstance(value, float):
        raise ValueError(f'expected {expected} written as text, e.g. "0.5"')
    if isinstance(value, bool):
        raise ValueError(f"expected {expected}")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, str | int | Decimal) else None
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"expected {expected}")
    if kind == "int":
        if number != number.to_integral_value():
            raise ValueError("expected a whole number")
        return int(number)
    return number


def check_params(
    declared: Mapping[str, RawParam], overrides: Mapping[str, Any], source: Source
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
        value = _value(param, overrides, source)
        if value is None:
            continue
        values[name] = value
        kind = param.type
        if kind.startswith("list["):
            types[name] = Ty("list", elem=kind[5:-1])
        else:
            types[name] = Ty("int" if kind == "days" else kind)
    return values, types


def _value(param: RawParam, overrides: Mapping[str, Any], source: Source) -> Any:
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
        value = parse_param_value(param.type, raw_value)
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
