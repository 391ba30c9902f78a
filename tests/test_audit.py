"""The audit: the shipped month audits clean, and each planted breach is found with its evidence."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import run_dunning
from dunning import ConfigError, PolicyError
from dunning.agency.audit import audit
from dunning.agency.collectors import load_collectors
from dunning.agency.procedure import load_procedure, loads_procedure

ROOT = Path(__file__).resolve().parent.parent
EVENTS = (ROOT / "examples" / "agency" / "events.jsonl").read_text(encoding="utf-8").splitlines()
PROCEDURE = load_procedure(ROOT / "rules" / "agency_procedure.yaml")
CST = timezone(timedelta(hours=8))
AS_OF = datetime(2026, 12, 11, 9, 0, tzinfo=CST)


STAFF = load_collectors(ROOT / "examples" / "agency" / "collectors.yaml")


class Run:
    """An audit of the example month, but for the one warning the month holds."""

    def __init__(self, lines: list[str], staff: Any = None) -> None:
        self.result = audit(
            lines,
            procedure=PROCEDURE,
            as_of=AS_OF,
            start=date(2026, 11, 1),
            end=date(2026, 11, 30),
            staff=staff,
        )
        self.checked = self.result.checked
        self.event_errors = self.result.event_errors
        self.findings = [f for f in self.result.findings if not _escalated(f)]


def _escalated(finding: Any) -> bool:
    """C1's request to suspend collection, left undecided until the handover escalated it."""
    return (finding.case_id, finding.check, finding.severity) == ("SH-0008", "undecided", "warning")


def run(lines: list[str], staff: Any = None) -> Run:
    return Run(lines, staff)


def test_the_shipped_month_audits_clean_but_for_the_request_left_undecided() -> None:
    result = run(EVENTS, STAFF)
    assert result.findings == [] and result.event_errors == []
    (late,) = result.result.findings
    assert late.message == "suspension REQ-002: decided only on 2026-11-16, after 2026-11-09"
    assert result.checked == {
        "conduct": 260,
        "cycle": 95,
        "daily_records": 264,
        "field_visits": 22,
        "intake": 1,
        "monthly_report": 1,
        "reconciliation": 1,
        "roles": 38,  # two more: the force majeure's report, the performance report's filing
        "special_procedures": 4,
        "weekly_report": 4,
        "cross_region": 2,  # SH-0012 and SH-0027 live in Jiangsu
        "force_majeure": 1,
        "performance_report": 1,
    }
    assert result.result.notes == []
    # Given the collectors file, the audit names each collector its findings name.
    collectors = load_collectors(ROOT / "examples" / "agency" / "collectors.yaml")
    assert run(EVENTS, collectors).result.to_dict()["names"] == {"C1": "王芳"}
    # Without the staff's roles, who did what is not checked, and the audit says so.
    unchecked = run(EVENTS)
    assert "roles" not in unchecked.checked and unchecked.result.notes == ["roles_not_checked"]


def first(kind: str, test: Callable[[dict[str, Any]], bool] = lambda e: True) -> int:
    """The index of the first event of ``kind`` passing ``test``."""
    return next(i for i, e in enumerate(map(json.loads, EVENTS)) if e["type"] == kind and test(e))


def changed(index: int, change: Callable[[dict[str, Any]], None]) -> list[str]:
    event = json.loads(EVENTS[index])
    change(event)
    return [*EVENTS[:index], json.dumps(event, ensure_ascii=False), *EVENTS[index + 1 :]]


def dropped(index: int) -> list[str]:
    return [*EVENTS[:index], "", *EVENTS[index + 1 :]]  # a blank line keeps the line numbers


def late(event: dict[str, Any], days: int = 0, hours: int = 0) -> None:
    moment = datetime.fromisoformat(event["at"]) + timedelta(days=days, hours=hours)
    event["at"] = moment.isoformat()


