"""The agency's day: intake, events, assignment, handover, bundles, the policy's agency section."""

from __future__ import annotations

import importlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from conftest import card_case as card
from conftest import run_dunning
from dunning import (
    CaseError,
    ConfigError,
    IntakeFailed,
    PolicyError,
    event_json_schema,
    intake,
    load_policy,
    loads_policy,
    parse_case,
    parse_event,
    read_events,
)
from dunning.agency.assign import HandoverFailed, assign, handover, read_desk
from dunning.agency.bundle import export_bundle, import_bundle, verify_bundle
from dunning.agency.collectors import Collectors, load_collectors, loads_collectors
from dunning.agency.intake import verify_manifest
from dunning.cli import main
from dunning.events import EVENT_TYPES
from dunning.model import Collector

ROOT = Path(__file__).resolve().parent.parent
AGENCY = ROOT / "examples" / "agency"
POLICY = ROOT / "rules" / "bank_credit_card.yaml"
CST = timezone(timedelta(hours=8))
RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=CST)


def lines(*items: Any) -> bytes:
    return b"".join(
        (item if isinstance(item, bytes) else json.dumps(item).encode()) + b"\n" for item in items
    )


def take(tmp_path: Path, data: bytes, name: str = "bank.jsonl", **kw: Any) -> Any:
    source = tmp_path / name
    source.write_bytes(data)
    kw.setdefault("clock", lambda: RECEIVED + timedelta(minutes=30))
    return intake(
        source,
        bank=kw.pop("bank", "BK"),
        received_at=RECEIVED,
        store=tmp_path / "store",
        backups=kw.pop("backups", [tmp_path / "b1", tmp_path / "b2"]),
        **kw,
    )


# --- intake ---------------------------------------------------------------------------------


def test_intake_takes_every_line_and_refuses_the_bad_ones(tmp_path: Path) -> None:
    data = lines(card("A"), b"not json", card("B"), card("A"), {"case_id": "X"}, b"", card("C"))
    result = take(tmp_path, data)
    p = result.event.payload
    assert (p.lines, p.accepted, p.rejected, p.repeated) == (6, 3, 3, 0)
    assert not p.late and p.elapsed_seconds == 1800 and p.target_minutes == 120
    errors = [json.loads(x) for x in result.errors_file.read_bytes().splitlines()]
    assert [(e["line"], e["error"]["code"]) for e in errors] == [
        (2, "invalid_json"),
        (4, "duplicate_case"),
        (5, "missing"),
    ]
    assert "line 1 of this file" in errors[1]["error"]["message"]
    accepted = [json.loads(x)["case_id"] for x in result.cases_file.read_text().splitlines()]
    assert accepted == ["A", "B", "C"]
    assert (result.directory / "index.jsonl").read_text() == '["A",1]\n["B",3]\n["C",7]\n'
    events = list(read_events(result.events_file.read_bytes().splitlines()))
    assert [e.type for e in events] == ["case.received"] * 3 + ["intake.completed"]
    assert [e.payload.line for e in events[:3]] == [1, 3, 7]


def test_the_hand_written_events_are_the_contracts_own_serialisation(tmp_path: Path) -> None:
    result = take(tmp_path, lines(card('引号"与反斜杠\\'), card("B")), actor="管理员 A1")
    for text in result.events_file.read_text(encoding="utf-8").splitlines():
        assert parse_event(text).model_dump_json() == text


