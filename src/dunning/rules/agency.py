"""Stage 3d of the rule front end: the ``agency:`` section → checked :class:`AgencySettings`.

An agency working a bank's cases (docs/agency.md) sets here what its procedure asks of it:
how soon a bank's file is taken in and how many backups are kept (``intake``), who approves
each special procedure and the bank's limits on it (``procedures``), and which team and skills
each case needs (``assignment``: rules in the expression language, over the facts). Every
setting is optional; each problem is a diagnostic at its position.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

from ..cases import CASE_COLUMNS
from ..errors import did_you_mean
from ..model import SPECIAL_PROCEDURES
from .ir import AgencySettings, AssignmentRule, BankLayout, IntakeSettings, ProcedureSettings
from .nodes import Literal, Name, Node, walk
from .reader import Reader
from .source import PNode, PScalar, PSeq, Source
from .typecheck import Typer

__all__ = ["AGENCY_KEYS", "agency_json_schema", "read_agency"]

AGENCY_KEYS = ("intake", "procedures", "assignment")
INTAKE_KEYS = ("within_minutes", "backups", "banks")
BANK_KEYS = ("columns", "defaults")
PROCEDURE_KEYS = ("approval", "max_instalments", "max_share", "max_days")
ASSIGNMENT_KEYS = ("keep_collector", "rules")
ASSIGNMENT_RULE_KEYS = ("id", "when", "team", "skills", "same_language", "doc")
PROCEDURES = tuple(p.value for p in SPECIAL_PROCEDURES)
#: Longest intake target: a week.
MAX_MINUTES = 10_080
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_ROLE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def read_agency(node: PNode | None, source: Source, typer: Typer) -> AgencySettings:
    """Check the ``agency:`` section; return its settings (the defaults where unset)."""
    defaults = AgencySettings()
    r = Reader(source)
    section = r.mapping(node, "agency") if node is not None else None
    if section is None:
        return defaults
    r.keys(section, AGENCY_KEYS, "in agency")
    intake = _intake(r, section.get("intake"))
    procedures = _procedures(r, section.get("procedures"))
    keep, rules = _assignment(r, section.get("assignment"), typer)
    return AgencySettings(intake, procedures, keep, rules)


def _intake(r: Reader, node: PNode | None) -> IntakeSettings:
    section = r.mapping(node, "intake")
    if section is None:
        return IntakeSettings()
    r.keys(section, INTAKE_KEYS, "in agency: intake")
    values: dict[str, int] = {}
    minutes = r.bounded(section.get("within_minutes"), "within_minutes", 1, MAX_MINUTES)
    if minutes is not None:
        values["within_minutes"] = minutes
    backups = r.bounded(section.get("backups"), "backups", 0, 10)
    if backups is not None:
        values["backups"] = backups
    banks = r.mapping(section.get("banks"), "banks")
    layouts: dict[str, BankLayout] = {}
    for bank, (key_node, value) in banks.items.items() if banks else ():
        if not _WORD.match(bank):
            r.src.report(key_node.pos, "bad-name", f"bank id {bank[:64]!r} is not an id")
            continue
        layout = _layout(r, value, bank)
        if layout is not None:
            layouts[bank] = layout
    return IntakeSettings(**values, banks=MappingProxyType(layouts))


def _layout(r: Reader, node: PNode, bank: str) -> BankLayout | None:
    entry = r.mapping(node, f"the layout of {bank}")
    if entry is None:
        return None
    r.keys(entry, BANK_KEYS, f"in the layout of {bank}")
    parts: dict[str, dict[str, str]] = {}
    for key in BANK_KEYS:
        part = r.mapping(entry.get(key), key)
        parts[key] = {}
        for field_name, (name_node, value) in part.items.items() if part else ():
            if field_name not in CASE_COLUMNS:
                r.src.report(
                    name_node.pos,
                    "unknown-key",
                    f"a case field a bank's sheet may give is not {field_name[:64]!r}"
                    + did_you_mean(field_name, CASE_COLUMNS),
                    hint="the fields are listed in docs/agency.md (intake)",
                )
                continue
            text = r.text(value, f"{key}: {field_name}")
            if text is not None:
                parts[key][field_name] = text
    return BankLayout(MappingProxyType(parts["columns"]), MappingProxyType(parts["defaults"]))


def _procedures(r: Reader, node: PNode | None) -> MappingProxyType[str, ProcedureSettings]:
    settings = {name: ProcedureSettings() for name in PROCEDURES}
    section = r.mapping(node, "procedures")
    if section is None:
        return MappingProxyType(settings)
    r.keys(section, PROCEDURES, "in agency: procedures", noun="procedure")
    for name, (_, value) in section.items.items():
        entry = r.mapping(value, name)
        if name not in settings or entry is None:
            continue
        r.keys(entry, PROCEDURE_KEYS, f"in the {name} procedure")
        values: dict[str, Any] = {}
        approval = r.text(entry.get("approval"), "approval", numbers=False)
        if approval is not None:
            if _ROLE.match(approval):
                values["approval"] = approval
            else:
                r.src.report(
                    entry.key_pos("approval"),
                    "bad-value",
                    "approval names a role: lower-case letters, digits and '_' (supervisor)",
                )
        allowed = {
            "instalment_plan": "max_instalments",
            "waiver": "max_share",
            "suspension": "max_days",
        }[name]
        for key in ("max_instalments", "max_share", "max_days"):
            if key in entry.items and key != allowed:
                r.src.report(
                    entry.key_pos(key),
                    "unused-setting",
                    f"{key} is a limit of another procedure; {name} takes {allowed}",
                )
        if allowed == "max_share":
            share = r.fraction(entry.get("max_share"), "max_share", zero=False, one=True)
            if share is not None:
                values["max_share"] = share
        else:
            top = 600 if allowed == "max_instalments" else 3650
            limit = r.bounded(entry.get(allowed), allowed, 1, top)
            if limit is not None:
                values[allowed] = limit
        settings[name] = ProcedureSettings(**values)
    return MappingProxyType(settings)


def _assignment(
    r: Reader, node: PNode | None, typer: Typer
) -> tuple[bool, tuple[AssignmentRule, ...]]:
    section = r.mapping(node, "assignment")
    if section is None:
        return True, ()
    r.keys(section, ASSIGNMENT_KEYS, "in agency: assignment")
    keep = True
    keep_node = section.get("keep_collector")
    if keep_node is not None:
        if isinstance(keep_node, PScalar) and isinstance(keep_node.value, bool):
            keep = keep_node.value
        else:
            r.src.report(keep_node.pos, "bad-value", "keep_collector must be true or false")
    rules_node = r.sequence(section.get("rules"), "assignment rules")
    if rules_node is None:
        return keep, ()
    rules: list[AssignmentRule] = []
    seen: set[str] = set()
    for item in rules_node.items:
        rule = _rule(r, item, typer, seen)
        if rule is not None:
            rules.append(rule)
    return keep, tuple(rules)


def _rule(r: Reader, node: PNode, typer: Typer, seen: set[str]) -> AssignmentRule | None:
    entry = r.mapping(node, "an assignment rule")
    if entry is None:
        return None
    r.keys(entry, ASSIGNMENT_RULE_KEYS, "in an assignment rule")
    rule_id = r.text(r.need(entry, "id", "an assignment rule"), "id")
    if rule_id is None:
        return None
    if not _WORD.match(rule_id) or rule_id in seen:
        r.src.report(
            entry.key_pos("id"),
            "duplicate-rule-id" if rule_id in seen else "bad-name",
            f"assignment rule id {rule_id[:64]!r} "
            + ("is already used" if rule_id in seen else "is not a name"),
            rule_id=rule_id,
        )
        return None
    seen.add(rule_id)
    ok = True
    when: Node | None = None
    text = ""
    when_node = entry.get("when")
    if when_node is not None:
        if not isinstance(when_node, PScalar):
            r.src.report(when_node.pos, "bad-value", "when must be an expression", rule_id=rule_id)
            ok = False
        else:
            text = str(when_node.value)
            when = typer.expression(when_node, rule_id)
            if when is None:
                ok = False
            elif when.type.kind != "bool":
                r.src.report(
                    when_node.pos,
                    "type-mismatch",
                    f"a condition must be true or false, got {when.type.describe()}",
                    rule_id=rule_id,
                )
                ok = False
            elif isinstance(when, Literal) and when.value is True:
                when = None
            elif any(isinstance(n, Name) and n.name == "overdue_customers" for n in walk(when)):
                r.src.report(
                    when_node.pos,
                    "bad-name",
                    "an assignment rule cannot read overdue_customers (a figure of the whole "
                    "book): assign a case by what the case is",
                    rule_id=rule_id,
                )
                ok = False
    team = _word(r, entry.get("team"), "team", rule_id)
    skills = _words(r, entry.get("skills"), "skills", rule_id)
    same = entry.get("same_language")
    same_language = False
    if same is not None:
        if isinstance(same, PScalar) and isinstance(same.value, bool):
            same_language = same.value
        else:
            r.src.report(same.pos, "bad-value", "same_language must be true or false")
            ok = False
    doc = r.text(entry.get("doc"), "doc") or ""
    if not ok or team is False or skills is None:
        return None
    assert team is None or isinstance(team, str)
    return AssignmentRule(rule_id, when, text, team, skills, same_language, doc, entry.pos)


def _word(r: Reader, node: PNode | None, what: str, rule_id: str) -> str | bool | None:
    """A name, ``None`` when absent, ``False`` when wrong (reported)."""
    if node is None:
        return None
    value = r.text(node, what, rule_id)
    if value is None:
        return False
    if not _WORD.match(value):
        r.src.report(node.pos, "bad-value", f"{what} must be a name", rule_id=rule_id)
        return False
    return value


def _words(r: Reader, node: PNode | None, what: str, rule_id: str) -> tuple[str, ...] | None:
    if node is None:
        return ()
    if not isinstance(node, PSeq):
        r.src.report(node.pos, "bad-value", f"{what} must be a list of names", rule_id=rule_id)
        return None
    found: list[str] = []
    for item in node.items:
        word = _word(r, item, what[:-1], rule_id)
        if not isinstance(word, str):
            return None
        found.append(word)
    return tuple(dict.fromkeys(found))


def agency_json_schema() -> dict[str, Any]:
    """The JSON Schema of the ``agency:`` section, for editors."""
    name = {"type": "string", "pattern": _WORD.pattern}

    def procedure(limit: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {"approval": {"type": "string", "pattern": _ROLE.pattern}, limit: schema},
        }

    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "intake": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "within_minutes": {"type": "integer", "minimum": 1, "maximum": MAX_MINUTES},
                    "backups": {"type": "integer", "minimum": 0, "maximum": 10},
                    "banks": {
                        "type": "object",
                        "propertyNames": {"pattern": _WORD.pattern},
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                key: {
                                    "type": "object",
                                    "propertyNames": {"enum": list(CASE_COLUMNS)},
                                    "additionalProperties": {"type": ["string", "number"]},
                                }
                                for key in BANK_KEYS
                            },
                        },
                    },
                },
            },
            "procedures": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "instalment_plan": procedure(
                        "max_instalments", {"type": "integer", "minimum": 1, "maximum": 600}
                    ),
                    "waiver": procedure("max_share", {"type": ["number", "string"]}),
                    "suspension": procedure(
                        "max_days", {"type": "integer", "minimum": 1, "maximum": 3650}
                    ),
                },
            },
            "assignment": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "keep_collector": {"type": "boolean"},
                    "rules": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["id"],
                            "properties": {
                                "id": name,
                                "when": {"type": ["string", "boolean"]},
                                "team": name,
                                "skills": {"type": "array", "items": name},
                                "same_language": {"type": "boolean"},
                                "doc": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    }
