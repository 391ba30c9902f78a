"""dunning on Spark, for real, in local[2]: the command line's decisions, one row per input row,
whatever the partitions (docs/cluster.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import SLOW
from dunning import CaseError, Portfolio, load_policy

ROOT = Path(__file__).resolve().parent.parent
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"
LENDER = ROOT / "rules" / "lender.yaml"
AS_OF = datetime.fromisoformat("2026-11-28T10:00:00+08:00")

if shutil.which("java") is None:  # pragma: no cover - the machine has Java 17
    pytest.skip("Spark's local mode needs a Java runtime on the PATH", allow_module_level=True)
pyspark = pytest.importorskip("pyspark", reason="pyspark comes with the dev extra")
# One worker runs every Spark test: a JVM per xdist worker would cost more than it saves.
pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="session")  # one JVM for the worker's run: its start is the dear part
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    # Spark's Python workers must run this interpreter (with dunning): docs/cluster.md.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dunning-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def lines_with_bad_ones() -> list[str]:
    """The example portfolio (with its uncovered products) plus a broken line and a bad case."""
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()
    return [*lines, "{not json", json.dumps({"case_id": "X-1", "loan": {"product": "lease"}})]


def frame(spark: Any, lines: list[str]) -> Any:
    return spark.createDataFrame(list(enumerate(lines)), "k long, case string")


def cli(path: Path, *args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dunning",
            "decide",
            "--policy",
            str(LENDER),
            "--as-of",
            AS_OF.isoformat(),
            "--format",
            "jsonl",
            *args,
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def same_as_cli(rows: list[Any], expected: list[dict[str, Any]]) -> None:
    """Row k of Spark's result says what line k+1 of the command line's output says."""
    assert len(rows) == len(expected)
    for row, line in zip(sorted(rows, key=lambda r: r.k), expected, strict=True):
        if "error" in line and "errors" in line:
            assert row.status in ("rejected", "skipped") and row.decision is None
            record = json.loads(row.error)
            assert record["errors"] == line["errors"] and record["case_id"] == line["case_id"]
            assert (row.status == "skipped") == (line["error"]["code"] == "product_not_covered")
        else:
            assert row.status == "decided" and json.loads(row.decision) == line
            assert (row.case_id, row.dpd, row.bucket) == (
                line["case_id"],
                line["dpd"],
                line["bucket"],
            )
            assert row.channel == line["action"]["channel"]
            assert str(row.total_due.normalize()) == str(
                __import__("decimal").Decimal(line["fee_terms"]["total_due"]).normalize()
            )


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    lines = lines_with_bad_ones()
    path = tmp_path_factory.mktemp("spark") / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines, path


def test_decisions_are_the_command_lines_without_a_figure(spark: Any, example: Any) -> None:
    from dunning.spark import decide

    lines, path = example
    rows = decide(frame(spark, lines), load_policy(LENDER), AS_OF, key="k").collect()
    same_as_cli(rows, cli(path))
    statuses = {r.status for r in rows}
    assert statuses == {"decided", "rejected", "skipped"}
    assert sum(r.status == "rejected" for r in rows) == 2  # the broken line and the bad case


def test_decisions_are_the_libraries_with_a_given_figure(spark: Any, example: Any) -> None:
    from dunning.spark import decide

    lines, _ = example
    policy = load_policy(LENDER)
    rows = decide(frame(spark, lines), LENDER, AS_OF, key="k", portfolio=40).collect()
    # In-process (the command line is decide_many's, tests/test_cli.py): the same lines.
    expected = [
        json.loads(r.model_dump_json()) if not isinstance(r, CaseError) else r.to_dict()
        for r in policy.decide_many(lines, as_of=AS_OF, portfolio=Portfolio(40))
    ]
    same_as_cli(rows, expected)


def test_the_figure_is_the_whole_books_whatever_the_partitions(spark: Any) -> None:
    from dunning.spark import overdue_customers

    policy = load_policy(LENDER)
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()
    whole = len(policy.overdue_borrowers(lines, as_of=AS_OF))
    df = frame(spark, lines)
    parts = (1, 50) if SLOW else (1, 9)
    assert {overdue_customers(df.repartition(n), policy, AS_OF) for n in parts} == {whole}


def test_the_figure_per_product_is_the_libraries(spark: Any) -> None:
    from dunning.spark import overdue_customers

    policy = load_policy(LENDER)
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()
    found = policy.overdue_borrowers_by_product(lines, as_of=AS_OF)
    expected = {product: len(found.get(product, ())) for product in policy.ir.products}
    assert len(expected) >= 2 and min(expected.values()) > 0
    df = frame(spark, lines)
    for parts in (1, 7):
        counted = overdue_customers(df.repartition(parts), policy, AS_OF, by_product=True)
        assert counted == expected
    # Per product, the figures decide as decide_many does with them.
    from dunning.spark import decide

    some = lines[:300]
    rows = decide(frame(spark, some), policy, AS_OF, key="k", portfolio=expected).collect()
    same_as_cli(
        rows,
        [
            json.loads(r.model_dump_json()) if not isinstance(r, CaseError) else r.to_dict()
            for r in policy.decide_many(some, as_of=AS_OF, portfolio=Portfolio(expected))
        ],
    )


def test_results_do_not_depend_on_partitioning(spark: Any) -> None:
    from dunning.spark import decide

    df = frame(spark, lines_with_bad_ones())
    policy = load_policy(LENDER)
    # The figure given: its own invariance is the test above.
    # Fifty partitions in the slow profile: a partition's start costs ~0.1 s on local[2].
    results = [
        sorted(decide(df.repartition(n), policy, AS_OF, key="k", portfolio=500).collect())
        for n in ((1, 3, 50) if SLOW else (1, 7))
    ]
    assert all(r == results[0] for r in results)
    assert len(results[0]) == len(lines_with_bad_ones())


def test_struct_columns_in_the_case_contracts_shape_decide_alike(spark: Any) -> None:
    from pyspark.sql import functions as F

    from dunning.spark import decide

    text = frame(spark, PORTFOLIO.read_text(encoding="utf-8").splitlines()[:300])
    schema = spark.read.json(str(PORTFOLIO)).schema
    structs = text.select("k", F.from_json("case", schema).alias("case"))
    policy = load_policy(LENDER)
    by_text = decide(text, policy, AS_OF, key="k", portfolio=Portfolio(100)).collect()
    by_struct = decide(structs, policy, AS_OF, key="k", portfolio=Portfolio(100)).collect()
    assert sorted(by_text) == sorted(by_struct)


def test_a_generated_file_of_thousands_of_cases_decides_as_the_command_line(
    spark: Any, tmp_path: Path
) -> None:
    # 10,000 cases in the slow profile; 2,000 in `make test`, which must end within 5 minutes
    # (six partitions of either hold every product, bucket and broken line the generator makes).
    from dunning.spark import decide

    path = tmp_path / "cases.jsonl"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "generate_portfolio.py"),
            "--out",
            str(path),
            "--cases",
            "10000" if SLOW else "2000",
            "--seed",
            "19",
        ],
        check=True,
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = decide(frame(spark, lines).repartition(6), LENDER, AS_OF, key="k").collect()
    same_as_cli(rows, cli(path))


def test_assessments_and_a_null_case(spark: Any) -> None:
    from dunning.spark import assess

    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:50]
    df = spark.createDataFrame([*enumerate(lines), (99, None)], "k long, case string")
    policy = load_policy(LENDER)
    rows = {r.k: r for r in assess(df, policy, AS_OF, key="k").collect()}
    assert len(rows) == 51 and rows[99].status == "rejected"
    assert json.loads(rows[99].error)["error"]["code"] == "missing"
    first = rows[0]
    expected = policy.assess(lines[0], AS_OF)
    assert (first.status, first.case_id, first.dpd, first.bucket) == (
        "assessed",
        expected.case_id,
        expected.dpd,
        expected.bucket,
    )
    assert first.total_due == expected.total_due


def test_wrong_inputs_are_refused_on_the_driver(spark: Any) -> None:
    from dunning import ConfigError
    from dunning.spark import decide

    df = frame(spark, ["{}"])
    with pytest.raises(ConfigError, match="no column 'cases'"):
        decide(df, LENDER, AS_OF, column="cases")
    with pytest.raises(ConfigError, match="must hold case JSON text or a struct"):
        decide(df, LENDER, AS_OF, column="k")


def test_workers_whose_python_lacks_dunning_are_one_clear_error(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PYSPARK_PYTHON unset (the commonest mistake) gave a worker traceback per task. Here the
    # workers run this Python without its site-packages: Spark's own zips still let them start.
    from dunning import ConfigError
    from dunning.spark import assess, decide

    bare = tmp_path / "python-without-dunning"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n', encoding="utf-8")
    bare.chmod(0o700)
    context = spark.sparkContext
    monkeypatch.setattr(context, "pythonExec", str(bare))  # what PYSPARK_PYTHON sets
    df = frame(spark, PORTFOLIO.read_text(encoding="utf-8").splitlines()[:4])
    for run in (decide, assess):
        with pytest.raises(ConfigError) as refused:
            run(df, LENDER, AS_OF)
        message = str(refused.value)
        assert "cannot import dunning (ModuleNotFoundError: No module named 'dunning')" in message
        assert f"started as {bare}" in message and "set PYSPARK_PYTHON" in message
    monkeypatch.setattr(sys, "argv", ["spark_decide.py", *example_args(tmp_path)])
    with pytest.raises(SystemExit, match=r"^spark_decide: Spark's Python workers run .* cannot"):
        _example().main()  # before its own Python job (zipWithIndex) fails once per task
    monkeypatch.undo()  # the right Python again: the failure was not kept
    assert [row.status for row in decide(df, LENDER, AS_OF).collect()].count("decided") >= 1


def example_args(tmp_path: Path) -> list[str]:
    return [
        "--policy",
        str(LENDER),
        "--as-of",
        AS_OF.isoformat(),
        "--cases",
        str(PORTFOLIO),
        "--out",
        str(tmp_path / "decisions.parquet"),
    ]


def _example() -> Any:
    """``examples/spark_decide.py`` as a module."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import spark_decide
    finally:
        sys.path.pop(0)
    return spark_decide


