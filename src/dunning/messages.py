"""Customer messages: templates in several languages, SMS segments, and rendering a decision's.

A template is text with placeholders (``{total_due}``) in one or more languages; ``{{`` and
``}}`` stand for literal braces. The front end checks a policy's templates against where they
are used (``rules/messages``); this module holds what a loaded policy needs at run time: the
templates every policy has (:data:`SHIPPED_TEMPLATES`), the catalog, the language a customer
reads, and the number of SMS segments a text takes.

Rendering is the last stage of a decision, after the guards: a message quotes the amounts the
customer is actually asked for, after any cut.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .model import Case, Channel, Decision, Message, Product

__all__ = [
    "AGENCY_FIELDS",
    "AUDIENCE_FIELDS",
    "DEFAULT_SMS_TEMPLATE",
    "NOTICE_SEGMENTS",
    "PLACEMENT_NOTICE",
    "SAMPLE_VALUES",
    "SHIPPED_TEMPLATES",
    "THIRD_PARTY_TEMPLATE",
    "MessageCatalog",
    "Template",
    "TemplateError",
    "TemplateText",
    "match_language",
    "parse_template",
    "sms_capacity",
    "sms_length",
    "sms_segments",
]

#: The message an ``sms`` rule sends unless it names another: to obligors, to third parties.
DEFAULT_SMS_TEMPLATE = "overdue_notice"
THIRD_PARTY_TEMPLATE = "restore_contact"

#: What the notice of a placement quotes besides the debt: the agency it names.
AGENCY_FIELDS = ("agency_name", "agency_phone")
#: The template of the notice that tells the borrower which agency will hold the case.
PLACEMENT_NOTICE = "placement_notice"
#: The segments a placement notice may take whatever ``sms_max_segments`` says: what it must
#: say does not fit in one.
NOTICE_SEGMENTS = 2

#: What a message may quote, by who reads it. Obligors owe the debt and may be told of it;
#: third parties (an emergency contact asked to pass a message on) are told nothing of it
#: (docs/compliance.md, guard 5), so their messages have no placeholders at all.
AUDIENCE_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "obligors": (
            "case_id",
            "loan_id",
            "dpd",
            "bucket",
            "currency",
            "overdue_principal",
            "overdue_interest",
            "penalty_interest",
            "other_fees",
            "collection_fee",
            "on_hold",
            "total_due",
        ),
        "third_parties": (),
    }
)
AUDIENCE_FIELDS = MappingProxyType(
    {**AUDIENCE_FIELDS, "placement_notice": (*AUDIENCE_FIELDS["obligors"], *AGENCY_FIELDS)}
)

#: The longest value each placeholder is counted with when the front end checks that an SMS fits
#: its segments (``bucket`` takes the policy's longest label). A case with longer values —
#: an amount of ten million or more, a longer id — gets a longer text; its decision says how
#: many segments it takes.
SAMPLE_VALUES: Mapping[str, str] = MappingProxyType(
    {
        "case_id": "X" * 24,
        "loan_id": "X" * 24,
        "dpd": "9999",
        "currency": "CNY",
        **dict.fromkeys(AUDIENCE_FIELDS["obligors"][5:], "9999999.99"),  # the amounts
        "agency_name": "X" * 16,  # a longer name gives a longer notice (its segments say so)
        "agency_phone": "9" * 12,
    }
)

#: Templates every policy has; a policy's own template of the same id replaces one whole. The
#: overdue notice names what the seed's SMS names (docs/seed.md §5 item 1) except the collection
#: fee, which the ``cn`` profile cuts to zero: a policy that charges one adds ``{collection_fee}``.
SHIPPED_TEMPLATES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "overdue_notice": {
            "zh-CN": "您的借款已逾期{dpd}天，当前应还{total_due}元，含罚息{penalty_interest}元。"
            "请尽快还款，如有疑问请联系客服。",
            "en": "Your loan is {dpd} days overdue. Amount due: {total_due} {currency}, "
            "including {penalty_interest} penalty interest. Please pay as soon as you can.",
        },
        "outsourcing_notice": {
            "zh-CN": "您的借款已逾期{dpd}天，应还{total_due}元。如仍未还款，我司将委托合作催收"
            "机构与您联系，特此告知。",
            "en": "Your loan is {dpd} days overdue and {total_due} {currency} is due. If it "
            "stays unpaid, we will place it with a collection agency, which will contact you.",
        },
        # What the borrower most needs to know of a placement: who will call, that the money
        # goes to the lender alone (the seed: customers pay the lender directly — never to the
        # agency or a person), and where to complain.
        PLACEMENT_NOTICE: {
            "zh-CN": "您的借款已逾期{dpd}天，应还{total_due}元。我司将委托{agency_name}"
            "（{agency_phone}）催收。请只向我司还款，勿向催收机构或个人转账；"
            "如有异议或投诉，请联系我司客服。",
            "en": "Your loan is {dpd} days overdue; {total_due} {currency} is due. We are "
            "placing it with {agency_name} (tel. {agency_phone}), who will contact you. Pay "
            "only to us, never to the agency or a person; to dispute or complain, call our "
            "customer service.",
        },
        "restore_contact": {
            "zh-CN": "您好，我们有重要事项需要联系您的一位亲友，"
            "方便时请转告其尽快与我们联系，谢谢。",
            "en": "Hello, we need to reach a relative or friend of yours on a personal matter. "
            "If you can, please ask them to contact us. Thank you.",
        },
    }
)

#: What a credit card's holder reads instead of a shipped template that speaks of a loan: a card
#: is not a 借款, and its late charge is the contractual 违约金 the bank books as the case's fees,
#: not 罚息 (PBOC 银发〔2016〕111号: cards carry no penalty interest). A policy's own template of
#: the same id replaces both.
CARD_TEMPLATES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "overdue_notice": {
            "zh-CN": "您的信用卡已逾期{dpd}天，当前应还{total_due}元，"
            "含违约金及费用{other_fees}元。请尽快还款，如有疑问请联系客服。",
            "en": "Your credit card payment is {dpd} days overdue. Amount due: {total_due} "
            "{currency}, including {other_fees} in late fees and charges. Please pay as soon "
            "as you can.",
        },
        "outsourcing_notice": {
            "zh-CN": "您的信用卡已逾期{dpd}天，应还{total_due}元。如仍未还款，我行将委托合作"
            "催收机构与您联系，特此告知。",
            "en": "Your credit card payment is {dpd} days overdue and {total_due} {currency} is "
            "due. If it stays unpaid, we will place it with a collection agency, which will "
            "contact you.",
        },
        PLACEMENT_NOTICE: {
            "zh-CN": "您的信用卡已逾期{dpd}天，应还{total_due}元。我行将委托{agency_name}"
            "（{agency_phone}）催收。请只向我行还款，勿向催收机构或个人转账；"
            "如有异议或投诉，请联系我行客服。",
            "en": "Your credit card payment is {dpd} days overdue; {total_due} {currency} is "
            "due. We are placing it with {agency_name} (tel. {agency_phone}), who will contact "
            "you. Pay only to us, never to the agency or a person; to dispute or complain, "
            "call our customer service.",
        },
    }
)

_PLACEHOLDER = re.compile(r"[a-z_][a-z0-9_]*")
#: GSM 03.38: the default alphabet (one septet) and its extension table (two septets each).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


class TemplateError(ValueError):
    """A template's text cannot be read; ``offset`` is where in the text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message, self.offset = message, offset


