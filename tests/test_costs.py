"""What collection costs: in-house cost and commission per 100 recovered, curves, roll rates."""

from __future__ import annotations

import copy
import csv
import io
import json
import subprocess
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from conftest import BASE_CASE, run_dunning
from dunning import load_policy
from dunning.agencies import load_agencies
from dunning.settlement.costs import CostFigures, cost_report

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "settlement"
POLICY = load_policy(ROOT / "rules" / "lender.yaml")  # sms 0.05, call 3.00, visit 200.00; 30 days
AGENCIES = load_agencies(ROOT / "rules" / "agencies.yaml")


def contact(at: str, channel: str, agency: str | None = None) -> dict[str, Any]:
    found = {
        "at": f"{at}T10:00:00+08:00",
        "channel": channel,
        "party_id": "P-0001",
        "outcome": "connected" if channel == "call" else "delivered",
    }
    if agency:
        found["agency_id"] = agency
    return found


def case(case_id: str, contacts: list[dict[str, Any]]) -> dict[str, Any]:
    found = copy.deepcopy(BASE_CASE)
    found["case_id"] = case_id
    found["loan"]["loan_id"] = "L-" + case_id
    found["contacts"] = contacts
    return found


#: C-A in-house: an SMS on 10-01, a call on 10-05, a visit on 08-01 (outside the period).
#: C-B with AG-01 at 14 % from 2026-09-01 (owed 10,000.00 when placed), its own calls not ours.
CASES = [
    case(
        "C-A",
        [
            contact("2026-10-01", "sms"),
            contact("2026-10-05", "call"),
            contact("2026-08-01", "field_visit"),
        ],
    ),
    case("C-B", [contact("2026-10-02", "call", agency="AG-01")]),
]
EVENTS = [
    {
        "type": "placement.placed",
        "at": "2026-09-01T08:00:00+08:00",
        "case_id": "C-B",
        "payload": {
            "placement_id": "C-B/AG-01/P",
            "agency_id": "AG-01",
            "day": "2026-09-01",
            "reason": "r",
            "commission_rate": "0.14",
            "total_due": "10000.00",
        },
    },
]
LEDGER = [
    {"reference": "A1", "case_id": "C-A", "date": "2026-10-06", "amount": "300.00"},  # call
    {"reference": "A2", "case_id": "C-A", "date": "2026-11-20", "amount": "50.00"},  # > 30 days
    {"reference": "B1", "case_id": "C-B", "date": "2026-09-15", "amount": "1000.00"},  # month 0
    {"reference": "B2", "case_id": "C-B", "date": "2026-11-03", "amount": "500.00"},  # month 2
    {"reference": "X1", "case_id": "C-X", "date": "2026-10-09", "amount": "7.00"},  # no case
]


def report(**options: Any) -> Any:
    return cost_report(
        CASES,
        ledger=LEDGER,
        events=EVENTS,
        agencies=AGENCIES,
        policy=POLICY,
        start=date(2026, 10, 1),
        end=date(2026, 11, 30),
        **options,
    )


def test_costs_recoveries_and_attribution_by_hand() -> None:
    r = report()
    # In-house: SMS 0.05 + call 3.00 in the period (the visit of August is outside it).
    assert r.total.in_house_cost == D("3.05")
    assert r.total.contacts == 2
    # In-house recovered: A1 300.00 + A2 50.00 + X1 7.00 (a case not in the file).
    assert r.total.in_house_recovered == D("357.00")
    assert r.total.in_house_per_100 == D("0.85")  # 3.05 / 357.00 × 100 = 0.854…
    # A1 came the day after the call: the call's; A2 came 46 days after it: unattributed.
    assert r.by_channel["call"].in_house_recovered == D("300.00")
    assert r.by_channel["unattributed"].in_house_recovered == D("57.00")
    assert r.by_channel["sms"].in_house_cost == D("0.05")
    # Through AG-01: B2 in the period (B1 is in September), 500.00 × 14 % = 70.00.
    assert r.total.agency_recovered == D("500.00")
    assert r.total.commission == D("70.00")
    assert r.by_agency["AG-01"].agency_per_100 == D("14.00")
    assert r.unknown_case_lines == 1
    assert r.by_product["unknown"].in_house_recovered == D("7.00")


