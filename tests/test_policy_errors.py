"""Rule-file errors: every code reported at its file, line and column, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunning import PolicyError
from dunning.cli import main
from dunning.errors import Diagnostic
from policy_helpers import CHANNEL, COMMISSION, FEES, diagnostics, load, policy_text, write


def pos_of(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, col) of the nth occurrence of ``needle`` in ``text``."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def only(found: list[Diagnostic], code: str) -> Diagnostic:
    matching = [d for d in found if d.code == code]
    assert len(matching) == 1, found
    return matching[0]


def where(d: Diagnostic) -> tuple[int, int]:
    return d.line, d.col


def test_the_minimal_policy_is_clean(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, policy_text()) == []


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = policy_text().replace('version: "1"', "version: [1, 2")
    d = only(diagnostics(tmp_path, text), "yaml-syntax")
    # PyYAML gives up where the flow sequence should have closed: the next key, line 3.
    assert (d.file.endswith("policy.yaml"), d.line, d.col) == (True, 3, 9)
    assert d.message == "expected ',' or ']', but got ':'"


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    text = policy_text(
        channel=CHANNEL.replace("      then: {channel: call}", "      thne: {channel: call}")
    )
    d = only(diagnostics(tmp_path, text), "unknown-key")
    assert where(d) == pos_of(text, "thne")
    assert "did you mean 'then'" in d.message
    assert any(x.code == "missing-key" for x in diagnostics(tmp_path, text))


def test_unknown_fact_with_suggestion(tmp_path: Path) -> None:
    text = policy_text(channel=CHANNEL.replace("when: dpd == 0", "when: dpdd == 0"))
    d = only(diagnostics(tmp_path, text), "unknown-fact")
    assert where(d) == pos_of(text, "dpdd")
    assert d.message == "unknown fact 'dpdd' (did you mean 'dpd'?)"
    assert d.rule_id == "current"
    assert d.source_line is not None and "dpdd" in d.source_line


def test_unknown_parameter(tmp_path: Path) -> None:
    head = "params:\n  large_amount: {type: money, default: '50000.00'}\n"
    text = policy_text(channel=CHANNEL.replace("when: dpd == 0", "when: total_due >= large_amout"))
    text = text.replace("rules:\n", head + "rules:\n")
    d = only(diagnostics(tmp_path, text), "unknown-param")
    assert where(d) == pos_of(text, "large_amout")
    assert "did you mean 'large_amount'" in d.message


def test_unknown_parameter_at_load_time(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, policy_text(), sms_days="3")
    assert only(found, "unknown-param").message.startswith("parameter 'sms_days' given at load")


@pytest.mark.parametrize(
    ("condition", "needle", "message"),
    [
        ("product > 3", "3", "'>' needs a number, got string"),
        ('dpd == "x"', '"x"', "cannot compare int with string"),
        ("total_due + dpd > 0", "total_due", "cannot add int to money"),
        ("not dpd", "dpd", "'not' needs true/false, got int"),
        ("dpd", "dpd", "a condition must be true or false, got int"),
        ("lost_contact == null", "null", "bool is never missing"),
    ],
)
def test_type_mismatch(tmp_path: Path, condition: str, needle: str, message: str) -> None:
    text = policy_text(channel=CHANNEL.replace("when: dpd == 0", f"when: {condition}"))
    d = only(diagnostics(tmp_path, text), "type-mismatch")
    assert message in d.message
    line, _ = pos_of(text, "when: " + condition)
    assert d.line == line


def test_type_mismatch_points_at_the_operand(tmp_path: Path) -> None:
    text = policy_text(channel=CHANNEL.replace("when: dpd == 0", 'when: dpd == "x"'))
    assert where(only(diagnostics(tmp_path, text), "type-mismatch")) == pos_of(text, '"x"')


def test_unknown_value_of_an_enumerated_fact(tmp_path: Path) -> None:
    text = policy_text(
        channel=CHANNEL.replace("when: dpd == 0", 'when: product == "consumer_finace"')
    )
    d = only(diagnostics(tmp_path, text), "unknown-value")
    assert where(d) == pos_of(text, '"consumer_finace"')
    assert "did you mean 'consumer_finance'" in d.message


def test_unknown_channel_and_role(tmp_path: Path) -> None:
    channel = CHANNEL.replace("{channel: none}", "{channel: emial}").replace(
        "{channel: call}", "{channel: sms, recipients: [borrower, neighbour]}"
    )
    text = policy_text(channel=channel)
    found = diagnostics(tmp_path, text)
    assert where(only(found, "unknown-channel")) == pos_of(text, "emial")
    assert where(only(found, "unknown-role")) == pos_of(text, "neighbour")


def test_duplicate_rule_id(tmp_path: Path) -> None:
    text = policy_text(fees=FEES.replace("no-fee", "current"))
    d = only(diagnostics(tmp_path, text), "duplicate-rule-id")
    assert d.line == pos_of(text, "id: current", 1)[0]
    assert d.hint == f"the first is on line {pos_of(text, 'id: current')[0]}"


def test_missing_fallback(tmp_path: Path) -> None:
    channel = CHANNEL.replace(
        "    - id: late\n      then: {channel: call}",
        "    - id: late\n      when: dpd > 0\n      then: {channel: call}",
    )
    text = policy_text(channel=channel)
    d = only(diagnostics(tmp_path, text), "missing-fallback")
    assert where(d) == pos_of(text, "channel:")
    with pytest.raises(PolicyError):
        load(tmp_path, text)


def test_dpd_gap_and_overlap_are_warnings(tmp_path: Path) -> None:
    channel = """\
    - id: current
      when: dpd == 0
      then: {channel: none}
    - id: early
      when: dpd in 1..30
      then: {channel: sms}
    - id: overlapping
      when: 20 <= dpd <= 60
      then: {channel: call}
    - id: late
      when: dpd >= 91
      then: {channel: field_visit}
    - id: fallback
      then: {channel: call}"""
    text = policy_text(channel=channel)
    found = diagnostics(tmp_path, text)
    overlap, gap = only(found, "dpd-overlap"), only(found, "dpd-gap")
    assert overlap.severity == gap.severity == "warning"
    assert where(overlap) == pos_of(text, "id: overlapping")
    assert "dpd 20..30 is already decided by rule 'early'" in overlap.message
    assert where(gap) == pos_of(text, "channel:")
    assert "consumer_finance: dpd 61..90" in gap.message
    policy = load(tmp_path, text)  # warnings do not stop loading
    assert {w.code for w in policy.warnings} == {"dpd-overlap", "dpd-gap"}


def test_outcome_of_the_wrong_type(tmp_path: Path) -> None:
    text = policy_text(
        fees=FEES.replace("{collection_fee: 0}", "{collection_fee: lost_contact}"),
        commission=COMMISSION.replace('"0.1"', "total_due"),
    )
    found = diagnostics(tmp_path, text)
    bad = [d for d in found if d.code == "bad-outcome-type"]
    assert [where(d) for d in bad] == [pos_of(text, "lost_contact}"), pos_of(text, "total_due}")]
    assert "collection_fee must be an amount of money, got bool" in bad[0].message
    channel = CHANNEL.replace("{channel: none}", "{channel: 3}")
    found = diagnostics(tmp_path, policy_text(channel=channel))
    assert only(found, "bad-outcome-type").message.startswith("channel must be one of")


def test_outcome_constant_out_of_range(tmp_path: Path) -> None:
    text = policy_text(
        commission=COMMISSION.replace('"0.1"', '"1.5"'),
        fees=FEES.replace("{collection_fee: 0}", '{collection_fee: "1.005"}'),
    )
    found = diagnostics(tmp_path, text)
    assert len([d for d in found if d.code == "bad-outcome-value"]) == 2


def test_every_problem_of_every_kind_is_reported_at_once(tmp_path: Path) -> None:
    text = policy_text(
        channel=CHANNEL.replace("dpd == 0", "dpdd == 0").replace(
            "{channel: call}", "{channel: cal}"
        ),
        fees=FEES.replace("no-fee", "current"),
        commission=COMMISSION.replace('"0.1"', "rate_x"),
    ).replace("products:", "colour: blue\nproducts:")
    codes = [d.code for d in diagnostics(tmp_path, text)]
    assert codes == [
        "unknown-key",
        "unknown-fact",
        "unknown-channel",
        "duplicate-rule-id",
        "unknown-fact",
    ]


def test_structure_errors(tmp_path: Path) -> None:
    text = "policy: x\nversion: 1\nproducts: [consumer_finance, payday]\nrules:\n  channel: []\n"
    codes = {d.code for d in diagnostics(tmp_path, text)}
    assert {"unknown-value", "missing-group", "missing-fallback"} <= codes
    assert diagnostics(tmp_path, "")[0].code == "empty-file"
    assert diagnostics(tmp_path, "- 1\n- 2\n")[0].code == "bad-value"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("a: !!python/object/apply:os.system ['echo hacked']\n", "unsafe-tag"),
        ("a: &x [1]\nb: *x\n", "yaml-alias"),
        ("a: 1\na: 2\n", "duplicate-key"),
        ("a: 1" + "0" * 30 + "\n", "literal-too-large"),
        ("a: " + "[" * 70 + "]" * 70 + "\n", "too-deep"),
    ],
)
def test_hostile_yaml_is_refused(tmp_path: Path, text: str, code: str) -> None:
    assert code in {d.code for d in diagnostics(tmp_path, text)}


def test_hostile_expressions_in_a_rule_file_are_refused_at_load(tmp_path: Path) -> None:
    for condition, code in [
        ("__import__('os').system('touch pwned')", "forbidden-syntax"),
        ("dpd > 10**10**10", "forbidden-syntax"),
        ("open('x') == 1", "unknown-function"),
        ("dpd.bit_length() > 3", "forbidden-syntax"),
    ]:
        text = policy_text(channel=CHANNEL.replace("dpd == 0", f'"{condition}"'))
        assert only(diagnostics(tmp_path, text), code)
    assert not (tmp_path / "pwned").exists()


def test_bad_parameters(tmp_path: Path) -> None:
    head = """\