def test_both_backups_verify_against_the_manifest_sha256sum_reads(tmp_path: Path) -> None:
    result = take(tmp_path, lines(card("A")))
    manifest = (result.directory / "MANIFEST.sha256").read_text()
    assert sorted(line.split("  ")[1] for line in manifest.splitlines()) == [
        "cases.jsonl",
        "errors.jsonl",
        "index.jsonl",
        "source.jsonl",
    ]
    for backup in ("b1", "b2"):
        copy = tmp_path / backup / result.batch_id
        assert verify_manifest(copy) == []
        assert (copy / "MANIFEST.sha256").read_text() == manifest
    if shutil.which("sha256sum"):
        done = subprocess.run(
            ["sha256sum", "-c", "MANIFEST.sha256"],
            cwd=result.directory,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout
    assert [b.name for b in result.event.payload.backups] == [
        str(tmp_path / "b1"),
        str(tmp_path / "b2"),
    ]


def test_a_rerun_is_idempotent_and_repairs_a_lost_backup(tmp_path: Path) -> None:
    first = take(tmp_path, lines(card("A"), card("B")))
    events = first.events_file.read_bytes()
    shutil.rmtree(tmp_path / "b2" / first.batch_id)
    again = take(tmp_path, lines(card("A"), card("B")))
    assert not again.new and again.batch_id == first.batch_id
    assert again.repaired == (str(tmp_path / "b2"),)
    assert again.event == first.event and again.events_file.read_bytes() == events
    assert verify_manifest(tmp_path / "b2" / first.batch_id) == []
    assert len(list((tmp_path / "store" / "batches").iterdir())) == 1


def test_intake_json_holds_every_refused_line_the_table_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bank.jsonl"
    source.write_bytes(lines(card("A"), b"{", card("B", dpd="x")))
    args = ["intake", str(source), "--bank", "BK", "--received-at", "2026-11-02T09:30:00+08:00"]
    args += ["--store", str(tmp_path / "store"), "--backup", str(tmp_path / "b1")]
    args += ["--backup", str(tmp_path / "b2")]
    main([*args, "--format", "json"])
    shown = json.loads(capsys.readouterr().out)
    assert [(r["line"], r["error"]["code"]) for r in shown["refused"]] == [
        (2, "invalid_json"),
        (3, "int_type"),
    ]
    assert shown["rejected"] == 2 and shown["events_file"].endswith("events.jsonl")
    # Run again, the events are not printed twice: the message says where they are.
    main([*args, "--format", "jsonl"])
    again = capsys.readouterr()
    assert again.out == "" and shown["events_file"] in again.err


def test_no_case_is_taken_in_before_the_banks_agreement_is_filed(tmp_path: Path) -> None:
    """The seed: the process starts once the bank agreement is filed (issue 33)."""
    source = tmp_path / "bank.jsonl"
    source.write_bytes(lines(card("A")))
    args = ["intake", str(source), "--received-at", "2026-11-02T09:30:00+08:00"]
    args += ["--store", str(tmp_path / "store"), "--backup", str(tmp_path / "b1")]
    args += ["--backup", str(tmp_path / "b2")]
    args += ["--procedure", str(ROOT / "rules" / "agency_procedure.yaml")]
    refused = run_dunning(*args, "--bank", "NO-AGREEMENT-BANK")
    assert refused.returncode == 2 and "no agreement with NO-AGREEMENT-BANK" in refused.stderr
    assert not (tmp_path / "store").exists()  # nothing taken in
    taken = run_dunning(*args, "--bank", "SH-BANK")  # (late: received a while ago, exit 1)
    assert "Accepted                 1" in taken.stdout and (tmp_path / "store").exists()


def test_the_banks_next_file_refreshes_the_cases_it_holds(tmp_path: Path) -> None:
    """Day 2 of the loop: the bank sends updated figures; they are taken in, not refused."""
    first = take(tmp_path, lines(card("A", dpd=20), card("B", dpd=80)))
    later = {"clock": lambda: RECEIVED + timedelta(days=28, minutes=30)}
    newer = lines(card("B", dpd=108), card("C"), card("B", dpd=1))
    second = take(tmp_path, newer, name="second.jsonl", **later)
    p = second.event.payload
    assert (p.accepted, p.refreshed, p.rejected, p.repeated) == (2, 1, 1, 0)
    refreshed, received = [json.loads(e) for e in second.events_file.read_text().splitlines()][:2]
    assert refreshed["type"] == "case.refreshed" and refreshed["case_id"] == "B"
    assert refreshed["payload"] == {
        "batch_id": second.batch_id,
        "bank": "BK",
        "line": 1,
        "previous_batch": first.batch_id,
        "dpd": 108,
        "total_due": "1020.00",
    }
    assert received["type"] == "case.received" and received["case_id"] == "C"
    # The file may give a case once: the second B is refused as this file's duplicate.
    error = json.loads(second.errors_file.read_text())
    assert (error["error"]["code"], error["line"]) == ("duplicate_case", 3)
    # A third file refreshes from the latest batch, which the events name.
    third = take(tmp_path, lines(card("B", dpd=140)), name="third.jsonl", **later)
    event = json.loads(third.events_file.read_text().splitlines()[0])
    assert event["payload"]["previous_batch"] == second.batch_id
    # The refreshed case ages from the newer file's day.
    case = parse_case(second.cases_file.read_text().splitlines()[0])
    assert case.delinquency is not None and case.delinquency.dpd == 108
    # Another bank naming the same case is a clash, refused.
    other = take(tmp_path, lines(card("A")), name="other.jsonl", bank="BK2")
    error = json.loads(other.errors_file.read_text())
    assert error["error"]["code"] == "repeated_case" and other.event.payload.repeated == 1
    assert first.batch_id in error["error"]["message"]
    for batch in (first, second, third, other):
        assert read_events(batch.events_file.read_text().splitlines())  # the contract's


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"received_at": datetime(1800, 1, 1, tzinfo=UTC)}, "outside the years"),
        ({"actor": ""}, "the actor is who acts"),
        ({"actor": " "}, "the actor is who acts"),
    ],
)
def test_intake_options_are_checked_before_any_work(
    tmp_path: Path, change: dict[str, Any], said: str
) -> None:
    source = tmp_path / "bank.jsonl"
    source.write_bytes(lines(card("A")))
    given: dict[str, Any] = {
        "bank": "BK",
        "received_at": RECEIVED,
        "store": tmp_path / "store",
        "backups": [tmp_path / "b1", tmp_path / "b2"],
        **change,
    }
    with pytest.raises(ConfigError, match=said):
        intake(source, **given)
    assert not any((tmp_path / name).exists() for name in ("store", "b1", "b2"))


def _take_in_process(tmp: str, name: str, data: bytes, start: Any, out: Any) -> None:
    start.wait()  # both at once: without the store's lock, both took the shared cases in
    result = take(Path(tmp), data, name=name)
    out.put((result.event.payload.accepted, result.event.payload.refreshed))


def test_two_intakes_at_once_take_a_case_in_once_and_a_crash_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    import multiprocessing

    (tmp_path / "store" / "batches" / ".BK-0123456789abcdef.dead").mkdir(parents=True)
    context = multiprocessing.get_context("spawn")
    out, start = context.Queue(), context.Barrier(2)
    shared = [card(f"S{n}") for n in range(500)]
    runs = [
        context.Process(
            target=_take_in_process,
            args=(
                str(tmp_path),
                f"bank-{i}.jsonl",
                lines(*shared, card(f"only-{i}")),
                start,
                out,
            ),
        )
        for i in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(60)
    accepted = sorted(out.get(timeout=5) for _ in runs)
    # The second found the first's 500 cases taken in: it refreshed them, and took its own in.
    assert accepted == [(501, 0), (501, 500)]
    assert not [
        p.name
        for p in (tmp_path / "store" / "batches").iterdir()
        if p.name.startswith(".") and p.is_dir()
    ]


def test_a_file_of_carriage_returns_is_read_as_decide_reads_it(tmp_path: Path) -> None:
    from dunning.batch import lines as batch_lines

    data = b"\r".join(json.dumps(card(name)).encode() for name in "ABC") + b"\r"
    assert len(list(batch_lines(io.BytesIO(data)))) == 3  # what decide reads
    result = take(tmp_path, data)
    assert (result.event.payload.lines, result.event.payload.accepted) == (3, 3)


def test_a_late_intake_is_a_finding(tmp_path: Path) -> None:
    result = take(
        tmp_path, lines(card("A")), clock=lambda: RECEIVED + timedelta(hours=2, seconds=1)
    )
    assert result.event.payload.late and result.event.payload.elapsed_seconds == 7201


def test_a_backup_that_cannot_be_written_fails_the_intake_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "b2").write_text("a file where the backup directory should be")
    with pytest.raises(IntakeFailed, match="backup"):
        take(tmp_path, lines(card("A")))
    assert list((tmp_path / "store" / "batches").iterdir()) == []


