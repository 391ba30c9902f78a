"""Procedure files: an agency's obligations, as data the audit holds its events to.

A procedure file (``rules/agency_procedure.yaml``) states what the seed's part 2 asks of an
agency, each obligation with its parameters and the severity of a breach: the intake within a
time limit with verified backups, the end-of-day record of every contact, special procedures
started only with an approval and filed, field visits recorded and reviewed within some working
days, weekly and monthly reports by their deadlines (the monthly one approved and filed with
head office), the performance report filed with finance, the monthly reconciliation with each
bank, force majeure reported to the bank, cases of other regions coordinated. It is read like
a policy: YAML with positions, every problem at once, compiler style. Working days come from a
calendar of the ``holidays`` package.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import Diagnostic, PolicyError, did_you_mean
from ..facts import FactSpec
from ..model import SPECIAL_PROCEDURES, StaffRole, iana_zones
from ..rules.guard_config import SETTINGS as GUARD_SETTINGS
from ..rules.nodes import Node
from ..rules.reader import Reader
from ..rules.roster import is_roster_file, read_roster_path, read_roster_text
from ..rules.source import PMap, PNode, PScalar, Source, load_yaml
from ..rules.typecheck import Scope, Typer

__all__ = [
    "CYCLE_FACTS",
    "OBLIGATIONS",
    "ROLE_DEFAULTS",
    "BankTerms",
    "CycleNode",
    "Obligation",
    "Procedure",
    "check_procedure_file",
    "is_procedure_file",
    "load_procedure",
    "loads_procedure",
    "procedure_json_schema",
]

TOP_KEYS = (
    "procedure",
    "version",
    "description",
    "timezone",
    "calendar",
    "obligations",
    "banks",
)
SEVERITIES = ("error", "warning")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: What the ``roles`` obligation checks, and who may do it by default (the seed's part 2).
ROLE_DEFAULTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "approve_procedures": ("supervisor",),
        "start_procedures": ("admin_assistant",),
        "review_visits": ("supervisor",),
        "hand_over": ("team_lead", "supervisor"),
        "report_force_majeure": ("admin_assistant",),
        "file_performance": ("admin_assistant",),
    }
)
#: Each obligation's settings, with their kind and default (``None``: required).
OBLIGATIONS: Mapping[str, Mapping[str, tuple[str, Any]]] = MappingProxyType(
    {
        "intake": {
            "within_minutes": ("minutes", 120),
            "backups": ("count", 2),
            # The process starts once the bank's agreement is filed (its ``banks:`` entry).
            "agreement": ("bool", False),
            # The sites each batch is backed up at (the seed: the branch and head office).
            "sites": ("names", ()),
        },
        "daily_records": {"cutoff": ("time", time(18, 0))},
        "special_procedures": {
            "procedures": ("procedures", tuple(p.value for p in SPECIAL_PROCEDURES)),
            "approver_not_requester": ("bool", True),
            # The bank's limit on an instalment plan (None: no limit checked).
            "max_instalments": ("cap?", None),
            # The procedures the bank itself must agree to (its reference on the grant).
            "bank_approval": ("procedures", ()),
            # Whether a waiver may give up principal (the bank's terms; else interest and fees).
            "waiver_principal": ("bool", False),
            # A request still undecided this many working days after it was asked: a warning.
            "decide_within_working_days": ("days?", None),
        },
        "field_visits": {"recording": ("bool", True), "review_within_working_days": ("days", 2)},
        "weekly_report": {"weekday": ("weekday", "friday"), "by": ("time", time(18, 0))},
        "monthly_report": {
            "by_day": ("day", 5),
            "approved": ("bool", True),
            # Each of these roles approves it (the seed: the supervisor and the manager).
            "approvers": ("roles", ()),
            # Who it is filed with (the seed: head office), when the procedure says.
            "filed_with": ("name?", None),
        },
        # The seed: each collector's results recorded and filed with the finance department.
        "performance_report": {"by_day": ("day", 10), "filed_with": ("name?", "finance")},
        # The seed: force majeure met in the work reported to the bank promptly.
        "force_majeure": {"report_within_hours": ("hours", 24)},
        # The seed: a case outside the branch's regions is coordinated with the branch of the
        # cardholder's region and filed with head office.
        "cross_region": {"regions": ("names", ()), "within_working_days": ("days", 5)},
        "reconciliation": {"by_day": ("day", 10), "agrees": ("bool", True)},
        # Who may do what, by the staff's roles (the collectors file's ``role``).
        "roles": {action: ("roles", default) for action, default in ROLE_DEFAULTS.items()},
        "cycle": {"weeks": ("weeks", 4), "nodes": ("nodes", ())},
        # The lender's guards' figures (the cn profile), checked after the fact.
        "conduct": {
            "window_start": ("time", GUARD_SETTINGS["contact_window"]["start"][1]),
            "window_end": ("time", GUARD_SETTINGS["contact_window"]["end"][1]),
            "connected_calls_per_day": ("cap", GUARD_SETTINGS["connected_calls"]["per_day"][1]),
            "unanswered_dials_per_number": (
                "cap",
                GUARD_SETTINGS["unanswered_dials"]["per_number_per_day"][1],
            ),
            "third_parties_after_failed": (
                "cap",
                GUARD_SETTINGS["third_parties"]["lost_after_failed_attempts"][1],
            ),
        },
    }
)
#: What a cycle node's ``when`` and ``require`` read: the case's work so far in its cycle.
CYCLE_FACTS: Mapping[str, FactSpec] = MappingProxyType(
    {
        "attempts": FactSpec("int", "contacts recorded for the case in this cycle"),
        "right_party_contacts": FactSpec(
            "int", "of those, contacts that reached someone (connected, promised or refused)"
        ),
        "promises": FactSpec("int", "promises to pay recorded in this cycle"),
        "field_visits": FactSpec("int", "field visits recorded in this cycle"),
        "special_requests": FactSpec("int", "special procedures asked for in this cycle"),
        "week": FactSpec("int", "the node's week of the cycle (1 = the first)"),
        "cycle": FactSpec("int", "which cycle of the case this is (1 = the first month)"),
        "team": FactSpec("string", "the team of the collector holding the case", nullable=True),
        "collector": FactSpec("string", "the collector holding the case", nullable=True),
        "bank": FactSpec("string", "the bank that sent the case", nullable=True),
    }
)
NODE_KEYS = ("id", "week", "when", "require", "doc")
#: The bounds of each whole-number kind of setting.
_BOUNDS = {
    "minutes": (1, 10_080),
    "hours": (1, 720),
    "count": (0, 10),
    "cap": (1, 100),
    "days": (0, 60),
    "day": (1, 28),
    "weeks": (1, 8),
}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class Obligation:
    """One obligation of the procedure: its settings and the severity of a breach."""

    name: str
    severity: str
    settings: Mapping[str, Any]
    line: int


@dataclass(frozen=True)
class CycleNode:
    """What must have happened to each open case by the end of a week of its cycle.

    Attributes:
        id: The node's name, as findings cite it.
        week: The week of the cycle it is checked at the end of (1 = the first).
        when: The cases it applies to (``None``: all open cases), over :data:`CYCLE_FACTS`.
        require: What must hold for them.
        when_text: ``when`` as written.
        require_text: ``require`` as written.
        doc: What the node is for.
        line: Its line in the file.
    """

    id: str
    week: int
    when: Node | None
    require: Node
    when_text: str
    require_text: str
    doc: str
    line: int


@dataclass(frozen=True)
class BankTerms:
    """What the agency agreed with a bank that the reports need.

    Attributes:
        commission_rate: The share of what is recovered that the bank pays the agency.
        agreement: Where the signed agreement with the bank is filed (``None``: not filed).
    """

    commission_rate: Decimal
    agreement: str | None = None


@dataclass(frozen=True)
class Procedure:
    """A checked procedure file: immutable, safe to share between threads.

    Attributes:
        name: The ``procedure:`` name.
        version: Its version.
        timezone: The agency's time zone (cut-offs and deadlines are read in it).
        calendar: The ``holidays`` country whose public holidays are not working days (``None``:
            Monday to Friday).
        obligations: The obligations the file states, by name (those it leaves out are not
            audited).
        digest: ``sha256:`` of the file's bytes.
        path: The file it was read from.
        banks: Each bank's terms (the reports' commission), by bank id.
    """

    name: str
    version: str
    timezone: str
    calendar: str | None
    obligations: Mapping[str, Obligation]
    digest: str = ""
    path: str | None = None
    description: str = ""
    banks: Mapping[str, BankTerms] = field(default_factory=lambda: MappingProxyType({}))
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))

    @property
    def zone(self) -> ZoneInfo:
        """The agency's time zone."""
        return self._zone

    def working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day: Monday to Friday, not a public holiday."""
        return day.weekday() < 5 and day not in _holidays(self.calendar, day.year)

    def working_day_from(self, day: date) -> date:
        """``day`` if it is a working day, else the next one (a deadline on a holiday moves)."""
        while not self.working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day``."""
        while count > 0:
            day += timedelta(days=1)
            count -= self.working_day(day)
        return day