def test_the_spark_submit_example_writes_every_decision(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # In this process (its session is the one getOrCreate finds); spark-submit itself below.
    monkeypatch.setattr(sys, "argv", ["spark_decide.py", *example_args(tmp_path)])
    _example().main()
    assert capsys.readouterr().out.split() == ["decided", "1,035", "skipped", "165"]
    written = spark.read.parquet(str(tmp_path / "decisions.parquet"))
    assert written.count() == 1200 and written.select("line").distinct().count() == 1200


@pytest.mark.skipif(
    os.environ.get("HYPOTHESIS_PROFILE") != "slow",
    reason="a second JVM takes half a minute: make test-slow runs it",
)
def test_the_example_runs_under_spark_submit(tmp_path: Path) -> None:
    submit = Path(sys.executable).parent / "spark-submit"
    env = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "PATH": f"{submit.parent}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        [
            str(submit),
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            str(ROOT / "examples" / "spark_decide.py"),
            *example_args(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["decided", "1,035", "skipped", "165"]


# -- placement ----------------------------------------------------------------------------------

AGENCIES = ROOT / "rules" / "agencies.yaml"
PLACEMENTS = ROOT / "examples" / "placements.jsonl"


def placer(capacity: int | None = None) -> Any:
    from dunning import Placer, load_agencies, loads_agencies

    if capacity is None:
        return Placer(load_policy(LENDER), load_agencies(AGENCIES))
    text = re.sub(r"capacity: \d+", f"capacity: {capacity}", AGENCIES.read_text(encoding="utf-8"))
    return Placer(load_policy(LENDER), loads_agencies(text))


def same_as_placer(rows: list[Any], expected: list[Any]) -> None:
    """Row k of Spark's placements says what result k of ``Placer.place`` says."""
    from dunning import PlacementResult

    assert len(rows) == len(expected)
    for row, result in zip(sorted(rows, key=lambda r: r.k), expected, strict=True):
        if isinstance(result, PlacementResult):
            assert row.status == "decided" and row.error is None
            assert row.decision == result.decision.model_dump_json()
            assert json.loads(row.events) == [
                json.loads(e.model_dump_json()) for e in result.events
            ]
            assert json.loads(row.eligibility) == {
                c.agency_id: c.reason for c in result.eligibility
            }
            assert row.agency_id == result.decision.action.agency_id
        else:
            assert row.status in ("rejected", "skipped") and row.decision is None
            assert json.loads(row.error) == result.to_dict()


def placement_lines() -> list[str]:
    """The example portfolio, a case given again at the end, a broken line and a bad case.

    One case in three is the borrower's of the case before it: all of a borrower's debts go to
    one agency, which the driver's sequential step must know from every partition.
    """
    lines = lines_with_bad_ones()
    shared = lines[:-2]
    for n in range(1, len(shared), 3):
        case, before = json.loads(shared[n]), json.loads(shared[n - 1])
        own, theirs = case["borrower"]["party_id"], before["borrower"]["party_id"]
        case["borrower"]["party_id"] = theirs
        for contact in case["contacts"]:
            contact["party_id"] = theirs if contact["party_id"] == own else contact["party_id"]
        shared[n] = json.dumps(case, ensure_ascii=False)
    return [*shared, shared[5], *lines[-2:]]


def test_placements_are_the_placers_whatever_the_partitions(spark: Any) -> None:
    from dunning.spark import place

    lines, events = placement_lines(), PLACEMENTS.read_text(encoding="utf-8").splitlines()
    expected = placer().place(lines, as_of=AS_OF, events=events).results
    df = frame(spark, lines)
    # One partition and seven in the slow profile; three in `make test` (every partition
    # boundary still splits the book).
    for parts in (1, 7) if SLOW else (3,):
        placed = place(df.repartition(parts), placer(), AS_OF, events=events, key="k")
        same_as_placer(placed.rows.collect(), expected)
        placed.unpersist()
        assert placed.event_errors == []
    kinds = Counter(
        e["type"]
        for r in expected
        if not isinstance(r, CaseError)
        for e in (json.loads(e.model_dump_json()) for e in r.events)
    )
    assert {
        "placement.proposed",
        "placement.placed",
        "placement.recalled",
        "placement.closed",
    } <= set(kinds)
    assert (
        sum(isinstance(r, CaseError) and r.problems[0].code == "duplicate_case" for r in expected)
        == 1
    )
    followed = Counter(
        c.reason for r in expected if not isinstance(r, CaseError) for c in r.eligibility
    )
    assert followed["borrower_elsewhere"] > 0  # borrowers' debts followed one another


def test_room_made_by_recalls_counts_before_any_case_is_allocated(spark: Any) -> None:
    from dunning.spark import place

    lines, events = placement_lines(), PLACEMENTS.read_text(encoding="utf-8").splitlines()
    tight = placer(capacity=40)
    expected = tight.place(lines, as_of=AS_OF, events=events).results
    reasons = Counter(
        c.reason for r in expected if not isinstance(r, CaseError) for c in r.eligibility
    )
    assert reasons["capacity"] > 0 and reasons[None] > 0  # capacity decides some allocations
    placed = place(frame(spark, lines).repartition(4), tight, AS_OF, events=events, key="k")
    same_as_placer(placed.rows.collect(), expected)


@pytest.mark.skipif(
    not SLOW,
    reason="a Spark job of its own (5 s): make test-slow runs it; make test's placements "
    "comparison shares borrowers across partitions too",
)
def test_a_debt_follows_the_agency_another_partition_holds(spark: Any) -> None:
    """A borrower's placed debt in one partition, a new one in another: the same agency."""
    from dunning import Portfolio
    from dunning.spark import place

    book = Portfolio(overdue_customers=1000)
    lines = lines_with_bad_ones()[:-2]
    first = placer().place(lines, as_of=AS_OF, portfolio=book).results
    sent = [r for r in first if not isinstance(r, CaseError) and r.eligibility]
    new, old = sent[0], sent[-1]
    assert new.decision.action.agency_id != "AG-03"
    by_id = {json.loads(line)["case_id"]: n for n, line in enumerate(lines)}
    case, held = json.loads(lines[by_id[new.case_id]]), json.loads(lines[by_id[old.case_id]])
    party, own = case["borrower"]["party_id"], held["borrower"]["party_id"]
    held["borrower"]["party_id"] = party
    for contact in held["contacts"]:
        contact["party_id"] = party if contact["party_id"] == own else contact["party_id"]
    held["placement"] = {"agency_id": "AG-03", "placed_on": "2026-11-20", "commission_rate": "0.1"}
    both = [json.dumps(case, ensure_ascii=False), json.dumps(held, ensure_ascii=False)]
    expected = placer().place(both, as_of=AS_OF, portfolio=book).results
    assert [r.decision.action.agency_id for r in expected] == ["AG-03", "AG-03"]
    placed = place(frame(spark, both).repartition(2), placer(), AS_OF, portfolio=book, key="k")
    same_as_placer(placed.rows.collect(), expected)


def test_placement_events_are_the_command_lines(spark: Any, tmp_path: Path) -> None:
    from dunning.spark import place

    lines = placement_lines()
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = tmp_path / "events.jsonl"
    bad.write_text(PLACEMENTS.read_text(encoding="utf-8") + "{not an event\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dunning",
            "place",
            "--policy",
            str(LENDER),
            "--agencies",
            str(AGENCIES),
            "--placements",
            str(bad),
            "--as-of",
            AS_OF.isoformat(),
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 1, done.stderr
    printed = [json.loads(x) for x in done.stdout.splitlines()]
    events = bad.read_text(encoding="utf-8").splitlines()
    placed = place(frame(spark, lines).repartition(3), placer(), AS_OF, events=events, key="k")
    rows = placed.rows.collect()
    ours = [e for r in rows if r.events for e in json.loads(r.events)]
    theirs = [x for x in printed if "type" in x]
    assert sorted(map(json.dumps, ours)) == sorted(map(json.dumps, theirs))
    assert len(placed.event_errors) == 1 and placed.event_errors[0].line == len(events)
    refused = sum(1 for x in printed if "errors" in x)  # the bad event, and the bad cases
    assert refused == 1 + sum(r.status in ("rejected", "skipped") for r in rows)


def test_placement_refuses_what_is_not_a_placer(spark: Any) -> None:
    from dunning import ArgumentError
    from dunning.spark import place

    with pytest.raises(ArgumentError, match=r"placer must be a dunning\.Placer"):
        place(frame(spark, ["{}"]), load_policy(LENDER), AS_OF)  # type: ignore[arg-type]