INTAKE = first("intake.completed")
RECORD = first("contact.recorded")
VISIT = first("contact.recorded", lambda e: e["payload"]["channel"] == "field_visit")
REVIEW = first("visit.reviewed")
GRANTED = first("approval.granted")
STARTED = first("procedure.started")
WEEKLY = first("report.filed", lambda e: e["payload"]["kind"] == "weekly")
MONTHLY = first("report.filed", lambda e: e["payload"]["kind"] == "monthly")
RECONCILED = first("reconciliation.filed")


def _asked_in(request: int) -> int:
    """The contact a special request came out of: the same case, the same day, just before."""
    case_id = json.loads(EVENTS[request])["case_id"]
    return max(
        i
        for i, e in enumerate(map(json.loads, EVENTS[:request]))
        if e["type"] == "contact.recorded" and e["case_id"] == case_id
    )


def _busy(request: int) -> bool:
    """Whether the request's case has other contacts on record in the same week."""
    asked = json.loads(EVENTS[request])
    day = date.fromisoformat(asked["at"][:10])
    return (
        sum(
            e["type"] == "contact.recorded"
            and e["case_id"] == asked["case_id"]
            and abs((date.fromisoformat(e["at"][:10]) - day).days) < 7
            for e in map(json.loads, EVENTS)
        )
        > 2
    )


# A request of a case worked often enough that losing one record breaks no weekly node.
REQUESTED = next(
    i
    for i, e in enumerate(map(json.loads, EVENTS))
    if e["type"] == "approval.requested" and _busy(i)
)
ASKED_IN = _asked_in(REQUESTED)


def without(case_id: str, kind: str, last_day: str) -> list[str]:
    """The log with ``case_id``'s events of ``kind`` up to ``last_day`` blanked out."""

    def keep(text: str) -> bool:
        e = json.loads(text)
        return not (e["type"] == kind and e["case_id"] == case_id and e["at"][:10] <= last_day)

    return [text if keep(text) else "" for text in EVENTS]


def _completed_late(e: dict[str, Any]) -> None:
    e["payload"]["completed_at"] = "2026-11-02T12:00:00+08:00"


def _one_backup(e: dict[str, Any]) -> None:
    e["payload"]["backups"] = e["payload"]["backups"][:1]


def _no_recording(e: dict[str, Any]) -> None:
    e["payload"]["recording_ref"] = None


def _unfiled(e: dict[str, Any]) -> None:
    e["payload"]["filed_ref"] = None


def _not_approved(e: dict[str, Any]) -> None:
    e["payload"]["approved_by"] = None
    e["payload"]["approvals"] = []


def _self_approved(e: dict[str, Any]) -> None:
    asked = first(
        "approval.requested", lambda r: r["payload"]["request_id"] == e["payload"]["request_id"]
    )
    e["actor"] = json.loads(EVENTS[asked])["actor"]


PLANTED = {
    "intake taken in late": (changed(INTAKE, _completed_late), "intake", [INTAKE]),
    # (and no copy at head office: the sites check)
    "one backup": (changed(INTAKE, _one_backup), ["intake", "intake"], [INTAKE]),
    "a record entered the next day": (
        changed(RECORD, lambda e: late(e, days=1)),
        "daily_records",
        [RECORD],
    ),
    "a visit without its recording": (changed(VISIT, _no_recording), "field_visits", [VISIT]),
    "a visit reviewed late": (
        changed(REVIEW, lambda e: late(e, days=6)),
        "field_visits",
        [VISIT, REVIEW],
    ),
    "a visit never reviewed": (dropped(REVIEW), "field_visits", [VISIT]),
    # (and, never decided, the request is a warning five working days on)
    "a procedure started without approval": (
        dropped(GRANTED),
        ["special_procedures", "special_procedures"],
        [STARTED],
    ),
    "approved by its own requester": (changed(GRANTED, _self_approved), "special_procedures", None),
    "a procedure started unfiled": (changed(STARTED, _unfiled), "special_procedures", [STARTED]),
    "a weekly report missing": (dropped(WEEKLY), "weekly_report", []),
    "a weekly report filed late": (
        changed(WEEKLY, lambda e: late(e, hours=20)),
        "weekly_report",
        [WEEKLY],
    ),
    "the monthly report not approved": (
        changed(MONTHLY, _not_approved),
        "monthly_report",
        [MONTHLY],
    ),
    "the reconciliation missing": (dropped(RECONCILED), "reconciliation", []),
    "a case worked but its contact not recorded": (dropped(ASKED_IN), "daily_records", [REQUESTED]),
    "a phone case not called in its first week": (
        without("SH-0016", "contact.recorded", "2026-11-08"),
        "cycle",
        [],
    ),
}


