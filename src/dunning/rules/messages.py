"""Stage 4d of the rule front end: the ``messages:`` section, checked against where each is sent.

A policy's templates join the shipped ones (a template of the same id replaces the shipped one
whole). Then every use of a template — a ``channel`` rule's ``message``, the outsourcing notice,
the restore-contact message of the third-party guard, the SMS the unanswered-dials guard sends
instead of a call — is checked: the template exists, has text in the policy's language, quotes
only what its readers may be told, and, sent by SMS, fits the policy's number of segments with
the longest values its placeholders take.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..errors import did_you_mean
from ..messages import (
    AGENCY_FIELDS,
    AUDIENCE_FIELDS,
    CARD_TEMPLATES,
    DEFAULT_SMS_TEMPLATE,
    NOTICE_SEGMENTS,
    PLACEMENT_NOTICE,
    SAMPLE_VALUES,
    SHIPPED_TEMPLATES,
    MessageCatalog,
    Template,
    TemplateError,
    TemplateText,
    match_language,
    parse_template,
    sms_capacity,
    sms_length,
    sms_segments,
)
from ..model import LANGUAGE_TAG, SPECIAL_PROCEDURES, Channel
from .ir import THIRD_PARTY_WORDS, ChannelOutcome, GuardConfig, Rule
from .reader import Reader
from .source import PMap, PNode, Pos, PScalar, Source

__all__ = ["MESSAGE_KEYS", "check_messages", "messages_json_schema"]

MESSAGE_KEYS = ("language", "sms_max_segments", "sms_signature", "templates")
DEFAULT_LANGUAGE = "zh-CN"
DEFAULT_SMS_SEGMENTS = 1
MAX_SMS_SEGMENTS = 10
MAX_TEMPLATE_CHARS = 4000
_TEMPLATE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Channels whose action sends nothing to the customer: an agency or a court takes over, or a
#: special procedure waits for its approval.
_SILENT = (Channel.NONE, Channel.OUTSOURCE, Channel.LEGAL_PRESERVATION, *SPECIAL_PROCEDURES)


@dataclass(frozen=True, slots=True)
class _Use:
    """One place that sends a template: who, to whom, by SMS or not, and where it is named."""

    template: str
    who: str
    audience: str  # a key of AUDIENCE_FIELDS
    sms: bool
    pos: Pos
    rule_id: str | None = None


@dataclass
class _Written:
    """A template of the policy file, with where each of its texts stands."""

    key: PScalar
    texts: list[tuple[TemplateText, PScalar]]


def check_messages(
    node: PNode | None,
    source: Source,
    channel_rules: tuple[Rule, ...],
    guards: GuardConfig | None,
    guards_node: PNode | None,
    bucket_labels: tuple[str, ...],
    *,
    cards: bool,
) -> MessageCatalog:
    """Read the ``messages:`` section and check every use of a template; return the catalog.

    Args:
        node: The ``messages:`` section (``None``: the defaults).
        source: Where diagnostics go.
        channel_rules: The checked ``channel`` rules, whose ``message`` names a template.
        guards: The guards' settings (``None`` if they had errors).
        guards_node: The ``guards:`` section, to point at a guard's ``template`` setting.
        bucket_labels: The policy's bucket labels (the longest is ``{bucket}``'s length).
        cards: Whether the policy decides credit cards, whose holders read the shipped
            templates' card wording (checked only then).
    """
    r = Reader(source)
    section = r.mapping(node, "messages")
    language, segments, signature = DEFAULT_LANGUAGE, DEFAULT_SMS_SEGMENTS, ""
    language_pos = Pos(1, 1)
    written: dict[str, _Written] = {}
    settings: dict[str, Pos] = {}  # where the section and its settings are written
    if section is not None:
        settings = {key: value.pos for key, (_, value) in section.items.items()}
        settings["messages"] = section.pos
        r.keys(section, MESSAGE_KEYS, "in messages")
        language, language_pos = _language(r, section, language)
        segments = _segments(r, section)
        signature = r.text(section.get("sms_signature"), "sms_signature", numbers=False) or ""
        written = _templates(r, section.get("templates"), language)
    catalog = _catalog(written, language, segments, signature, cards=cards)
    uses = _uses(channel_rules, guards, guards_node, source)
    samples = dict(SAMPLE_VALUES, bucket=max(bucket_labels, key=len, default="M0"))
    told_third_parties: set[str] = set()  # each check once per template
    sent_by_sms: set[str] = set()
    for use in uses:
        template = catalog.templates.get(use.template)
        if template is None:
            source.report(
                use.pos,
                "unknown-message",
                f"{use.who} sends message {use.template!r}, which is not defined"
                + did_you_mean(use.template, catalog.templates),
                hint="define it under messages.templates, or name one of: "
                + ", ".join(sorted(catalog.templates)),
                rule_id=use.rule_id,
            )
            continue
        third = use.audience == "third_parties" and use.template not in told_third_parties
        sms = use.sms and use.template not in sent_by_sms
        told_third_parties |= {use.template} if third else set()
        sent_by_sms |= {use.template} if sms else set()
        if third or sms:
            entry = written.get(use.template)
            _check_use(
                use,
                template,
                entry,
                catalog,
                samples,
                source,
                third=third,
                sms=sms,
                settings=settings,
            )
    used = {use.template for use in uses}
    for template_id, entry in written.items():
        if template_id not in used and template_id not in SHIPPED_TEMPLATES:
            source.report(
                entry.key.pos,
                "unused-message",
                f"message template {template_id!r} is not sent by any rule or guard",
                hint="name it in a rule's message, or remove it",
                severity="warning",
            )
    for template_id in sorted(used & set(catalog.templates)):
        template = catalog.templates[template_id]
        first = template.texts[0].language
        if match_language(language, (first,)) is None:
            where = written[template_id].key.pos if template_id in written else language_pos
            source.report(
                where,
                "missing-language",
                f"message template {template_id!r} has no {language} text, the policy's language "
                f"(it has {', '.join(t.language for t in template.texts)})",
                hint=f"add a {language} text under messages.templates.{template_id}",
            )
    return catalog


def _language(r: Reader, section: PMap, default: str) -> tuple[str, Pos]:
    node = section.get("language")
    tag = r.text(node, "language", numbers=False)
    if node is None or tag is None:
        return default, section.pos
    if not LANGUAGE_TAG.match(tag):
        r.src.report(
            node.pos, "bad-value", f"language {tag!r} is not a language tag such as zh-CN or en"
        )
        return default, node.pos
    return tag, node.pos


def _segments(r: Reader, section: PMap) -> int:
    node = section.get("sms_max_segments")
    count = r.integer(node, "sms_max_segments")
    if node is None or count is None:
        return DEFAULT_SMS_SEGMENTS
    if not 1 <= count <= MAX_SMS_SEGMENTS:
        r.src.report(
            node.pos, "bad-value", f"sms_max_segments must be between 1 and {MAX_SMS_SEGMENTS}"
        )
        return DEFAULT_SMS_SEGMENTS
    return count


def _templates(r: Reader, node: PNode | None, language: str) -> dict[str, _Written]:
    """Read ``messages.templates``: each id's text, or its texts by language."""
    found: dict[str, _Written] = {}
    templates = r.mapping(node, "messages.templates")
    for template_id, (key, value) in (templates.items if templates else {}).items():
        if not _TEMPLATE_ID.match(template_id):
            r.src.report(
                key.pos,
                "bad-name",
                f"message template id {template_id!r} must be lower_snake_case, "
                "such as overdue_notice",
            )
            continue
        pairs: list[tuple[PScalar, PNode]]
        if isinstance(value, PScalar):
            pairs = [(PScalar(language, language, value.pos, None, False), value)]
        else:
            by_language = r.mapping(value, f"message template {template_id!r}")
            if by_language is None:
                continue
            pairs = list(by_language.items.values())
            if not pairs:
                r.src.report(value.pos, "bad-template", f"{template_id!r} has no text")
        entry = _Written(key, [])
        tags: set[str] = set()
        for tag_node, text_node in pairs:
            read = _text(r, template_id, tag_node, text_node, tags)
            if read is not None:
                entry.texts.append(read)
                _known_placeholders(r.src, template_id, *read)
        if entry.texts:
            found[template_id] = entry
    return found


