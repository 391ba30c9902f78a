"""The table of rule-file kinds, and the command line's progress on a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dunning import Agencies, Policy, Procedure
from dunning.agency.collectors import Collectors
from dunning.cli import main
from dunning.rulefiles import FILE_KINDS, kind_of

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"


@pytest.mark.parametrize(
    ("path", "kind", "loaded"),
    [
        (RULES / "lender.yaml", "policy", Policy),
        (RULES / "us_cards.yaml", "policy", Policy),
        (RULES / "agencies.yaml", "agencies", Agencies),
        (RULES / "agency_procedure.yaml", "procedure", Procedure),
        (ROOT / "examples" / "agency" / "collectors.yaml", "collectors", Collectors),
    ],
)
def test_each_rule_file_is_told_apart_and_loaded_by_its_kind(
    path: Path, kind: str, loaded: type
) -> None:
    found = kind_of(path)
    assert found.name == kind
    assert isinstance(found.load(path), loaded)
    assert found.check(path) == []


def test_a_broken_file_of_each_kind_is_checked_as_that_kind(tmp_path: Path) -> None:
    broken = {
        "agencies": "agencies:\n  - agency_id: A\n    bogus: 1\n",
        "collectors": "collectors:\n  - bogus: 1\n",
        "procedure": "procedure:\n  bogus: 1\n",
        "policy": "policy:\n  name: x\n  bogus: 1\n",
    }
    for name, text in broken.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        kind = kind_of(path)
        assert kind.name == name
        found = kind.check(path)
        assert found and all(d.file == str(path) for d in found), (name, found)


def test_every_kind_with_a_schema_is_offered_by_dunning_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for kind in FILE_KINDS:
        if kind.schema is None:
            with pytest.raises(LookupError):
                kind.json_schema()
            continue
        assert main(["schema", kind.name]) == 0
        schema = json.loads(capsys.readouterr().out)
        assert schema == kind.json_schema() and schema["type"] == "object"


def test_every_shipped_rule_file_validates_against_its_schema() -> None:
    # An editor's schema that refuses a file dunning reads (or takes a file it refuses) would
    # send an analyst astray; `dunning schema procedure` did not exist (issue 38, item 17).
    import jsonschema
    import yaml

    from dunning.rulefiles import kind_of

    def as_an_editor_reads(path: Path) -> Any:  # (dates as the text they are)
        return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))

    root = Path(__file__).resolve().parent.parent
    kinds = set()
    files = [*sorted((root / "rules").glob("*.yaml")), root / "examples/agency/collectors.yaml"]
    for path in files:
        kind = kind_of(path)
        if path.name.endswith(".tests.yaml"):
            continue
        schema = kind.json_schema()
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(as_an_editor_reads(path), schema)
        kinds.add(kind.name)
    assert kinds == {"agencies", "collectors", "procedure", "policy"}
    procedure = as_an_editor_reads(root / "rules" / "agency_procedure.yaml")
    schema = kind_of(root / "rules" / "agency_procedure.yaml").json_schema()
    for wrong in (
        {"obligations": {**procedure["obligations"], "daily_record": None}},  # a typo
        {"obligations": {"intake": {"within_minutes": 0}}},
        {"obligations": {"roles": {"approve_procedures": ["boss"]}}},
        {"obligations": {"weekly_report": {"severity": "fatal"}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**procedure, **wrong}, schema)


def _run_on_a_terminal(args: list[str], out: Path) -> tuple[bytes, bytes]:
    """Run ``dunning`` with standard error on a pseudo-terminal and output to a file."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    # A new pseudo-terminal is 0 columns wide: give it a screen's width.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "dunning", *args], stdout=stdout, stderr=slave
        )
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed: the run ended
                break
            if not chunk:
                break
            seen += chunk
        process.wait(timeout=120)
    os.close(master)
    return seen, out.read_bytes()


def test_a_long_run_shows_its_progress_on_a_terminal_and_nowhere_else(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_bytes(PORTFOLIO.read_bytes())  # the bar is drawn as the run starts
    args = [
        "decide",
        "--policy",
        str(RULES / "lender.yaml"),
        "--as-of",
        "2026-11-28",
        "--overdue-customers",
        "9",
        str(big),
    ]
    screen, output = _run_on_a_terminal(args, tmp_path / "out.jsonl")
    assert b"dunning: deciding" in screen and b"cases/s" in screen
    assert len(output.splitlines()) == 1200 and b"deciding" not in output
    # In a pipe (standard error captured), no progress at all.
    piped = subprocess.run(
        [sys.executable, "-m", "dunning", *args], capture_output=True, check=False
    )
    assert b"deciding" not in piped.stderr and piped.stdout == output