@pytest.mark.parametrize("name", PLANTED)
def test_each_planted_breach_is_found_with_its_evidence(name: str) -> None:
    lines, obligation, indexes = PLANTED[name]
    wanted = obligation if isinstance(obligation, list) else [obligation]
    result = run(lines)
    assert [f.obligation for f in result.findings] == wanted, result.findings
    finding = result.findings[0]
    if indexes is not None:
        assert list(finding.evidence) == [i + 1 for i in indexes]
    assert finding.severity == PROCEDURE.obligations[wanted[0]].severity
    assert finding.expected and finding.message


def test_deadlines_not_yet_passed_are_not_findings() -> None:
    early = audit(
        dropped(RECONCILED),
        procedure=PROCEDURE,
        as_of=datetime(2026, 12, 10, 12, 0, tzinfo=CST),
        start=date(2026, 11, 1),
        end=date(2026, 11, 30),
    )
    assert [f for f in early.findings if not _escalated(f)] == []
    assert "reconciliation" not in early.checked


def test_unreadable_event_lines_are_reported_and_the_rest_audited() -> None:
    result = run([*EVENTS[:5], "{not json", *EVENTS[5:]])
    assert [e.line for e in result.event_errors] == [6] and result.findings == []


def test_working_days_follow_the_calendar() -> None:
    # 1 October 2026 is National Day: the days off in China run to 7 October.
    assert not PROCEDURE.working_day(date(2026, 10, 1))
    assert PROCEDURE.add_working_days(date(2026, 9, 30), 1) >= date(2026, 10, 8)
    assert PROCEDURE.add_working_days(date(2026, 11, 6), 1) == date(2026, 11, 9)


def test_procedure_files_report_every_problem_at_its_place() -> None:
    text = """\
procedure: x
timezone: Mars/Base
calendar: XX
obligations:
  intake: {within_minutes: 0, backup: 2}
  daily_records: {cutoff: "6pm"}
  weekly_report: {weekday: fryday, severity: fatal}
  special_procedures: {procedures: [loan_sale]}
  audits: {}
"""
    with pytest.raises(PolicyError) as caught:
        loads_procedure(text)
    found = sorted((d.line, d.code) for d in caught.value.diagnostics)
    assert found == [
        (2, "unknown-value"),
        (3, "unknown-value"),
        (5, "bad-value"),
        (5, "unknown-key"),
        (6, "bad-value"),
        (7, "bad-value"),
        (7, "unknown-value"),
        (8, "unknown-value"),
        (9, "unknown-key"),
    ]


def test_dunning_audit_exits_1_on_error_findings(tmp_path: Path) -> None:
    (tmp_path / "clean.jsonl").write_text("\n".join(EVENTS) + "\n", encoding="utf-8")
    (tmp_path / "late.jsonl").write_text(
        "\n".join(PLANTED["a visit never reviewed"][0]) + "\n", encoding="utf-8"
    )
    args = [
        "audit",
        "--procedure",
        str(ROOT / "rules" / "agency_procedure.yaml"),
        "--as-of",
        "2026-12-11T09:00:00+08:00",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
    ]
    clean = run_dunning(*args, str(tmp_path / "clean.jsonl"))
    # The month's one warning (a request decided a week late) does not fail the audit.
    assert clean.returncode == 0 and "1  warning   special_procedures.undecided" in clean.stdout
    found = run_dunning(*args, "--format", "json", str(tmp_path / "late.jsonl"))
    assert found.returncode == 1
    report = json.loads(found.stdout)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert report["errors"] == 1 and errors[0]["obligation"] == "field_visits"


