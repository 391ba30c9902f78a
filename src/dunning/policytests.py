"""Analyst test files: expected outcomes next to the rules, and which rules no test reaches.

A test file (``lender.tests.yaml`` beside ``lender.yaml``) names cases — inline, as partial
fields over shared defaults, or in a JSON file — and the parts of the decision an analyst
expects. :func:`run_test_files` decides each case, reports every mismatch compiler style at the
test's line, and lists the rules no test reached, like the coverage of Drools test scenarios.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .agencies import load_agencies
from .agency.assign import Need, Needs
from .agency.procedure import Procedure
from .agency.proceduretests import run_procedure_tests, uncovered_obligations
from .cases import parse_case
from .errors import CaseError, ConfigError, Diagnostic, PolicyError, did_you_mean
from .model import Decision
from .placement.placer import PlacementResult, Placer
from .policy import Policy, load_policy
from .portfolio import Portfolio
from .rules.reader import Reader, plain
from .rules.source import PMap, PNode, Pos, PScalar, PSeq, Source, load_yaml

__all__ = [
    "EXPECT_KEYS",
    "PolicyTestFile",
    "PolicyTestResult",
    "run_test_file",
    "run_test_files",
]

TOP_KEYS = ("policy", "params", "agencies", "as_of", "portfolio", "defaults", "tests")
TEST_KEYS = ("name", "case", "case_file", "as_of", "portfolio", "events", "expect")
#: What a test may expect, and where in the decision it is.
EXPECT_KEYS: dict[str, str] = {
    "channel": "action.channel",
    "handled_by": "action.handled_by",
    "recipients": "action.recipients",
    "not_before": "action.not_before",
    "requires_approval": "action.requires_approval",
    "requires_recording": "action.requires_recording",
    "message": "action.message.template",
    "message_text": "action.message.text",
    "agency": "action.agency_id",
    "recall": "recall.reason",
    "commission_rate": "fee_terms.commission_rate",
    "penalty_interest": "fee_terms.penalty_interest",
    "collection_fee": "fee_terms.collection_fee",
    "on_hold": "fee_terms.on_hold",
    "total_due": "fee_terms.total_due",
    "dpd": "dpd",
    "bucket": "bucket",
    "rule": "the rule that decided the channel",
    "rules": "the winning rule of each group: {recall: ID, channel: ID, fees: ID, commission: ID}",
    "guards": "guard records that must be present: [{id: ..., effect: ...}]",
    "error": "the code of the case error expected instead of a decision",
    "placement": "the last placement event of the run (proposed, placed, recalled, closed, "
    "unavailable), or null for none; needs agencies",
    "eligible": "the agencies that could take the case (ids); needs agencies",
    "assignment": "the assignment rule that holds (agency: assignment:), or null for none",
    "team": "the team the assignment rules send the case to, or null for any",
}
#: Expectations read from the case's assignment need, not from the decision.
_ASSIGNMENT_KEYS = ("assignment", "team")
#: How coverage names an assignment rule (its ids may repeat those of the decision groups).
ASSIGNMENT_PREFIX = "assignment/"
#: Expectations only a run with the agencies file can check.
_PLACEMENT_KEYS = ("placement", "eligible")
_MONEY_KEYS = ("commission_rate", "penalty_interest", "collection_fee", "on_hold", "total_due")


@dataclass(frozen=True, slots=True)
class PolicyTestResult:
    """One test's result: passed, or the mismatches."""

    name: str
    file: str
    line: int
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
        return not self.failures


