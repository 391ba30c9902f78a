"""Agencies, placement and recall: the agencies file, the Placer's lifecycle, and its events."""

from __future__ import annotations

import json
import random
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conftest import case_dict
from dunning import (
    Agencies,
    Agency,
    ArgumentError,
    CaseError,
    ConfigError,
    PlacementResult,
    Placer,
    Policy,
    PolicyError,
    Portfolio,
    load_agencies,
    load_policy,
    loads_agencies,
    loads_policy,
    parse_event,
    read_cases,
    read_events,
)
from dunning.agencies import check_agencies_file, is_agencies_file
from dunning.summary import PlacementSummary
from policy_helpers import run_dunning as run_bytes


def run_dunning(*args: str) -> Any:
    return run_bytes(*args, text=True)


ROOT = Path(__file__).resolve().parent.parent
LENDER = ROOT / "rules" / "lender.yaml"
AGENCIES = ROOT / "rules" / "agencies.yaml"
ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=ZONE)
TODAY = AS_OF.date()
BOOK = Portfolio(500)


def agency(agency_id: str, **changes: Any) -> Agency:
    data: dict[str, Any] = {
        "agency_id": agency_id,
        "name": f"Agency {agency_id}",
        "phone": "4008001234",
        "products": ["consumer_finance"],
        "contract_start": "2025-01-01",
    }
    return Agency.model_validate(data | changes)


def cf(case_id: str, dpd: int = 100, borrower: str | None = None, **changes: Any) -> dict[str, Any]:
    """A consumer-finance case ``dpd`` days past due, the borrower told of outsourcing.

    Each case is its own borrower's (``P-<case id>``) unless ``borrower`` names one.
    """
    overdue = "1000.00" if dpd else "0"
    snapshot = {"dpd": dpd, "overdue_principal": overdue, "overdue_interest": "0"}
    data = case_dict(case_id=case_id, **({"delinquency": snapshot} | changes))
    party = borrower or f"P-{case_id}"
    data["borrower"]["party_id"] = party
    for contact in data["contacts"]:
        if contact["party_id"] == "P-0001":
            contact["party_id"] = party
    return data


def notice(agency_id: str, days_ago: int) -> dict[str, Any]:
    """The SMS that told the borrower ``agency_id`` will hold the case."""
    at = AS_OF - timedelta(days=days_ago)
    return {
        "at": at.isoformat(),
        "channel": "sms",
        "party_id": "P-0001",
        "outcome": "delivered",
        "purpose": "outsourcing_notice",
        "agency_id": agency_id,
    }


def event(kind: str, case_id: str, agency_id: str, day: date, **payload: Any) -> dict[str, Any]:
    proposed = payload.pop("proposed", day)
    return {
        "type": f"placement.{kind}",
        "at": datetime.combine(day, datetime.min.time(), ZONE).isoformat(),
        "case_id": case_id,
        "payload": {
            "placement_id": f"{case_id}/{agency_id}/{proposed.isoformat()}",
            "agency_id": agency_id,
            "day": day.isoformat(),
            "reason": payload.pop("reason", kind),
            **payload,
        },
    }


def held_since_august(agency_id: str, **placed: Any) -> list[dict[str, Any]]:
    """The events of case C-1 proposed to ``agency_id`` on 1 August and placed a week later."""
    return [
        event("proposed", "C-1", agency_id, date(2026, 8, 1)),
        event(
            "placed",
            "C-1",
            agency_id,
            date(2026, 8, 8),
            proposed=date(2026, 8, 1),
            commission_rate="0.07",
            **placed,
        ),
    ]


@pytest.fixture(scope="module")
def lender() -> Policy:
    return load_policy(LENDER)


def placer(policy: Policy, *agencies: Agency) -> Placer:
    return Placer(policy, Agencies(agencies))


def place_one(p: Placer, case: dict[str, Any], events: list[Any] | None = None) -> PlacementResult:
    return p.explain(case, as_of=AS_OF, events=events or [], portfolio=BOOK)


def kinds(result: PlacementResult) -> list[str]:
    return [e.type.removeprefix("placement.") for e in result.events]


# -- the agencies file ------------------------------------------------------------------------


