"""Domain core: the typed objects a host exchanges with dunning (case in, decision out).

Every model is frozen and forbids unknown fields, so a typo in a host's JSON is an error with a
field path instead of a silently ignored value. Money and rates are ``Decimal`` and serialise as
strings; datetimes must carry a time zone. Checks that span several fields (currencies, party
references, schedule sums) are reported together with the field errors' paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from .errors import ConfigError, did_you_mean
from .money import DEFAULT_CURRENCY, MINOR_UNITS, decimal_places, quantum

__all__ = [
    "AS_OF_YEARS",
    "CASE_ROLES",
    "CONVERSATION",
    "FAILED",
    "LANGUAGE_TAG",
    "Action",
    "Agency",
    "AgencyStatus",
    "Amount",
    "CardAccount",
    "Case",
    "Channel",
    "Collateral",
    "CollateralKind",
    "Collector",
    "CollectorStatus",
    "CommissionBand",
    "ContactAttempt",
    "ContactChannel",
    "ContactPurpose",
    "ContactResult",
    "Decision",
    "DelinquencySnapshot",
    "FeeTerms",
    "GuardEffect",
    "GuardRecord",
    "HandledBy",
    "Installment",
    "Loan",
    "Message",
    "OverdueReason",
    "Party",
    "Payment",
    "Placement",
    "PolicyRef",
    "Product",
    "PromiseToPay",
    "Rate",
    "Recall",
    "Record",
    "Repayment",
    "RepaymentAttitude",
    "Role",
    "StaffRole",
    "amount_input",
    "check_as_of",
    "iana_zones",
    "zone_named",
]


class Product(StrEnum):
    """The lender's business lines (docs/seed.md §4) plus bank credit cards (Part 2)."""

    MORTGAGE = "mortgage"
    VEHICLE_PLEDGE = "vehicle_pledge"
    CONSUMER_FINANCE = "consumer_finance"
    CREDIT_CARD = "credit_card"


class Repayment(StrEnum):
    """How a loan is repaid; each has its own instalment schedule."""

    EQUAL_INSTALLMENT = "equal_installment"  # 等额本息: the same payment every month
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金: the same principal every month
    INTEREST_ONLY = "interest_only"  # 先息后本: interest monthly, principal at the end
    BULLET = "bullet"  # 到期一次还本付息: everything at maturity


class Role(StrEnum):
    """A person's relation to the loan."""

    BORROWER = "borrower"
    GUARANTOR = "guarantor"
    CO_BORROWER = "co_borrower"
    EMERGENCY_CONTACT = "emergency_contact"


#: Roles that owe the debt: only they may be told its details.
OBLIGOR_ROLES = frozenset({Role.BORROWER, Role.GUARANTOR, Role.CO_BORROWER})


class CollateralKind(StrEnum):
    """What secures a loan."""

    PROPERTY = "property"
    VEHICLE = "vehicle"


class ContactChannel(StrEnum):
    """Channels of a recorded contact attempt."""

    SMS = "sms"
    CALL = "call"
    FIELD_VISIT = "field_visit"
    LETTER = "letter"
    LEGAL_ACTION = "legal_action"  # a legal step taken: a filing to preserve collateral, a lawsuit


class ContactPurpose(StrEnum):
    """Why a contact was made: to collect, or to give a notice the law requires."""

    COLLECTION = "collection"
    OUTSOURCING_NOTICE = "outsourcing_notice"  # tells the borrower the case goes to an agency
    RESTORE_CONTACT = "restore_contact"  # asks a third party to pass on a message, no debt


class OverdueReason(StrEnum):
    """Why the customer is overdue (逾期原因), as the collector recorded it (docs/seed.md §1)."""

    JOB_LOSS = "job_loss"  # lost the job or the income (失业、收入减少)
    BUSINESS_DOWNTURN = "business_downturn"  # the customer's business is in trouble (经营困难)
    ILLNESS = "illness"  # illness or accident of the customer or the family (疾病、意外)
    FORGOT = "forgot"  # forgot or missed the date (忘记还款)
    OVER_INDEBTED = "over_indebted"  # too many other debts (多头负债)
    DISPUTE = "dispute"  # disputes the debt or its amount (对债务有异议)
    FRAUD_CLAIMED = "fraud_claimed"  # says the loan was taken in their name (称被冒名)
    OTHER = "other"  # see the note


class RepaymentAttitude(StrEnum):
    """How the customer stands to repaying (还款态度), as the collector recorded it."""

    COOPERATIVE = "cooperative"  # will pay, agrees a date or a plan
    WILLING_BUT_UNABLE = "willing_but_unable"  # wants to pay but cannot now
    EVASIVE = "evasive"  # avoids contact, puts off
    HOSTILE = "hostile"  # refuses to pay, abuses or threatens
    OTHER = "other"  # see the note