def test_a_damaged_backup_fails_verification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module("dunning.agency.intake")
    real = module.shutil.copyfile

    def corrupting(src: Any, dst: Any) -> Any:
        real(src, dst)
        # The backup b2's copy (not any path that happens to hold "b2", as a batch id can).
        if Path(dst).relative_to(tmp_path).parts[0] == "b2" and str(dst).endswith("cases.jsonl"):
            Path(dst).write_bytes(b"tampered\n")

    monkeypatch.setattr(module.shutil, "copyfile", corrupting)
    with pytest.raises(IntakeFailed, match="b2 failed verification"):
        take(tmp_path, lines(card("A")))
    assert list((tmp_path / "store" / "batches").iterdir()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"backups": ["b1"]}, "2 backup directories"),
        ({"backups": ["store/x", "b2"]}, "lies within"),
        ({"backups": ["b1", "b1"]}, "is, contains"),
        ({"bank": "a/b"}, "the bank is an id"),
        ({"received_at": datetime(2026, 11, 2, 9, 30)}, "aware"),
        ({"target_minutes": 0}, "from 1 to 10080"),
        ({"file_format": "jsonl", "columns": {"case_id": "x"}}, "CSV and Excel"),
    ],
)
def test_arguments_are_checked(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    (tmp_path / "bank.jsonl").write_bytes(lines(card("A")))
    kw: dict[str, Any] = {
        "bank": "BK",
        "received_at": RECEIVED,
        "store": tmp_path / "store",
        "backups": [tmp_path / "b1", tmp_path / "b2"],
    }
    kw.update(change)
    kw["backups"] = [tmp_path / b if isinstance(b, str) else b for b in kw["backups"]]
    with pytest.raises(ConfigError, match=message):
        intake(tmp_path / "bank.jsonl", **kw)


def test_a_line_beyond_the_limit_is_refused_without_being_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.import_module("dunning.agency.intake"), "MAX_LINE", 2000)
    data = lines(card("A"), b"x" * 10_000, card("B"))
    result = take(tmp_path, data)
    error = json.loads(result.errors_file.read_text())
    assert (error["line"], error["error"]["code"]) == (2, "line_too_long")
    assert result.event.payload.accepted == 2


SHEET_COLUMNS = {
    "case_id": "案件编号",
    "delinquency.dpd": "逾期天数",
    "loan.principal": "透支本金",
    "card.statement_balance": "账单金额",
    "card.minimum_payment_due": "最低还款额",
    "card.credit_limit": "信用额度",
    "borrower.phones": "手机",
    "loan.start_date": "开卡日期",
    "emergency_contact.phones": "紧急联系人电话",
}
SHEET_DEFAULTS = {
    "loan.product": "credit_card",
    "loan.annual_rate": "0.18",
    "loan.term_months": "12",
    "loan.repayment": "bullet",
    "delinquency.overdue_principal": "0",
    "delinquency.overdue_interest": "0",
}
SHEET = [
    [
        "案件编号",
        "逾期天数",
        "透支本金",
        "账单金额",
        "最低还款额",
        "信用额度",
        "手机",
        "开卡日期",
        "紧急联系人电话",
    ],
    [
        "S-1",
        "45",
        "12,000.00",
        "12,800.00",
        "1280.00",
        "10,000.00",
        "+86 138 0000 0001;+86 139 0000 0002",
        "2023/5/1",
        "+86 150 0000 0003",
    ],
    [
        "S-2",
        "abc",
        "8000.00",
        "8100.00",
        "810.00",
        "20000.00",
        "+86 138 0000 0002",
        "2024年1月3日",
        "",
    ],
    [
        "S-3",
        "95",
        "5000.00",
        "5600.00",
        "9000.00",
        "5000.00",
        "+86 138 0000 0003",
        "2022-08-08",
        "12",
    ],
]


def test_a_csv_sheet_with_the_banks_headers(tmp_path: Path) -> None:
    text = "\n".join(",".join(f'"{c}"' for c in row) for row in SHEET) + "\n"
    result = take(
        tmp_path,
        text.encode("utf-8-sig"),
        name="bank.csv",
        columns=SHEET_COLUMNS,
        defaults=SHEET_DEFAULTS,
    )
    assert (result.event.payload.accepted, result.event.payload.rejected) == (1, 2)
    case = parse_case(result.cases_file.read_text())
    assert case.borrower.phones == ("+86 138 0000 0001", "+86 139 0000 0002")
    assert case.card is not None and case.card.over_limit == 2800
    assert case.related_parties[0].role == "emergency_contact"
    errors = [json.loads(x) for x in result.errors_file.read_bytes().splitlines()]
    found = [(e["line"], e["case_id"], p["path"], p["code"]) for e in errors for p in e["errors"]]
    assert found == [
        (3, "S-2", "delinquency.dpd", "bad_cell"),
        (4, "S-3", "emergency_contact.phones[0]", "invalid_phone"),
        (4, "S-3", "card", "minimum_above_balance"),
    ]


