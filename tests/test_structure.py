"""The shape of the library: its public names, its module graph, the checked IR and its nodes."""

from __future__ import annotations

import ast
import dataclasses
import functools
import sys
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import dunning
from conftest import case_dict
from dunning import BUILTIN_PROFILES, ConfigError, GuardProfile, Policy, Portfolio, load_policy
from dunning.rules.expr import parse
from dunning.rules.nodes import (
    Binary,
    Name,
    Node,
    NodeTransformer,
    NodeVisitor,
    Ty,
    iter_children,
    walk,
)
from policy_helpers import CHANNEL, diagnostics, load, policy_text, write

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "dunning"
LENDER = ROOT / "rules" / "lender.yaml"


def test_the_public_names_are_pinned() -> None:
    # Adding or removing a public name is a decision: change this list with the CHANGELOG.
    assert sorted(dunning.__all__) == sorted(
        [
            "ClaimLine",
            "CostReport",
            "DebtorContacts",
            "Event",
            "CardAccount",
            "AssignmentRun",
            "HandoverFailed",
            "HandoverRun",
            "assign",
            "handover",
            "export_bundle",
            "import_bundle",
            "verify_bundle",
            "Collectors",
            "load_collectors",
            "loads_collectors",
            "Collector",
            "CollectorStatus",
            "StaffRole",
            "Audit",
            "Finding",
            "audit",
            "Figures",
            "Performance",
            "PerformanceRow",
            "performance",
            "Procedure",
            "load_procedure",
            "loads_procedure",
            "event_json_schema",
            "IntakeFailed",
            "IntakeResult",
            "intake",
            "LedgerLine",
            "Reconciliation",
            "Settlement",
            "Statement",
            "cost_report",
            "read_claim",
            "read_claim_table",
            "read_ledger",
            "read_ledger_table",
            "reconcile",
            "settle",
            "BUILTIN_PROFILES",
            "DEFAULT_BANDS",
            "FACTS",
            "Action",
            "Agency",
            "ArgumentError",
            "Assessment",
            "Assessor",
            "Band",
            "BucketBands",
            "Case",
            "CaseError",
            "Channel",
            "Collateral",
            "CollateralKind",
            "CommissionBand",
            "ConfigError",
            "ContactAttempt",
            "ContactChannel",
            "ContactPurpose",
            "ContactResult",
            "Decision",
            "DelinquencySnapshot",
            "Diagnostic",
            "DunningError",
            "Explanation",
            "FeeTerms",
            "GuardEffect",
            "GuardProfile",
            "GuardRecord",
            "HandledBy",
            "Installment",
            "Loan",
            "Message",
            "Money",
            "OverdueInstallment",
            "OverdueReason",
            "Party",
            "Payment",
            "Placement",
            "Policy",
            "PolicyError",
            "PolicyRef",
            "Portfolio",
            "Problem",
            "Product",
            "PromiseToPay",
            "Repayment",
            "RepaymentAttitude",
            "Role",
            "RuleEngineError",
            "RuleTrace",
            "Verdict",
            "__version__",
            "assess",
            "load_policy",
            "loads_policy",
            "parse_case",
            "read_cases",
            "round_money",
            "schedule_of",
            "Agencies",
            "load_agencies",
            "loads_agencies",
            "PlacementEvent",
            "PlacementPayload",
            "PlacementState",
            "parse_event",
            "read_events",
            "AgencyStatus",
            "Recall",
            "Eligibility",
            "PlacementResult",
            "PlacementRun",
            "PlacementStream",
            "Placer",
        ]
    )
    for name in dunning.__all__:
        assert hasattr(dunning, name), name
    assert not hasattr(dunning, "Outcome")  # the word means what a rule decides, nothing else


# -- the module graph -----------------------------------------------------------------------------