@cache
def _holidays(country: str | None, year: int) -> frozenset[date]:
    if country is None:
        return frozenset()
    import holidays

    return frozenset(holidays.country_holidays(country, years=year))


def load_procedure(path: str | Path) -> Procedure:
    """Read and check a procedure file.

    Raises:
        PolicyError: With every problem of the file, each at its line and column.
    """
    return _procedure(*read_roster_path(path))


def loads_procedure(text: str | bytes, *, name: str = "<procedure>") -> Procedure:
    """Read a procedure file from its text, as :func:`load_procedure` reads a file."""
    return _procedure(*read_roster_text(text, name))


def is_procedure_file(path: str | Path) -> bool:
    """Whether a YAML file is a procedure file (top-level ``procedure:``, no ``policy:``)."""
    return is_roster_file(path, "procedure")


def check_procedure_file(path: str | Path) -> list[Diagnostic]:
    """Every problem of a procedure file, without raising (as ``dunning check`` shows them)."""
    try:
        load_procedure(path)
    except PolicyError as exc:
        return list(exc.diagnostics)
    return []


def procedure_json_schema() -> dict[str, Any]:
    """A JSON Schema of procedure files, for editors (VS Code YAML) to validate and complete.

    Built from :data:`OBLIGATIONS`: every obligation with its settings, their bounds and
    names. What it cannot say (a node's ``when`` in the rule language, a week beyond the
    cycle's) ``dunning check`` says.
    """
    name = {"type": "string", "pattern": _NAME.pattern}
    roles = {"type": "array", "items": {"enum": [r.value for r in StaffRole]}}
    kinds: dict[str, dict[str, Any]] = {
        "time": {"type": "string", "pattern": _TIME.pattern},
        "bool": {"type": "boolean"},
        "weekday": {"enum": list(WEEKDAYS)},
        "roles": roles,
        "names": {"type": "array", "items": name},
        "name": name,
        "procedures": {
            "type": "array",
            "items": {"enum": [p.value for p in SPECIAL_PROCEDURES]},
        },
        "nodes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "week", "require"],
                "properties": {
                    "id": name,
                    "week": {"type": "integer", "minimum": 1, "maximum": 8},
                    "when": {"type": "string"},
                    "require": {"type": "string"},
                    "doc": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
        **{
            kind: {"type": "integer", "minimum": low, "maximum": high}
            for kind, (low, high) in _BOUNDS.items()
        },
    }

    def setting(kind: str) -> dict[str, Any]:
        if kind.endswith("?"):
            return {"anyOf": [kinds[kind[:-1]], {"type": "null"}]}
        return kinds[kind]

    obligations = {
        obligation: {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        **{key: setting(kind) for key, (kind, _) in spec.items()},
                        "severity": {"enum": list(SEVERITIES)},
                    },
                    "additionalProperties": False,
                },
            ]
        }
        for obligation, spec in OBLIGATIONS.items()
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dunning procedure file",
        "type": "object",
        "required": ["procedure", "obligations"],
        "properties": {
            "procedure": name,
            "version": {"type": ["string", "number"]},
            "description": {"type": "string"},
            "timezone": {"type": "string"},
            "calendar": {"type": "string"},
            "obligations": {
                "type": "object",
                "properties": obligations,
                "additionalProperties": False,
            },
            "banks": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["commission_rate"],
                    "properties": {
                        "commission_rate": {"type": ["number", "string"]},
                        "agreement": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }


def _procedure(source: Source, content: bytes) -> Procedure:
    root = None if source.failed else load_yaml(source)
    found = None if root is None else _read(root, source)
    if source.failed or found is None:
        raise PolicyError(source.diagnostics)
    name, version, description, zone, calendar, obligations, banks = found
    return Procedure(
        name,
        version,
        zone,
        calendar,
        MappingProxyType(obligations),
        "sha256:" + hashlib.sha256(content).hexdigest(),
        source.path,
        description,
        MappingProxyType(banks),
    )


def _read(root: PNode, source: Source) -> tuple[Any, ...] | None:
    r = Reader(source)
    top = r.mapping(root, "a procedure file")
    if top is None:
        return None
    r.keys(top, TOP_KEYS, "in a procedure file")
    name = r.text(r.need(top, "procedure", "a procedure file"), "procedure") or ""
    if name and not _NAME.match(name):
        source.report(top.key_pos("procedure"), "bad-name", f"{name[:64]!r} is not a name")
    version = r.text(top.get("version"), "version") or ""
    description = r.text(top.get("description"), "description") or ""
    zone = r.text(top.get("timezone"), "timezone", numbers=False) or "Asia/Shanghai"
    if zone not in iana_zones():
        source.report(
            top.key_pos("timezone"),
            "unknown-value",
            f"unknown IANA time zone {zone[:64]!r}" + did_you_mean(zone[:64], iana_zones()),
        )
    calendar = r.text(top.get("calendar"), "calendar", numbers=False)
    if calendar is not None:
        problem = _calendar_problem(calendar)
        if problem:
            source.report(top.key_pos("calendar"), "unknown-value", problem)
    section = r.mapping(r.need(top, "obligations", "a procedure file"), "obligations")
    obligations: dict[str, Obligation] = {}
    if section is not None:
        r.keys(section, OBLIGATIONS, "in obligations", noun="obligation")
        for key, (key_node, value) in section.items.items():
            if key in OBLIGATIONS:
                found = _obligation(r, key, value, key_node.pos.line)
                if found is not None:
                    obligations[key] = found
    return name, version, description, zone, calendar, obligations, _banks(r, top.get("banks"))


def _banks(r: Reader, node: PNode | None) -> dict[str, BankTerms]:
    section = r.mapping(node, "banks")
    banks: dict[str, BankTerms] = {}
    for bank, (key_node, value) in (section.items if section is not None else {}).items():
        if not _NAME.match(bank):
            r.src.report(key_node.pos, "bad-name", f"{bank[:64]!r} is not a bank id")
            continue
        entry = r.mapping(value, f"the terms of {bank}")
        if entry is None:
            continue
        r.keys(entry, ("commission_rate", "agreement"), f"in the terms of {bank}")
        rate = r.fraction(
            r.need(entry, "commission_rate", f"the terms of {bank}"),
            "commission_rate",
            zero=True,
            one=True,
        )
        agreement = r.text(entry.get("agreement"), "agreement")
        if rate is not None:
            banks[bank] = BankTerms(rate, agreement or None)
    return banks


def _calendar_problem(country: str) -> str | None:
    import holidays

    if country not in holidays.list_supported_countries():
        known = sorted(holidays.list_supported_countries())
        return f"unknown holiday calendar {country[:16]!r}" + did_you_mean(country[:16], known)
    return None


def _obligation(r: Reader, name: str, node: PNode, line: int) -> Obligation | None:
    spec = OBLIGATIONS[name]
    entry: PMap | None
    if isinstance(node, PScalar) and node.value is None:
        entry = None  # ``intake:`` alone: every default
    else:
        entry = r.mapping(node, name)
        if entry is None:
            return None
    values: dict[str, Any] = {key: default for key, (_, default) in spec.items()}
    severity = "error"
    if entry is not None:
        r.keys(entry, (*spec, "severity"), f"in the {name} obligation")
        given = r.text(entry.get("severity"), "severity", numbers=False)
        if given is not None:
            if given in SEVERITIES:
                severity = given
            else:
                r.src.report(
                    entry.key_pos("severity"),
                    "unknown-value",
                    f"severity is error or warning, not {given[:20]!r}",
                )
        for key, (kind, _) in spec.items():
            if key in entry.items:
                value = _setting(r, kind, entry.items[key][1], key)
                if value is not None:
                    values[key] = value
    if name == "cycle" and entry is not None:
        for item in values["nodes"]:
            if item.week > values["weeks"]:
                r.src.report(
                    entry.pos,
                    "bad-value",
                    f"node {item.id} is at week {item.week}, beyond the cycle's "
                    f"{values['weeks']} weeks",
                )
    if name == "cross_region" and not values["regions"]:
        r.src.report(
            (entry or node).pos,
            "missing-key",
            "cross_region needs the branch's own regions (regions: [CN-SH]): a case outside them "
            "is coordinated with head office",
        )
    if name == "conduct" and values["window_start"] >= values["window_end"]:
        r.src.report(
            (entry or node).pos,
            "bad-value",
            f"the contact window {values['window_start']:%H:%M}-{values['window_end']:%H:%M} is "
            "empty: window_start comes before window_end",
        )
    return Obligation(name, severity, MappingProxyType(values), line)


def _setting(r: Reader, kind: str, node: PNode, key: str) -> Any:
    if kind == "time":
        text = r.text(node, key, numbers=False)
        if text is not None and _TIME.match(text):
            return time(int(text[:2]), int(text[3:]))
        if text is not None:
            r.src.report(node.pos, "bad-value", f'{key} is a time of day such as "18:00"')
        return None
    if kind == "bool":
        if isinstance(node, PScalar) and isinstance(node.value, bool):
            return node.value
        r.src.report(node.pos, "bad-value", f"{key} must be true or false")
        return None
    if kind == "weekday":
        text = r.text(node, key, numbers=False)
        if text is not None and text.lower() in WEEKDAYS:
            return text.lower()
        if text is not None:
            r.src.report(
                node.pos, "bad-value", f"{key} is a day of the week{did_you_mean(text, WEEKDAYS)}"
            )
        return None
    if kind == "roles":
        return _roles(r, node, key)
    if kind.endswith("?") and isinstance(node, PScalar) and node.value is None:
        return None
    if kind == "name?":
        text = r.text(node, key, numbers=False)
        if text is not None and not _NAME.match(text):
            r.src.report(node.pos, "bad-name", f"{text[:64]!r} is not a name")
            return None
        return text
    if kind == "names":
        items = getattr(node, "items", None)
        if not isinstance(items, list | tuple):
            r.src.report(node.pos, "bad-value", f"{key} is a list of names")
            return None
        given = [r.text(item, key, numbers=False) for item in items]
        for item, name in zip(items, given, strict=True):
            if name is not None and not _NAME.match(name):
                r.src.report(item.pos, "bad-name", f"{name[:64]!r} is not a name")
        return tuple(n for n in given if n and _NAME.match(n))
    if kind.endswith("?"):
        if isinstance(node, PScalar) and node.value is None:
            return None
        kind = kind[:-1]
    if kind == "procedures":
        names = [p.value for p in SPECIAL_PROCEDURES]
        return _listed(r, node, key, names, ", ".join(names), "a special procedure")
    if kind == "nodes":
        return _nodes(r, node)
    return r.bounded(node, key, *_BOUNDS[kind])


def _roles(r: Reader, node: PNode, key: str) -> tuple[str, ...] | None:
    names = [role.value for role in StaffRole]
    return _listed(r, node, key, names, "roles: " + ", ".join(names), "a role")


def _listed(
    r: Reader, node: PNode, key: str, names: list[str], listing: str, noun: str
) -> tuple[str, ...] | None:
    """A list of some of ``names``, each other entry reported at its place."""
    items = getattr(node, "items", None)
    if not isinstance(items, list | tuple):
        r.src.report(node.pos, "bad-value", f"{key} is a list of {listing}")
        return None
    found = []
    for item in items:
        text = r.text(item, key, numbers=False)
        if text is not None and text not in names:
            hint = did_you_mean(text, names)
            r.src.report(item.pos, "unknown-value", f"not {noun}: {text[:40]!r}{hint}")
        elif text is not None:
            found.append(text)
    return tuple(found)


def _nodes(r: Reader, node: PNode) -> tuple[CycleNode, ...] | None:
    items = r.sequence(node, "nodes")
    if items is None:
        return None
    typer = Typer(
        Scope(
            {},
            {},
            (),
            (),
            facts=CYCLE_FACTS,
            facts_hint="a cycle node reads the facts of docs/agency.md#the-cycles-weekly-nodes",
        ),
        r.src,
    )
    nodes: list[CycleNode] = []
    seen: set[str] = set()
    for item in items.items:
        entry = r.mapping(item, "a cycle node")
        if entry is None:
            continue
        r.keys(entry, NODE_KEYS, "in a cycle node")
        node_id = r.text(r.need(entry, "id", "a cycle node"), "id")
        if node_id is not None and (not _NAME.match(node_id) or node_id in seen):
            r.src.report(
                entry.key_pos("id"),
                "duplicate-rule-id" if node_id in seen else "bad-name",
                f"node id {node_id[:64]!r} "
                + ("is already used" if node_id in seen else "is not a name"),
            )
            node_id = None
        week = r.bounded(r.need(entry, "week", "a cycle node"), "week", 1, 8)
        when, when_text = _condition(r, typer, entry.get("when"), "when")
        require, require_text = _condition(
            r, typer, r.need(entry, "require", "a cycle node"), "require"
        )
        doc = r.text(entry.get("doc"), "doc") or ""
        if node_id is None or week is None or not isinstance(require, Node) or when is False:
            continue
        seen.add(node_id)
        nodes.append(
            CycleNode(node_id, week, when, require, when_text, require_text, doc, entry.pos.line)
        )
    return tuple(sorted(nodes, key=lambda n: n.week))


def _condition(r: Reader, typer: Typer, node: PNode | None, key: str) -> tuple[Any, str]:
    """A condition of a node: its checked tree (``None`` if absent, ``False`` if refused)."""
    if node is None:
        return None, ""
    if not isinstance(node, PScalar):
        r.src.report(node.pos, "bad-value", f"{key} must be an expression")
        return False, ""
    found = typer.expression(node)
    if found is None:
        return False, ""
    if found.type.kind != "bool":
        r.src.report(
            node.pos, "type-mismatch", f"{key} must be true or false, got {found.type.describe()}"
        )
        return False, ""
    return found, str(node.value)