def test_an_excel_sheet_reads_as_the_csv_does(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in SHEET:
        sheet.append([int(c) if c.isdigit() else c for c in row])
    book.save(tmp_path / "bank.xlsx")
    result = intake(
        tmp_path / "bank.xlsx",
        bank="BK",
        received_at=RECEIVED,
        store=tmp_path / "store",
        backups=[tmp_path / "b1", tmp_path / "b2"],
        columns=SHEET_COLUMNS,
        defaults=SHEET_DEFAULTS,
    )
    assert (result.event.payload.accepted, result.event.payload.rejected) == (1, 2)
    assert result.directory.joinpath("source.xlsx").exists()


# --- the event contract ---------------------------------------------------------------------


def test_every_event_type_of_the_shipped_month_reads_back() -> None:
    text = (AGENCY / "events.jsonl").read_bytes().splitlines()
    events = list(read_events(text))
    assert not [e for e in events if isinstance(e, CaseError)]
    assert [e.model_dump_json().encode() for e in events] == text
    # (a refresh is the next file's: docs/agency.md takes it in, tests it above)
    assert {e.type for e in events} >= set(EVENT_TYPES) - {
        t
        for t in EVENT_TYPES
        if t.startswith("placement.") or t in ("assignment.waiting", "case.refreshed")
    }


@pytest.mark.parametrize(
    ("event", "code", "path"),
    [
        ({"type": "contact.recorderd"}, "unknown_event_type", "type"),
        ({"at": "2026-11-02T10:00:00+08:00"}, "missing", "type"),
        (
            {
                "type": "report.filed",
                "at": "2026-11-02T10:00:00+08:00",
                "actor": "L1",
                "case_id": "C-1",
                "payload": {
                    "kind": "weekly",
                    "period_start": "2026-11-02",
                    "period_end": "2026-11-06",
                    "scope": "phone",
                    "ref": "r",
                },
            },
            "none_required",
            "case_id",
        ),
        (
            {
                "type": "report.filed",
                "at": "2026-11-02T10:00:00+08:00",
                "actor": "L1",
                "payload": {
                    "kind": "weekly",
                    "period_start": "2026-11-06",
                    "period_end": "2026-11-02",
                    "scope": "phone",
                    "ref": "r",
                },
            },
            "period_order",
            "payload",
        ),
        (
            {
                "type": "contact.recorded",
                "at": "2026-11-02T10:00:00",
                "actor": "C1",
                "case_id": "A",
                "payload": {},
            },
            "timezone_aware",
            "at",
        ),
        (
            {
                "type": "assignment.assigned",
                "at": "2026-11-02T10:00:00+08:00",
                "actor": "L1",
                "case_id": "A",
                "payload": {"reason": "new"},
            },
            "incomplete_event",
            "",
        ),
    ],
)
def test_bad_events_are_named_with_their_field(event: dict[str, Any], code: str, path: str) -> None:
    with pytest.raises(CaseError) as caught:
        parse_event(json.dumps(event), line=7)
    assert caught.value.line == 7
    assert (caught.value.problems[0].code, caught.value.problems[0].path) == (code, path)
    if code == "unknown_event_type":
        assert "contact.recorded" in caught.value.problems[0].message


def test_the_event_schema_names_every_type() -> None:
    schema = json.dumps(event_json_schema())
    assert all(f'"{t}"' in schema for t in EVENT_TYPES)


# --- the agency section of a policy ---------------------------------------------------------

AGENCY_POLICY = """\
policy: p
version: "1"
products: [credit_card]
guards: {profile: cn}
rules:
  channel: [{id: c, then: {channel: call}}]
  fees: [{id: f, then: {collection_fee: 0}}]
  commission: [{id: k, then: {commission_rate: null}}]
"""


def test_the_agency_section_reports_every_problem_at_its_place() -> None:
    text = (
        AGENCY_POLICY
        + """\
agency:
  intake: {within_minutes: 0, backups: two, banks: {B1: {columns: {loan.principle: x}}}}
  procedures:
    waiver: {approval: Boss, max_days: 3}
    loan_sale: {}
  assignment:
    rules:
      - {id: a, when: dpd + 1, team: field}
      - {id: b, when: dpdd > 3}
      - {id: a, team: x}
"""
    )
    with pytest.raises(PolicyError) as caught:
        loads_policy(text)
    found = [(d.line, d.code) for d in caught.value.diagnostics]
    assert sorted(found) == [
        (10, "bad-value"),
        (10, "bad-value"),
        (10, "unknown-key"),
        (12, "bad-value"),
        (12, "unused-setting"),
        (13, "unknown-key"),
        (16, "type-mismatch"),
        (17, "unknown-fact"),
        (18, "duplicate-rule-id"),
    ]


def test_special_procedures_need_the_approval_the_section_names() -> None:
    text = AGENCY_POLICY.replace("then: {channel: call}", "then: {channel: waiver}") + (
        "agency: {procedures: {waiver: {approval: manager, max_share: '0.2'}}}\n"
    )
    policy = loads_policy(text)
    case = parse_case(card("A"))
    decision = policy.decide(case, as_of=RECEIVED)
    assert (decision.action.channel, decision.action.requires_approval) == ("waiver", "manager")
    assert policy.ir.agency.procedures["waiver"].max_share == Decimal("0.2")
    assert policy.ir.agency.intake.within_minutes == 120  # the default: the seed's two hours


def test_card_facts() -> None:
    policy = load_policy(POLICY)
    over = {
        "credit_limit": "9000.00",
        "statement_balance": "10000.00",
        "minimum_payment_due": "1000.00",
    }
    facts = policy.facts(card("A", card=over), as_of=RECEIVED)
    assert (facts["over_limit"], facts["minimum_payment_due"]) == (1000, 1000)
    with pytest.raises(CaseError) as caught:
        parse_case(card("A", loan={**card("A")["loan"], "product": "consumer_finance"}))
    assert caught.value.problems[0].code == "card_product"


# --- assignment -----------------------------------------------------------------------------

ROSTER = """\
collectors:
  - {collector_id: P1, name: a, team: phone, capacity: 2, languages: [zh-CN]}
  - {collector_id: P2, name: b, team: phone, capacity: 3, languages: [zh, yue]}
  - {collector_id: F1, name: c, team: field, capacity: 1, skills: [field_visit], languages: [zh]}
  - {collector_id: S9, name: d, team: office, role: supervisor, capacity: 0}
"""


def roster(text: str = ROSTER) -> Collectors:
    return loads_collectors(text)


def test_assignment_fills_the_most_room_first_and_holds_capacity() -> None:
    policy = load_policy(POLICY)
    cases = [card(f"A{i}") for i in range(5)] + [card("V1", dpd=100), card("V2", dpd=100)]
    run = assign([json.dumps(c) for c in cases], policy=policy, collectors=roster(), as_of=RECEIVED)
    got = {
        r.case_id: (r.status, r.collector_id) for r in run.results if not isinstance(r, CaseError)
    }
    assert got == {
        "A0": ("new", "P2"),
        "A1": ("new", "P1"),
        "A2": ("new", "P2"),
        "A3": ("new", "P1"),
        "A4": ("new", "P2"),
        "V1": ("new", "F1"),
        "V2": ("waiting", None),
    }
    assert run.after == {"P1": 2, "P2": 3, "F1": 1}
    waiting = run.events[-1]
    assert waiting.type == "assignment.waiting" and "F1 1/1" in waiting.payload.reason
    again = assign(
        [json.dumps(c) for c in cases], policy=policy, collectors=roster(), as_of=RECEIVED
    )
    assert again.events == run.events  # deterministic


def test_an_empty_actor_is_refused_before_any_assignment() -> None:
    with pytest.raises(ConfigError, match="the actor is who acts"):
        assign(
            [json.dumps(card("A"))],
            policy=load_policy(POLICY),
            collectors=roster(),
            as_of=RECEIVED,
            actor="",
        )


def test_a_case_keeps_its_active_collector_and_moves_when_they_leave() -> None:
    policy = load_policy(POLICY)
    first = assign([json.dumps(card("A"))], policy=policy, collectors=roster(), as_of=RECEIVED)
    log = [e.model_dump_json() for e in first.events]
    kept = assign(
        [json.dumps(card("A"))],
        policy=policy,
        collectors=roster(),
        events=log,
        as_of=RECEIVED + timedelta(days=1),
    )
    assert kept.results[0].status == "kept" and kept.events == []  # type: ignore[union-attr]
    left = roster(ROSTER.replace("capacity: 3,", "capacity: 3, status: left,"))
    moved = assign(
        [json.dumps(card("A"))],
        policy=policy,
        collectors=left,
        events=log,
        as_of=RECEIVED + timedelta(days=1),
    )
    result = moved.results[0]
    assert not isinstance(result, CaseError)
    assert (result.status, result.collector_id, result.previous) == ("reassigned", "P1", "P2")
    assert moved.after == {"P1": 1}


def test_the_borrowers_language_is_spoken() -> None:
    policy = load_policy(POLICY)
    cantonese = card("Y", borrower={**card("Y")["borrower"], "language": "yue"})
    run = assign([json.dumps(cantonese)], policy=policy, collectors=roster(), as_of=RECEIVED)
    assert run.events[0].payload.collector_id == "P2"


def test_bad_case_lines_are_records_and_the_rest_is_assigned() -> None:
    policy = load_policy(POLICY)
    items = [json.dumps(card("A")), "{", json.dumps(card("A"))]
    run = assign(items, policy=policy, collectors=roster(), as_of=RECEIVED)
    codes = [r.problems[0].code for r in run.results if isinstance(r, CaseError)]
    assert codes == ["invalid_json", "duplicate_case"] and len(run.events) == 1


# --- handover -------------------------------------------------------------------------------


def test_the_shipped_handover_is_reproduced_with_its_sheets(tmp_path: Path) -> None:
    policy = load_policy(POLICY)
    collectors = Collectors.of(
        list(roster(AGENCY.joinpath("collectors.yaml").read_text()).collectors)
    )
    events = (AGENCY / "events.jsonl").read_text(encoding="utf-8").splitlines()
    moment = datetime(2026, 11, 16, 9, 0, tzinfo=CST)
    before = [e for e in events if datetime.fromisoformat(json.loads(e)["at"]) < moment]
    run = handover(
        departing="C1",
        to=["C2", "L1", "F1"],
        collectors=collectors,
        events=before,
        as_of=moment,
        policy=policy,
        cases=(AGENCY / "cases.jsonl").read_text().splitlines(),
        actor="L1",
    )
    shipped = [json.loads(e) for e in events if '"handover.completed"' in e]
    assert [json.loads(e.model_dump_json()) for e in run.events] == shipped
    (tmp_path / "SH-0008.json").write_text("yesterday's sheet\n", encoding="utf-8")
    run.write_sheets(tmp_path)
    shipped_sheets = sorted((AGENCY / "handover-C1").iterdir())
    for path in shipped_sheets:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()
        assert (tmp_path / path.name).stat().st_mode & 0o077 == 0  # a sheet names a debtor
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in shipped_sheets]
    assert (run.open_before, run.left_after) == (len(shipped), 0)
    pending = [s for s in run.sheets if s["pending_approvals"]]
    assert pending and pending[0]["pending_approvals"][0]["procedure"] == "suspension"
    desk = read_desk(events)
    assert desk.cases_of("C1") == [] and not desk.errors