@functools.cache
def _imports() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports (anywhere in it)."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if parts[-1] == "__init__" else module.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                if base.startswith("dunning"):
                    # `from pkg import module` imports the module; other names come from pkg.
                    found.update({base, *(f"{base}.{a.name}" for a in node.names)})
                    if all(_is_module(f"{base}.{a.name}") for a in node.names):
                        found.discard(base)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("dunning"))
        graph[module] = found
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def _is_module(name: str) -> bool:
    path = SRC.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_the_module_graph_has_no_cycle() -> None:
    graph = _imports()
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                raise AssertionError(" -> ".join([*path[path.index(dep) :], dep]))
            if dep not in state:
                visit(dep, [*path, dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize(
    "user",
    [
        "dunning.engines",
        "dunning.engines.compiled",
        "dunning.engines.rete",
        "dunning.engines.interpret",
        "dunning.guards",
        "dunning.policytests",
        "dunning.policy",
        "dunning.testing.strategies",
        "dunning.testing.solver",
        "dunning.testing.invariants",
        "dunning.testing._policies",
        "dunning.testing.guard_oracle",
    ],
)
def test_later_stages_depend_on_the_ir_not_on_how_it_is_made(user: str) -> None:
    graph = _imports()
    assert not graph[user] & {"dunning.rules.checker", "dunning.rules.schema"}, graph[user]
    if user.startswith("dunning.engines"):
        reached, todo = set(), [user]
        while todo:
            for dep in graph[todo.pop()] - reached:
                reached.add(dep)
                todo.append(dep)
        front_end = {
            "dunning.rules.checker",
            "dunning.rules.schema",
            "dunning.rules.typecheck",
            "dunning.rules.guard_config",
            "dunning.rules.frontend",
            "dunning.rules.expr",
        }
        assert not reached & front_end, reached & front_end


@functools.cache
def _runtime_graph() -> dict[str, set[str]]:
    """:func:`_imports` without the imports made for type checking only."""
    graph: dict[str, set[str]] = {}
    for module, tree in _trees().items():
        package = module if _is_package(module) else module.rpartition(".")[0]
        typing_only = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only or not isinstance(node, ast.ImportFrom):
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if _is_module(full) else base)
        graph[module] = {d for d in found if d.startswith("dunning") and d != module}
    return graph


def _reach(graph: dict[str, set[str]], module: str) -> set[str]:
    reached, todo = set(), [module]
    while todo:
        for dep in graph.get(todo.pop(), set()) - reached:
            reached.add(dep)
            todo.append(dep)
    return reached


WINGS = ("dunning.placement", "dunning.settlement", "dunning.agency", "dunning.reports")
#: The modules above the wings, which may use them: the command line, the text tables, the
#: test runner of every kind of file, Spark, and the test tools with their plugins.
ABOVE = (
    "dunning.cli",
    "dunning.summary",
    "dunning.policytests",
    "dunning.spark",
    "dunning.testing",
    "dunning._hypothesis_hook",
    "dunning._pytest_plugin",
)


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_walls_of_the_house() -> None:
    # docs/contributing.md draws these walls; a change to them is a design decision.
    graph = _runtime_graph()
    breaches = []
    for module, deps in sorted(graph.items()):
        if _in(module, ABOVE) or module == "dunning.__main__":
            continue
        for dep in sorted(deps):
            if _in(dep, ABOVE):
                breaches.append(f"{module} uses {dep}, which stands above it")
            if _in(dep, WINGS) and not _in(module, WINGS):
                breaches.append(f"the decision core's {module} uses the wing {dep}")
    # The wings' own order: settlement reads the placement history, the agency's performance
    # reads the bank's payments as a ledger, and the money and agency wings write their CSV
    # through the reports' safe cells (a leaf: no cycle); nothing else crosses between wings.
    allowed = {
        ("dunning.settlement", "dunning.placement"),
        ("dunning.agency", "dunning.settlement"),
        ("dunning.settlement", "dunning.reports"),
        ("dunning.agency", "dunning.reports"),
    }
    for module, deps in graph.items():
        wing = next((w for w in WINGS if _in(module, (w,))), None)
        for dep in deps:
            other = next((w for w in WINGS if _in(dep, (w,))), None)
            if wing and other and other != wing and (wing, other) not in allowed:
                breaches.append(f"the wing {module} uses the wing {dep}")
    # The reports are a leaf: documents of figures, rendered; they know no domain type.
    for module, deps in graph.items():
        if _in(module, ("dunning.reports",)):
            outside = {d for d in deps if not _in(d, ("dunning.reports",))} - {"dunning._version"}
            breaches.extend(f"the report module {module} uses {d}" for d in sorted(outside))
    # Settlement reads a policy's terms: never its engines, guards or decisions.
    compiled = ("dunning.engines", "dunning.guards", "dunning.decide", "dunning.policy")
    for module in graph:
        if _in(module, ("dunning.settlement",)):
            reached = {d for d in _reach(graph, module) if _in(d, compiled)}
            breaches.extend(f"{module} reaches {d}" for d in sorted(reached))
    assert not breaches, "\n".join(breaches)


def test_the_rooms_have_no_cycle_either() -> None:
    # A sub-package is one room: rules/ using facts, which used portfolio, which used
    # rules.nodes, made a circle of rooms without a circle of files.
    def room(module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2])

    rooms: dict[str, set[str]] = {}
    for module, deps in _runtime_graph().items():
        rooms.setdefault(room(module), set()).update(
            room(d) for d in deps if room(d) != room(module)
        )
    for start in rooms:
        assert start not in _reach(rooms, start), f"{start} reaches itself through other rooms"


