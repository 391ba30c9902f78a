"""Allocation: one placement run's state, and the phases a case sent out goes through.

A :class:`~dunning.Placer` starts an :class:`Allocation` per run; ``dunning.spark`` starts one
on each worker and runs its phases where the data is (docs/cluster.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..agencies import Agencies
from ..decide import agency_status
from ..delinquency import Assessment
from ..errors import CaseError, Problem
from ..events import PlacementEvent, PlacementPayload, PlacementState
from ..facts import is_outsourcing_notice
from ..messages import PLACEMENT_NOTICE
from ..model import (
    Action,
    Agency,
    Case,
    Channel,
    ContactChannel,
    ContactPurpose,
    ContactResult,
    Decision,
    GuardEffect,
    GuardRecord,
    HandledBy,
    Message,
    Placement,
)
from ..policy import Policy
from ..portfolio import Portfolio
from .history import NOTICE_UNDELIVERED, History, OpenPlacement, Window
from .results import INELIGIBLE, Eligibility, PlacementResult

__all__ = ["Allocation", "Pending", "duplicate_case", "ineligible", "with_placement"]

#: Events after which the case is no longer with the agency.
_ENDED = ("placement.recalled", "placement.closed", "placement.returned")


@dataclass
class Pending:
    """A case the rules send out, waiting for allocation."""

    key: bytes
    case: Case
    assessment: Assessment
    built: Decision
    guarded: Decision
    events: list[PlacementEvent]
    line: int | None


class Allocation:
    """One run's working state: the load of each agency, and the events made so far.

    A run decides each case (:meth:`one`); a case the rules send out waits (a
    :class:`Pending`) until every case is read, then is allocated in three phases:
    :meth:`screen` (each agency by the case alone), :meth:`admit` (capacity, shares and the
    strategy's choice: the run's one sequential step) and :meth:`finish` (the proposal and its
    notice, or the in-house action). ``dunning.spark`` runs the phases on different workers.

    Args:
        policy: The policy (its decider and ``placement:`` section).
        agencies: The agencies file.
        moment: The moment of the run.
        history: The placement history so far, which the run continues.
        weights: Each agency's weight (shares and performance strategies; empty: capacity).
        portfolio: The portfolio figure given (checked per case against the rules).
    """

    def __init__(
        self,
        policy: Policy,
        agencies: Agencies,
        moment: datetime,
        history: History,
        weights: dict[str, Decimal],
        portfolio: Portfolio | None,
    ) -> None:
        self.policy, self.agencies, self.settings = policy, agencies, policy.ir.placement
        self.decider = policy.decider
        self.order = tuple(sorted(a.agency_id for a in agencies))
        self.moment, self.history = moment, history
        self.today = moment.astimezone(policy.timezone).date()
        self.weights = weights
        self.portfolio = portfolio
        self.used: dict[str, int] = {}
        for entry in history.open.values():
            self.used[entry.agency_id] = self.used.get(entry.agency_id, 0) + 1
        self.credit = dict.fromkeys(weights, Decimal(0))  # smooth weighted round robin
        # Borrower (party id) → the agency holding or offered another of their debts: all of
        # a borrower's debts go to one agency (``placement: per_borrower``).
        self.held: dict[str, str] = {}
        #: The last case :meth:`one` read: its borrower, and the agency it is with after this
        #: run (placed or proposed), or None. ``dunning.spark`` carries it to :meth:`admit`.
        self.last: tuple[str, str | None] = ("", None)

    def _portfolio(self, case: Case) -> Portfolio:
        return self.decider.figure(self.portfolio, case)

    def one(self, item: Any, line: int | None, seen: set[str]) -> PlacementResult | Pending:
        """Decide one input; return its result, or the case to allocate.

        Raises:
            CaseError: For an invalid case, one given twice, or one whose placement the
                events contradict.
        """
        outcome = self._one(item, line, seen)
        if isinstance(outcome, Pending):
            self.last = (outcome.case.borrower.party_id, None)
            return outcome
        ended = outcome.events and outcome.events[-1].type in _ENDED
        entry = None if ended else self.history.open.get(outcome.case_id)
        agency_id = entry.agency_id if entry is not None else None
        self.last = (self.last[0], agency_id)
        if agency_id is not None:
            self.hold(self.last[0], agency_id)
        return outcome

    def hold(self, borrower: str, agency_id: str) -> None:
        """Note that ``agency_id`` holds (or is offered) one of ``borrower``'s debts.

        A borrower split between agencies before (events from before ``per_borrower``) is
        kept with the first agency by id: the same for any order of the cases.
        """
        current = self.held.get(borrower)
        self.held[borrower] = agency_id if current is None else min(current, agency_id)

    def _one(self, item: Any, line: int | None, seen: set[str]) -> PlacementResult | Pending:
        case, assessment = self.decider.prepare(item, self.moment)
        self.last = (case.borrower.party_id, None)
        if case.case_id in seen:
            raise duplicate_case(case.case_id)
        seen.add(case.case_id)
        case, migrated = with_placement(case, self.history)
        if migrated is not None:  # placed before the events began: recorded as it stands
            if migrated.term_ends is None:  # with the term its contract (or the policy) sets
                assert migrated.placed_on is not None
                held_by = self.agencies.get(migrated.agency_id)
                days = (held_by and held_by.term_days) or self.settings.term_days
                migrated.term_ends = (
                    held_by.last_day(migrated.placed_on, days)
                    if held_by is not None
                    else migrated.placed_on + timedelta(days=days - 1)
                )
                assert case.placement is not None
                termed = case.placement.model_copy(update={"term_ends": migrated.term_ends})
                case = case.model_copy(update={"placement": termed})
            self.history.open[case.case_id] = migrated
            self.history.known.add(migrated.placement_id)
            self.used[migrated.agency_id] = self.used.get(migrated.agency_id, 0) + 1
        entry = self.history.open.get(case.case_id)
        status = agency_status(case, self.agencies, self.today)
        portfolio = self._portfolio(case)
        built, guarded = self.decider.decide(case, assessment, self.moment, portfolio, status)
        events: list[PlacementEvent] = []
        if migrated is not None:
            assert case.placement is not None
            events.append(
                self.event(
                    "placed",
                    case,
                    migrated,
                    guarded,
                    "recorded_from_case",
                    None,
                    day=case.placement.placed_on,
                    term_ends=migrated.term_ends,
                )
            )
        if entry is not None and entry.state is PlacementState.PLACED:
            if guarded.recall is None:  # kept: its agency works it
                return PlacementResult(guarded, tuple(events), (), line)
            recall = guarded.recall
            events.append(self.event("recalled", case, entry, guarded, recall.reason, recall.rule))
            self.release(entry.agency_id)
            self.history.ended.setdefault(case.case_id, []).append(
                Window.of(entry, self.today, "recalled")
            )
            case = case.model_copy(update={"placement": None})
        wants = _wants_agency(built, guarded)
        if entry is not None and entry.state is PlacementState.PROPOSED:
            agency = self.agencies.get(entry.agency_id)
            why = "not_outsourced" if not wants else None
            if why is None:
                why = "agency_gone" if agency is None else ineligible(agency, case, self.today)
            if why is None and agency is not None:
                return self.proposed(case, assessment, entry, agency, built, guarded, line)
            events.append(self.event("closed", case, entry, guarded, why or "withdrawn", None))
            self.release(entry.agency_id)
        if not wants:
            return PlacementResult(guarded, tuple(events), (), line)
        lapsed = self.history.undelivered.get(case.case_id)
        if lapsed is not None and (self.today - lapsed).days < self.settings.cool_off_days:
            # Its last notice never reached the borrower: worked in-house for the cool-off,
            # not proposed again the next day to the same dead number.
            why = (
                f"outsource → {self.settings.in_house_channel}: the notice of its last "
                f"proposal never reached the borrower (closed {lapsed.isoformat()}); in-house "
                f"for {self.settings.cool_off_days} days"
            )
            decision = self.in_house(case, assessment, guarded, why)
            return PlacementResult(decision, tuple(events), (), line)
        salt = (self.settings.salt or self.policy.name).encode()
        key = hashlib.sha256(salt + b"\0" + case.case_id.encode()).digest()
        return Pending(key, case, assessment, built, guarded, events, line)

    def proposed(
        self,
        case: Case,
        assessment: Assessment,
        entry: OpenPlacement,
        agency: Agency,
        built: Decision,
        guarded: Decision,
        line: int | None,
    ) -> PlacementResult:
        """A proposal in force: placed once its notice is old enough, else the notice is due."""
        # The notice's fate, from the case's contacts or the events (placement.noticed).
        noticed = _earliest(
            _noticed_on(case, agency.agency_id, entry.proposed_on), entry.noticed_on
        )
        lead = self.settings.notice_lead_days
        expiry = self.settings.notice_expiry_days
        failed = _notice_failed(case, agency.agency_id, entry.proposed_on)
        if entry.notice_failed_on is not None:
            failed = max(failed or entry.notice_failed_on, entry.notice_failed_on)
        if noticed is None and (failed or (self.today - entry.proposed_on).days >= expiry):
            # The notice cannot reach the borrower (its SMS failed: the number is dead) or did
            # not in time: the proposal lapses, and the case is the lender's again — never an
            # SMS to the dead number day after day.
            event = self.event("closed", case, entry, guarded, NOTICE_UNDELIVERED, None)
            self.release(entry.agency_id)
            self.history.undelivered[case.case_id] = self.today
            how = (
                f"its SMS of {failed.isoformat()} did not reach the borrower"
                if failed
                else f"none reached the borrower within {expiry} days of the proposal"
            )
            why = (
                f"outsource → {self.settings.in_house_channel}: the notice naming "
                f"{agency.agency_id} failed ({how})"
            )
            decision = self.in_house(case, assessment, guarded, why)
            return PlacementResult(decision, (event,), (), line)
        if noticed is not None and (self.today - noticed).days >= lead:
            rate = _rate(agency, built)
            if rate is None:  # no longer priced: the proposal lapses
                event = self.event("closed", case, entry, guarded, "no_rate", None)
                self.release(entry.agency_id)
                return PlacementResult(guarded, (event,), (), line)
            placed = self.place_now(case, assessment, entry, agency, rate, guarded)
            return PlacementResult(placed[0], (placed[1],), (), line)
        decision = self.notice(case, assessment, agency, guarded, noticed)
        return PlacementResult(decision, (), (), line)

    def place_now(
        self,
        case: Case,
        assessment: Assessment,
        entry: OpenPlacement,
        agency: Agency,
        rate: Decimal,
        guarded: Decision,
    ) -> tuple[Decision, PlacementEvent]:
        """A proposal whose notice is old enough placed: the agency's decision and the event."""
        term_ends = agency.last_day(self.today, agency.term_days or self.settings.term_days)
        placement = Placement(
            agency_id=agency.agency_id,
            placed_on=self.today,
            commission_rate=rate,
            term_ends=term_ends,
        )
        held = case.model_copy(update={"placement": placement})
        decision = self.decider.decide(
            held, assessment, self.moment, self._portfolio(case), "active"
        ).guarded
        event = self.event(
            "placed",
            case,
            entry,
            guarded,
            "notice_lead_time_passed",
            None,
            commission_rate=rate,
            term_ends=term_ends,
        )
        return decision, event

    def notice(
        self,
        case: Case,
        assessment: Assessment,
        agency: Agency,
        guarded: Decision,
        noticed: date | None,
    ) -> Decision:
        """The decision while a proposal waits.

        The notice naming the agency; once it was given, the lender's own work until the lead
        time ends.
        """
        lead = self.settings.notice_lead_days
        if noticed is not None:
            # The lead time runs: the case is still the lender's, worked in-house until then.
            start = noticed + timedelta(days=lead)
            why = (
                f"outsource → {self.settings.in_house_channel}: the notice naming "
                f"{agency.agency_id} was given on {noticed.isoformat()}; the placement takes "
                f"effect on {start.isoformat()}, and until then the case is worked in-house"
            )
            return self.in_house(case, assessment, guarded, why, agency_id=agency.agency_id)
        action = Action(
            channel=Channel.SMS,
            handled_by=HandledBy.INTERNAL,
            recipients=(case.borrower.party_id,),
            message=Message(
                template=PLACEMENT_NOTICE,
                fields={"agency_name": agency.name, "agency_phone": agency.phone},
            ),
            agency_id=agency.agency_id,
        )
        reason = (
            f"the borrower is told that {agency.agency_id} will hold the case; it takes "
            f"effect {lead} day(s) after the notice"
        )
        # The notice goes through the guards like any message (contact hours, …).
        return self.replaced(case, assessment, guarded, action, reason)

    def allocate(self, pending: Pending) -> PlacementResult:
        """Offer a case to the eligible agencies; propose it to the one the strategy picks.

        The three phases in one: :meth:`screen`, :meth:`admit`, :meth:`finish`.
        """
        checks, chosen = self.admit(self.screen(pending), pending.case.borrower.party_id)
        return self.finish(pending, checks, chosen)

    def screen(self, pending: Pending) -> list[tuple[str, str | None]]:
        """Each agency, and why it cannot take the case by the case alone (or None).

        What a case's allocation needs of the case; capacity and shares, which depend on the
        cases allocated before it, are :meth:`admit`'s.
        """
        case = pending.case
        screened: list[tuple[str, str | None]] = []
        for agency_id in self.order:
            agency = self.agencies.get(agency_id)
            assert agency is not None
            why = ineligible(agency, case, self.today)
            if why is None and self._cooling(case.case_id, agency_id):
                why = "cool_off"
            if why is None and _rate(agency, pending.built) is None:
                why = "no_rate"
            screened.append((agency_id, why))
        return screened

    def admit(
        self, screened: Iterable[tuple[str, str | None]], borrower: str | None = None
    ) -> tuple[tuple[Eligibility, ...], str | None]:
        """The run's one sequential step: the borrower's agency, capacity, shares, the choice.

        Counts the chosen agency's new placement; returns each agency's check and the agency
        chosen (None: no agency can take the case).
        """
        checks = []
        follows = self.held.get(borrower) if borrower and self.settings.per_borrower else None
        for agency_id, why in screened:
            agency = self.agencies.get(agency_id)
            assert agency is not None
            if why is None and follows is not None and agency_id != follows:
                why = "borrower_elsewhere"
            if why is None and agency.capacity is not None:
                why = "capacity" if self.used.get(agency_id, 0) >= agency.capacity else None
            if why is None and self.weights and agency_id not in self.weights:
                why = "no_share"
            checks.append(Eligibility(agency_id, why))
        eligible = [c.agency_id for c in checks if c.eligible]
        if not eligible:
            return tuple(checks), None
        chosen = self.choose(eligible)
        self.used[chosen] = self.used.get(chosen, 0) + 1
        if borrower:
            self.hold(borrower, chosen)
        return tuple(checks), chosen

    def finish(
        self, pending: Pending, checks: tuple[Eligibility, ...], chosen: str | None
    ) -> PlacementResult:
        """The case's result once :meth:`admit` has chosen: the proposal, or in-house."""
        if chosen is None:
            return self.unavailable(pending, checks)
        case, assessment = pending.case, pending.assessment
        agency = self.agencies.get(chosen)
        assert agency is not None
        eligible = [c.agency_id for c in checks if c.eligible]
        entry = OpenPlacement(
            f"{case.case_id}/{chosen}/{self.today.isoformat()}",
            chosen,
            PlacementState.PROPOSED,
            self.today,
        )
        self.history.open[case.case_id] = entry
        lead = self.settings.notice_lead_days
        event = self.event(
            "proposed",
            case,
            entry,
            pending.guarded,
            "outsourced",
            pending.built.rules[0],
            effective_on=self.today + timedelta(days=lead),
            eligible=tuple(eligible),
            ineligible={c.agency_id: c.reason for c in checks if c.reason},
        )
        decision = self.notice(case, assessment, agency, pending.guarded, None)
        event = event.model_copy(
            update={"payload": event.payload.model_copy(update={"notice": decision.action.message})}
        )
        return PlacementResult(decision, (*pending.events, event), checks, pending.line)

    def choose(self, eligible: list[str]) -> str:
        """The strategy's pick among eligible agencies (deterministic)."""
        if not self.weights:  # capacity: the most room left; unlimited counts as most

            def room(agency_id: str) -> tuple[float, str]:
                agency = self.agencies.get(agency_id)
                assert agency is not None
                left = (
                    float("inf")
                    if agency.capacity is None
                    else (agency.capacity - self.used.get(agency_id, 0))
                )
                return (-left, agency_id)

            return min(eligible, key=room)
        # Smooth weighted round robin over the eligible agencies: after n cases, each agency has
        # its share of them to within one case.
        total = sum((self.weights[a] for a in eligible), Decimal(0))
        for agency_id in eligible:
            self.credit[agency_id] += self.weights[agency_id]
        best = max(eligible, key=self.credit.__getitem__)  # ties: the first id
        self.credit[best] -= total
        return best

    def unavailable(self, pending: Pending, checks: tuple[Eligibility, ...]) -> PlacementResult:
        """No agency can take the case: it stays in-house, and the event says why."""
        case, guarded = pending.case, pending.guarded
        reasons = {c.agency_id: c.reason for c in checks if c.reason}
        shown = "; ".join(f"{a}: {INELIGIBLE[r]}" for a, r in reasons.items()) or "no agencies"
        channel = self.settings.in_house_channel
        why = f"outsource → {channel}: no agency can take the case ({shown})"
        decision = self.in_house(case, pending.assessment, guarded, why)
        payload = PlacementPayload(
            loan_id=pending.case.loan.loan_id,
            day=self.today,
            reason="no_eligible_agency",
            rule=pending.built.rules[0],
            dpd=guarded.dpd,
            total_due=guarded.fee_terms.total_due,
            ineligible=reasons,
            policy=guarded.policy,
            agencies_digest=self.agencies.digest,
        )
        event = PlacementEvent(
            type="placement.unavailable", at=self.moment, case_id=case.case_id, payload=payload
        )
        return PlacementResult(decision, (*pending.events, event), checks, pending.line)

    def in_house(
        self,
        case: Case,
        assessment: Assessment,
        guarded: Decision,
        why: str,
        *,
        agency_id: str | None = None,
    ) -> Decision:
        """The rules send the case out but it stays the lender's: the policy's in-house channel.

        ``agency_id`` names the agency a proposal waits for, when there is one.
        """
        channel = self.settings.in_house_channel
        action = Action(
            channel=channel,
            recipients=(case.borrower.party_id,)
            if channel is not Channel.LEGAL_PRESERVATION
            else (),
            agency_id=agency_id,
        )
        return self.replaced(case, assessment, guarded, action, why)

    def replaced(
        self, case: Case, assessment: Assessment, guarded: Decision, action: Action, why: str
    ) -> Decision:
        """The rules' decision with the placement's ``action`` instead, and why (no commission).

        The new action goes through the guards like any other (contact hours, …).
        """
        record = GuardRecord(id="placement", effect=GuardEffect.REPLACE, reason=why)
        decision = guarded.model_copy(
            update={
                "action": action,
                "guards": (*guarded.guards, record),
                "fee_terms": guarded.fee_terms.model_copy(update={"commission_rate": None}),
            }
        )
        return self.decider.guard(case, assessment, decision)

    def event(
        self,
        state: str,
        case: Case,
        entry: OpenPlacement,
        decision: Decision,
        reason: str,
        rule: str | None,
        **extra: Any,
    ) -> PlacementEvent:
        """The event of ``case``'s placement ``entry`` entering ``state`` (its payload's terms)."""
        payload = PlacementPayload(
            placement_id=entry.placement_id,
            agency_id=entry.agency_id,
            loan_id=case.loan.loan_id,
            day=extra.pop("day", self.today),
            reason=reason,
            rule=rule,
            dpd=decision.dpd,
            total_due=decision.fee_terms.total_due,
            commission_rate=extra.pop("commission_rate", entry.rate),
            policy=decision.policy,
            agencies_digest=self.agencies.digest,
            **extra,
        )
        return PlacementEvent(
            type=f"placement.{state}",
            at=self.moment,
            case_id=case.case_id,
            payload=payload,
        )

    def release(self, agency_id: str) -> None:
        """Count one placement of ``agency_id`` less (it was recalled or closed)."""
        self.used[agency_id] = max(self.used.get(agency_id, 0) - 1, 0)

    def _cooling(self, case_id: str, agency_id: str) -> bool:
        days = self.settings.cool_off_days
        return any(
            window.agency_id == agency_id
            and window.ended_on is not None
            and (self.today - window.ended_on).days < days
            for window in self.history.ended.get(case_id, ())
        )


