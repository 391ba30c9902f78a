"""Decision throughput of dunning against hand-written Python, durable-rules and zen-engine.

    python benchmarks/run.py [--cases 200000] [--repeats 3] [--quick] [--out results.json]

One process, one synthetic portfolio for every contender (generated once, deterministic), the
shipped lender policy. Every contender's decisions are checked against the compiled engine's
before it is timed; timings are the best of several passes after a warm-up, and the results
are ratios within this run, so a busy machine slows all contenders alike.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "examples"))

import contenders  # noqa: E402
import dunning  # noqa: E402
from dunning.engines.compiled import CompiledEngine  # noqa: E402
from dunning.engines.rete import ReteEngine  # noqa: E402
from dunning.facts import fact_view  # noqa: E402
from generate_portfolio import Generator  # noqa: E402

AS_OF = "2026-11-28T10:00:00+08:00"
OVERDUE_CUSTOMERS = 500


def generate(path: Path, cases: int, seed: int) -> None:
    """Write the synthetic portfolio (the example generator, scaled to ``cases``)."""
    generator = Generator(seed)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for n in range(1, cases + 1):
            out.write(json.dumps(generator.case(n), ensure_ascii=False) + "\n")


def best_rate(
    run: Callable[[], Any], count: int, repeats: int, min_seconds: float = 2.0
) -> tuple[float, float]:
    """Cases per second of ``run`` (which handles ``count`` cases), by the clock and per CPU.

    The best pass of at least ``repeats``, and more (up to 30) until ``min_seconds`` have been
    measured: a pass of the fastest contenders takes a fraction of a second, and a single stall
    of a shared machine would otherwise decide their number. CPU time is the whole process's,
    so a contender that runs threads of its own (zen-engine's batch does) is charged for them.
    """
    run()  # warm-up
    best = best_cpu = float("inf")
    spent, passes = 0.0, 0
    while passes < repeats or (spent < min_seconds and passes < 30):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        best, best_cpu = min(best, elapsed), min(best_cpu, cpu)
        spent, passes = spent + elapsed, passes + 1
    return count / best, count / max(best_cpu, 1e-9)


def check(name: str, got: Iterable[contenders.Result], want: list[contenders.Result]) -> None:
    """Stop the run if ``name`` decides any case differently (it may decide a prefix only)."""
    got = list(got)
    for index, (a, b) in enumerate(zip(got, want[: len(got)], strict=True)):
        if a != b:
            raise SystemExit(
                f"{name} disagrees with the compiled engine on case {index}: {a} != {b}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3, help="passes at least")
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=2.0,
        help="more passes (up to 30) until a contender has been measured this long",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1,500 cases, one repeat")
    parser.add_argument(
        "--single-max",
        type=int,
        default=20_000,
        help="cases for the slow one-call-per-case contenders (rete, zen evaluate)",
    )
    parser.add_argument(
        "--in-process-max",
        type=int,
        default=200_000,
        help="cases held in memory for the in-process contenders; the command "
        "line runs see the whole file (so --cases 1000000 checks memory)",
    )
    parser.add_argument(
        "--only-processes",
        action="store_true",
        help="only the command-line runs (speed of --jobs, memory on every input path)",
    )
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.repeats, args.single_max, args.min_seconds = 1500, 1, 500, 0.0

    policy = dunning.load_policy(ROOT / "rules" / "lender.yaml")
    moment = policy.moment(datetime.fromisoformat(AS_OF))
    book = dunning.Portfolio(OVERDUE_CUSTOMERS)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "portfolio.jsonl"
        generate(data, args.cases, args.seed)
        covered_lines, facts = [], []
        with data.open(encoding="utf-8") as stream:
            lines = [line for _, line in zip(range(args.in_process_max), stream, strict=False)]
        for line in lines:
            case = dunning.parse_case(line)
            if case.loan.product.value in policy.ir.products:
                covered_lines.append(line)
                facts.append(fact_view(case, policy.assess(case, moment), moment, book))
        # Built between the parsing and assessment of 2 KB cases, the views lie scattered
        # through memory, and the fastest contenders then time cache misses more than their
        # own work. Laid out afresh in one block (a pickle round trip), they are as a host that
        # prepares its views in one pass would hold them; every contender reads these.
        facts = pickle.loads(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
        rows = (
            []
            if args.only_processes
            else measure(args, policy, moment, book, facts, covered_lines, data)
        )
        rows += processes(args, data)
    report = {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cases": args.cases,
        "decided": len(facts),
        "repeats": args.repeats,
        "min_seconds": args.min_seconds,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "versions": {
            p: _version(p) for p in ("dunning", "pydantic", "durable_rules", "zen-engine")
        },
        "results": rows,
    }
    render(report, sys.stdout)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def measure(
    args: argparse.Namespace,
    policy: dunning.Policy,
    moment: datetime,
    book: dunning.Portfolio,
    facts: list[dict[str, Any]],
    lines: list[str],
    data: Path,
) -> list[dict[str, Any]]:
    # The kernel alone: an engine of the benchmark's own, built from the policy's public IR.
    engine = CompiledEngine(policy.ir, policy.digest)
    n, single = len(facts), facts[: args.single_max]

    def compiled(view: dict[str, Any]) -> contenders.Result:
        verdict = engine.run(view)
        return verdict.channel.outcome.channel.value, verdict.commission_rate  # type: ignore[union-attr]

    want = [compiled(f) for f in facts]
    rows: list[dict[str, Any]] = []

    def add(name: str, rates: tuple[float, float], cases: int, note: str = "") -> None:
        rows.append(
            {
                "contender": name,
                "cases_per_second": round(rates[0]),
                "cases_per_cpu_second": round(rates[1]),
                "cases": cases,
                "note": note,
            }
        )

    check("limit", map(contenders.limit, facts), want)
    add(
        "limit: hand-written Python",
        best_rate(lambda: list(map(contenders.limit, facts)), n, args.repeats, args.min_seconds),
        n,
    )
    add(
        "compiled kernel",
        best_rate(lambda: list(map(engine.run, facts)), n, args.repeats, args.min_seconds),
        n,
    )

    # End to end: JSON text in, validated case, decision, JSON text out — against json alone.
    def floor() -> None:
        for line in lines:
            json.dumps(json.loads(line))

    def end_to_end() -> None:
        for decision in policy.decide_many(lines, as_of=moment, portfolio=book):
            decision.model_dump_json()  # type: ignore[union-attr]

    add(
        "JSON floor: json.loads + json.dumps",
        best_rate(floor, n, args.repeats, args.min_seconds),
        n,
    )
    deciding = best_rate(end_to_end, n, args.repeats, args.min_seconds)
    add("compiled end-to-end", deciding, n)

    # Placing: the same lines decided, placed placements recalled, the cases sent out allocated
    # among three agencies with room for all, decisions and events written as JSON.
    agencies = dunning.Agencies.of(
        dunning.Agency(
            agency_id=f"AG-0{k}",
            name=f"Agency {k}",
            phone="4008001234",
            products=(dunning.Product.CONSUMER_FINANCE,),
            contract_start=date(2025, 1, 1),
        )
        for k in (1, 2, 3)
    )
    placer = dunning.Placer(policy, agencies)

    def placing() -> None:
        for result in placer.stream(lines, as_of=moment, portfolio=book):
            assert isinstance(result, dunning.PlacementResult)
            result.decision.model_dump_json()
            for event in result.events:
                event.model_dump_json()

    placed = best_rate(placing, n, args.repeats, args.min_seconds)
    extra = deciding[0] / placed[0] - 1 if placed[0] else float("inf")
    add("compiled end-to-end, and placing", placed, n, f"{extra:+.0%} on top of deciding")

    try:
        rete = dunning.load_policy(ROOT / "rules" / "lender.yaml", engine="rete")
    except dunning.ConfigError as exc:
        add("rete engine", (0, 0), 0, f"skipped: {exc}")
        add("durable-rules raw", (0, 0), 0, "skipped: durable-rules is not installed")
    else:
        rete_engine = ReteEngine(rete.ir, rete.digest)

        def by_rete(view: dict[str, Any]) -> contenders.Result:
            verdict = rete_engine.run(view)
            return verdict.channel.outcome.channel.value, verdict.commission_rate  # type: ignore[union-attr]

        check("rete", map(by_rete, single), want)
        add(
            "rete engine (durable-rules)",
            best_rate(
                lambda: list(map(rete_engine.run, single)),
                len(single),
                args.repeats,
                args.min_seconds,
            ),
            len(single),
        )
        raw = contenders.DurableRaw()
        check("durable-rules raw", map(raw.decide, single), want)
        add(
            "durable-rules raw",
            best_rate(
                lambda: list(map(raw.decide, single)), len(single), args.repeats, args.min_seconds
            ),
            len(single),
        )
    try:
        zen = contenders.Zen()
    except ImportError as exc:
        add("zen-engine evaluate", (0, 0), 0, f"skipped: {exc}")
        add("zen-engine evaluate_batch", (0, 0), 0, f"skipped: {exc}")
    else:
        contexts = [contenders.zen_context(f) for f in facts]
        check("zen-engine evaluate", map(zen.decide, contexts[: len(single)]), want)
        check("zen-engine evaluate_batch", zen.decide_batch(contexts), want)
        add(
            "zen-engine evaluate",
            best_rate(
                lambda: list(map(zen.decide, contexts[: len(single)])),
                len(single),
                args.repeats,
                args.min_seconds,
            ),
            len(single),
        )
        add(
            "zen-engine evaluate_batch",
            best_rate(lambda: zen.decide_batch(contexts), n, args.repeats, args.min_seconds),
            n,
        )
    return rows


def processes(args: argparse.Namespace, data: Path) -> list[dict[str, Any]]:
    """The command line on the whole file: peak memory, and --jobs scaling."""
    rows = []
    command = [
        sys.executable,
        "-m",
        "dunning",
        "decide",
        "--policy",
        str(ROOT / "rules" / "lender.yaml"),
        "--as-of",
        AS_OF,
        "--overdue-customers",
        str(OVERDUE_CUSTOMERS),
        "--skip-uncovered",
        str(data),
    ]
    for jobs in (1, 2):
        rows.append(
            _process_row(f"--jobs {jobs} (whole file)", [*command, "--jobs", str(jobs)], args)
        )
        if jobs == 2:  # its peak is that of the parent only: not shown
            rows[-1].update(note="", peak_rss_mb=None)
    # Memory on the paths without the portfolio figure: the batch counts itself in a first
    # pass, from the file read twice or from a pipe copied to disk; it must stay as flat.
    counting = [c for c in command if c not in ("--overdue-customers", str(OVERDUE_CUSTOMERS))]
    piped = ["/bin/sh", "-c", 'cat "$0" | "$@"', str(data), *counting[:-1], "-"]
    for label, measured in (
        ("(no figure, file read twice)", counting),
        ("(no figure, from a pipe)", piped),
        ("(no figure, from a pipe, --jobs 2)", [*piped, "--jobs", "2"]),
    ):
        rows.append(_process_row(label, measured, args))
    return rows


def _process_row(label: str, command: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Run one command-line contender; its rates and peak memory."""
    start = time.perf_counter()
    peak_kb, cpu = _run_measured(command)
    seconds = time.perf_counter() - start
    return {
        "contender": f"dunning decide {label}",
        "cases_per_second": round(args.cases / seconds),
        "cases_per_cpu_second": round(args.cases / cpu),
        "cases": args.cases,
        "note": f"peak RSS {peak_kb / 1024:.0f} MB",
        "peak_rss_mb": round(peak_kb / 1024),
    }


# A small launcher: the measured process is forked from it, not from this large process, whose
# pages would otherwise count in the child's peak resident set until it execs.
_LAUNCHER = """
import os, sys
devnull = os.open(os.devnull, os.O_WRONLY)
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime)
"""


def _run_measured(command: list[str]) -> tuple[int, float]:
    """Run ``command`` (output discarded); return its peak resident set in KB and CPU seconds.

    Both come from the kernel's accounting of the process when it ends, which includes the
    worker processes it started and waited for (CPU summed, memory the largest).
    """
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, check=True
    )
    peak, code, cpu = done.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"dunning decide failed ({code}): {done.stderr}")
    return int(peak), float(cpu)