def test_procedure_test_files_pin_findings_and_report_coverage(tmp_path: Path) -> None:
    from dunning.policytests import run_test_files

    (tmp_path / "p.yaml").write_text(
        "procedure: p\ntimezone: Asia/Shanghai\nobligations:\n"
        '  daily_records: {cutoff: "18:00"}\n  intake:\n',
        encoding="utf-8",
    )
    record = (
        '{type: contact.recorded, at: "2026-11-03T09:10:00+08:00", actor: C1, case_id: A, '
        'payload: {record_id: R-1, contacted_at: "2026-11-02T10:00:00+08:00", channel: call, '
        "party_id: borrower, outcome: connected}}"
    )
    (tmp_path / "p.tests.yaml").write_text(
        "procedure: p.yaml\nas_of: 2026-11-20T09:00:00+08:00\ntests:\n"
        f"  - name: late\n    events: [{record}]\n    expect: {{findings: []}}\n"
        f"  - name: pinned\n    events: [{record}]\n"
        "    expect: {findings: [{obligation: daily_records, collector: C1}]}\n",
        encoding="utf-8",
    )
    (result,) = run_test_files([tmp_path / "p.tests.yaml"])
    assert [o.passed for o in result.outcomes] == [False, True]
    assert "unexpected finding: daily_records A" in result.outcomes[0].failures[0]
    assert result.uncovered() == ["intake"]
    codes = [(d.code, d.line) for d in result.diagnostics]
    assert ("test-failed", 4) in codes and ("uncovered-obligation", 5) in codes


def _event(type_: str, at: str, actor: str, case_id: str | None, **payload: Any) -> str:
    return json.dumps(
        {
            "type": type_,
            "at": f"2026-11-{at}:00+08:00",
            "actor": actor,
            "case_id": case_id,
            "payload": payload,
        }
    )


CYCLE = """\
procedure: c
timezone: Asia/Shanghai
obligations:
  cycle:
    weeks: 2
    nodes:
      - {id: tried, week: 1, require: attempts >= 1}
      - {id: reached, week: 2, when: team == "phone", require: right_party_contacts >= 1}
"""


def test_cycle_nodes_follow_each_case_through_its_cycles() -> None:
    assigned = {"collector_id": "C1", "team": "phone", "reason": "new"}
    lines = [
        _event("assignment.assigned", "02T11:00", "S1", "A", **assigned),
        _event("assignment.assigned", "02T11:00", "S1", "B", **assigned),
        _event(
            "contact.recorded",
            "03T17:30",
            "C1",
            "A",
            record_id="R1",
            channel="call",
            contacted_at="2026-11-03T10:00:00+08:00",
            party_id="borrower",
            outcome="no_answer",
        ),
        _event("case.closed", "04T09:00", "S1", "B", reason="paid"),
        _event(
            "handover.completed",
            "10T09:00",
            "L1",
            "A",
            from_collector="C1",
            to_collector="C2",
            team="phone",
            sheet_digest="sha256:" + "0" * 64,
        ),
    ]
    result = audit(
        lines,
        procedure=loads_procedure(CYCLE),
        as_of=datetime(2026, 11, 30, 9, 0, tzinfo=CST),
        start=date(2026, 11, 1),
        end=date(2026, 11, 22),
    )
    found = [(f.case_id, f.collector, f.message.split(" (")[0], f.day) for f in result.findings]
    assert found == [
        # week 2 of the first cycle (to 15 November): tried, never reached; C2 has it now.
        ("A", "C2", "node reached", date(2026, 11, 15)),
        # The second cycle starts on 16 November; its first week brings no attempt.
        ("A", "C2", "node tried", date(2026, 11, 22)),
    ]
    assert result.checked["cycle"] == 3  # B closed before its first node