def test_recovery_curves_by_placement_cohort() -> None:
    cohort = report().cohorts["2026-09"]
    assert cohort["placements"] == 1
    assert cohort["placed_amount"] == D("10000.00")
    # September (m0) 1,000.00; October (m1) nothing; November (m2) 500.00 more.
    assert cohort["recovered"] == [D("1000.00"), D("1000.00"), D("1500.00")]
    assert cohort["rates"] == [D("0.1"), D("0.1"), D("0.15")]


def test_roll_rates_between_two_snapshots() -> None:
    later = [*CASES[:1], case("C-N", [])]  # C-B is gone (closed), C-N is new
    r = report(snapshots=((CASES, date(2026, 3, 1)), (later, date(2026, 5, 1))))
    roll = r.roll
    assert roll is not None
    # BASE_CASE's first instalment is due 2026-02-15 and nothing is paid: M1 on 03-01,
    # M3 on 05-01.
    assert roll.counts["M1"]["M3"] == 1
    assert roll.counts["M1"]["closed"] == 1
    assert roll.rate("M1", "M3") == D("0.5")
    assert roll.new["M3"] == 1


def test_the_rows_add_up_to_the_totals_on_the_example() -> None:
    with (
        (EXAMPLE / "ledger.jsonl").open(encoding="utf-8") as ledger,
        (EXAMPLE / "events.jsonl").open(encoding="utf-8") as events,
        (ROOT / "examples" / "portfolio.jsonl").open(encoding="utf-8") as cases,
    ):
        r = cost_report(
            cases,
            ledger=ledger,
            events=events,
            agencies=AGENCIES,
            policy=POLICY,
            start=date(2026, 7, 1),
            end=date(2026, 9, 30),
        )
    assert_rows_add_up(r)
    assert r.total.in_house_per_100 is not None
    assert r.total.agency_per_100 is not None


def assert_rows_add_up(r: Any) -> None:
    def total(rows: dict[str, CostFigures], name: str) -> Any:
        return sum((getattr(f, name) for f in rows.values()), D(0))

    for name in ("in_house_recovered", "in_house_cost", "agency_recovered", "commission"):
        assert total(r.by_stage, name) == getattr(r.total, name), name
        assert total(r.by_product, name) == getattr(r.total, name), name
    assert total(r.by_channel, "in_house_recovered") == r.total.in_house_recovered
    assert total(r.by_channel, "in_house_cost") == r.total.in_house_cost
    assert total(r.by_agency, "agency_recovered") == r.total.agency_recovered
    assert total(r.by_agency, "commission") == r.total.commission
    assert sum(f.contacts for f in r.by_stage.values()) == r.total.contacts
    cells = [f for stages in r.by_product_stage.values() for f in stages.values()]
    for name in ("in_house_recovered", "in_house_cost", "agency_recovered", "commission"):
        assert sum((getattr(f, name) for f in cells), D(0)) == getattr(r.total, name), name
    for product, stages in r.by_product_stage.items():
        recovered = sum((f.in_house_recovered for f in stages.values()), D(0))
        assert recovered == r.by_product[product].in_house_recovered


