"""Analyst tests of a procedure file: pin the audit's findings for a few events.

A ``*.tests.yaml`` file whose top level names a ``procedure:`` (instead of a ``policy:``) holds
tests of that procedure file: each gives a handful of events (inline, as YAML mappings) and the
findings the audit must make of them — no more, no fewer — matched on the keys the test gives
(``obligation``, ``check``, ``severity``, ``case_id``, ``collector``, and ``message`` as a part
of the message). ``staff:`` (the file's or a test's) gives each person's role, as the collectors
file does, for the ``roles`` obligation. Coverage: an obligation no test expects a finding of is
reported at its line, and so is each check of ``conduct`` and each action of ``roles``
(``conduct.hours``, ``roles.approve_procedures``…) no test expects.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError, PolicyError, did_you_mean
from ..model import StaffRole, check_as_of
from ..rules.reader import Reader, plain
from ..rules.source import PMap, PNode, PScalar, PSeq, Source
from .audit import Finding, audit
from .conduct import CHECKS
from .procedure import Procedure, load_procedure

__all__ = ["TOP_KEYS", "coverage_items", "run_procedure_tests", "uncovered_obligations"]

TOP_KEYS = ("procedure", "as_of", "from", "to", "staff", "tests")
TEST_KEYS = ("name", "as_of", "from", "to", "staff", "events", "expect")
FINDING_KEYS = ("obligation", "check", "severity", "case_id", "collector", "message")


def run_procedure_tests(
    top: PMap,
    source: Source,
    result: Any,
    *,
    confined: Callable[[Reader, Path, str, PNode], Path | None],
    outcome: Callable[..., Any],
) -> None:
    """Run the tests of a procedure test file into ``result`` (outcomes, diagnostics, reach).

    ``result`` is the test file's ``dunning.policytests.PolicyTestFile``; ``confined`` finds a
    file the test file names inside its folder, and ``outcome`` makes a test's result (both
    from ``dunning.policytests``, which runs every kind of test file).
    """
    reader = Reader(source)
    reader.keys(top, TOP_KEYS, "in a procedure test file")
    name = reader.text(top.get("procedure"), "procedure", numbers=False)
    node = top.get("procedure") or top
    path = None if name is None else confined(reader, result.path, name, node)
    if path is None:
        return
    try:
        procedure = load_procedure(path)
    except PolicyError as exc:
        result.diagnostics.extend(exc.diagnostics)
        source.report(node.pos, "test-failed", "the procedure does not load")
        return
    result.procedure = procedure
    tests = top.get("tests")
    if not isinstance(tests, PSeq) or not tests.items:
        where = tests.pos if tests is not None else top.pos
        source.report(where, "missing-key", "a test file needs a list of tests")
        return
    ran = 0
    for index, item in enumerate(tests.items):
        if not isinstance(item, PMap):
            source.report(item.pos, "bad-value", "a test must be a mapping")
            continue
        reader.keys(item, TEST_KEYS, "in a test")
        test_name = reader.text(item.get("name"), "name") or f"test {index + 1}"
        moment = _when(reader, item.get("as_of") or top.get("as_of"), item, datetime)
        start = _when(reader, item.get("from") or top.get("from"), item, date)
        end = _when(reader, item.get("to") or top.get("to"), item, date)
        expected = _expected(reader, item)
        staff = _staff(reader, item.get("staff") or top.get("staff"))
        if moment is None or expected is None or isinstance(staff, bool):
            continue
        events = item.get("events")
        lines = [
            json.dumps(plain(e), ensure_ascii=False, default=str)
            for e in (events.items if isinstance(events, PSeq) else ())
        ]
        found = audit(lines, procedure=procedure, as_of=moment, start=start, end=end, staff=staff)
        failures = [f"event {e.line}: {e.problems[0]}" for e in found.event_errors]
        failures += _compare(expected, found.findings)
        ran += 1
        result.reached.update(
            f"obligation/{f['obligation']}" for f in expected if "obligation" in f
        )
        result.reached.update(
            f"obligation/{f['obligation']}/{f['check']}"
            for f in expected
            if "obligation" in f and "check" in f
        )
        result.outcomes.append(outcome(test_name, str(result.path), item.pos.line, tuple(failures)))
        if failures:
            source.report(item.pos, "test-failed", f"test {test_name!r}: " + "; ".join(failures))
    result.complete = ran == len(tests.items)


def coverage_items(procedure: Procedure) -> list[str]:
    """What coverage counts: each obligation, and each check of one that has several."""
    items = []
    for name, obligation in procedure.obligations.items():
        items.append(name)
        if name == "conduct":
            items += [f"{name}.{check}" for check in CHECKS]
        elif name == "roles":  # each action the file gives to some role
            items += [f"{name}.{action}" for action, roles in obligation.settings.items() if roles]
    return items


def uncovered_obligations(procedure: Procedure, reached: set[str]) -> list[str]:
    """The obligations, and checks (``conduct.hours``), no test of ``procedure`` expects."""
    return [
        item
        for item in coverage_items(procedure)
        if "obligation/" + item.replace(".", "/") not in reached
    ]


def _staff(reader: Reader, node: PNode | None) -> dict[str, str] | bool | None:
    """``staff:``, each person's role (``{S1: supervisor}``); ``False`` when it is refused."""
    if node is None:
        return None
    mapping = reader.mapping(node, "staff")
    if mapping is None:
        return False
    roles = [r.value for r in StaffRole]
    staff: dict[str, str] = {}
    for who, (_, value) in mapping.items.items():
        role = reader.text(value, f"the role of {who}", numbers=False)
        if role not in roles:
            hint = did_you_mean(str(role), roles) if role else ""
            reader.src.report(value.pos, "unknown-value", f"not a role: {str(role)[:40]!r}{hint}")
            return False
        staff[str(who)] = role
    return staff


