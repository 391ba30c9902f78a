"""The checked, typed policy IR: what the front end produces and every later stage reads.

The engines, the guards, analyst tests, the testing kit and :class:`dunning.Policy` depend on
this module and on the expression nodes (``nodes``) only — never on the checker or the schema
of the file, which are how an IR is made, not what it is. Everything here is immutable.

``Policy.ir`` is a read-only public view of a loaded policy's IR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ..delinquency import BucketBands
from ..lpr import LprTable
from ..messages import MessageCatalog
from ..model import Channel, HandledBy
from .nodes import Node, Ty
from .source import Pos, PScalar

__all__ = [
    "ALL_GROUPS",
    "GROUPS",
    "GROUP_VALUES",
    "OUTCOME_KEYS",
    "PLACEMENT_STRATEGIES",
    "THIRD_PARTY_WORDS",
    "ChannelOutcome",
    "ChargesCap",
    "CollectionFees",
    "ConnectedCalls",
    "ContactStatus",
    "ContactWindow",
    "FieldVisits",
    "GuardConfig",
    "Limitation",
    "OutsourcingNotice",
    "PlacementSettings",
    "PolicyIR",
    "RecallOutcome",
    "RollingCalls",
    "Rule",
    "ThirdParties",
    "Ty",
    "UnansweredDials",
]

#: Decision groups every decision runs, in the order they are decided.
GROUPS = ("channel", "fees", "commission")
#: Every group a policy may have: ``recall`` is decided first, and only for a case placed with an
#: agency (whether it comes back); a policy without recall rules keeps placed cases placed.
ALL_GROUPS = ("recall", *GROUPS)
#: What a decision group's winner gives beside itself, for the engines to compute: nothing
#: (``None``), the value of one outcome key, or ``"*"``: each computed key's value, as a mapping.
#: The engines read this table and know no group by name: a new group is a line here.
GROUP_VALUES: Mapping[str, str | None] = MappingProxyType(
    {"channel": None, "fees": "*", "commission": "commission_rate"}
)
#: The keys each group's rules may set in ``then``.
OUTCOME_KEYS: Mapping[str, tuple[str, ...]] = {
    "recall": ("recall",),
    "channel": ("channel", "handled_by", "recipients", "requires_approval", "message"),
    "fees": ("collection_fee", "penalty_interest"),
    "commission": ("commission_rate",),
}
#: How the ``placement:`` section may allocate cases among eligible agencies.
PLACEMENT_STRATEGIES = ("capacity", "shares", "performance")
#: Recipient words of a channel rule that name no obligor: an action only they receive is a
#: third party's, and its message may say nothing of the debt.
THIRD_PARTY_WORDS = frozenset({"emergency_contact"})


# --- rule outcomes: what a rule decides when it wins its group --------------------------------


@dataclass(frozen=True, slots=True)
class ChannelOutcome:
    """What a ``channel`` rule decides."""

    channel: Channel
    handled_by: HandledBy
    recipients: tuple[str, ...]
    requires_approval: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class RecallOutcome:
    """What a ``recall`` rule decides: the reason to recall a placed case, or ``None``: keep it."""

    reason: str | None


#: What a ``fees`` or ``commission`` rule decides: each outcome key's checked expression (money
#: for fees, a rate for the commission); ``node.nullable`` says whether it may be missing.
ComputedOutcome = Mapping[str, Node]


@dataclass(frozen=True)
class Rule:
    """A checked rule: its typed condition with parameters folded, and its outcome.

    Attributes:
        id: The rule's id (``TABLE/ROW`` for a row of a decision table).
        group: The decision group it belongs to.
        priority: Its priority (higher first; then file order).
        order: Its position in the file.
        file: The rule file's path.
        pos: Where the rule starts in the file.
        when: The checked condition; ``None`` for a fallback (always holds).
        when_text: The condition as written.
        conjuncts: The top-level parts of ``when`` joined by ``and``, each with its text, for
            explanations.
        outcome: A :class:`ChannelOutcome` or :class:`RecallOutcome`, or the checked
            expressions of a fees or commission rule.
        doc: The analyst's description.
        sources: The rule file scalars that ``when`` (key ``"when"``) and each computed outcome
            were read from, so that generated code and messages can point into the file.
        overrides: The later rules of its group it shadows on purpose (``overrides:``), with
            where each is named: their dpd overlaps are acknowledged, not warned about.
        params: The parameters its condition and outcomes use (folded into their values).
    """

    id: str
    group: str
    priority: int
    order: int
    file: str
    pos: Pos
    when: Node | None
    when_text: str
    conjuncts: tuple[tuple[Node, str], ...]
    outcome: ChannelOutcome | RecallOutcome | ComputedOutcome
    doc: str = ""
    sources: Mapping[str, PScalar] = field(default_factory=dict, repr=False, compare=False)
    overrides: Mapping[str, Pos] = field(default_factory=dict, repr=False, compare=False)
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyIR:
    """A whole checked policy: what both engines compile.

    Attributes:
        name: The policy's name.
        version: Its version string.
        description: Its description.
        currency: The currency of its amounts.
        timezone: The time zone a date ``as_of`` starts in.
        products: The products it covers.
        bands: Its delinquency bucket bands.
        params: The parameter values in force (read-only).
        penalty_multiplier: Penalty interest as a multiple of the contract rate (``None``: none).
        allocation: The order payments settle penalty, interest and principal in.
        days_in_year: 360 or 365, for daily accrual.
        groups: Each group's rules in decision order (read-only); ``recall`` may be empty.
        guards: The compliance guards' settings.
        placement: How cases are allocated among agencies, and the placement's terms.
        agency: An agency's procedure settings: intake, special procedures, assignment.
        messages: Its message templates, the shipped ones included, and its SMS settings.
        files: The rule files it was read from.
        text: The text of the (first) rule file.
        unreachable: Rules no valid case reaches: after a fallback, or a fallback whose group's
            dpd rules cover every day past due of every product.
    """

    name: str
    version: str
    description: str
    currency: str
    timezone: str
    products: tuple[str, ...]
    bands: BucketBands
    params: Mapping[str, Any]
    penalty_multiplier: Decimal | None
    allocation: tuple[str, ...]
    days_in_year: int
    groups: Mapping[str, tuple[Rule, ...]]
    guards: GuardConfig
    messages: MessageCatalog
    placement: PlacementSettings
    agency: AgencySettings = field(default_factory=lambda: AgencySettings())
    files: tuple[str, ...] = ()
    text: str = field(default="", repr=False)
    unreachable: frozenset[str] = frozenset()

    def rules(self) -> tuple[Rule, ...]:
        """Every rule of every group, in decision order (recall first)."""
        return tuple(rule for group in ALL_GROUPS for rule in self.groups.get(group, ()))


# --- placement settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementSettings:
    """The ``placement:`` section: how cases go to agencies, and the policy's terms.

    Attributes:
        strategy: ``capacity`` (the eligible agency with the most room), ``shares`` (fixed
            shares) or ``performance`` (shares by recovery rate).
        shares: Agency id → its weight, for ``shares``.
        minimum_share: For ``performance``: the share of each agency without a history.
        salt: Mixed into the hash that orders the cases to allocate.
        notice_lead_days: Days the notice naming the agency must have been on record before
            the placement takes effect.
        notice_expiry_days: Days after a proposal in which its notice must reach the borrower;
            then — or at once when its SMS failed — the proposal is closed
            (``notice_undelivered``) and the case stays in-house for ``cool_off_days``.
        term_days: The placement's term when the agency's contract sets none.
        cool_off_days: Days after a case came back from an agency in which that agency is not
            given it again.
        grace_days: Days after a placement ended (recalled or returned) in which a payment
            still earns the agency its commission: payments it arranged that arrive late.
        grace_days_by_reason: The grace of a placement that ended for a given reason (a
            recall reason, ``returned``, ``term_end``, ``contract_ended``,
            ``agency_suspended``), instead of ``grace_days``: none after a suspension.
        commission_base: What commission is paid on when the agency's contract does not say:
            ``remitted`` (every amount paid while placed) or ``placed_amount`` (that, capped
            at what the case owed when it was placed).
        in_house_channel: The channel of a case the rules send to an agency when no agency can
            take it.
        per_borrower: All of a borrower's debts with one agency: a case whose borrower
            (``borrower.party_id``) has another case placed or proposed goes to that agency
            or stays in-house (``borrower_elsewhere`` for the others).
        positions: Where each setting is written, for problems found against the agencies.
    """

    strategy: str = "capacity"
    shares: Mapping[str, Decimal] = field(default_factory=dict)
    minimum_share: Decimal = Decimal("0.1")
    salt: str = ""
    notice_lead_days: int = 7
    notice_expiry_days: int = 30
    term_days: int = 90
    cool_off_days: int = 30
    grace_days: int = 0
    grace_days_by_reason: Mapping[str, int] = field(default_factory=dict)
    commission_base: str = "remitted"
    in_house_channel: Channel = Channel.FIELD_VISIT
    per_borrower: bool = True
    positions: Mapping[str, Pos] = field(default_factory=dict, repr=False, compare=False)


# --- agency settings: an agency's procedure -----------------------------------------------------


@dataclass(frozen=True)
class IntakeSettings:
    """``agency: intake:``: how soon a bank's file is taken in, and how many backups are kept.

    Attributes:
        within_minutes: From receipt to completion (the seed: within 2 hours).
        backups: Verified backups each batch must have (the seed: two).
        banks: Each bank's spreadsheet layout, by bank id.
    """

    within_minutes: int = 120
    backups: int = 2
    banks: Mapping[str, BankLayout] = field(default_factory=dict)


@dataclass(frozen=True)
class BankLayout:
    """How a bank's spreadsheet is read: its headers for the case fields, and fixed values.

    Attributes:
        columns: Case field path → the bank's header (``loan.principal``: ``透支本金``).
        defaults: Case field path → the value for a field the sheet leaves out.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcedureSettings:
    """One special procedure: who approves it, and the bank's limit on it.

    Attributes:
        approval: The role whose approval it needs (the seed: the collection supervisor).
        max_instalments: An instalment plan's most instalments.
        max_share: A waiver's largest share of what the customer owes.
        max_days: A suspension's longest length in days.
    """

    approval: str = "supervisor"
    max_instalments: int | None = None
    max_share: Decimal | None = None
    max_days: int | None = None

    def beyond_limit(
        self,
        *,
        instalments: int | None = None,
        amount: Decimal | None = None,
        owed: Decimal | None = None,
        days: int | None = None,
    ) -> str | None:
        """Why a request's terms are beyond the bank's limit, or ``None`` when they are within.

        ``amount`` is a waiver's, ``owed`` what the customer owes (its share is measured on it);
        ``days`` a suspension's length. Terms the request does not give are not judged.
        """
        most = self.max_instalments
        if most is not None and instalments is not None and instalments > most:
            return f"{instalments} instalments: more than the bank's {most}"
        share = self.max_share
        if share is not None and amount is not None and owed and amount > owed * share:
            return (
                f"a waiver of {amount} is more than {share:%} of the {owed} owed "
                f"({(owed * share).quantize(Decimal('0.01'))})"
            )
        if self.max_days is not None and days is not None and days > self.max_days:
            return f"{days} days: longer than the bank's {self.max_days}"
        return None


