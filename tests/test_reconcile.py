"""Reconciliation: an agency's claim against the lender's statement, every line in one category."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import run_dunning
from dunning.settlement.reconcile import read_claim_table, reconcile
from dunning.settlement.statements import SettledLine, Settlement, settle
from test_settlement_properties import AGENCIES, POLICY, books

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "settlement"


def october() -> Settlement:
    with (
        (EXAMPLE / "ledger.jsonl").open(encoding="utf-8") as ledger,
        (EXAMPLE / "events.jsonl").open(encoding="utf-8") as events,
    ):
        return settle(
            list(ledger),
            events=list(events),
            agencies=AGENCIES,
            policy=POLICY,
            start=date(2026, 10, 1),
            end=date(2026, 10, 31),
        )


def claim_of(lines: list[SettledLine]) -> list[dict[str, Any]]:
    """The statement as the agency would claim it, line for line."""
    return [
        {
            "reference": x.reference,
            "case_id": x.case_id,
            "date": x.day.isoformat(),
            "amount": str(x.amount),
            "rate": str(x.rate),
            "commission": str(x.commission),
        }
        for x in lines
        if x.day is not None
    ]


def test_the_example_claim_shows_each_planted_mismatch() -> None:
    agency = AGENCIES.get("AG-01")
    assert agency is not None
    with october() as settlement, (EXAMPLE / "claim-AG-01-2026-10.csv").open("rb") as claim:
        result = reconcile(
            settlement, read_claim_table(claim, columns=agency.claim_columns), agency_id="AG-01"
        )
    assert result.counts == {
        "matched": 10,
        "different": 2,
        "claimed_only": 1,
        "missing": 1,
        "duplicate": 0,
        "rejected": 0,
    }
    fields = sorted(f for line in result.of("different") for f, _, _ in line.differences)
    assert fields == ["amount", "commission", "commission", "rate"]
    (extra,) = result.of("claimed_only")
    assert extra.lender_view == "in_house"
    assert extra.claim_line == 14  # the CSV's line: the header is line 1
    assert not result.agrees
    assert result.lender_total == (13, D("36871.83"), D("7185.14"))
    assert result.agency_total[0] == 13


def test_a_statement_reconciled_with_itself_agrees() -> None:
    with october() as settlement:
        (statement,) = settlement.statements("AG-02")
        result = reconcile(settlement, claim_of(list(statement.lines())), agency_id="AG-02")
        assert result.agrees
        assert result.counts["matched"] == statement.totals.count


def test_duplicates_unreadable_lines_and_another_agencys_payments() -> None:
    with october() as settlement:
        ag01 = claim_of([x for s in settlement.statements("AG-01") for x in s.lines()])
        ag02 = claim_of([x for s in settlement.statements("AG-02") for x in s.lines()])
        claim: list[Any] = [*ag01, ag01[0], "{broken", ag02[0]]
        result = reconcile(settlement, claim, agency_id="AG-01")
        assert result.counts["duplicate"] == 1
        assert result.counts["rejected"] == 1
        (other,) = result.of("claimed_only")
        assert other.lender_view is not None
        assert other.lender_view.startswith("commission of AG-02")
        wrong = reconcile(settlement, [{**ag01[0], "agency_id": "AG-02"}], agency_id="AG-01")
        (rejected,) = wrong.of("rejected")
        assert rejected.error is not None
        assert rejected.error.problems[0].code == "agency_mismatch"


def test_a_claim_without_commissions_is_computed_from_its_rates() -> None:
    with october() as settlement:
        (statement,) = settlement.statements("AG-03")
        claim = [
            {k: v for k, v in x.items() if k != "commission"}
            for x in claim_of(list(statement.lines()))
        ]
        assert reconcile(settlement, claim, agency_id="AG-03").agrees
        bare = [{"reference": x["reference"], "amount": x["amount"]} for x in claim]
        result = reconcile(settlement, bare, agency_id="AG-03")
        assert result.agency_total[2] is None  # nothing to compute a commission from
        assert result.agrees  # every line and the amounts match; no commission was claimed


def test_an_excel_claim_reads_like_its_csv(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = list(
        csv.reader(io.StringIO((EXAMPLE / "claim-AG-01-2026-10.csv").read_text(encoding="utf-8")))
    )
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(rows[0])
    for row in rows[1:]:
        number, reference, case, day, amount, rate, commission = row
        year, month, mday = map(int, day.split("/"))
        amount_cell = float(amount.replace(",", ""))
        sheet.append(
            [
                int(number),
                reference,
                case,
                date(year, month, mday),
                amount_cell,
                float(rate[:-1]) / 100,
                float(commission),
            ]
        )
    book.save(tmp_path / "claim.xlsx")
    agency = AGENCIES.get("AG-01")
    assert agency is not None
    with october() as settlement, (tmp_path / "claim.xlsx").open("rb") as claim:
        read = read_claim_table(claim, columns=agency.claim_columns, kind="xlsx")
        result = reconcile(settlement, read, agency_id="AG-01")
    assert result.counts["matched"] == 10
    assert result.counts["different"] == 2
    # An Excel number has no trailing zeros: shown as the statement writes amounts (issue 38).
    (line,) = [x for x in result.of("different") if x.differences[0][0] == "amount"]
    assert line.differences[0] == ("amount", "5097.00", "5197.00")
    assert line.to_dict()["agency"]["amount"] == "5197.00"


def _with_rows(*rows: str) -> bytes:
    text = (EXAMPLE / "claim-AG-01-2026-10.csv").read_text(encoding="utf-8")
    return (text.rstrip("\n") + "\n" + "".join(row + "\n" for row in rows)).encode()


def _reconciled(claim: bytes) -> Any:
    agency = AGENCIES.get("AG-01")
    assert agency is not None
    with october() as settlement:
        read = read_claim_table(io.BytesIO(claim), columns=agency.claim_columns)
        return reconcile(settlement, read, agency_id="AG-01")


def test_a_claims_total_row_is_checked_not_rejected() -> None:
    # An Excel claim's 合计 row was an unreadable claim line (issue 38, item 1).
    plain = _reconciled(_with_rows())
    assert plain.claim_total is None and plain.total_agrees is None
    for row in ('合计,,,,"36,044.83",,6775.21', ",合计,,,36044.83,,6775.21", "Total,,,,36044.83,,"):
        result = _reconciled(_with_rows(row))
        assert result.counts == plain.counts, row  # no line more, none rejected
        assert result.total_agrees is True and result.to_dict()["claim_total"]["agrees"] is True
        assert result.claim_total is not None and result.claim_total.line == 15
    wrong = _reconciled(_with_rows(",合计,,,36044.83,,6800.00"))
    assert wrong.total_agrees is False and not wrong.agrees
    assert wrong.to_dict()["claim_total"] == {
        "line": 15,
        "amount": "36044.83",
        "commission": "6800.00",
        "agrees": False,
    }
    # A row without a reference in the middle of the table is still a line that cannot be read.
    text = _with_rows().decode().splitlines()
    middle = _reconciled(
        "\n".join([*text[:3], ",,C-1,2026/10/05,10.00,14%,1.40", *text[3:]]).encode()
    )
    assert middle.counts["rejected"] == 1 and middle.claim_total is None


def test_the_net_difference_is_said_in_every_form() -> None:
    # AG-01's claim against its statement: never stated before (issue 38, item 1).
    result = _reconciled(_with_rows())
    data = result.to_dict()
    out = io.StringIO()
    result.write_csv(out)
    lender, claimed = data["lender_total"], data["agency_total"]
    net = data["net_difference"]
    assert D(net["commission"]) == D(claimed["commission"]) - D(lender["commission"])
    assert net == {"amount": "-827.00", "commission": "-409.93"}
    last = list(csv.DictReader(io.StringIO(out.getvalue())))[-1]
    assert (last["category"], last["lender_commission"], last["agency_commission"]) == (
        "total",
        "7185.14",
        "6775.21",
    )
    assert last["differences"] == (
        "net difference (agency - lender): amount -827.00, commission -409.93"
    )
    from dunning.reports.document import build_document
    from dunning.reports.locales import locale
    from dunning.reports.text import render_text

    text = render_text(build_document("reconciliation", data), locale("en"))
    assert "Commission claimed beyond the statement   -409.93" in text
    assert "  difference      –    -827.00     -409.93" in text


# --- properties -------------------------------------------------------------------------------


@given(books(), st.data())
def test_each_planted_mismatch_is_reported_in_its_category(book: Any, data: st.DataObject) -> None:
    events, _, ledger = book
    with settle(ledger, events=events, agencies=AGENCIES, policy=POLICY) as settlement:
        for statement in settlement.statements():
            agency = statement.agency_id
            lines = [x for s in settlement.statements(agency) for x in s.lines()]
            claim = claim_of(lines)
            itself = reconcile(settlement, claim, agency_id=agency)
            assert itself.agrees
            assert itself.counts["matched"] == len(lines)
            planted = data.draw(st.sampled_from(["drop", "extra", "amount", "rate", "twice"]))
            index = data.draw(st.integers(0, len(claim) - 1))
            changed = [dict(x) for x in claim]
            if planted == "drop":
                del changed[index]
            elif planted == "extra":
                changed.append({"reference": "NOT-IN-LEDGER", "amount": "1.00"})
            elif planted == "amount":
                changed[index]["amount"] = str(D(changed[index]["amount"]) + D("0.01"))
            elif planted == "rate":
                changed[index]["rate"] = "0.99"
            else:
                changed.append(dict(changed[index]))
            result = reconcile(settlement, changed, agency_id=agency)
            assert not result.agrees
            expected = {
                "drop": "missing",
                "extra": "claimed_only",
                "amount": "different",
                "rate": "different",
                "twice": "duplicate",
            }[planted]
            assert result.counts[expected] == 1
            assert result.counts["matched"] == len(lines) - (planted in ("drop", "amount", "rate"))
            # Every line of both sides in exactly one category.
            lender_side = [
                x for x in result.lines if x.category in ("matched", "different", "missing")
            ]
            claim_side = [x for x in result.lines if x.category != "missing"]
            assert len(lender_side) == len(lines)
            assert len(claim_side) == len(changed)
            break  # one agency per example is enough


# --- the command line ---------------------------------------------------------------------------

RECONCILE = (
    "reconcile",
    "--policy",
    "rules/lender.yaml",
    "--agencies",
    "rules/agencies.yaml",
    "--events",
    "examples/settlement/events.jsonl",
    "--ledger",
    "examples/settlement/ledger.jsonl",
    "--agency",
    "AG-01",
    "--from",
    "2026-10-01",
    "--to",
    "2026-10-31",
)


def dunning(*args: str) -> subprocess.CompletedProcess[str]:
    return run_dunning(*args, cwd=ROOT)


def test_dunning_reconcile_exits_1_on_the_example_and_0_on_the_statement_itself(
    tmp_path: Path,
) -> None:
    done = dunning(*RECONCILE, "examples/settlement/claim-AG-01-2026-10.csv")
    assert done.returncode == 1, done.stderr
    assert "The claim differs: 4 of 14 lines are not matched; the totals differ." in done.stdout
    as_json = json.loads(
        dunning(
            *RECONCILE, "--format", "json", "examples/settlement/claim-AG-01-2026-10.csv"
        ).stdout
    )
    assert as_json["counts"]["different"] == 2
    settle_csv = dunning(
        "settle",
        "--policy",
        "rules/lender.yaml",
        "--agencies",
        "rules/agencies.yaml",
        "--events",
        "examples/settlement/events.jsonl",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--agency",
        "AG-01",
        "--format",
        "csv",
        "examples/settlement/ledger.jsonl",
    )
    assert settle_csv.returncode == 0, settle_csv.stderr
    (tmp_path / "claim.csv").write_text(settle_csv.stdout, encoding="utf-8")
    same = dunning(*RECONCILE, str(tmp_path / "claim.csv"))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "The claim agrees with the statement" in same.stdout
    table = dunning(*RECONCILE, "--format", "csv", str(tmp_path / "claim.csv")).stdout
    *rows, total = list(csv.DictReader(io.StringIO(table)))
    assert {r["category"] for r in rows} == {"matched"} and total["category"] == "total"
    assert total["differences"].endswith("amount 0.00, commission 0.00")


def test_dunning_reconcile_names_a_missing_column() -> None:
    done = dunning(
        *RECONCILE, "--column", "amount=金额", "examples/settlement/claim-AG-01-2026-10.csv"
    )
    assert done.returncode == 2
    assert "no column '金额' (mapped to 'amount')" in done.stderr
