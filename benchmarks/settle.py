"""Settling a year of payments: throughput, and peak memory that stays flat as the ledger grows.

    python benchmarks/settle.py [--cases 1000000] [--quick] [--out results.json]

Generates (deterministically, once per size) the placement events and a year's payment ledger
of a book of ``--cases`` cases and of a tenth of it — a third of the cases placed with an
agency once or twice in the year, every case paying about twice, some payments reversed — and
runs ``dunning settle --format csv`` on each as a separate process, measuring its wall time and
peak resident memory. Flat memory means the larger book's peak is about the smaller one's,
although its ledger is ten times longer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from measure import measured

ROOT = Path(__file__).resolve().parent.parent
YEAR = date(2025, 1, 1)
AGENCIES = ("AG-01", "AG-02", "AG-03")
RATES = ("0.07", "0.14", "0.20", "0.25")


def generate(folder: Path, cases: int, seed: int) -> tuple[Path, Path, int]:
    """Write events.jsonl and ledger.jsonl for ``cases`` cases; return them and the lines."""
    rng = random.Random(seed)
    events_path, ledger_path = folder / "events.jsonl", folder / "ledger.jsonl"
    lines = 0
    with (
        events_path.open("w", encoding="utf-8") as events,
        ledger_path.open("w", encoding="utf-8") as ledger,
    ):
        for n in range(cases):
            case, loan = f"C{n:08d}", f"L{n:08d}"
            if rng.random() < 1 / 3:
                day = YEAR + timedelta(days=rng.randrange(0, 200))
                for k in range(rng.choice((1, 1, 2))):
                    agency = AGENCIES[(n + k) % 3]
                    pid = f"{case}/{agency}/{k}"
                    placed = day + timedelta(days=7)
                    terms = {"commission_rate": rng.choice(RATES), "total_due": "10000.00"}
                    for kind, on, extra in (
                        ("proposed", day, {}),
                        ("placed", placed, terms),
                        ("recalled", placed + timedelta(days=90), {}),
                    ):
                        record = {
                            "type": f"placement.{kind}",
                            "at": f"{on}T08:00:00+08:00",
                            "case_id": case,
                            "payload": {
                                "placement_id": pid,
                                "agency_id": agency,
                                "loan_id": loan,
                                "day": str(on),
                                "reason": "bench",
                                **extra,
                            },
                        }
                        events.write(json.dumps(record) + "\n")
                    day = placed + timedelta(days=100)
            for p in range(rng.choice((1, 2, 2, 3))):
                on = YEAR + timedelta(days=rng.randrange(0, 365))
                amount = f"{rng.randrange(100, 500_000) / 100:.2f}"
                reference = f"P{n:08d}{p}"
                key = {"loan_id": loan} if rng.random() < 0.1 else {"case_id": case}
                ledger.write(
                    json.dumps({"reference": reference, **key, "date": str(on), "amount": amount})
                    + "\n"
                )
                lines += 1
                if rng.random() < 0.01:
                    later = on + timedelta(days=rng.randrange(1, 30))
                    ledger.write(
                        json.dumps(
                            {
                                "reference": "R" + reference,
                                **key,
                                "date": str(later),
                                "amount": amount,
                                "reverses": reference,
                            }
                        )
                        + "\n"
                    )
                    lines += 1
    return events_path, ledger_path, lines


def settle_measured(events: Path, ledger: Path) -> tuple[float, int, int]:
    """Run ``dunning settle`` in its own process: wall seconds, peak RSS in KiB, exit code."""
    dunning = str(Path(sys.executable).parent / "dunning")
    command = [
        dunning,
        "settle",
        "--policy",
        str(ROOT / "rules" / "lender.yaml"),
        "--agencies",
        str(ROOT / "rules" / "agencies.yaml"),
        "--events",
        str(events),
        "--format",
        "csv",
        str(ledger),
    ]
    return measured(command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="20,000 cases")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    cases = 20_000 if args.quick else args.cases
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (cases // 10, cases):
            folder = Path(tmp) / str(size)
            folder.mkdir()
            events, ledger, lines = generate(folder, size, args.seed)
            seconds, peak_kib, status = settle_measured(events, ledger)
            if status != 0:
                print(f"dunning settle failed with exit {status} on {size} cases", file=sys.stderr)
                return 1
            rows.append(
                {
                    "cases": size,
                    "ledger_lines": lines,
                    "ledger_mb": round(ledger.stat().st_size / 2**20),
                    "events_mb": round(events.stat().st_size / 2**20),
                    "seconds": round(seconds, 1),
                    "lines_per_second": round(lines / seconds),
                    "peak_rss_mb": round(peak_kib / 1024),
                }
            )
    small, large = rows
    growth = large["peak_rss_mb"] / max(small["peak_rss_mb"], 1)
    report = {"date": date.today().isoformat(), "results": rows, "peak_rss_growth": growth}
    print(f"dunning settle --format csv, a year of payments ({os.cpu_count()} CPUs)\n")
    print(
        f"{'cases':>10}{'ledger lines':>14}{'ledger MB':>11}{'seconds':>9}{'lines/s':>10}"
        f"{'peak RSS MB':>13}"
    )
    for row in rows:
        print(
            f"{row['cases']:>10,}{row['ledger_lines']:>14,}{row['ledger_mb']:>11}"
            f"{row['seconds']:>9}{row['lines_per_second']:>10,}"
            f"{row['peak_rss_mb']:>13}"
        )
    longer = large["ledger_lines"] / small["ledger_lines"]
    print(f"\npeak memory × {growth:.2f} for a ledger × {longer:.1f}")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