@dataclass(frozen=True)
class AssignmentRule:
    """A rule of ``agency: assignment:``: the team and skills a case needs.

    Attributes:
        id: The rule's id.
        when: The checked condition over the facts; ``None`` always holds.
        when_text: The condition as written.
        team: The team whose collectors take the case (``None``: any team).
        skills: Skills the collector must have (``field_visit``…).
        same_language: The collector must speak the borrower's language, when it is known.
        doc: The analyst's description.
        pos: Where the rule starts in the file.
    """

    id: str
    when: Node | None
    when_text: str
    team: str | None
    skills: tuple[str, ...]
    same_language: bool
    doc: str
    pos: Pos


@dataclass(frozen=True)
class AgencySettings:
    """The ``agency:`` section: an agency's procedure for the bank's cases it works.

    Attributes:
        intake: How a bank's file is taken in.
        procedures: Each special procedure's settings (``instalment_plan``, ``waiver``,
            ``suspension``).
        keep_collector: A case keeps its collector while the collector is active.
        assignment: The assignment rules, in file order (the first that holds decides).
    """

    intake: IntakeSettings = field(default_factory=IntakeSettings)
    procedures: Mapping[str, ProcedureSettings] = field(
        default_factory=lambda: MappingProxyType(
            {name: ProcedureSettings() for name in ("instalment_plan", "waiver", "suspension")}
        )
    )
    keep_collector: bool = True
    assignment: tuple[AssignmentRule, ...] = ()