def test_cycle_nodes_are_checked_like_rules() -> None:
    text = CYCLE + "      - {id: late, week: 3, require: attempt >= 1}\n"
    with pytest.raises(PolicyError) as caught:
        loads_procedure(text)
    codes = sorted(d.code for d in caught.value.diagnostics)
    assert codes == ["unknown-fact"]  # the node is refused before its week is compared
    text = CYCLE + "      - {id: late, week: 3, require: attempts >= 1}\n"
    with pytest.raises(PolicyError) as caught:
        loads_procedure(text)
    assert "beyond the cycle's 2 weeks" in str(caught.value)


def test_a_moment_far_outside_the_years_is_refused_not_overflowed(tmp_path: Path) -> None:
    # Found by the procedure test-file fuzzer: as_of 0001-01-01T00:00+14:00 overflowed a date.
    from dunning import ConfigError
    from dunning.policytests import run_test_files

    far = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(ConfigError, match="outside the years"):
        audit(EVENTS, procedure=PROCEDURE, as_of=far)
    with pytest.raises(ConfigError, match="outside the years"):
        audit(EVENTS, procedure=PROCEDURE, as_of=AS_OF, end=date(9999, 12, 31))
    # An event in year 1 (found by the event-history fuzzer): an unreadable line, not a crash.
    early = changed(RECORD, lambda e: e.update(at="0001-01-01T00:00:00+14:00"))
    result = run(early)
    assert [e.line for e in result.event_errors] == [RECORD + 1]
    assert result.event_errors[0].problems[0].code == "date_out_of_range"
    (tmp_path / "p.yaml").write_text("procedure: p\nobligations:\n  intake:\n", encoding="utf-8")
    (tmp_path / "p.tests.yaml").write_text(
        'procedure: p.yaml\nas_of: "0001-01-01T00:00:00+14:00"\nto: 9999-12-31\ntests:\n'
        "  - name: t\n    events: []\n    expect: {findings: []}\n",
        encoding="utf-8",
    )
    (result,) = run_test_files([tmp_path / "p.tests.yaml"])
    assert [(d.line, d.code) for d in result.diagnostics if d.code == "bad-value"] == [
        (2, "bad-value"),
        (3, "bad-value"),
    ]


def test_a_log_dated_a_century_back_is_a_clear_error_not_a_century_of_findings() -> None:
    from dunning.agency.audit import MAX_AUDIT_DAYS

    old = [
        json.dumps(
            {
                "type": "assignment.assigned",
                "at": "1900-01-02T11:00:00+08:00",
                "actor": "L1",
                "case_id": f"X-{n}",
                "payload": {"collector_id": "C2", "team": "phone", "rule": "r", "reason": "new"},
            }
        )
        for n in range(200)
    ]
    as_of = datetime(2026, 12, 11, 9, tzinfo=timezone(timedelta(hours=8)))
    procedure = load_procedure(ROOT / "rules" / "agency_procedure.yaml")
    with pytest.raises(ConfigError, match=f"an audit covers at most {MAX_AUDIT_DAYS} days"):
        audit(old, procedure=procedure, as_of=as_of)
    with pytest.raises(ConfigError, match="give the period"):
        audit([], procedure=procedure, as_of=as_of, start=date(2024, 1, 1))
    november = audit(
        old, procedure=procedure, as_of=as_of, start=date(2026, 11, 1), end=date(2026, 11, 30)
    )
    assert november.checked["cycle"] == 1000  # the old cycles' nodes in November, judged


# --- roles and approvals: what a bank holds its agency's staff to ------------------------------

REFUSED = first("approval.refused")  # L1's plan of 72 instalments, refused by the supervisor
GRANTED_WAIVER = first("approval.granted", lambda e: e["payload"]["procedure"] == "waiver")
HANDOVER = first("handover.completed")


