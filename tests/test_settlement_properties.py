"""Properties of settlement over generated placements and ledgers.

Histories of recalls, returns and re-placements with other agencies; ledgers of payments,
partial payments, reversals (some beyond the payment), late payments and repeated references.
An oracle that marks, day by day, which agency held each case (or was in its grace period)
says which lines earn commission; the settlement must agree, and add up to the fen.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dunning import load_policy
from dunning.agencies import load_agencies
from dunning.settlement.statements import CATEGORIES, settle
from dunning.summary import render_settlement

ROOT = Path(__file__).resolve().parent.parent
POLICY = load_policy(ROOT / "rules" / "lender.yaml")
GRACE = POLICY.ir.placement.grace_days
AGENCIES = load_agencies(ROOT / "rules" / "agencies.yaml")
DAY0 = date(2026, 1, 1)
RATES = ["0.07", "0.14", "0.20", "0.25"]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, list[tuple[Any, ...]]]]:
    """Events for a few cases, and each case's windows (agency, rate, placed, ended)."""
    events: list[dict[str, Any]] = []
    windows: dict[str, list[tuple[Any, ...]]] = {}
    for n in range(draw(st.integers(1, 4))):
        case = f"C{n}"
        day = DAY0 + timedelta(days=draw(st.integers(0, 30)))
        for k in range(draw(st.integers(0, 3))):
            agency = draw(st.sampled_from(["AG-01", "AG-02", "AG-03"]))
            rate = draw(st.sampled_from(RATES))
            pid = f"{case}/{agency}/{k}"
            placed = day + timedelta(days=draw(st.integers(0, 10)))

            def add(
                kind: str,
                on: date,
                case: str = case,
                pid: str = pid,
                agency: str = agency,
                **more: Any,
            ) -> None:
                events.append(
                    {
                        "type": f"placement.{kind}",
                        "at": f"{on.isoformat()}T08:00:00+08:00",
                        "case_id": case,
                        "payload": {
                            "placement_id": pid,
                            "agency_id": agency,
                            "day": on.isoformat(),
                            "reason": "r",
                            **more,
                        },
                    }
                )

            add("proposed", day)
            add("placed", placed, commission_rate=rate, loan_id=f"L{n}")
            if draw(st.booleans()):
                windows.setdefault(case, []).append((agency, D(rate), placed, None))
                break
            ended = placed + timedelta(days=draw(st.integers(0, 40)))
            add(draw(st.sampled_from(["recalled", "returned"])), ended)
            windows.setdefault(case, []).append((agency, D(rate), placed, ended))
            day = ended + timedelta(days=draw(st.integers(0, 20)))
    return events, windows


@st.composite
def ledgers(draw: st.DrawFn, edges: list[date], cases: int = 5) -> list[dict[str, Any]]:
    """Payments, many of them on the days where a window's edge makes the difference."""
    near = [e + timedelta(days=d) for e in edges for d in (-1, 0, 1, GRACE, GRACE + 1)]
    anyday = st.builds(lambda d: DAY0 + timedelta(days=d), st.integers(0, 200))
    days = st.one_of(st.sampled_from(near), anyday) if near else anyday
    lines: list[dict[str, Any]] = []
    for n in range(draw(st.integers(0, 25))):
        case = f"C{draw(st.integers(0, cases - 1))}"
        line: dict[str, Any] = {
            "reference": f"P{n}",
            "date": draw(days).isoformat(),
            "amount": str(D(draw(st.integers(1, 500_000))).scaleb(-2)),
        }
        if draw(st.integers(0, 5)) == 0:
            line["loan_id"] = f"L{case[1:]}"
        else:
            line["case_id"] = case
        lines.append(line)
        if lines and draw(st.integers(0, 4)) == 0:  # a reversal of an earlier line
            original = draw(st.sampled_from(lines))
            share = draw(st.sampled_from([D(1), D("0.5"), D("0.333"), D("1.2")]))
            amount = (D(original["amount"]) * share).quantize(D("0.01"))
            if amount > 0:
                later = date.fromisoformat(original["date"]) + timedelta(draw(st.integers(-2, 60)))
                reversal = {
                    **original,
                    "reference": f"R{n}",
                    "date": later.isoformat(),
                    "amount": str(amount),
                    "reverses": original["reference"],
                }
                lines.append(reversal)
        if draw(st.integers(0, 15)) == 0:  # a repeated reference
            lines.append({**draw(st.sampled_from(lines))})
    return lines