# --- guard settings: what the guards need at run time ------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactWindow:
    """Contact only between ``start`` and ``end`` (party's local time), never on quiet days."""

    start: time
    end: time
    calendar: str | None  # a country code of the ``holidays`` package: its holidays are quiet
    quiet_dates: frozenset[date]


@dataclass(frozen=True, slots=True)
class ConnectedCalls:
    """At most ``per_day`` calls that reached a debtor, per debtor and local day."""

    per_day: int


@dataclass(frozen=True, slots=True)
class UnansweredDials:
    """At most ``per_number_per_day`` unanswered dials of one number; then defer or send an SMS."""

    per_number_per_day: int
    then: str  # defer | sms


@dataclass(frozen=True, slots=True)
class RollingCalls:
    """At most ``max_calls`` calls in ``days`` days, none for ``after_conversation_days``."""

    max_calls: int
    days: int
    after_conversation_days: int


@dataclass(frozen=True, slots=True)
class ThirdParties:
    """When third parties may be contacted (borrower lost) and what they are told."""

    lost_after_failed_attempts: int
    template: str


@dataclass(frozen=True, slots=True)
class ContactStatus:
    """No contact with a debtor who asked for none, disputes, died, is bankrupt or represented."""


@dataclass(frozen=True, slots=True)
class FieldVisits:
    """Field visits need a known address and, where required, a recording."""

    require_address: bool
    require_recording: bool