def ineligible(agency: Agency, case: Case, today: date) -> str | None:
    """Why ``agency`` cannot take ``case`` on ``today`` regardless of load, or ``None``.

    The reasons are keys of :data:`~dunning.placement.results.INELIGIBLE`.
    """
    status = agency.status_on(today)
    if status == "ended":
        return "not_started" if today < agency.contract_start else "contract_ended"
    if status == "suspended":
        return "suspended"
    if agency.review_on is not None and agency.review_on < today:
        return "review_overdue"
    if not agency.serves(case.loan.product):
        return "product"
    if not agency.serves_region(case.borrower.region):
        return "region"
    return None


def duplicate_case(case_id: str) -> CaseError:
    """The error of a case a batch to place names a second time."""
    return CaseError(
        case_id, [Problem("case_id", "duplicate_case", "the batch has this case twice")]
    )


def _wants_agency(built: Decision, guarded: Decision) -> bool:
    """Whether the rules send the case to an agency and the guards let it go (after a notice)."""
    if built.action.channel is not Channel.OUTSOURCE or built.action.agency_id is not None:
        return False
    if guarded.action.channel is Channel.OUTSOURCE:
        return True
    return any(
        g.id == "outsourcing_notice" and g.effect is GuardEffect.REPLACE for g in guarded.guards
    )