class ContactResult(StrEnum):
    """What came of a contact attempt."""

    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    PROMISED = "promised"
    DELIVERED = "delivered"
    FAILED = "failed"


#: Outcomes of a contact in which someone was spoken to (a right-party contact for a call).
CONVERSATION = frozenset({ContactResult.CONNECTED, ContactResult.PROMISED, ContactResult.REFUSED})
#: Outcomes of an attempt that reached no one.
FAILED = frozenset(
    {ContactResult.NO_ANSWER, ContactResult.BUSY, ContactResult.WRONG_NUMBER, ContactResult.FAILED}
)


class Channel(StrEnum):
    """The next step a decision names (docs/seed.md §5)."""

    NONE = "none"
    SMS = "sms"
    CALL = "call"
    FIELD_VISIT = "field_visit"
    LEGAL_PRESERVATION = "legal_preservation"
    OUTSOURCE = "outsource"
    #: The bank's special procedures (docs/agency.md): offered to the customer only with the
    #: approval the policy's ``agency: procedures:`` names (a supervisor's, by default).
    INSTALMENT_PLAN = "instalment_plan"
    WAIVER = "waiver"
    SUSPENSION = "suspension"


#: The channels that are special procedures.
SPECIAL_PROCEDURES = (Channel.INSTALMENT_PLAN, Channel.WAIVER, Channel.SUSPENSION)


class HandledBy(StrEnum):
    """Who carries out an action."""

    INTERNAL = "internal"
    AGENCY = "agency"


#: Digits an amount may have in all (pydantic's ``max_digits`` counting).
MAX_AMOUNT_DIGITS = 20
_CENT = Decimal("0.01")


def _no_float(value: Any) -> Any:
    # A JSON number reaches us as a binary float; 0.1 + 0.2 style errors must not enter money.
    if isinstance(value, float):
        raise PydanticCustomError(
            "decimal_as_string",
            'give amounts and rates as strings such as "1100.16", not as numbers: '
            "numbers become binary floats",
        )
    return value


def _ascii_number(text: str) -> None:
    # Decimal() reads any Unicode digit and underscores: "٤٧٨٠٠.٠٠" and "47_800.00" would be
    # 47800.00, which is not what a reader of the line sees. Two C calls, no regex.
    if not text.isascii() or "_" in text:
        raise PydanticCustomError(
            "not_ascii_number",
            '{text} is not a number written with the digits 0-9 and a point, such as "1100.16"',
            {"text": repr(text[:40])},
        )


def _rate_input(value: Any) -> Any:
    if isinstance(value, str):
        _ascii_number(value)
        return value
    return _no_float(value)


def amount_input(value: Any) -> Any:
    """An amount as given, refused early if it is a float or not plain ASCII digits.

    The before-validator of every amount of the contract (:data:`Amount`), and of other
    records' amounts (an agency's claim).
    """
    # The one Python step on the hot path of every amount: no floats, ASCII digits, and at most
    # MAX_AMOUNT_DIGITS digits. A string of 20 characters or fewer without an exponent cannot
    # have more, so only long or exponent forms (and ints, Decimals) are taken apart here;
    # parsing, finiteness and sign stay in pydantic's own (compiled) decimal validator.
    if isinstance(value, str):
        if not value.isascii() or "_" in value:
            _ascii_number(value)  # raises
        if len(value) <= MAX_AMOUNT_DIGITS and "e" not in value and "E" not in value:
            return value
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            return value  # not a number at all: pydantic reports decimal_parsing
        _check_digits(number)
        return value
    if isinstance(value, Decimal):
        # Money in cents with at most 18 digits before the point has at most 20 digits; two
        # cheap C calls instead of taking the number apart (decisions are built from these).
        if not (value.same_quantum(_CENT) and value.adjusted() < MAX_AMOUNT_DIGITS - 2):
            _check_digits(value)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        _check_digits(Decimal(value))
        return value
    return _no_float(value)


def _check_digits(number: Decimal) -> None:
    if not number.is_finite():
        return  # pydantic reports finite_number
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    total = len(digits) + exponent if exponent >= 0 else max(len(digits), -exponent)
    if total > MAX_AMOUNT_DIGITS:
        raise PydanticCustomError(
            "decimal_max_digits",
            f"Decimal input should have no more than {MAX_AMOUNT_DIGITS} digits in total",
        )