def test_the_shipped_agencies_file_loads_and_is_checked_as_what_it_is() -> None:
    agencies = load_agencies(AGENCIES)
    assert [a.agency_id for a in agencies] == ["AG-01", "AG-02", "AG-03", "AG-04"]
    assert agencies.digest.startswith("sha256:") and agencies.path == str(AGENCIES)
    assert is_agencies_file(AGENCIES) and not is_agencies_file(LENDER)
    assert check_agencies_file(AGENCIES) == []
    done = run_dunning("check", "--strict", str(ROOT / "rules"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 file(s) checked: ok" in done.stdout


def test_every_problem_of_an_agencies_file_is_reported_at_once_at_its_position() -> None:
    text = """\
agencies:
  - agency_id: AG-1
    nam: Typo
    phone: "abc"
    capacity: -1
    contract_start: 2026-13-01
  - agency_id: AG-2
    name: Two
    phone: "4008001234"
    contract_start: 2026-06-01
    contract_end: 2026-01-01
  - agency_id: AG-2
    name: Again
    phone: "4008001234"
    contract_start: 2026-01-01
  - 3
extra: 1
"""
    with pytest.raises(PolicyError) as err:
        loads_agencies(text, name="agencies.yaml")
    found = {(d.line, d.col, d.code) for d in err.value.diagnostics}
    assert found == {
        (17, 1, "unknown-key"),  # extra
        (2, 5, "missing-key"),  # name
        (3, 5, "unknown-key"),  # nam, with a suggestion
        (4, 12, "bad-value"),  # phone
        (5, 15, "bad-value"),  # capacity
        (6, 21, "bad-value"),  # the date
        (11, 19, "bad-value"),  # the contract ends before it starts
        (12, 5, "duplicate-key"),
        (16, 5, "bad-value"),  # not a mapping
    }
    assert "did you mean 'name'" in str(err.value)
    assert "agencies.yaml:11:19: bad-value: contract_end: the contract must not end" in str(
        err.value
    )


def test_agencies_from_python_need_distinct_ids() -> None:
    with pytest.raises(ConfigError, match="listed twice"):
        Agencies.of([agency("A"), agency("A")])
    with pytest.raises(TypeError):
        Agencies.of(agency("A"))  # type: ignore[arg-type]
    built = Agencies.of([agency("A"), agency("B")])
    assert built.get("B") is not None and "A" in built and len(built) == 2
    assert built.digest == Agencies.of([agency("A"), agency("B")]).digest


def test_an_agency_status_on_a_day() -> None:
    a = agency("A", contract_start="2026-01-01", contract_end="2026-06-30")
    assert a.status_on(date(2025, 12, 31)) == "ended"  # not started yet: no contract in force
    assert a.status_on(date(2026, 6, 30)) == "active"
    assert a.status_on(date(2026, 7, 1)) == "ended"
    assert agency("B", status="suspended").status_on(TODAY) == "suspended"


# -- the policy's placement section and recall rules ------------------------------------------


def test_placement_settings_and_recall_rules_are_checked_with_positions() -> None:
    text = LENDER.read_text(encoding="utf-8")
    text = text.replace("strategy: capacity ", "strategy: lottery  ")
    text = text.replace("notice_lead_days: 7 ", "notice_lead_days: -7")
    text = text.replace("in_house_channel: field_visit", "in_house_channel: outsource")
    text = text.replace("then: {recall: secured_loan}", "then: {recall: Secured Loan}")
    text = text.replace("then: {recall: cured}", "then: {recal: cured}")
    with pytest.raises(PolicyError) as err:
        loads_policy(text, name="lender.yaml")
    codes = sorted((d.code, d.line) for d in err.value.diagnostics)
    lines = text.splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, row in enumerate(lines, 1) if fragment in row)

    assert codes == sorted(
        [
            ("unknown-value", line_of("strategy: lottery")),
            ("bad-value", line_of("notice_lead_days: -7")),
            ("unknown-value", line_of("in_house_channel: outsource")),
            ("bad-outcome-value", line_of("Secured Loan")),
            ("unknown-key", line_of("recal: cured")),
            ("missing-key", line_of("recal: cured")),
        ]
    )


def test_shares_name_agencies_of_the_file() -> None:
    text = LENDER.read_text(encoding="utf-8").replace(
        "  strategy: capacity ", "  shares: {AG-01: 70, AG-09: 30}\n  strategy: shares   "
    )
    policy = loads_policy(text, name="lender.yaml")
    with pytest.raises(ConfigError) as err:
        Placer(policy, load_agencies(AGENCIES))
    assert "lender.yaml:" in str(err.value) and "unknown-agency" in str(err.value)
    assert "AG-09" in str(err.value) and "AG-01" not in str(err.value)
    unused = LENDER.read_text(encoding="utf-8").replace(
        "  strategy: capacity ", "  shares: {AG-01: 1}\n  strategy: capacity "
    )
    assert [w.code for w in loads_policy(unused).warnings] == ["unused-setting"]


# -- a placed case: its agency's, until the recall rules bring it back -------------------------


def test_a_placed_case_is_its_agencys_and_never_gets_an_internal_channel(lender: Policy) -> None:
    placement = {"agency_id": "AG-01", "placed_on": "2026-11-01", "commission_rate": "0.07"}
    for dpd, extra in ((66, {}), (200, {}), (100, {"lost_contact": True})):
        d = lender.decide(cf("C-1", dpd, placement=placement, **extra), as_of=AS_OF, portfolio=BOOK)
        assert (d.action.channel, d.action.handled_by, d.action.agency_id) == (
            "outsource",
            "agency",
            "AG-01",
        )
        assert d.fee_terms.commission_rate == D("0.07") and d.recall is None


def test_recall_reasons_and_the_new_stage_rate(lender: Policy) -> None:
    agencies = load_agencies(AGENCIES)
    base = {"agency_id": "AG-01", "placed_on": "2026-11-01", "commission_rate": "0.07"}
    cases = {
        "cured": cf("C-1", 0),
        "dispute": cf("C-1", dispute=True),
        "deceased": cf("C-1", deceased=True),
        "bankrupt": cf("C-1", bankrupt=True),
        "attorney": cf("C-1", attorney_represented=True),
        "term_end": cf("C-1", 292, placement=base | {"term_ends": "2026-11-27"}),
        "no_payment": cf("C-1", placement=base | {"placed_on": "2026-09-01"}),
        "agency_suspended": cf("C-1", placement=base | {"agency_id": "AG-04"}),
        "contract_ended": cf("C-1", placement=base | {"agency_id": "AG-77"}),
    }
    for reason, data in cases.items():
        data["placement"] = data.get("placement") or base
        d = lender.decide(data, as_of=AS_OF, portfolio=BOOK, agencies=agencies)
        assert d.recall is not None and d.recall.reason == reason, (reason, d.recall)
        assert d.action.agency_id is None
    # The term is over at dpd 292: back, and out again at the rate of the stage now (25 %).
    d = lender.decide(cases["term_end"], as_of=AS_OF, portfolio=BOOK)
    assert d.fee_terms.commission_rate == D("0.25") and d.rules[-1] == "recall-term-end"
    # A paid placement is not recalled for want of payment.
    paid = cf(
        "C-1",
        placement=base | {"placed_on": "2026-09-01"},
        payments=[{"date": "2026-11-20", "amount": "100.00"}],
    )
    assert lender.decide(paid, as_of=AS_OF, portfolio=BOOK).recall is None


# -- allocation --------------------------------------------------------------------------------


def test_eligibility_names_each_agencys_reason(lender: Policy) -> None:
    p = placer(
        lender,
        agency("A-OK"),
        agency("B-PRODUCT", products=["mortgage"]),
        agency("C-REGION", regions=["CN-31"]),
        agency("D-SUSPENDED", status="suspended"),
        agency("E-ENDED", contract_end="2026-10-31"),
        agency("F-LATER", contract_start="2027-01-01"),
        agency("G-REVIEW", review_on="2026-11-27"),
        agency("H-FULL", capacity=0),
        agency("I-NO-BAND", commission=[{"min_dpd": 1, "max_dpd": 90, "rate": "0.07"}]),
    )
    result = place_one(p, cf("C-1"))
    reasons = {c.agency_id: c.reason for c in result.eligibility}
    assert reasons == {
        "A-OK": None,
        "B-PRODUCT": "product",
        "C-REGION": "region",
        "D-SUSPENDED": "suspended",
        "E-ENDED": "contract_ended",
        "F-LATER": "not_started",
        "G-REVIEW": "review_overdue",
        "H-FULL": "capacity",
        "I-NO-BAND": "no_rate",
    }
    assert kinds(result) == ["proposed"] and result.events[0].payload.agency_id == "A-OK"
    in_region = place_one(p, cf("C-1", borrower__region="CN-31"))
    assert {c.agency_id for c in in_region.eligibility if c.eligible} == {"A-OK", "C-REGION"}


def test_no_eligible_agency_keeps_the_case_in_house_and_says_why(lender: Policy) -> None:
    p = placer(lender, agency("A", status="suspended"), agency("B", capacity=0))
    result = place_one(p, cf("C-1"))
    assert kinds(result) == ["unavailable"]
    assert result.events[0].payload.ineligible == {"A": "suspended", "B": "capacity"}
    d = result.decision
    assert (d.action.channel, d.action.handled_by) == ("field_visit", "internal")
    assert d.fee_terms.commission_rate is None
    record = next(g for g in d.guards if g.id == "placement")
    assert "no agency can take the case" in record.reason and "A: it is suspended" in record.reason
    assert d.action.requires_recording  # the field visit went through the guards


def test_the_notice_names_the_agency_and_the_placement_waits_for_its_lead_time(
    lender: Policy,
) -> None:
    p = placer(lender, agency("AG-X", commission=[{"min_dpd": 1, "rate": "0.11"}], term_days=60))
    first = place_one(p, cf("C-1"))
    assert kinds(first) == ["proposed"]
    proposal = first.events[0].payload
    assert proposal.effective_on == TODAY + timedelta(days=7)
    d = first.decision
    assert (d.action.channel, d.action.agency_id, d.action.message.template) == (  # type: ignore[union-attr]
        "sms",
        "AG-X",
        "placement_notice",
    )
    assert "Agency AG-X" in d.action.message.text and "4008001234" in d.action.message.text  # type: ignore[union-attr, operator]
    assert proposal.notice == d.action.message
    proposed = [event("proposed", "C-1", "AG-X", TODAY - timedelta(days=7))]
    for days_ago, expected in ((6, []), (7, ["placed"])):
        case = cf("C-1", contacts=[notice("AG-X", days_ago)])
        result = place_one(p, case, proposed)
        assert kinds(result) == expected
    placed = place_one(p, cf("C-1", contacts=[notice("AG-X", 7)]), proposed)
    payload = placed.events[0].payload
    assert payload.commission_rate == D("0.11")  # the agency's contract wins
    assert payload.term_ends == TODAY + timedelta(days=59)
    assert placed.decision.action.agency_id == "AG-X"
    assert placed.decision.action.handled_by == "agency"
    # Waiting for the lead time: the notice is not sent again, and the case is still the
    # lender's, worked in-house (it was `none` for the whole week at M4+).
    waiting = place_one(p, cf("C-1", contacts=[notice("AG-X", 3)]), proposed)
    assert waiting.decision.action.channel == "field_visit"  # the policy's in_house_channel
    assert waiting.decision.action.agency_id == "AG-X"  # the agency it waits for
    (why,) = [g.reason for g in waiting.decision.guards if g.id == "placement"]
    assert "until then the case is worked in-house" in why


def test_a_notice_that_cannot_reach_the_borrower_closes_the_proposal(lender: Policy) -> None:
    # A lost-contact case whose notice SMS failed stayed proposed for ever, its decision an
    # SMS to the dead number on every later day.
    p = placer(lender, agency("AG-X"))
    proposed = [event("proposed", "C-1", "AG-X", TODAY - timedelta(days=3))]
    dead = notice("AG-X", 2) | {"outcome": "failed"}
    closed = place_one(p, cf("C-1", contacts=[dead]), proposed)
    assert kinds(closed) == ["closed"]
    assert closed.events[0].payload.reason == "notice_undelivered"
    assert closed.decision.action.channel == "field_visit"  # in-house again
    later = [*proposed, *(e.model_dump(mode="json") for e in closed.events)]
    tomorrow = p.explain(
        cf("C-1", contacts=[dead]), as_of=AS_OF + timedelta(days=1), events=later, portfolio=BOOK
    )
    assert tomorrow.events == () and tomorrow.decision.action.channel == "field_visit"
    (why,) = [g.reason for g in tomorrow.decision.guards if g.id == "placement"]
    assert "never reached the borrower" in why
    after = p.explain(cf("C-1"), as_of=AS_OF + timedelta(days=31), events=later, portfolio=BOOK)
    assert kinds(after) == ["proposed"]  # the cool-off is over: proposed again
    # No notice at all within notice_expiry_days (30): the proposal lapses the same way.
    old = [event("proposed", "C-2", "AG-X", TODAY - timedelta(days=30))]
    assert place_one(p, cf("C-2"), old).events[0].payload.reason == "notice_undelivered"
    assert (
        kinds(
            place_one(p, cf("C-2"), [event("proposed", "C-2", "AG-X", TODAY - timedelta(days=29))])
        )
        == []
    )


def test_a_notice_about_another_agency_or_before_the_proposal_does_not_count(
    lender: Policy,
) -> None:
    p = placer(lender, agency("AG-X"), agency("AG-Y"))
    proposed = [event("proposed", "C-1", "AG-X", TODAY - timedelta(days=8))]
    other = place_one(p, cf("C-1", contacts=[notice("AG-Y", 8)]), proposed)
    assert kinds(other) == [] and other.decision.action.message.template == "placement_notice"  # type: ignore[union-attr]
    stale = place_one(p, cf("C-1", contacts=[notice("AG-X", 9)]), proposed)
    assert kinds(stale) == []


def test_a_proposal_the_rules_or_the_agency_no_longer_support_is_closed(lender: Policy) -> None:
    proposed = [event("proposed", "C-1", "AG-X", TODAY - timedelta(days=3))]
    cured = place_one(placer(lender, agency("AG-X")), cf("C-1", 0), proposed)
    assert kinds(cured) == ["closed"] and cured.events[0].payload.reason == "not_outsourced"
    gone = placer(lender, agency("AG-X", status="suspended"), agency("AG-Y"))
    moved = place_one(gone, cf("C-1"), proposed)
    assert kinds(moved) == ["closed", "proposed"]
    assert moved.events[0].payload.reason == "suspended"
    assert moved.events[1].payload.agency_id == "AG-Y"


def test_a_recalled_case_goes_out_again_but_not_to_the_same_agency_in_the_cool_off(
    lender: Policy,
) -> None:
    p = placer(lender, agency("AG-X"), agency("AG-Y"))
    history = held_since_august("AG-X", term_ends="2026-11-05")
    result = place_one(
        p, cf("C-1", 200, payments=[{"date": "2026-11-20", "amount": "10.00"}]), history
    )
    assert kinds(result) == ["recalled", "proposed"]
    recall = result.events[0].payload
    assert (recall.reason, recall.rule, recall.commission_rate) == (
        "term_end",
        "recall-term-end",
        D("0.07"),
    )
    assert result.events[1].payload.agency_id == "AG-Y"
    assert {c.agency_id: c.reason for c in result.eligibility}["AG-X"] == "cool_off"


def test_a_case_the_agency_returned_is_not_given_back_to_it_in_the_cool_off(
    lender: Policy,
) -> None:
    p = placer(lender, agency("AG-X"), agency("AG-Y"))
    history = [
        *held_since_august("AG-X"),
        event("returned", "C-1", "AG-X", date(2026, 11, 20), proposed=date(2026, 8, 1)),
    ]
    assert place_one(p, cf("C-1"), history).events[0].payload.agency_id == "AG-Y"
    later = p.explain(cf("C-1"), as_of=AS_OF + timedelta(days=30), events=history, portfolio=BOOK)
    assert later.events[0].payload.agency_id == "AG-X"  # capacity: the most room, by id


def test_a_placement_the_case_brings_is_recorded_once_and_counts(lender: Policy) -> None:
    p = placer(lender, agency("AG-X", capacity=1), agency("AG-Y"))
    own = {"agency_id": "AG-X", "placed_on": "2026-11-01", "commission_rate": "0.14"}
    first = p.place([cf("C-1", placement=own), cf("C-2")], as_of=AS_OF, portfolio=BOOK)
    kept, new = first.results
    assert isinstance(kept, PlacementResult) and isinstance(new, PlacementResult)
    assert kinds(kept) == ["placed"] and kept.events[0].payload.reason == "recorded_from_case"
    assert kept.events[0].payload.day == date(2026, 11, 1)
    assert kept.events[0].payload.policy == kept.decision.policy  # every event names it
    assert kept.decision.action.agency_id == "AG-X"
    assert new.events[0].payload.agency_id == "AG-Y"  # AG-X is full with the recorded one
    later = [e.model_dump(mode="json") for e in first.events]
    again = p.place([cf("C-1", placement=own)], as_of=AS_OF, events=later, portfolio=BOOK)
    assert again.event_errors == [] and again.events == []  # recorded once, then known
    # The case still says so after the events ended it: the events win, it is not placed.
    tomorrow = TODAY + timedelta(days=1)
    ended = [*later, event("returned", "C-1", "AG-X", tomorrow, proposed=date(2026, 11, 1))]
    back = p.explain(
        cf("C-1", placement=own), as_of=AS_OF + timedelta(days=1), events=ended, portfolio=BOOK
    )
    assert kinds(back) == ["proposed"] and back.events[0].payload.agency_id == "AG-Y"
    # A week on, the case file still says AG-X: the events know that placement ended, so the
    # case is behind them, not in contradiction — the open proposal to AG-Y is the record.
    week = [*ended, *(e.model_dump(mode="json") for e in back.events)]
    later_on = AS_OF + timedelta(days=8)
    waiting = p.explain(cf("C-1", placement=own), as_of=later_on, events=week, portfolio=BOOK)
    assert not waiting.events and waiting.decision.action.agency_id == "AG-Y"


def test_the_summary_counts_a_recorded_placement_as_kept_not_as_placed(lender: Policy) -> None:
    p = placer(lender, agency("AG-X"))
    own = {"agency_id": "AG-X", "placed_on": "2026-11-01", "commission_rate": "0.14"}
    summary = PlacementSummary()
    for result in p.place(
        [cf("C-1", placement=own), cf("C-2")], as_of=AS_OF, portfolio=BOOK
    ).results:
        assert isinstance(result, PlacementResult)
        summary.add(result)
    row = summary.to_dict()["agencies"]["AG-X"]  # type: ignore[index]
    assert (row["placed"], row["kept"], row["proposed"]) == (0, 1, 1)


def test_bad_event_lines_are_error_records_and_the_rest_applies(lender: Policy) -> None:
    p = placer(lender, agency("AG-X"), agency("AG-Y"))
    lines = [
        json.dumps(event("proposed", "C-1", "AG-X", date(2026, 11, 1))),
        "not json",
        json.dumps(event("recalled", "C-2", "AG-X", date(2026, 11, 2))),
        json.dumps({"type": "placement.moved", "at": "2026-11-01T00:00:00+08:00"}),
        json.dumps(event("proposed", "C-1", "AG-Y", date(2026, 11, 3))),
    ]
    run = p.place([cf("C-1"), cf("C-2")], as_of=AS_OF, events=read_events(lines), portfolio=BOOK)
    assert [(e.line, e.problems[0].code) for e in run.event_errors] == [
        (2, "invalid_json"),
        (4, "unknown_event_type"),
        (3, "bad_transition"),
        (5, "bad_transition"),
    ]
    first = run.results[0]
    assert isinstance(first, PlacementResult)
    assert first.decision.action.agency_id == "AG-X"  # the proposal of line 1 stands


def test_a_case_that_contradicts_the_events_or_comes_twice_is_rejected(lender: Policy) -> None:
    p = placer(lender, agency("AG-X"), agency("AG-Y"))
    history = held_since_august("AG-X")
    own = {"agency_id": "AG-Y", "placed_on": "2026-08-08", "commission_rate": "0.07"}
    run = p.place(
        [cf("C-1", placement=own), cf("C-2"), cf("C-2")],
        as_of=AS_OF,
        events=history,
        portfolio=BOOK,
    )
    codes = [r.problems[0].code if isinstance(r, CaseError) else None for r in run.results]
    assert codes == ["placement_mismatch", None, "duplicate_case"]


def test_capacity_counts_open_placements_and_those_made_in_the_same_run(lender: Policy) -> None:
    p = placer(lender, agency("AG-X", capacity=3), agency("AG-Y", capacity=2))
    history = [event("proposed", "OLD", "AG-X", date(2026, 11, 20))]
    cases = [cf(f"C-{n}") for n in range(6)]
    run = p.place(cases, as_of=AS_OF, events=history, portfolio=BOOK)
    got: dict[str | None, int] = {}
    for e in run.events:
        if e.type == "placement.proposed":
            got[e.payload.agency_id] = got.get(e.payload.agency_id, 0) + 1
    assert got == {"AG-X": 2, "AG-Y": 2}
    assert sum(e.type == "placement.unavailable" for e in run.events) == 2
    assert run.capacity == {"AG-X": (3, 3), "AG-Y": (2, 2)}


def shares_policy(shares: str, strategy: str = "shares", extra: str = "") -> Policy:
    text = LENDER.read_text(encoding="utf-8").replace(
        "  strategy: capacity ", f"  shares: {shares}\n{extra}  strategy: {strategy}   "
    )
    return loads_policy(text)


def test_fixed_shares_are_held_to_within_one_case(lender: Policy) -> None:
    p = Placer(shares_policy("{AG-X: 70, AG-Y: 30}"), Agencies.of([agency("AG-X"), agency("AG-Y")]))
    cases = [cf(f"C-{n:05d}") for n in range(1000)]
    run = p.place(cases, as_of=AS_OF, portfolio=BOOK)
    to_x = sum(e.payload.agency_id == "AG-X" for e in run.events)
    assert abs(to_x - 700) <= 1
    assert p.targets() == {"AG-X": D("0.7"), "AG-Y": D("0.3")}


def test_performance_gives_new_agencies_their_minimum_share(lender: Policy) -> None:
    text = LENDER.read_text(encoding="utf-8").replace(
        "  strategy: capacity ", "  minimum_share: 0.2\n  strategy: performance"
    )
    p = Placer(loads_policy(text), Agencies.of([agency("OLD-1"), agency("OLD-2"), agency("NEW")]))
    performance = {"OLD-1": D("0.30"), "OLD-2": D("0.10")}
    assert p.targets(performance) == {"NEW": D("0.2"), "OLD-1": D("0.6"), "OLD-2": D("0.2")}
    run = p.place(
        [cf(f"C-{n:04d}") for n in range(500)], as_of=AS_OF, portfolio=BOOK, performance=performance
    )
    counts = {a: sum(e.payload.agency_id == a for e in run.events) for a in ("OLD-1", "NEW")}
    assert abs(counts["OLD-1"] - 300) <= 1 and abs(counts["NEW"] - 100) <= 1
    with pytest.raises(ConfigError, match="unknown agency"):
        p.place([], as_of=AS_OF, portfolio=BOOK, performance={"NOPE": D("0.1")})


def test_the_same_cases_in_any_order_give_the_same_placements(lender: Policy) -> None:
    p = Placer(lender, load_agencies(AGENCIES))
    lines = (ROOT / "examples" / "portfolio.jsonl").read_text(encoding="utf-8").splitlines()
    events = (ROOT / "examples" / "placements.jsonl").read_text(encoding="utf-8").splitlines()

    def placements(order: list[str]) -> list[str]:
        run = p.place(order, as_of=AS_OF, events=events, portfolio=BOOK)
        return sorted(e.model_dump_json() for e in run.events)

    shuffled = lines[:]
    random.Random(3).shuffle(shuffled)
    assert placements(lines) == placements(shuffled)


def test_events_round_trip_and_have_a_schema(lender: Policy) -> None:
    result = place_one(placer(lender, agency("AG-X")), cf("C-1"))
    for e in result.events:
        assert parse_event(e.model_dump_json()) == e
    payload = {"day": "2026-11-01", "reason": "x"}
    with pytest.raises(CaseError) as err:
        parse_event(
            {
                "type": "placement.placed",
                "at": AS_OF.isoformat(),
                "case_id": "C-1",
                "payload": payload,
            }
        )
    assert err.value.case_id == "C-1" and err.value.problems[0].code == "incomplete_event"
    done = run_dunning("schema", "event")
    assert done.returncode == 0 and "placement.proposed" in done.stdout
    assert "agency_id" in run_dunning("schema", "agencies").stdout


# -- the command line --------------------------------------------------------------------------


def test_dunning_place_writes_events_and_an_error_record_per_bad_line(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        "\n".join([json.dumps(cf("C-1")), "{broken", json.dumps(cf("C-2", 0))]) + "\n",
        encoding="utf-8",
    )
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "placement.proposed"}\n', encoding="utf-8")
    args = [
        "place",
        "--policy",
        str(LENDER),
        "--agencies",
        str(AGENCIES),
        "--as-of",
        AS_OF.isoformat(),
        "--overdue-customers",
        "500",
    ]
    done = run_dunning(*args, "--placements", str(events), str(cases))
    assert done.returncode == 1, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r.get("input"), r.get("line"), r.get("type")) for r in records] == [
        ("placements", 1, None),
        ("cases", 2, None),
        (None, None, "placement.proposed"),
    ]
    table = run_dunning(*args, "--format", "table", str(cases))
    assert "Placements by agency" in table.stdout and "AG-01" in table.stdout
    assert table.returncode == 1 and "line 2" in table.stderr
    summary = json.loads(run_dunning(*args, "--format", "json", str(cases)).stdout)
    assert summary["agencies"]["AG-01"]["proposed"] == 1 and summary["rejected"] == 1