@dataclass(frozen=True, slots=True)
class OutsourcingNotice:
    """A case goes to an agency only after the borrower was told; the notice's template."""

    template: str


@dataclass(frozen=True, slots=True)
class CollectionFees:
    """No fee may be charged to the debtor in the name of collection: collection fees are cut."""


@dataclass(frozen=True, slots=True)
class ChargesCap:
    """Penalty interest and fees cut so that all charges stay under a yearly rate on principal."""

    mode: str  # lpr_multiple | fixed_rate
    multiple: Decimal
    rate: Decimal
    penalty_multiplier_min: Decimal | None
    penalty_multiplier_max: Decimal | None
    penalty_multiplier_default: Decimal | None
    card_charges: str  # contract | measured: whether a card's booked charges are measured
    lpr: LprTable


@dataclass(frozen=True, slots=True)
class Limitation:
    """Debts due over ``years`` ago are flagged; guarantors after their guarantee period.

    Legal action on such a debt needs ``approval``. The guarantee period ends
    ``guarantee_months`` after the debt fell due unless the case says otherwise (0: only where
    the case says).
    """

    years: int
    approval: str
    guarantee_months: int


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """Every guard's settings; ``None`` means the guard is off."""

    profile: str
    contact_window: ContactWindow | None
    connected_calls: ConnectedCalls | None
    unanswered_dials: UnansweredDials | None
    rolling_calls: RollingCalls | None
    third_parties: ThirdParties | None
    contact_status: ContactStatus | None
    field_visits: FieldVisits | None
    outsourcing_notice: OutsourcingNotice | None
    collection_fees: CollectionFees | None
    charges_cap: ChargesCap | None
    limitation: Limitation | None
