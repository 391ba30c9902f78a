"""Settlement: statements per agency and period, and every ledger line in one category."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import date
from decimal import Decimal as D
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from conftest import run_dunning
from dunning import ArgumentError, PolicyError, load_policy
from dunning.agencies import load_agencies
from dunning.errors import ConfigError
from dunning.settlement.ledger import read_ledger_table
from dunning.settlement.statements import CATEGORIES, Settlement, settle
from dunning.summary import render_settlement

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "settlement"
POLICY = load_policy(ROOT / "rules" / "lender.yaml")  # grace_days: 15
AGENCIES = load_agencies(ROOT / "rules" / "agencies.yaml")


def event(kind: str, case: str, day: str, agency: str = "AG-01", **payload: Any) -> dict[str, Any]:
    pid = payload.pop("pid", f"{case}/{agency}/P")
    return {
        "type": f"placement.{kind}",
        "at": f"{day}T08:00:00+08:00",
        "case_id": case,
        "payload": {"placement_id": pid, "agency_id": agency, "day": day, "reason": "r", **payload},
    }


#: C1 with AG-01 at 14 % from 2026-09-08 to its recall on 2026-10-10 (grace to 2026-10-25);
#: then with AG-02 at 20 % from 2026-11-20.
EVENTS = [
    event("proposed", "C1", "2026-09-01", loan_id="L1"),
    event("placed", "C1", "2026-09-08", commission_rate="0.14", loan_id="L1"),
    event("recalled", "C1", "2026-10-10", loan_id="L1"),
    event("proposed", "C1", "2026-11-13", "AG-02", pid="C1/AG-02/P"),
    event("placed", "C1", "2026-11-20", "AG-02", pid="C1/AG-02/P", commission_rate="0.20"),
]


def pay(
    reference: str, day: str, amount: str, case: str | None = "C1", **more: Any
) -> dict[str, Any]:
    line = {"reference": reference, "date": day, "amount": amount, **more}
    if case is not None:
        line["case_id"] = case
    return line


def run(ledger: list[Any], events: list[Any] = EVENTS, **options: Any) -> Settlement:
    return settle(ledger, events=events, agencies=AGENCIES, policy=POLICY, **options)


def categories(settlement: Settlement) -> dict[str | None, str]:
    return {line.reference: line.category for line in settlement.lines()}


def test_the_worked_example_of_the_guide() -> None:
    """docs/settlement.md: the numbers a finance reader checks by hand."""
    worked = EXAMPLE / "worked"
    with (
        (worked / "ledger.jsonl").open(encoding="utf-8") as ledger,
        (worked / "events.jsonl").open(encoding="utf-8") as events,
    ):
        settlement = settle(ledger, events=events, agencies=AGENCIES, policy=POLICY)
    with settlement:
        assert categories(settlement) == {
            "P1": "before_placement",
            "P2": "commission",
            "P3": "commission",
            "P4": "commission",
            "P5": "after_recall",
            "P6": "commission",
            "P7": "in_house",
            "R1": "commission",
        }
        statements = {(s.agency_id, s.period.label): s for s in settlement.statements()}
        assert sorted(statements) == [
            ("AG-01", "2026-09"),
            ("AG-01", "2026-10"),
            ("AG-02", "2026-11"),
        ]
        september = statements[("AG-01", "2026-09")]
        assert [(x.reference, x.commission) for x in september.lines()] == [("P2", D("140.01"))]
        october = statements[("AG-01", "2026-10")]
        lines = {x.reference: x for x in october.lines()}
        assert lines["R1"].amount == D("-400.00")
        assert lines["R1"].commission == D("-56.00")
        assert lines["P3"].commission == D("0.07")
        assert lines["P4"].reason == "grace"
        assert lines["P4"].case_id == "C-1"  # the ledger named the loan
        assert october.totals.amount == D("-99.50")
        assert october.totals.commission == D("-13.93")  # -56.00 + 0.07 + 42.00
        assert statements[("AG-02", "2026-11")].totals.commission == D("100.00")
        accounting = settlement.accounting
        assert accounting.balanced
        assert accounting.ledger.count == 8
        assert accounting.ledger.amount == D("2600.54")  # 3000.54 paid - 400.00 reversed


def test_rounding_is_per_line_half_up_and_totals_are_the_sums_of_the_lines() -> None:
    # 0.50 × 0.07 = 0.035 → 0.04 each; three lines make 0.12, not round(0.105) = 0.11.
    events = [event("placed", "C2", "2026-01-01", commission_rate="0.07")]
    ledger = [pay(f"P{n}", "2026-01-0" + str(n), "0.50", case="C2") for n in (1, 2, 3)]
    with run(ledger, events) as settlement:
        (statement,) = settlement.statements()
        assert [x.commission for x in statement.lines()] == [D("0.04")] * 3
        assert statement.totals.commission == D("0.12")


def test_a_loan_id_finds_its_case_through_the_events() -> None:
    ledger = [
        pay("P1", "2026-09-10", "100.00", case=None, loan_id="L1"),
        pay("P2", "2026-09-10", "100.00", case=None, loan_id="L-unknown"),
        pay("P3", "2026-09-10", "100.00", case="C7", loan_id="L1"),
    ]
    with run(ledger) as settlement:
        lines = {x.reference: x for x in settlement.lines()}
        assert lines["P1"].case_id == "C1"
        assert lines["P1"].category == "commission"
        assert lines["P2"].category == "in_house"  # no event names the loan: never placed
        assert lines["P3"].reason == "case_mismatch"


def test_a_loan_the_events_give_two_cases_must_be_named_by_case() -> None:
    events = [
        event("placed", "C1", "2026-01-01", commission_rate="0.07", loan_id="L1"),
        event("placed", "C2", "2026-01-01", commission_rate="0.07", loan_id="L1", pid="C2/AG-01/P"),
    ]
    with run([pay("P1", "2026-01-05", "1.00", case=None, loan_id="L1")], events) as settlement:
        (line,) = settlement.lines()
        assert line.category == "rejected"
        assert line.reason == "case_mismatch"


@pytest.mark.parametrize(
    ("reversal", "reason"),
    [
        (pay("R", "2026-09-20", "5.00", reverses="NOPE"), "unknown_payment"),
        (pay("R", "2026-09-20", "5.00", reverses="R0"), "unknown_payment"),  # a reversal
        (pay("R", "2026-09-09", "5.00", reverses="P1"), "date_order"),
        (pay("R", "2026-09-20", "100.01", reverses="P1"), "over_reversal"),
        (pay("R", "2026-09-20", "5.00", case="C2", reverses="P1"), "case_mismatch"),
        (pay("P1", "2026-09-20", "5.00"), "duplicate_reference"),
        (pay("R", "2026-09-20", "5.00", currency="USD"), "currency_mismatch"),
        (pay("R", "2026-09-20", "5.001"), "too_many_decimals"),
        (pay("R", "2026-09-20", "5.00", case=None), "no_case"),
        (pay("R", "2026-09-20", "-5.00"), "greater_than"),
        (pay("R", "2026-09-20", "1000000000000.00"), "less_than"),
        (pay("R", "2026-09-20", "5.00", reverses="R"), "self_reversal"),
        ("{not json", "invalid_json"),
        ("[1, 2]", "not_an_object"),
    ],
)
def test_a_line_that_cannot_be_settled_is_rejected_with_its_reason(
    reversal: Any, reason: str
) -> None:
    ledger = [
        pay("P1", "2026-09-10", "100.00"),
        pay("R0", "2026-09-11", "1.00", reverses="P1"),
        reversal,
    ]
    with run(ledger) as settlement:
        last = list(settlement.lines())[-1]
        assert last.category == "rejected"
        assert last.reason == reason
        assert last.line == 3
        assert last.error is not None
        assert settlement.accounting.balanced
        assert settlement.accounting.categories["rejected"].count == 1


def test_reversals_may_add_up_to_the_payment_and_land_in_their_own_period() -> None:
    ledger = [
        pay("P1", "2026-09-30", "100.00"),
        pay("R1", "2026-10-01", "60.00", reverses="P1"),
        pay("R2", "2026-11-02", "40.00", reverses="P1"),
    ]
    with run(ledger) as settlement:
        assert set(categories(settlement).values()) == {"commission"}
        periods = {x.reference: x.period for x in settlement.lines()}
        assert periods == {"P1": "2026-09", "R1": "2026-10", "R2": "2026-11"}
        total = sum((s.totals.commission for s in settlement.statements()), D(0))
        assert total == D("0.00")  # 14.00 - 8.40 - 5.60


def test_a_reversal_of_an_in_house_payment_is_in_house_and_negative() -> None:
    ledger = [
        pay("P1", "2026-10-01", "10.00", case="C9"),
        pay("R1", "2026-10-02", "10.00", case="C9", reverses="P1"),
    ]
    with run(ledger) as settlement:
        tally = settlement.accounting.categories["in_house"]
        assert (tally.count, tally.amount) == (2, D("0.00"))


def test_the_range_settles_its_days_and_counts_the_rest_outside() -> None:
    ledger = [
        pay("P1", "2026-09-30", "100.00"),
        pay("P2", "2026-10-01", "100.00"),
        pay("R1", "2026-10-05", "100.00", reverses="P1"),
    ]
    with run(ledger, start=date(2026, 10, 1), end=date(2026, 10, 31)) as settlement:
        assert categories(settlement) == {
            "P1": "outside_period",
            "P2": "commission",
            "R1": "commission",
        }
        (statement,) = settlement.statements()
        assert statement.totals.commission == D("0.00")  # 14.00 - 14.00


def test_weeks_and_ranges_make_statements_of_their_own() -> None:
    ledger = [pay("P1", "2026-09-13", "1.00"), pay("P2", "2026-09-14", "1.00")]  # Sun, Mon
    with run(ledger, period="week") as settlement:
        labels = [s.period for s in settlement.statements()]
        assert [p.label for p in labels] == ["2026-W37", "2026-W38"]
        assert labels[1].start == date(2026, 9, 14)
    with run(ledger, period="range", start=date(2026, 9, 1), end=date(2026, 9, 30)) as settlement:
        (statement,) = settlement.statements()
        assert statement.period.label == "2026-09-01..2026-09-30"
    with pytest.raises(ConfigError, match="needs a start and an end"):
        run(ledger, period="range")
    with pytest.raises(ConfigError, match="ends"):
        run(ledger, start=date(2026, 9, 2), end=date(2026, 9, 1))


def test_a_payment_on_a_handover_day_is_the_new_agencys() -> None:
    events = [
        event("placed", "C3", "2026-01-01", commission_rate="0.07"),
        event("recalled", "C3", "2026-02-01"),
        event("placed", "C3", "2026-02-05", "AG-02", pid="C3/AG-02/P", commission_rate="0.20"),
    ]
    ledger = [
        pay("P1", "2026-02-03", "1.00", case="C3"),
        pay("P2", "2026-02-05", "1.00", case="C3"),
    ]
    with run(ledger, events) as settlement:
        agencies = {x.reference: (x.agency_id, x.reason) for x in settlement.lines()}
        assert agencies == {"P1": ("AG-01", "grace"), "P2": ("AG-02", "held")}


def test_events_that_cannot_follow_are_reported_and_change_nothing() -> None:
    events = [*EVENTS, event("recalled", "C5", "2026-01-01"), "not json"]
    with run([pay("P1", "2026-09-10", "1.00")], events) as settlement:
        errors = list(settlement.event_errors())
        assert [e.problems[0].code for e in errors] == ["bad_transition", "invalid_json"]
        assert settlement.event_error_count == 2
        assert categories(settlement) == {"P1": "commission"}


def test_the_same_inputs_give_the_same_bytes() -> None:
    ledger = [
        json.dumps(x) for x in [pay("P1", "2026-09-10", "1.00"), pay("P2", "2026-09-11", "2")]
    ]

    def outputs() -> list[str]:
        with run(ledger) as settlement:
            texts = []
            table = partial(render_settlement, settlement)  # the text form, drawn from the data
            for write in (
                settlement.write_json,
                settlement.write_csv,
                table,
                settlement.write_jsonl,
            ):
                out = io.StringIO()
                write(out)
                texts.append(out.getvalue())
            return texts

    first = outputs()
    assert outputs() == first
    assert "sha256:" in first[0]
    with run(ledger[:1]) as other:
        assert other.digest not in first[0]  # another ledger, another digest


def test_a_ledger_read_from_csv_or_excel_settles_as_from_json_lines(tmp_path: Path) -> None:
    rows = [
        ("流水号", "案件", "到账日期", "金额", "冲正"),
        ("P1", "C1", "2026/9/10", "1,000.00", ""),
        ("P2", "C1", "2026年9月11日", "50", ""),
        ("R1", "C1", "2026.09.12", "50.00", "P2"),
    ]
    columns = {
        "reference": "流水号",
        "case_id": "案件",
        "date": "到账日期",
        "amount": "金额",
        "reverses": "冲正",
    }
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    from_csv = list(
        read_ledger_table(io.BytesIO(text.getvalue().encode("utf-8-sig")), columns=columns)
    )
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    sheet["D2"] = 1000.0  # Excel keeps numbers as doubles
    sheet["C2"] = date(2026, 9, 10)
    book.save(tmp_path / "ledger.xlsx")
    with (tmp_path / "ledger.xlsx").open("rb") as stream:
        from_xlsx = list(read_ledger_table(stream, columns=columns, kind="xlsx"))
    expected = [
        pay("P1", "2026-09-10", "1000.00"),
        pay("P2", "2026-09-11", "50"),
        pay("R1", "2026-09-12", "50.00", reverses="P2"),
    ]
    with run(expected) as a, run(from_csv) as b, run(from_xlsx) as c:
        assert [x.to_dict() for x in a.lines()] == [x.to_dict() for x in b.lines()]
        assert [x.to_dict() for x in a.lines()] == [x.to_dict() for x in c.lines()]
        assert a.digest == b.digest == c.digest  # the lines, not their spelling


def test_a_table_without_a_needed_column_is_refused_as_a_whole() -> None:
    with pytest.raises(ConfigError, match=r"no column for 'amount'.*--column amount="):
        list(read_ledger_table(io.BytesIO(b"reference,date,sum\nP1,2026-01-01,1\n")))
    with pytest.raises(ConfigError, match=r"no field 'amout'.*did you mean 'amount'"):
        list(read_ledger_table(io.BytesIO(b"reference\n"), columns={"amout": "x"}))


def test_bad_rows_of_a_table_are_each_one_record() -> None:
    data = (
        b"reference,case_id,date,amount\nP1,C1,2026-01-01,1.00\nP2,C1,2026-13-01,1\n"
        b"P3,C1,2026-01-01,abc\nP4,C\xff,2026-01-01,1\n"
    )
    results = list(read_ledger_table(io.BytesIO(data)))
    assert [getattr(r, "line", None) for r in results[1:]] == [3, 4, 5]
    assert [r.problems[0].code for r in results[1:]] == [
        "bad_cell",
        "decimal_parsing",
        "invalid_text",
    ]


def test_settlement_deletes_its_working_file_when_closed() -> None:
    settlement = run([pay("P1", "2026-09-10", "1.00")])
    settlement.close()
    with pytest.raises(Exception, match="closed"):
        list(settlement.lines())


# --- the command line ---------------------------------------------------------------------------


def dunning(*args: str) -> subprocess.CompletedProcess[str]:
    return run_dunning(*args, cwd=ROOT)


SETTLE = (
    "settle",
    "--policy",
    "rules/lender.yaml",
    "--agencies",
    "rules/agencies.yaml",
    "--events",
    "examples/settlement/events.jsonl",
    "examples/settlement/ledger.jsonl",
)


def test_dunning_settle_on_the_example_balances_and_exits_0() -> None:
    done = dunning(*SETTLE, "--from", "2026-10-01", "--to", "2026-10-31")
    assert done.returncode == 0, done.stderr
    assert "\n  AG-01 2026-10  AG-01   华信资产管理有限公司  2026-10 " in done.stdout
    assert "Balanced: the categories add up to the ledger." in done.stdout
    jsonl = dunning(*SETTLE, "--format", "jsonl")
    records = [json.loads(x) for x in jsonl.stdout.splitlines()]
    lines = [r for r in records if r["kind"] == "line"]
    with (EXAMPLE / "ledger.jsonl").open(encoding="utf-8") as ledger:
        assert len(lines) == sum(1 for x in ledger if x.strip())
    assert records[-1]["kind"] == "accounting"
    assert records[-1]["balanced"] is True
    assert {r["category"] for r in lines} <= set(CATEGORIES)
    as_csv = dunning(*SETTLE, "--format", "csv", "--agency", "AG-02")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows
    assert {r["agency_id"] for r in rows} == {"AG-02"}


def test_commission_owed_to_an_agency_the_file_does_not_list_is_a_finding(tmp_path: Path) -> None:
    # It was labelled "(not in the agencies file)" and the run exited 0 (issue 38, item 3).
    agencies = tmp_path / "agencies.yaml"
    text = (ROOT / "rules" / "agencies.yaml").read_text(encoding="utf-8")
    kept = text.split("\n  - agency_id: AG-03")[0] + "\n"  # AG-03 and those after it left out
    agencies.write_text(kept, encoding="utf-8")
    argv = list(SETTLE)
    argv[argv.index("rules/agencies.yaml")] = str(agencies)
    done = dunning(*argv, "--from", "2026-10-01", "--to", "2026-10-31")
    assert done.returncode == 1
    assert f"commission owed to AG-03, which {agencies} does not list" in done.stderr
    assert dunning(*SETTLE, "--from", "2026-10-01", "--to", "2026-10-31").returncode == 0


def test_dunning_settle_exits_1_with_rejected_lines_and_2_on_usage(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text('{"reference": "P1"}\n', encoding="utf-8")
    done = dunning(*SETTLE[:-1], str(ledger))
    assert done.returncode == 1
    rejected = done.stdout.split("Rejected ledger lines\n")[1].splitlines()
    assert rejected[1].split() == ["1", "–", "missing"]
    assert rejected[2] == "      Problem: date: required field 'date' is missing"
    assert "1 ledger or event lines rejected" in done.stderr
    assert dunning(*SETTLE, "--agency", "AG-99").returncode == 2
    bad = tmp_path / "ledger.csv"
    bad.write_text("reference,when,amount\n", encoding="utf-8")
    done = dunning(*SETTLE[:-1], str(bad))
    assert done.returncode == 2
    assert "no column for 'date'" in done.stderr
    mapped = dunning(*SETTLE[:-1], str(bad), "--ledger-column", "date=when")
    assert mapped.returncode == 0, mapped.stderr


def test_dunning_schema_describes_ledger_and_claim_lines() -> None:
    for kind, field in (("ledger", "reverses"), ("claim", "commission")):
        done = dunning("schema", kind)
        assert done.returncode == 0
        assert field in json.loads(done.stdout)["properties"]


def test_a_policys_terms_are_its_own_without_compiling_it() -> None:
    from dunning.terms import load_terms

    policy = load_policy(ROOT / "rules" / "lender.yaml")
    terms = load_terms(ROOT / "rules" / "lender.yaml")
    assert terms == policy.terms  # digest, currency, grace days, bands, parameters alike
    assert terms.reference == {"name": "lender", "version": "2026.11", "digest": policy.digest}
    changed = load_terms(ROOT / "rules" / "lender.yaml", params={"large_amount": "80000.00"})
    assert changed.digest != terms.digest and str(changed.params["large_amount"]) == "80000.00"
    for bad in ({1: "x"}, "large_amount=1", 5):
        with pytest.raises(ArgumentError):
            load_terms(ROOT / "rules" / "lender.yaml", params=bad)  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="unknown-param"):
        load_terms(ROOT / "rules" / "lender.yaml", params={"nosuch": "1"})


# -- when the money ends: the term, the contract, a suspension, the reason of a recall ---------


def test_the_term_ends_the_window_and_an_extension_is_an_event() -> None:
    # A placement's window ended only at a recall or return: payments months after term_ends
    # (23 lines, 15,595.22 of commission in the shipped example) still earned commission.
    events = [
        event("proposed", "C2", "2026-06-01"),
        event("placed", "C2", "2026-06-08", commission_rate="0.10", term_ends="2026-07-07"),
    ]
    ledger = [
        pay("T1", "2026-07-07", "100.00", "C2"),  # the term's last day: held
        pay("T2", "2026-07-22", "100.00", "C2"),  # 15 days on: the policy's grace (term_end)
        pay("T3", "2026-07-23", "100.00", "C2"),  # after both: no commission
        pay("T4", "2026-09-01", "100.00", "C2"),
    ]
    with run(ledger, events) as settlement:
        got = {line.reference: (line.category, line.reason) for line in settlement.lines()}
    assert got == {
        "T1": ("commission", "held"),
        "T2": ("commission", "grace"),
        "T3": ("after_recall", "after_recall"),
        "T4": ("after_recall", "after_recall"),
    }
    extended = [*events, event("extended", "C2", "2026-07-01", term_ends="2026-08-31")]
    with run(ledger, extended) as settlement:
        assert categories(settlement)["T4"] == "commission"  # the extension's last day + grace
        assert categories(settlement)["T3"] == "commission"
    backwards = [*events, event("extended", "C2", "2026-07-01", term_ends="2026-07-01")]
    with run(ledger, backwards) as settlement:
        (wrong,) = list(settlement.event_errors())
        assert wrong.problems[0].code == "bad_transition"
        assert "does not move the term on" in wrong.problems[0].message


def test_a_recall_written_after_the_term_does_not_stretch_it() -> None:
    events = [
        event("proposed", "C2", "2026-06-01"),
        event("placed", "C2", "2026-06-08", commission_rate="0.10", term_ends="2026-07-07"),
        event("recalled", "C2", "2026-09-30", reason="term_end"),  # written late
    ]
    with run([pay("T1", "2026-08-15", "100.00", "C2")], events) as settlement:
        assert categories(settlement) == {"T1": "after_recall"}


def test_grace_follows_the_reason_of_the_recall() -> None:
    # A case recalled because its agency was suspended (or for a dispute, an attorney…) still
    # paid the agency for 15 days: rules/lender.yaml now gives those reasons no grace.
    assert POLICY.terms.grace_after("agency_suspended") == 0
    assert POLICY.terms.grace_after("no_payment") == 15
    for reason, category in (("agency_suspended", "after_recall"), ("no_payment", "commission")):
        events = [
            event("proposed", "C2", "2026-06-01"),
            event("placed", "C2", "2026-06-08", commission_rate="0.10"),
            event("recalled", "C2", "2026-06-20", reason=reason),
        ]
        with run([pay("G1", "2026-06-29", "100.00", "C2")], events) as settlement:
            assert categories(settlement) == {"G1": category}, reason


def test_the_agencys_contract_end_and_suspension_end_its_windows() -> None:
    from dunning import Agencies, Agency

    def agency(**terms: Any) -> Agency:
        base = {"agency_id": "AG-09", "name": "Nine", "phone": "4008001234"}
        return Agency.model_validate(base | {"contract_start": "2026-01-01"} | terms)

    events = [
        event("proposed", "C2", "2026-06-01", "AG-09", pid="C2/AG-09/P"),
        event("placed", "C2", "2026-06-08", "AG-09", pid="C2/AG-09/P", commission_rate="0.10"),
    ]
    ledger = [pay("S1", "2026-06-30", "100.00", "C2"), pay("S2", "2026-07-01", "100.00", "C2")]
    ended = Agencies((agency(contract_end="2026-06-30"),))
    with settle(ledger, events=events, agencies=ended, policy=POLICY) as settlement:
        assert categories(settlement) == {"S1": "commission", "S2": "commission"}  # grace
        lines = {line.reference: line.reason for line in settlement.lines()}
        assert lines == {"S1": "held", "S2": "grace"}
    suspended = Agencies((agency(status="suspended", suspended_on="2026-07-01"),))
    with settle(ledger, events=events, agencies=suspended, policy=POLICY) as settlement:
        assert categories(settlement) == {"S1": "commission", "S2": "after_recall"}  # no grace
    with pytest.raises(ValueError, match="give status: suspended"):
        agency(suspended_on="2026-07-01")


def test_the_commission_base_is_a_contract_term() -> None:
    # C-01174 was placed owing 907.52 and earned on 8,661.83: by default (the seed: commission
    # on the amount remitted) that stands; a contract capped at the amount placed (委案金额)
    # pays on 907.52 at most, a reversal making room again.
    from dunning import Agencies, Agency

    def agencies(base: str | None) -> Agencies:
        terms = {"agency_id": "AG-09", "name": "Nine", "phone": "4008001234"}
        return Agencies(
            (
                Agency.model_validate(
                    terms | {"contract_start": "2026-01-01", "commission_base": base}
                ),
            )
        )

    events = [
        event("proposed", "C2", "2026-06-01", "AG-09", pid="C2/AG-09/P"),
        event(
            "placed",
            "C2",
            "2026-06-08",
            "AG-09",
            pid="C2/AG-09/P",
            commission_rate="0.10",
            total_due="1000.00",
        ),
    ]
    ledger = [
        pay("B1", "2026-06-10", "600.00", "C2"),
        pay("B2", "2026-06-20", "600.00", "C2"),  # 400.00 of it reaches the cap
        pay("B3", "2026-06-25", "100.00", "C2"),  # beyond it: nothing
        pay("B4", "2026-06-26", "-300.00", "C2", reverses="B1"),  # 300 of B1 back: room again
        pay("B5", "2026-06-27", "500.00", "C2"),  # 300.00 of it earns
    ]
    ledger[3]["amount"] = "300.00"
    with settle(ledger, events=events, agencies=agencies(None), policy=POLICY) as remitted:
        assert [line.commission for line in remitted.lines()] == [
            D("60.00"),
            D("60.00"),
            D("10.00"),
            D("-30.00"),
            D("50.00"),
        ]
        assert all(line.commissionable is None for line in remitted.lines())
    capped_agencies = agencies("placed_amount")
    with settle(ledger, events=events, agencies=capped_agencies, policy=POLICY) as capped:
        got = [(line.reference, line.commissionable, line.commission) for line in capped.lines()]
        assert got == [
            ("B1", D("600.00"), D("60.00")),
            ("B2", D("400.00"), D("40.00")),
            ("B3", D("0.00"), D("0.00")),
            ("B4", D("-300.00"), D("-30.00")),
            ("B5", D("300.00"), D("30.00")),
        ]
        assert sum(line.commissionable for line in capped.lines()) == D("1000.00")
        assert capped.to_dict()["statements"][0]["lines"][1]["commissionable"] == "400.00"
