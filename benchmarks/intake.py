"""Taking a bank's file in: speed against deciding the same file, and flat peak memory.

    python benchmarks/intake.py [--cases 100000] [--quick] [--out results.json]

Generates (deterministically) a bank's file of ``--cases`` credit-card cases and one of a tenth
of them, then runs, each as a separate process, ``dunning decide`` (the bank card policy, output
to /dev/null) and ``dunning intake`` with two backups on each file, measuring wall time and peak
resident memory. The issue's goal: intake at least half as fast as deciding the same file
(``speed ratio`` = decide seconds / intake seconds ≥ 0.5), and the larger file's intake peak
about the smaller one's (flat memory).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from measure import measured

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "rules" / "bank_credit_card.yaml"
AS_OF = "2026-11-02T10:00:00+08:00"


def generate(path: Path, cases: int, seed: int) -> None:
    """Write ``cases`` credit-card cases as a bank's JSON Lines file (a few lines bad)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for n in range(cases):
            if rng.random() < 0.001:
                out.write('{"case_id": "broken", \n')
                continue
            limit = rng.choice((8000, 10000, 20000, 50000))
            balance = round(limit * rng.choice((0.6, 0.9, 1.05)), 2)
            minimum = round(balance / 10, 2)
            case = {
                "case_id": f"K{n:08d}",
                "loan": {
                    "loan_id": f"6222{n:012d}",
                    "product": "credit_card",
                    "principal": f"{balance:.2f}",
                    "annual_rate": "0.18",
                    "start_date": "2023-05-01",
                    "term_months": 12,
                    "repayment": "bullet",
                },
                "borrower": {
                    "party_id": "borrower",
                    "name": "持卡人",
                    "phones": [f"+86 138{n % 10**8:08d}"],
                    "addresses": ["上海市浦东新区世纪大道100号"],
                },
                "related_parties": [
                    {
                        "party_id": "ec",
                        "role": "emergency_contact",
                        "phones": [f"+86 139{n % 10**8:08d}"],
                    }
                ],
                "delinquency": {
                    "dpd": rng.randrange(1, 240),
                    "overdue_principal": f"{minimum * 2:.2f}",
                    "overdue_interest": f"{minimum / 5:.2f}",
                },
                "card": {
                    "credit_limit": f"{limit:.2f}",
                    "statement_balance": f"{balance:.2f}",
                    "minimum_payment_due": f"{minimum:.2f}",
                },
            }
            out.write(json.dumps(case, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="5,000 cases")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    cases = 5_000 if args.quick else args.cases
    dunning = str(Path(sys.executable).parent / "dunning")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (cases // 10, cases):
            folder = Path(tmp) / str(size)
            folder.mkdir()
            bank = folder / "bank.jsonl"
            generate(bank, size, args.seed)
            decide = [dunning, "decide", "--policy", str(POLICY), "--as-of", AS_OF, str(bank)]
            intake = [
                dunning,
                "intake",
                str(bank),
                "--bank",
                "BENCH",
                "--received-at",
                AS_OF,
                "--store",
                str(folder / "store"),
                "--backup",
                str(folder / "branch"),
                "--backup",
                str(folder / "head-office"),
                "--policy",
                str(POLICY),
                "--format",
                "json",
            ]
            d_seconds, d_peak, d_status = measured(decide)
            i_seconds, i_peak, i_status = measured(intake)
            # decide exits 1 for the bad lines; intake exits 1 for them and for being "late".
            if d_status not in (0, 1) or i_status not in (0, 1):
                print(
                    f"a command failed on {size} cases: decide {d_status}, intake {i_status}",
                    file=sys.stderr,
                )
                return 1
            rows.append(
                {
                    "cases": size,
                    "file_mb": round(bank.stat().st_size / 2**20, 1),
                    "decide_seconds": round(d_seconds, 2),
                    "intake_seconds": round(i_seconds, 2),
                    "intake_cases_per_second": round(size / i_seconds),
                    "speed_ratio": round(d_seconds / i_seconds, 2),
                    "decide_peak_rss_mb": round(d_peak / 1024),
                    "intake_peak_rss_mb": round(i_peak / 1024),
                }
            )
    small, large = rows
    growth = large["intake_peak_rss_mb"] / max(small["intake_peak_rss_mb"], 1)
    report = {
        "date": date.today().isoformat(),
        "results": rows,
        "intake_peak_rss_growth": growth,
        "goal": "speed_ratio >= 0.5; flat intake memory",
    }
    print(
        f"dunning intake (two backups) against dunning decide, same file ({os.cpu_count()} CPUs)\n"
    )
    print(
        f"{'cases':>9}{'file MB':>9}{'decide s':>10}{'intake s':>10}{'intake/s':>10}"
        f"{'ratio':>7}{'intake RSS MB':>15}"
    )
    for row in rows:
        print(
            f"{row['cases']:>9,}{row['file_mb']:>9}{row['decide_seconds']:>10}"
            f"{row['intake_seconds']:>10}{row['intake_cases_per_second']:>10,}"
            f"{row['speed_ratio']:>7}{row['intake_peak_rss_mb']:>15}"
        )
    print(
        f"\nintake peak memory × {growth:.2f} for a file × 10; speed ratio "
        f"{large['speed_ratio']} (goal: at least 0.5)"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
