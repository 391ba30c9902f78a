"""Generate examples/settlement/: a year of placements, the payment ledger, and an agency's claim.

Deterministic (same --seed, same bytes). Built on the cases of examples/portfolio.jsonl:

* ``events.jsonl`` — placement events of 2026 for consumer-finance cases beyond M3: proposals,
  placements a week later at the seed's rate for the stage, recalls at the term's end or earlier,
  cases the agency gave back, and re-placements with another agency;
* ``ledger.jsonl`` — the lender's payments for those cases and for cases never placed: partial
  payments, payments before a placement, within the grace period after a recall and after it,
  lines that name only the loan, and reversals (one partial, one in a later month);
* ``claim-AG-01-2026-10.csv`` — what AG-01 claims for October 2026, in the agency's own
  spreadsheet (Chinese headers, percentages, thousands separators), with four deliberate
  mismatches: a line it left out, a line it should not claim, a wrong amount and a wrong rate.

    python examples/generate_settlement.py --portfolio examples/portfolio.jsonl \
        --out examples/settlement [--seed 11]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from dunning import assess, load_policy
from dunning.agencies import load_agencies
from dunning.settlement.statements import settle

ROOT = Path(__file__).resolve().parent.parent
AGENCIES = ["AG-01", "AG-02", "AG-03"]
# Each agency's placement term: its contract's (rules/agencies.yaml), else the policy's 90 days.
TERM_DAYS = {"AG-01": 120}
# The seed's reference commission table (docs/seed.md §2), by dpd when the case was placed.
COMMISSION = [(90, "0.07"), (120, "0.14"), (180, "0.20"), (10**6, "0.25")]
START, END = date(2026, 1, 5), date(2026, 11, 27)
AS_OF = date(2026, 11, 28)  # the portfolio's date


def rate_for(dpd: int) -> str:
    return next(rate for limit, rate in COMMISSION if dpd <= limit)


def event(
    kind: str, case: dict[str, Any], pid: str, agency: str, day: date, **extra: Any
) -> dict[str, Any]:
    return {
        "type": f"placement.{kind}",
        "at": f"{day.isoformat()}T08:00:00+08:00",
        "actor": agency if kind == "returned" else "dunning",
        "case_id": case["case_id"],
        "payload": {
            "placement_id": pid,
            "agency_id": agency,
            "loan_id": case["loan"]["loan_id"],
            "day": day.isoformat(),
            **extra,
        },
    }


def history(
    case: dict[str, Any], rng: random.Random
) -> tuple[list[dict[str, Any]], list[tuple[date, date | None]]]:
    """A case's placement events, and the days it was held (placed, came back)."""
    events, held = [], []
    overdue_since = AS_OF - timedelta(days=assess(case, AS_OF).dpd)
    earliest = max(START, overdue_since + timedelta(days=91))  # beyond M3, as the seed says
    day = earliest + timedelta(days=rng.randrange(0, max(1, (END - earliest).days - 60)))
    agency = rng.choice(AGENCIES)
    for _ in range(2):
        pid = f"{case['case_id']}/{agency}/{day.isoformat()}"
        placed = day + timedelta(days=7)
        dpd = (placed - overdue_since).days
        owed = assess(case, placed).total_due
        term_ends = placed + timedelta(days=TERM_DAYS.get(agency, 90) - 1)
        events.append(event("proposed", case, pid, agency, day, reason="outsourced"))
        events.append(
            event(
                "placed",
                case,
                pid,
                agency,
                placed,
                reason="notice_lead_time_passed",
                commission_rate=rate_for(dpd),
                dpd=dpd,
                total_due=f"{owed:.2f}",
                term_ends=term_ends.isoformat(),
            )
        )
        fate = rng.random()
        if term_ends >= END:  # still in its term at the end of the year's events
            held.append((placed, None))
            break
        # Recalled the day after its term ends (the recall rule term_end, on the next run), or
        # given back by the agency before.
        ended = (
            term_ends + timedelta(days=1)
            if fate < 0.8
            else placed + timedelta(days=rng.randrange(20, 80))
        )
        kind, reason = ("recalled", "term_end") if fate < 0.8 else ("returned", "cannot_reach")
        events.append(event(kind, case, pid, agency, ended, reason=reason))
        held.append((placed, ended))
        if rng.random() < 0.5:
            break
        day = ended + timedelta(days=rng.randrange(1, 20))
        agency = rng.choice([a for a in AGENCIES if a != agency])
        if day + timedelta(days=7) > END:
            break
    return events, held


def payments(
    case: dict[str, Any], held: list[tuple[date, date | None]], rng: random.Random
) -> list[dict[str, Any]]:
    """Payments of one case: some while held, some around the placement's edges."""
    lines = []
    days: list[date] = []
    for placed, ended in held:
        last = ended or END
        days += [
            placed + timedelta(days=rng.randrange(0, (last - placed).days + 1))
            for _ in range(rng.randrange(1, 4))
        ]
        if ended is not None and rng.random() < 0.4:  # just after: within the grace, or not
            days.append(min(ended + timedelta(days=rng.choice([3, 10, 15, 16, 40])), END))
    if held and rng.random() < 0.3:
        days.append(held[0][0] - timedelta(days=rng.randrange(5, 30)))
    for day in sorted(days):
        if day < START:
            continue
        amount = Decimal(rng.randrange(200, 6000)) + Decimal(rng.choice([0, 0, 0, 50, 33])) / 100
        line = {"reference": "", "date": day.isoformat(), "amount": f"{amount:.2f}"}
        if rng.random() < 0.15:
            line["loan_id"] = case["loan"]["loan_id"]
        else:
            line["case_id"] = case["case_id"]
        lines.append(line)
    return lines


