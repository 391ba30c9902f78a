"""Stage 1b of the rule front end: reading the positioned YAML tree, reporting as it goes.

Every file kind built on positioned YAML — policies (``schema``), their ``guards:`` section
(``guard_config``) and analyst test files (``policytests``) — reads its tree through one
:class:`Reader`: unknown keys with a "did you mean", required keys, and values of the expected
kind, each problem reported at its position so that one run lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..errors import did_you_mean
from .source import PMap, PNode, PScalar, PSeq, Source

__all__ = ["Reader", "plain", "scalar_value"]


class Reader:
    """Reads parts of a positioned tree; every problem goes to the source's diagnostics."""

    def __init__(self, source: Source) -> None:
        self.src = source

    def keys(
        self,
        node: PMap,
        allowed: Iterable[str],
        where: str,
        rule: str | None = None,
        *,
        noun: str = "key",
        hint: str | None = None,
    ) -> bool:
        """Report each key of ``node`` outside ``allowed``; return whether all were known.

        The message reads ``unknown {noun} 'k' {where}``, e.g. ``unknown key 'x' in a test``.
        """
        known = tuple(allowed)
        ok = True
        for key, (key_node, _) in node.items.items():
            if key in known:
                continue
            ok = False
            self.src.report(
                key_node.pos,
                "unknown-key",
                f"unknown {noun} {key!r}{' ' + where if where else ''}" + did_you_mean(key, known),
                hint=hint or f"allowed keys: {', '.join(known) or 'none'}",
                rule_id=rule,
            )
        return ok

    def need(self, node: PMap, key: str, where: str, rule: str | None = None) -> PNode | None:
        """Return the value under ``key``, reporting its absence."""
        value = node.get(key)
        if value is None:
            self.src.report(node.pos, "missing-key", f"{where} needs a {key!r} key", rule_id=rule)
        return value

    def text(
        self, node: PNode | None, what: str, rule: str | None = None, *, numbers: bool = True
    ) -> str | None:
        """Return a scalar as text (numbers too, unless ``numbers`` is false)."""
        if node is None:
            return None
        if isinstance(node, PScalar):
            value = node.value
            if isinstance(value, str):
                return value
            if numbers and isinstance(value, int | Decimal) and not isinstance(value, bool):
                return str(value)
        self.src.report(node.pos, "bad-value", f"{what} must be text", rule_id=rule)
        return None

    def integer(self, node: PNode | None, what: str, rule: str | None = None) -> int | None:
        """Return a whole-number scalar."""
        if node is None:
            return None
        if isinstance(node, PScalar) and type(node.value) is int:
            return node.value
        self.src.report(node.pos, "bad-value", f"{what} must be a whole number", rule_id=rule)
        return None

    def bounded(
        self, node: PNode | None, what: str, low: int, high: int, *, unit: str = ""
    ) -> int | None:
        """Return a whole number from ``low`` to ``high`` (``unit`` names it in the message)."""
        value = self.integer(node, what)
        if value is None:
            return None
        if not low <= value <= high:
            assert node is not None
            self.src.report(
                node.pos,
                "bad-value",
                f"{what} must be from {low} to {high}{' ' + unit if unit else ''}",
            )
            return None
        return value

    def fraction(self, node: PNode | None, what: str, *, zero: bool, one: bool) -> Decimal | None:
        """Return a number between 0 and 1 (``zero`` and ``one``: whether each end is allowed)."""
        if node is None:
            return None
        value = node.value if isinstance(node, PScalar) else None
        if isinstance(value, str):
            try:
                value = Decimal(value)
            except ArithmeticError:
                value = None
        ok = (
            not isinstance(value, bool)
            and isinstance(value, int | Decimal)
            and Decimal(value).is_finite()
            and (value >= 0 if zero else value > 0)
            and (value <= 1 if one else value < 1)
        )
        if not ok:
            bounds = f"{'from 0' if zero else 'above 0'} {'to 1' if one else 'to below 1'}"
            self.src.report(node.pos, "bad-value", f"{what} must be a fraction {bounds}")
            return None
        assert isinstance(value, int | Decimal)
        return Decimal(value)

    def mapping(self, node: PNode | None, what: str, rule: str | None = None) -> PMap | None:
        """Return ``node`` if it is a mapping."""
        if node is None or isinstance(node, PMap):
            return node
        self.src.report(node.pos, "bad-value", f"{what} must be a mapping", rule_id=rule)
        return None

    def sequence(self, node: PNode | None, what: str) -> PSeq | None:
        """Return ``node`` if it is a list."""
        if node is None or isinstance(node, PSeq):
            return node
        self.src.report(node.pos, "bad-value", f"{what} must be a list")
        return None

    def plain_mapping(self, node: PNode | None, what: str) -> dict[str, Any] | None:
        """Return a mapping as plain Python data (see :func:`plain`)."""
        found = self.mapping(node, what)
        if found is None:
            return None
        value = plain(found)
        assert isinstance(value, dict)
        return value


def plain(node: PNode) -> Any:
    """Turn a positioned node into plain Python data; decimals become text.

    Money and rates read from YAML feed JSON-bound data (cases), which wants them as text,
    never as float-like numbers.
    """
    if isinstance(node, PMap):
        return {key: plain(value) for key, (_, value) in node.items.items()}
    if isinstance(node, PSeq):
        return [plain(item) for item in node.items]
    value = node.value
    return str(value) if isinstance(value, Decimal) else value


def scalar_value(node: PNode) -> Any:
    """Return a scalar's value, or a list of scalar values (for list parameters)."""
    if isinstance(node, PScalar):
        return node.value
    if isinstance(node, PSeq):
        return [scalar_value(i) for i in node.items]
    return node
