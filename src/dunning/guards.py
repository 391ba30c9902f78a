"""Stage 6 of the pipeline: compliance guards, applied to every decision after the engine.

A policy says what the lender would like to do; guards say what the law and the conduct code
allow. A guard never drops an action silently: it moves it (``not_before``), narrows it (fewer
recipients, no debt details, less collected), replaces it (a softer channel, or ``none``), cuts
charges to the cap, or flags it for approval — and records each of these in
``Decision.guards``. Guards read only the case and the decision (no clock), and applying them
to their own result changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import cache, cached_property
from typing import Any
from zoneinfo import ZoneInfo

from .delinquency import Assessment
from .facts import is_outsourcing_notice
from .messages import DEFAULT_SMS_TEMPLATE
from .model import (
    CONVERSATION,
    FAILED,
    Action,
    Case,
    Channel,
    ContactAttempt,
    ContactChannel,
    ContactResult,
    Decision,
    FeeTerms,
    GuardEffect,
    GuardRecord,
    HandledBy,
    Message,
    Party,
    Product,
    Role,
)
from .money import MINOR_UNITS, quantum
from .rules.ir import ChargesCap, ContactWindow, GuardConfig
from .schedule import debt_due_date, month_after

__all__ = [
    "CONTACT_CHANNELS",
    "Allowance",
    "Guards",
    "charges_allowance",
    "holiday_dates",
    "recording_warnings",
]

#: Channels that reach a person, so that windows, caps and the obligor rule apply.
CONTACT_CHANNELS = frozenset({Channel.SMS, Channel.CALL, Channel.FIELD_VISIT})
#: Contracts signed before this day keep the old 24% cap for interest accrued before it
#: (SPC private-lending provisions as revised in 2020, Art. 31).
SPC_REFORM = date(2020, 8, 20)
OLD_CAP = Decimal("0.24")
#: How far a guard may move an action before it gives up and proposes nothing.
HORIZON = timedelta(days=400)


def recording_warnings(case: Case) -> list[str]:
    """Return the paths of field-visit contact records that lack a ``recording_ref``."""
    return [
        f"contacts[{i}].recording_ref"
        for i, contact in enumerate(case.contacts)
        if contact.channel is ContactChannel.FIELD_VISIT and contact.recording_ref is None
    ]


class Guards:
    """The guards of one policy: immutable, safe to share between threads."""

    def __init__(self, config: GuardConfig, days_in_year: int) -> None:
        self.config = config
        self.days_in_year = days_in_year

    def apply(
        self,
        case: Case,
        decision: Decision,
        assessment: Assessment,
        allowance: Allowance | None = None,
    ) -> Decision:
        """Return ``decision`` as the guards allow it, with what each guard did recorded.

        Args:
            case: The case the decision is for.
            decision: The policy's (or a person's) decision.
            assessment: The case's assessment at the decision's moment: the overdue principal
                and days the charges cap is measured on, and the charges the host booked.
            allowance: What the charges cap allows, when the caller measured it already
                (:meth:`allowance`).
        """
        run = _Run(self, case, decision, assessment, allowance)
        run.check()
        return run.result()

    def allowance(self, case: Case, assessment: Assessment) -> Allowance | None:
        """What the charges cap allows ``case`` (``None``: the cap is off)."""
        cap = self.config.charges_cap
        return None if cap is None else charges_allowance(cap, case, assessment, self.days_in_year)

    def lawful(
        self, case: Case, assessment: Assessment, allowance: Allowance | None = None
    ) -> Assessment:
        """The assessment as the customer can lawfully be asked for it: what the rules read.

        The penalty interest the policy computed is held to what the charges cap allows, so that
        no rule sees a total due (a large-amount threshold, say) made of penalty the cap would
        remove later. The host's booked figures (snapshots) are as given.
        """
        if self.config.charges_cap is None or assessment.source != "computed":
            return assessment
        if not assessment.penalty_interest:
            return assessment
        measured = allowance if allowance is not None else self.allowance(case, assessment)
        assert measured is not None  # the cap is on
        allowed = measured.allowed
        if assessment.penalty_interest <= allowed:
            return assessment
        cut = assessment.penalty_interest - allowed
        return assessment.model_copy(
            update={"penalty_interest": allowed, "total_due": assessment.total_due - cut}
        )


@dataclass
class _Run:
    """One application of the guards: the action and fee terms as they are being changed."""

    guards: Guards
    case: Case
    decision: Decision
    assessment: Assessment
    allowance: Allowance | None = None
    action: dict[str, Any] = field(init=False)
    fees: dict[str, Any] = field(init=False)
    records: list[GuardRecord] = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.guards.config
        self.as_of = self.decision.as_of
        # Plain dicts of the already validated fields; result() builds the models again.
        self.action = dict(self.decision.action.__dict__)
        if self.action["not_before"] is not None and self.action["not_before"] <= self.as_of:
            self.action["not_before"] = None  # a moment already past means: at once
        self.fees = dict(self.decision.fee_terms.__dict__)
        self.records = list(self.decision.guards)
        self.today = self.as_of.astimezone(self.case.borrower.zone).date()

    # Read only by the guards a decision reaches (most decisions never look at the history).
    @cached_property
    def contacts(self) -> list[ContactAttempt]:
        """The contacts recorded up to the decision's moment."""
        return [c for c in self.case.contacts if c.at <= self.as_of]

    @cached_property
    def debtor_contacts(self) -> list[ContactAttempt]:
        """The contacts of the day caps count: the case's and the borrower's other debts'.

        The caps are per person across the lender and its agencies: a call about another loan
        of the borrower's is a call to the same person.
        """
        if not self.case.debtor_contacts:
            return self.contacts
        # One call about two debts may be recorded on both cases: it is one call.
        found = list(self.contacts)
        seen = {_call_key(c) for c in found}
        for contact in self.case.debtor_contacts:
            if contact.at <= self.as_of and _call_key(contact) not in seen:
                seen.add(_call_key(contact))
                found.append(contact)
        return found

    @cached_property
    def parties(self) -> dict[str, Party]:
        """The case's parties by id."""
        return {p.party_id: p for p in self.case.parties()}

    # -- bookkeeping

    def record(
        self, guard: str, effect: GuardEffect, reason: str, amount: Decimal | None = None
    ) -> None:
        entry = GuardRecord.model_construct(id=guard, effect=effect, reason=reason, amount=amount)
        if entry not in self.records:  # idempotence: a second pass adds nothing new
            self.records.append(entry)

    @property
    def channel(self) -> Channel:
        channel: Channel = self.action["channel"]
        return channel

    def replace(self, guard: str, channel: Channel, reason: str, **changes: Any) -> None:
        before = self.channel
        self.action.update(
            channel=channel,
            handled_by=HandledBy.INTERNAL,
            recipients=(),
            not_before=None,
            requires_recording=False,
            message=None,
        )
        self.action.update(changes)
        if channel is not Channel.OUTSOURCE and self.case.placement is None:
            self.fees["commission_rate"] = None  # an agency earns only on the cases it holds
        self.record(guard, GuardEffect.REPLACE, f"{before} → {channel}: {reason}")

    def result(self) -> Decision:
        # The message is rendered after the guards (dunning.messages): it quotes what was cut.
        fees_changed = self.fees != self.decision.fee_terms.__dict__
        update: dict[str, Any] = {"guards": tuple(self.records)}
        # Guards only move, narrow and cut valid values, so the models need no new validation.
        if self.action != self.decision.action.__dict__:
            update["action"] = Action.model_construct(**self.action)
        if fees_changed:
            update["fee_terms"] = FeeTerms.model_construct(**self.fees)
        if update["guards"] == self.decision.guards and len(update) == 1:
            return self.decision
        return self.decision.model_copy(update=update)

    # -- the guards, in order

    def check(self) -> None:
        paths = recording_warnings(self.case) if self.config.field_visits is not None else []
        if paths:
            shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
            self.record(
                "field_visits",
                GuardEffect.WARN,
                f"field visit records without a recording reference: {shown}",
            )
        if self.config.collection_fees is not None:
            self.no_collection_fee()
        if self.config.charges_cap is not None:
            self.cap_charges(self.config.charges_cap)
        self.hold_disputed()
        if self.config.contact_status is not None:
            self.contact_status()
        if self.config.outsourcing_notice is not None:
            self.outsourcing_notice(self.config.outsourcing_notice.template)
        if self.config.field_visits is not None:
            self.field_visit()
        if self.channel in CONTACT_CHANNELS:
            self.recipients()
        if self.channel in CONTACT_CHANNELS:
            self.timing()
        if self.config.limitation is not None:
            self.limitation()

    def no_collection_fee(self) -> None:
        """Guard 8b: no fee is charged to the debtor in the name of collection."""
        fee = self.fees["collection_fee"]
        if fee <= 0:
            return
        self.fees["collection_fee"] -= fee
        self.fees["total_due"] -= fee
        self.record(
            "collection_fees",
            GuardEffect.CUT,
            f"collection fee {fee} cut to 0: no fee may be charged to the debtor in the name of "
            "collection (China Banking Association collection guideline, 2026)",
            fee,
        )

    def cap_charges(self, cap: ChargesCap) -> None:
        """Guard 9: penalty interest and fees no higher than the cap allows on what is overdue.

        The room is measured as a court measures it: each overdue instalment's unpaid principal
        over the days it has been overdue, at the cap's yearly rate (SPC private-lending
        provisions arts. 28-29). Only what the policy adds — the penalty it computes, the
        collection fee it sets — is cut; charges the host booked are flagged, never rewritten.
        """
        loan = self.case.loan
        allowance = self.allowance or charges_allowance(
            cap, self.case, self.assessment, self.guards.days_in_year
        )
        allowed, pieces, paid = allowance.allowed, allowance.pieces, allowance.paid
        described, worst = allowance.described, allowance.lowest_rate
        if worst is not None and loan.annual_rate > worst:
            self.record(
                "charges_cap",
                GuardEffect.FLAG,
                f"the contract rate {_pct(loan.annual_rate)} is above the cap ({described}): "
                "interest above the cap may not be enforceable; ask counsel",
            )
        # What the host booked is its snapshot's penalty (as far as the decision still
        # charges it) and its fees; the rest of the penalty was added by the policy.
        booked_penalty = Decimal(0)
        if self.assessment.source == "snapshot":
            penalty, host = self.fees["penalty_interest"], self.assessment.penalty_interest
            booked_penalty = host if penalty >= host else penalty
        booked = self.fees["other_fees"] + booked_penalty
        charged = booked + self.fees["collection_fee"] + self.fees["penalty_interest"]
        charged -= booked_penalty
        excess = charged - allowed
        if excess <= 0:
            return
        measured = f"{allowed} the cap allows on {_pieces(pieces)} ({described})"
        if paid:
            measured += f", less the penalty interest {paid} already paid"
        cuts, left = [], excess
        for key, label, keep in (
            ("collection_fee", "collection fee", Decimal(0)),
            ("penalty_interest", "penalty interest", booked_penalty),
        ):
            cut = min(left, self.fees[key] - keep)
            if cut > 0:
                self.fees[key] -= cut
                left -= cut
                cuts.append(f"{label} by {cut}")
        if cuts:
            self.fees["total_due"] -= excess - left
            self.record(
                "charges_cap",
                GuardEffect.CUT,
                f"penalty interest and fees {charged} exceed the {measured}; cut by "
                f"{excess - left}: {', '.join(cuts)}",
                excess - left,
            )
        if left > 0 and cap.card_charges == "contract" and loan.product is Product.CREDIT_CARD:
            # A card's 违约金 and fees are the card contract's (PBOC 银发〔2016〕111号 leaves
            # the 违约金 to it): one-off charges a court weighs with the whole claim when it is
            # brought (法释〔2021〕10号 art. 2), not per day overdue. What the policy added
            # was cut above; the bank's own are not flagged.
            return
        if left > 0:
            what = f"other fees {self.fees['other_fees']}"
            if booked_penalty:
                what += f" and penalty interest {booked_penalty}"
            self.record(
                "charges_cap",
                GuardEffect.FLAG,
                f"charges the host booked ({what}) exceed the {measured} by {left}: not "
                "changed here; correct them in the host's books if counsel agrees",
                left,
            )

    def gross(self) -> Decimal:
        f = self.fees
        return Decimal(
            f["overdue_principal"]
            + f["overdue_interest"]
            + f["penalty_interest"]
            + f["other_fees"]
            + f["collection_fee"]
        )

    def hold_disputed(self) -> None:
        """Guard 6, partial dispute: the disputed amount is not collected until resolved."""
        disputed = self.case.disputed_amount
        if not self.case.dispute or disputed is None or self.config.contact_status is None:
            return
        hold = min(disputed, self.gross()).quantize(quantum(self.case.loan.currency))
        if hold > self.fees["on_hold"]:
            self.fees["total_due"] -= hold - self.fees["on_hold"]
            self.fees["on_hold"] = hold
            self.record(
                "contact_status",
                GuardEffect.NARROW,
                f"{hold} is disputed and not collected until the dispute is resolved",
                hold,
            )

    def contact_status(self) -> None:
        """Guard 6: no contact (or agency) for a debtor who may not be contacted."""
        case = self.case
        reasons = []
        if case.do_not_contact:
            reasons.append("the borrower asked not to be contacted")
        if case.deceased:
            reasons.append("the borrower is deceased")
        if case.bankrupt:
            reasons.append("the borrower is bankrupt")
        if case.attorney_represented:
            reasons.append("the borrower is represented by an attorney: deal with the attorney")
        whole_dispute = case.dispute and (
            case.disputed_amount is None or self.fees["total_due"] <= 0
        )
        if whole_dispute:
            reasons.append("the debt is disputed: no collection until the dispute is resolved")
        channel = self.channel
        blocked = CONTACT_CHANNELS | {Channel.OUTSOURCE}
        if whole_dispute:
            blocked |= {Channel.LEGAL_PRESERVATION}
        if reasons and channel in blocked:
            self.replace("contact_status", Channel.NONE, "; ".join(reasons))
        elif reasons and channel is Channel.LEGAL_PRESERVATION:
            self.require_approval("contact_status", "supervisor", "; ".join(reasons))

    def require_approval(self, guard: str, role: str, reason: str) -> None:
        current = self.action["requires_approval"]
        if current is None:
            self.action["requires_approval"] = role
        elif role not in current.split("+"):
            self.action["requires_approval"] = f"{current}+{role}"
        self.record(guard, GuardEffect.FLAG, f"{reason}; {role} approval required")

    def outsourcing_notice(self, template: str) -> None:
        """Guard 8: the borrower is told before a case is placed with an agency."""
        if self.channel is not Channel.OUTSOURCE or self.case.placement is not None:
            return
        if any(is_outsourcing_notice(c, self.case.borrower.party_id) for c in self.contacts):
            return
        self.replace(
            "outsourcing_notice",
            Channel.SMS,
            "no outsourcing notice on record: the borrower is told before an agency is used",
            recipients=(self.case.borrower.party_id,),
            message=Message(template=template),
        )

    def field_visit(self) -> None:
        """Guard 7: a field visit needs a known address and is recorded."""
        if self.channel is not Channel.FIELD_VISIT:
            return
        settings = self.config.field_visits
        assert settings is not None
        targets = self.action["recipients"] or (self.case.borrower.party_id,)
        if settings.require_address:
            known = tuple(p for p in targets if self.parties[p].addresses)
            if not known:
                self.replace(
                    "field_visits",
                    Channel.CALL,
                    f"no address known for {', '.join(targets)}",
                    recipients=tuple(targets),
                    message=self.action["message"],
                )
                return
            if known != tuple(targets):
                missing = ", ".join(p for p in targets if p not in known)
                self.action["recipients"] = known
                self.record("field_visits", GuardEffect.NARROW, f"no address known for {missing}")
        if settings.require_recording:
            self.action["requires_recording"] = True
            self.record(
                "field_visits", GuardEffect.FLAG, "the visit must be recorded (audio or video)"
            )

    def borrower_lost(self, failed_in_a_row: int) -> bool:
        """Whether the borrower cannot be reached: flagged, no valid number, or repeated failure."""
        borrower = self.case.borrower
        if self.case.lost_contact or not borrower.phones:
            return True
        wrong = {c.number for c in self.contacts if c.outcome is ContactResult.WRONG_NUMBER}
        if all(phone in wrong for phone in borrower.phones):
            return True
        tried = sorted(
            (c for c in self.contacts if c.party_id == borrower.party_id), key=lambda c: c.at
        )
        last = tried[-failed_in_a_row:]
        return len(last) == failed_in_a_row and all(c.outcome in FAILED for c in last)

    def recipients(self) -> None:
        """Guards 5 and 6: debt details only to obligors; third parties only to find a lost one."""
        targets = list(self.action["recipients"] or (self.case.borrower.party_id,))
        dropped: list[tuple[str, str, str]] = []  # (guard, party, why)
        keep = []
        settings = self.config.third_parties
        lost = settings is not None and self.borrower_lost(settings.lost_after_failed_attempts)
        refused = {
            c.party_id
            for c in self.contacts
            if c.outcome is ContactResult.REFUSED and not self.parties[c.party_id].is_obligor
        }
        for party_id in targets:
            party = self.parties[party_id]
            if party.do_not_contact and self.config.contact_status is not None:
                dropped.append(("contact_status", party_id, "asked not to be contacted"))
            elif party.is_obligor or settings is None:
                keep.append(party_id)
            elif not lost:
                dropped.append(
                    ("third_parties", party_id, "is a third party and the borrower is reachable")
                )
            elif party_id in refused:
                dropped.append(("third_parties", party_id, "refused before: never again"))
            elif self.channel is Channel.FIELD_VISIT:
                dropped.append(("third_parties", party_id, "is a third party: no field visits"))
            else:
                keep.append(party_id)
        third = [p for p in keep if not self.parties[p].is_obligor]
        if third and len(third) < len(keep):
            for party_id in third:
                dropped.append(
                    ("third_parties", party_id, "is a third party: no debt details in this action")
                )
            keep = [p for p in keep if self.parties[p].is_obligor]
        for guard, party_id, why in dropped:
            self.record(guard, GuardEffect.NARROW, f"{party_id} {why}")
        if not keep:
            self.replace("third_parties", Channel.NONE, "no one left who may be contacted")
            return
        self.action["recipients"] = tuple(keep)
        if settings is not None and not self.parties[keep[0]].is_obligor:
            restore = Message(template=settings.template)
            if self.action["message"] != restore:
                self.action["message"] = restore
                self.record(
                    "third_parties",
                    GuardEffect.NARROW,
                    f"the borrower is lost: {', '.join(keep)} get the {settings.template} "
                    "message, which says nothing of the debt",
                )

    # -- guards 1-4: when

    def timing(self) -> None:
        """Guards 1-4: the earliest moment inside every recipient's window and under every cap."""
        start = max(self.as_of, self.action["not_before"] or self.as_of)
        when = start
        reasons: dict[str, str] = {}
        steps = 0
        while True:
            steps += 1
            moved = False
            for guard, constraint in self.constraints():
                later, why = constraint(when)
                if later is None:  # the constraint changed the channel: start over
                    moved = True
                    break
                if later > when:
                    # A cap moves to the next day's midnight and the window then opens it:
                    # only a window that moved the original moment is a reason of its own.
                    if guard != "contact_window" or not reasons:
                        reasons.setdefault(guard, why)
                    when, moved = later, True
                    break
            if not moved:
                break
            if when - self.as_of > HORIZON or steps > 10_000:
                self.replace(
                    "contact_window",
                    Channel.NONE,
                    f"no permitted moment within {HORIZON.days} days",
                )
                return
        if self.channel not in CONTACT_CHANNELS:
            return
        if when > self.as_of:  # also when a fallback to SMS reset the proposal's not_before
            self.action["not_before"] = when
        for guard, why in reasons.items():
            self.record(guard, GuardEffect.DEFER, f"{why}; not before {when.isoformat()}")

    def constraints(
        self,
    ) -> Iterator[tuple[str, Callable[[datetime], tuple[datetime | None, str]]]]:
        config = self.config
        if config.contact_window is not None:
            yield "contact_window", self.window_constraint(config.contact_window)
        if self.channel is not Channel.CALL:
            return
        if config.connected_calls is not None:
            yield "connected_calls", self.connected_constraint(config.connected_calls.per_day)
        if config.unanswered_dials is not None:
            yield "unanswered_dials", self.dials_constraint()
        if config.rolling_calls is not None:
            yield "rolling_calls", self.rolling_constraint()

    def targets(self) -> list[Party]:
        return [self.parties[p] for p in self.action["recipients"]]

    def window_constraint(
        self, window: ContactWindow
    ) -> Callable[[datetime], tuple[datetime | None, str]]:
        def check(when: datetime) -> tuple[datetime | None, str]:
            latest, why = when, ""
            for party in self.targets():
                opening = next_opening(window, party.zone, when)
                if opening > latest:
                    latest = opening
                    local = when.astimezone(party.zone)
                    why = (
                        f"{local:%Y-%m-%d %H:%M} in {party.timezone} is outside the contact "
                        f"window {window.start:%H:%M}-{window.end:%H:%M} or a quiet day"
                    )
            return latest, why

        return check

    def connected_constraint(self, per_day: int) -> Callable[[datetime], tuple[datetime, str]]:
        def check(when: datetime) -> tuple[datetime, str]:
            for party in self.targets():
                day = when.astimezone(party.zone).date()
                talks = [
                    c
                    for c in self.debtor_contacts
                    if c.party_id == party.party_id
                    and c.channel is ContactChannel.CALL
                    and c.outcome in CONVERSATION
                    and c.at.astimezone(party.zone).date() == day
                ]
                if len(talks) >= per_day:
                    own = {_call_key(c) for c in self.contacts}
                    elsewhere = sum(1 for c in talks if _call_key(c) not in own)
                    about = f", {elsewhere} of them about their other debts" if elsewhere else ""
                    return _midnight(day + timedelta(days=1), party.zone), (
                        f"{party.party_id} was reached by {len(talks)} calls on {day}{about} "
                        f"(at most {per_day} a day)"
                    )
            return when, ""

        return check

    def dials_constraint(self) -> Callable[[datetime], tuple[datetime | None, str]]:
        settings = self.config.unanswered_dials
        assert settings is not None
        limit = settings.per_number_per_day

        def check(when: datetime) -> tuple[datetime | None, str]:
            for party in self.targets():
                day = when.astimezone(party.zone).date()
                dials = [
                    c
                    for c in self.debtor_contacts
                    if c.party_id == party.party_id
                    and c.channel is ContactChannel.CALL
                    and c.outcome in FAILED
                    and c.at.astimezone(party.zone).date() == day
                ]
                numbers = party.phones or ("",)
                # A dial recorded without its number counts against every number of the party.
                if all(
                    sum(1 for c in dials if c.number in (None, number)) >= limit
                    for number in numbers
                ):
                    why = f"every number of {party.party_id} had {limit} unanswered dials on {day}"
                    if settings.then == "sms":
                        self.replace(
                            "unanswered_dials",
                            Channel.SMS,
                            why,
                            recipients=self.action["recipients"],
                            message=self.action["message"]
                            or Message(template=DEFAULT_SMS_TEMPLATE),
                        )
                        return None, why
                    return _midnight(day + timedelta(days=1), party.zone), why
            return when, ""

        return check

    def rolling_constraint(self) -> Callable[[datetime], tuple[datetime, str]]:
        settings = self.config.rolling_calls
        assert settings is not None
        zone = self.case.borrower.zone
        calls = sorted(
            (c.at.astimezone(zone).date() for c in self.contacts if _is_call(c)), reverse=True
        )
        talks = [
            c.at.astimezone(zone).date()
            for c in self.contacts
            if _is_call(c) and c.outcome in CONVERSATION
        ]
        last_talk = max(talks, default=None)

        def check(when: datetime) -> tuple[datetime, str]:
            day = when.astimezone(zone).date()
            window_start = day - timedelta(days=settings.days - 1)
            recent = sum(1 for d in calls if window_start <= d <= day)
            if recent >= settings.max_calls:
                free = calls[settings.max_calls - 1] + timedelta(days=settings.days)
                return _midnight(free, zone), (
                    f"{recent} calls in the {settings.days} days to {day} "
                    f"(at most {settings.max_calls})"
                )
            if (
                last_talk is not None
                and settings.after_conversation_days
                and day < last_talk + timedelta(days=settings.after_conversation_days)
            ):
                free = last_talk + timedelta(days=settings.after_conversation_days)
                return _midnight(free, zone), (
                    f"a conversation on {last_talk}: no call for "
                    f"{settings.after_conversation_days} days"
                )
            return when, ""

        return check

    def limitation(self) -> None:
        """Guard 10: a debt long due may be time-barred; so may a guarantee.

        For a debt payable in instalments the three-year period runs from the last
        instalment's due date, or from the acceleration that made the whole loan due (PRC Civil
        Code art. 189). A guarantor answers only within the guarantee period: the one the case
        gives, else six months after the debt fell due (art. 692).
        """
        settings = self.config.limitation
        assert settings is not None
        loan = self.case.loan
        due = debt_due_date(loan)
        if self.decision.dpd > 0 and month_after(due, 12 * settings.years) <= self.today:
            how = (
                f"the loan was declared due on {due}"
                if loan.accelerated_on is not None and due == loan.accelerated_on
                else f"its last instalment fell due on {due}"
            )
            reason = (
                f"{how}, over {settings.years} years ago: the limitation period (Civil Code "
                "art. 188-189) may have run, unless a payment, an acknowledgement or a demand "
                "interrupted it (art. 195)"
            )
            if self.channel is Channel.LEGAL_PRESERVATION:
                self.require_approval("limitation", settings.approval, reason)
            else:
                self.record("limitation", GuardEffect.FLAG, reason)
        if self.channel not in CONTACT_CHANNELS:
            return
        for party_id in self.action["recipients"]:
            party = self.parties[party_id]
            if party.role is not Role.GUARANTOR:
                continue
            months = settings.guarantee_months
            ends = party.guarantee_ends or (month_after(due, months) if months else None)
            if ends is not None and self.today > ends:
                basis = (
                    "as the case gives it"
                    if party.guarantee_ends is not None
                    else f"{months} months after the debt fell due on {due}, Civil Code art. 692"
                )
                self.record(
                    "limitation",
                    GuardEffect.FLAG,
                    f"{party_id} is a guarantor whose guarantee period ended on {ends} ({basis}): "
                    "contact them only if performance was demanded of them within it (art. 693)",
                )


