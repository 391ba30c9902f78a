"""`dunning test` (analyst test files with rule coverage) and `dunning diff`, end to end."""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dunning import Portfolio, load_policy, loads_policy
from dunning.cases import read_numbered
from dunning.cli import main
from dunning.diff import PolicyDiff, diff_policies
from dunning.reports.text import report_text

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
PORTFOLIO = ROOT / "examples" / "portfolio.jsonl"

TESTS = """\
policy: lender.yaml
as_of: 2026-11-28T10:00:00+08:00
portfolio: {overdue_customers: 500}
defaults:
  case_id: T-1
  loan: {loan_id: L-1, product: consumer_finance, principal: 12000.00, annual_rate: 0.18,
         start_date: 2026-01-15, term_months: 12}
  borrower: {party_id: P-1, phones: ["13800000000"], addresses: [somewhere]}
  delinquency: {dpd: 15, overdue_principal: 1000.00, overdue_interest: 80.00}
tests:
  - name: M1 is called
    expect: {channel: call, rule: call-m1}
  - name: wrong on purpose
    case: {delinquency: {dpd: 3}}
    expect: {channel: call, commission_rate: 0.07}
  - name: from a file
    case_file: case.json
    expect: {channel: field_visit, dpd: 45, bucket: M2}
  - name: an expected error
    case: {loan: {product: credit_card}}
    expect: {error: product_not_covered}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(RULES / "lender.yaml", tmp_path / "lender.yaml")
    # A whole case in a JSON file; the file's defaults still fill in what it leaves out.
    case = {
        "case_id": "F-1",
        "delinquency": {"dpd": 45, "overdue_principal": "1000.00", "overdue_interest": "80.00"},
    }
    (tmp_path / "case.json").write_text(json.dumps(case), encoding="utf-8")
    (tmp_path / "lender.tests.yaml").write_text(TESTS, encoding="utf-8")
    return tmp_path


def test_the_shipped_tests_pass_and_reach_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "--strict", str(RULES)]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out
    assert "coverage of" in out and "lender.yaml: 33/33 rules" in out
    assert "us_cards.yaml: 6/6 rules" in out


def test_failures_are_reported_at_the_tests_line(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", str(folder)]) == 1
    out = capsys.readouterr().out
    path = folder / "lender.tests.yaml"
    assert (
        f"{path}:13:5: test-failed: test 'wrong on purpose': channel: expected call, got sms; "
        "commission_rate: expected 0.07, got null; (decided by rule 'sms-early')"
    ) in out
    assert "4 test(s), 1 failed" in out
    # Rules no test reached are listed at their place in the policy.
    assert f"{folder / 'lender.yaml'}:" in out and "uncovered-rule: rule 'call-high-risk'" in out
    assert "coverage of" in out and "rules" in out


def test_strict_fails_on_uncovered_rules_alone(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (folder / "lender.tests.yaml").read_text(encoding="utf-8")
    start = text.index("  - name: wrong on purpose")
    end = text.index("  - name: from a file")
    (folder / "lender.tests.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    assert main(["test", str(folder)]) == 0
    assert main(["test", "--strict", str(folder)]) == 1
    assert "0 failed" in capsys.readouterr().out


def test_mistakes_in_a_test_file_are_reported_with_positions(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TESTS.replace("expect: {channel: call, rule: call-m1}", "expekt: {channel: call}")
    text = text.replace("rule: call-m1", "rule: call-m2")
    text += "  - name: a rule that does not exist\n    expect: {rule: cal-m1}\n"
    (folder / "lender.tests.yaml").write_text(text, encoding="utf-8")
    assert main(["test", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "unknown-key: unknown key 'expekt' in a test (did you mean 'expect'?)" in out
    assert "unknown-value: policy 'lender' has no rule 'cal-m1' (did you mean 'call-m1'?)" in out


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(tmp_path)]) == 2
    assert "no test files" in capsys.readouterr().err


# --- diff -----------------------------------------------------------------------------------------


def test_diff_reports_the_changes_of_a_policy_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = (RULES / "lender.yaml").read_text(encoding="utf-8")
    new = new.replace('default: "50000.00"', 'default: "20000.00"').replace(
        'version: "2026.11"', 'version: "2026.12"'
    )
    (tmp_path / "new.yaml").write_text(new, encoding="utf-8")
    changed = tmp_path / "changed.jsonl"
    argv = [
        "diff",
        str(RULES / "lender.yaml"),
        str(tmp_path / "new.yaml"),
        str(PORTFOLIO),
        "--as-of",
        "2026-11-28T10:00:00+08:00",
        "--overdue-customers",
        "500",
        "--changed",
        str(changed),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Policy diff\n  Old policy  lender 2026.11\n")
    assert "\n  New policy  lender 2026.12\n" in out
    count = int(out.split("  Decided differently")[1].split("\n")[0].replace(",", ""))
    assert count > 0
    rows = [json.loads(line) for line in changed.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == count
    # A lower large-amount threshold only sends more cases to agencies — or, where the borrower
    # was not told yet, to the outsourcing notice first (the guard).
    assert all("cf-outsource-large-amount" in r["new"]["rules"] for r in rows)
    assert all(r["new"]["action"]["channel"] in ("outsource", "sms") for r in rows)
    assert all("rules" in r["differences"] for r in rows)
    assert re.search(r"\n  Total due no longer placed +0\.00\n", out)
    matrix = out.split("Channel done (after the guards): old (rows) × new (columns)\n")[1]
    assert matrix.splitlines()[0].split()[:3] == ["Old", "\\", "new"]
    # What changed in the policy is said first; then per product; then the charges.
    assert "  parameter large_amount: 50000.00 → 20000.00\n" in out
    assert out.index("What changed in the policy") < out.index("By product\n")
    assert "\n  consumer_finance " in out
    assert "Amounts over the batch, old and new\n" in out and "\n  charges_cut " in out


def test_diff_streams_a_file_with_each_policys_own_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without --overdue-customers the command counts each policy's overdue borrowers in a first
    # pass and then streams: the same report as deciding the whole batch in memory.
    old, new = load_policy(RULES / "lender.yaml"), load_policy(RULES / "us_cards.yaml")
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()
    in_memory = diff_policies(
        old,
        new,
        read_numbered(lines),
        as_of=datetime(2026, 11, 28, tzinfo=ZoneInfo("Asia/Shanghai")),  # as the CLI reads it
        portfolio="batch",
    )
    argv = ["diff", str(RULES / "lender.yaml"), str(RULES / "us_cards.yaml"), str(PORTFOLIO)]
    main([*argv, "--as-of", "2026-11-28"])
    assert capsys.readouterr().out == report_text("diff", in_memory.to_dict())
    # The two policies cover different products: every decided case changes.
    assert in_memory.cases == 1200 and in_memory.changed


def test_the_batch_count_equals_the_one_decide_many_makes() -> None:
    lender = load_policy(RULES / "lender.yaml")
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()
    count = len(lender.overdue_borrowers(lines, as_of=date(2026, 11, 28)))
    assert 0 < count < len(lines)

    def dumped(results: Any) -> list[str]:
        return [r.model_dump_json() if hasattr(r, "model_dump_json") else str(r) for r in results]

    counted = lender.decide_many(lines, as_of=date(2026, 11, 28), portfolio="batch")
    given = lender.decide_many(lines, as_of=date(2026, 11, 28), portfolio=Portfolio(count))
    assert dumped(counted) == dumped(given)
    # ... and the figure matters: with none overdue, the lender keeps its cases in house.
    none = lender.decide_many(lines, as_of=date(2026, 11, 28), portfolio=Portfolio(0))
    assert dumped(counted) != dumped(none)


def test_diff_with_a_portfolio_reads_one_case_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    lender = load_policy(RULES / "lender.yaml")
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:200]
    read, ahead = [0], []

    def source() -> Any:
        for number, item in read_numbered(lines):
            read[0] += 1
            yield number, item

    added = [0]
    original = PolicyDiff.add

    def add(self: PolicyDiff, *args: Any, **kwargs: Any) -> None:
        added[0] += 1
        ahead.append(read[0] - added[0])
        original(self, *args, **kwargs)

    monkeypatch.setattr(PolicyDiff, "add", add)
    diff_policies(lender, lender, source(), as_of=date(2026, 11, 28), portfolio=Portfolio(500))
    assert added[0] == 200 and max(ahead) <= 1


def test_diff_counts_a_line_that_is_not_text_as_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = PORTFOLIO.read_bytes().splitlines()[:10]
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b"\n".join([*lines[:5], b"\xff not text", *lines[5:]]) + b"\n")
    lender = str(RULES / "lender.yaml")
    main(["diff", lender, lender, str(path), "--as-of", "2026-11-28"])
    out = capsys.readouterr().out
    assert re.search(r"\n  Cases +11\n  Decided differently +0\n", out)
    credit_cards = sum(b'"credit_card"' in line for line in lines)
    assert re.search(rf"\n  Rejected by both +{credit_cards + 1}\n", out)


def test_diff_skips_what_neither_policy_covers_when_told(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The 165 card cases of the example were an `error` row and column (issue 38, item 4).
    lender = str(RULES / "lender.yaml")
    argv = ["diff", lender, str(PORTFOLIO), "--param", "penalty_multiplier=1.4"]
    argv += ["--as-of", "2026-11-28", "--overdue-customers", "9", "--format", "json"]
    main(argv)
    every = json.loads(capsys.readouterr().out)
    main([*argv, "--skip-uncovered"])
    skipping = json.loads(capsys.readouterr().out)
    cards = sum(b'"credit_card"' in line for line in PORTFOLIO.read_bytes().splitlines())
    assert skipping["skipped"] == {"credit_card": cards} and every["skipped"] == {}
    assert skipping["cases"] == every["cases"] - cards
    assert skipping["rejected_by_both"] == every["rejected_by_both"] - cards == 0
    assert "error" in every["channels"] and "error" not in skipping["channels"]
    assert skipping["changed"] == every["changed"]
    main([*argv[:-2], "--skip-uncovered"])
    assert f"Skipped, not covered by this policy: credit card {cards}" in capsys.readouterr().out


def test_diff_of_a_policy_with_itself_changes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lender = str(RULES / "lender.yaml")
    assert main(["diff", lender, lender, str(PORTFOLIO), "--as-of", "2026-11-28"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\n  Cases +1,200\n  Decided differently +0\n", out)
    commission = next(line for line in out.splitlines() if line.startswith("  commission "))
    assert commission.split()[-1] == "0.00"  # the expected commission does not change


# --- decide --jobs -------------------------------------------------------------------------------

DECIDE = ["decide", "--policy", str(RULES / "lender.yaml"), "--as-of", "2026-11-28T10:00:00+08:00"]


def test_decide_with_worker_processes_gives_the_same_lines_in_the_same_order(
    capfd: pytest.CaptureFixture[str],
) -> None:
    outputs = []
    for extra in ([], ["--jobs", "2"], ["--jobs", "3", "--overdue-customers", "40"]):
        assert main([*DECIDE, *extra, str(PORTFOLIO)]) == 1  # credit cards are rejected
        outputs.append(capfd.readouterr().out.splitlines())
    serial, parallel, streamed = outputs
    assert parallel == serial and len(serial) == 1200
    assert [json.loads(x).get("line") for x in parallel if '"line"' in x][:3] == [
        json.loads(x)["line"] for x in serial if '"line"' in x
    ][:3]
    assert len(streamed) == 1200 and streamed != serial  # another portfolio figure


def test_workers_fold_the_same_summary(capfd: pytest.CaptureFixture[str]) -> None:
    # The summary's data, from which its table, page and workbook are all drawn.
    summaries = []
    for extra in ([], ["--jobs", "2"]):
        assert main([*DECIDE, "--format", "json", "--skip-uncovered", *extra, str(PORTFOLIO)]) == 0
        summaries.append(json.loads(capfd.readouterr().out))
    assert summaries[0] == summaries[1]
    assert summaries[0]["agencies"]["by_bucket"] and summaries[0]["skipped"] == {"credit_card": 165}


def test_line_numbers_and_bad_bytes_are_the_same_with_workers(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = PORTFOLIO.read_bytes().splitlines()[:40]
    # CRLF and lone-CR line ends, blank lines, a line that is not UTF-8, a line of JSON that
    # is no case: every result keeps its own line number.
    mixed = b"\r\n".join(cases[:10]) + b"\r\n\r\n" + b"\r".join(cases[10:20]) + b"\n"
    mixed += b"\xff\xfe not text\n[1, 2]\n\n" + b"\n".join(cases[20:]) + b"\n"
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(mixed)
    monkeypatch.setattr("dunning.batch.BLOCK", 1500)  # lines straddle the blocks
    outputs = []
    for extra in ([], ["--jobs", "2"]):
        for figure in (["--overdue-customers", "7"], []):  # without it: the counting pass too
            main([*DECIDE, *figure, *extra, str(path)])
            outputs.append(capfd.readouterr().out.splitlines())
    assert outputs[0] == outputs[2] and outputs[1] == outputs[3]
    errors = {
        json.loads(x)["line"]: json.loads(x)["error"]["code"] for x in outputs[0] if '"line"' in x
    }
    assert errors[22] == "invalid_json" and errors[23] == "not_an_object"
    assert len(outputs[0]) == 42
    ids = [json.loads(x).get("case_id") for x in outputs[0]]
    expected = [json.loads(c)["case_id"] for c in cases]
    assert [i for i in ids if i] == [i for i in expected if i in ids]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_pipe_counts_itself_from_a_copy_on_disk(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    jobs: str,
) -> None:
    # A pipe cannot be read twice: without --overdue-customers the batch is copied to a
    # temporary file, counted, then decided - as the same file is (it used to be held in
    # memory, or refused with --jobs).
    data = b"".join(PORTFOLIO.read_bytes().splitlines(keepends=True)[:80])
    file = tmp_path / "cases.jsonl"
    file.write_bytes(data)

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.rest = data

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: Any) -> int:
            chunk, self.rest = self.rest[: len(buffer)], self.rest[len(buffer) :]
            buffer[: len(chunk)] = chunk
            return len(chunk)

    common = ["decide", "--policy", str(RULES / "lender.yaml"), "--as-of", "2026-11-28"]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(Pipe())))
    assert main([*common, "--jobs", jobs, "-"]) == 1  # its credit-card lines are rejected
    piped = capsys.readouterr().out
    assert main([*common, str(file)]) == 1
    assert piped == capsys.readouterr().out
    assert piped.count("\n") == len(data.splitlines())


def test_jobs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decide", "--policy", str(RULES / "lender.yaml"), "--jobs", "0", "-"]) == 2
    assert "not a whole number ≥ 1" in capsys.readouterr().err


# -- what the file gives every test: read once, reported once ------------------------------------


def _run_file(folder: Path, text: str) -> tuple[list[Any], Any]:
    from dunning.policytests import run_test_files

    (folder / "lender.tests.yaml").write_text(text, encoding="utf-8")
    (result,) = run_test_files([folder / "lender.tests.yaml"])
    return [(d.code, d.severity, d.message) for d in result.diagnostics], result


def test_as_of_may_be_a_date_as_on_the_command_line(folder: Path) -> None:
    found, result = _run_file(folder, TESTS.replace("2026-11-28T10:00:00+08:00", "2026-11-28"))
    assert [o.name for o in result.outcomes if not o.passed] == ["wrong on purpose"]
    assert all(code != "bad-value" for code, _, _ in found)


def test_a_mistake_of_the_file_is_reported_once(folder: Path) -> None:
    found, result = _run_file(folder, TESTS.replace("2026-11-28T10:00:00+08:00", "yesterday"))
    bad = [m for code, _, m in found if code == "bad-value"]
    assert len(bad) == 1 and bad[0].startswith("as_of must be a date")
    assert result.outcomes == [] and not result.complete
    # ... and rule coverage is not reported for tests that could not run.
    assert all(code != "uncovered-rule" for code, _, _ in found)


def test_a_missing_as_of_or_portfolio_is_said_once_for_every_test_lacking_it(
    folder: Path,
) -> None:
    text = TESTS.replace("as_of: 2026-11-28T10:00:00+08:00\n", "")
    found, _ = _run_file(folder, text)
    (missing,) = [m for code, _, m in found if code == "missing-key"]
    assert missing.startswith("the file gives no as_of and some tests give none: 4 test(s)")
    text = TESTS.replace("portfolio: {overdue_customers: 500}\n", "")
    found, _ = _run_file(folder, text)
    (missing,) = [m for code, _, m in found if code == "missing-key"]
    assert "the policy reads overdue_customers (rules cf-early-phase-in-house" in missing
    assert "4 test(s) cannot run" in missing


def test_a_test_may_give_the_figure_per_product(folder: Path) -> None:
    text = TESTS.replace(
        "portfolio: {overdue_customers: 500}",
        "portfolio: {overdue_customers: {consumer_finance: 500, mortgage: 3}}",
    )
    _, result = _run_file(folder, text)
    assert [o.name for o in result.outcomes if not o.passed] == ["wrong on purpose"]
    found, _ = _run_file(folder, text.replace("mortgage: 3", "mortgages: 3"))
    (bad,) = [m for code, _, m in found if code == "bad-value"]
    assert "unknown product 'mortgages' (did you mean 'mortgage'?)" in bad


def test_a_what_if_needs_no_second_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = (RULES / "lender.yaml").read_text(encoding="utf-8")
    (tmp_path / "new.yaml").write_text(
        new.replace('default: "50000.00"', 'default: "20000.00"'), encoding="utf-8"
    )
    base = ["--as-of", "2026-11-28T10:00:00+08:00", "--overdue-customers", "500"]
    base += ["--format", "json"]
    lender = str(RULES / "lender.yaml")
    assert main(["diff", lender, str(tmp_path / "new.yaml"), str(PORTFOLIO), *base]) == 0
    two_files = json.loads(capsys.readouterr().out)
    assert main(["diff", lender, str(PORTFOLIO), "--param", "large_amount=20000.00", *base]) == 0
    what_if = json.loads(capsys.readouterr().out)
    # The same figures; the new policy's digest names its bytes and its overrides, so differs.
    assert what_if.pop("policies")["new"]["digest"] != two_files.pop("policies")["new"]["digest"]
    assert what_if == two_files
    assert what_if["policy_changes"] == ["parameter large_amount: 50000.00 → 20000.00"]
    assert what_if["changed"] == 12 and what_if["by_product"]["consumer_finance"]["changed"] == 12
    assert what_if["intended_channels"]["call"]["outsource"] == 5  # the notice comes first
    assert main(["diff", lender, str(PORTFOLIO), *base]) == 2  # one file and no --param


def test_cases_already_placed_are_not_newly_placed() -> None:
    lender = load_policy(RULES / "lender.yaml")
    in_house = load_policy(RULES / "lender.yaml", params={"outsourcing_min_overdue_customers": 9})
    lines = [
        line
        for line in PORTFOLIO.read_text(encoding="utf-8").splitlines()
        if '"placement": {' in line
    ]
    assert lines
    result = diff_policies(
        lender, in_house, read_numbered(lines), as_of=date(2026, 11, 28), portfolio=Portfolio(5)
    )
    assert result.already_placed == len(lines)
    assert result.to_agencies == result.from_agencies == 0
    assert result.already_placed_due > 0


def test_the_policy_changes_are_listed_rule_by_rule(tmp_path: Path) -> None:
    from dunning.diff import policy_changes

    text = (RULES / "lender.yaml").read_text(encoding="utf-8")
    changed = text.replace("when: dpd in 31..90", "when: dpd in 31..60").replace(
        "    - id: call-high-risk\n", "    - id: call-very-high-risk\n"
    )
    changed = changed.replace("message: promise_reminder}", "message: overdue_notice}")
    changed = changed.replace("sms_max_segments: 1 ", "sms_max_segments: 2 ")
    changed = changed.replace("如已还款请忽略本短信。", "已还款请忽略。")
    new = loads_policy(changed, name="new.yaml")
    found = policy_changes(load_policy(RULES / "lender.yaml"), new)
    assert (
        "rule call-very-high-risk added (channel): when rating in high_risk_ratings → call, to "
        "borrower (priority 0)" in found
    )
    assert "rule call-high-risk removed (channel)" in found
    assert (
        "rule field-visit-m2-m3: when dpd in 31..90 → field_visit, to borrower (priority 0)  →  "
        "when dpd in 31..60 → field_visit, to borrower (priority 0)" in found
    )
    # What customers read is part of the policy too.
    assert (
        "rule sms-open-promise: when open_promise → sms, to borrower, message promise_reminder "
        "(priority 0)  →  when open_promise → sms, to borrower, message overdue_notice "
        "(priority 0)" in found
    )
    assert "messages sms_max_segments: 1 → 2" in found
    assert "message template promise_reminder changed (zh-CN)" in found