def test_a_repayment_while_current_is_no_recovery_and_routes_compare_like_for_like() -> None:
    # In-house "recovered" counted instalments paid on time (11,645 in an October of the
    # example), and the in-house cost of every product was set against consumer-finance money.
    on_time = {"reference": "A0", "case_id": "C-A", "date": "2026-02-10", "amount": "80.00"}
    r = cost_report(
        CASES,
        ledger=[on_time, *LEDGER],
        events=EVENTS,
        agencies=AGENCIES,
        policy=POLICY,
        start=date(2026, 2, 1),
        end=date(2026, 11, 30),
    )
    assert r.current.in_house_recovered == D("80.00")  # due 02-15: current the day before
    assert r.total.in_house_recovered == D("357.00")  # A1, A2, X1 as before, not A0
    assert_rows_add_up(r)
    cell = r.by_product_stage["consumer_finance"]
    assert list(cell) == [b for b in POLICY.terms.bands.labels if b in cell]  # in band order
    data = r.to_dict()
    assert data["paid_while_current"]["in_house_recovered"] == "80.00"
    rows = list(csv.reader(io.StringIO(_csv(r))))
    assert ["paid_while_current", "all", "in_house_recovered", "80.00"] in rows
    assert any(
        row[0] == "by_product_stage" and row[1].startswith("consumer_finance/") for row in rows
    )


def _csv(r: Any) -> str:
    out = io.StringIO()
    r.write_csv(out)
    return out.getvalue()


LEDGER_LINES = (EXAMPLE / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
EVENT_LINES = (EXAMPLE / "events.jsonl").read_text(encoding="utf-8").splitlines()
PORTFOLIO = (ROOT / "examples" / "portfolio.jsonl").read_text(encoding="utf-8").splitlines()


@given(
    st.lists(st.sampled_from(LEDGER_LINES), max_size=40, unique=True),
    st.integers(0, 300),
    st.integers(0, 120),
)
def test_rows_add_up_for_any_ledger_and_period(lines: list[str], offset: int, days: int) -> None:
    start = date.fromordinal(date(2026, 1, 1).toordinal() + offset)
    end = date.fromordinal(start.toordinal() + days)
    r = cost_report(
        PORTFOLIO[:120],
        ledger=lines,
        events=EVENT_LINES,
        agencies=AGENCIES,
        policy=POLICY,
        start=start,
        end=end,
    )
    assert_rows_add_up(r)


# --- the command line ---------------------------------------------------------------------------

COSTS = (
    "costs",
    "--policy",
    "rules/lender.yaml",
    "--agencies",
    "rules/agencies.yaml",
    "--events",
    "examples/settlement/events.jsonl",
    "--ledger",
    "examples/settlement/ledger.jsonl",
)


def dunning(*args: str) -> subprocess.CompletedProcess[str]:
    return run_dunning(*args, cwd=ROOT)


def test_dunning_costs_in_every_format() -> None:
    period = ("--from", "2026-10-01", "--to", "2026-10-31")
    rolls = (
        "--snapshot",
        "examples/portfolio.jsonl=2026-10-28",
        "--snapshot",
        "examples/portfolio.jsonl=2026-11-28",
    )
    table = dunning(*COSTS, *period, *rolls, "examples/portfolio.jsonl")
    assert table.returncode == 0, table.stderr
    assert "\n  In-house recovered  125,235.32\n" in table.stdout  # the routes, headline (docs)
    assert "\n  Commission per 100       17.65\n" in table.stdout
    assert "Roll rates 2026-10-28 → 2026-11-28" in table.stdout
    data = json.loads(
        dunning(*COSTS, *period, "--format", "json", "examples/portfolio.jsonl").stdout
    )
    assert D(data["total"]["in_house_per_100"]) < D(data["total"]["agency_per_100"])
    as_csv = dunning(*COSTS, *period, "--format", "csv", "examples/portfolio.jsonl").stdout
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert {r["section"] for r in rows} >= {"total", "by_stage", "by_channel", "cohorts"}
    assert dunning(*COSTS, "examples/portfolio.jsonl").returncode == 2  # no period
    one = dunning(*COSTS, *period, rolls[0], rolls[1], "examples/portfolio.jsonl")
    assert one.returncode == 2
    assert "two --snapshot" in one.stderr
