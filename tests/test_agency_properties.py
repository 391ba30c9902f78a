"""Properties of the agency's day: intake never loses or duplicates a line, assignment holds
capacity, a handover leaves nothing unassigned, a bundle round-trips."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import card_case as card
from dunning import intake, load_policy
from dunning.agency.assign import HandoverFailed, assign, handover, read_desk
from dunning.agency.bundle import export_bundle, import_bundle, verify_bundle
from dunning.agency.collectors import Collectors
from dunning.agency.intake import read_index
from dunning.model import Collector, CollectorStatus

ROOT = Path(__file__).resolve().parent.parent
POLICY = load_policy(ROOT / "rules" / "bank_credit_card.yaml")
CST = timezone(timedelta(hours=8))
RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=CST)
IDS = [f"K-{i}" for i in range(8)]


@st.composite
def bank_lines(draw: st.DrawFn) -> bytes:
    """A line of a bank's file: a case (ids repeat), or something that is not one."""
    kind = draw(st.sampled_from(["case", "case", "case", "junk", "blank", "invalid", "list"]))
    if kind == "case":
        return json.dumps(card(draw(st.sampled_from(IDS)), draw(st.integers(0, 300)))).encode()
    if kind == "junk":
        return draw(st.binary(min_size=1, max_size=20)).replace(b"\n", b"").replace(b"\r", b"")
    if kind == "blank":
        return draw(st.sampled_from([b"", b"  ", b"\t"]))
    if kind == "invalid":
        return json.dumps({**card(draw(st.sampled_from(IDS)), 5), "loan": None}).encode()
    return b"[1, 2]"


