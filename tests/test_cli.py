"""The `dunning` command: assess a JSON Lines file as a table or as JSON lines."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import case_dict
from dunning.batch import blocks
from dunning.cli import main

ON_TIME = [{"date": f"2026-0{m}-15", "amount": "1100.16"} for m in (2, 3, 4)]


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    lines = [
        json.dumps(case_dict(payments=ON_TIME), ensure_ascii=False),
        json.dumps(case_dict(case_id="C-bad", loan__annual_rate=0.18)),
        json.dumps(
            case_dict(
                case_id="C-3",
                loan__product="mortgage",
                loan__principal="500000.00",
                loan__collateral={"kind": "property", "value": "900000.00"},
            )
        ),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_output_has_one_line_per_input_line(
    batch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["assess", "--as-of", "2026-06-20", "--format", "jsonl", str(batch)])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1  # one line rejected
    assert [o.get("case_id") for o in out] == ["C-0001", "C-bad", "C-3"]
    assert out[0]["dpd"] == 36 and out[0]["bucket"] == "M2" and out[0]["total_due"] == "2200.32"
    assert out[1]["line"] == 2 and out[1]["errors"][0]["path"] == "loan.annual_rate"
    assert out[2]["dpd"] == 125 and out[2]["bucket"] == "M5"


def test_a_line_that_is_not_text_is_one_rejected_line(
    batch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = batch.read_bytes().splitlines()
    batch.write_bytes(b"\n".join([lines[0], b"\xff\xfe{}", lines[2]]) + b"\n")
    status = main(["assess", "--as-of", "2026-06-20", "--format", "jsonl", str(batch)])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert [o.get("case_id") for o in out] == ["C-0001", None, "C-3"]
    assert out[1]["line"] == 2 and out[1]["error"]["code"] == "invalid_json"


def test_table_output(batch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["assess", "--as-of", "2026-06-20", str(batch)])
    captured = capsys.readouterr()
    assert status == 1
    assert "line 2: case 'C-bad'" in captured.err and "decimal_as_string" in captured.err
    bucket_table = captured.out.split("Overdue amounts")[0]
    rows = {line.split()[0]: line.split()[1:] for line in bucket_table.splitlines() if line.strip()}
    # consumer_finance: one case in M2; mortgage: one in M5 (columns M0..M7+, total)
    assert rows["consumer_finance"][:9] == ["0", "0", "1", "0", "0", "0", "0", "0", "1"]
    assert rows["mortgage"][:9] == ["0", "0", "0", "0", "0", "1", "0", "0", "1"]
    overdue = captured.out.split("Overdue amounts")[1]
    assert "2,200.32" in overdue  # the consumer case's total due
    assert "1 line(s) rejected" in captured.out


def test_penalty_multiplier_option(batch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "assess",
            "--as-of",
            "2026-06-20",
            "--format",
            "jsonl",
            "--penalty-multiplier",
            "1.5",
            str(batch),
        ]
    )
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["penalty_interest"] == "29.64"


@pytest.mark.parametrize(
    "argv",
    [
        ["assess", "--as-of", "yesterday", "x.jsonl"],
        ["assess", "--as-of", "2026-06-20T10:00:00", "x.jsonl"],
        ["assess", "--format", "xml", "x.jsonl"],
        ["frobnicate"],
        [],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_python_dash_m_reads_stdin(batch: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dunning",
            "assess",
            "--as-of",
            "2026-06-20T23:30:00+08:00",
            "--format",
            "jsonl",
            "-",
        ],
        input=batch.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 3


@given(
    st.lists(st.sampled_from([b"a", b"b", b" ", b"\n", b"\r", b"\r\n"]), max_size=60).map(b"".join),
    st.integers(1, 9),
)
def test_blocks_number_lines_as_splitlines_does(data: bytes, size: int) -> None:
    # Whatever the block size, reading in blocks of whole lines sees the lines of the whole
    # input, with the same numbers.
    with patch("dunning.batch.BLOCK", size):
        seen = [
            (first + i, line)
            for first, block in blocks(io.BytesIO(data))
            for i, line in enumerate(block.splitlines())
        ]
    assert seen == list(enumerate(data.splitlines(), start=1))


@pytest.mark.parametrize("form", ["csv", "json"])
def test_a_locale_for_the_data_forms_is_a_usage_error_that_says_why(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # CSV and JSON are keyed by the JSON's names in every locale: a Chinese CSV was silently
    # English (issue 33). The Chinese spreadsheet is the workbook.
    root = Path(__file__).resolve().parent.parent
    argv = ["audit", "--procedure", str(root / "rules" / "agency_procedure.yaml")]
    argv += ["--as-of", "2026-12-11T09:00:00+08:00", "--format", form, "--locale", "zh-CN"]
    status = main([*argv, str(root / "examples" / "agency" / "events.jsonl")])
    err = capsys.readouterr().err
    assert status == 2 and f"--format {form} is data" in err and "--format xlsx" in err
    assert main([*argv[:-2], str(root / "examples" / "agency" / "events.jsonl")]) in (0, 1)


def test_a_pretty_printed_case_is_said_once_not_an_error_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The docs' examples/case.json given to decide was 14 invalid_json lines (issue 38, item 11).
    root = Path(__file__).resolve().parent.parent
    case = root / "examples" / "case.json"
    status = main(
        ["decide", "--policy", str(root / "rules/lender.yaml"), "--as-of", "2026-11-28", str(case)]
    )
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert (
        captured.err.count("\n") == 1
        and "one JSON document written over several lines" in captured.err
    )
    assert f"jq -c . {case}" in captured.err
    listed = tmp_path / "cases.json"
    listed.write_text("\ufeff[\n" + case.read_text(encoding="utf-8") + "]\n", encoding="utf-8")
    assert main(["assess", "--as-of", "2026-11-28", str(listed)]) == 2
    assert "jq -c '.[]'" in capsys.readouterr().err
    one_line = tmp_path / "cases.jsonl"
    one_line.write_text(
        json.dumps(json.loads(case.read_text(encoding="utf-8"))) + "\n", encoding="utf-8"
    )
    assert main(["assess", "--as-of", "2026-11-28", str(one_line)]) == 0