def _granted_by_the_phone_collector(e: dict[str, Any]) -> None:
    e["type"], e["actor"] = "approval.granted", "C2"


def _by(actor: str) -> Callable[[dict[str, Any]], None]:
    def change(e: dict[str, Any]) -> None:
        e["actor"] = actor

    return change


def _returned(e: dict[str, Any]) -> None:
    e["payload"]["result"] = "returned"


def _manager_alone(e: dict[str, Any]) -> None:
    e["payload"]["approvals"] = ["M1"]


def _disagrees(e: dict[str, Any]) -> None:
    e["payload"].update(agrees=False, differences=4)


def _no_bank_ref(e: dict[str, Any]) -> None:
    e["payload"]["bank_ref"] = None


def _principal(e: dict[str, Any]) -> None:
    e["payload"]["covers"] = ["fees", "principal"]


ROLES = {
    "a 72-instalment plan granted by a phone collector": (
        changed(REFUSED, _granted_by_the_phone_collector),
        [("roles", "approve_procedures"), ("special_procedures", "limits")],
    ),
    "a field collector reviews his own visit": (
        changed(REVIEW, _by(json.loads(EVENTS[VISIT])["actor"])),
        [("field_visits", "reviewer"), ("roles", "review_visits")],
    ),
    "a visit returned and never reviewed again": (
        changed(REVIEW, _returned),
        [("field_visits", None)],
    ),
    "a procedure started by the supervisor, not the admin assistant": (
        changed(STARTED, _by("S1")),
        [("roles", "start_procedures")],
    ),
    "a plan started without the bank's agreement": (
        changed(STARTED, _no_bank_ref),
        [("special_procedures", "bank_approval")],
    ),
    "a waiver of principal": (
        changed(GRANTED_WAIVER, _principal),
        [("special_procedures", "limits")],
    ),
    "the monthly report approved by the manager alone": (
        changed(MONTHLY, _manager_alone),
        [("monthly_report", "approvers")],
    ),
    "a reconciliation that does not agree": (
        changed(RECONCILED, _disagrees),
        [("reconciliation", "agrees")],
    ),
    "a handover run by a phone collector": (
        changed(HANDOVER, _by("C2")),
        [("roles", "hand_over")],
    ),
}


@pytest.mark.parametrize("name", ROLES)
def test_roles_and_approvals_are_held_to_the_procedure(name: str) -> None:
    lines, wanted = ROLES[name]
    found = run(lines, STAFF).findings
    assert sorted((f.obligation, f.check) for f in found) == sorted(wanted), found
    assert all(f.message and f.expected and f.evidence for f in found)


def test_a_disagreeing_reconciliation_is_open_until_an_agreeing_one_is_filed() -> None:
    lines = changed(RECONCILED, _disagrees)
    agreeing = json.loads(EVENTS[RECONCILED])
    agreeing["at"] = "2026-12-09T15:00:00+08:00"  # filed again once the differences are settled
    assert run([*lines, json.dumps(agreeing, ensure_ascii=False)], STAFF).findings == []
    (found,) = run(lines, STAFF).findings
    assert "does not agree (4 line(s) differ)" in found.message


def test_a_returned_visit_reviewed_again_in_time_is_no_finding() -> None:
    lines = changed(REVIEW, _returned)
    again = json.loads(EVENTS[REVIEW])
    again["at"] = (datetime.fromisoformat(again["at"]) + timedelta(days=1)).isoformat()
    assert run([*lines, json.dumps(again, ensure_ascii=False)], STAFF).findings == []


def test_the_monthly_report_needs_both_approvers_even_without_the_staff_file() -> None:
    (found,) = run(changed(MONTHLY, _manager_alone)).findings
    assert "1 approver(s) of 2" in found.message


# --- the seed's part 2: force majeure told to the bank, cross-region cases, filings --------------