def test_dunning_settle_loads_no_engine_and_no_guard() -> None:
    code = (
        "import sys; from dunning.cli import main; "
        "main(['settle', '--policy', 'rules/lender.yaml', '--agencies', 'rules/agencies.yaml', "
        "'--events', 'examples/settlement/events.jsonl', '--format', 'json', "
        "'examples/settlement/ledger.jsonl']); "
        "print(sorted(m for m in sys.modules if m.startswith('dunning')), file=sys.stderr)"
    )
    import subprocess

    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = run.stderr.strip().splitlines()[-1]
    assert "dunning.settlement.statements" in loaded
    for heavy in ("dunning.engines", "dunning.guards", "dunning.policy'", "dunning.decide"):
        assert heavy not in loaded, heavy


@functools.cache
def _trees() -> dict[str, ast.Module]:
    """Every module of the package, parsed."""
    trees = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        trees[module] = ast.parse(path.read_text(encoding="utf-8"))
    return trees


def _defined(tree: ast.Module) -> set[str]:
    """The names a module defines: functions, classes, variables, attributes, arguments."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _is_package(name: str) -> bool:
    return (SRC.parent.joinpath(*name.split(".")) / "__init__.py").exists()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_uses_another_modules_private_name() -> None:
    # What two modules share is a named internal API (docs/contributing.md); a private module
    # of a package (engines._runtime) may be imported by its siblings.
    trees = _trees()
    defined = {module: _defined(tree) for module, tree in trees.items()}
    private_elsewhere = {
        name: {m for m, names in defined.items() if name in names}
        for name in {n for names in defined.values() for n in names if _private(n)}
    }
    found = []
    for module, tree in trees.items():
        package = module if _is_package(module) else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").startswith("dunning")
            ):
                for alias in node.names:
                    own = node.module is None and _is_module(f"{package}.{alias.name}")
                    if _private(alias.name) and not own:
                        found.append(f"{module}:{node.lineno}: imports {alias.name}")
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                owners = private_elsewhere.get(node.attr, set())
                if node.attr not in defined[module] and owners:
                    found.append(f"{module}:{node.lineno}: uses {node.attr} of {sorted(owners)}")
    assert not found, "\n".join(found)


def test_the_formatter_has_the_last_word() -> None:
    # pyproject.toml configures ruff format once; no line argues with it.
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("src", "tests", "examples", "benchmarks", "tools")
        for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "# fmt: " + "skip" in line or "# fmt: " + "off" in line
    ]
    assert not found, found


def test_import_dunning_loads_no_wing_and_old_paths_still_import() -> None:
    code = (
        "import sys, warnings; import dunning; "
        "print(sorted(m for m in sys.modules if m.startswith('dunning'))); "
        "warnings.simplefilter('error'); "
        "exec('try:\\n from dunning.ledger import read_ledger\\nexcept DeprecationWarning as e:"
        "\\n print(e)'); "
        "warnings.simplefilter('ignore'); from dunning.ledger import read_ledger; "
        "import dunning.settlement.ledger as new; print(read_ledger is new.read_ledger)"
    )
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == str(["dunning", "dunning._lazy", "dunning._moved", "dunning._version"])
    assert out[1] == "dunning.ledger moved to dunning.settlement.ledger; import it from there"
    assert out[2] == "True"
    # The public functions named like the modules that moved are the functions.
    assert callable(dunning.intake) and callable(dunning.audit) and callable(dunning.reconcile)


# -- checked nodes --------------------------------------------------------------------------------


def test_every_checked_node_carries_its_type() -> None:
    policy = load_policy(LENDER)
    for rule in policy.ir.rules():
        trees = [rule.when] if rule.when is not None else []
        if isinstance(rule.outcome, Mapping):
            trees += list(rule.outcome.values())
        for tree in trees:
            for node in walk(tree):
                assert isinstance(node.ty, Ty), (rule.id, node)


@pytest.mark.parametrize(
    ("condition", "nullable_part", "nullable"),
    [
        ("dpd + 1 > 3", "dpd + 1", False),
        ("days_since_last_contact + 1 > 3", "days_since_last_contact + 1", True),
        ("total_due / principal > 1", "total_due / principal", True),  # principal may be 0
        ("total_due / 2 > 1", "total_due / 2", False),
        ("min(dpd, days_since_last_contact) > 1", "min(dpd, days_since_last_contact)", True),
        ("-placement_rate < 0", "-placement_rate", True),
    ],
)
def test_the_checker_proves_which_values_may_be_missing(
    tmp_path: Path, condition: str, nullable_part: str, nullable: bool
) -> None:
    channel = CHANNEL.replace("when: dpd == 0", f"when: '{condition}'")
    rule = load(tmp_path, policy_text(channel=channel)).ir.groups["channel"][0]
    assert rule.when is not None
    (part,) = [n for n in walk(rule.when) if condition[n.at : n.end] == nullable_part]
    assert part.nullable is nullable
    assert rule.when.nullable is False  # a comparison with a missing value is false, not missing


def test_every_function_of_the_language_has_its_meaning_in_every_engine() -> None:
    from dunning.engines import compiled, interpret, rete
    from dunning.rules.expr import FUNCTIONS

    assert set(FUNCTIONS) == set(compiled.FUNCTIONS) == set(interpret.FUNCTIONS) == set(rete.SPLITS)


def test_a_tree_from_the_parser_is_not_checked() -> None:
    node = parse("dpd + 1")
    assert node.ty is None
    with pytest.raises(AssertionError, match="never checked"):
        _ = node.nullable


def test_a_visitor_without_a_method_for_a_node_says_which() -> None:
    class Counter(NodeVisitor[int]):
        def visit_Name(self, node: Name) -> int:
            return 1

    assert Counter().visit(parse("dpd")) == 1
    with pytest.raises(NotImplementedError, match="Counter cannot visit Binary"):
        Counter().visit(parse("dpd + 1"))


def test_a_transformer_rebuilds_only_what_changes() -> None:
    class Rename(NodeTransformer):
        def visit_Name(self, node: Name) -> Node:
            return dataclasses.replace(node, name=node.name.upper())

    tree = parse("min(dpd, 3) + calls_7d * 2")
    renamed = Rename().visit(tree)
    assert isinstance(renamed, Binary) and renamed.end == tree.end
    assert [n.name for n in walk(renamed) if isinstance(n, Name)] == ["DPD", "CALLS_7D"]
    assert [type(n).__name__ for n in iter_children(renamed)] == ["Call", "Binary"]
    literal = parse("3")
    assert Rename().visit(literal) is literal


# -- the IR is a read-only view -------------------------------------------------------------------


def test_the_ir_of_a_policy_cannot_be_changed() -> None:
    policy = load_policy(LENDER)
    ir = policy.ir
    with pytest.raises(dataclasses.FrozenInstanceError):
        ir.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ir.groups["channel"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        ir.params["large_amount"] = Decimal(1)  # type: ignore[index]
    assert policy.params == dict(ir.params)
    # Every group in decision order: the recall rules of placed cases first.
    assert [r.id for r in ir.rules()][:2] == ["recall-secured-loan", "recall-cured"]
    assert [r.id for r in ir.groups["channel"]][:2] == ["not-overdue", "secured-legal-preservation"]
    assert policy.text == ir.text == LENDER.read_text(encoding="utf-8")


def test_trace_says_for_a_fact_view_what_explain_says_for_a_case(lender: Policy) -> None:
    case = case_dict(
        delinquency={"dpd": 40, "overdue_principal": "100.00", "overdue_interest": "0"}
    )
    explanation = lender.explain(case, as_of=date(2026, 11, 28), portfolio=Portfolio(0))
    traces = lender.trace(explanation.facts)
    # Recall rules are for placed cases: the explanation of an unplaced one leaves them out.
    assert list(traces) == ["recall", "channel", "fees", "commission"]
    assert {g: t for g, t in traces.items() if g != "recall"} == explanation.groups
    first = next(t for t in traces["channel"] if t.matched)
    assert first.rule.id == lender.evaluate(explanation.facts).channel.id == "field-visit-m2-m3"
    failed = {t.rule.id: t.failed for t in traces["channel"]}
    assert failed["not-overdue"] == "dpd == 0"


@pytest.fixture(scope="module")
def lender() -> Policy:
    return load_policy(LENDER)


# -- guard profiles: a jurisdiction is a value a host passes in -----------------------------------


HONG_KONG = GuardProfile(
    "hk",
    {"contact_window": {"start": time(9), "end": time(21)}, "rolling_calls": {"max_calls": 5}},
    extends="cn",
    sources="the host's counsel",
)


def test_a_host_profile_is_used_by_name(tmp_path: Path) -> None:
    text = policy_text() + "  profile: hk\n"
    policy = load(tmp_path, text, profiles=[HONG_KONG])
    guards = policy.ir.guards
    assert guards.profile == "hk"
    assert guards.contact_window is not None
    assert (guards.contact_window.start, guards.contact_window.end) == (time(9), time(21))
    assert guards.rolling_calls is not None and guards.rolling_calls.max_calls == 5
    assert guards.rolling_calls.days == 7  # the setting's default
    assert guards.outsourcing_notice is not None  # as in cn, which it extends
    found = diagnostics(tmp_path, text)  # not given: unknown, with the known ones listed
    assert [d.code for d in found] == ["unknown-value"]
    assert found[0].hint == "profiles: cn, us"


def test_profiles_are_checked_when_made() -> None:
    with pytest.raises(ConfigError) as info:
        GuardProfile(
            "Bad Name",
            {
                "contact_windw": {},
                "connected_calls": {"per_day": 0, "per_week": 3},
                "charges_cap": {"rate": 0.24},
            },
            extends="mars",
        )
    message = str(info.value)
    for words in (
        "name 'Bad Name'",
        "extends 'mars' is not a built-in profile",
        "unknown guard 'contact_windw' (did you mean 'contact_window'?)",
        "per_day must be at least 1",
        "unknown setting 'per_week' of guard 'connected_calls'",
        "not a float",
    ):
        assert words in message


def test_a_profile_cannot_take_a_built_in_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'cn' is already defined"):
        load_policy(write(tmp_path, policy_text()), profiles=[GuardProfile("cn", {})])
    with pytest.raises(ConfigError, match="GuardProfile objects"):
        load_policy(write(tmp_path, policy_text()), profiles=[{"name": "x"}])  # type: ignore[list-item]


def test_the_built_in_profiles_cannot_be_edited() -> None:
    with pytest.raises(TypeError):
        BUILTIN_PROFILES["uk"] = HONG_KONG  # type: ignore[index]
    with pytest.raises(TypeError):
        BUILTIN_PROFILES["cn"].guards["rolling_calls"] = {}  # type: ignore[index]
    assert sorted(BUILTIN_PROFILES) == ["cn", "us"]


# -- a host's own test modules --------------------------------------------------------------------


def test_a_hosts_test_module_collects_none_of_dunnings_classes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_host="""
from dunning import *
from dunning.policytests import *
from dunning.testing import *