def holder(windows: list[tuple[Any, ...]], day: date) -> tuple[str, D] | None:
    """Day by day, as the guide says: held from placement to the day it came back, then the
    grace days while no other agency holds the case."""
    marks: dict[date, tuple[str, D]] = {}
    for agency, rate, placed, ended in windows:
        last = ended if ended is not None else day
        for offset in range((last - placed).days + 1):
            marks[placed + timedelta(days=offset)] = (agency, rate)
    if day in marks:
        return marks[day]
    # The latest to end first; of two that ended the same day, the later placement.
    order = sorted(range(len(windows)), key=lambda i: (windows[i][3] or day, i), reverse=True)
    for agency, rate, _, ended in (windows[i] for i in order):
        if ended is not None and ended < day <= ended + timedelta(days=GRACE):
            return agency, rate
    return None


def edges(windows: dict[str, list[tuple[Any, ...]]]) -> list[date]:
    return [day for found in windows.values() for w in found for day in w[2:] if day is not None]


@st.composite
def books(draw: st.DrawFn) -> tuple[list[Any], dict[str, list[tuple[Any, ...]]], list[Any]]:
    """Placement events, each case's windows, and a ledger around their edges."""
    events, windows = draw(histories())
    return events, windows, draw(ledgers(edges(windows)))


@given(books(), st.sampled_from(["month", "week"]))
def test_every_line_once_commission_only_in_the_window_and_sums_to_the_fen(
    book: tuple[list[Any], dict[str, list[tuple[Any, ...]]], list[Any]], period: str
) -> None:
    events, windows, ledger = book
    with settle(ledger, events=events, agencies=AGENCIES, policy=POLICY, period=period) as s:  # type: ignore[arg-type]
        lines = list(s.lines())
        # Every ledger line exactly once, in order; counts and amounts add up.
        assert [x.line for x in lines] == list(range(1, len(ledger) + 1))
        accounting = s.accounting
        assert accounting.balanced
        assert accounting.ledger.count == len(ledger)
        for category in CATEGORIES:
            mine = [x for x in lines if x.category == category]
            tally = accounting.categories[category]
            assert tally.count == len(mine)
            assert tally.amount == sum((x.amount or D(0) for x in mine), D(0))
        # Statements: totals are the sums of their lines; every commission line in one.
        seen: Counter[str | None] = Counter()
        for statement in s.statements():
            mine = list(statement.lines())
            seen.update(x.reference for x in mine)
            assert statement.totals.count == len(mine)
            assert statement.totals.amount == sum((x.amount or D(0) for x in mine), D(0))
            assert statement.totals.commission == sum((x.commission or D(0) for x in mine), D(0))
        assert sum(seen.values()) == accounting.categories["commission"].count
        # Commission only inside a placement's window (plus grace), at its rate, rounded half-up.
        by_reference = {x.reference: x for x in lines if x.category != "rejected"}
        for x in lines:
            if x.category == "rejected":
                continue
            assert x.day is not None
            assert x.amount is not None
            payment = by_reference[x.reverses] if x.reverses else x
            assert payment.day is not None
            held = holder(windows.get(x.case_id or "", []), payment.day)
            if x.category == "commission":
                assert held == (x.agency_id, x.rate)
                assert x.commission is not None
                assert x.rate is not None
                exact = abs(x.amount) * x.rate
                rounded = exact.quantize(D("0.01"), rounding=ROUND_HALF_UP)
                assert x.commission == (rounded if x.amount > 0 else -rounded)
            else:
                assert held is None
                assert x.commission is None
        # Reversals never exceed their payment.
        reversed_: Counter[str] = Counter()
        for x in lines:
            if x.reverses and x.category != "rejected":
                assert x.amount is not None
                reversed_[x.reverses] -= int(x.amount * 100)
        for reference, cents in reversed_.items():
            original = by_reference[reference].amount
            assert original is not None
            assert cents <= original * 100


@given(books())
def test_settling_again_gives_the_same_bytes(
    book: tuple[list[Any], dict[str, list[tuple[Any, ...]]], list[Any]],
) -> None:
    events, _, ledger = book

    def output() -> str:
        out = io.StringIO()
        with settle(ledger, events=events, agencies=AGENCIES, policy=POLICY) as s:
            s.write_json(out)
            s.write_jsonl(out)
            render_settlement(s, out)
        return out.getvalue()

    assert output() == output()