@dataclass
class PolicyTestFile:
    """The results of one test file, the problems of the file itself, and rule coverage."""

    path: Path
    policy: Policy | None = None
    outcomes: list[PolicyTestResult] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)
    complete: bool = False  # every test of the file ran
    procedure: Procedure | None = None  # a procedure test file's (dunning.proceduretests)

    @property
    def failed(self) -> bool:
        """Whether a test failed or the file could not be run."""
        return any(d.severity == "error" for d in self.diagnostics)

    def uncovered(self) -> list[str]:
        """Rule ids that no test reached, in policy order (proved-unreachable ones left out).

        For a procedure test file: the obligations no test expects a finding of.
        """
        if self.procedure is not None:
            return uncovered_obligations(self.procedure, self.reached)
        if self.policy is None:
            return []
        ir = self.policy.ir
        ids = [r.id for rules in ir.groups.values() for r in rules]
        ids += [ASSIGNMENT_PREFIX + r.id for r in ir.agency.assignment]
        return [i for i in ids if i not in self.reached and i not in ir.unreachable]


def run_test_files(paths: Iterable[Path], *, engine: str = "compiled") -> list[PolicyTestFile]:
    """Run every test file; a policy tested by several files gets its coverage from all."""
    results = [run_test_file(path, engine=engine) for path in paths]
    by_policy: dict[str, set[str]] = {}
    for result in results:
        if result.policy is not None:
            by_policy.setdefault(result.policy.digest, set()).update(result.reached)
    for result in results:
        if result.policy is not None:
            result.reached = by_policy[result.policy.digest]
            if result.complete:  # coverage says nothing while tests could not run
                _report_uncovered(result)
        elif result.procedure is not None and result.complete:
            _report_uncovered_obligations(result)
    return results


def run_test_file(path: Path, *, engine: str = "compiled") -> PolicyTestFile:
    """Run the tests of one file (without coverage diagnostics; see :func:`run_test_files`)."""
    result = PolicyTestFile(path)
    try:
        text = path.read_bytes().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        source = Source(str(path), "")
        reason = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 text ({exc.reason})"
        source.report(Pos(1, 1), "unreadable", f"cannot read the test file: {reason}")
        result.diagnostics[:0] = source.diagnostics
        return result
    source = Source(str(path), text)
    root = load_yaml(source)
    top = root if isinstance(root, PMap) else None
    if root is not None and top is None:
        source.report(root.pos, "bad-value", "a test file must be a mapping")
    if top is not None and "procedure" in top.items and "policy" not in top.items:
        run_procedure_tests(top, source, result, confined=_confined, outcome=PolicyTestResult)
    elif top is not None:
        _run(top, source, result, engine)
    result.diagnostics[:0] = source.diagnostics
    return result


def _run(top: PMap, source: Source, result: PolicyTestFile, engine: str) -> None:
    reader = Reader(source)
    reader.keys(top, TOP_KEYS, "in a test file")
    policy_name = reader.text(top.get("policy"), "policy", numbers=False)
    policy_path = _confined(
        reader, result.path, policy_name or _policy_beside(result.path), top.get("policy") or top
    )
    if policy_path is None:
        return
    if policy_path.suffix not in (".yaml", ".yml"):
        message = f"policy {policy_name!r} is not a rule file (*.yaml)"
        source.report(_pos(top.get("policy"), top), "bad-value", message)
        return
    params = reader.plain_mapping(top.get("params"), "params")
    try:
        result.policy = load_policy(policy_path, engine=engine, params=params or None)
    except PolicyError as exc:
        result.diagnostics.extend(_without_text_unless_policy(exc.diagnostics, policy_path))
        source.report(_pos(top.get("policy"), top), "test-failed", "the policy does not load")
        return
    defaults = reader.plain_mapping(top.get("defaults"), "defaults") or {}
    shared = _Shared(
        _moment(reader, top.get("as_of"), result.policy),
        _portfolio(reader, top.get("portfolio")),
        top.get("as_of") is not None,
        top.get("portfolio") is not None,
    )
    if top.get("agencies") is not None:
        shared.placer = _placer(reader, result, top.get("agencies"))  # type: ignore[arg-type]
    tests = top.get("tests")
    if not isinstance(tests, PSeq) or not tests.items:
        source.report(_pos(tests, top), "missing-key", "a test file needs a list of tests")
        return
    ran = 0
    first_line: dict[str, int] = {}  # of each test name
    for index, item in enumerate(tests.items):
        if not isinstance(item, PMap):
            source.report(item.pos, "bad-value", "a test must be a mapping")
            continue
        name_node = item.get("name")
        if isinstance(name_node, PScalar) and isinstance(name_node.value, str):
            if name_node.value in first_line:
                source.report(
                    name_node.pos,
                    "bad-value",
                    f"test name {name_node.value!r} is used twice",
                    hint=f"the first is on line {first_line[name_node.value]}: give each its own",
                )
            first_line.setdefault(name_node.value, name_node.pos.line)
        outcome = _run_test(reader, result, item, index, defaults, shared)
        if outcome is not None:
            ran += 1
            result.outcomes.append(outcome)
            if outcome.failures:
                source.report(
                    item.pos,
                    "test-failed",
                    f"test {outcome.name!r}: " + "; ".join(outcome.failures),
                )
    # What many tests lack because the file lacks it is said once, at the top of the file.
    for what, names in shared.lacking.items():
        shown = ", ".join(repr(n) for n in names[:5]) + (" …" if len(names) > 5 else "")
        source.report(top.pos, "missing-key", f"{what}: {len(names)} test(s) cannot run ({shown})")
    result.complete = ran == len(tests.items)


