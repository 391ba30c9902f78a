"""Packaging: the base install (no extras) decides on CPython 3.13+, where durable-rules cannot,
and runs the shipped rule files' analyst tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SLOW

ROOT = Path(__file__).resolve().parent.parent


def _newer_python() -> str | None:
    """A working CPython 3.13+ on this machine: on PATH, or among pyenv's versions."""
    candidates = [shutil.which(f"python3.{minor}") for minor in (14, 13)]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        versions = Path(root.stdout.strip(), "versions")
        candidates += [str(p) for p in sorted(versions.glob("3.1[3-9]*/bin/python3"))]
    for candidate in filter(None, candidates):
        probe = [candidate, "-c", "import sys; assert sys.version_info >= (3, 13)"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return candidate
    return None


NEWER = _newer_python()


@pytest.mark.skipif(NEWER is None, reason="no CPython 3.13 or newer on this machine")
@pytest.mark.skipif(
    not SLOW,
    reason="installing dunning into a Python 3.13 environment takes 17 s: make test-slow runs it",
)
def test_installs_and_decides_on_python_3_13_or_newer(tmp_path: Path) -> None:
    assert NEWER is not None
    venv = tmp_path / "venv"
    subprocess.run([NEWER, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    script = (
        "import importlib.util, sys\n"
        "import dunning\n"
        "assert sys.version_info >= (3, 13)\n"
        "assert importlib.util.find_spec('durable') is None, 'durable-rules must not install'\n"
        "p = dunning.load_policy(sys.argv[1])\n"
        "lines = open(sys.argv[2], encoding='utf-8').read().splitlines()[:50]\n"
        "day = __import__('datetime').date(2026, 11, 28)\n"
        "book = dunning.Portfolio(60)\n"
        "out = list(p.decide_many(dunning.read_cases(lines), as_of=day, portfolio=book))\n"
        "assert len(out) == 50\n"
        "try:\n"
        "    dunning.load_policy(sys.argv[1], engine='rete')\n"
        "except dunning.ConfigError as e:\n"
        "    assert 'compiled' in str(e)\n"
        "else:\n"
        "    raise AssertionError('rete must refuse')\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [
            str(python),
            "-c",
            script,
            str(ROOT / "rules" / "lender.yaml"),
            str(ROOT / "examples" / "portfolio.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    # What the library ships works on its base install: the procedure's working-day calendar
    # (CN) and the guards' quiet days need the holidays package, a dependency of its own.
    tested = subprocess.run(
        [str(venv / "bin" / "dunning"), "test", "--strict", str(ROOT / "rules")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
