"""Work recorded as people work: ``dunning record`` and ``dunning history`` on the example month."""

from __future__ import annotations

import io
import json
import shutil
import threading
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning import CaseError
from dunning.agency.record import append_event, build_event
from dunning.cli import main
from dunning.cli.parser import RECORD_FIELDS, RECORD_KINDS
from dunning.events import EVENT_MODELS, read_events

ROOT = Path(__file__).resolve().parent.parent
AGENCY = ROOT / "examples" / "agency"
PROCEDURE = str(ROOT / "rules" / "agency_procedure.yaml")
CST = timezone(timedelta(hours=8))


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    shutil.copy(AGENCY / "events.jsonl", path)
    return path


def dunning(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def contact(log: Path, called: str, *extra: str, recorded: str = "17:45") -> tuple[int, str, str]:
    return dunning(
        "record",
        "contact",
        "--events",
        str(log),
        "--actor",
        "C1",
        "--case",
        "SH-0001",
        "--at",
        f"2026-11-10T{recorded}:00+08:00",
        "--contacted-at",
        f"2026-11-10T{called}:00+08:00",
        "--channel",
        "call",
        "--cases",
        str(AGENCY / "cases.jsonl"),
        "--procedure",
        PROCEDURE,
        *extra,
    )


def test_a_contact_is_recorded_once_whole_and_masked(log: Path) -> None:
    before = log.read_bytes()
    args = ("--party-id", "borrower", "--outcome", "promised", "--number", "+86 13856150323")
    status, out, err = contact(log, "10:40", *args, "--promise-amount", "500.00")
    assert status == 1 and "promise_amount" in err and "not recorded" in err
    assert log.read_bytes() == before  # a record that does not fit the contract: nothing
    status, out, err = contact(
        log, "10:40", *args, "--promise-amount", "500", "--promise-due", "2026-11-17"
    )
    assert status == 0 and "recorded in" in err
    event = json.loads(out)
    assert event["payload"]["number"] == "*0323"  # never the whole number
    assert event["payload"]["party_role"] == "borrower"
    assert log.read_bytes() == before + out.encode()
    # The same record again (a retry after a lost answer) appends nothing.
    again = contact(log, "10:40", *args, "--promise-amount", "500", "--promise-due", "2026-11-17")
    assert again[0] == 0 and "nothing appended" in again[2] and again[1] == ""
    assert log.read_bytes() == before + out.encode()
    assert not [e for e in read_events(log.read_bytes().splitlines()) if isinstance(e, CaseError)]


def test_warnings_come_before_the_fact(log: Path) -> None:
    borrower = ("--party-id", "borrower", "--outcome", "connected")
    before = log.read_bytes()
    status, _, err = contact(log, "22:40", *borrower, "--check", recorded="22:41")
    assert status == 1 and "conduct.hours" in err and "22:40 in Asia/Shanghai" in err
    assert "not recorded" in err and log.read_bytes() == before
    for hour in ("09:00", "10:00", "11:00"):
        assert contact(log, hour, *borrower)[0] == 0
    status, _, err = contact(log, "12:00", *borrower, "--check")
    assert status == 1 and "conduct.connected_calls: 4 connected calls" in err
    # The emergency contact, the borrower reachable, told of the debt.
    status, _, err = contact(
        log,
        "13:00",
        "--party-id",
        "emergency_contact",
        "--outcome",
        "connected",
        "--debt-disclosed",
        "true",
        "--check",
    )
    assert "conduct.third_parties" in err and "told of the debt" in err
    # A contact of the morning recorded the next day is a late record.
    status, _, err = contact(log, "08:30", *borrower, "--check", recorded="09:10")
    late = dunning(
        "record",
        "contact",
        "--events",
        str(log),
        "--actor",
        "C1",
        "--case",
        "SH-0001",
        "--at",
        "2026-11-11T09:10:00+08:00",
        "--contacted-at",
        "2026-11-10T15:00:00+08:00",
        "--channel",
        "call",
        "--party-id",
        "borrower",
        "--outcome",
        "busy",
        "--procedure",
        PROCEDURE,
        "--check",
    )
    assert late[0] == 1 and "daily_records" in late[2]
    # Recorded anyway (it happened): exit 0, the warning said.
    status, _, err = contact(log, "12:00", *borrower)
    assert status == 0 and "warning: conduct.connected_calls" in err


def test_a_request_beyond_the_banks_limit_and_a_grant_by_a_collector_are_warned_of(
    log: Path,
) -> None:
    common = ("--events", str(log), "--case", "SH-0001", "--procedure", PROCEDURE)
    status, out, err = dunning(
        "record",
        "request",
        *common,
        "--actor",
        "C1",
        "--at",
        "2026-11-10T17:50:00+08:00",
        "--special-procedure",
        "instalment_plan",
        "--instalments",
        "72",
    )
    assert status == 0 and "72 instalments asked for, beyond the bank's 60" in err
    request_id = json.loads(out)["payload"]["request_id"]
    status, out, err = dunning(
        "record",
        "grant",
        *common,
        "--actor",
        "C2",
        "--at",
        "2026-11-11T10:00:00+08:00",
        "--special-procedure",
        "instalment_plan",
        "--instalments",
        "72",
        "--request-id",
        request_id,
        "--collectors",
        str(AGENCY / "collectors.yaml"),
    )
    assert "roles.approve_procedures" in err and "special_procedures.limits" in err


def test_a_force_majeure_and_a_coordination_are_recorded_and_warned_of(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    common = ("--events", str(log), "--procedure", PROCEDURE)
    staff = ("--collectors", str(AGENCY / "collectors.yaml"))
    noted = (
        "--actor L1 --at 2026-12-01T07:45:00+08:00 --incident FM-1 --nature 暴雨 --banks SH-BANK"
    )
    status, _, err = dunning("record", "force-majeure", *common, *noted.split())
    assert (status, err) == (0, f"dunning: recorded in {log}\n")
    told = (
        "--actor C1 --at 2026-12-02T09:00:00+08:00 --incident FM-1 --bank SH-BANK --ref 往来/FM-1"
    )
    status, out, err = dunning("record", "force-majeure-report", *common, *staff, *told.split())
    assert status == 0 and json.loads(out)["case_id"] is None
    assert "roles.report_force_majeure: the report of FM-1 to SH-BANK by C1 (collector)" in err
    assert "force_majeure: force majeure FM-1 was reported to SH-BANK late, 2026-12-02 09:00" in err
    filed = "--actor S1 --case SH-0027 --at 2026-12-03T15:00:00+08:00 --other-branch wuxi-branch"
    status, _, err = dunning("record", "coordination", *common, *filed.split(), "--ref", "总公司/x")
    assert status == 0
    kinds = [e.type for e in read_events(log.read_text(encoding="utf-8").splitlines())]
    assert kinds == ["force_majeure.noted", "force_majeure.reported", "coordination.filed"]


def test_two_recorders_at_once_write_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_bytes(b'{"type": "torn by a crash')  # a last line cut short
    at = datetime(2026, 11, 10, 17, 0, tzinfo=CST)

    def record(actor: str) -> None:
        for n in range(40):
            event = build_event(
                "contact.recorded",
                at=at,
                actor=actor,
                case_id=f"K-{n}",
                payload={
                    "contacted_at": (at - timedelta(minutes=n)).isoformat(),
                    "channel": "call",
                    "party_id": "borrower",
                    "outcome": "no_answer",
                },
            )
            assert append_event(event, log)

    threads = [threading.Thread(target=record, args=(who,)) for who in ("C1", "C2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = log.read_bytes().splitlines()
    assert lines[0] == b'{"type": "torn by a crash'  # kept, and ended: ours stay whole
    read = list(read_events(lines[1:]))
    assert len(read) == 80 and not [e for e in read if isinstance(e, CaseError)]


def test_a_new_log_is_owner_only(tmp_path: Path) -> None:
    at = datetime(2026, 11, 10, 17, 0, tzinfo=CST)
    event = build_event("case.closed", at=at, actor="A1", case_id="K-1", payload={"reason": "paid"})
    log = tmp_path / "new.jsonl"
    assert append_event(event, log) and log.stat().st_mode & 0o077 == 0


def test_the_options_are_the_contracts_fields() -> None:
    for short, kind in RECORD_KINDS.items():
        model = EVENT_MODELS[kind].model_fields["payload"].annotation
        assert [f.rstrip("*") for f in RECORD_FIELDS[short]] == list(model.model_fields)  # type: ignore[union-attr]


@given(
    channel=st.text(max_size=12),
    outcome=st.sampled_from(["connected", "busy", "x"]),
    number=st.text(max_size=20),
    zone=st.text(max_size=20),
    amount=st.text(max_size=12),
)
def test_any_values_make_an_event_or_a_clear_error(
    channel: str, outcome: str, number: str, zone: str, amount: str
) -> None:
    payload: dict[str, Any] = {
        "contacted_at": "2026-11-10T10:00:00+08:00",
        "channel": channel,
        "party_id": "borrower",
        "outcome": outcome,
        "number": number,
        "timezone": zone,
        "promise_amount": amount,
        "promise_due": "2026-11-17",
    }
    at = datetime(2026, 11, 10, 17, 0, tzinfo=CST)
    try:
        found: Any = build_event(
            "contact.recorded", at=at, actor="C1", case_id="K", payload=payload
        )
    except CaseError as error:
        found = error
    if isinstance(found, CaseError):
        assert found.problems and all(p.path for p in found.problems)
    else:
        assert found.payload.channel.value == channel


def test_a_cases_history_in_time_order(log: Path) -> None:
    status, out, _ = dunning("history", "SH-0008", "--events", str(log))
    lines = out.splitlines()
    assert status == 0 and lines[0] == "History of SH-0008: 14 event(s)"
    assert "case.received" in lines[1] and "handover.completed" in out
    assert "approval.granted     suspension REQ-002" in out
    # Recorded out of order, shown in time order; the next step with the policy.
    dunning(
        "record",
        "close",
        "--events",
        str(log),
        "--actor",
        "A1",
        "--case",
        "SH-0008",
        "--at",
        "2026-11-03T10:00:00+08:00",
        "--reason",
        "note_for_the_test",
    )
    status, out, _ = dunning(
        "history",
        "SH-0008",
        "--events",
        str(log),
        "--format",
        "json",
        "--policy",
        str(ROOT / "rules" / "bank_credit_card.yaml"),
        "--cases",
        str(AGENCY / "cases.jsonl"),
        "--as-of",
        "2026-11-20T10:00:00+08:00",
    )
    data = json.loads(out)
    times = [e["at"] for e in data["events"]]
    assert times == sorted(times) and data["events"][4]["type"] == "case.closed"
    assert data["next"]["channel"] and data["next"]["total_due"]
    with log.open("a", encoding="utf-8") as stream:
        stream.write('{"type":"contact.recorded","case_id":"SH-0008","at":"bad"}\n')
    status, out, _ = dunning("history", "SH-0008", "--events", str(log))
    assert status == 1 and "Unreadable event lines of the case" in out
    assert dunning("history", "NOPE", "--events", str(log))[0] == 1