@dataclass(frozen=True, slots=True)
class TemplateText:
    """A template's text in one language, split into literal runs and placeholders.

    Attributes:
        language: Its language tag (``zh-CN``, ``en``).
        text: The text as written.
        parts: ``(literal, placeholder)`` pairs; the placeholder is ``None`` after the last.
        placeholders: Each placeholder once, in order, with its offset in ``text``.
    """

    language: str
    text: str
    parts: tuple[tuple[str, str | None], ...]
    placeholders: tuple[tuple[str, int], ...]

    def render(self, values: Mapping[str, str]) -> str:
        """Return the text with each placeholder replaced by its value."""
        return "".join(lit + (values[name] if name else "") for lit, name in self.parts)


def parse_template(language: str, text: str) -> TemplateText:
    """Split a template's text into literals and placeholders.

    Raises:
        TemplateError: On a ``{`` that opens no ``{name}``, or a lone ``}``.
    """
    parts: list[tuple[str, str | None]] = []
    seen: dict[str, int] = {}
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "{}" and text[i + 1 : i + 2] == ch:
            literal.append(ch)
            i += 2
        elif ch == "}":
            raise TemplateError("a lone '}': write '}}' for a brace", i)
        elif ch == "{":
            end = text.find("}", i)
            name = text[i + 1 : end] if end > 0 else ""
            if end < 0 or not _PLACEHOLDER.fullmatch(name):
                raise TemplateError(
                    "'{' must open a placeholder such as {total_due}; write '{{' for a brace", i
                )
            parts.append(("".join(literal), name))
            seen.setdefault(name, i + 1)
            literal = []
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    parts.append(("".join(literal), None))
    return TemplateText(language, text, tuple(parts), tuple(seen.items()))


def match_language(wanted: str, available: tuple[str, ...]) -> int | None:
    """Index of the language in ``available`` that a reader of ``wanted`` reads, or ``None``.

    The same tag first (ignoring case), then the same language whatever the region:
    ``zh-CN`` reads ``zh-CN``, else ``zh``, ``zh-TW``; ``en-US`` reads ``en``.
    """
    low = wanted.lower()
    for i, tag in enumerate(available):
        if tag.lower() == low:
            return i
    primary = low.split("-")[0]
    for i, tag in enumerate(available):
        if tag.lower().split("-")[0] == primary:
            return i
    return None