params:
  sms_days: {type: days, default: 7d, min: 1, max: 29}
  rate: {type: numbr, default: 1}
  dpd: {type: int, default: 3}
  limit: {type: money, default: lots}
"""
    text = policy_text().replace("rules:\n", head + "rules:\n")
    found = diagnostics(tmp_path, text)
    assert {d.code for d in found} == {"unknown-type", "param-shadows-fact", "bad-param-value"}
    found = diagnostics(
        tmp_path,
        text.replace("  rate: {type: numbr, default: 1}\n", "")
        .replace("  dpd: {type: int, default: 3}\n", "")
        .replace("lots", "'1'"),
        sms_days="40",
    )
    assert [d.code for d in found] == ["bad-param-value"]
    assert "outside its max 29" in found[0].message


def test_cli_check_prints_compiler_style_with_caret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = policy_text(channel=CHANNEL.replace("when: dpd == 0", "when: dpdd == 0"))
    path = write(tmp_path, text)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    line, col = pos_of(text, "dpdd")
    assert out[0] == f"{path}:{line}:{col}: unknown-fact: unknown fact 'dpdd' (did you mean 'dpd'?)"
    assert out[1] == "    " + text.splitlines()[line - 1]
    assert out[2] == "    " + " " * (col - 1) + "^"
    assert main(["check", str(write(tmp_path, policy_text(), "ok.yaml"))]) == 0


def test_cli_check_strict_fails_on_warnings(tmp_path: Path) -> None:
    channel = CHANNEL + "\n    - id: after\n      then: {channel: sms}"
    path = write(tmp_path, policy_text(channel=channel))
    assert main(["check", str(path)]) == 0
    assert main(["check", "--strict", str(path)]) == 1


# -- defects a new user hit (issue 13 §6), each pinned -----------------------------------------


def test_a_bad_override_is_one_error_naming_the_override(tmp_path: Path) -> None:
    head = """\