# Constraints first, then the one before-validator: pydantic then keeps ge/gt/lt and
# finiteness inside its compiled decimal validator (constraints placed after a validator become
# Python calls per amount, and a JSON Schema without "minimum").
#: A non-negative amount of money in the loan's currency (``Decimal``, JSON string).
Amount = Annotated[Decimal, Field(ge=0), BeforeValidator(amount_input)]
#: A strictly positive amount of money.
PositiveAmount = Annotated[Decimal, Field(gt=0), BeforeValidator(amount_input)]
#: A rate as a fraction (0.18 = 18%), in [0, 1).
Rate = Annotated[Decimal, Field(ge=0, lt=1), BeforeValidator(_rate_input)]
#: A non-empty identifier.
Id = Annotated[str, Field(min_length=1, max_length=128)]
#: Free text a collector recorded.
Text = Annotated[str, Field(max_length=4000)]


#: The years a decision moment, an event's time or a date of a case may fall in: any real
#: collection decision does, and the date arithmetic of a case (a year of instalments, days
#: overdue, an event read in the agency's time zone) stays far from year 1 and 9999.
AS_OF_YEARS = (1900, 2199)


def check_as_of(moment: date) -> None:
    """Raise ``ConfigError`` if ``moment`` lies outside :data:`AS_OF_YEARS`."""
    low, high = AS_OF_YEARS
    if not low <= moment.year <= high:
        raise ConfigError(f"as_of {moment.isoformat()} is outside the years {low}-{high}")


@cache
def iana_zones() -> frozenset[str]:
    """The time zone names of the IANA database (the ``tzdata`` package's list).

    Only these are zones in dunning: ``localtime``, ``posixrules`` or a file name that happens
    to be on the server's zone path would make decisions depend on the machine.
    """
    names = files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(names) - {"Factory"}


@cache
def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (tzdata's list only, so that no file path is ever tried).

    Raises:
        ZoneInfoNotFoundError: For a name tzdata does not list.
    """
    if name not in iana_zones():
        raise ZoneInfoNotFoundError(name)
    return ZoneInfo(name)


def _timezone(name: str) -> str:
    try:
        zone_named(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise PydanticCustomError(
            "unknown_timezone",
            "unknown IANA time zone {name}{hint}",
            {"name": repr(name[:64]), "hint": did_you_mean(name[:64], iana_zones())},
        ) from None
    return name


def _currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise PydanticCustomError(
            "unknown_currency",
            "unknown ISO 4217 currency {code}{hint}",
            {"code": repr(code), "hint": did_you_mean(code, MINOR_UNITS)},
        )
    return code


_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{2,30}$")
#: A BCP 47 language tag as messages use them: ``zh-CN``, ``en``, ``zh-Hant-TW``.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")


def _phone(number: str) -> str:
    if not _PHONE.match(number):
        raise PydanticCustomError(
            "invalid_phone", "{number} is not a phone number", {"number": repr(number)}
        )
    return number


def _language(tag: str) -> str:
    if not LANGUAGE_TAG.match(tag):
        raise PydanticCustomError(
            "invalid_language",
            "{tag} is not a language tag such as zh-CN or en",
            {"tag": repr(tag)},
        )
    return tag


Currency = Annotated[str, AfterValidator(_currency)]
Language = Annotated[str, AfterValidator(_language)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Phone = Annotated[str, AfterValidator(_phone)]


class Record(BaseModel):
    """The base of every record of the contract: frozen, and unknown fields are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)


class _Problems:
    """Collects cross-field problems so that all of them are raised together."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.details: list[InitErrorDetails] = []

    def add(self, loc: tuple[str | int, ...], code: str, message: str, value: Any) -> None:
        # Braces in values would be read as template fields by PydanticCustomError.
        safe = message.replace("{", "{{").replace("}", "}}")
        self.details.append(
            InitErrorDetails(type=PydanticCustomError(code, safe), loc=loc, input=value)
        )

    def check_places(self, loc: tuple[str | int, ...], amount: Decimal, currency: str) -> None:
        if amount.same_quantum(quantum(currency)):
            return  # exactly the currency's places: the usual case, without taking it apart
        places = decimal_places(amount)
        if places > MINOR_UNITS[currency]:
            self.add(
                loc,
                "too_many_decimals",
                f"{amount} has {places} decimal places; {currency} has {MINOR_UNITS[currency]}",
                str(amount),
            )

    def raise_if_any(self) -> None:
        if self.details:
            raise ValidationError.from_exception_data(self.title, self.details)


class Party(Record):
    """A person connected to the loan: the borrower or a related party.

    ``guarantee_ends`` is a guarantor's last day of the guarantee period (保证期间) when the
    contract sets one; without it the period ends six months after the debt fell due.
    ``language`` is the language the party reads messages in (``None``: the policy's).
    ``region`` is the lender's code of the region the party lives in (agencies may serve only
    some regions).
    """

    party_id: Id
    role: Role = Role.BORROWER
    name: Text | None = None
    phones: tuple[Phone, ...] = ()
    addresses: tuple[Text, ...] = ()
    timezone: TimeZone = "Asia/Shanghai"
    do_not_contact: StrictBool = False
    guarantee_ends: date | None = None
    language: Language | None = None
    region: Id | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The party's time zone as a ``ZoneInfo``."""
        return zone_named(self.timezone)

    @property
    def is_obligor(self) -> bool:
        """Whether this party owes the debt (borrower, guarantor or co-borrower)."""
        return self.role in OBLIGOR_ROLES