NOTED = first("force_majeure.noted")
TOLD = first("force_majeure.reported")
COORDINATED = first("coordination.filed", lambda e: e["case_id"] == "SH-0027")
RECEIVED_27 = first("case.received", lambda e: e["case_id"] == "SH-0027")
PERFORMANCE = first("report.filed", lambda e: e["payload"]["kind"] == "performance")


def _by_a_collector_two_days_on(e: dict[str, Any]) -> None:
    late(e, days=2)
    e["actor"] = "C2"


def _kept_at_the_branch_by(actor: str) -> Callable[[dict[str, Any]], None]:
    def change(e: dict[str, Any]) -> None:
        e["payload"]["filed_with"] = "branch"
        e["actor"] = actor

    return change


def _not_sent_to_head_office(e: dict[str, Any]) -> None:
    e["payload"]["filed_with"] = None


SEED_PART_TWO = {
    "a force majeure never told to the bank": (
        dropped(TOLD),
        [("force_majeure", None)],
        [NOTED],
    ),
    "a force majeure told two days on, by a collector": (
        changed(TOLD, _by_a_collector_two_days_on),
        [("force_majeure", None), ("roles", "report_force_majeure")],
        [NOTED, TOLD],
    ),
    "a Jiangsu case never coordinated with head office": (
        dropped(COORDINATED),
        [("cross_region", None)],
        [RECEIVED_27],
    ),
    "a Jiangsu case coordinated a fortnight late": (
        # (at the log's end: events are appended in time order)
        [*dropped(COORDINATED), changed(COORDINATED, lambda e: late(e, days=14))[COORDINATED]],
        [("cross_region", None)],
        [RECEIVED_27, len(EVENTS)],
    ),
    "no performance report filed with finance": (
        dropped(PERFORMANCE),
        [("performance_report", None)],
        [],
    ),
    "the collectors' results kept at the branch by a collector": (
        changed(PERFORMANCE, _kept_at_the_branch_by("C2")),
        [("performance_report", "filed_with"), ("roles", "file_performance")],
        [PERFORMANCE],
    ),
    "the monthly report not sent to head office": (
        changed(MONTHLY, _not_sent_to_head_office),
        [("monthly_report", "filed_with")],
        [MONTHLY],
    ),
}


@pytest.mark.parametrize("name", SEED_PART_TWO)
def test_the_seeds_filings_and_reports_are_held_to_the_procedure(name: str) -> None:
    lines, wanted, evidence = SEED_PART_TWO[name]
    found = run(lines, STAFF).findings
    assert sorted((f.obligation, f.check) for f in found) == sorted(wanted), found
    assert list(found[0].evidence) == [i + 1 for i in evidence]
    assert all(f.message and f.expected for f in found)


def test_a_force_majeure_told_after_its_finding_turns_it_into_a_late_report() -> None:
    # Told a week on: the log's clock passed the deadline first ("not reported"), then the
    # report came, and the finding says when, with both lines.
    (found,) = run(changed(TOLD, lambda e: late(e, days=7)), STAFF).findings
    assert found.message.startswith("force majeure FM-2026-11-19 was reported to SH-BANK late")
    assert list(found.evidence) == [NOTED + 1, TOLD + 1]


def test_a_cross_region_case_closed_before_its_coordination_is_due_is_no_finding() -> None:
    received = json.loads(EVENTS[RECEIVED_27])
    closed = {
        "type": "case.closed",
        "at": "2026-11-03T10:00:00+08:00",
        "actor": "A1",
        "case_id": "SH-0027",
        "payload": {"reason": "recalled", "note": None},
    }
    lines = dropped(COORDINATED)
    lines.insert(RECEIVED_27 + 1, json.dumps(closed))
    assert received["payload"]["region"] == "CN-JS"
    assert run(lines, STAFF).findings == []


def _inserted_after(index: int, change: Callable[[dict[str, Any]], None]) -> list[str]:
    """The log with a copy of line ``index``, changed, right after it (a new record)."""
    event = json.loads(EVENTS[index])
    change(event)
    event["payload"].update(record_id="R-NEW", outcome="no_answer")
    return [*EVENTS[: index + 1], json.dumps(event, ensure_ascii=False), *EVENTS[index + 1 :]]


