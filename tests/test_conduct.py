"""The conduct audit: contact hours, call caps and third parties, checked after the fact."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from dunning import PolicyError
from dunning.agency.audit import Finding, audit
from dunning.agency.procedure import load_procedure, loads_procedure

ROOT = Path(__file__).resolve().parent.parent
EVENTS = (ROOT / "examples" / "agency" / "events.jsonl").read_text(encoding="utf-8").splitlines()
PROCEDURE = load_procedure(ROOT / "rules" / "agency_procedure.yaml")
CST = timezone(timedelta(hours=8))
CONDUCT = loads_procedure(
    "procedure: c\ntimezone: Asia/Shanghai\nobligations:\n  conduct:\n", name="c.yaml"
)


def call(
    called: str,
    recorded: str = "17:30",
    *,
    case: str = "SH-0001",
    actor: str = "C1",
    party: str = "borrower",
    outcome: str = "connected",
    day: str = "2026-11-10",
    **extra: Any,
) -> str:
    """The record of one call, made at ``called`` on ``day`` and recorded at ``recorded``."""
    call.n += 1  # type: ignore[attr-defined]
    at = datetime.fromisoformat(f"{day}T{recorded}:00+08:00")
    if called > recorded:  # made in the evening: recorded later that night
        at = datetime.fromisoformat(f"{day}T{called}:00+08:00") + timedelta(minutes=10)
    payload = {
        "record_id": f"X-{call.n}",  # type: ignore[attr-defined]
        "contacted_at": f"{day}T{called}:00+08:00",
        "channel": "call",
        "party_id": party,
        "outcome": outcome,
        **extra,
    }
    event = {"type": "contact.recorded", "at": at.isoformat(), "actor": actor}
    return json.dumps({**event, "case_id": case, "payload": payload}, ensure_ascii=False)


call.n = 0  # type: ignore[attr-defined]


def conduct(lines: list[str], procedure: Any = CONDUCT) -> list[Finding]:
    result = audit(lines, procedure=procedure, as_of=datetime(2026, 11, 30, 9, tzinfo=CST))
    assert result.event_errors == []
    return [f for f in result.findings if f.obligation == "conduct"]


def test_the_issues_four_calls_are_four_findings_not_one() -> None:
    """Four calls added to the example month for one debtor on one day (issue 33)."""
    added = [
        call("23:10", outcome="no_answer", number="*0323"),
        call("06:30", outcome="no_answer", number="*0323"),
        *(call(f"{h:02d}:00", actor=("C1", "C2")[h % 2]) for h in (9, 11, 13, 15, 17)),
        call("18:00", party="emergency_contact", debt_disclosed=True),
    ]
    before = audit(
        EVENTS,
        procedure=PROCEDURE,
        as_of=datetime(2026, 12, 11, 9, tzinfo=CST),
        start=date(2026, 11, 1),
        end=date(2026, 11, 30),
    )
    # The month's one finding: a request decided a week late (docs/agency.md).
    assert [f.check for f in before.findings] == ["undecided"]
    lines = EVENTS + added
    found = audit(
        lines,
        procedure=PROCEDURE,
        as_of=datetime(2026, 12, 11, 9, tzinfo=CST),
        start=date(2026, 11, 1),
        end=date(2026, 11, 30),
    ).findings
    # The calls of the collector who does not hold SH-0001 are found as well (daily_records).
    holder = [f for f in found if f.check == "holder"]
    assert holder and {f.collector for f in holder} == {"C1"}
    found = [f for f in found if f.check not in ("undecided", "holder")]
    by_check = {(f.obligation, f.check): f for f in found}
    n = len(EVENTS)
    assert set(by_check) == {
        ("conduct", "hours"),
        ("conduct", "connected_calls"),
        ("conduct", "third_parties"),
    }
    hours = [f for f in found if f.check == "hours"]
    assert [f.evidence for f in hours] == [(n + 2,), (n + 1,)]  # in the order they were made
    assert "call to borrower at 2026-11-10 06:30 in Asia/Shanghai" in hours[0].message
    assert "08:00 and 22:00" in hours[0].expected and "GB/T 45251-2025" in hours[0].expected
    calls = by_check["conduct", "connected_calls"]
    assert calls.message == "5 connected calls to borrower on 2026-11-10"
    assert calls.evidence == tuple(range(n + 3, n + 8))  # C1's and C2's calls alike
    assert calls.severity == "error" and calls.day == date(2026, 11, 10)
    third = by_check["conduct", "third_parties"]
    assert third.evidence == (n + 8,)
    assert "while the borrower was reachable" in third.message
    assert "told of the debt" in third.message


def test_records_are_judged_in_the_order_the_contacts_were_made() -> None:
    """Three failed tries, then the emergency contact: lawful, however the records are logged."""
    tries = [call(f"{h:02d}:00", outcome="no_answer", number="*0323") for h in (9, 10, 11)]
    contact = call("12:00", party="emergency_contact")
    assert conduct([*tries, contact]) == []
    assert conduct([contact, *reversed(tries)]) == []
    assert conduct([*tries[:2], contact]) != []  # two failures: the borrower is still reachable
    # A conversation with the borrower starts the count again.
    reached = call("11:30")
    (found,) = conduct([*tries, reached, contact])
    assert "(0 failed attempt(s) in a row before it)" in found.message


def test_a_third_party_who_refused_is_not_called_again() -> None:
    tries = [call(f"{h:02d}:00", outcome="busy") for h in (9, 10, 11)]
    refused = call("12:00", party="emergency_contact", outcome="refused")
    again = call("09:00", party="emergency_contact", day="2026-11-11", recorded="17:00")
    more = [call(f"{h:02d}:00", outcome="busy", day="2026-11-11") for h in (8,)]
    (found,) = conduct([*tries, refused, *more, again])
    assert "after refusing before" in found.message and found.day == date(2026, 11, 11)


def test_connected_calls_are_counted_per_party_and_per_day_of_the_party() -> None:
    three = [call(f"{h:02d}:00") for h in (9, 10, 11)]
    other_day = call("09:00", day="2026-11-11")
    other_party = call("12:00", party="guarantor")
    other_case = call("12:00", case="SH-0002")
    assert conduct([*three, other_day, other_party, other_case]) == []
    # A debtor in Tokyo: 23:30 in Shanghai is 00:30 of the next day there.
    tokyo = [call(f"{h:02d}:00", timezone="Asia/Tokyo") for h in (9, 10, 11)]
    late = call("23:30", timezone="Asia/Tokyo")
    found = conduct([*tokyo, late])
    assert [(f.check, f.day) for f in found] == [("hours", date(2026, 11, 11))]
    assert "00:30 in Asia/Tokyo" in found[0].message
    # Shanghai's 21:30 is Tokyo's 22:30: too late there, not here.
    assert [f.check for f in conduct([call("21:30", timezone="Asia/Tokyo")])] == ["hours"]
    assert conduct([call("21:30")]) == []


def test_unanswered_dials_are_counted_per_number() -> None:
    six = [call(f"09:{m:02d}", outcome="no_answer", number="*0323") for m in range(6)]
    assert conduct(six) == []
    other = [call(f"10:{m:02d}", outcome="no_answer", number="*1111") for m in range(6)]
    assert conduct([*six, *other]) == []
    seventh = call("11:00", outcome="busy", number="*0323")
    (found,) = conduct([*six, *other, seventh])
    assert found.check == "unanswered_dials"
    assert found.message == "7 unanswered dials of borrower's *0323 on 2026-11-10"
    # A dial recorded without its number counts against every number of the party.
    unknown = call("11:30", outcome="no_answer")
    found = conduct([*six, *other, seventh, unknown])
    assert sorted(f.message for f in found) == [
        "7 unanswered dials of borrower's *1111 on 2026-11-10",
        "8 unanswered dials of borrower's *0323 on 2026-11-10",
    ]


def test_a_late_record_of_an_already_judged_day_still_counts() -> None:
    """A record logged two days late joins its day's counts (and is a late record too)."""
    three = [call(f"{h:02d}:00") for h in (9, 10, 11)]
    later = [call("10:00", day="2026-11-12", case="SH-0002")]
    fourth = call("12:00", recorded="17:30", day="2026-11-10")
    fourth = fourth.replace(
        '"at": "2026-11-10T17:30:00+08:00"', '"at": "2026-11-12T17:40:00+08:00"'
    )
    (found,) = conduct([*three, *later, fourth])
    assert found.message == "4 connected calls to borrower on 2026-11-10"


