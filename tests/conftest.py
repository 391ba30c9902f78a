"""Shared test set-up: hypothesis profiles and a builder for valid cases."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester"]  # for the tests of dunning's own pytest plugin

# `make test` runs the default profile (25 examples a property: the suite must end within five
# minutes on two cores); `make test-slow` (HYPOTHESIS_PROFILE=slow) runs the long property runs:
# 5,000 generated policies for the engines' differential test, 1,000 examples for every other
# property, 1,000 load/decide cycles for the rete engine's memory.
SLOW = os.environ.get("HYPOTHESIS_PROFILE") == "slow"
settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "slow", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("slow" if SLOW else "default")

#: A letter telling the borrower the case may go to an agency (the outsourcing-notice guard).
NOTICE: dict[str, Any] = {
    "at": "2026-06-01T09:00:00+08:00",
    "channel": "letter",
    "party_id": "P-0001",
    "outcome": "delivered",
    "purpose": "outsourcing_notice",
}

#: The case of the issue's contract, before any payment; tests copy and change it.
BASE_CASE: dict[str, Any] = {
    "case_id": "C-0001",
    "loan": {
        "loan_id": "L-0001",
        "product": "consumer_finance",
        "principal": "12000.00",
        "currency": "CNY",
        "annual_rate": "0.18",
        "start_date": "2026-01-15",
        "term_months": 12,
        "repayment": "equal_installment",
        "collateral": None,
    },
    "borrower": {
        "party_id": "P-0001",
        "name": "张三",
        "phones": ["13800000000"],
        "addresses": ["上海市浦东新区世纪大道100号"],
        "timezone": "Asia/Shanghai",
    },
    "related_parties": [
        {"party_id": "P-0002", "role": "guarantor", "name": "李四", "phones": ["13900000000"]}
    ],
    "payments": [],
    "delinquency": None,
    "contacts": [
        {
            "at": "2026-06-01T10:00:00+08:00",
            "channel": "call",
            "party_id": "P-0001",
            "outcome": "no_answer",
        },
        NOTICE,
    ],
    "promises": [
        {"made_at": "2026-06-01T10:05:00+08:00", "amount": "1100.16", "due_date": "2026-06-05"}
    ],
    "placement": None,
    "lost_contact": False,
    "dispute": False,
    "do_not_contact": False,
    "rating": "B",
}


def case_dict(**changes: Any) -> dict[str, Any]:
    """Return a deep copy of BASE_CASE; keys like ``loan__principal`` change nested fields."""
    data = copy.deepcopy(BASE_CASE)
    for key, value in changes.items():
        target = data
        *parents, leaf = key.split("__")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return data


def us_card_case(delinquency: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A US credit card (USD, New York) known from a host snapshot, no related parties."""
    return case_dict(
        loan__product="credit_card",
        loan__currency="USD",
        borrower__timezone="America/New_York",
        borrower__phones=["+1 212 555 0100"],
        related_parties=[],
        delinquency=delinquency,
        **changes,
    )


@pytest.fixture
def base_case() -> dict[str, Any]:
    return case_dict()


def card_case(case_id: str, dpd: int = 20, **extra: Any) -> dict[str, Any]:
    """A valid credit-card case of a bank's file (tests of the agency's day)."""
    return {
        "case_id": case_id,
        "loan": {
            "loan_id": f"L-{case_id}",
            "product": "credit_card",
            "principal": "10000.00",
            "annual_rate": "0.18",
            "start_date": "2024-01-01",
            "term_months": 12,
            "repayment": "bullet",
        },
        "borrower": {
            "party_id": "borrower",
            "phones": ["+86 138 0000 0001"],
            "addresses": ["上海市浦东新区世纪大道1号"],
        },
        "delinquency": {"dpd": dpd, "overdue_principal": "1000.00", "overdue_interest": "20.00"},
        "card": {
            "credit_limit": "12000.00",
            "statement_balance": "10000.00",
            "minimum_payment_due": "1000.00",
        },
        **extra,
    }


def run_dunning(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``dunning ARGV`` in this process, in ``cwd``: its status, standard output and error.

    As ``python -m dunning`` does, without starting Python and importing dunning again (0.7 s
    a command). Tests of what only a process shows (signals, broken pipes, a worker killed)
    start one.
    """
    import contextlib
    import io

    from dunning.cli import main

    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True) for _ in "12")
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        status = main(list(argv))
    text = [s.buffer.getvalue().decode("utf-8") for s in (out, err)]  # type: ignore[attr-defined]
    return subprocess.CompletedProcess(list(argv), status, *text)
