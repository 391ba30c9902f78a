"""The Dask and Ray recipes of docs/cluster.md decide as the command line does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dunning import load_policy

ROOT = Path(__file__).resolve().parent.parent
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"
LENDER = ROOT / "rules" / "lender.yaml"
AS_OF = "2026-11-28T10:00:00+08:00"
SLOW = os.environ.get("HYPOTHESIS_PROFILE") == "slow"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example portfolio (with its uncovered products), a broken line and a bad case."""
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()
    lines += ["{not json", json.dumps({"case_id": "X-1", "loan": {"product": "lease"}})]
    path = tmp_path_factory.mktemp("recipes") / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def normal(record: dict[str, Any]) -> str:
    """A result as JSON, without the line number only the command line knows."""
    return json.dumps({k: v for k, v in record.items() if k != "line"}, sort_keys=True)


def command_line(path: Path) -> list[str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dunning",
            "decide",
            "--policy",
            str(LENDER),
            "--as-of",
            AS_OF,
            "--format",
            "jsonl",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr  # the two bad lines
    return sorted(normal(json.loads(line)) for line in done.stdout.splitlines())


def recipe(name: str, book: Path, out: Path) -> str:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / name),
            "--policy",
            str(LENDER),
            "--as-of",
            AS_OF,
            "--cases",
            str(book),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "RAY_DATA_DISABLE_PROGRESS_BARS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def figure(book: Path) -> int:
    lines = book.read_text(encoding="utf-8").splitlines()
    moment = datetime.fromisoformat(AS_OF)
    return len(load_policy(LENDER).overdue_borrowers(lines, as_of=moment))


def test_the_dask_recipe_decides_as_the_command_line(book: Path, tmp_path: Path) -> None:
    pytest.importorskip("dask", reason="dask comes with the dev extra")
    printed = recipe("dask_decide.py", book, tmp_path / "out")
    files = sorted((tmp_path / "out").glob("*.jsonl"))
    assert len(files) >= 2  # more than one partition: a count per partition would show
    assert f"overdue customers {figure(book):,}" in printed
    ours = [json.loads(x) for f in files for x in f.read_text(encoding="utf-8").splitlines()]
    assert sorted(map(normal, ours)) == command_line(book)


@pytest.mark.skipif(not SLOW, reason="Ray's start and shuffle take half a minute: make test-slow")
def test_the_ray_recipe_decides_as_the_command_line(book: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="ray comes with the dev extra")
    import pyarrow.parquet as pq

    printed = recipe("ray_decide.py", book, tmp_path / "out")
    assert f"overdue customers {figure(book):,}" in printed
    results = pq.read_table(str(tmp_path / "out")).column("result").to_pylist()
    assert sorted(normal(json.loads(x)) for x in results) == command_line(book)


def test_the_recipes_in_the_guide_are_the_examples_code() -> None:
    # Each ```py block of the guide that starts "# from examples/NAME" is that file's code.
    guide = (ROOT / "docs" / "cluster.md").read_text(encoding="utf-8")
    quoted = re.findall(r"```py\n# from (examples/\S+)\n(.*?)```", guide, re.S)
    assert {name for name, _ in quoted} == {"examples/dask_decide.py", "examples/ray_decide.py"}
    for name, code in quoted:
        assert code.strip() in (ROOT / name).read_text(encoding="utf-8"), name