assessment: {penalty_multiplier: pm}
params:
  pm: {type: number, default: "1.5", min: 1.3, max: 1.5}
"""
    text = policy_text(head=head)
    (found,) = diagnostics(tmp_path, text, pm="1.8")
    assert found.code == "bad-param-value"
    assert found.message == (
        "the value '1.8' given for parameter 'pm' at load time (params= or --param) is outside "
        "its max 1.5"
    )
    assert where(found) == pos_of(text, "pm: {type")  # the parameter, not its default
    (found,) = diagnostics(tmp_path, text.replace('default: "1.5"', 'default: "1.9"'))
    assert found.message == "the default 1.9 of parameter 'pm' is outside its max 1.5"
    assert where(found) == pos_of(text.replace('"1.5", min', '"1.9", min'), '"1.9"')


def test_one_mistake_in_a_then_does_not_hide_the_next(tmp_path: Path) -> None:
    channel = CHANNEL.replace("{channel: none}", "{channel: SMS, recipients: [obligor]}")
    found = diagnostics(tmp_path, policy_text(channel=channel))
    assert [(d.code, d.message.split(" (")[1]) for d in found] == [
        ("unknown-channel", "did you mean 'sms'?)"),
        ("unknown-role", "did you mean 'obligors'?)"),
    ]


def test_a_value_in_the_wrong_case_gets_a_suggestion(tmp_path: Path) -> None:
    text = policy_text(channel=CHANNEL.replace("when: dpd == 0", 'when: bucket == "m2"'))
    d = only(diagnostics(tmp_path, text), "unknown-value")
    assert d.message.endswith("(did you mean 'M2'?)")


CARD_LADDER = """\
    - id: current
      when: dpd == 0
      then: {channel: none}
    - id: card-sms
      when: product == "credit_card" and dpd in 1..30
      then: {channel: sms}
      overrides: [early, m2]
    - id: early
      when: dpd in 1..30
      then: {channel: call}
    - id: m2
      when: dpd in 31..60
      then: {channel: field_visit}
    - id: fallback
      then: {channel: call}"""


def test_an_override_on_purpose_acknowledges_the_overlap(tmp_path: Path) -> None:
    # A product's own ladder ahead of the shared rules: said once, at the rule that shadows.
    both = policy_text(channel=CARD_LADDER).replace(
        "products: [consumer_finance]", "products: [consumer_finance, credit_card]"
    )
    found = diagnostics(tmp_path, both.replace("overrides: [early, m2]", "overrides: [early]"))
    assert [d.code for d in found if d.code != "dpd-gap"] == []
    unsaid = diagnostics(tmp_path, both.replace("      overrides: [early, m2]\n", ""))
    (overlap,) = [d for d in unsaid if d.code == "dpd-overlap"]
    assert overlap.hint == "if rule 'card-sms' takes precedence on purpose, say so there: " + (
        "overrides: [early]"
    )
    # An override must shadow something: 'm2' (dpd 31..60) never meets card-sms (1..30).
    stale = only(diagnostics(tmp_path, both), "bad-override")
    assert stale.severity == "error" and "says it overrides 'm2'" in stale.message
    assert where(stale) == pos_of(both, "m2]")
    wrong = both.replace("overrides: [early, m2]", "overrides: [current]")
    assert "not a later rule" in only(diagnostics(tmp_path, wrong), "bad-override").message