@dataclass
class _Shared:
    """What a test file gives all its tests, read (and reported) once."""

    as_of: datetime | None
    portfolio: Portfolio | None
    as_of_given: bool
    portfolio_given: bool
    lacking: dict[str, list[str]] = field(default_factory=dict)
    placer: Placer | None = None

    def lack(self, what: str, test: str) -> None:
        self.lacking.setdefault(what, []).append(test)


#: Bytes of a test's case_file read at most (a case is a few kilobytes).
MAX_CASE_FILE = 1 << 20


def _placer(reader: Reader, result: PolicyTestFile, node: PNode) -> Placer | None:
    """The placer of the policy and the agencies file a test file names."""
    name = reader.text(node, "agencies", numbers=False)
    path = None if name is None else _confined(reader, result.path, name, node)
    if path is None or result.policy is None:
        return None
    try:
        return Placer(result.policy, load_agencies(path))
    except PolicyError as exc:
        result.diagnostics.extend(exc.diagnostics)
    except ConfigError as exc:
        reader.src.report(node.pos, "bad-value", str(exc))
    return None


def _confined(reader: Reader, test_file: Path, name: str, node: PNode) -> Path | None:
    """The file ``name`` relative to the test file's folder, if it lies inside that folder.

    A test file may come from anyone (a contributed test in CI): it must not make dunning read,
    and print in its diagnostics, a file elsewhere on the machine (/proc/self/environ).
    """
    folder = test_file.parent.resolve()
    try:
        target = (folder / name).resolve()
        is_file = target.is_file()
    except (OSError, ValueError):  # a name too long, or with a NUL byte
        reader.src.report(node.pos, "bad-value", f"{name[:80]!r} is not a file name")
        return None
    if not target.is_relative_to(folder):
        reader.src.report(
            node.pos,
            "bad-value",
            f"{name!r} is outside the test file's folder",
            hint="a test file names files in its own folder or below it",
        )
        return None
    if not is_file:
        reader.src.report(node.pos, "bad-value", f"no file {name[:80]!r} beside the test file")
        return None
    return test_file.parent / name  # as the user named it, for the paths in messages


def _without_text_unless_policy(diagnostics: Iterable[Diagnostic], path: Path) -> list[Diagnostic]:
    """The diagnostics of a file that failed to load; its lines only if it is a policy file."""
    try:
        head = path.read_bytes()[:MAX_CASE_FILE].decode("utf-8", "replace")
    except OSError:
        head = ""
    if re.search(r"^policy\s*:", head, re.M):
        return list(diagnostics)
    return [dataclasses.replace(d, source_line=None) for d in diagnostics]