def render(report: dict[str, Any], out: io.TextIOBase | Any) -> None:
    rows = {r["contender"]: r["cases_per_second"] for r in report["results"]}
    # Ratios against the limit and the kernel (absent with --only-processes: shown as 0).
    limit = rows.get("limit: hand-written Python") or float("inf")
    kernel = rows.get("compiled kernel") or float("inf")
    per_cpu = {r["contender"]: r.get("cases_per_cpu_second", 0) for r in report["results"]}
    kernel_cpu = per_cpu.get("compiled kernel") or float("inf")
    m = report["machine"]
    out.write(
        f"dunning benchmark: {report['cases']:,} cases ({report['decided']:,} decided by "
        f"the lender policy), best pass of at least {report['repeats']} "
        f"(and {report.get('min_seconds', 0):g} s) each, Python {m['python']}, "
        f"{m['cpus']} CPUs\n\n"
    )
    out.write(
        f"{'contender':<44}{'cases/s':>12}{'× limit':>10}{'× kernel':>10}"
        f"{'cases/CPU-s':>13}{'× kernel':>10}  note\n"
    )
    for row in report["results"]:
        rate, per_cpu = row["cases_per_second"], row.get("cases_per_cpu_second", 0)
        out.write(
            f"{row['contender']:<44}{rate:>12,}{rate / limit:>10.3f}{rate / kernel:>10.4f}"
            f"{per_cpu:>13,}{per_cpu / kernel_cpu:>10.4f}  {row['note']}\n"
        )


if __name__ == "__main__":
    raise SystemExit(main())