@settings(deadline=None)
@given(first=st.lists(bank_lines(), max_size=15), second=st.lists(bank_lines(), max_size=15))
def test_intake_never_loses_or_duplicates_a_line(first: list[bytes], second: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        taken: set[str] = set()
        seen: dict[str, Any] = {}
        for name, lines in (("first.jsonl", first), ("second.jsonl", second)):
            data = b"\n".join(lines) + b"\n"
            (root / name).write_bytes(data)
            result = intake(
                root / name,
                bank="BK",
                received_at=RECEIVED,
                store=root / "store",
                backups=[root / "b1", root / "b2"],
                clock=lambda: RECEIVED,
            )
            if result.batch_id in seen:  # the same bytes again: the same batch, nothing new
                assert not result.new and result.event == seen[result.batch_id]
                continue
            seen[result.batch_id] = result.event
            p = result.event.payload
            numbers = [n for n, line in enumerate(data.split(b"\n")[:-1], 1) if line.strip()]
            accepted = list(read_index(result.directory / "index.jsonl"))
            refused = [json.loads(x) for x in result.errors_file.read_bytes().split(b"\n")[:-1]]
            # Every non-blank line exactly once, taken in or refused.
            assert sorted([n for _, n in accepted] + [r["line"] for r in refused]) == numbers
            assert p.lines == len(numbers) == p.accepted + p.rejected
            # A case is taken in once per file (its first line wins); a case an earlier batch
            # of the bank took in is refreshed, with its case.refreshed event.
            ids = [case_id for case_id, _ in accepted]
            assert len(ids) == len(set(ids))
            cases = [
                json.loads(x)["case_id"] for x in result.cases_file.read_bytes().split(b"\n")[:-1]
            ]
            assert cases == ids
            events = [json.loads(x) for x in result.events_file.read_bytes().splitlines()]
            refreshed = {e["case_id"] for e in events if e["type"] == "case.refreshed"}
            received = {e["case_id"] for e in events if e["type"] == "case.received"}
            assert refreshed == set(ids) & taken and received == set(ids) - taken
            assert p.refreshed == len(refreshed) and p.repeated == 0  # one bank: no clash
            taken |= set(ids)
            if result.new:
                again = intake(
                    root / name,
                    bank="BK",
                    received_at=RECEIVED,
                    store=root / "store",
                    backups=[root / "b1", root / "b2"],
                    clock=lambda: RECEIVED,
                )
                assert not again.new and again.event == result.event


@st.composite
def rosters(draw: st.DrawFn) -> Collectors:
    found = []
    for i in range(draw(st.integers(1, 5))):
        found.append(
            Collector(
                collector_id=f"P{i}",
                name=f"p{i}",
                team=draw(st.sampled_from(["phone", "field"])),
                capacity=draw(st.integers(0, 4)),
                skills=("field_visit",) if draw(st.booleans()) else (),
                status=draw(st.sampled_from([CollectorStatus.ACTIVE] * 3 + list(CollectorStatus))),
            )
        )
    return Collectors.of(found)


@settings(deadline=None)
@given(
    roster=rosters(),
    dpds=st.lists(st.integers(0, 200), max_size=20),
    rounds=st.integers(1, 3),
)
def test_assignment_holds_capacity_and_is_deterministic(
    roster: Collectors, dpds: list[int], rounds: int
) -> None:
    cases = [json.dumps(card(f"A{i}", dpd)) for i, dpd in enumerate(dpds)]
    log: list[str] = []
    for day in range(rounds):
        moment = RECEIVED + timedelta(days=day)
        run = assign(cases, policy=POLICY, collectors=roster, events=log, as_of=moment)
        twin = assign(cases, policy=POLICY, collectors=roster, events=log, as_of=moment)
        assert twin.events == run.events
        log += [e.model_dump_json() for e in run.events]
        desk = read_desk(log)
        load = desk.load()
        for collector in roster:
            # New cases never push a collector past capacity (kept ones stay where they are).
            if collector.status is CollectorStatus.ACTIVE:
                assert load[collector.collector_id] <= collector.capacity
            else:
                assert run.before[collector.collector_id] >= load[collector.collector_id]
        statuses = [r.status for r in run.results]  # type: ignore[union-attr]
        assert len(statuses) == len(cases)
        assert set(desk.holder) <= {f"A{i}" for i in range(len(dpds))}
        assert sum(s != "waiting" for s in statuses) == len(desk.holder)


@settings(deadline=None)
@given(
    roster=rosters(),
    held=st.integers(0, 12),
    receivers=st.lists(st.integers(0, 4), min_size=1, max_size=4, unique=True),
)
def test_a_handover_leaves_nothing_unassigned_or_records_nothing(
    roster: Collectors, held: int, receivers: list[int]
) -> None:
    leaving = Collector(collector_id="GONE", name="g", team="phone", capacity=50)
    lead = Collector(collector_id="LEAD", name="l", team="phone", role="team_lead", capacity=0)
    collectors = Collectors.of([*roster, leaving, lead])
    log = [
        json.dumps(
            {
                "type": "assignment.assigned",
                "at": "2026-11-02T09:00:00+08:00",
                "actor": "L1",
                "case_id": f"H{i}",
                "payload": {"collector_id": "GONE", "reason": "new"},
            }
        )
        for i in range(held)
    ]
    to = [f"P{i}" for i in receivers if f"P{i}" in collectors]
    active = [c for c in roster if c.collector_id in to and c.status is CollectorStatus.ACTIVE]
    if not to or len(active) != len(to):
        return  # refused as a usage error (tested elsewhere)
    room = sum(c.capacity for c in active)
    try:
        run = handover(
            departing="GONE", to=to, collectors=collectors, events=log, as_of=RECEIVED, actor="LEAD"
        )
    except HandoverFailed:
        assert room < held
        return
    assert room >= held
    assert run.open_before == held == len(run.events) and run.left_after == 0
    desk = read_desk([*log, *(e.model_dump_json() for e in run.events)])
    assert desk.cases_of("GONE") == [] and not desk.errors
    assert sorted(desk.holder) == sorted(f"H{i}" for i in range(held))
    for c in active:
        assert desk.load()[c.collector_id] <= c.capacity


@settings(deadline=None, max_examples=40)
@given(
    batches=st.lists(
        st.lists(st.sampled_from(IDS), min_size=1, max_size=5), min_size=1, max_size=3
    ),
    bank=st.sampled_from(["BK", "B-2"]),
)
def test_export_verify_import_round_trips(batches: list[list[str]], bank: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        log: list[bytes] = []
        for n, ids in enumerate(batches):
            name = root / f"file{n}.jsonl"
            name.write_text("".join(json.dumps(card(i, 20)) + "\n" for i in ids) + f"#{n}\n")
            result = intake(
                name,
                bank=bank,
                received_at=RECEIVED,
                store=root / "store",
                backups=[root / "b1", root / "b2"],
                clock=lambda: RECEIVED,
            )
            log += result.events_file.read_bytes().splitlines()
        (root / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in log))
        log_file = root / "events.jsonl"
        made = export_bundle(root / "store", root / "out.zip", events=log_file, bank=bank)
        assert verify_bundle(root / "out.zip") == []
        import_bundle(root / "out.zip", root / "copy")
        for path in sorted((root / "store").rglob("*")):
            if path.is_file():
                copy = root / "copy" / path.relative_to(root / "store")
                assert copy.read_bytes() == path.read_bytes()
        assert (root / "copy" / "events.jsonl").read_bytes().splitlines() == log
        assert made.events == len(log)
