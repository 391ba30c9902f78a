"""Auditing a year of an agency's events: throughput, and peak memory that stays flat.

    python benchmarks/audit.py [--cases 100000] [--quick] [--out results.json]

Generates (deterministically) the events of ``--cases`` bank card cases for a year, of the same
cases for a month, and of a tenth of them for a year — each case taken in, assigned, called every
tenth working day with its end-of-day record (as the procedure's weekly nodes ask), one case in ten
visited each month and the visit reviewed, the weekly and monthly reports and the monthly
reconciliation filed — and runs ``dunning audit`` with the shipped procedure file on each in a
process of its own, measuring wall time and peak resident memory. Flat memory means the year's peak
is about the month's: the audit holds what is open (a small record per case held), not the log.
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
PROCEDURE = ROOT / "rules" / "agency_procedure.yaml"
YEAR = 2025
ZERO = "sha256:" + "0" * 64
BATCH = "SH-BANK-0123456789abcdef"  # the bank whose agreement the shipped procedure files


def generate(path: Path, cases: int, seed: int, months: int = 12) -> int:
    """Write ``months`` months of events for ``cases`` cases, in time order; return the lines."""
    rng = random.Random(seed)
    day_lines: list[tuple[str, str]] = []  # (time, line) of one day, sorted before writing

    def add(at: str, type_: str, actor: str, n: int | None, **payload: Any) -> None:
        case = "" if n is None else f',"case_id":"K{n:07d}"'
        body = json.dumps(payload, separators=(",", ":"))
        head = f'{{"type":"{type_}","at":"{at}:00+08:00","actor":"{actor}"{case}'
        day_lines.append((at, f'{head},"payload":{body}}}'))

    count = 0
    with path.open("w", encoding="utf-8") as out:
        day = date(YEAR, 1, 2)
        add(f"{day}T10:30", "intake.completed", "A1", None, **_intake(str(day), cases))
        for n in range(cases):
            add(
                f"{day}T09:30", "case.received", "A1", n, batch_id=BATCH, bank="SH-BANK", line=n + 1
            )
            add(
                f"{day}T11:00",
                "assignment.assigned",
                "L1",
                n,
                collector_id=f"C{n % 50}",
                reason="new",
            )
        worked = 0  # working days so far
        final = _last_day(months)
        while day <= final + timedelta(days=5):  # the last month's reports are filed after it
            if day.weekday() < 5 and date(YEAR, 1, 2) <= day <= final:
                _work_day(add, rng, day, worked, cases)
                worked += 1
            if day.weekday() == 4 and day <= final:
                add(
                    f"{day}T18:00",
                    "report.filed",
                    "L1",
                    None,
                    kind="weekly",
                    period_start=str(day - timedelta(days=4)),
                    period_end=str(day),
                    scope="phone",
                    ref="r",
                )
            if day.day == 3 and day > date(YEAR, 1, 31):
                month_end = day.replace(day=1) - timedelta(days=1)
                period = {
                    "period_start": str(month_end.replace(day=1)),
                    "period_end": str(month_end),
                }
                add(
                    f"{day}T16:00",
                    "report.filed",
                    "S1",
                    None,
                    kind="monthly",
                    scope="SH-BANK",
                    ref="m",
                    approved_by="M1",
                    approvals=["S1", "M1"],
                    filed_with="head_office",
                    **period,
                )
                add(
                    f"{day}T16:10",
                    "report.filed",
                    "A1",
                    None,
                    kind="performance",
                    scope="branch",
                    ref="p",
                    filed_with="finance",
                    **period,
                )
                add(
                    f"{day}T16:30",
                    "reconciliation.filed",
                    "A1",
                    None,
                    bank="SH-BANK",
                    agrees=True,
                    ours="0",
                    theirs="0",
                    **period,
                )
            for _, line in sorted(day_lines, key=lambda item: item[0]):
                out.write(line + "\n")
                count += 1
            day_lines.clear()
            day += timedelta(days=1)
    return count


def _work_day(add: Any, rng: random.Random, day: date, worked: int, cases: int) -> None:
    """A tenth of the cases called (each every second week, as the cycle's nodes ask), a
    two-hundredth visited."""
    for n in range(worked % 10, cases, 10):
        minute = rng.randrange(60)
        add(
            f"{day}T17:{minute % 30 + 10:02d}",
            "contact.recorded",
            f"C{n % 50}",
            n,
            record_id=f"R{day}-{n}",
            contacted_at=f"{day}T10:{minute:02d}:00+08:00",
            channel="call",
            party_id="borrower",
            outcome="connected",
        )
    for n in range(day.toordinal() % 200, cases, 200):
        record = f"V{day}-{n}"
        add(
            f"{day}T17:45",
            "contact.recorded",
            "F1",
            n,
            record_id=record,
            contacted_at=f"{day}T14:00:00+08:00",
            channel="field_visit",
            party_id="borrower",
            outcome="connected",
            recording_ref=f"rec/{record}.m4a",
            recording_digest=ZERO,
        )
        review = day + timedelta(days=1 if day.weekday() < 4 else 3)
        add(f"{review}T10:00", "visit.reviewed", "S1", n, record_id=record, result="accepted")


def _last_day(months: int) -> date:
    """The last day of the ``months``-th month of the year."""
    following = date(YEAR + months // 12, months % 12 + 1, 1)
    return following - timedelta(days=1)


def _intake(day: str, cases: int) -> dict[str, Any]:
    return {
        "batch_id": BATCH,
        "bank": "SH-BANK",
        "source": "bench.jsonl",
        "source_digest": ZERO,
        "received_at": f"{day}T09:30:00+08:00",
        "completed_at": f"{day}T10:30:00+08:00",
        "target_minutes": 120,
        "elapsed_seconds": 3600,
        "late": False,
        "lines": cases,
        "accepted": cases,
        "rejected": 0,
        "cases_digest": ZERO,
        "errors_digest": ZERO,
        "backups": [
            {"name": "b1", "manifest": ZERO, "files": 4, "site": "branch"},
            {"name": "b2", "manifest": ZERO, "files": 4, "site": "head_office"},
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 cases")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    cases = 2_000 if args.quick else args.cases
    dunning = str(Path(sys.executable).parent / "dunning")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        # A tenth of the cases for a year, then all of them for a month and for a year: the
        # second and third hold the same open cases, the third's log twelve times longer.
        for size, months in ((cases // 10, 12), (cases, 1), (cases, 12)):
            log = Path(tmp) / f"events-{size}-{months}.jsonl"
            lines = generate(log, size, args.seed, months)
            last = _last_day(months)
            seconds, peak, status = measured(
                [
                    dunning,
                    "audit",
                    "--procedure",
                    str(PROCEDURE),
                    "--as-of",
                    f"{last + timedelta(days=20)}T09:00:00+08:00",
                    "--from",
                    f"{YEAR}-01-01",
                    "--to",
                    str(last),
                    "--format",
                    "json",
                    str(log),
                ]
            )
            if status not in (0, 1):
                print(f"dunning audit failed with exit {status} on {size} cases", file=sys.stderr)
                return 1
            rows.append(
                {
                    "cases": size,
                    "months": months,
                    "event_lines": lines,
                    "log_mb": round(log.stat().st_size / 2**20),
                    "seconds": round(seconds, 1),
                    "lines_per_second": round(lines / seconds),
                    "peak_rss_mb": round(peak / 1024),
                    "exit": status,
                }
            )
    tenth, month, year = rows
    growth = year["peak_rss_mb"] / max(month["peak_rss_mb"], 1)
    per_case = (year["peak_rss_mb"] - tenth["peak_rss_mb"]) * 2**20 / (cases - cases // 10)
    report = {
        "date": date.today().isoformat(),
        "results": rows,
        "peak_rss_growth": growth,
        "bytes_per_open_case": round(per_case),
    }
    print(f"dunning audit ({os.cpu_count()} CPUs)\n")
    print(
        f"{'cases':>9}{'months':>8}{'event lines':>13}{'log MB':>8}{'seconds':>9}"
        f"{'lines/s':>10}{'peak RSS MB':>13}"
    )
    for row in rows:
        print(
            f"{row['cases']:>9,}{row['months']:>8}{row['event_lines']:>13,}{row['log_mb']:>8}"
            f"{row['seconds']:>9}{row['lines_per_second']:>10,}"
            f"{row['peak_rss_mb']:>13}"
        )
    longer = year["event_lines"] / month["event_lines"]
    print(
        f"\npeak memory × {growth:.2f} for a log × {longer:.1f} of the same cases; "
        f"about {per_case:,.0f} bytes per open case"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
