"""One batch module: numbered records, blocks, the batch's own count, the ordered worker pool."""

from __future__ import annotations

import io
import json
import operator
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from unittest.mock import patch

import pytest

from dunning import CaseError, load_policy, read_cases
from dunning.batch import (
    Numbered,
    WorkerLost,
    Workers,
    count_first,
    numbered,
    rereadable,
    result_line,
)
from dunning.portfolio import Portfolio

ROOT = Path(__file__).resolve().parent.parent
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"
LENDER = ROOT / "rules" / "lender.yaml"


def test_a_numbered_reader_knows_the_line_and_item_it_gave_last() -> None:
    items = Numbered(iter([(3, "a"), (7, "b")]))
    assert (items.line, items.last) == (None, None)
    assert next(items) == "a" and (items.line, items.last) == (3, "a")
    assert next(items) == "b" and items.line == 7
    with pytest.raises(StopIteration):
        next(items)


def test_a_checked_reader_stops_where_the_check_says() -> None:
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    items = Numbered(iter([(1, "a"), (2, "b"), (3, "c"), (4, "d")])).checked(check)
    assert [next(items), next(items)] == ["a", "b"]
    with pytest.raises(KeyboardInterrupt):
        next(items)
    assert items.line == 2


def test_every_non_blank_line_is_one_result_with_its_number() -> None:
    def parse(text: str | bytes, line: int) -> str:
        if text == "bad":
            raise CaseError(None, [], line=line)
        return str(text)

    found = list(numbered(["x", "", "  ", "bad", 5, "y"], parse, start=10))  # type: ignore[list-item]
    assert [n for n, _ in found] == [10, 13, 14, 15]
    assert found[0][1] == "x" and found[3][1] == "y"
    assert isinstance(found[1][1], CaseError) and found[1][1].line == 13
    assert isinstance(found[2][1], CaseError) and found[2][1].problems[0].code == "not_an_object"


def test_read_cases_is_the_one_numbered_type() -> None:
    cases = read_cases(PORTFOLIO.read_text(encoding="utf-8").splitlines()[:3])
    assert isinstance(cases, Numbered)
    next(cases)
    assert cases.line == 1


@pytest.mark.parametrize("block", [300, 5000, 1 << 20])
def test_the_batch_counts_a_borrower_once_across_blocks(block: int) -> None:
    policy = load_policy(LENDER)
    moment = policy.moment(datetime.fromisoformat("2026-11-28T10:00:00+08:00"))
    data = PORTFOLIO.read_bytes()
    expected = len(policy.overdue_borrowers(data.splitlines(), as_of=moment))
    stream = io.BytesIO(data)
    stream.read(100)  # where the stream stands does not matter: it is read from the start
    stream.seek(0)
    with patch("dunning.batch.BLOCK", block):
        counted = count_first(
            stream, lambda b: policy.overdue_borrowers(b.splitlines(), as_of=moment)
        )
    assert counted == expected > 0
    assert stream.tell() == 0  # rewound, ready for the second pass
    assert Portfolio(counted).overdue_customers == expected


class _Pipe(io.BytesIO):
    def seekable(self) -> bool:
        return False


def test_a_pipe_is_copied_once_when_it_must_be_read_twice() -> None:
    pipe = _Pipe(b'{"a": 1}\n' * 1000)
    with rereadable(pipe, needed=True) as stream:
        assert stream is not pipe and stream.seekable()
        assert stream.read() == b'{"a": 1}\n' * 1000
    seekable = io.BytesIO(b"x\n")
    with rereadable(seekable, needed=True) as stream:
        assert stream is seekable
    with rereadable(pipe, needed=False) as stream:
        assert stream is pipe


def test_a_result_is_one_json_line() -> None:
    policy = load_policy(LENDER)
    lines = [*PORTFOLIO.read_text(encoding="utf-8").splitlines()[:2], "{"]
    results = list(
        policy.decide_many(read_cases(lines), as_of=date(2026, 11, 28), portfolio=Portfolio(9))
    )
    decided, broken = result_line(results[0]), json.loads(result_line(results[2]))
    assert json.loads(decided)["case_id"] == results[0].case_id  # type: ignore[union-attr]
    assert broken["line"] == 3 and broken["errors"][0]["code"] == "invalid_json"


def test_the_pool_gives_results_in_input_order() -> None:
    with Workers(2, int, ()) as workers:
        workers.window = 3  # fewer in flight than jobs: the window moves
        assert list(workers.ordered(operator.neg, ((i,) for i in range(40)))) == [
            -i for i in range(40)
        ]


def test_a_worker_that_dies_stops_the_run_instead_of_hanging_it() -> None:
    # multiprocessing.Pool loses a dead worker's job and waits for it for ever.
    with Workers(2, int, ()) as workers:
        results = workers.ordered(os._exit, [(3,), (4,)])
        with pytest.raises(WorkerLost, match="worker process ended"):
            list(results)


def test_a_ctrl_c_while_the_workers_start_is_kept_for_the_parent() -> None:
    # It was ignored while the pool started (SIG_IGN, inherited by the workers): a Ctrl-C in
    # that moment was lost, and the run went on to the end. (In a process of its own: signal
    # masks are the main thread's, and a test runner's worker may run tests in another. Python's
    # own handler first: a suite started in the background inherits SIGINT ignored.)
    code = (
        "import os, signal\n"
        "from dunning.batch import _sigint_blocked\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "try:\n"
        "    with _sigint_blocked():\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        print('still here: the signal waits', flush=True)\n"
        "except KeyboardInterrupt:\n"
        "    print('delivered when the workers are up')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.splitlines() == [
        "still here: the signal waits",
        "delivered when the workers are up",
    ]