def _policy_beside(path: Path) -> str:
    name = path.name
    return name[: -len(".tests.yaml")] + ".yaml" if name.endswith(".tests.yaml") else name


def _run_test(
    reader: Reader,
    result: PolicyTestFile,
    item: PMap,
    index: int,
    defaults: dict[str, Any],
    shared: _Shared,
) -> PolicyTestResult | None:
    policy = result.policy
    assert policy is not None
    reader.keys(item, TEST_KEYS, "in a test")
    name = reader.text(item.get("name"), "name", numbers=False) or f"test {index + 1}"
    expect = item.get("expect")
    if not isinstance(expect, PMap):
        reader.src.report(_pos(expect, item), "missing-key", f"test {name!r} needs an expect")
        return None
    reader.keys(expect, EXPECT_KEYS, f"in the expect of test {name!r}")
    data = _case_data(reader, result.path, item, defaults, name)
    moment = shared.as_of
    if item.get("as_of") is not None:
        moment = _moment(reader, item.get("as_of"), policy)
    elif moment is None and not shared.as_of_given:
        shared.lack("the file gives no as_of and some tests give none", name)
    portfolio = shared.portfolio
    if item.get("portfolio") is not None:
        portfolio = _portfolio(reader, item.get("portfolio"))
        if portfolio is None:
            return None
    elif portfolio is None and policy.portfolio_rules:
        if not shared.portfolio_given:  # (a bad one was reported where it stands)
            rules = ", ".join(policy.portfolio_rules)
            shared.lack(
                f"the policy reads overdue_customers (rules {rules}): give the file or each "
                "test a portfolio: {overdue_customers: N}",
                name,
            )
        return None
    if data is None or moment is None:
        return None
    expected = {k: v for k, (_, v) in expect.items.items() if k in EXPECT_KEYS}
    _check_rule_ids(reader, policy, expect)
    placer = shared.placer
    events = plain(item.get("events")) if item.get("events") is not None else []  # type: ignore[arg-type]
    if placer is None and any(k in expected for k in _PLACEMENT_KEYS):
        reader.src.report(
            _pos(expect, item),
            "missing-key",
            f"test {name!r} expects a placement: the test file needs agencies: FILE",
        )
        return None
    if not isinstance(events, list):
        reader.src.report(_pos(item.get("events"), item), "bad-value", "events must be a list")
        return None
    try:
        placed = None
        if placer is not None and (events or any(k in expected for k in _PLACEMENT_KEYS)):
            placed = placer.explain(data, as_of=moment, events=events, portfolio=portfolio)
        agencies = None if placer is None else placer.agencies
        explanation = policy.explain(data, as_of=moment, portfolio=portfolio, agencies=agencies)
    except ConfigError as error:  # a figure per product that lacks the case's product
        return PolicyTestResult(name, str(result.path), item.pos.line, (str(error),))
    except CaseError as error:
        codes = [p.code for p in error.problems]
        wanted = expected.get("error")
        failures = []
        if wanted is None:
            failures.append(f"the case is invalid: {error.problems[0]}")
        elif _scalar(wanted) not in codes:
            failures.append(f"error: expected {_scalar(wanted)}, got {', '.join(codes)}")
        return PolicyTestResult(name, str(result.path), item.pos.line, tuple(failures))
    result.reached.update(explanation.winners.values())
    need = None
    if policy.ir.agency.assignment:
        need = Needs(policy).of(parse_case(data), moment)
        if need.rule is not None:
            result.reached.add(ASSIGNMENT_PREFIX + need.rule)
    decision = explanation.decision if placed is None else placed.decision
    failures = _compare(decision, explanation.winners, expected, placed, need)
    return PolicyTestResult(name, str(result.path), item.pos.line, tuple(failures))