def _text(
    r: Reader, template_id: str, tag_node: PScalar, node: PNode, tags: set[str]
) -> tuple[TemplateText, PScalar] | None:
    """Read one text of a template; ``tags`` collects the languages already given."""
    tag = str(tag_node.value)
    if not LANGUAGE_TAG.match(tag):
        r.src.report(
            tag_node.pos,
            "bad-template",
            f"{tag!r} is not a language tag such as zh-CN or en",
        )
        return None
    if tag.lower() in tags:
        r.src.report(tag_node.pos, "duplicate-key", f"{template_id!r} has two {tag} texts")
        return None
    tags.add(tag.lower())
    text = r.text(node, f"the {tag} text of {template_id!r}", numbers=False)
    if text is None or not isinstance(node, PScalar):
        return None
    if not text.strip():
        r.src.report(node.pos, "bad-template", f"the {tag} text of {template_id!r} is empty")
        return None
    if len(text) > MAX_TEMPLATE_CHARS:
        r.src.report(
            node.pos,
            "bad-template",
            f"the {tag} text of {template_id!r} is longer than {MAX_TEMPLATE_CHARS} characters",
        )
        return None
    try:
        return parse_template(tag, text), node
    except TemplateError as exc:
        r.src.report(node.pos_at(exc.offset), "bad-template", exc.message)
        return None