@dataclass(frozen=True, slots=True)
class Allowance:
    """What the charges cap allows a case, and how it was measured.

    Attributes:
        allowed: The most penalty interest + fees may come to (rounded down to the cent, less
            the penalty already paid on the overdue instalments).
        pieces: The overdue principal over time it was measured on: ``(start, end, principal)``.
        paid: The penalty interest already paid on those instalments.
        described: The cap's yearly rate(s), in words.
        lowest_rate: The lowest yearly rate applied (``None``: nothing overdue).
    """

    allowed: Decimal
    pieces: tuple[tuple[date, date, Decimal], ...]
    paid: Decimal
    described: str
    lowest_rate: Decimal | None


def charges_allowance(
    cap: ChargesCap, case: Case, assessment: Assessment, days_in_year: int
) -> Allowance:
    """Measure what the charges cap allows ``case``, as a court measures overdue charges.

    Each overdue instalment's unpaid principal over the days it has been overdue, at the cap's
    yearly rate on each of those days (SPC private-lending provisions arts. 28-29).
    """
    today = assessment.as_of
    pieces = _overdue_pieces(assessment, today)
    room, described, lowest = _cap_room(cap, case, pieces, today)
    unit = Decimal(1).scaleb(-MINOR_UNITS[case.loan.currency])
    # Penalty already paid on these instalments used part of the room.
    paid = sum((i.penalty_paid for i in assessment.overdue_installments), Decimal(0))
    allowed = max((room / days_in_year).quantize(unit, ROUND_FLOOR) - paid, Decimal(0))
    return Allowance(allowed, tuple(pieces), paid, described, lowest)