def _portfolio(reader: Reader, node: PNode | None) -> Portfolio | None:
    """A ``portfolio:`` mapping: ``{overdue_customers: N}`` or a figure per product."""
    if node is None or reader.mapping(node, "portfolio") is None:
        return None
    assert isinstance(node, PMap)
    reader.keys(node, ("overdue_customers",), "in a portfolio")
    figure = plain(node).get("overdue_customers")
    try:
        return Portfolio(figure)
    except ConfigError as error:
        reader.src.report(node.pos, "bad-value", f"portfolio: {error}")
        return None


def _case_data(
    reader: Reader, path: Path, item: PMap, defaults: dict[str, Any], name: str
) -> dict[str, Any] | None:
    case_node, file_node = item.get("case"), item.get("case_file")
    if case_node is not None and file_node is not None:
        reader.src.report(item.pos, "bad-value", f"test {name!r} has both a case and a case_file")
        return None
    if case_node is None and file_node is None:
        if not defaults:
            reader.src.report(item.pos, "missing-key", f"test {name!r} needs a case")
            return None
        return dict(defaults)  # the defaults are the case
    if file_node is not None:
        file_name = reader.text(file_node, "case_file", numbers=False)
        case_path = None if file_name is None else _confined(reader, path, file_name, file_node)
        if case_path is None:
            return None
        try:
            with open(case_path, "rb") as stream:
                loaded = json.loads(stream.read(MAX_CASE_FILE + 1)[:MAX_CASE_FILE])
        except (OSError, ValueError, RecursionError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not one JSON object"
            reader.src.report(file_node.pos, "bad-value", f"cannot read {file_name}: {reason}")
            return None
        if not isinstance(loaded, dict):
            message = f"{file_name} holds a JSON {type(loaded).__name__}, not one case (an object)"
            reader.src.report(file_node.pos, "bad-value", message)
            return None
        return _merge(defaults, loaded)
    given = reader.plain_mapping(case_node, "case")
    if not isinstance(given, dict):
        return None
    return _merge(defaults, given)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` onto ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _moment(reader: Reader, node: PNode | None, policy: Policy) -> datetime | None:
    """An ``as_of``: a datetime with its offset, or a date (its start in the policy's zone)."""
    if node is None:
        return None
    text = reader.text(node, "as_of", numbers=False)
    if text is None:
        return None
    try:
        if len(text.strip()) == 10:
            return policy.moment(date.fromisoformat(text.strip()))
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        reader.src.report(
            node.pos,
            "bad-value",
            "as_of must be a date (2026-11-28) or an ISO datetime with an offset "
            "(2026-11-28T10:00:00+08:00)",
        )
        return None
    return moment


def _check_rule_ids(reader: Reader, policy: Policy, expect: PMap) -> None:
    ids = [r.id for rules in policy.ir.groups.values() for r in rules]
    nodes: list[PNode] = []
    if expect.get("rule") is not None:
        nodes.append(expect.get("rule"))  # type: ignore[arg-type]
    rules = expect.get("rules")
    if isinstance(rules, PMap):
        nodes.extend(value for _, value in rules.items.values())
    for node in nodes:
        value = _scalar(node)
        if isinstance(value, str) and value not in ids:
            reader.src.report(
                node.pos,
                "unknown-value",
                f"policy {policy.name!r} has no rule {value!r}" + did_you_mean(value, ids),
            )


def _compare(
    decision: Decision,
    winners: dict[str, str],
    expected: dict[str, PNode],
    placed: PlacementResult | None = None,
    need: Need | None = None,
) -> list[str]:
    failures = []
    for key, node in expected.items():
        want = plain(node)
        if key in _ASSIGNMENT_KEYS:
            found = None if need is None else (need.rule if key == "assignment" else need.team)
            if found != want:
                failures.append(f"{key}: expected {_show(want)}, got {_show(found)}")
            continue
        if key in _PLACEMENT_KEYS and placed is not None:
            kinds = [e.type.removeprefix("placement.") for e in placed.events]
            seen: Any = (
                (kinds[-1] if kinds else None)
                if key == "placement"
                else [c.agency_id for c in placed.eligibility if c.eligible]
            )
            if seen != want:
                failures.append(f"{key}: expected {_show(want)}, got {_show(seen)}")
            continue
        if key == "error":
            failures.append(f"error: expected {want}, got a decision")
            continue
        if key == "guards":
            failures.extend(_missing_guards(decision, want))
            continue
        if key == "rule":
            got: Any = winners["channel"]
        elif key == "rules":
            got = (
                {group: winners.get(group) for group in want} if isinstance(want, dict) else winners
            )
        else:
            got = decision
            for part in EXPECT_KEYS[key].split("."):
                got = None if got is None else getattr(got, part)
        if key in _MONEY_KEYS and want is not None:
            try:
                want = Decimal(str(want))
            except ArithmeticError:
                failures.append(f"{key}: expected a number, got {want!r} in the test")
                continue
        elif key == "recipients" and isinstance(got, tuple):
            got = list(got)
        elif key == "not_before" and got is not None:
            want = datetime.fromisoformat(str(want)) if want is not None else None
        elif hasattr(got, "value"):
            got = got.value  # enums compare by their text
        if got != want:
            failures.append(f"{key}: expected {_show(want)}, got {_show(got)}")
    if failures and "rule" not in expected:
        failures.append(f"(decided by rule {winners['channel']!r})")
    return failures


def _missing_guards(decision: Decision, wanted: Any) -> list[str]:
    if not isinstance(wanted, list):
        return ["guards: expected a list of {id, effect}"]
    have = [(g.id, g.effect.value) for g in decision.guards]
    missing = []
    for entry in wanted:
        if not isinstance(entry, dict):
            missing.append("guards: each entry must be {id: ..., effect: ...}")
            continue
        found = any(
            entry.get("id") in (None, gid) and entry.get("effect") in (None, effect)
            for gid, effect in have
        )
        if not found:
            missing.append(
                f"guards: expected {entry}, got {[f'{g} {e}' for g, e in have] or 'none'}"
            )
    return missing


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "null" if value is None else str(value)


def _report_uncovered(result: PolicyTestFile) -> None:
    policy = result.policy
    assert policy is not None
    rules: dict[str, Any] = {r.id: r for group in policy.ir.groups.values() for r in group}
    rules |= {ASSIGNMENT_PREFIX + r.id: r for r in policy.ir.agency.assignment}
    missing = result.uncovered()
    if not missing:
        return
    source = Source(policy.ir.files[0], policy.ir.text)
    for rule_id in missing:
        rule = rules[rule_id]
        source.report(
            rule.pos,
            "uncovered-rule",
            f"rule {rule_id!r} is reached by no test in {result.path.name}",
            hint="add a test whose case this rule decides",
            severity="warning",
            rule_id=rule_id,
        )
    result.diagnostics.extend(source.diagnostics)


def _report_uncovered_obligations(result: PolicyTestFile) -> None:
    procedure = result.procedure
    assert procedure is not None
    source = Source(procedure.path or "<procedure>", "")
    for name in result.uncovered():
        source.report(
            Pos(procedure.obligations[name.split(".")[0]].line, 3),
            "uncovered-obligation",
            f"obligation {name!r}: no test in {result.path.name} expects a finding of it",
            hint="add a test whose events break it",
            severity="warning",
        )
    result.diagnostics.extend(source.diagnostics)


def _pos(node: PNode | None, parent: PMap) -> Pos:
    return node.pos if node is not None else parent.pos


def _scalar(node: PNode) -> Any:
    return node.value if isinstance(node, PScalar) else None