def test_the_daily_loop_places_again_on_the_events_it_appended(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/placement.md: place, append the events to the log, place again the next week on the
    # same case file. The cases recalled and proposed again were placement_mismatch for ever.
    from dunning.cli import main

    log = tmp_path / "placements.jsonl"
    shutil.copy(ROOT / "examples" / "placements.jsonl", log)
    portfolio = str(ROOT / "examples" / "portfolio.jsonl")
    args = ["place", "--policy", str(LENDER), "--agencies", str(AGENCIES), "--skip-uncovered"]

    def day(when: str) -> list[dict[str, Any]]:
        code = main([*args, "--placements", str(log), "--as-of", when, portfolio])
        out = capsys.readouterr().out
        with log.open("a", encoding="utf-8") as appended:
            appended.write(out)
        assert code == 0
        return [json.loads(line) for line in out.splitlines()]

    first = day("2026-11-28T10:00:00+08:00")
    recalled = {e["case_id"] for e in first if e["type"] == "placement.recalled"}
    again = {e["case_id"] for e in first if e["type"] == "placement.proposed"} & recalled
    assert len(again) >= 20  # recalled and proposed again the same day
    assert day("2026-11-28T10:00:00+08:00") == []  # the same day again: nothing new
    week = day("2026-12-05T10:00:00+08:00")
    assert all("error" not in e for e in week)
    assert not again & {e["case_id"] for e in week if e["type"] == "placement.proposed"}


def test_a_placer_decides_and_explains_a_case_as_the_events_place_it(lender: Policy) -> None:
    # docs/api.md said a case the events place is decided as placed, but nothing decided one
    # case with the events: Policy.decide decided it in-house (outsource, to nobody).
    p = placer(lender, agency("AG-X"), agency("AG-Y"))
    proposed_on = TODAY - timedelta(days=20)
    history = [
        event("proposed", "C-1", "AG-X", proposed_on),
        event("placed", "C-1", "AG-X", TODAY - timedelta(days=10), proposed=proposed_on),
    ]
    history[1]["payload"] |= {"commission_rate": "0.14", "term_ends": "2027-02-16"}
    alone = lender.decide(cf("C-1"), as_of=AS_OF, portfolio=BOOK)
    assert alone.action.agency_id is None
    placed = p.decide(cf("C-1"), as_of=AS_OF, portfolio=BOOK, events=history)
    assert placed.action.agency_id == "AG-X" and placed.action.handled_by == "agency"
    assert placed == place_one(p, cf("C-1"), history).decision
    proposed = [event("proposed", "C-2", "AG-Y", TODAY - timedelta(days=2))]
    noticed = p.decide(cf("C-2"), as_of=AS_OF, portfolio=BOOK, events=proposed)
    assert noticed.action.channel == "sms" and noticed.action.agency_id == "AG-Y"
    traced = p.trace(cf("C-1"), as_of=AS_OF, portfolio=BOOK, events=history)
    assert traced.decision == placed and traced.facts["placed"] is True
    assert "handled by agency AG-X" in traced.render().splitlines()[1]
    assert p.as_placed(cf("C-1"), as_of=AS_OF, events=history).placement is not None
    batch = [cf("C-1"), cf("C-2"), cf("C-3"), {"case_id": "bad"}]
    many = list(p.decide_many(batch, as_of=AS_OF, portfolio=BOOK, events=history))
    run = p.place(batch, as_of=AS_OF, events=history, portfolio=BOOK)
    assert [getattr(r, "decision", r) for r in run.results][:3] == many[:3]
    assert isinstance(many[3], CaseError)
    with pytest.raises(ConfigError, match="1 bad line"):  # it may be the one that places it
        p.decide(cf("C-1"), as_of=AS_OF, portfolio=BOOK, events=["{"])


def test_dunning_decide_with_the_agencies_gives_each_case_its_placement_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dunning.cli import main

    portfolio = ROOT / "examples" / "portfolio.jsonl"
    log = tmp_path / "placements.jsonl"
    shutil.copy(ROOT / "examples" / "placements.jsonl", log)
    common = ["decide", "--policy", str(LENDER), "--as-of", AS_OF.isoformat()]
    common += ["--overdue-customers", "500"]
    with_events = [*common, "--agencies", str(AGENCIES), "--placements", str(log)]
    assert main([*with_events, str(portfolio)]) == 1  # its credit-card lines are rejected
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    policy, agencies = load_policy(LENDER), load_agencies(AGENCIES)
    expected = Placer(policy, agencies).decide_many(
        read_cases(portfolio.read_text(encoding="utf-8").splitlines()),
        as_of=AS_OF,
        portfolio=BOOK,
        events=read_events(log.read_text(encoding="utf-8").splitlines()),
    )
    for line, want in zip(lines, expected, strict=True):  # in input order, one per line
        if isinstance(want, CaseError):
            assert line["error"]["code"] == want.problems[0].code
        else:
            assert line == json.loads(want.model_dump_json())
    by_agency = sum(1 for line in lines if (line.get("action") or {}).get("agency_id"))
    assert main([*common, str(portfolio)]) == 1
    alone = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert by_agency > sum(1 for line in alone if (line.get("action") or {}).get("agency_id")) + 50
    with log.open("a", encoding="utf-8") as appended:
        appended.write("not json\n")
    assert main([*with_events, "--skip-uncovered", str(portfolio)]) == 1
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (first["input"], first["line"]) == ("placements", 85)
    assert main([*with_events, "--jobs", "2", str(portfolio)]) == 2
    assert main([*common, "--placements", str(log), str(portfolio)]) == 2
    assert "--placements needs --agencies" in capsys.readouterr().err


def test_dunning_explain_shows_the_agencies_and_why_not(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(cf("C-1")), encoding="utf-8")
    done = run_dunning(
        "explain",
        "--policy",
        str(LENDER),
        "--agencies",
        str(AGENCIES),
        "--as-of",
        AS_OF.isoformat(),
        "--overdue-customers",
        "500",
        str(case),
    )
    assert done.returncode == 0, done.stderr
    assert "placement.proposed AG-01" in done.stdout
    assert "=> AG-01  eligible, chosen" in done.stdout
    assert "-- AG-04  suspended: it is suspended" in done.stdout


def test_no_term_runs_past_the_agencys_contract_and_a_recorded_placement_has_one(
    lender: Policy,
) -> None:
    # term_ends 2027-03-07 for a contract ending 2026-12-31; placements recorded from cases
    # had no term at all, so that nothing ever ended them.
    p = placer(lender, agency("AG-X", contract_end="2026-12-31", term_days=100))
    proposed = [event("proposed", "C-1", "AG-X", TODAY - timedelta(days=9))]
    noticed = cf("C-1", contacts=[notice("AG-X", 8)])
    placed = place_one(p, noticed, proposed)
    assert kinds(placed) == ["placed"]
    assert placed.events[0].payload.term_ends == date(2026, 12, 31)  # not 2027-03-07
    own = {"agency_id": "AG-X", "placed_on": "2026-11-01", "commission_rate": "0.14"}
    recorded = place_one(p, cf("C-2", placement=own))
    assert recorded.events[0].payload.reason == "recorded_from_case"
    assert recorded.events[0].payload.term_ends == date(2026, 12, 31)  # capped as well
    longer = placer(lender, agency("AG-Y", term_days=30))
    own_y = own | {"agency_id": "AG-Y"}
    assert place_one(longer, cf("C-3", placement=own_y)).events[0].payload.term_ends == date(
        2026, 11, 30
    )


# -- one borrower, one agency -----------------------------------------------------------------


def test_a_borrowers_debts_go_to_one_agency_whatever_the_shares() -> None:
    """The issue's case: shares 50/50, one borrower with two loans — one agency, not two."""
    p = Placer(shares_policy("{AG-X: 50, AG-Y: 50}"), Agencies.of([agency("AG-X"), agency("AG-Y")]))
    cases = [cf("C-1", borrower="P-9"), cf("C-2", borrower="P-9"), cf("C-3"), cf("C-4")]
    run = p.place(cases, as_of=AS_OF, portfolio=BOOK)
    to = {e.case_id: e.payload.agency_id for e in run.events if e.type == "placement.proposed"}
    assert to["C-1"] == to["C-2"]
    assert sorted(to.values()).count("AG-X") in (2, 3)  # the shares still hold over the rest
    # Any order of the same cases: the same agencies.
    again = p.place(cases[::-1], as_of=AS_OF, portfolio=BOOK)
    assert {e.case_id: e.payload.agency_id for e in again.events} == to


def test_a_new_debt_follows_the_agency_holding_the_borrowers_other_one(lender: Policy) -> None:
    p = placer(lender, agency("AG-X"), agency("AG-Y"))
    placed = cf(
        "C-1",
        borrower="P-9",
        placement={"agency_id": "AG-Y", "placed_on": "2026-11-01", "commission_rate": "0.14"},
    )
    run = p.place([cf("C-2", borrower="P-9"), placed], as_of=AS_OF, portfolio=BOOK)
    follows = next(r for r in run.results if r.case_id == "C-2")
    assert follows.events[0].payload.agency_id == "AG-Y"  # capacity alone would pick AG-X
    assert {c.agency_id: c.reason for c in follows.eligibility} == {
        "AG-X": "borrower_elsewhere",
        "AG-Y": None,
    }
    # The next run, from the events alone (the case no longer says it is placed).
    history = [e.model_dump(mode="json") for e in run.events]
    later = p.place(
        [cf("C-3", borrower="P-9"), cf("C-1", borrower="P-9")],
        as_of=AS_OF,
        events=history,
        portfolio=BOOK,
    )
    third = next(r for r in later.results if r.case_id == "C-3")
    assert third.events[0].payload.agency_id == "AG-Y"


def test_a_borrowers_agency_that_cannot_take_the_debt_keeps_it_in_house(lender: Policy) -> None:
    """Never split: when the borrower's agency is full, the debt stays with the lender."""
    p = placer(lender, agency("AG-X"), agency("AG-Y", capacity=1))
    placed = cf(
        "C-1",
        borrower="P-9",
        placement={"agency_id": "AG-Y", "placed_on": "2026-11-01", "commission_rate": "0.14"},
    )
    run = p.place([placed, cf("C-2", borrower="P-9")], as_of=AS_OF, portfolio=BOOK)
    second = next(r for r in run.results if r.case_id == "C-2")
    assert [e.type for e in second.events] == ["placement.unavailable"]
    assert {c.agency_id: c.reason for c in second.eligibility} == {
        "AG-X": "borrower_elsewhere",
        "AG-Y": "capacity",
    }
    assert second.decision.action.handled_by.value == "internal"
    (why,) = [g.reason for g in second.decision.guards if g.id == "placement"]
    assert "AG-X: the borrower's other debts are with another agency" in why


def test_per_borrower_can_be_turned_off(lender: Policy) -> None:
    text = LENDER.read_text(encoding="utf-8").replace(
        "  strategy: capacity ", "  per_borrower: false\n  strategy: capacity "
    )
    p = placer(loads_policy(text), agency("AG-X", capacity=5), agency("AG-Y", capacity=5))
    run = p.place(
        [cf("C-1", borrower="P-9"), cf("C-2", borrower="P-9")], as_of=AS_OF, portfolio=BOOK
    )
    assert {e.payload.agency_id for e in run.events} == {"AG-X", "AG-Y"}
    with pytest.raises(PolicyError, match="per_borrower must be true or false"):
        loads_policy(text.replace("per_borrower: false", "per_borrower: maybe"))


# -- the notice's fate, recorded in the events (dunning notice) --------------------------------


def notice_run(p: Placer, cases: list[dict[str, Any]], events: list[Any], day: date) -> Any:
    at = datetime.combine(day, datetime.min.time(), ZONE).replace(hour=9)
    return p.place(cases, as_of=at, events=events, portfolio=BOOK)


def test_a_notice_the_events_record_places_the_case_after_the_lead_time(lender: Policy) -> None:
    """The case file need not record the notice: a placement.noticed event does."""
    from dunning.placement.history import notice_events, replay

    p = placer(lender, agency("AG-X"))
    start = TODAY - timedelta(days=10)
    first = notice_run(p, [cf("C-1"), cf("C-2")], [], start)
    log = [e.model_dump(mode="json") for e in first.events]
    evening = datetime.combine(start, datetime.min.time(), ZONE).replace(hour=18)
    noticed = notice_events(replay(log, until=evening), evening, failed=["C-2"])
    assert [(e.case_id, e.payload.reason) for e in noticed] == [
        ("C-1", "delivered"),
        ("C-2", "failed"),
    ]
    log += [e.model_dump(mode="json") for e in noticed]
    # Once recorded, a notice is not recorded again; a failed one may be, once resent.
    assert [e.case_id for e in notice_events(replay(log), evening)] == ["C-2"]
    later = notice_run(p, [cf("C-1"), cf("C-2")], log, TODAY)
    kinds_by_case = {r.case_id: (kinds(r), r.events[0].payload.reason) for r in later.results}
    assert kinds_by_case == {
        "C-1": (["placed"], "notice_lead_time_passed"),
        "C-2": (["closed"], "notice_undelivered"),
    }
    with pytest.raises(ArgumentError, match="C-9: no open proposal waiting for its notice"):
        notice_events(replay(log), evening, failed=["C-9"])


def test_a_notice_event_must_follow_an_open_proposal() -> None:
    from dunning.placement.history import replay

    proposed = event("proposed", "C-1", "AG-X", TODAY)
    noticed = event("noticed", "C-1", "AG-X", TODAY, reason="delivered")
    stray = event("noticed", "C-2", "AG-X", TODAY, reason="delivered")
    odd = event("noticed", "C-1", "AG-X", TODAY, reason="maybe")
    history = replay([proposed, noticed, stray, odd])
    assert history.open["C-1"].noticed_on == TODAY
    # The unreadable event first (read before any is applied), then the one out of place.
    codes = [(e.case_id, e.problems[0].code) for e in history.errors]
    assert codes == [("C-1", "incomplete_event"), ("C-2", "bad_transition")]


def test_dunning_notice_records_the_notices_waiting(tmp_path: Path) -> None:
    log = tmp_path / "placements.jsonl"
    lines = [json.dumps(event("proposed", c, "AG-X", TODAY)) for c in ("C-1", "C-2", "C-3")]
    log.write_text("\n".join([*lines, "{broken"]) + "\n", encoding="utf-8")
    args = [
        "notice",
        "--policy",
        str(LENDER),
        "--placements",
        str(log),
        "--as-of",
        AS_OF.isoformat(),
    ]
    done = run_dunning(*args, "--failed", "C-2", "--failed", "C-3")
    assert done.returncode == 1, done.stderr  # the broken line is rejected, the rest recorded
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert records[0]["input"] == "placements" and records[0]["line"] == 4
    assert [(r["case_id"], r["payload"]["reason"]) for r in records[1:]] == [
        ("C-1", "delivered"),
        ("C-2", "failed"),
        ("C-3", "failed"),
    ]
    assert "1 notice(s) delivered, 2 failed" in done.stderr
    wrong = run_dunning(*args, "--failed", "C-1,C-7")
    assert wrong.returncode == 2 and "C-7: no open proposal waiting for its notice" in wrong.stderr
    assert wrong.stdout.count("placement.noticed") == 0  # nothing written on a usage error