def _overdue_pieces(assessment: Assessment, today: date) -> list[tuple[date, date, Decimal]]:
    """The overdue principal over time: ``(start, end, principal)`` periods.

    From the schedule, each instalment's unpaid periods; for a host snapshot, which has no
    instalments, the whole overdue principal over ``dpd`` days (an upper bound of the room).
    """
    if assessment.source == "computed":
        return [p for item in assessment.overdue_installments for p in item.unpaid_periods]
    if assessment.dpd <= 0 or not assessment.overdue_principal:
        return []
    start = today - timedelta(days=assessment.dpd)
    return [(start, today, assessment.overdue_principal)]


def _cap_room(
    cap: ChargesCap, case: Case, pieces: list[tuple[date, date, Decimal]], today: date
) -> tuple[Decimal, str, Decimal | None]:
    """Return (principal × days × yearly rate, summed; its description; the lowest rate)."""
    if cap.mode == "fixed_rate":
        regimes = [(date.min, cap.rate, f"{_pct(cap.rate)} a year, the policy's fixed cap")]
    elif (signed := case.loan.signing_date) >= SPC_REFORM:
        lpr = cap.lpr.on(signed)
        regimes = [
            (
                date.min,
                cap.multiple * lpr,
                f"{cap.multiple} × LPR {_pct(lpr)} on the signing date {signed} "
                f"= {_pct(cap.multiple * lpr)} a year",
            )
        ]
    else:
        lpr = cap.lpr.on(today)
        regimes = [
            (date.min, OLD_CAP, f"{_pct(OLD_CAP)} a year before {SPC_REFORM}"),
            (
                SPC_REFORM,
                cap.multiple * lpr,
                f"{cap.multiple} × LPR {_pct(lpr)} today = {_pct(cap.multiple * lpr)} "
                f"a year from {SPC_REFORM} (contract signed {signed})",
            ),
        ]
    if len(regimes) == 1:  # one rate throughout: principal-days at it
        if not pieces:
            return Decimal(0), "no days overdue", None
        principal_days = sum((p * (end - start).days for start, end, p in pieces), Decimal(0))
        return principal_days * regimes[0][1], regimes[0][2], regimes[0][1]
    room = Decimal(0)
    used: dict[str, Decimal] = {}
    for start, end, principal in pieces:
        for i, (since, rate, text) in enumerate(regimes):
            until = regimes[i + 1][0] if i + 1 < len(regimes) else date.max
            # The days d with start < d <= end and since <= d < until.
            first = max(start + timedelta(days=1), since)
            last = min(end, until - timedelta(days=1))
            days = (last - first).days + 1
            if days > 0:
                room += principal * rate * days
                used[text] = rate
    if not used:
        return Decimal(0), "no days overdue", None
    return room, "; ".join(used), min(used.values())


