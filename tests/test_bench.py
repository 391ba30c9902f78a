"""The benchmarks still run and their contenders still agree (quick mode; no timing asserts).

In the slow profile (`make test-slow`): see ``pytestmark``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each benchmark's quick run takes seconds to a minute (the Spark one starts a JVM of its own):
# together they would be a sixth of `make test`, so `make test-slow` runs them (`make bench`
# runs the full ones). They check that the scripts still run and their contenders agree.
pytestmark = pytest.mark.skipif(
    os.environ.get("HYPOTHESIS_PROFILE") != "slow",
    reason="the benchmarks' quick runs take a minute together: make test-slow runs them",
)


def test_the_quick_benchmark_runs_and_every_contender_agrees(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    # A contender that decides differently stops the run with the case it got wrong.
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    names = [row["contender"] for row in report["results"]]
    assert names[:4] == [
        "limit: hand-written Python",
        "compiled kernel",
        "JSON floor: json.loads + json.dumps",
        "compiled end-to-end",
    ]
    for row in report["results"]:
        # Each contender was measured, or says why it was skipped (durable-rules on 3.13+).
        measured = row["cases_per_second"] > 0 and row["cases_per_cpu_second"] > 0
        assert measured or row["note"].startswith("skipped")
    assert report["machine"]["python"] and report["versions"]["dunning"]
    assert "× limit" in done.stdout and "cases/CPU-s" in done.stdout


def test_the_settlement_benchmark_runs_and_measures_memory(tmp_path: Path) -> None:
    out = tmp_path / "settle.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "settle.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    small, large = report["results"]
    assert large["ledger_lines"] > 9 * small["ledger_lines"]
    assert small["peak_rss_mb"] > 0
    assert large["peak_rss_mb"] > 0
    assert "peak memory ×" in done.stdout


def test_the_intake_benchmark_runs_and_compares_with_decide(tmp_path: Path) -> None:
    out = tmp_path / "intake.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "intake.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    small, large = report["results"]
    assert large["cases"] == 10 * small["cases"]
    assert large["speed_ratio"] > 0 and large["intake_peak_rss_mb"] > 0
    assert "speed ratio" in done.stdout


def test_the_audit_benchmark_runs_clean_and_measures_memory(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "audit.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tenth, month, year = json.loads(out.read_text(encoding="utf-8"))["results"]
    assert year["event_lines"] > 9 * tenth["event_lines"]
    assert year["event_lines"] > 5 * month["event_lines"] and year["cases"] == month["cases"]
    assert tenth["exit"] == month["exit"] == year["exit"] == 0  # the generated logs audit clean
    assert "peak memory ×" in done.stdout


def test_the_spark_benchmark_runs_and_reports_its_ratios(tmp_path: Path) -> None:
    out = tmp_path / "spark.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "spark.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["cases"] == 5000 and report["overdue_customers"] > 0
    assert report["two_passes_over_cli"] > 0 and report["overdue_over_decide"] > 0
    assert report["driver_growth_mb"] >= 0 and "goal <= 1.3" in done.stdout


def test_the_report_benchmark_renders_every_form(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "report.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["cases_decided"] == 5_000 and report["scaled_to"] == 1_000_000
    assert set(report["render_seconds"]) >= {"json", "csv", "xlsx", "html zh-CN"}
    assert report["ratio"] > 0 and "× deciding them" in done.stdout