class Collateral(Record):
    """What secures a mortgage or vehicle-pledge loan."""

    kind: CollateralKind
    value: Amount
    reference: Text | None = None


class Installment(Record):
    """One scheduled instalment: what falls due on ``due_date``."""

    due_date: date
    principal: Amount
    interest: Amount

    @property
    def amount(self) -> Decimal:
        """Principal plus interest."""
        return self.principal + self.interest


_SECURED_BY = {
    Product.MORTGAGE: CollateralKind.PROPERTY,
    Product.VEHICLE_PLEDGE: CollateralKind.VEHICLE,
}


class Loan(Record):
    """The loan contract.

    ``term_months`` and ``repayment`` define a monthly schedule; an explicit ``schedule`` replaces
    them (then ``term_months`` may be omitted). The schedule's principal parts must sum to
    ``principal``. ``accelerated_on`` is the day the lender declared the whole loan due (加速到期):
    from then on every instalment's unpaid principal is overdue.
    """

    loan_id: Id
    product: Product
    principal: PositiveAmount
    currency: Currency = DEFAULT_CURRENCY
    annual_rate: Rate
    start_date: date
    term_months: Annotated[int, Strict(), Field(gt=0, le=600)] | None = None
    repayment: Repayment = Repayment.EQUAL_INSTALLMENT
    schedule: tuple[Installment, ...] | None = None
    collateral: Collateral | None = None
    signed_on: date | None = None
    accelerated_on: date | None = None

    @property
    def signing_date(self) -> date:
        """When the contract was signed (``signed_on``, else ``start_date``); fixes its rate cap."""
        return self.signed_on or self.start_date

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = _Problems("Loan")
        problems.check_places(("principal",), self.principal, self.currency)
        if self.accelerated_on is not None and self.accelerated_on < self.start_date:
            problems.add(
                ("accelerated_on",),
                "date_order",
                f"accelerated_on {self.accelerated_on} is before the start date {self.start_date}",
                self.accelerated_on.isoformat(),
            )
        if self.schedule is None:
            if self.term_months is None:
                problems.add(
                    ("term_months",),
                    "missing",
                    "term_months is required unless an explicit schedule is given",
                    None,
                )
        else:
            self._check_schedule(problems, self.schedule)
        if self.collateral is not None:
            problems.check_places(("collateral", "value"), self.collateral.value, self.currency)
            expected = _SECURED_BY.get(self.product)
            if expected is not None and self.collateral.kind != expected:
                problems.add(
                    ("collateral", "kind"),
                    "collateral_mismatch",
                    f"a {self.product} loan is secured by {expected}, not {self.collateral.kind}",
                    str(self.collateral.kind),
                )
        problems.raise_if_any()
        return self

    def _check_schedule(self, problems: _Problems, schedule: tuple[Installment, ...]) -> None:
        if not schedule:
            problems.add(("schedule",), "empty_schedule", "schedule has no instalments", [])
            return
        previous = self.start_date
        for i, inst in enumerate(schedule):
            if inst.due_date <= previous:
                problems.add(
                    ("schedule", i, "due_date"),
                    "schedule_order",
                    f"due date {inst.due_date} must be after {previous} "
                    "(the start date or the previous instalment)",
                    inst.due_date.isoformat(),
                )
            previous = max(previous, inst.due_date)
            problems.check_places(("schedule", i, "principal"), inst.principal, self.currency)
            problems.check_places(("schedule", i, "interest"), inst.interest, self.currency)
        total = sum((inst.principal for inst in schedule), Decimal(0))
        if total != self.principal:
            problems.add(
                ("schedule",),
                "schedule_sum",
                f"instalment principals sum to {total}, not to the loan principal {self.principal}",
                str(total),
            )

    @property
    def secured(self) -> bool:
        """Whether collateral secures the loan."""
        return self.collateral is not None


class Payment(Record):
    """Money the customer paid on ``date``; always paid to the lender, even when placed."""

    date: date
    amount: PositiveAmount
    currency: Currency | None = None
    reference: Text | None = None