def test_the_figures_are_the_procedures() -> None:
    strict = loads_procedure(
        """\
procedure: strict
obligations:
  conduct:
    window_start: "09:00"
    window_end: "20:00"
    connected_calls_per_day: 1
    severity: warning
""",
        name="strict.yaml",
    )
    found = conduct([call("08:30"), call("20:30")], strict)
    assert [(f.check, f.severity) for f in found] == [
        ("hours", "warning"),
        ("hours", "warning"),
        ("connected_calls", "warning"),
    ]
    assert "between 09:00 and 20:00" in found[0].expected


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('window_start: "22:00"\n    window_end: "08:00"', "the contact window 22:00-08:00"),
        ("connected_calls_per_day: 0", "connected_calls_per_day"),
        ('window_end: "24:00"', "window_end is a time of day"),
    ],
)
def test_a_bad_conduct_setting_is_reported_at_its_place(settings: str, message: str) -> None:
    text = f"procedure: p\nobligations:\n  conduct:\n    {settings}\n"
    with pytest.raises(PolicyError) as caught:
        loads_procedure(text, name="p.yaml")
    assert message in str(caught.value) and "p.yaml:4:" in str(caught.value)


def test_a_contact_record_refuses_a_number_that_is_not_masked() -> None:
    from dunning import CaseError
    from dunning.events import parse_event

    with pytest.raises(CaseError) as caught:
        parse_event(call("10:00", number="+86 13856150323"))
    assert "payload.number" in str(caught.value)


def test_each_conduct_check_needs_a_test_of_its_own(tmp_path: Path) -> None:
    from dunning.policytests import run_test_files

    (tmp_path / "p.yaml").write_text(
        "procedure: p\ntimezone: Asia/Shanghai\nobligations:\n  conduct:\n", encoding="utf-8"
    )
    (tmp_path / "p.tests.yaml").write_text(
        f"""\
procedure: p.yaml
as_of: 2026-11-30T09:00:00+08:00
tests:
  - name: too early
    events: [{call("07:00")}]
    expect: {{findings: [{{obligation: conduct, check: hours}}]}}
""",
        encoding="utf-8",
    )
    (result,) = run_test_files([tmp_path / "p.tests.yaml"])
    assert [o.passed for o in result.outcomes] == [True]
    assert result.uncovered() == [
        "conduct.connected_calls",
        "conduct.unanswered_dials",
        "conduct.third_parties",
    ]
    warnings = [str(d) for d in result.diagnostics if d.code == "uncovered-obligation"]
    assert len(warnings) == 3 and "p.yaml:4:" in warnings[0]