def _catalog(
    written: Mapping[str, _Written], language: str, segments: int, signature: str, *, cards: bool
) -> MessageCatalog:
    """The shipped templates and the policy's, each with its policy-language text first."""
    templates: dict[str, Template] = {}
    for template_id, by_language in SHIPPED_TEMPLATES.items():
        texts = [parse_template(tag, text) for tag, text in by_language.items()]
        wording = CARD_TEMPLATES.get(template_id, {}) if cards else {}
        card = [parse_template(tag, text) for tag, text in wording.items()]
        templates[template_id] = Template(
            template_id, _first(texts, language), shipped=True, card=_first(card, language)
        )
    for template_id, entry in written.items():
        texts = [text for text, _ in entry.texts]
        templates[template_id] = Template(template_id, _first(texts, language), shipped=False)
    return MessageCatalog(language, segments, signature, MappingProxyType(templates))


def _first(texts: list[TemplateText], language: str) -> tuple[TemplateText, ...]:
    if not texts:
        return ()
    index = match_language(language, tuple(t.language for t in texts))
    if index is None or index == 0:
        return tuple(texts)
    return (texts[index], *texts[:index], *texts[index + 1 :])


def _uses(
    channel_rules: tuple[Rule, ...],
    guards: GuardConfig | None,
    guards_node: PNode | None,
    source: Source,
) -> list[_Use]:
    """Every place that sends a template, in file order; reports messages on silent channels."""
    uses = []
    calls_become_sms = (
        guards is not None
        and guards.unanswered_dials is not None
        and guards.unanswered_dials.then == "sms"
    )
    for rule in channel_rules:
        outcome = rule.outcome
        assert isinstance(outcome, ChannelOutcome)
        named = rule.sources.get("message")
        if outcome.message is None:
            continue
        pos = named.pos if named is not None else rule.pos
        if outcome.channel in _SILENT:
            source.report(
                pos,
                "message-not-sent",
                f"a {outcome.channel} action sends no message to the customer",
                hint="remove message, or set it to null",
                rule_id=rule.id,
            )
            continue
        third = bool(outcome.recipients) and set(outcome.recipients) <= THIRD_PARTY_WORDS
        sms = outcome.channel is Channel.SMS or (
            outcome.channel is Channel.CALL and calls_become_sms
        )
        audience = "third_parties" if third else "obligors"
        uses.append(_Use(outcome.message, f"rule {rule.id!r}", audience, sms, pos, rule.id))
    if any(
        isinstance(r.outcome, ChannelOutcome) and r.outcome.channel is Channel.OUTSOURCE
        for r in channel_rules
    ):  # the policy may place cases: its notice names the agency
        who = "the placement notice"
        uses.append(_Use(PLACEMENT_NOTICE, who, "placement_notice", True, Pos(1, 1)))
    if guards is None:
        return uses
    if calls_become_sms:
        where = _setting_pos(guards_node, "unanswered_dials", "then")
        who = "the unanswered_dials guard (then: sms)"
        uses.append(_Use(DEFAULT_SMS_TEMPLATE, who, "obligors", True, where))
    if guards.outsourcing_notice is not None:
        where = _setting_pos(guards_node, "outsourcing_notice", "template")
        who = "the outsourcing_notice guard"
        uses.append(_Use(guards.outsourcing_notice.template, who, "obligors", True, where))
    if guards.third_parties is not None:
        where = _setting_pos(guards_node, "third_parties", "template")
        who = "the third_parties guard"
        uses.append(_Use(guards.third_parties.template, who, "third_parties", True, where))
    return uses


def _setting_pos(guards_node: PNode | None, guard: str, setting: str) -> Pos:
    """Where a guard's setting is written; else the guard, else the ``guards:`` section."""
    if not isinstance(guards_node, PMap):
        return Pos(1, 1)
    entry = guards_node.get(guard)
    if isinstance(entry, PMap):
        value = entry.get(setting)
        return value.pos if value is not None else entry.pos
    return entry.pos if entry is not None else guards_node.pos


def _known_placeholders(
    source: Source, template_id: str, text: TemplateText, node: PScalar
) -> None:
    """Report each placeholder of a written text that no message can fill."""
    known = AUDIENCE_FIELDS["placement_notice"]
    for name, offset in text.placeholders:
        if name not in known:
            source.report(
                node.pos_at(offset),
                "unknown-placeholder",
                f"{{{name}}} in {template_id!r} is not something a message can quote"
                + did_you_mean(name, known),
                hint=f"placeholders: {', '.join(known)}",
            )


