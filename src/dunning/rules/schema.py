"""Stage 3 of the rule front end: the shape of a policy file, checked key by key.

Turns the positioned YAML tree into a :class:`RawPolicy` whose expressions are still text.
Every unknown key, missing key and wrongly typed value becomes a diagnostic at its position; the
walk goes on so that one run reports them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import did_you_mean
from ..model import iana_zones
from ..money import MINOR_UNITS
from .agency import agency_json_schema
from .guard_config import guards_json_schema
from .ir import ALL_GROUPS, GROUPS, OUTCOME_KEYS
from .messages import messages_json_schema
from .placement import placement_json_schema
from .reader import Reader, scalar_value
from .source import PMap, PNode, Pos, PScalar, PSeq, Source

__all__ = [
    "PARAM_TYPES",
    "RawParam",
    "RawPolicy",
    "RawRule",
    "policy_json_schema",
    "read_policy",
]

TOP_KEYS = (
    "policy",
    "version",
    "description",
    "currency",
    "timezone",
    "products",
    "buckets",
    "assessment",
    "params",
    "guards",
    "messages",
    "placement",
    "agency",
    "rules",
)
ASSESSMENT_KEYS = ("penalty_multiplier", "allocation", "days_in_year")
PARAM_KEYS = ("type", "default", "doc", "min", "max")
RULE_KEYS = ("id", "priority", "when", "then", "doc", "overrides")
TABLE_KEYS = ("table", "priority", "inputs", "outputs", "rows", "doc", "overrides")
BAND_KEYS = ("label", "min_dpd", "max_dpd")
PARAM_TYPES = (
    "int",
    "number",
    "money",
    "bool",
    "string",
    "days",
    "list[string]",
    "list[int]",
    "list[number]",
)
#: Rules in one decision group (after tables are expanded): checking a policy compares its
#: rules pairwise, and real policies have tens.
MAX_RULES = 1000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass
class RawParam:
    """A declared parameter, its default still as YAML."""

    name: str
    pos: Pos
    type: str
    default: PNode
    doc: str
    min: PScalar | None = None
    max: PScalar | None = None


@dataclass
class RawRule:
    """A rule as written: its condition is still text."""

    id: str
    group: str
    order: int
    pos: Pos
    priority: int
    when: PScalar | None
    then: PMap
    doc: str
    overrides: tuple[tuple[str, Pos], ...] = ()  # later rules it shadows on purpose


@dataclass
class RawPolicy:
    """The checked shape of one policy file."""

    source: Source
    name: str = ""
    version: str = ""
    description: str = ""
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    products: list[tuple[str, Pos]] = field(default_factory=list)
    buckets: list[tuple[str, int, int | None, Pos]] | None = None
    assessment: dict[str, tuple[PNode, Pos]] = field(default_factory=dict)
    params: dict[str, RawParam] = field(default_factory=dict)
    groups: dict[str, tuple[Pos, list[RawRule]]] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)  # groups with rules that could not be read
    rules_pos: Pos = field(default_factory=lambda: Pos(1, 1))
    guards: PNode | None = None
    messages: PNode | None = None
    placement: PNode | None = None
    agency: PNode | None = None


def read_policy(root: PNode, source: Source) -> RawPolicy:
    """Check the structure of a policy file and collect its parts."""
    policy = RawPolicy(source)
    r = Reader(source)
    top = r.mapping(root, "a policy file")
    if top is None:
        return policy
    r.keys(top, TOP_KEYS, "in the policy")
    name = r.text(r.need(top, "policy", "the policy file"), "policy (the name)")
    if name is not None:
        if not _ID.match(name):
            source.report(top.get("policy").pos, "bad-value", f"policy name {name!r} is not an id")  # type: ignore[union-attr]
        policy.name = name
    version_node = r.need(top, "version", "the policy file")
    version = r.text(version_node, "version") or ""
    if version_node is not None and (len(version) > 128 or not version.isprintable()):
        source.report(
            version_node.pos,
            "bad-value",
            f"version {version[:40]!r}{'…' if len(version) > 40 else ''} is not a version: "
            "at most 128 printable characters (every decision carries it)",
        )
        version = ""
    policy.version = version
    policy.description = r.text(top.get("description"), "description") or ""
    currency_node = top.get("currency")
    currency = r.text(currency_node, "currency") or "CNY"
    if currency_node is not None and currency not in MINOR_UNITS:
        source.report(
            currency_node.pos,
            "unknown-value",
            f"unknown currency {currency[:40]!r}" + did_you_mean(currency[:40], MINOR_UNITS),
            hint="an ISO 4217 code in capitals, such as CNY or USD",
        )
        currency = "CNY"  # checked no further: the file will not load
    policy.currency = currency
    zone_node = top.get("timezone")
    zone = r.text(zone_node, "timezone") or "Asia/Shanghai"
    if zone_node is not None and zone not in iana_zones():
        source.report(
            zone_node.pos,
            "unknown-value",
            f"unknown time zone {zone[:64]!r}" + did_you_mean(zone[:64], iana_zones()),
            hint="a name of the IANA time zone database, such as Asia/Shanghai",
        )
        zone = "Asia/Shanghai"
    policy.timezone = zone
    products = r.sequence(r.need(top, "products", "the policy file"), "products")
    for item in products.items if products else ():
        text = r.text(item, "a product")
        if text is not None:
            policy.products.append((text, item.pos))
    if products is not None and not products.items:
        source.report(products.pos, "bad-value", "products must list at least one product")
    buckets = r.sequence(top.get("buckets"), "buckets")
    if buckets is not None:
        policy.buckets = []
        for item in buckets.items:
            band = r.mapping(item, "a bucket band")
            if band is None:
                continue
            r.keys(band, BAND_KEYS, "in a bucket band")
            label = r.text(r.need(band, "label", "a bucket band"), "label")
            low = r.integer(r.need(band, "min_dpd", "a bucket band"), "min_dpd")
            high_node = band.get("max_dpd")
            high = None
            if isinstance(high_node, PScalar) and high_node.value is not None:
                high = r.integer(high_node, "max_dpd")
            if label is not None and low is not None:
                policy.buckets.append((label, low, high, band.pos))
    assessment = r.mapping(top.get("assessment"), "assessment")
    if assessment is not None:
        r.keys(assessment, ASSESSMENT_KEYS, "in assessment")
        for key, (key_node, value) in assessment.items.items():
            policy.assessment[key] = (value, key_node.pos)
    policy.guards = top.get("guards")
    policy.messages = top.get("messages")
    policy.placement = top.get("placement")
    policy.agency = top.get("agency")
    params = r.mapping(top.get("params"), "params")
    if params is not None:
        for key, (key_node, value) in params.items.items():
            param = _read_param(r, key, key_node, value)
            if param is not None:
                policy.params[key] = param
    rules = r.mapping(r.need(top, "rules", "the policy file"), "rules")
    if rules is not None:
        policy.rules_pos = rules.pos
        r.keys(rules, ALL_GROUPS, "in rules")
        order = 0
        for group in ALL_GROUPS:
            entry = rules.items.get(group)
            if entry is None and group not in GROUPS:
                continue  # optional: no recall rules, placed cases stay placed
            if entry is None:
                source.report(
                    rules.pos,
                    "missing-group",
                    f"rules has no {group!r} group",
                    hint=f"every policy decides: {', '.join(GROUPS)}",
                )
                continue
            key_node, value = entry
            seq = r.sequence(value, f"rules.{group}")
            found: list[RawRule] = []
            for item in seq.items if seq else ():
                if isinstance(item, PMap) and "table" in item.items:
                    expanded = _read_table(r, item, group, order, set(policy.params))
                else:
                    rule = _read_rule(r, item, group, order)
                    expanded = None if rule is None else [rule]
                if expanded is None:
                    policy.incomplete.add(group)
                else:
                    found.extend(expanded)
                    order += len(expanded)
                if len(found) > MAX_RULES:
                    source.report(
                        item.pos,
                        "too-large",
                        f"rules.{group} has more than {MAX_RULES} rules",
                        hint="a decision table or a parameter list says the same in fewer rules",
                    )
                    policy.incomplete.add(group)
                    del found[MAX_RULES:]
                    break
            policy.groups[group] = (key_node.pos, found)
    return policy


def _read_param(r: Reader, name: str, key: PScalar, value: PNode) -> RawParam | None:
    if not _NAME.match(name):
        r.src.report(key.pos, "bad-name", f"parameter name {name!r} must be lower_snake_case")
        return None
    spec = r.mapping(value, f"parameter {name!r}")
    if spec is None:
        return None
    r.keys(spec, PARAM_KEYS, f"in parameter {name!r}")
    kind = r.text(r.need(spec, "type", f"parameter {name!r}"), "type")
    default = r.need(spec, "default", f"parameter {name!r}")
    if kind is not None and kind not in PARAM_TYPES:
        r.src.report(
            spec.key_pos("type"),
            "unknown-type",
            f"unknown parameter type {kind!r}" + did_you_mean(kind, PARAM_TYPES),
            hint=f"types: {', '.join(PARAM_TYPES)}",
        )
        return None
    if kind is None or default is None:
        return None
    bounds = {}
    for bound in ("min", "max"):
        node = spec.get(bound)
        if node is not None and not (
            isinstance(node, PScalar) and isinstance(node.value, int | Decimal)
        ):
            r.src.report(node.pos, "bad-value", f"{bound} must be a number")
            node = None
        bounds[bound] = node
    doc = r.text(spec.get("doc"), "doc") or ""
    return RawParam(name, key.pos, kind, default, doc, bounds["min"], bounds["max"])


def _read_rule(r: Reader, item: PNode, group: str, order: int) -> RawRule | None:
    rule = r.mapping(item, f"a rule of {group!r}")
    if rule is None:
        return None
    rule_id = r.text(r.need(rule, "id", "a rule"), "id")
    r.keys(rule, RULE_KEYS, f"in rule {rule_id!r}" if rule_id else "in a rule", rule_id)
    if rule_id is not None and not _ID.match(rule_id):
        r.src.report(
            rule.key_pos("id"), "bad-value", f"rule id {rule_id!r} must be letters, digits, - _ ."
        )
        rule_id = None
    priority = 0
    if rule.get("priority") is not None:
        priority = r.integer(rule.get("priority"), "priority", rule_id) or 0
    when = rule.get("when")
    if when is not None and not isinstance(when, PScalar):
        r.src.report(when.pos, "bad-value", "when must be an expression (text)", rule_id=rule_id)
        when = None
    then = r.mapping(r.need(rule, "then", f"rule {rule_id!r}", rule_id), "then", rule_id)
    doc = r.text(rule.get("doc"), "doc", rule_id) or ""
    if rule_id is None or then is None:
        return None
    r.keys(then, OUTCOME_KEYS[group], f"in the outcome of a {group!r} rule", rule_id)
    overrides = _overrides(r, rule.get("overrides"), rule_id)
    return RawRule(rule_id, group, order, rule.pos, priority, when, then, doc, overrides)


def _overrides(r: Reader, node: PNode | None, owner: str) -> tuple[tuple[str, Pos], ...]:
    """The ids of the later rules a rule (or table) says it shadows on purpose."""
    if node is None:
        return ()
    items = node.items if isinstance(node, PSeq) else (node,)
    found = []
    for item in items:
        rule_id = r.text(item, "an id in overrides", owner)
        if rule_id is not None:
            found.append((rule_id, item.pos))
    return tuple(found)


def policy_json_schema() -> dict[str, Any]:
    """Return a JSON Schema of policy files, for editors (VS Code YAML) to validate and complete.

    Built from the same key tables the loader checks, so the two cannot drift apart.
    """
    from ..model import Channel, HandledBy, Product

    expr = {"type": ["string", "number", "boolean"], "description": "an expression"}
    outcome_props: dict[str, dict[str, Any]] = {
        "channel": {"enum": [c.value for c in Channel]},
        "handled_by": {"enum": [h.value for h in HandledBy]},
        "recipients": {
            "type": "array",
            "items": {
                "enum": ["obligors", "borrower", "guarantor", "co_borrower", "emergency_contact"]
            },
        },
        "requires_approval": {"type": ["string", "null"]},
        "message": {"type": ["string", "null"]},
        "collection_fee": expr,
        "penalty_interest": expr,
        "commission_rate": {"type": ["string", "number", "null"]},
        "recall": {"type": "string", "description": "the reason to recall, or none: keep"},
    }

    overrides = {
        "type": ["array", "string"],
        "items": {"type": "string", "pattern": _ID.pattern},
        "description": "later rules of the group this one shadows on purpose",
    }

    def rule(group: str) -> dict[str, Any]:
        then = {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: outcome_props[k] for k in OUTCOME_KEYS[group]},
        }
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "then"],
            "properties": {
                "id": {"type": "string", "pattern": _ID.pattern},
                "priority": {"type": "integer"},
                "when": {"type": ["string", "boolean"], "description": "a condition"},
                "then": then,
                "doc": {"type": "string"},
                "overrides": overrides,
            },
        }

    def table(group: str) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["table", "inputs", "outputs", "rows"],
            "properties": {
                "table": {"type": "string", "pattern": _ID.pattern},
                "priority": {"type": "integer"},
                "doc": {"type": "string"},
                "inputs": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "outputs": {"type": "array", "items": {"enum": list(OUTCOME_KEYS[group])}},
                "rows": {"type": "array", "items": {"type": "array"}},
                "overrides": overrides,
            },
        }

    param = {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "default"],
        "properties": {
            "type": {"enum": list(PARAM_TYPES)},
            "default": {},
            "doc": {"type": "string"},
            "min": {"type": "number"},
            "max": {"type": "number"},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dunning policy file",
        "type": "object",
        "additionalProperties": False,
        "required": ["policy", "version", "products", "rules"],
        "properties": {
            "policy": {"type": "string", "pattern": _ID.pattern},
            "version": {"type": ["string", "number"]},
            "description": {"type": "string"},
            "currency": {"type": "string"},
            "timezone": {"type": "string"},
            "products": {"type": "array", "items": {"enum": [p.value for p in Product]}},
            "buckets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["label", "min_dpd"],
                    "properties": {
                        "label": {"type": "string"},
                        "min_dpd": {"type": "integer", "minimum": 0},
                        "max_dpd": {"type": ["integer", "null"]},
                    },
                },
            },
            "assessment": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "penalty_multiplier": {"type": ["string", "number"]},
                    "allocation": {
                        "type": "array",
                        "items": {"enum": ["penalty", "interest", "principal"]},
                    },
                    "days_in_year": {"enum": [360, 365]},
                },
            },
            "params": {
                "type": "object",
                "propertyNames": {"pattern": _NAME.pattern},
                "additionalProperties": param,
            },
            "guards": guards_json_schema(),
            "messages": messages_json_schema(),
            "placement": placement_json_schema(),
            "agency": agency_json_schema(),
            "rules": {
                "type": "object",
                "additionalProperties": False,
                "required": list(GROUPS),
                "properties": {
                    g: {"type": "array", "items": {"oneOf": [rule(g), table(g)]}}
                    for g in ALL_GROUPS
                },
            },
        },
    }


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")


@dataclass(frozen=True, slots=True)
class _CellText(PScalar):
    """A condition written by the loader from table cells: problems point at the row."""

    def pos_at(self, offset: int) -> Pos:
        return self.pos


def _read_table(
    r: Reader, node: PMap, group: str, order: int, params: set[str]
) -> list[RawRule] | None:
    """Expand a decision table into one rule per row, named ``TABLE/ROW``."""
    name = r.text(node.get("table"), "table (the table's id)")
    r.keys(node, TABLE_KEYS, f"in table {name!r}", name)
    inputs = r.sequence(r.need(node, "inputs", f"table {name!r}", name), "inputs")
    outputs = r.sequence(r.need(node, "outputs", f"table {name!r}", name), "outputs")
    rows = r.sequence(r.need(node, "rows", f"table {name!r}", name), "rows")
    if name is None or inputs is None or outputs is None or rows is None:
        return None
    if not _ID.match(name):
        r.src.report(node.key_pos("table"), "bad-value", f"table id {name!r} is not an id")
        return None
    in_texts = [r.text(i, "an input", name) for i in inputs.items]
    out_keys = [r.text(o, "an output", name) for o in outputs.items]
    for key, item in zip(out_keys, outputs.items, strict=True):
        if key is not None and key not in OUTCOME_KEYS[group]:
            r.src.report(
                item.pos,
                "unknown-key",
                f"unknown output {key!r} of a {group!r} table"
                + did_you_mean(key, OUTCOME_KEYS[group]),
                rule_id=name,
            )
            return None
    if None in in_texts or None in out_keys:
        return None
    priority = r.integer(node.get("priority"), "priority", name) or 0
    doc = r.text(node.get("doc"), "doc", name) or ""
    overrides = _overrides(r, node.get("overrides"), name)
    rules = []
    for number, row in enumerate(rows.items, start=1):
        rule_id = f"{name}/{number}"
        cells = row.items if isinstance(row, PSeq) else ()
        if len(cells) != len(in_texts) + len(out_keys):
            r.src.report(
                row.pos,
                "bad-value",
                f"row {number} of table {name!r} needs {len(in_texts)} input and "
                f"{len(out_keys)} output cells, has {len(cells)}",
                rule_id=rule_id,
            )
            return None
        tests = [
            test
            for text, cell in zip(in_texts, cells, strict=False)
            if (test := _cell_test(str(text), cell, params)) is not None
        ]
        when = None
        if tests:
            joined = " and ".join(tests)
            when = _CellText(joined, joined, row.pos, None, False)
        then_items = {
            str(key): (PScalar(key, str(key), cell.pos, None, False), cell)
            for key, cell in zip(out_keys, cells[len(in_texts) :], strict=True)
        }
        then = PMap(then_items, row.pos)
        index = order + number - 1
        rules.append(RawRule(rule_id, group, index, row.pos, priority, when, then, doc, overrides))
    return rules


def _cell_test(subject: str, cell: PNode, params: set[str]) -> str | None:
    """Turn one input cell into a condition on ``subject`` (``None``: any value)."""
    from ..facts import FACTS

    left = subject if _IDENT.match(subject) else f"({subject})"
    if isinstance(cell, PSeq):
        items = [_literal_text(scalar_value(i), params) for i in cell.items]
        return f"{left} in [{', '.join(items)}]"
    value = scalar_value(cell)
    if value is None or (isinstance(value, str) and value.strip() in ("-", "any", "")):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(_OPERATORS):
            return f"{left} {text}"
        if ".." in text or text.startswith("["):
            return f"{left} in {text}"
        if text.startswith("not "):
            return f"not ({left} == {_literal_text(text[4:].strip(), params, FACTS)})"
        return f"{left} == {_literal_text(text, params, FACTS)}"
    return f"{left} == {_literal_text(value, params)}"


def _literal_text(value: Any, params: set[str], facts: Any = None) -> str:
    """A cell value as expression text: bare words that name nothing are string values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value)
    known = params | set(facts or ())
    if _IDENT.match(text) and text not in known and text not in ("true", "false", "null"):
        return '"' + text + '"'
    return text
