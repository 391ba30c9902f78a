"""The one exception tree of dunning.

::

    DunningError        anything this library raises on purpose
    ├── ConfigError     a bad option handed to the library (bucket bands, allocation order)
    │   └── ArgumentError   an argument of the wrong type (also a TypeError)
    ├── CaseError       a case that cannot be used; lists every problem with its field path
    ├── PolicyError     rule files that cannot be loaded; lists every diagnostic, compiler style
    └── RuleEngineError the rete engine (durable-rules) failed or cannot represent a value

Catch ``DunningError`` to handle everything the library reports; the subclasses carry the details
a host needs to show the problem to the person who can fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``name``, if one is close enough to be a likely slip."""
    options = list(choices)
    same = [c for c in options if c.lower() == name.lower()]  # "m2" for "M2", "SMS" for "sms"
    if same:
        return same[0]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return close[0]
    # A short form of one longer name ("max" for "max_calls") is also a likely slip.
    longer = [c for c in options if len(name) >= 3 and c.startswith(name)]
    return longer[0] if len(longer) == 1 else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or an empty string.

    Every "did you mean" of the library's messages comes from here, so they all read alike.
    """
    close = suggest(name, choices)
    return f" (did you mean {close!r}?)" if close else ""


class DunningError(Exception):
    """Base of every error dunning raises on purpose."""


class ConfigError(DunningError, ValueError):
    """An option given to the library is invalid (for example overlapping bucket bands)."""


class ArgumentError(ConfigError, TypeError):
    """An argument of the wrong type was handed to the library: the message says what to pass.

    It is a ``ConfigError`` (and a ``TypeError``): ``decide(as_of="2026-11-28")``,
    ``decide_many(a_dict)``, ``Money(1.5)``, ``load_policy(None)``.
    """


class RuleEngineError(DunningError):
    """The rete engine: durable-rules failed, or a condition or value is beyond its integers."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a case.

    Attributes:
        path: Where in the case, as a field path such as ``payments[2].amount``; empty for
            the case as a whole.
        code: A stable, machine-readable code such as ``missing`` or ``currency_mismatch``.
        message: What is wrong, in words a person can act on.
    """

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<case>'}: {self.message} [{self.code}]"


class CaseError(DunningError, ValueError):
    """A case failed validation or cannot be assessed.

    Attributes:
        case_id: The case's id when it could be read, else ``None``.
        problems: Every problem found, not only the first.
        line: The 1-based line of the input the case came from, when read from JSON Lines.
    """

    def __init__(
        self, case_id: str | None, problems: list[Problem], *, line: int | None = None
    ) -> None:
        self.case_id = case_id
        self.problems = tuple(problems)
        self.line = line
        super().__init__(case_id, self.problems)

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_case_error, (self.case_id, list(self.problems), self.line))

    def _render(self) -> str:
        where = f"case {self.case_id!r}" if self.case_id is not None else "case without a case_id"
        if self.line is not None:
            where = f"line {self.line}: {where}"
        count = len(self.problems)
        head = f"{where}: {count} problem{'s' if count != 1 else ''}"
        return "\n  ".join([head, *(str(p) for p in self.problems)])

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready record: ``error`` is the first problem, ``errors`` all of them."""
        errors = [{"code": p.code, "message": p.message, "path": p.path} for p in self.problems]
        return {"line": self.line, "case_id": self.case_id, "error": errors[0], "errors": errors}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a rule file, located like a compiler error.

    Attributes:
        file: The rule file's path as given.
        line: 1-based line.
        col: 1-based column.
        code: A stable code, documented in docs/errors.md (``unknown-fact``, ``dpd-gap``…).
        message: What is wrong.
        severity: ``error`` (the policy cannot load) or ``warning``.
        hint: How to fix it, when there is something useful to say.
        rule_id: The rule the problem is in, if any.
        source_line: The text of the offending line, for the caret display.
    """

    file: str
    line: int
    col: int
    code: str
    message: str
    severity: str = "error"
    hint: str | None = None
    rule_id: str | None = None
    source_line: str | None = None

    def __str__(self) -> str:
        head = f"{self.file}:{self.line}:{self.col}: {self.code}: {self.message}"
        if self.severity != "error":
            head = (
                f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.code}: {self.message}"
            )
        parts = [_clip(head, 10 * EXCERPT_WIDTH)]
        if self.source_line is not None:
            line, caret = _excerpt(self.source_line.rstrip("\n"), self.col - 1)
            parts.append("    " + line)
            parts.append("    " + " " * caret + "^")
        if self.hint:
            parts.append(_clip(f"    hint: {self.hint}", 10 * EXCERPT_WIDTH))
        return "\n".join(parts)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready record of this diagnostic."""
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "rule_id": self.rule_id,
        }


