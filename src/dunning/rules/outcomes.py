"""Stage 4c of the rule front end: what each rule decides — its ``then`` — checked by group.

A ``recall`` rule names the reason a placed case comes back from its agency (or ``none``); a
``channel`` rule names a channel, who handles it, its recipients, an approval and a message
template; a ``fees`` rule computes the collection fee and may replace the penalty interest; a
``commission`` rule computes the agency's rate. Computed outcomes are typed expressions that
must give money (fees) or a rate in [0, 1) (commission), and may be missing only where the
group allows it.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ..errors import did_you_mean
from ..messages import DEFAULT_SMS_TEMPLATE, THIRD_PARTY_TEMPLATE
from ..model import SPECIAL_PROCEDURES, Channel, HandledBy
from ..money import MINOR_UNITS
from .ir import THIRD_PARTY_WORDS, ChannelOutcome, ComputedOutcome, RecallOutcome
from .nodes import NUMERIC, Literal, Node
from .params import LIMIT
from .reader import scalar_value
from .schema import RawRule
from .source import PScalar, PSeq, Source
from .typecheck import Typer

__all__ = ["RECIPIENT_WORDS", "check_outcome"]

_REASON = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
RECIPIENT_WORDS = ("obligors", "borrower", "guarantor", "co_borrower", "emergency_contact")
#: What each computed outcome key must give: money or a rate.
_WANTED = {"collection_fee": "money", "penalty_interest": "money", "commission_rate": "number"}
#: Keys whose value may be missing for a case (a commission taken from a placement, say).
_MAY_BE_MISSING = frozenset({"commission_rate"})


def check_outcome(
    rule: RawRule, typer: Typer, currency: str
) -> tuple[ChannelOutcome | RecallOutcome | ComputedOutcome, dict[str, PScalar]] | None:
    """Check a rule's ``then``; return its outcome and the scalars computed values came from."""
    if rule.group == "recall":
        recall = _recall_outcome(rule, typer.src)
        return None if recall is None else (recall, {})
    if rule.group == "channel":
        channel = _channel_outcome(rule, typer.src)
        named = rule.then.items.get("message")
        message = {"message": named[1]} if named and isinstance(named[1], PScalar) else {}
        return None if channel is None else (channel, message)
    then = rule.then
    if rule.group == "commission" and "commission_rate" not in then.items:
        typer.src.report(
            then.pos, "missing-key", "a commission rule sets commission_rate", rule_id=rule.id
        )
        return None
    exprs: dict[str, Node] = {}
    sources: dict[str, PScalar] = {}
    ok = True
    for key, (_, node) in then.items.items():
        if key not in _WANTED:
            continue  # already reported as unknown-key
        if not isinstance(node, PScalar):
            typer.src.report(
                node.pos, "bad-outcome-type", f"{key} must be an expression", rule_id=rule.id
            )
            ok = False
            continue
        expr = typer.expression(node, rule.id)
        if expr is None or not _good_value(key, expr, node, rule, typer.src, currency):
            ok = False
            continue
        exprs[key] = expr
        sources[key] = node
    return (exprs, sources) if ok else None


def _good_value(
    key: str, expr: Node, node: PScalar, rule: RawRule, source: Source, currency: str
) -> bool:
    ty, want = expr.type, _WANTED[key]
    if ty.missing:
        if key in _MAY_BE_MISSING:
            return True
        source.report(
            node.pos,
            "bad-outcome-type",
            f"{key} may be missing here ({ty.describe()}); it needs a value",
            hint="guard the rule's condition, or use a value that is never missing",
            rule_id=rule.id,
        )
        return False
    good = ty.kind in NUMERIC and (
        (want == "money" and (ty.kind == "money" or ty.literal))
        or (want == "number" and ty.kind in ("int", "number"))
    )
    if not good:
        source.report(
            node.pos,
            "bad-outcome-type",
            f"{key} must be {'an amount of money' if want == 'money' else 'a rate'}, "
            f"got {ty.describe()}",
            rule_id=rule.id,
        )
        return False
    if isinstance(expr, Literal) and isinstance(expr.value, int | Decimal):
        value = Decimal(expr.value)
        bad = value < 0 or value >= (1 if want == "number" else LIMIT)
        exponent = value.as_tuple().exponent
        if want == "money" and isinstance(exponent, int) and -exponent > MINOR_UNITS[currency]:
            bad = True
        if bad:
            source.report(
                node.pos,
                "bad-outcome-value",
                f"{key} = {value} is out of range"
                + (
                    " (a rate is at least 0 and below 1)"
                    if want == "number"
                    else f" (an amount from 0 to below {LIMIT:,}, at the {currency} minor unit)"
                ),
                rule_id=rule.id,
            )
            return False
    return True