def sms_length(text: str) -> tuple[int, bool]:
    """The text's length in the units SMS counts, and whether it fits the GSM 7-bit alphabet."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        return len(text) + sum(ch in _GSM_EXTENDED for ch in text), True
    # UCS-2 as carriers send it: a character outside the BMP (an emoji) takes two units.
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text), False


def sms_capacity(segments: int, gsm: bool) -> int:
    """How many characters ``segments`` SMS segments carry (GSM 03.40, 3GPP TS 23.040).

    One segment carries 160 GSM characters or 70 UCS-2 ones (Chinese); a longer text is split
    into parts of 153 or 67, the rest of each part holding the header that joins them.
    """
    if segments == 1:
        return 160 if gsm else 70
    return segments * (153 if gsm else 67)


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` takes (an empty text still takes one).

    >>> sms_segments("您的借款已逾期3天") , sms_segments("x" * 161), sms_segments("逾" * 71)
    (1, 2, 2)
    """
    units, gsm = sms_length(text)
    segments = 1
    while units > sms_capacity(segments, gsm):
        segments += 1
    return segments


@dataclass(frozen=True, slots=True)
class Template:
    """A message template: its text in each language, the policy's language first.

    ``card`` holds what a credit card's holder reads instead (a shipped template's card
    wording, :data:`CARD_TEMPLATES`); empty, every case reads ``texts``.
    """

    id: str
    texts: tuple[TemplateText, ...]
    shipped: bool
    card: tuple[TemplateText, ...] = ()

    def text_for(self, language: str | None, *, card: bool = False) -> TemplateText:
        """The text a reader of ``language`` gets: theirs if there is one, else the first."""
        texts = self.card if card and self.card else self.texts
        if language is not None:
            index = match_language(language, tuple(t.language for t in texts))
            if index is not None:
                return texts[index]
        return texts[0]


@dataclass(frozen=True, slots=True)
class MessageCatalog:
    """A policy's message templates and how its SMS are sent.

    Attributes:
        language: The policy's language: what a customer without a known language reads.
        sms_max_segments: The most segments an SMS may take (checked at load).
        sms_signature: The sender's signature the SMS gateway adds (``【…】``): counted in an
            SMS's length, as carriers count it, but not part of the rendered text.
        templates: Every template by id, shipped ones included.
    """

    language: str
    sms_max_segments: int
    sms_signature: str
    templates: Mapping[str, Template]

    def render(self, case: Case, decision: Decision) -> Decision:
        """Return the decision with its message's text, fields and language filled in.

        The text is in the language of the first recipient who has one, if the template has
        it, else in the policy's language. An SMS also says how many segments it takes.
        """
        action = decision.action
        message = action.message
        template = None if message is None else self.templates.get(message.template)
        if message is None or template is None:
            return decision  # a hand-made decision's own message is left as given
        languages = {p.party_id: p.language for p in case.parties()}
        wanted = next(
            (languages[r] for r in action.recipients if languages.get(r)),
            case.borrower.language,
        )
        card = case.loan.product is Product.CREDIT_CARD
        text = template.text_for(wanted or self.language, card=card)
        values = _values(case, decision)
        # The agency a placement notice names is given by the placement, not read from the case.
        values.update((k, str(v)) for k, v in message.fields.items() if k in AGENCY_FIELDS)
        fields: dict[str, str | int] = {
            name: (decision.dpd if name == "dpd" else values[name]) for name, _ in text.placeholders
        }
        rendered = text.render(values)
        segments = None
        if action.channel is Channel.SMS:
            segments = sms_segments(self.sms_signature + rendered)
        filled = Message.model_construct(
            template=message.template,
            fields=fields,
            language=text.language,
            text=rendered,
            segments=segments,
        )
        new_action = action.model_copy(update={"message": filled})
        return decision.model_copy(update={"action": new_action})


def _values(case: Case, decision: Decision) -> dict[str, str]:
    terms = decision.fee_terms
    return {
        "case_id": decision.case_id,
        "loan_id": case.loan.loan_id,
        "dpd": str(decision.dpd),
        "bucket": decision.bucket,
        "currency": case.loan.currency,
        "overdue_principal": str(terms.overdue_principal),
        "overdue_interest": str(terms.overdue_interest),
        "penalty_interest": str(terms.penalty_interest),
        "other_fees": str(terms.other_fees),
        "collection_fee": str(terms.collection_fee),
        "on_hold": str(terms.on_hold),
        "total_due": str(terms.total_due),
    }