def test_mine():
    pass
"""
    )
    result = pytester.runpytest(
        "-W", "error::pytest.PytestCollectionWarning", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)


# -- a loaded policy travels by pickle (worker processes, Spark, Dask, Ray) -----------------------

NEEDS_RETE = pytest.mark.skipif(
    sys.version_info >= (3, 13), reason="durable-rules does not import on CPython 3.13+"
)


@pytest.mark.parametrize("engine", ["compiled", pytest.param("rete", marks=NEEDS_RETE)])
def test_a_policy_pickles_with_its_digest_and_decides_alike(engine: str) -> None:
    import pickle

    from dunning.policy import _UNPICKLED

    policy = load_policy(LENDER, engine=engine, params={"penalty_multiplier": "1.4"})
    _UNPICKLED.clear()
    again = pickle.loads(pickle.dumps(policy))
    assert (again.digest, again.engine, again.params) == (policy.digest, engine, policy.params)
    assert again is not policy and again.params["penalty_multiplier"] == Decimal("1.4")
    # The receiving process compiles a policy once: a second pickle of it is the same object.
    assert pickle.loads(pickle.dumps(policy)) is again
    case = (ROOT / "examples" / "case.json").read_text(encoding="utf-8")
    moment = datetime(2026, 11, 28, 10, tzinfo=timezone(timedelta(hours=8)))
    assert again.decide(case, as_of=moment, portfolio=Portfolio(200)) == policy.decide(
        case, as_of=moment, portfolio=Portfolio(200)
    )


def test_a_policy_with_a_host_profile_pickles(tmp_path: Path) -> None:
    import pickle

    policy = load(tmp_path, policy_text() + "  profile: hk\n", profiles=[HONG_KONG])
    again = pickle.loads(pickle.dumps(policy))
    assert again.digest == policy.digest and again.ir.guards.profile == "hk"


def test_a_pickled_policy_that_loads_otherwise_is_refused(tmp_path: Path) -> None:
    import pickle

    from dunning.policy import _UNPICKLED

    policy = load(tmp_path, policy_text())
    _UNPICKLED.clear()
    data = pickle.dumps(policy).replace(policy.digest.encode(), b"sha256:" + b"0" * 64)
    with pytest.raises(ConfigError, match="loads with digest"):
        pickle.loads(data)
    version = dunning.__version__.encode()
    other = pickle.dumps(policy).replace(version, b"9" * len(version))  # the same length
    with pytest.raises(ConfigError, match="install the same version on the driver and the workers"):
        pickle.loads(other)
