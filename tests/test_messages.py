"""Message templates: reading and checking them in policy files, SMS length, rendering."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from conftest import NOTICE, case_dict
from dunning import CaseError, Channel, Policy, Portfolio, load_policy
from dunning.messages import (
    SHIPPED_TEMPLATES,
    TemplateError,
    match_language,
    parse_template,
    sms_segments,
)
from policy_helpers import CHANNEL, diagnostics, load, policy_text

LENDER = Path(__file__).parent.parent / "rules" / "lender.yaml"
AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SMS_RULES = CHANNEL.replace("then: {channel: call}", "then: {channel: sms, recipients: [borrower]}")


def with_messages(section: str, channel: str = SMS_RULES) -> str:
    return policy_text(channel=channel) + section


def codes(found: list[Any]) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.col) for d in found]


# --- SMS segments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("x" * 160, 1),
        ("x" * 161, 2),  # a long GSM text travels in parts of 153
        ("x" * 306, 2),
        ("x" * 307, 3),
        ("€" * 80, 1),  # an extension character takes two septets: 160
        ("€" * 81, 2),
        ("逾" * 70, 1),  # UCS-2: 70 in one segment
        ("逾" * 71, 2),  # then parts of 67
        ("逾" * 134, 2),
        ("逾" * 135, 3),
        ("é" * 160, 1),  # é is in the GSM alphabet
        ("ê" * 70, 1),  # ê is not: the whole text is UCS-2
        ("ê" * 71, 2),
        ("😀" * 35, 1),  # outside the BMP: two UCS-2 units each
        ("😀" * 36, 2),
    ],
)
def test_sms_segments_count_as_carriers_count(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


# --- template text --------------------------------------------------------------------------------


def test_a_template_splits_into_literals_and_placeholders() -> None:
    text = parse_template("zh-CN", "逾期{dpd}天，应还{total_due}元，{{不是占位符}}，再说{dpd}")
    assert text.placeholders == (("dpd", 3), ("total_due", 12))  # where each name starts
    assert text.render({"dpd": "5", "total_due": "10.00"}) == (
        "逾期5天，应还10.00元，{不是占位符}，再说5"
    )


@pytest.mark.parametrize(
    ("text", "offset"),
    [("due {total_due", 4), ("due }", 4), ("{Total}", 0), ("{}", 0), ("a {b c}", 2)],
)
def test_a_template_that_cannot_be_read_says_where(text: str, offset: int) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template("en", text)
    assert caught.value.offset == offset


@given(st.text(alphabet=st.sampled_from("{}ab_逾 \n"), max_size=30) | st.text(max_size=30))
def test_any_text_parses_or_says_where_it_fails(text: str) -> None:
    try:
        parsed = parse_template("en", text)
    except TemplateError as exc:
        failure: TemplateError | None = exc
    else:
        failure = None
    if failure is not None:
        assert 0 <= failure.offset < len(text) and text[failure.offset] in "{}"
        return
    # Rendering each placeholder as itself gives the text back, braces unescaped.
    names = {name: "{" + name + "}" for name, _ in parsed.placeholders}
    assert parsed.render(names) == re.sub(r"\{\{|\}\}", lambda m: m.group()[0], text) or (
        "{{" in text or "}}" in text
    )


@pytest.mark.parametrize(
    ("wanted", "available", "index"),
    [
        ("zh-CN", ("en", "zh-CN"), 1),
        ("zh-cn", ("en", "zh-CN"), 1),
        ("zh-TW", ("en", "zh-CN"), 1),  # the same language, another region
        ("en-US", ("zh-CN", "en"), 1),
        ("fr", ("zh-CN", "en"), None),
    ],
)
def test_a_reader_gets_their_language_or_its_nearest(
    wanted: str, available: tuple[str, ...], index: int | None
) -> None:
    assert match_language(wanted, available) == index


# --- the policy file: every problem positioned, all at once -------------------------------------


def test_the_shipped_templates_fit_one_sms_and_quote_nothing_unknown(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, with_messages("")) == []
    assert set(SHIPPED_TEMPLATES) == {
        "overdue_notice",
        "outsourcing_notice",
        "placement_notice",
        "restore_contact",
    }


def test_template_problems_are_positioned_and_reported_together(tmp_path: Path) -> None:
    section = """\
messages:
  templates:
    overdue_notice: 您已逾期{dpd}天，应还{totl_due}元
    restore_contact:
      zh-CN: 请转告借款人尽快还款{total_due}元
    Bad-Name: x
    broken: "a {brace"
    spare: never sent