C1_CALL = first("contact.recorded", lambda e: e["actor"] == "C1")


def test_a_contact_for_a_case_never_received_or_by_another_collector_is_a_finding() -> None:
    # Accepted without a word before (issue 38, item 12).
    stranger = _inserted_after(C1_CALL, lambda e: e.update(case_id="NOPE-9"))
    (found,) = run(stranger, STAFF).findings
    assert (found.obligation, found.check, found.case_id) == (
        "daily_records",
        "unknown_case",
        "NOPE-9",
    )
    assert found.evidence == (C1_CALL + 2,)
    colleague = _inserted_after(C1_CALL, lambda e: e.update(actor="C2"))
    (found,) = run(colleague, STAFF).findings
    assert (found.check, found.collector) == ("holder", "C2")
    assert found.message.endswith(f"but C1 holds {json.loads(EVENTS[C1_CALL])['case_id']}")
    # A supervisor or team lead may call a case of their team: not a finding with the roles.
    lead = _inserted_after(C1_CALL, lambda e: e.update(actor="L1"))
    assert run(lead, STAFF).findings == []


def test_every_finding_reads_in_chinese_on_a_chinese_page() -> None:
    """Each sentence the audit writes, in every breach its tests plant, has its translation.

    What may stay in Latin letters: ids (SH-0008, REQ-001, FM-…), dates and times, the fields
    an analyst writes in the procedure file (filed_ref, bank_ref…) and the standards cited.
    """
    from dunning.reports.locales import locale
    from test_conduct import call

    zh = locale("zh-CN")
    four_calls = [
        call("23:10", outcome="no_answer", number="*0323"),
        *(call(f"{h:02d}:00") for h in (9, 11, 13, 15, 17)),
        call("18:00", party="emergency_contact", debt_disclosed=True),
        *(call(f"19:{m:02d}", outcome="no_answer", number="*0323") for m in range(7)),
    ]
    logs = [v[0] for table in (PLANTED, ROLES, SEED_PART_TWO) for v in table.values()]
    logs += [
        _inserted_after(C1_CALL, lambda e: e.update(case_id="NOPE-9")),
        _inserted_after(C1_CALL, lambda e: e.update(actor="C2")),
    ]
    sentences = {
        said
        for lines in [*logs, EVENTS + four_calls]
        for staff in (None, STAFF)
        for f in run(lines, staff).result.findings
        for said in (f.message, f.expected if f.obligation != "cycle" else "")  # (analyst's)
        if said
    }
    assert len(sentences) > 40
    allowed = re.compile(
        r"[A-Z0-9][\w.:/+*-]*|filed_ref|bank_ref|approved_by|banks: agreement|bank_approval|"
        r"waiver_principal|procedure\.\w+|case\.received|phone_first_call|art\."
    )
    english = {s: zh.value(s, "said") for s in sentences}
    left = {s: t for s, t in english.items() if re.search(r"[a-z]{3,}", allowed.sub("", t))}
    assert not left, left
    assert english["visit R-00055 has not been reviewed"] == "外访 R-00055 未经审阅"
    assert locale("en").value("visit R-00055 has not been reviewed", "said") == (
        "visit R-00055 has not been reviewed"
    )


def test_a_log_appended_twice_is_read_once_however_long_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hashes of a year's events leave memory for a temporary file: found all the same."""
    from dunning.agency import audit as module

    monkeypatch.setattr(module._Seen, "CHUNK", 16)  # spill after every 16 events
    twice = run([*EVENTS, *EVENTS], STAFF)
    errors = twice.event_errors
    assert len(errors) == len(EVENTS)
    assert {e.problems[0].code for e in errors} == {"duplicate_event"}
    assert errors[-1].problems[0].message == f"the same event as line {len(EVENTS)}: counted once"
    assert twice.findings == run(EVENTS, STAFF).findings