#: Characters of a source line shown under a diagnostic: a line of 2,000 keys must not print
#: 2,000 copies of itself.
EXCERPT_WIDTH = 100


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _excerpt(line: str, offset: int) -> tuple[str, int]:
    """Return at most ``EXCERPT_WIDTH`` characters of ``line`` around ``offset``, and its caret."""
    if len(line) <= EXCERPT_WIDTH:
        return line, offset
    start = max(0, min(offset - EXCERPT_WIDTH // 2, len(line) - EXCERPT_WIDTH))
    shown = line[start : start + EXCERPT_WIDTH]
    caret = offset - start
    if start > 0:
        shown, caret = "…" + shown, caret + 1
    if start + EXCERPT_WIDTH < len(line):
        shown += "…"
    return shown, caret


class PolicyError(DunningError):
    """Rule files could not be loaded; ``diagnostics`` holds every problem found, not the first.

    Attributes:
        diagnostics: All diagnostics, errors and warnings, in file order.
    """

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        count = len(errors)
        head = f"{count} error{'s' if count != 1 else ''} in rule files"
        super().__init__("\n".join([head, *(str(d) for d in self.diagnostics)]))

    def __reduce__(self) -> tuple[Any, ...]:
        # The message is built from the diagnostics: rebuild it from them (pickling, processes).
        return (PolicyError, (list(self.diagnostics),))


def _case_error(case_id: str | None, problems: list[Problem], line: int | None) -> CaseError:
    return CaseError(case_id, problems, line=line)


#: Codes of case problems raised by dunning's own checks (field errors keep pydantic's codes).
CASE_CODES: dict[str, str] = {
    "band_gap": "agency commission bands leave a gap or overlap",
    "band_order": "a commission band ends before it starts",
    "collateral_mismatch": "the collateral kind does not fit the product",
    "currency_mismatch": "a payment in another currency than the loan",
    "date_out_of_range": "a date so far from today that the arithmetic of a decision overflows",
    "date_order": "a date before the date it must follow (acceleration before the loan's start)",
    "decimal_as_string": "money or a rate given as a JSON number",
    "decimal_max_digits": "an amount with more than 20 digits",
    "dispute_flag": "a disputed amount on a case not flagged as disputed",
    "duplicate_party": "two parties share a party_id",
    "empty_schedule": "an explicit schedule without instalments",
    "finite_number": "NaN or infinity",
    "invalid_json": "a batch line that is not JSON",
    "invalid_language": "a language that is not a tag such as zh-CN",
    "invalid_phone": "a phone number that is not digits",
    "missing": "a required field is absent",
    "not_an_object": "a batch line that is not a JSON object",
    "not_ascii_number": "an amount or rate written with other digits than 0-9, or underscores",
    "role": "the borrower's or a related party's role is wrong",
    "schedule_order": "due dates not increasing",
    "schedule_sum": "instalment principals do not sum to the principal",
    "too_many_decimals": "more decimals than the currency has",
    "unknown_currency": "not an ISO 4217 currency dunning knows",
    "unknown_party": "a contact or promise names no party of the case",
    "unknown_timezone": "not an IANA time zone",
    "product_not_covered": "the policy does not cover the case's product",
    "bad_outcome": "a rule computed a value outside its range for this case",
    "cannot_decide": "the case drives the arithmetic beyond its range (or the rete engine's)",
    "contract_order": "an agency's contract ends before it starts",
    "not_suspended": "an agency gives suspended_on without status: suspended",
    "term_order": "a placement's term ends before it was placed",
    "placement_mismatch": "the case's placement contradicts the placement events",
    "bad_transition": "a placement event that cannot follow the case's placement state",
    "duplicate_case": "a batch to place names the same case twice",
    "incomplete_event": "a placement event without a field its type needs",
    "bad_cell": "a spreadsheet cell that cannot be read for its column",
    "bad_row": "a CSV record that cannot be read, or a row over the column or cell limits",
    "invalid_text": "a CSV line that is not text in the file's encoding, or too long",
    "unreadable_table": "a workbook sheet damaged part of the way through",
    "no_case": "a ledger line naming neither case_id nor loan_id",
    "self_reversal": "a ledger line that reverses itself",
    "duplicate_reference": "a ledger or claim line repeating an earlier line's reference",
    "case_mismatch": "a ledger line whose case and loan (or reversed payment) disagree",
    "unknown_payment": "a reversal of a payment the ledger does not hold (or rejected)",
    "over_reversal": "reversals of a payment beyond its amount",
    "duplicate_event": "an event line repeating an earlier line of the log (read once)",
    "duplicate_record": "a contact record whose record_id an earlier line has",
    "unknown_field": "an agency's claim_columns names a field a claim does not have",
    "agency_mismatch": "a claim line naming another agency than the one reconciled",
    "card_product": "card figures on a loan that is not a credit card",
    "minimum_above_balance": "a card's minimum payment above its statement balance",
    "repeated_case": "a bank's file names a case an earlier intake batch took in",
    "line_too_long": "a line of a bank's JSON Lines file beyond the intake's limit",
    "unknown_event_type": "an event line whose type is not one of the event contract's",
    "period_order": "a report or reconciliation whose period ends before it starts",
}

#: Codes of rule-file diagnostics.
POLICY_CODES: dict[str, str] = {
    "unreadable": "the file cannot be read",
    "empty-file": "the file is empty",
    "too-large": "the file or its YAML is too large",
    "too-deep": "YAML or an expression nested too deep",
    "too-many-errors": "the file has more problems than are reported at once",
    "yaml-syntax": "the YAML cannot be parsed",
    "yaml-alias": "anchors and aliases are not allowed",
    "unsafe-tag": "a YAML tag beyond plain data",
    "bad-key": "a mapping key that is not a plain name",
    "duplicate-key": "a key (or product) given twice",
    "unknown-key": "a key the policy format does not have",
    "missing-key": "a required key is absent",
    "missing-group": "a decision group is absent",
    "bad-value": "a value of the wrong kind",
    "bad-name": "a parameter name that is not lower_snake_case",
    "unknown-type": "an unknown parameter type",
    "bad-param-value": "a parameter value (default or override) of the wrong type or range",
    "param-shadows-fact": "a parameter named like a fact",
    "bad-buckets": "bucket bands with a gap, overlap or other problem",
    "syntax-error": "an expression that cannot be parsed",
    "forbidden-syntax": "attribute access, dunder names or '**' in an expression",
    "unknown-function": "a call of a function outside the whitelist",
    "bad-arguments": "a function called with the wrong number of arguments",
    "literal-too-large": "a number, string or list literal that is too large",
    "expression-too-long": "an expression longer than the limit",
    "unknown-fact": "a name that is neither a fact nor a parameter",
    "unknown-param": "a parameter that is not declared",
    "unknown-value": "a value outside a fact's or key's allowed values",
    "type-mismatch": "an operation on values of the wrong types",
    "division-by-zero": "division by a zero constant",
    "not-constant": "a value that must be a constant is not",
    "unknown-channel": "a channel that does not exist",
    "unknown-role": "a recipient role that does not exist",
    "bad-outcome-type": "a `then` value of the wrong type",
    "bad-outcome-value": "a `then` constant out of range",
    "duplicate-rule-id": "two rules share an id",
    "missing-fallback": "a decision group without a fallback rule",
    "unreachable-rule": "a rule after the fallback (warning)",
    "dpd-gap": "dpd ranges of a product decided only by the fallback (warning)",
    "dpd-overlap": "dpd ranges of a product decided by two rules (warning)",
    "bad-override": "an overrides entry that names no later rule the rule really shadows",
    "bad-guard-value": "a guard setting of the wrong kind or range",
    "guard-calendar": "a holiday calendar that cannot be used",
    "guard-disabled": "a guard the profile has on is turned off (warning)",
    "collection-fee-cut": "a rule sets a collection fee the collection_fees guard cuts (warning)",
    "penalty-out-of-range": "a penalty multiplier outside the charges cap's allowed range",
    "bad-template": "a message template's text or language that cannot be read",
    "unknown-message": "a message template that is not defined",
    "unknown-placeholder": "a placeholder no message can fill",
    "unfillable-placeholder": "a placeholder the message's readers may not be told",
    "sms-too-long": "an SMS longer than the policy's number of segments",
    "missing-language": "a message template without text in the policy's language",
    "message-not-sent": "a message on a channel that sends none",
    "unused-message": "a message template nothing sends (warning)",
    "unused-setting": "a placement setting the chosen strategy does not use (warning)",
    "unknown-agency": "the placement shares name an agency the agencies file does not list",
    "test-failed": "an analyst test whose expectations did not hold",
    "uncovered-rule": "a rule that no analyst test reaches (warning)",
    "uncovered-obligation": "an obligation of a procedure file that no test breaks (warning)",
}
