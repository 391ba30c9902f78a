"""Helpers for policy tests: write a rule file, load it, collect its diagnostics."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from dunning.errors import Diagnostic
from dunning.policy import Policy, check_file, load_policy

MINIMAL = """\
policy: test
version: "1"
products: [consumer_finance]
rules:
  channel:
{channel}
  fees:
{fees}
  commission:
{commission}
guards:
  # Test loans run at 18% a year: a 36% cap leaves room for the fees the tests set.
  charges_cap: {{mode: fixed_rate, rate: "0.36"}}
"""
CHANNEL = """\
    - id: current
      when: dpd == 0
      then: {channel: none}
    - id: late
      then: {channel: call}"""
FEES = """\
    - id: no-fee
      then: {collection_fee: 0}"""
COMMISSION = """\
    - id: flat
      then: {commission_rate: "0.1"}"""


def policy_text(
    *, channel: str = CHANNEL, fees: str = FEES, commission: str = COMMISSION, head: str = ""
) -> str:
    text = MINIMAL.format(channel=channel, fees=fees, commission=commission)
    return head + text


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def diagnostics(tmp_path: Path, text: str, **params: Any) -> list[Diagnostic]:
    return check_file(write(tmp_path, text), params=params or None)


def load(tmp_path: Path, text: str, **kw: Any) -> Policy:
    return load_policy(write(tmp_path, text), **kw)


def run_dunning(*args: str, **options: Any) -> subprocess.CompletedProcess[Any]:
    """Run the command line in a fresh interpreter: output captured, any exit status returned."""
    settings: dict[str, Any] = {"capture_output": True, "timeout": 120, "check": False}
    return subprocess.run([sys.executable, "-m", "dunning", *args], **(settings | options))


def decide_args(
    policy: Path, cases: Path, *, engine: str = "compiled", jobs: str = "1"
) -> list[str]:
    """The arguments of ``dunning decide`` for a batch as of 2026-11-28."""
    return [
        "decide",
        "--policy",
        str(policy),
        "--engine",
        engine,
        "--as-of",
        "2026-11-28",
        "--jobs",
        jobs,
        str(cases),
    ]