class DelinquencySnapshot(Record):
    """Delinquency figures from the host's own servicing system (a bank's file).

    Used as given, but for the days past due when the snapshot says the day it was taken
    (``as_of``): an overdue case ages by the days since (``dpd`` 66 on 2 November is 94 on
    30 November); its amounts stay the snapshot's until a newer one replaces them.
    """

    dpd: Annotated[int, Strict(), Field(ge=0, le=36500)]
    overdue_principal: Amount
    overdue_interest: Amount
    penalty_interest: Amount = Decimal(0)
    fees: Amount = Decimal(0)
    #: All unpaid principal, due or not: a card's balance, which no schedule here can tell.
    outstanding_principal: Amount | None = None
    #: The day the figures are as of (the bank's file); ``None``: as of any day (not aged).
    as_of: date | None = None

    def dpd_on(self, day: date) -> int:
        """The days past due on ``day``: aged from ``as_of`` while overdue (never below 0)."""
        if self.as_of is None or self.dpd == 0:
            return self.dpd
        return max(0, min(self.dpd + (day - self.as_of).days, 36500))


class ContactAttempt(Record):
    """One recorded attempt to reach a party, with what the collector learned (docs/seed.md §1).

    ``agency_id`` names the agency an outsourcing notice told the borrower of (or the agency
    that made the contact).
    """

    at: AwareDatetime
    channel: ContactChannel
    party_id: Id
    outcome: ContactResult
    number: Phone | None = None
    purpose: ContactPurpose = ContactPurpose.COLLECTION
    overdue_reason: OverdueReason | None = None
    overdue_reason_note: Text | None = None
    repayment_attitude: RepaymentAttitude | None = None
    repayment_attitude_note: Text | None = None
    repayment_plan: Text | None = None
    recording_ref: Text | None = None
    collector_id: Id | None = None
    agency_id: Id | None = None
    note: Text | None = None


class PromiseToPay(Record):
    """A commitment to pay ``amount`` by ``due_date``; broken when that date passes unpaid."""

    made_at: AwareDatetime
    amount: PositiveAmount
    due_date: date
    party_id: Id | None = None


class Placement(Record):
    """A case handed to an agency, with the commission rate fixed when it was placed.

    ``term_ends`` is the last day of the placement's term (``None``: no term).
    """

    agency_id: Id
    placed_on: date
    commission_rate: Rate
    term_ends: date | None = None

    @model_validator(mode="after")
    def _term_after_start(self) -> Self:
        if self.term_ends is not None and self.term_ends < self.placed_on:
            raise PydanticCustomError("term_order", "term_ends must not be before placed_on", {})
        return self


class CommissionBand(Record):
    """A commission rate for cases placed at ``min_dpd``..``max_dpd`` days past due."""

    min_dpd: Annotated[int, Strict(), Field(ge=0)]
    max_dpd: Annotated[int, Strict(), Field(ge=0)] | None = None
    rate: Rate

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_dpd is not None and self.max_dpd < self.min_dpd:
            raise PydanticCustomError("band_order", "max_dpd must not be below min_dpd", {})
        return self


class CollectorStatus(StrEnum):
    """Whether a collector works cases."""

    ACTIVE = "active"
    ON_LEAVE = "on_leave"  # keeps their cases, is given no new ones
    LEFT = "left"  # has left: their cases are handed over


class StaffRole(StrEnum):
    """The roles of an agency's staff (the seed's part 2) and what each does there."""

    COLLECTOR = "collector"  # phone collector (催收人员)
    FIELD_COLLECTOR = "field_collector"  # visits debtors (外访催收人员)
    TEAM_LEAD = "team_lead"  # leads a team, works cases, supervises a handover
    SUPERVISOR = "supervisor"  # collection supervisor (催收主管): approves, reviews visits
    ADMIN_ASSISTANT = "admin_assistant"  # takes files in, starts procedures (辅助行政人员)
    MANAGER = "manager"  # company or branch manager (公司经理)


#: The roles that work cases: only they are given cases and ranked in the league table.
CASE_ROLES = frozenset({StaffRole.COLLECTOR, StaffRole.FIELD_COLLECTOR, StaffRole.TEAM_LEAD})