def _check_use(
    use: _Use,
    template: Template,
    written: _Written | None,
    catalog: MessageCatalog,
    samples: Mapping[str, str],
    source: Source,
    *,
    third: bool,
    sms: bool,
    settings: Mapping[str, Pos],
) -> None:
    """Check each text of a template for what third parties may be told and for SMS length."""
    allowed = AUDIENCE_FIELDS[use.audience]
    nodes = {id(text): node for text, node in written.texts} if written is not None else {}
    told = f"{use.who} sends it to third parties, who may not be told of the debt"
    shipped_quotes: list[str] = []
    for text in (*template.texts, *template.card):
        node = nodes.get(id(text))
        unfillable = [
            (name, offset)
            for name, offset in text.placeholders
            if name in AUDIENCE_FIELDS["placement_notice"] and name not in allowed
        ]  # unknown ones were reported on reading
        for name, offset in unfillable:
            if name in AGENCY_FIELDS and not third:
                source.report(
                    node.pos_at(offset) if node is not None else use.pos,
                    "unfillable-placeholder",
                    f"{{{name}}} cannot be filled in {template.id!r}: {use.who} names no "
                    f"agency; only the {PLACEMENT_NOTICE} does",
                    rule_id=use.rule_id,
                )
        for name, offset in unfillable if third else ():
            if node is None:
                shipped_quotes += [n for n in (name,) if n not in shipped_quotes]
                continue
            source.report(
                node.pos_at(offset),
                "unfillable-placeholder",
                f"{{{name}}} cannot be filled in {template.id!r}: {told}",
                hint="third parties get a message that quotes nothing",
                rule_id=use.rule_id,
            )
        if sms and all(name in allowed for name, _ in text.placeholders):
            _check_length(use, template, text, node, catalog, samples, source, settings)
    if shipped_quotes:
        source.report(
            use.pos,
            "unfillable-placeholder",
            f"{template.id!r} quotes the debt ({', '.join('{' + n + '}' for n in shipped_quotes)})"
            f": {told}",
            hint="send restore_contact, or a template of your own that quotes nothing",
            rule_id=use.rule_id,
        )


def _check_length(
    use: _Use,
    template: Template,
    text: TemplateText,
    node: PScalar | None,
    catalog: MessageCatalog,
    samples: Mapping[str, str],
    source: Source,
    settings: Mapping[str, Pos],
) -> None:
    longest = catalog.sms_signature + text.render(samples)
    count = sms_segments(longest)
    limit = catalog.sms_max_segments
    if template.id == PLACEMENT_NOTICE:
        # The notice of a placement must say who will call, that money goes to the lender
        # alone and where to complain: it may take two segments whatever the policy's limit.
        limit = max(limit, NOTICE_SEGMENTS)
    if count <= limit:
        return
    units, gsm = sms_length(longest)
    fits = sms_capacity(limit, gsm)
    signed = f", the signature {catalog.sms_signature!r} included" if catalog.sms_signature else ""
    hint = "shorten the text, or raise messages.sms_max_segments"
    where = node.pos if node is not None else None
    if where is None:  # a shipped text: point at the setting that makes it too long
        unsigned = sms_segments(text.render(samples)) <= limit
        setting = "sms_signature" if unsigned and "sms_signature" in settings else None
        setting = setting or ("sms_max_segments" if "sms_max_segments" in settings else None)
        where = settings.get(setting or "messages", use.pos)
        hint = (
            f"define a shorter {template.id} under messages.templates, or raise "
            "messages.sms_max_segments"
        )
    source.report(
        where,
        "sms-too-long",
        f"the {text.language}{' card' if text in template.card else ''} text of "
        f"{template.id!r}, sent by SMS by {use.who}, takes {count} "
        f"segments with the longest values: {units} characters{signed}, and "
        f"{limit} segment(s) carry {fits}",
        hint=hint + (" (each placeholder counted at its longest)" if text.placeholders else ""),
        rule_id=use.rule_id,
    )


def messages_json_schema() -> dict[str, Any]:
    """The JSON Schema of the ``messages:`` section (part of ``dunning schema policy``)."""
    tag = LANGUAGE_TAG.pattern
    text = {"type": "string", "minLength": 1, "maxLength": MAX_TEMPLATE_CHARS}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "language": {"type": "string", "pattern": tag, "default": DEFAULT_LANGUAGE},
            "sms_max_segments": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_SMS_SEGMENTS,
                "default": DEFAULT_SMS_SEGMENTS,
            },
            "sms_signature": {"type": "string"},
            "templates": {
                "type": "object",
                "propertyNames": {"pattern": _TEMPLATE_ID.pattern},
                "additionalProperties": {
                    "oneOf": [
                        text,
                        {
                            "type": "object",
                            "propertyNames": {"pattern": tag},
                            "additionalProperties": text,
                            "minProperties": 1,
                        },
                    ]
                },
            },
        },
    }