def _when(reader: Reader, node: PNode | None, parent: PMap, kind: type) -> Any:
    if node is None:
        if kind is datetime:
            reader.src.report(parent.pos, "missing-key", "a test needs as_of (or the file's)")
        return None
    value = node.value if isinstance(node, PScalar) else None
    try:
        if kind is datetime:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            if moment.tzinfo is None:
                raise ValueError
            check_as_of(moment)
            return moment
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
        check_as_of(day)
        return day
    except ValueError:
        what = "an ISO datetime with its offset" if kind is datetime else "a date YYYY-MM-DD"
        reader.src.report(node.pos, "bad-value", f"must be {what}")
        return None
    except ConfigError as exc:
        reader.src.report(node.pos, "bad-value", str(exc))
        return None


def _expected(reader: Reader, item: PMap) -> list[dict[str, Any]] | None:
    expect = reader.mapping(reader.need(item, "expect", "a test"), "expect")
    if expect is None:
        return None
    reader.keys(expect, ("findings",), "in expect")
    listed = expect.get("findings")
    if not isinstance(listed, PSeq):
        reader.src.report(expect.pos, "missing-key", "expect gives findings: a list (or [])")
        return None
    found = []
    for entry in listed.items:
        mapping = reader.mapping(entry, "a finding")
        if mapping is None:
            return None
        reader.keys(mapping, FINDING_KEYS, "in a finding")
        found.append({k: str(v) for k, v in plain(mapping).items() if k in FINDING_KEYS})
    return found


def _compare(expected: list[dict[str, str]], found: list[Finding]) -> list[str]:
    left = list(found)
    failures = []
    for want in expected:
        match = next((f for f in left if _matches(want, f)), None)
        if match is None:
            failures.append(f"no finding {_show(want)}")
        else:
            left.remove(match)
    failures += [f"unexpected finding: {f.obligation} {f.case_id or ''}: {f.message}" for f in left]
    return failures


def _matches(want: dict[str, str], finding: Finding) -> bool:
    for key, value in want.items():
        if key == "message":
            if value not in finding.message:
                return False
        elif str(getattr(finding, key)) != value:
            return False
    return True


def _show(want: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in want.items()) + "}"