class Collector(Record):
    """A member of an agency's staff: their role, team, capacity in open cases, and skills.

    ``role`` says what they do (:class:`StaffRole`: the audit holds who approved, started,
    reviewed or handed over to it); only collectors, field collectors and team leads are given
    cases. ``skills`` are words the assignment rules ask for (``field_visit``); ``languages``
    are the language tags they work in (a borrower's ``zh-CN`` is served by ``zh`` or ``zh-CN``).
    """

    collector_id: Id
    name: Text
    team: Id
    role: StaffRole = StaffRole.COLLECTOR
    capacity: Annotated[int, Strict(), Field(ge=0, le=100_000)]
    skills: tuple[Id, ...] = ()
    languages: tuple[Language, ...] = ()
    status: CollectorStatus = CollectorStatus.ACTIVE
    left_on: date | None = None

    def speaks(self, language: str | None) -> bool:
        """Whether they work in ``language`` (by its primary subtag); ``None``: anyone does."""
        if language is None:
            return True
        wanted = language.split("-")[0].casefold()
        return any(tag.split("-")[0].casefold() == wanted for tag in self.languages)


#: The fields of an agency's claim line (dunning.reconcile), which ``claim_columns`` may map.
CLAIM_FIELDS = ("reference", "case_id", "date", "amount", "rate", "commission", "agency_id")


