"""Stage 3c of the rule front end: the ``placement:`` section → checked :class:`PlacementSettings`.

How the cases the rules send to an agency are shared among the eligible agencies, and the
policy's placement terms (the notice's lead time, the term, the cool-off after a case came back,
the grace period in which payments still earn the agency its commission).
Every setting is optional; each problem is a diagnostic at its position. The agencies the
section names are checked against an agencies file when a :class:`dunning.Placer` is built.
"""

from __future__ import annotations

import re
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ..errors import did_you_mean
from ..model import COMMISSION_BASES, SPECIAL_PROCEDURES, Channel
from .ir import PLACEMENT_STRATEGIES, PlacementSettings
from .reader import Reader
from .source import PNode, PScalar, Source

__all__ = ["PLACEMENT_KEYS", "placement_json_schema", "read_placement"]

PLACEMENT_KEYS = (
    "strategy",
    "shares",
    "minimum_share",
    "salt",
    "notice_lead_days",
    "notice_expiry_days",
    "term_days",
    "cool_off_days",
    "grace_days",
    "grace_days_by_reason",
    "commission_base",
    "in_house_channel",
    "per_borrower",
)
#: Longest period a day count of the section may give (ten years).
MAX_DAYS = 3650
#: Channels a case the rules sent to an agency may get when no agency can take it.
IN_HOUSE_CHANNELS = tuple(
    c.value
    for c in Channel
    if c not in (Channel.OUTSOURCE, Channel.NONE) and c not in SPECIAL_PROCEDURES
)
_AGENCY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def read_placement(node: PNode | None, source: Source) -> PlacementSettings:
    """Check the ``placement:`` section; return its settings (the defaults where unset)."""
    defaults = PlacementSettings()
    if node is None:
        return defaults
    r = Reader(source)
    section = r.mapping(node, "placement")
    if section is None:
        return defaults
    r.keys(section, PLACEMENT_KEYS, "in placement")
    values: dict[str, Any] = {}
    positions = {key: key_node.pos for key, (key_node, _) in section.items.items()}
    strategy_node = section.get("strategy")
    strategy = r.text(strategy_node, "strategy", numbers=False)
    if strategy is not None and strategy not in PLACEMENT_STRATEGIES:
        assert strategy_node is not None
        source.report(
            strategy_node.pos,
            "unknown-value",
            f"unknown placement strategy {strategy[:40]!r}"
            + did_you_mean(strategy[:40], PLACEMENT_STRATEGIES),
            hint=f"strategies: {', '.join(PLACEMENT_STRATEGIES)}",
        )
        strategy = None
    values["strategy"] = strategy or defaults.strategy
    shares = _shares(r, section.get("shares"), positions)
    if shares is not None:
        values["shares"] = MappingProxyType(shares)
    if values["strategy"] == "shares" and not shares and "shares" not in section.items:
        source.report(
            section.key_pos("strategy"),
            "missing-key",
            "the shares strategy needs shares: {AGENCY_ID: WEIGHT, ...}",
        )
    elif values["strategy"] != "shares" and "shares" in section.items:
        source.report(
            section.key_pos("shares"),
            "unused-setting",
            f"shares are used only by the shares strategy, not by {values['strategy']}",
            severity="warning",
        )
    share = r.fraction(section.get("minimum_share"), "minimum_share", zero=True, one=False)
    if share is not None:
        values["minimum_share"] = share
    salt = r.text(section.get("salt"), "salt")
    if salt is not None:
        if len(salt) > 64 or not salt.isprintable():
            source.report(
                section.key_pos("salt"), "bad-value", "salt must be at most 64 printable characters"
            )
        else:
            values["salt"] = salt
    for key in (
        "notice_lead_days",
        "notice_expiry_days",
        "term_days",
        "cool_off_days",
        "grace_days",
    ):
        low = 1 if key == "term_days" else 0
        days = r.bounded(section.get(key), key, low, MAX_DAYS, unit="days")
        if days is not None:
            values[key] = days
    by_reason = _grace_by_reason(r, section.get("grace_days_by_reason"))
    if by_reason is not None:
        values["grace_days_by_reason"] = MappingProxyType(by_reason)
    base_node = section.get("commission_base")
    base = r.text(base_node, "commission_base", numbers=False)
    if base is not None:
        assert base_node is not None
        if base not in COMMISSION_BASES:
            source.report(
                base_node.pos,
                "unknown-value",
                f"commission_base must be one of {', '.join(COMMISSION_BASES)}, not {base[:40]!r}"
                + did_you_mean(base[:40], COMMISSION_BASES),
            )
        else:
            values["commission_base"] = base
    channel_node = section.get("in_house_channel")
    channel = r.text(channel_node, "in_house_channel", numbers=False)
    if channel is not None:
        assert channel_node is not None
        if channel not in IN_HOUSE_CHANNELS:
            source.report(
                channel_node.pos,
                "unknown-value",
                f"in_house_channel must be a channel the lender works itself, not {channel!r}"
                + did_you_mean(channel, IN_HOUSE_CHANNELS),
                hint=f"channels: {', '.join(IN_HOUSE_CHANNELS)}",
            )
        else:
            values["in_house_channel"] = Channel(channel)
    per_borrower = section.get("per_borrower")
    if per_borrower is not None:
        flag = per_borrower.value if isinstance(per_borrower, PScalar) else None
        if isinstance(flag, bool):
            values["per_borrower"] = flag
        else:
            source.report(per_borrower.pos, "bad-value", "per_borrower must be true or false")
    return PlacementSettings(**values, positions=MappingProxyType(positions))