def _recall_outcome(rule: RawRule, source: Source) -> RecallOutcome | None:
    """A recall rule names its reason (``cured``, ``term_end``, …), or ``none``: keep the case."""
    entry = rule.then.items.get("recall")
    if entry is None:
        source.report(
            rule.then.pos,
            "missing-key",
            "a recall rule sets recall: a reason such as term_end, or none",
            rule_id=rule.id,
        )
        return None
    node = entry[1]
    reason = scalar_value(node)
    if reason is None or reason == "none":
        return RecallOutcome(None)
    if not isinstance(reason, str) or not _REASON.match(reason):
        source.report(
            node.pos,
            "bad-outcome-value",
            f"recall must be a reason in lower_snake_case (such as term_end) or none, not "
            f"{str(reason)[:40]!r}",
            rule_id=rule.id,
        )
        return None
    return RecallOutcome(reason)


def _default_recipients(channel: Channel) -> tuple[str, ...]:
    if channel is Channel.SMS:
        return ("obligors",)
    if channel in (Channel.CALL, Channel.FIELD_VISIT, *SPECIAL_PROCEDURES):
        return ("borrower",)  # a special procedure is an agreement with the borrower
    return ()


def _channel_outcome(rule: RawRule, source: Source) -> ChannelOutcome | None:
    """Check every key of a channel rule's ``then``; one mistake does not hide the next."""
    then = rule.then
    values = {k: scalar_value(v) for k, (_, v) in then.items.items()}
    channel = _channel(rule, source)
    ok = channel is not None
    handled = HandledBy.AGENCY if channel is Channel.OUTSOURCE else HandledBy.INTERNAL
    if "handled_by" in values:
        raw = values["handled_by"]
        if raw not in [h.value for h in HandledBy]:
            source.report(
                then.items["handled_by"][1].pos,
                "unknown-value",
                f"handled_by must be internal or agency, not {raw!r}"
                + did_you_mean(str(raw), [h.value for h in HandledBy]),
                rule_id=rule.id,
            )
            ok = False
        else:
            handled = HandledBy(raw)
    recipients = _default_recipients(channel) if channel is not None else ()
    if "recipients" in then.items:
        node = then.items["recipients"][1]
        items = node.items if isinstance(node, PSeq) else (node,)
        found = []
        for item in items:
            word = scalar_value(item)
            if not isinstance(word, str) or word not in RECIPIENT_WORDS:
                source.report(
                    item.pos,
                    "unknown-role",
                    f"unknown recipient role {word!r}" + did_you_mean(str(word), RECIPIENT_WORDS),
                    hint=f"roles: {', '.join(RECIPIENT_WORDS)}",
                    rule_id=rule.id,
                )
                ok = False
            else:
                found.append(word)
        recipients = tuple(found)
    approval = values.get("requires_approval")
    default = None
    if channel is Channel.SMS:  # an SMS says something: of the debt only to obligors
        third = bool(recipients) and set(recipients) <= THIRD_PARTY_WORDS
        default = THIRD_PARTY_TEMPLATE if third else DEFAULT_SMS_TEMPLATE
    message = values.get("message", default)
    for key, value in (("requires_approval", approval), ("message", message)):
        if value is not None and not isinstance(value, str):
            source.report(
                then.items[key][1].pos,
                "bad-outcome-type",
                f"{key} must be a name or null",
                rule_id=rule.id,
            )
            ok = False
    if not ok or channel is None:
        return None
    assert approval is None or isinstance(approval, str)
    assert message is None or isinstance(message, str)
    return ChannelOutcome(channel, handled, recipients, approval, message)


def _channel(rule: RawRule, source: Source) -> Channel | None:
    then = rule.then
    if "channel" not in then.items:
        source.report(then.pos, "missing-key", "a channel rule sets channel", rule_id=rule.id)
        return None
    node = then.items["channel"][1]
    raw = scalar_value(node)
    channels = [c.value for c in Channel]
    if not isinstance(raw, str):
        source.report(
            node.pos,
            "bad-outcome-type",
            "channel must be one of " + ", ".join(channels),
            rule_id=rule.id,
        )
        return None
    if raw not in channels:
        source.report(
            node.pos,
            "unknown-channel",
            f"unknown channel {raw!r}" + did_you_mean(raw, channels),
            hint=f"channels: {', '.join(channels)}",
            rule_id=rule.id,
        )
        return None
    return Channel(raw)