class AgencyStatus(StrEnum):
    """Whether an agency takes and works cases under its contract."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


#: What an agency's commission is paid on (a contract term): every amount remitted while it
#: held the case (the seed's reading), or that capped at what the case owed when it was placed
#: (委案金额): payments beyond it earn nothing.
COMMISSION_BASES = ("remitted", "placed_amount")
CommissionBase = Literal["remitted", "placed_amount"]


class Agency(Record):
    """A collection agency under contract: what it serves, how much, for how long, at what rate.

    ``commission`` is the contract's rate by days past due at placement; an agency without
    bands is paid the policy's commission table. ``capacity`` counts open cases (proposed and
    placed); ``None`` is no limit. ``term_days`` is the placement term its contract sets
    (``None``: the policy's), and no term runs past ``contract_end``. ``suspended_on`` is the
    first day of a suspension (``status: suspended``): from it, the agency's placements earn no
    commission. An agency whose ``review_on`` date has passed is not given new
    cases until the lender reviews it (and moves the date). ``commission_base`` is what its
    commission is paid on (:data:`COMMISSION_BASES`; ``None``: the policy's). ``claim_columns``
    maps the fields
    of a claim (:data:`CLAIM_FIELDS`) to the headers of the spreadsheets the agency sends.
    """

    agency_id: Id
    name: Text
    phone: Phone
    address: Text | None = None
    email: Text | None = None
    products: tuple[Product, ...] = ()
    regions: tuple[Id, ...] = ()
    capacity: Annotated[int, Strict(), Field(ge=0)] | None = None
    contract_start: date
    contract_end: date | None = None
    status: AgencyStatus = AgencyStatus.ACTIVE
    suspended_on: date | None = None
    term_days: Annotated[int, Strict(), Field(ge=1, le=3650)] | None = None
    review_on: date | None = None
    commission: tuple[CommissionBand, ...] = ()
    commission_base: CommissionBase | None = None
    claim_columns: dict[Id, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _contiguous(self) -> Self:
        problems = _Problems("Agency")
        for name in self.claim_columns:
            if name not in CLAIM_FIELDS:
                problems.add(
                    ("claim_columns", name),
                    "unknown_field",
                    f"a claim has no field {name!r}{did_you_mean(name, CLAIM_FIELDS)}; the "
                    f"fields are {', '.join(CLAIM_FIELDS)}",
                    name,
                )
        bands = self.commission
        for i in range(1, len(bands)):
            before = bands[i - 1].max_dpd
            if before is None or bands[i].min_dpd != before + 1:
                problems.add(
                    ("commission", i, "min_dpd"),
                    "band_gap",
                    f"band must start at {'…' if before is None else before + 1} "
                    "(the day after the previous band ends)",
                    bands[i].min_dpd,
                )
        if self.contract_end is not None and self.contract_end < self.contract_start:
            problems.add(
                ("contract_end",),
                "contract_order",
                "the contract must not end before it starts",
                self.contract_end.isoformat(),
            )
        if self.suspended_on is not None and self.status is not AgencyStatus.SUSPENDED:
            problems.add(
                ("suspended_on",),
                "not_suspended",
                "suspended_on is the first day of a suspension: give status: suspended too",
                self.suspended_on.isoformat(),
            )
        problems.raise_if_any()
        return self

    def last_day(self, placed_on: date, term_days: int) -> date:
        """The last day of a term of ``term_days`` from ``placed_on``: never past the contract."""
        last = placed_on + timedelta(days=term_days - 1)
        return last if self.contract_end is None else min(last, self.contract_end)

    def commission_rate(self, dpd: int) -> Decimal | None:
        """Return the rate for a case placed at ``dpd`` days past due, or ``None`` if no band."""
        for band in self.commission:
            if dpd >= band.min_dpd and (band.max_dpd is None or dpd <= band.max_dpd):
                return band.rate
        return None

    def serves(self, product: Product) -> bool:
        """Whether the agency takes cases of ``product`` (an empty list means all)."""
        return not self.products or product in self.products

    def serves_region(self, region: str | None) -> bool:
        """Whether the agency works ``region`` (an empty list means everywhere)."""
        return not self.regions or region in self.regions

    def status_on(self, day: date) -> str:
        """``active``, ``suspended``, or ``ended`` (the contract is not in force on ``day``)."""
        if day < self.contract_start or (self.contract_end is not None and day > self.contract_end):
            return "ended"
        return self.status.value


class CardAccount(Record):
    """A credit card's statement figures, as the bank's file gives them.

    ``statement_balance`` is what the last statement says is owed; ``minimum_payment_due`` the
    least the cardholder had to pay by ``payment_due_date``. A balance above ``credit_limit``
    is over the limit (the ``over_limit`` fact).
    """

    credit_limit: Amount
    statement_balance: Amount
    minimum_payment_due: Amount
    statement_date: date | None = None
    payment_due_date: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        due, closed = self.payment_due_date, self.statement_date
        if due is not None and closed is not None and due < closed:
            raise PydanticCustomError(
                "date_order", "payment_due_date must not be before statement_date", {}
            )
        if self.minimum_payment_due > self.statement_balance:
            raise PydanticCustomError(
                "minimum_above_balance",
                "minimum_payment_due must not exceed the statement_balance",
                {},
            )
        return self

    @property
    def over_limit(self) -> Decimal:
        """How far the statement balance is above the credit limit (0 when it is not)."""
        return max(self.statement_balance - self.credit_limit, Decimal(0))


class Case(Record):
    """One delinquent (or possibly delinquent) account, as the host sees it at decision time.

    ``card`` carries a credit card's statement figures; only a ``credit_card`` loan has them.
    ``debtor_contacts`` are the contacts with its parties recorded on the borrower's other debts
    (by the lender or any agency): the daily contact caps count them with the case's own, and
    nothing else reads them (:mod:`dunning.debtors`).
    """

    case_id: Id
    loan: Loan
    borrower: Party
    related_parties: tuple[Party, ...] = ()
    payments: tuple[Payment, ...] = ()
    delinquency: DelinquencySnapshot | None = None
    contacts: tuple[ContactAttempt, ...] = ()
    promises: tuple[PromiseToPay, ...] = ()
    debtor_contacts: tuple[ContactAttempt, ...] = ()
    placement: Placement | None = None
    lost_contact: StrictBool = False
    dispute: StrictBool = False
    disputed_amount: Amount | None = None
    do_not_contact: StrictBool = False
    deceased: StrictBool = False
    bankrupt: StrictBool = False
    attorney_represented: StrictBool = False
    complaint: StrictBool = False
    litigation: StrictBool = False
    rating: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    card: CardAccount | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = _Problems("Case")
        currency = self.loan.currency
        if self.card is not None:
            if self.loan.product is not Product.CREDIT_CARD:
                problems.add(
                    ("card",),
                    "card_product",
                    f"card figures belong to a credit_card loan, not a {self.loan.product} one",
                    str(self.loan.product),
                )
            for name in ("credit_limit", "statement_balance", "minimum_payment_due"):
                problems.check_places(("card", name), getattr(self.card, name), currency)
        if self.borrower.role != Role.BORROWER:
            problems.add(
                ("borrower", "role"),
                "role",
                f"the borrower's role must be borrower, not {self.borrower.role}",
                str(self.borrower.role),
            )
        seen = {self.borrower.party_id}
        for path, party in (
            (("borrower",), self.borrower),
            *((("related_parties", i), p) for i, p in enumerate(self.related_parties)),
        ):
            if party.guarantee_ends is not None and party.role != Role.GUARANTOR:
                problems.add(
                    (*path, "guarantee_ends"),
                    "role",
                    f"only a guarantor has a guarantee period, not a {party.role}",
                    party.guarantee_ends.isoformat(),
                )
        for i, party in enumerate(self.related_parties):
            if party.role == Role.BORROWER:
                problems.add(
                    ("related_parties", i, "role"),
                    "role",
                    "a related party's role must be guarantor, co_borrower or emergency_contact",
                    str(party.role),
                )
            if party.party_id in seen:
                problems.add(
                    ("related_parties", i, "party_id"),
                    "duplicate_party",
                    f"party id {party.party_id!r} is used twice",
                    party.party_id,
                )
            seen.add(party.party_id)
        for i, payment in enumerate(self.payments):
            if payment.currency is not None and payment.currency != currency:
                problems.add(
                    ("payments", i, "currency"),
                    "currency_mismatch",
                    f"payment in {payment.currency} on a {currency} loan",
                    payment.currency,
                )
            problems.check_places(("payments", i, "amount"), payment.amount, currency)
        for i, contact in enumerate(self.contacts):
            if contact.party_id not in seen:
                problems.add(
                    ("contacts", i, "party_id"),
                    "unknown_party",
                    f"no party {contact.party_id!r} in this case",
                    contact.party_id,
                )
        for i, promise in enumerate(self.promises):
            if promise.party_id is not None and promise.party_id not in seen:
                problems.add(
                    ("promises", i, "party_id"),
                    "unknown_party",
                    f"no party {promise.party_id!r} in this case",
                    promise.party_id,
                )
            problems.check_places(("promises", i, "amount"), promise.amount, currency)
        if self.disputed_amount is not None:
            problems.check_places(("disputed_amount",), self.disputed_amount, currency)
            if not self.dispute:
                problems.add(
                    ("disputed_amount",),
                    "dispute_flag",
                    "disputed_amount is given but dispute is false",
                    str(self.disputed_amount),
                )
        if self.delinquency is not None:
            for name in (
                "overdue_principal",
                "overdue_interest",
                "penalty_interest",
                "fees",
                "outstanding_principal",
            ):
                amount = getattr(self.delinquency, name)
                if amount is not None:
                    problems.check_places(("delinquency", name), amount, currency)
        problems.raise_if_any()
        return self

    def parties(self) -> Iterator[Party]:
        """Yield the borrower, then the related parties in file order."""
        yield self.borrower
        yield from self.related_parties


# --- The decision (filled in by the policy engine) ------------------------------------------


class Message(Record):
    """A message to the action's recipients: its template, and the text they read.

    ``fields`` are the values of the placeholders ``text`` quotes; ``language`` is the tag of
    the text; ``segments`` is how many SMS segments an SMS takes, the sender's signature
    included (``None`` for other channels).
    """

    template: Id
    fields: dict[str, str | int] = Field(default_factory=dict)
    language: str | None = None
    text: str | None = None
    segments: int | None = None


class Action(Record):
    """The next step for a case.

    ``not_before`` is the earliest moment the action may be carried out (``None``: at once);
    ``requires_recording`` asks for an audio/video recording of the contact (field visits);
    ``agency_id`` names the agency that holds the case (placed cases).
    """

    channel: Channel
    handled_by: HandledBy = HandledBy.INTERNAL
    recipients: tuple[Id, ...] = ()
    not_before: AwareDatetime | None = None
    requires_approval: Id | None = None
    requires_recording: bool = False
    message: Message | None = None
    agency_id: Id | None = None


class FeeTerms(Record):
    """What the customer owes to cure the delinquency, and what an agency earns on recovery.

    ``total_due`` = overdue principal + overdue interest + penalty interest + other fees +
    collection fee − ``on_hold`` (a disputed amount not collected until the dispute is resolved).
    """

    commission_rate: Rate | None = None
    overdue_principal: Amount = Decimal(0)
    overdue_interest: Amount = Decimal(0)
    penalty_interest: Amount = Decimal(0)
    other_fees: Amount = Decimal(0)
    collection_fee: Amount = Decimal(0)
    on_hold: Amount = Decimal(0)
    total_due: Amount = Decimal(0)


class GuardEffect(StrEnum):
    """What a compliance guard did to a decision."""

    DEFER = "defer"  # moved not_before later
    NARROW = "narrow"  # fewer recipients, no debt details, or less collected
    REPLACE = "replace"  # another channel, or none
    CUT = "cut"  # charges cut down to the cap
    FLAG = "flag"  # an approval or a recording is required
    WARN = "warn"  # something in the case needs a person's attention


class GuardRecord(Record):
    """One thing a guard did, and why (``amount``: by how much, for a cut)."""

    id: Id
    effect: GuardEffect
    reason: Text
    amount: Amount | None = None


class Recall(Record):
    """A placed case the recall rules bring back from its agency: why, and which rule said so."""

    agency_id: Id
    reason: Id
    rule: Id


class PolicyRef(Record):
    """Which policy decided: enough to replay the decision."""

    name: Id
    version: Id
    digest: Id


class Decision(Record):
    """The typed answer for one case at ``as_of``.

    ``recall`` is set when the case was placed with an agency and the policy's recall rules
    bring it back: the action is then what the rules decide for the case in-house.
    """

    case_id: Id
    as_of: AwareDatetime
    dpd: Annotated[int, Field(ge=0)]
    bucket: Id
    action: Action
    fee_terms: FeeTerms
    rules: tuple[Id, ...] = ()
    guards: tuple[GuardRecord, ...] = ()
    recall: Recall | None = None
    policy: PolicyRef