def test_a_handover_without_room_records_nothing() -> None:
    collectors = roster()
    log = [
        json.dumps(
            {
                "type": "assignment.assigned",
                "at": "2026-11-02T09:00:00+08:00",
                "actor": "L1",
                "case_id": f"A{i}",
                "payload": {"collector_id": "P2", "reason": "new"},
            }
        )
        for i in range(3)
    ]
    with pytest.raises(HandoverFailed, match="2 of P2's 3 open cases"):
        handover(
            departing="P2", to=["F1"], collectors=collectors, events=log, as_of=RECEIVED, actor="S9"
        )
    run = handover(
        departing="P2",
        to=["P1", "F1"],
        collectors=collectors,
        events=log,
        as_of=RECEIVED,
        actor="S9",
    )
    assert run.received == {"F1": 1, "P1": 2} and run.left_after == 0


def test_assign_gives_a_collector_who_handed_over_no_new_case() -> None:
    """The documented departure: C1 hands over on 16 November; the file still lists C1."""
    policy = load_policy(POLICY)
    collectors = load_collectors(AGENCY / "collectors.yaml")
    assert collectors.get("C1").status.value == "active"  # type: ignore[union-attr]
    events = (AGENCY / "events.jsonl").read_text(encoding="utf-8").splitlines()
    newcomers = [json.dumps(card(f"N{i}")) for i in range(12)]
    run = assign(
        newcomers,
        policy=policy,
        collectors=collectors,
        events=events,
        as_of=datetime(2026, 11, 17, 9, tzinfo=CST),
    )
    given = {r.collector_id for r in run.results if not isinstance(r, CaseError)}
    assert "C1" not in given and given
    assert run.to_dict()["collectors"]["C1"]["status"] == "left"
    # Before the handover C1 was at work and took new cases.
    earlier = assign(
        newcomers,
        policy=policy,
        collectors=collectors,
        events=events,
        as_of=datetime(2026, 11, 13, 9, tzinfo=CST),
    )
    assert "C1" in {r.collector_id for r in earlier.results if not isinstance(r, CaseError)}
    # A case assigned to C1 by hand after the handover brings C1 back.
    back = json.dumps(
        {
            "type": "assignment.assigned",
            "at": "2026-11-16T15:00:00+08:00",
            "actor": "L1",
            "case_id": "N0",
            "payload": {"collector_id": "C1", "reason": "new"},
        }
    )
    again = assign(
        newcomers[1:],
        policy=policy,
        collectors=collectors,
        events=[*events, back],
        as_of=datetime(2026, 11, 17, 9, tzinfo=CST),
    )
    assert again.to_dict()["collectors"]["C1"]["status"] == "active"