#: How a placement ends without a recall rule's reason: returned by the agency, at the end of
#: its term, of the agency's contract, or from the first day of the agency's suspension.
END_REASONS = ("returned", "term_end", "contract_ended", "agency_suspended")
_REASON = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _grace_by_reason(r: Reader, node: PNode | None) -> dict[str, int] | None:
    """``grace_days_by_reason``: a recall reason (or an end of :data:`END_REASONS`) → days."""
    section = r.mapping(node, "grace_days_by_reason")
    if section is None:
        return None
    found: dict[str, int] = {}
    for reason, (key_node, value) in section.items.items():
        if not _REASON.match(reason):
            r.src.report(
                key_node.pos,
                "bad-value",
                f"{reason[:64]!r} is not a reason: a recall reason in lower_snake_case, or one "
                f"of {', '.join(END_REASONS)}",
            )
            continue
        days = r.bounded(value, f"grace_days_by_reason.{reason}", 0, MAX_DAYS, unit="days")
        if days is not None:
            found[reason] = days
    return found


def _shares(r: Reader, node: PNode | None, positions: dict[str, Any]) -> dict[str, Decimal] | None:
    section = r.mapping(node, "shares")
    if section is None:
        return None
    shares: dict[str, Decimal] = {}
    for agency, (key_node, value) in section.items.items():
        if not _AGENCY_ID.match(agency):
            r.src.report(key_node.pos, "bad-value", f"agency id {agency[:64]!r} is not an id")
            continue
        weight = value.value if isinstance(value, PScalar) else None
        if isinstance(weight, str):
            try:
                weight = Decimal(weight)
            except ArithmeticError:
                weight = None
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | Decimal)
            or not Decimal(weight).is_finite()
            or not 0 < weight <= 1_000_000
        ):
            r.src.report(
                value.pos,
                "bad-value",
                f"the share of {agency} must be a number above 0 (a weight: 70 and 30, or "
                "0.7 and 0.3)",
            )
            continue
        shares[agency] = Decimal(weight)
        positions[f"shares.{agency}"] = key_node.pos
    if not shares and not r.src.failed:
        r.src.report(section.pos, "bad-value", "shares must name at least one agency")
    return shares


def placement_json_schema() -> dict[str, Any]:
    """The JSON Schema of the ``placement:`` section, for editors."""
    days = {"type": "integer", "minimum": 0, "maximum": MAX_DAYS}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "strategy": {"enum": list(PLACEMENT_STRATEGIES)},
            "shares": {
                "type": "object",
                "propertyNames": {"pattern": _AGENCY_ID.pattern},
                "additionalProperties": {"type": ["number", "string"]},
            },
            "minimum_share": {"type": ["number", "string"]},
            "salt": {"type": "string", "maxLength": 64},
            "notice_lead_days": days,
            "notice_expiry_days": days,
            "term_days": {**days, "minimum": 1},
            "cool_off_days": days,
            "grace_days": days,
            "grace_days_by_reason": {
                "type": "object",
                "propertyNames": {"pattern": _REASON.pattern},
                "additionalProperties": days,
            },
            "commission_base": {"enum": list(COMMISSION_BASES)},
            "in_house_channel": {"enum": list(IN_HOUSE_CHANNELS)},
            "per_borrower": {"type": "boolean"},
        },
    }