def _rate(agency: Agency, built: Decision) -> Decimal | None:
    """The rate of a new placement: the agency's contract, else the policy's table."""
    if agency.commission:
        return agency.commission_rate(built.dpd)
    return built.fee_terms.commission_rate


def _noticed_on(case: Case, agency_id: str, since: date) -> date | None:
    """The day the borrower was first told of ``agency_id``, on or after ``since``."""
    zone = case.borrower.zone
    days = [
        contact.at.astimezone(zone).date()
        for contact in case.contacts
        if contact.agency_id == agency_id
        and is_outsourcing_notice(contact, case.borrower.party_id)
        and contact.at.astimezone(zone).date() >= since
    ]
    return min(days, default=None)


def _earliest(one: date | None, other: date | None) -> date | None:
    return min((d for d in (one, other) if d is not None), default=None)


def _notice_failed(case: Case, agency_id: str, since: date) -> date | None:
    """The day an SMS notice naming ``agency_id`` failed to reach the borrower, since ``since``."""
    zone = case.borrower.zone
    days = [
        contact.at.astimezone(zone).date()
        for contact in case.contacts
        if contact.agency_id == agency_id
        and contact.purpose is ContactPurpose.OUTSOURCING_NOTICE
        and contact.channel is ContactChannel.SMS
        and contact.outcome in (ContactResult.FAILED, ContactResult.WRONG_NUMBER)
        and contact.party_id == case.borrower.party_id
        and contact.at.astimezone(zone).date() >= since
    ]
    return max(days, default=None)