def generate(portfolio: Path, seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    cases = [json.loads(line) for line in portfolio.read_text(encoding="utf-8").splitlines()]
    pool = [c for c in cases if c["loan"]["product"] == "consumer_finance"]
    dpd = {c["case_id"]: assess(c, AS_OF).dpd for c in pool}
    beyond_m3 = [c for c in pool if dpd[c["case_id"]] >= 120]
    placed = rng.sample(beyond_m3, min(len(beyond_m3), 120))
    within_m3 = [c for c in pool if 1 <= dpd[c["case_id"]] <= 90]
    in_house = rng.sample(within_m3, min(len(within_m3), 250))
    events: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    for case in sorted(placed, key=lambda c: c["case_id"]):
        found, held = history(case, rng)
        events += found
        ledger += payments(case, held, rng)
    for case in sorted(in_house, key=lambda c: c["case_id"]):
        overdue_since = max(START, AS_OF - timedelta(days=dpd[case["case_id"]]))
        for _ in range(rng.randrange(1, 3)):
            day = overdue_since + timedelta(
                days=rng.randrange(0, max(1, (END - overdue_since).days))
            )
            amount = Decimal(rng.randrange(100, 3000))
            ledger.append(
                {
                    "reference": "",
                    "case_id": case["case_id"],
                    "date": day.isoformat(),
                    "amount": f"{amount:.2f}",
                }
            )
    ledger.sort(key=lambda line: (line["date"], line.get("case_id", line.get("loan_id"))))
    for number, line in enumerate(ledger, start=1):
        line["reference"] = f"BK{line['date'].replace('-', '')}{number:05d}"
    # Reversals: a returned transfer in full the next day, and a partial charge-back a month on.
    by_case = [line for line in ledger if line.get("case_id") in {c["case_id"] for c in placed}]
    for original, delay, share in ((by_case[5], 1, Decimal(1)), (by_case[-40], 31, Decimal("0.5"))):
        day = date.fromisoformat(original["date"]) + timedelta(days=delay)
        amount = (Decimal(original["amount"]) * share).quantize(Decimal("0.01"))
        ledger.append(
            {
                "reference": f"RV{original['reference'][2:]}",
                "case_id": original["case_id"],
                "date": day.isoformat(),
                "amount": f"{amount:.2f}",
                "reverses": original["reference"],
                "note": "退票",
            }
        )
    ledger.sort(key=lambda line: (line["date"], line["reference"]))
    events.sort(key=lambda e: (e["at"], e["case_id"]))
    files = {
        "events.jsonl": "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events),
        "ledger.jsonl": "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in ledger),
    }
    files["claim-AG-01-2026-10.csv"] = claim(files)
    return files


def claim(files: dict[str, str]) -> str:
    """AG-01's claim for October 2026: the lender's statement as the agency would send it,
    with four deliberate mismatches."""
    policy = load_policy(ROOT / "rules" / "lender.yaml")
    agencies = load_agencies(ROOT / "rules" / "agencies.yaml")
    with settle(
        files["ledger.jsonl"].splitlines(),
        events=files["events.jsonl"].splitlines(),
        agencies=agencies,
        policy=policy,
        start=date(2026, 10, 1),
        end=date(2026, 10, 31),
    ) as settlement:
        (statement,) = settlement.statements("AG-01")
        lines = list(statement.lines())
        stranger = next(line for line in settlement.lines("in_house") if line.period)
    rows = [
        [line.reference, line.case_id, line.day, line.amount, line.rate, line.commission]
        for line in lines
    ]
    rows.pop(1)  # left out
    rows[2][3] = rows[2][3] + Decimal("100.00")  # a wrong amount
    rows[2][5] = None
    rows[3][4] = Decimal("0.20") if rows[3][4] != Decimal("0.20") else Decimal("0.25")  # wrong rate
    rows[3][5] = None
    never = [stranger.reference, stranger.case_id, stranger.day, stranger.amount]
    rows.append([*never, Decimal("0.14"), None])  # a case it never held
    for row in rows:
        if row[5] is None:
            row[5] = (row[3] * row[4]).quantize(Decimal("0.01"))
    return claim_sheet(rows)


def claim_sheet(rows: list[list[Any]]) -> str:
    """An agency's claim as its spreadsheet gives it (Chinese headers, percentages, thousands
    separators): one row per (reference, case, day, amount, rate, commission)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["序号", "还款流水号", "案件编号", "还款日期", "还款金额", "佣金比例", "佣金金额"]
    )
    for number, (reference, case_id, day, amount, rate, commission) in enumerate(rows, start=1):
        writer.writerow(
            [
                number,
                reference,
                case_id,
                f"{day:%Y/%m/%d}",
                f"{amount:,.2f}",
                f"{rate * 100:.0f}%",
                f"{commission:.2f}",
            ]
        )
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portfolio", default=str(ROOT / "examples" / "portfolio.jsonl"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in generate(Path(args.portfolio), args.seed).items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")


if __name__ == "__main__":
    main()