def _pieces(pieces: Iterable[tuple[date, date, Decimal]]) -> str:
    """The overdue principal in words: ``1000.00 for 40 days, 500.00 for 10 days``."""
    pieces = list(pieces)
    if not pieces:
        return "no overdue principal"
    shown = [f"{principal} for {(end - start).days} days" for start, end, principal in pieces[:3]]
    more = f" and {len(pieces) - 3} more periods" if len(pieces) > 3 else ""
    return "the overdue principal: " + ", ".join(shown) + more


def _is_call(contact: ContactAttempt) -> bool:
    return contact.channel is ContactChannel.CALL


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return _instant(day, time(0), zone)


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A wall time inside a DST gap does not exist: the round trip moves it past the gap.
    return datetime.combine(day, at, zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


@cache
def holiday_dates(country: str, year: int) -> frozenset[date]:
    """Return the public holidays of ``country`` in ``year`` from the ``holidays`` package.

    Cached: the package computes a year on first use, and a decision must not pay for it twice.
    """
    import holidays

    return frozenset(holidays.country_holidays(country, years=year))


def is_quiet(window: ContactWindow, day: date) -> bool:
    """Whether ``day`` is a quiet day (listed, or a holiday of the window's calendar)."""
    if day in window.quiet_dates:
        return True
    return window.calendar is not None and day in holiday_dates(window.calendar, day.year)


def in_window(window: ContactWindow, zone: ZoneInfo, when: datetime) -> bool:
    """Whether ``when`` is inside the contact window in ``zone``."""
    local = when.astimezone(zone)
    return window.start <= local.time() < window.end and not is_quiet(window, local.date())


def next_opening(window: ContactWindow, zone: ZoneInfo, when: datetime) -> datetime:
    """Return ``when`` if the window is open then, else the next moment it opens."""
    if in_window(window, zone, when):
        return when
    day = when.astimezone(zone).date()
    for offset in range(HORIZON.days + 370):
        candidate_day = day + timedelta(days=offset)
        if is_quiet(window, candidate_day):
            continue
        opening = _instant(candidate_day, window.start, zone)
        if opening > when and in_window(window, zone, opening):
            return opening
    # Only a quiet-date list longer than the horizon gets here; the caller gives up on it.
    return when + HORIZON + timedelta(days=1)


def _call_key(contact: ContactAttempt) -> tuple[Any, ...]:
    """What makes two records of a contact the same contact, for the caps."""
    return (contact.at, contact.channel, contact.party_id, contact.outcome, contact.number)