"""
    found = diagnostics(tmp_path, with_messages(section))
    text = with_messages(section)
    line = {
        code: text.splitlines().index(row) + 1
        for code, row in (
            ("unknown", "    overdue_notice: 您已逾期{dpd}天，应还{totl_due}元"),
            ("third", "      zh-CN: 请转告借款人尽快还款{total_due}元"),
            ("name", "    Bad-Name: x"),
            ("broken", '    broken: "a {brace"'),
            ("spare", "    spare: never sent"),
        )
    }
    assert codes(found) == [
        ("unknown-placeholder", line["unknown"], 35),
        ("bad-name", line["name"], 5),
        ("bad-template", line["broken"], 16),
        ("unfillable-placeholder", line["third"], 25),
        ("unused-message", line["spare"], 5),
    ]
    by_code = {d.code: d for d in found}
    assert "did you mean 'total_due'" in by_code["unknown-placeholder"].message
    assert "third_parties guard" in by_code["unfillable-placeholder"].message
    assert by_code["unused-message"].severity == "warning"


def test_an_unknown_template_gets_a_suggestion_at_the_name(tmp_path: Path) -> None:
    channel = SMS_RULES.replace("recipients: [borrower]}", "message: outsourcing-notice}")
    text = policy_text(channel=channel).replace(
        "guards:\n", "guards:\n  third_parties: {template: restore-contact}\n"
    )
    found = diagnostics(tmp_path, text)
    assert [d.code for d in found] == ["unknown-message", "unknown-message"]
    assert "did you mean 'outsourcing_notice'?" in found[0].message
    assert "did you mean 'restore_contact'?" in found[1].message
    lines = text.splitlines()
    assert lines[found[0].line - 1][found[0].col - 1 :].startswith("outsourcing-notice")
    assert lines[found[1].line - 1][found[1].col - 1 :].startswith("restore-contact")


def test_an_sms_longer_than_its_segments_is_an_error(tmp_path: Path) -> None:
    long = "逾" * 60 + "{total_due}"  # 60 + 10 characters: one segment, just
    assert (
        diagnostics(
            tmp_path, with_messages(f"messages:\n  templates:\n    overdue_notice: {long}\n")
        )
        == []
    )
    longer = "逾" * 61 + "{total_due}"
    (too_long,) = diagnostics(
        tmp_path, with_messages(f"messages:\n  templates:\n    overdue_notice: {longer}\n")
    )
    assert too_long.code == "sms-too-long" and too_long.col == 21
    assert "takes 2 segments with the longest values: 71 characters" in too_long.message
    assert "1 segment(s) carry 70" in too_long.message
    two = "messages:\n  sms_max_segments: 2\n  templates:\n    overdue_notice: " + longer + "\n"
    assert diagnostics(tmp_path, with_messages(two)) == []


def test_the_signature_counts_in_an_sms_length(tmp_path: Path) -> None:
    text = "逾" * 55 + "{total_due}"  # 65 characters
    section = (
        f"messages:\n  sms_signature: 【示例消费金融】\n  templates:\n    overdue_notice: {text}\n"
    )
    found = diagnostics(tmp_path, with_messages(section))
    assert [(d.code, d.line) for d in found] == [("sms-too-long", 23)] + [("sms-too-long", 21)] * 2
    assert "73 characters, the signature '【示例消费金融】' included" in found[0].message
    # A Chinese signature makes a shipped English text UCS-2: 70 a segment, not 160. The
    # error points at the signature, which is what made it too long.
    assert "the en text of 'outsourcing_notice'" in found[1].message
    assert "the en text of 'restore_contact'" in found[2].message
    assert found[1].col == 18  # the signature's value


def test_a_call_script_may_be_long(tmp_path: Path) -> None:
    channel = CHANNEL.replace("then: {channel: call}", "then: {channel: call, message: script}")
    section = "messages:\n  templates:\n    script: " + "您好" * 200 + "\n"
    assert diagnostics(tmp_path, with_messages(section, channel)) == []


def test_channels_that_send_nothing_take_no_message(tmp_path: Path) -> None:
    channel = CHANNEL.replace("{channel: none}", "{channel: none, message: overdue_notice}")
    (found,) = diagnostics(tmp_path, with_messages("", channel))
    assert found.code == "message-not-sent" and "a none action sends no message" in found.message


def test_a_sent_template_needs_the_policys_language(tmp_path: Path) -> None:
    section = (
        "messages:\n  language: en\n  templates:\n    overdue_notice:\n      zh-CN: 逾期{dpd}天\n"
    )
    (found,) = diagnostics(tmp_path, with_messages(section))
    assert found.code == "missing-language" and "no en text" in found.message
    bad = "messages:\n  language: english\n"
    assert [d.code for d in diagnostics(tmp_path, with_messages(bad))] == ["bad-value"]


def test_an_sms_to_third_parties_only_sends_the_restore_contact_message(tmp_path: Path) -> None:
    channel = SMS_RULES.replace("[borrower]", "[emergency_contact]")
    policy = load(tmp_path, with_messages("", channel))
    assert policy.ir.groups["channel"][1].outcome.message == "restore_contact"  # type: ignore[union-attr]
    named = channel.replace("[emergency_contact]}", "[emergency_contact], message: overdue_notice}")
    (found,) = diagnostics(tmp_path, with_messages("", named))
    assert found.code == "unfillable-placeholder" and "rule 'late'" in found.message


# --- rendering ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lender() -> Policy:
    return load_policy(LENDER)


def snapshot(dpd: int) -> dict[str, Any]:
    """A case whose delinquency comes from a host snapshot: ``dpd`` days, 3,240.00 overdue."""
    delinquency = {"dpd": dpd, "overdue_principal": "3000.00", "overdue_interest": "240.00"}
    return case_dict(delinquency=delinquency, contacts=[NOTICE], promises=[])


def sms_case(**changes: Any) -> dict[str, Any]:
    data = snapshot(5)
    data["borrower"].update(changes)
    return data


def test_a_decision_carries_the_text_the_customer_reads(lender: Policy) -> None:
    d = lender.decide(sms_case(), as_of=AS_OF, portfolio=Portfolio(0))
    message = d.action.message
    assert d.action.channel is Channel.SMS and message is not None
    assert message.language == "zh-CN" and message.segments == 1
    assert message.text == (
        f"您的借款已逾期5天，当前应还{d.fee_terms.total_due}元，含罚息"
        f"{d.fee_terms.penalty_interest}元。请尽快还款，如有疑问请联系客服。"
    )
    out = json.loads(d.model_dump_json())["action"]["message"]
    assert out["text"] == message.text and out["template"] == "overdue_notice"


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "en"), ("en-GB", "en"), ("fr", "zh-CN"), ("zh-TW", "zh-CN")]
)
def test_a_customer_reads_their_language_if_the_template_has_it(
    lender: Policy, language: str, expected: str
) -> None:
    d = lender.decide(sms_case(language=language), as_of=AS_OF, portfolio=Portfolio(0))
    assert d.action.message is not None and d.action.message.language == expected
    if expected == "en":
        assert d.action.message.text is not None
        assert d.action.message.text.startswith("Your loan is 5 days overdue.")


def test_a_bad_language_is_a_case_error_naming_the_value(lender: Policy) -> None:
    with pytest.raises(CaseError) as caught:
        lender.decide(sms_case(language="Chinese!"), as_of=AS_OF, portfolio=Portfolio(0))
    (problem,) = caught.value.problems
    assert problem.path == "borrower.language" and problem.code == "invalid_language"
    assert "'Chinese!' is not a language tag" in problem.message


def test_a_policy_template_replaces_the_shipped_one(tmp_path: Path) -> None:
    section = "messages:\n  templates:\n    overdue_notice: 逾期{dpd}天，请还{total_due}元\n"
    policy = load(tmp_path, with_messages(section))
    d = policy.decide(snapshot(5), as_of=AS_OF)
    assert d.action.message is not None
    assert d.action.message.text == f"逾期5天，请还{d.fee_terms.total_due}元"
    assert d.action.message.fields == {"dpd": 5, "total_due": str(d.fee_terms.total_due)}


def test_a_hand_made_message_of_another_template_is_left_as_given(lender: Policy) -> None:
    decided = lender.decide(sms_case(), as_of=AS_OF, portfolio=Portfolio(0))
    assert decided.action.message is not None
    own = decided.action.message.model_copy(update={"template": "my_own", "text": "hi"})
    mine = decided.model_copy(update={"action": decided.action.model_copy(update={"message": own})})
    assert lender.apply_guards(sms_case(), mine).action.message == own
    assert lender.apply_guards(sms_case(), decided) == decided  # rendering is idempotent


# --- fuzz: any messages section is read without a traceback ------------------------------------

_scalars = st.one_of(
    st.text(alphabet=st.sampled_from("{}ab_逾 1-"), max_size=12),
    st.sampled_from(["zh-CN", "en", "overdue_notice", "{total_due}", "{dpd}", "", "x" * 90]),
    st.integers(-3, 12),
    st.booleans(),
    st.none(),
)
_yamlish = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "language",
                    "sms_max_segments",
                    "sms_signature",
                    "templates",
                    "overdue_notice",
                    "restore_contact",
                    "zh-CN",
                    "en",
                    "x",
                    "Bad-Id",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


_texts = st.lists(
    st.sampled_from(
        ["逾期", "Due ", "{dpd}", "{total_due}", "{totl}", "{{", "}}", "{", "x" * 40, "逾" * 30]
    ),
    max_size=6,
).map("".join)
_sections = st.fixed_dictionaries(
    {
        "templates": st.dictionaries(
            st.sampled_from(["overdue_notice", "restore_contact", "outsourcing_notice", "mine"]),
            _texts | st.dictionaries(st.sampled_from(["zh-CN", "en", "zh-cn", "x_y"]), _texts),
            max_size=3,
        )
    },
    optional={
        "language": st.sampled_from(["zh-CN", "en", "fr", "??"]),
        "sms_max_segments": st.integers(0, 3),
        "sms_signature": st.sampled_from(["", "【示例】", "[Bank]"]),
    },
)


@given(_yamlish | _sections)
def test_any_messages_section_gives_diagnostics_not_a_traceback(section: Any) -> None:
    text = policy_text(channel=SMS_RULES) + yaml.safe_dump(
        {"messages": section}, allow_unicode=True
    )
    from dunning.rules.frontend import compile_policy

    ir, source = compile_policy("fuzz.yaml", text)
    lines = text.splitlines()
    for d in source.diagnostics:
        assert 1 <= d.line <= len(lines) + 1 and d.col >= 1, d
    if ir is not None:
        assert "overdue_notice" in ir.messages.templates