def test_a_handover_from_a_collector_nobody_knows_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no collector 'P3' in the collectors file \(P1, P2, F1"):
        handover(
            departing="P3", to=["P1"], collectors=roster(), events=[], as_of=RECEIVED, actor="S9"
        )
    # One the file no longer lists may still hand over the cases the events give them.
    log = [
        json.dumps(
            {
                "type": "assignment.assigned",
                "at": "2026-11-02T09:00:00+08:00",
                "actor": "L1",
                "case_id": "A",
                "payload": {"collector_id": "X7", "reason": "new"},
            }
        )
    ]
    run = handover(
        departing="X7", to=["P1"], collectors=roster(), events=log, as_of=RECEIVED, actor="S9"
    )
    assert run.received == {"P1": 1}
    args = ["handover", "--from", "C9", "--to", "C2", "--as-of", "2026-11-20T09:00:00+08:00"]
    args += ["--actor", "L1"]
    args += ["--collectors", str(AGENCY / "collectors.yaml")]
    assert main([*args, "--events", str(AGENCY / "events.jsonl")]) == 2


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ([], "at least one"),
        (["P2"], "departing"),
        (["ZZ"], "no collector"),
        (["P1", "P1"], "twice"),
    ],
)
def test_receivers_are_checked(to: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        handover(departing="P2", to=to, collectors=roster(), events=[], as_of=RECEIVED, actor="S9")


def test_a_handover_from_a_collector_who_does_not_hold_the_case_is_an_error_record() -> None:
    log = [
        json.dumps(
            {
                "type": "handover.completed",
                "at": "2026-11-02T10:00:00+08:00",
                "actor": "L1",
                "case_id": "A",
                "payload": {
                    "from_collector": "P1",
                    "to_collector": "P2",
                    "sheet_digest": "sha256:" + "0" * 64,
                },
            }
        )
    ]
    desk = read_desk(log)
    assert desk.holder == {} and desk.errors[0].problems[0].code == "bad_transition"


# --- bundles --------------------------------------------------------------------------------


def test_export_verify_import_round_trip(tmp_path: Path) -> None:
    result = take(tmp_path, lines(card("A"), card("B"), b"bad"))
    log = tmp_path / "events.jsonl"
    extra = json.dumps(
        {
            "type": "case.closed",
            "at": "2026-11-03T10:00:00+08:00",
            "actor": "A1",
            "case_id": "A",
            "payload": {"reason": "paid"},
        }
    )
    other = extra.replace('"A"', '"Z"')
    log.write_bytes(result.events_file.read_bytes() + (extra + "\n" + other + "\n").encode())
    made = export_bundle(tmp_path / "store", tmp_path / "out.zip", events=log, bank="BK")
    assert (made.cases, made.events) == (2, 4)
    assert verify_bundle(tmp_path / "out.zip") == []
    again = export_bundle(tmp_path / "store", tmp_path / "again.zip", events=log, bank="BK")
    assert (tmp_path / "again.zip").read_bytes() == (tmp_path / "out.zip").read_bytes()
    assert again.digest == made.digest
    import_bundle(tmp_path / "out.zip", tmp_path / "restored")
    for path in sorted(result.directory.iterdir()):
        copy = tmp_path / "restored" / "batches" / result.batch_id / path.name
        assert copy.read_bytes() == path.read_bytes()
    restored = (tmp_path / "restored" / "events.jsonl").read_text().splitlines()
    assert other not in restored and extra in restored and len(restored) == 4
    with pytest.raises(ConfigError, match="not an empty directory"):
        import_bundle(tmp_path / "out.zip", tmp_path / "restored")


def test_a_bundle_repacked_with_zip_and_its_folder_entries_verifies_and_imports(
    tmp_path: Path,
) -> None:
    # `unzip` then `zip -r` (a bank repacking what it got) adds an entry for each folder:
    # "'batches/': not a file name inside the bundle" before (issue 38, item 13).
    import zipfile

    result = take(tmp_path, lines(card("A"), card("B")))
    made = tmp_path / "out.zip"
    export_bundle(tmp_path / "store", made, events=result.events_file, bank="BK")
    repacked = tmp_path / "repacked.zip"
    with zipfile.ZipFile(made) as original, zipfile.ZipFile(repacked, "w") as out:
        out.writestr("batches/", b"")
        out.writestr(f"batches/{result.batch_id}/", b"")
        for member in original.infolist():
            out.writestr(member.filename, original.read(member))
    assert verify_bundle(repacked) == []
    import_bundle(repacked, tmp_path / "restored")
    assert (tmp_path / "restored" / "batches" / result.batch_id / "cases.jsonl").is_file()
    with zipfile.ZipFile(repacked, "a") as out:  # a folder entry that holds bytes is no folder
        out.writestr("notes/", b"hidden")
    assert any("'notes/': not a file name" in p for p in verify_bundle(repacked))


def test_a_tampered_bundle_does_not_verify_and_is_not_imported(tmp_path: Path) -> None:
    take(tmp_path, lines(card("A")))
    export_bundle(tmp_path / "store", tmp_path / "out.zip", bank="BK")
    with (
        zipfile.ZipFile(tmp_path / "out.zip") as source,
        zipfile.ZipFile(tmp_path / "bad.zip", "w") as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("cases.jsonl"):
                data = data.replace(b'"A"', b'"B"')
            target.writestr(info, data)
        target.writestr("../escape.txt", b"x")
    problems = verify_bundle(tmp_path / "bad.zip")
    assert any("escape" in p for p in problems)
    with pytest.raises(ConfigError, match="does not verify"):
        import_bundle(tmp_path / "bad.zip", tmp_path / "restored")
    assert not (tmp_path / "restored").exists()
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really")
    assert "not a readable zip" in verify_bundle(tmp_path / "junk.zip")[0]


def test_export_refuses_a_log_it_cannot_read_whole(tmp_path: Path) -> None:
    result = take(tmp_path, lines(card("A")))
    log = tmp_path / "events.jsonl"
    log.write_bytes(result.events_file.read_bytes() + b"{not an event\n")
    with pytest.raises(ConfigError, match=r"1 line\(s\) of the events .* cannot be read"):
        export_bundle(tmp_path / "store", tmp_path / "out.zip", events=log, bank="BK")
    assert not (tmp_path / "out.zip").exists()


def _rebuilt(
    source: Path,
    out: Path,
    change: Callable[[dict[str, bytes]], None],
    *,
    flags: int = 0,
) -> Path:
    """The bundle ``source`` with its members changed and its top manifest made to match."""
    import hashlib
    import zipfile

    with zipfile.ZipFile(source) as given:
        members = {name: given.read(name) for name in given.namelist()}
    change(members)
    members.pop("MANIFEST.sha256", None)
    listing = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(members.items())
    )
    members["MANIFEST.sha256"] = listing.encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    if flags:  # zipfile writes no encrypted member: set the flag in both of its headers
        raw = bytearray(out.read_bytes())
        headers = ((b"PK\x03\x04", 26, 30, 6), (b"PK\x01\x02", 28, 46, 8))
        for signature, size_at, name_at, flag_at in headers:
            at = raw.find(signature)
            while at >= 0:
                size = int.from_bytes(raw[at + size_at : at + size_at + 2], "little")
                if raw[at + name_at : at + name_at + size].endswith(b"cases.jsonl"):
                    raw[at + flag_at] |= flags
                at = raw.find(signature, at + 4)
        out.write_bytes(bytes(raw))
    return out


def _description_of(members: dict[str, bytes], **change: Any) -> None:
    info = json.loads(members["bundle.json"])
    members["bundle.json"] = json.dumps({**info, **change}).encode()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda m: _description_of(m, cases="many"), "cases is not a count"),
        (lambda m: _description_of(m, cases=None), "cases is not a count"),
        (
            lambda m: m.update({"bundle.json": b'{"format": "dunning-bundle/1", "cases": 1e400}'}),
            "not a dunning-bundle/1 description",
        ),
        (lambda m: _description_of(m, bank="../x"), "is not a bank id"),
        (lambda m: m.update({"run-me.sh": b"rm -rf ~"}), "run-me.sh: not a member of a bundle"),
        (lambda m: m.update({"batches/.hidden/x": b"x"}), "not a member of a bundle"),
        (
            lambda m: m.update(
                {"batches/ZZ-0123456789abcdef/MANIFEST.sha256": b"0" * 64 + b"  x\n"}
            ),
            "not a member of a bundle",
        ),
        (
            lambda m: m.update(
                {
                    name: data + b"0" * 64 + b"  sub/dir\n"
                    for name, data in m.items()
                    if name.endswith("/MANIFEST.sha256")
                }
            ),
            "not a manifest line",
        ),
    ],
)
def test_a_bundle_holds_only_what_its_description_lists(
    tmp_path: Path, change: Callable[[dict[str, bytes]], None], said: str
) -> None:
    take(tmp_path, lines(card("A")))
    made = export_bundle(tmp_path / "store", tmp_path / "out.zip", bank="BK")
    bad = _rebuilt(made.path, tmp_path / "bad.zip", change)
    problems = verify_bundle(bad)
    assert any(said in p for p in problems), problems
    with pytest.raises(ConfigError, match="does not verify"):
        import_bundle(bad, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_an_encrypted_or_explosive_member_is_refused_without_a_traceback(tmp_path: Path) -> None:
    take(tmp_path, lines(card("A")))
    made = export_bundle(tmp_path / "store", tmp_path / "out.zip", bank="BK")
    locked = _rebuilt(made.path, tmp_path / "locked.zip", lambda m: None, flags=0x1)
    assert any("encrypted" in p for p in verify_bundle(locked))
    with pytest.raises(ConfigError, match="does not verify"):
        import_bundle(locked, tmp_path / "restored")
    bomb = _rebuilt(
        made.path, tmp_path / "bomb.zip", lambda m: m.update({"events.jsonl": b"\n" * (3 * 2**20)})
    )
    problems = verify_bundle(bomb)
    assert any("compressed more than 200 to 1" in p for p in problems), problems


def test_export_needs_a_bank_or_batches(tmp_path: Path) -> None:
    take(tmp_path, lines(card("A")))
    with pytest.raises(ConfigError, match="either"):
        export_bundle(tmp_path / "store", tmp_path / "o.zip")
    with pytest.raises(ConfigError, match="no batch of bank"):
        export_bundle(tmp_path / "store", tmp_path / "o.zip", bank="OTHER")


# --- the command line -----------------------------------------------------------------------


def dunning(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_dunning(*argv, cwd=cwd)


def test_the_agencys_day_on_the_command_line(tmp_path: Path) -> None:
    shutil.copy(AGENCY / "bank-2026-11-02.csv", tmp_path)
    shutil.copy(AGENCY / "collectors.yaml", tmp_path)
    done = dunning(
        "intake",
        "bank-2026-11-02.csv",
        "--bank",
        "SH-BANK",
        "--received-at",
        "2026-11-02T09:30:00+08:00",
        "--store",
        "store",
        "--backup",
        "b1",
        "--backup",
        "b2",
        "--policy",
        str(POLICY),
        "--format",
        "jsonl",
        cwd=tmp_path,
    )
    assert done.returncode == 1  # three lines refused (and, run today, late)
    (tmp_path / "events.jsonl").write_text(done.stdout, encoding="utf-8")
    received = [json.loads(x) for x in done.stdout.splitlines()]
    assert len(received) == 38 and received[-1]["payload"]["rejected"] == 3
    shipped = [json.loads(x) for x in (AGENCY / "events.jsonl").read_text().splitlines()][:38]
    assert [r["case_id"] for r in received] == [s["case_id"] for s in shipped]
    again = dunning(
        "intake",
        "bank-2026-11-02.csv",
        "--bank",
        "SH-BANK",
        "--received-at",
        "2026-11-02T09:30:00+08:00",
        "--store",
        "store",
        "--backup",
        "b1",
        "--backup",
        "b2",
        "--policy",
        str(POLICY),
        cwd=tmp_path,
    )
    assert "\n  Taken in   before; checked again\n" in again.stdout
    assert "\n    12  SH-0038  bad_cell\n      Problem: delinquency.dpd: " in again.stdout
    batch = next((tmp_path / "store" / "batches").iterdir())
    done = dunning(
        "assign",
        "--policy",
        str(POLICY),
        "--collectors",
        "collectors.yaml",
        "--events",
        "events.jsonl",
        "--as-of",
        "2026-11-02T11:00:00+08:00",
        "--actor",
        "L1",
        str(batch / "cases.jsonl"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    shipped_assign = [
        x for x in (AGENCY / "events.jsonl").read_text().splitlines() if '"assignment.' in x
    ]
    assert done.stdout.splitlines() == shipped_assign
    shutil.copy(AGENCY / "events.jsonl", tmp_path / "month.jsonl")  # the month, with its closures
    done = dunning(
        "handover",
        "--from",
        "C1",
        "--to",
        "C2",
        "--to",
        "L1",
        "--collectors",
        "collectors.yaml",
        "--events",
        "month.jsonl",
        "--as-of",
        "2026-11-16T08:30:00+08:00",
        "--actor",
        "L1",
        "--sheets",
        "sheets",
        "--format",
        "table",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"Open before +7\n  Handed over +7\n  Left after +0\n", done.stdout)
    assert len(list((tmp_path / "sheets").iterdir())) == 7
    done = dunning(
        "export",
        "--bundle",
        "out.zip",
        "--store",
        "store",
        "--events",
        "events.jsonl",
        "--bank",
        "SH-BANK",
        cwd=tmp_path,
    )
    assert done.returncode == 0 and "37 cases" in done.stdout
    assert dunning("verify", "out.zip", cwd=tmp_path).stdout == "out.zip: verified\n"
    done = dunning("import", "out.zip", "--into", "restored", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "restored" / "events.jsonl").exists()
    schema = json.loads(dunning("schema", "event", cwd=tmp_path).stdout)
    assert "intake.completed" in json.dumps(schema)


def test_collectors_files_are_checked_like_rule_files(tmp_path: Path) -> None:
    (tmp_path / "collectors.yaml").write_text(
        "collectors:\n  - {collector_id: A, name: x, team: t, capacity: -1, skils: []}\n"
        "  - {collector_id: A, name: y, team: t, capacity: 1}\n"
    )
    done = dunning("check", "collectors.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert "collectors.yaml:2:" in done.stdout and "unknown-key" in done.stdout
    assert "collectors.yaml:3:" in done.stdout and "duplicate-key" in done.stdout
    with pytest.raises(ConfigError):
        Collectors.of([Collector(collector_id="A", name="x", team="t", capacity=1)] * 2)


def test_the_agency_example_is_reproducible(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "generate_agency.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for path in sorted(AGENCY.rglob("*")):
        if path.is_file() and path.name != "collectors.yaml":
            copy = tmp_path / path.relative_to(AGENCY)
            assert copy.read_bytes() == path.read_bytes(), path.name


def test_the_banks_limits_are_measured_as_the_policy_gives_them() -> None:
    limits = load_policy(POLICY).ir.agency.procedures
    assert limits["instalment_plan"].beyond_limit(instalments=60) is None
    assert limits["instalment_plan"].beyond_limit(instalments=72) == (
        "72 instalments: more than the bank's 60"
    )
    assert limits["waiver"].beyond_limit(amount=Decimal("300.00"), owed=Decimal("1000")) is None
    found = limits["waiver"].beyond_limit(amount=Decimal("300.01"), owed=Decimal("1000"))
    assert found is not None and "30%" in found and "300.00" in found
    assert limits["suspension"].beyond_limit(days=90) is None
    assert limits["suspension"].beyond_limit(days=91) == "91 days: longer than the bank's 90"


def test_assignment_rules_do_not_read_the_books_figure_and_need_none() -> None:
    book = AGENCY_POLICY.replace(
        "channel: [{id: c, then: {channel: call}}]",
        "channel: [{id: c, when: overdue_customers > 3, then: {channel: call}}, "
        "{id: d, then: {channel: sms}}]",
    )
    with pytest.raises(PolicyError) as caught:
        loads_policy(book + "agency: {assignment: {rules: [{id: a, when: overdue_customers > 1}]}}")
    assert [d.code for d in caught.value.diagnostics] == ["bad-name"]
    policy = loads_policy(book + "agency: {assignment: {rules: [{id: a, when: dpd > 9}]}}")
    run = assign([json.dumps(card("A"))], policy=policy, collectors=roster(), as_of=RECEIVED)
    assert run.events[0].payload.rule == "a"  # decided without a portfolio figure


def test_the_two_backups_are_the_branchs_and_head_offices(tmp_path: Path) -> None:
    """The seed: two backups, the branch's and head office's; the event says which is which."""
    source = tmp_path / "bank.jsonl"
    source.write_bytes(lines(card("A")))
    args = ["intake", str(source), "--bank", "BK", "--received-at", "2026-11-02T09:30:00+08:00"]
    args += ["--store", str(tmp_path / "store"), "--format", "json"]
    named = run_dunning(
        *args, "--backup", f"branch={tmp_path / 'b1'}", "--backup", f"head_office={tmp_path / 'b2'}"
    )
    assert [b["site"] for b in json.loads(named.stdout)["backups"]] == ["branch", "head_office"]
    half = run_dunning(*args, "--backup", f"branch={tmp_path / 'b3'}", "--backup", "b4")
    assert half.returncode == 2 and "name every backup's site" in half.stderr
    from dunning.agency.audit import audit
    from dunning.agency.procedure import load_procedure

    procedure = load_procedure(ROOT / "rules" / "agency_procedure.yaml")
    event = json.loads(
        next(iter((tmp_path / "store" / "batches").iterdir()))
        .joinpath("events.jsonl")
        .read_text()
        .splitlines()[-1]
    )
    event["payload"]["bank"] = "SH-BANK"
    for backup in event["payload"]["backups"]:
        backup["site"] = None  # two folders, neither known to be where the seed asks
    done = datetime.fromisoformat(event["at"]) + timedelta(hours=1)
    found = audit([json.dumps(event)], procedure=procedure, as_of=done)
    assert not found.event_errors, found.event_errors
    # (and late: received a month ago)
    assert [f.check for f in found.findings if f.obligation == "intake"] == [None, "sites"]
