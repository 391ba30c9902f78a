"""Reading cases and batches: one result per input line, errors with line numbers."""

from __future__ import annotations

import json

from conftest import case_dict
from dunning import Case, CaseError, read_cases


def test_batch_yields_one_result_per_line_and_keeps_going() -> None:
    good = json.dumps(case_dict())
    lines = [
        good,
        "{not json",
        json.dumps(case_dict(case_id="C-2", loan__principal="-1")),
        "",
        "[1, 2]",
        json.dumps(case_dict(case_id="C-3")),
    ]
    results = list(read_cases(lines))
    assert [type(r).__name__ for r in results] == [
        "Case",
        "CaseError",
        "CaseError",
        "CaseError",
        "Case",
    ]
    errors = [r for r in results if isinstance(r, CaseError)]
    assert [(e.line, e.case_id) for e in errors] == [(2, None), (3, "C-2"), (5, None)]
    assert errors[0].problems[0].code == "invalid_json"
    assert errors[2].problems[0].code == "not_an_object"
    problem = {
        "code": "greater_than",
        "message": "Input should be greater than 0",
        "path": "loan.principal",
    }
    assert errors[1].to_dict() == {
        "line": 3,
        "case_id": "C-2",
        "error": problem,
        "errors": [problem],
    }
    ok = [r for r in results if isinstance(r, Case)]
    assert [c.case_id for c in ok] == ["C-0001", "C-3"]


def test_bytes_lines_are_accepted() -> None:
    (result,) = read_cases([json.dumps(case_dict()).encode()])
    assert isinstance(result, Case)
