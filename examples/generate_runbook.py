"""Generate examples/runbook/: the lender's inputs to sixty days of dunning (docs/runbook.md).

Deterministic (same --seed, same bytes). The runbook takes examples/portfolio.jsonl from
2026-12-01 to 2027-01-29 with the command line alone; dunning makes the placement events, and
these are the inputs the rest of the lender's systems give it:

* ``ledger.jsonl`` — the bank's payments of the sixty days: some borrowers placed on day 1 or 8
  pay (in full or in part) while their agency holds the case, some in-house borrowers pay too,
  and a few current customers pay an instalment on its due date;
* ``cases-2027-01-29.jsonl`` — the case file on day 60: the portfolio with those payments
  booked on each loan (cards, which the lender's policy does not cover, as they were);
* ``claim-AG-01-2026-12.csv`` — what AG-01 claims for December, in its own spreadsheet, with
  two deliberate mismatches: a wrong amount and a payment it never arranged.

The placements of days 1 and 8 are made here as the runbook makes them (the same policy,
agencies, moments and notices), to know which cases each agency holds.

    python examples/generate_runbook.py --out examples/runbook [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from dunning import Placer, Portfolio, load_agencies, load_policy
from dunning.events import PlacementState
from dunning.placement.history import notice_events, replay
from dunning.settlement.statements import settle
from generate_settlement import claim_sheet

ROOT = Path(__file__).resolve().parent.parent
CST = timezone(timedelta(hours=8))
DAY_1 = datetime(2026, 12, 1, 9, 0, tzinfo=CST)
DAY_8 = datetime(2026, 12, 8, 9, 0, tzinfo=CST)
DAY_60 = date(2027, 1, 29)
BOOK = Portfolio(overdue_customers=770)  # the whole book's figure the runbook gives
#: The notices the SMS gateway reports undelivered on day 1 (the runbook's --failed).
FAILED = ("C-00040", "C-00742")
CENT = Decimal("0.01")


def placements(lines: list[str]) -> list[str]:
    """The events of days 1 and 8, as the runbook appends them."""
    placer = Placer(
        load_policy(ROOT / "rules" / "lender.yaml"), load_agencies(ROOT / "rules" / "agencies.yaml")
    )
    events: list[str] = []
    for day, failed in ((DAY_1, FAILED), (DAY_8, ())):
        run = placer.place(lines, as_of=day, events=events, portfolio=BOOK)
        events += [e.model_dump_json() for e in run.events]
        noticed = notice_events(replay(events, until=day), day.replace(hour=18), failed)
        events += [e.model_dump_json() for e in noticed]
    return events


def generate(portfolio: Path, seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    lines = portfolio.read_text(encoding="utf-8").splitlines()
    cases = {json.loads(line)["case_id"]: json.loads(line) for line in lines}
    events = placements(lines)
    history = replay(events)
    held = {
        case_id: entry
        for case_id, entry in history.open.items()
        if entry.state is PlacementState.PLACED
    }
    ledger: list[dict[str, Any]] = []
    for case_id in sorted(held):
        entry, case = held[case_id], cases[case_id]
        if case["loan"]["product"] != "consumer_finance" or rng.random() > 0.45:
            continue
        placed = entry.placed_on or DAY_1.date()
        start = max(placed, DAY_1.date()) + timedelta(days=3)
        day = start + timedelta(days=rng.randrange(max((DAY_60 - start).days - 5, 1)))
        due = entry.total_due or Decimal("1000.00")
        share = Decimal(1) if rng.random() < 0.3 else Decimal(rng.choice([10, 20, 30, 50])) / 100
        amount = (due * share).quantize(CENT)
        ledger.append(
            {"date": day.isoformat(), "amount": f"{amount:.2f}", "loan_id": case["loan"]["loan_id"]}
        )
    in_house = [
        c
        for case_id, c in sorted(cases.items())
        if case_id not in history.open and c["loan"]["product"] != "credit_card"
    ]
    for case in rng.sample(in_house, 40):
        day = DAY_1.date() + timedelta(days=rng.randrange(55))
        amount = (
            Decimal(case["loan"]["principal"]) * Decimal(rng.choice([2, 3, 5])) / 100
        ).quantize(CENT)
        ledger.append(
            {"date": day.isoformat(), "amount": f"{amount:.2f}", "case_id": case["case_id"]}
        )
    ledger.sort(key=lambda line: (line["date"], line.get("case_id", line.get("loan_id", ""))))
    for number, line in enumerate(ledger, start=1):
        line["reference"] = f"BK{line['date'].replace('-', '')}{number:05d}"
    by_loan = {c["loan"]["loan_id"]: c for c in cases.values()}
    paid: dict[str, list[dict[str, str]]] = {}
    for line in ledger:
        case = by_loan[line["loan_id"]] if "loan_id" in line else cases[line["case_id"]]
        payment = {"date": line["date"], "amount": line["amount"], "reference": line["reference"]}
        paid.setdefault(case["case_id"], []).append(payment)
    # The lender's own work on the cases it kept, as its systems record it: an SMS on day 1 and
    # a call every week (what the in-house cost of `dunning costs` counts).
    worked = {c["case_id"] for c in in_house if c["case_id"] not in paid}
    day_60 = []
    for case_id, case in cases.items():
        if case["loan"]["product"] != "credit_card" and case_id in paid:
            case = {**case, "payments": [*case.get("payments", []), *paid[case_id]]}
        if case_id in worked and rng.random() < 0.5:
            case = {**case, "contacts": [*case.get("contacts", []), *weekly(case, rng)]}
        day_60.append(json.dumps(case, ensure_ascii=False))
    files = {
        "ledger.jsonl": "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in ledger),
        "cases-2027-01-29.jsonl": "".join(line + "\n" for line in day_60),
    }
    files["claim-AG-01-2026-12.csv"] = claim(files["ledger.jsonl"], events)
    return files


def weekly(case: dict[str, Any], rng: random.Random) -> list[dict[str, str]]:
    """An SMS on day 1, then a call a week, to the borrower."""
    party = case["borrower"]["party_id"]
    first = DAY_1.replace(hour=10)
    found = [{"at": first.isoformat(), "channel": "sms", "party_id": party, "outcome": "delivered"}]
    for week in range(1, 9):
        at = first + timedelta(days=7 * week, hours=rng.randrange(6))
        outcome = rng.choice(["no_answer", "connected", "no_answer", "promised"])
        found.append(
            {"at": at.isoformat(), "channel": "call", "party_id": party, "outcome": outcome}
        )
    return found


def claim(ledger: str, events: list[str]) -> str:
    """AG-01's claim for December: the lender's statement as the agency sends it, with a wrong
    amount and a payment of a case it never held."""
    with settle(
        ledger.splitlines(),
        events=events,
        agencies=load_agencies(ROOT / "rules" / "agencies.yaml"),
        policy=load_policy(ROOT / "rules" / "lender.yaml"),
        start=date(2026, 12, 1),
        end=date(2026, 12, 31),
    ) as settlement:
        (statement,) = settlement.statements("AG-01")
        rows = [
            [line.reference, line.case_id, line.day, line.amount, line.rate, line.commission]
            for line in statement.lines()
        ]
        stranger = next(line for line in settlement.lines("in_house") if line.period)
    rows[1][3] = rows[1][3] + Decimal("100.00")  # a wrong amount, and its commission
    rows[1][5] = (rows[1][3] * rows[1][4]).quantize(CENT, ROUND_HALF_UP)
    commission = (stranger.amount * rows[0][4]).quantize(CENT, ROUND_HALF_UP)
    rows.append(
        [
            stranger.reference,
            stranger.case_id,
            stranger.day,
            stranger.amount,
            rows[0][4],
            commission,
        ]
    )
    return claim_sheet(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portfolio", default=str(ROOT / "examples" / "portfolio.jsonl"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in generate(Path(args.portfolio), args.seed).items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")


if __name__ == "__main__":
    main()
