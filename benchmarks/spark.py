"""dunning on Spark (local[2]) against `dunning decide --jobs 2`, on the same file, in one run.

    python benchmarks/spark.py [--cases 100000] [--quick] [--out results.json]

Generates the synthetic portfolio (the example generator, scaled), then times, in this order:
``dunning decide --jobs 2`` on it (no figure given: the command line counts it in a first pass,
as Spark must); a Spark session's start (reported apart: a cluster's session is started once a
night, not per book); ``dunning.spark.overdue_customers``; and a decision pass with that figure,
written to Spark's ``noop`` sink so that every row is computed and none reaches the driver;
then, for information, a placement pass (``dunning.spark.place`` with the example agencies).
Each contender runs twice and its faster run counts (the first pass over a file pays the JVM's
warm-up, whichever pass it is). The goals (docs/cluster.md): the two Spark passes together
within 1.3 × the command line's wall time, and the counting pass at most a quarter of a
decision pass. The driver's peak memory is reported too, its Python process and its JVM (in
local mode also the executor): it collects nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from measure import measured

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "examples"))

from generate_portfolio import Generator  # noqa: E402

AS_OF = "2026-11-28T10:00:00+08:00"
POLICY = ROOT / "rules" / "lender.yaml"
AGENCIES = ROOT / "rules" / "agencies.yaml"
ROUNDS = 2  # each contender runs twice and its faster run counts: the first pays JIT warm-up


def generate(path: Path, cases: int, seed: int) -> None:
    """Write the synthetic portfolio (the example generator, scaled to ``cases``)."""
    generator = Generator(seed)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for n in range(1, cases + 1):
            out.write(json.dumps(generator.case(n), ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="5,000 cases")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    cases = 5_000 if args.quick else args.cases
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers run this interpreter
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "portfolio.jsonl"
        generate(data, cases, args.seed)
        command = [
            str(Path(sys.executable).parent / "dunning"),
            "decide",
            "--policy",
            str(POLICY),
            "--as-of",
            AS_OF,
            "--jobs",
            "2",
            str(data),
        ]
        runs = [measured(command) for _ in range(ROUNDS)]
        if any(status not in (0, 1) for _, _, status in runs):
            print("dunning decide failed", file=sys.stderr)
            return 1
        cli_seconds = min(seconds for seconds, _, _ in runs)
        cli_peak = max(peak for _, peak, _ in runs)
        report = _spark(data, cases)
    report |= {
        "date": date.today().isoformat(),
        "cases": cases,
        "cpus": os.cpu_count(),
        "cli_jobs_2_seconds": round(cli_seconds, 2),
        "cli_peak_rss_mb": cli_peak // 1024,
    }
    both = report["overdue_seconds"] + report["decide_seconds"]
    report["two_passes_over_cli"] = round(both / cli_seconds, 3)
    report["overdue_over_decide"] = round(report["overdue_seconds"] / report["decide_seconds"], 3)
    print(f"dunning on Spark local[2], {cases:,} cases ({os.cpu_count()} CPUs)\n")
    print(f"  dunning decide --jobs 2 (both passes)   {cli_seconds:8.1f} s")
    print(f"  Spark session start (apart)             {report['session_seconds']:8.1f} s")
    print(f"  Python workers' start (apart)           {report['workers_seconds']:8.1f} s")
    print(f"  overdue_customers                       {report['overdue_seconds']:8.1f} s")
    print(f"  decide, figure given                    {report['decide_seconds']:8.1f} s")
    print(f"  place, figure given (no goal)           {report['place_seconds']:8.1f} s")
    print(f"\n  two Spark passes / --jobs 2: {report['two_passes_over_cli']:.2f} (goal <= 1.3)")
    print(f"  counting / deciding:        {report['overdue_over_decide']:.2f} (goal <= 0.25)")
    print(
        f"  driver peak RSS: {report['driver_peak_rss_mb']} MB (Python), "
        f"{report['driver_growth_mb']} MB more while deciding; "
        f"JVM {report['driver_jvm_peak_rss_mb']} MB, "
        f"{report['driver_jvm_growth_mb']} MB more"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def _spark(data: Path, cases: int) -> dict[str, Any]:
    from pyspark.sql import SparkSession

    import dunning
    from dunning.spark import decide, overdue_customers, place

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("dunning-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        # Splits of 8 MB: a 100 MB file is a dozen tasks for the two cores, not one.
        .config("spark.sql.files.maxPartitionBytes", "8m")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    session = time.perf_counter() - started
    policy = dunning.load_policy(POLICY)
    moment = datetime.fromisoformat(AS_OF)
    df = spark.read.text(str(data)).withColumnRenamed("value", "case")
    # The Python workers start, import dunning and compile the policy once each: apart, too.
    started = time.perf_counter()
    warm = df.limit(200).repartition(2)
    decide(warm, policy, moment, portfolio=1).write.format("noop").mode("overwrite").save()
    warming = time.perf_counter() - started
    jvm = spark.sparkContext._gateway.proc.pid  # the driver's JVM (in local mode, the executor's)
    before, jvm_before = _peak_mb(), _jvm_peak_mb(jvm)
    counting = deciding = float("inf")
    for _ in range(ROUNDS):  # each pass run twice, the faster kept, as for the command line
        started = time.perf_counter()
        figure = overdue_customers(df, policy, moment)
        counting = min(counting, time.perf_counter() - started)
        started = time.perf_counter()
        decided = decide(df, policy, moment, portfolio=figure)
        decided.write.format("noop").mode("overwrite").save()
        deciding = min(deciding, time.perf_counter() - started)
    peak, jvm_peak = _peak_mb(), _jvm_peak_mb(jvm)
    # Placement: decided on the workers, allocated in one task (for information: no goal).
    placer = dunning.Placer(policy, dunning.load_agencies(AGENCIES))
    placing = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        placed = place(df, placer, moment, portfolio=figure)
        placed.rows.write.format("noop").mode("overwrite").save()
        placed.unpersist()
        placing = min(placing, time.perf_counter() - started)
    spark.stop()
    return {
        "session_seconds": round(session, 2),
        "workers_seconds": round(warming, 2),
        "overdue_seconds": round(counting, 2),
        "decide_seconds": round(deciding, 2),
        "overdue_customers": figure,
        "place_seconds": round(placing, 2),
        "driver_peak_rss_mb": peak,
        "driver_growth_mb": peak - before,
        "driver_jvm_peak_rss_mb": jvm_peak,
        "driver_jvm_growth_mb": jvm_peak - jvm_before,
    }


def _jvm_peak_mb(pid: int) -> int:
    """A process's peak resident memory (VmHWM) in MB, from /proc; 0 where there is none."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


if __name__ == "__main__":
    raise SystemExit(main())