def with_placement(case: Case, history: History) -> tuple[Case, OpenPlacement | None]:
    """The case as the events say it is placed; a contradiction is the case's error.

    A case that says it is placed, of which the events know nothing, was placed before the
    events began: its placement is taken as it stands, and returned as the open placement.
    """
    held = case.placement
    entry = history.open.get(case.case_id)
    if held is not None:
        placement_id = f"{case.case_id}/{held.agency_id}/{held.placed_on.isoformat()}"
        if placement_id in history.known and (entry is None or entry.placement_id != placement_id):
            # The events know the case's placement and that it ended (a recall, a return):
            # the case file is behind them — the host's next snapshot drops it — and is taken
            # as not placed, whatever the events opened since (a proposal to another agency).
            case, held = case.model_copy(update={"placement": None}), None
    if entry is None and held is not None:
        migrated = OpenPlacement(
            placement_id,
            held.agency_id,
            PlacementState.PLACED,
            held.placed_on,
            held.placed_on,
            held.commission_rate,
            held.term_ends,
        )
        return case, migrated
    if entry is None or entry.state is not PlacementState.PLACED:
        if held is not None and entry is not None:
            raise CaseError(
                case.case_id,
                [
                    Problem(
                        "placement",
                        "placement_mismatch",
                        f"the case says it is placed with {held.agency_id}, the events that "
                        f"it is only proposed to {entry.agency_id}",
                    )
                ],
            )
        return case, None
    assert entry.placed_on is not None
    assert entry.rate is not None
    placement = Placement(
        agency_id=entry.agency_id,
        placed_on=entry.placed_on,
        commission_rate=entry.rate,
        term_ends=entry.term_ends,
    )
    if held is not None and held.agency_id != entry.agency_id:
        raise CaseError(
            case.case_id,
            [
                Problem(
                    "placement.agency_id",
                    "placement_mismatch",
                    f"the case says it is placed with {held.agency_id}, the events with "
                    f"{entry.agency_id}",
                )
            ],
        )
    return case.model_copy(update={"placement": placement}), None
