"""The shipped example portfolio: valid, varied, and reproducible from its generator."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from dunning import Case, CaseError, PlacementEvent, Product, assess, read_cases, read_events

ROOT = Path(__file__).resolve().parent.parent
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"
AS_OF = date(2026, 11, 28)


def load() -> list[Case]:
    with PORTFOLIO.open(encoding="utf-8") as lines:
        results = list(read_cases(lines))
    errors = [r for r in results if isinstance(r, CaseError)]
    assert errors == []
    return [r for r in results if isinstance(r, Case)]


def test_portfolio_is_valid_and_covers_the_domain() -> None:
    cases = load()
    assert len(cases) >= 1000
    assert len({c.case_id for c in cases}) == len(cases)
    cells = Counter((c.loan.product, assess(c, AS_OF).bucket) for c in cases)
    buckets = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
    missing = [(p, b) for p in Product for b in buckets if not cells[(p, b)]]
    assert missing == []
    assert any(c.loan.secured for c in cases) and any(not c.loan.secured for c in cases)
    assert {c.loan.repayment for c in cases if c.loan.schedule is None} >= {
        "equal_installment",
        "equal_principal",
        "interest_only",
        "bullet",
    }
    assert any(c.loan.schedule is not None for c in cases)
    assert any(c.delinquency is not None for c in cases)
    assert any(p.role == "guarantor" for c in cases for p in c.related_parties)
    assert any(p.role == "emergency_contact" for c in cases for p in c.related_parties)
    assert sum(1 for c in cases if c.placement) >= 20
    assert sum(1 for c in cases if c.promises) >= 50
    assert sum(1 for c in cases if c.lost_contact) >= 10
    assert any(ct.channel == "field_visit" and ct.recording_ref for c in cases for ct in c.contacts)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    out, events = tmp_path / "portfolio.jsonl", tmp_path / "placements.jsonl"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "generate_portfolio.py"),
            "--out",
            str(out),
            "--placements",
            str(events),
        ],
        check=True,
    )
    assert out.read_bytes() == PORTFOLIO.read_bytes()
    assert events.read_bytes() == (ROOT / "examples" / "placements.jsonl").read_bytes()


def test_the_example_placements_are_valid_events_of_the_example_cases() -> None:
    lines = (ROOT / "examples" / "placements.jsonl").read_text(encoding="utf-8").splitlines()
    events = list(read_events(lines))
    assert all(isinstance(e, PlacementEvent) for e in events), events
    ids = {
        c.case_id
        for c in read_cases(PORTFOLIO.read_text(encoding="utf-8").splitlines())
        if not isinstance(c, CaseError)
    }
    assert {e.case_id for e in events if isinstance(e, PlacementEvent)} <= ids
    kinds = {e.type for e in events if isinstance(e, PlacementEvent)}
    assert {"placement.proposed", "placement.placed", "placement.returned"} <= kinds


def test_host_integration_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "host_integration.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "outsource" in done.stdout and "legal_preservation" in done.stdout
    assert "rejected: product_not_covered" in done.stdout
    assert "case C-00002 as of 2026-11-28T09:00:00+08:00" in done.stdout


def test_settlement_example_is_reproducible(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "generate_settlement.py"), "--out", str(tmp_path)],
        check=True,
    )
    for name in ("events.jsonl", "ledger.jsonl", "claim-AG-01-2026-10.csv"):
        shipped = ROOT / "examples" / "settlement" / name
        assert (tmp_path / name).read_bytes() == shipped.read_bytes(), name


def test_runbook_inputs_are_reproducible(tmp_path: Path) -> None:
    """docs/runbook.md's inputs: the ledger, the day-60 case file and AG-01's claim."""
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "generate_runbook.py"), "--out", str(tmp_path)],
        check=True,
    )
    for name in ("ledger.jsonl", "cases-2027-01-29.jsonl", "claim-AG-01-2026-12.csv"):
        shipped = ROOT / "examples" / "runbook" / name
        assert (tmp_path / name).read_bytes() == shipped.read_bytes(), name
