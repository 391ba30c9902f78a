"""Placement: the cases the rules send to an agency, allocated among agencies, as events.

A :class:`Placer` joins a loaded policy and the agencies file. Given the cases, the placement
events so far and ``as_of``, it returns one :class:`PlacementResult` per case — the case's
decision and the events of this run — and keeps no state between runs: the events are the
state. A run, case by case:

* a **placed** case: the policy's recall rules decide whether it comes back (``recalled``);
  kept, its agency works it; recalled, it is decided again as the lender's own case and, if the
  rules send it out again, allocated anew at the rate of its stage now;
* a **proposed** case (the notice naming the agency is due): ``placed`` once that notice has
  been on record for the policy's lead time, ``closed`` if the rules no longer send it out or
  the agency can no longer take it;
* any other case the rules send to an agency is **allocated**: offered to the eligible agencies
  only, by the policy's strategy, in an order fixed by a hash of the case id and the policy's
  salt (so that the input order changes nothing), counting every open placement against each
  agency's capacity, those made in this run included. No eligible agency: the case stays
  in-house (``placement.unavailable``, with each agency's reason).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..agencies import Agencies
from ..cases import check_batch
from ..delinquency import Assessment
from ..errors import ArgumentError, CaseError, ConfigError, Problem
from ..events import (
    Event,
    History,
    OpenPlacement,
    PlacementEvent,
    PlacementPayload,
    PlacementState,
    Window,
    replay,
)
from ..facts import Portfolio, is_outsourcing_notice
from ..messages import PLACEMENT_NOTICE
from ..model import (
    Action,
    Agency,
    Case,
    Channel,
    Decision,
    GuardEffect,
    GuardRecord,
    HandledBy,
    Message,
    Placement,
)
from ..policy import Policy, _check_portfolio, agency_status

__all__ = ["Eligibility", "PlacementResult", "PlacementRun", "PlacementStream", "Placer"]

#: Why an agency cannot take a case, in the order they are checked.
INELIGIBLE = {
    "not_started": "its contract has not started",
    "contract_ended": "its contract has ended",
    "suspended": "it is suspended",
    "review_overdue": "its review date has passed",
    "product": "it does not serve the product",
    "region": "it does not serve the borrower's region",
    "cool_off": "the case came back from it within the cool-off period",
    "no_rate": "neither its contract nor the policy gives a rate at this stage",
    "capacity": "it has no capacity left",
    "no_share": "the shares strategy gives it no share",
}


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Whether one agency could take one case: ``reason`` is ``None`` when it could."""

    agency_id: str
    reason: str | None

    @property
    def eligible(self) -> bool:
        """Whether the agency could take the case."""
        return self.reason is None


@dataclass(frozen=True)
class PlacementResult:
    """What a run made of one case.

    Attributes:
        decision: The case's decision: its agency's for a placed case, the notice naming the
            agency for a proposed one, else the lender's own.
        events: The events of this run for the case (possibly none).
        eligibility: For a case the rules sent out in this run: each agency and why it could
            or could not take it.
        line: The input line of the case, when read from JSON Lines.
    """

    decision: Decision
    events: tuple[PlacementEvent, ...] = ()
    eligibility: tuple[Eligibility, ...] = ()
    line: int | None = None

    @property
    def case_id(self) -> str:
        """The case's id."""
        return self.decision.case_id

    def render(self) -> str:
        """Return the placement of the case as readable text: events, decision, agencies."""
        action = self.decision.action
        lines = ["placement:"]
        for event in self.events:
            p = event.payload
            about = [p.reason] + ([f"rule {p.rule}"] if p.rule else [])
            if p.effective_on is not None:
                about.append(f"takes effect on {p.effective_on.isoformat()} at the earliest")
            if p.commission_rate is not None:
                about.append(f"commission {p.commission_rate}")
            if p.term_ends is not None:
                about.append(f"term ends {p.term_ends.isoformat()}")
            lines.append(f"  {event.type} {p.agency_id or ''} ({', '.join(about)})".rstrip())
        if not self.events:
            lines.append("  no placement event in this run")
        handler = f" {action.agency_id}" if action.agency_id else ""
        if action.agency_id and action.handled_by is HandledBy.INTERNAL:
            handler = f"; the notice names {action.agency_id}"
        lines.append(f"  decision: {action.channel} (handled by {action.handled_by}{handler})")
        if action.message is not None and action.message.text is not None:
            lines.append(f"    {action.message.text}")
        if self.eligibility:
            chosen = next(
                (e.payload.agency_id for e in self.events if e.type == "placement.proposed"),
                None,
            )
            lines.append("  agencies:")
            width = max(len(c.agency_id) for c in self.eligibility)
            for check in self.eligibility:
                if check.reason is None:
                    mark = "=>" if check.agency_id == chosen else "ok"
                    note = "eligible" + (", chosen" if mark == "=>" else "")
                else:
                    mark, note = "--", f"{check.reason}: {INELIGIBLE[check.reason]}"
                lines.append(f"    {mark} {check.agency_id:<{width}}  {note}")
        return "\n".join(lines)


@dataclass
class PlacementRun:
    """The results of one run: one per case (in input order), and the bad event lines.

    Attributes:
        results: A :class:`PlacementResult` or a ``CaseError`` per case.
        event_errors: An error per event line that could not be read or applied.
        capacity: Each agency's open placements after the run, and its capacity.
    """

    results: list[PlacementResult | CaseError]
    event_errors: list[CaseError] = field(default_factory=list)
    capacity: dict[str, tuple[int, int | None]] = field(default_factory=dict)

    @property
    def events(self) -> list[PlacementEvent]:
        """Every event of the run, in the order of the cases."""
        return [e for r in self.results if isinstance(r, PlacementResult) for e in r.events]


class PlacementStream(Iterator[PlacementResult | CaseError]):
    """The results of :meth:`Placer.stream`, as they become final.

    Attributes:
        event_errors: An error per event line that could not be read or applied.
        capacity: Each agency's open placements and capacity, once the stream is done.
    """

    def __init__(self, run: _Run, cases: Iterable[Any]) -> None:
        self._run = run
        self._cases = cases
        self.event_errors = run.history.errors
        self.capacity: dict[str, tuple[int, int | None]] = {}
        self._results = (result for _, result in self._indexed())

    def __iter__(self) -> PlacementStream:
        return self

    def __next__(self) -> PlacementResult | CaseError:
        return next(self._results)

    def _indexed(self) -> Iterator[tuple[int, PlacementResult | CaseError]]:
        """Each result with the index of its case in the input."""
        run = self._run
        pool: list[tuple[int, _Pending]] = []
        seen: set[str] = set()
        source = iter(self._cases)
        index = -1
        for index, item in enumerate(source):
            line = getattr(source, "line", None)
            try:
                outcome = run.one(item, line, seen)
            except CaseError as error:
                error.line = error.line if error.line is not None else line
                yield index, error
                continue
            if isinstance(outcome, _Pending):
                pool.append((index, outcome))
            else:
                yield index, outcome
        # Allocation in the order of the hash, never of the input: the same placements for
        # any order of the same cases.
        pool.sort(key=lambda entry: entry[1].key)
        for position, pending in pool:
            yield position, run.allocate(pending)
        used = run.used
        self.capacity = {
            a.agency_id: (used.get(a.agency_id, 0), a.capacity) for a in run.placer.agencies
        }


class Placer:
    """Allocates the cases a policy sends out among agencies, and tracks their placements.

    Immutable and safe to share between threads: every run takes its state (the events) as
    input and returns the new events.

    Args:
        policy: The loaded policy (its ``placement:`` section and recall rules).
        agencies: The agencies file.

    Raises:
        ConfigError: If the policy's shares name agencies the file does not have.
    """

    def __init__(self, policy: Policy, agencies: Agencies) -> None:
        if not isinstance(policy, Policy):
            raise ArgumentError(f"policy must be a dunning.Policy, not {type(policy).__name__}")
        if not isinstance(agencies, Agencies):
            raise ArgumentError(
                f"agencies must be dunning.Agencies (load_agencies), not {type(agencies).__name__}"
            )
        self.policy = policy
        self.agencies = agencies
        self.settings = policy.ir.placement
        unknown = [a for a in self.settings.shares if a not in agencies]
        if unknown:
            file = policy.ir.files[0] if policy.ir.files else policy.name
            where = [
                f"{file}:{pos.line}:{pos.col}: unknown-agency: shares name agency {a!r}, which "
                f"{agencies.path or 'the agencies'} does not list"
                for a in unknown
                if (pos := self.settings.positions.get(f"shares.{a}")) is not None
            ]
            raise ConfigError("\n".join(where))
        self._order = tuple(sorted(a.agency_id for a in agencies))

    def __repr__(self) -> str:
        return f"<Placer {self.policy.name} {self.settings.strategy} {len(self.agencies)} agencies>"

    # -- the run

    def place(
        self,
        cases: Iterable[Case | CaseError | Mapping[str, Any] | str],
        *,
        as_of: date | datetime,
        events: Iterable[Event | CaseError | Mapping[str, Any] | str] = (),
        portfolio: Portfolio | None = None,
        performance: Mapping[str, Decimal] | None = None,
    ) -> PlacementRun:
        """Decide and place a batch of cases; the results in input order.

        Args:
            cases: The cases (``Case``, dicts, JSON texts, or ``read_cases`` results).
            as_of: The moment of the run.
            events: The placement events so far (``read_events`` results, dicts or texts);
                those after ``as_of`` are not known yet and are ignored.
            portfolio: Portfolio figures, as for :meth:`Policy.decide_many` (``None``: the
                distinct overdue borrowers of the batch, when the rules need the figure).
            performance: For the ``performance`` strategy: each agency's recovery rate (amount
                recovered / amount placed) over the history the host chooses. An agency
                without one gets the policy's ``minimum_share``.

        Raises:
            ConfigError: For a bad ``as_of``, portfolio or performance table.
        """
        check_batch(cases, "place")
        if portfolio is None and self.policy.portfolio_rules:
            cases = list(cases)
            overdue = self.policy.overdue_borrowers(cases, as_of=as_of)
            portfolio = Portfolio(len(overdue))
        stream = self.stream(
            cases, as_of=as_of, events=events, portfolio=portfolio, performance=performance
        )
        ordered = sorted(stream._indexed(), key=lambda item: item[0])
        return PlacementRun([r for _, r in ordered], stream.event_errors, stream.capacity)

    def stream(
        self,
        cases: Iterable[Case | CaseError | Mapping[str, Any] | str],
        *,
        as_of: date | datetime,
        events: Iterable[Event | CaseError | Mapping[str, Any] | str] = (),
        portfolio: Portfolio | None = None,
        performance: Mapping[str, Decimal] | None = None,
    ) -> PlacementStream:
        """Place a batch as a stream: memory grows with the cases sent out, not with the batch.

        Each case's result comes as soon as it is final; the cases the rules send to an agency
        come last, in allocation order, once every case has been read (capacity and shares
        are the batch's). :attr:`PlacementStream.event_errors` holds the bad event lines at
        once, :attr:`PlacementStream.capacity` the agencies' load when the stream is done.
        Arguments as for :meth:`place`, except that a policy whose rules read the portfolio
        figure must be given it.

        Raises:
            ConfigError: For a bad ``as_of``, portfolio or performance table, or a missing
                portfolio figure.
        """
        moment = self.policy.moment(as_of)
        check_batch(cases, "place")
        check_batch(events, "place (events)")
        history = replay(events, until=moment)
        return PlacementStream(self._run(moment, history, portfolio, performance), cases)

    def _run(
        self,
        moment: datetime,
        history: History,
        portfolio: Portfolio | None,
        performance: Mapping[str, Decimal] | None,
    ) -> _Run:
        """A run's working state over ``history`` (which the run changes as it goes)."""
        _check_portfolio(portfolio)
        self.policy._book(portfolio)  # raises now if the rules need a figure and have none
        weights = self._weights(performance)
        today = moment.astimezone(self.policy.timezone).date()
        return _Run(self, moment, today, history, weights, portfolio)

    def explain(
        self,
        case: Case | Mapping[str, Any] | str,
        *,
        as_of: date | datetime,
        events: Iterable[Event | CaseError | Mapping[str, Any] | str] = (),
        portfolio: Portfolio | None = None,
        performance: Mapping[str, Decimal] | None = None,
    ) -> PlacementResult:
        """Place one case and say which agencies could take it and why the others could not.

        The load of each agency is what the events say (the rest of the batch is not known).

        Raises:
            CaseError: If the case is invalid.
            ConfigError: If the rules read the portfolio figure and none was given: one case
                says nothing about the book.
        """
        stream = self.stream([case], as_of=as_of, events=events, portfolio=portfolio,
                             performance=performance)  # fmt: skip
        result = next(stream)
        if isinstance(result, CaseError):
            raise result
        return result

    def targets(self, performance: Mapping[str, Decimal] | None = None) -> dict[str, Decimal]:
        """Each agency's target share of new placements (none for the capacity strategy)."""
        weights = self._weights(performance)
        total = sum(weights.values(), Decimal(0))
        return {a: w / total for a, w in sorted(weights.items())} if total else {}

    # -- helpers

    def _weights(self, performance: Mapping[str, Decimal] | None) -> dict[str, Decimal]:
        """Each agency's weight under the shares or performance strategy."""
        settings = self.settings
        if settings.strategy == "shares":
            return dict(settings.shares)
        if settings.strategy != "performance":
            return {}
        rates = _check_performance(performance, self.agencies)
        new = [a for a in self._order if a not in rates]
        floor = settings.minimum_share
        weights = dict.fromkeys(new, floor)
        rest = max(Decimal(1) - floor * len(new), Decimal(0))
        total = sum(rates.values(), Decimal(0))
        for agency, rate in rates.items():
            weights[agency] = rest * (rate / total if total else Decimal(1) / len(rates))
        return weights

    def eligibility(
        self, agency: Agency, case: Case, assessment: Assessment, today: date
    ) -> str | None:
        """Why ``agency`` cannot take ``case`` on ``today`` regardless of load, or ``None``."""
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


def _check_performance(
    performance: Mapping[str, Decimal] | None, agencies: Agencies
) -> dict[str, Decimal]:
    if performance is None:
        return {}
    if not isinstance(performance, Mapping):
        raise ArgumentError("performance must map agency ids to recovery rates")
    problems = []
    rates: dict[str, Decimal] = {}
    for agency, rate in performance.items():
        if agency not in agencies:
            problems.append(f"unknown agency {agency!r}")
        elif isinstance(rate, bool) or not isinstance(rate, Decimal | int) or not 0 <= rate <= 1:
            problems.append(f"{agency}: the recovery rate must be a Decimal from 0 to 1")
        else:
            rates[agency] = Decimal(rate)
    if problems:
        raise ConfigError("performance: " + "; ".join(problems))
    return rates


@dataclass
class _Pending:
    """A case the rules send out, waiting for allocation."""

    key: bytes
    case: Case
    assessment: Assessment
    built: Decision
    guarded: Decision
    events: list[PlacementEvent]
    line: int | None


class _Run:
    """One run's working state: the load of each agency, and the events made so far."""

    def __init__(
        self,
        placer: Placer,
        moment: datetime,
        today: date,
        history: History,
        weights: dict[str, Decimal],
        book: Portfolio | None,
    ) -> None:
        self.placer, self.policy, self.settings = placer, placer.policy, placer.settings
        self.moment, self.today, self.history = moment, today, history
        self.weights = weights
        self.book = book
        self.used: dict[str, int] = {}
        for entry in history.open.values():
            self.used[entry.agency_id] = self.used.get(entry.agency_id, 0) + 1
        self.credit = dict.fromkeys(weights, Decimal(0))  # smooth weighted round robin

    def _portfolio(self, case: Case) -> Portfolio:
        return self.policy._book(self.book, case)

    def one(self, item: Any, line: int | None, seen: set[str]) -> PlacementResult | _Pending:
        """Decide one input; return its result, or the case to allocate.

        Raises:
            CaseError: For an invalid case, one given twice, or one whose placement the
                events contradict.
        """
        case, assessment = self.policy._prepare(item, self.moment)
        if case.case_id in seen:
            raise duplicate_case(case.case_id)
        seen.add(case.case_id)
        case, migrated = _with_placement(case, self.history)
        if migrated is not None:  # placed before the events began: recorded as it stands
            self.history.open[case.case_id] = migrated
            self.history.known.add(migrated.placement_id)
            self.used[migrated.agency_id] = self.used.get(migrated.agency_id, 0) + 1
        entry = self.history.open.get(case.case_id)
        status = agency_status(case, self.placer.agencies, self.today)
        portfolio = self._portfolio(case)
        built, guarded = self.policy._decide_parts(case, assessment, self.moment, portfolio, status)
        events: list[PlacementEvent] = []
        if migrated is not None:
            assert case.placement is not None
            events.append(
                self.event(
                    "placed", case, migrated, guarded, "recorded_from_case", None,
                    day=case.placement.placed_on, term_ends=migrated.term_ends,
                )
            )  # fmt: skip
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
            agency = self.placer.agencies.get(entry.agency_id)
            why = "not_outsourced" if not wants else None
            if why is None:
                why = (
                    "agency_gone"
                    if agency is None
                    else self.placer.eligibility(agency, case, assessment, self.today)
                )
            if why is None and agency is not None:
                return self.proposed(case, assessment, entry, agency, built, guarded, line)
            events.append(self.event("closed", case, entry, guarded, why or "withdrawn", None))
            self.release(entry.agency_id)
        if not wants:
            return PlacementResult(guarded, tuple(events), (), line)
        salt = (self.settings.salt or self.policy.name).encode()
        key = hashlib.sha256(salt + b"\0" + case.case_id.encode()).digest()
        return _Pending(key, case, assessment, built, guarded, events, line)

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
        noticed = _noticed_on(case, agency.agency_id, entry.proposed_on)
        lead = self.settings.notice_lead_days
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
        term = agency.term_days or self.settings.term_days
        term_ends = self.today + timedelta(days=term - 1)
        placement = Placement(
            agency_id=agency.agency_id, placed_on=self.today, commission_rate=rate,
            term_ends=term_ends,
        )  # fmt: skip
        held = case.model_copy(update={"placement": placement})
        decision = self.policy._decide_parts(
            held, assessment, self.moment, self._portfolio(case), "active"
        )[1]
        event = self.event(
            "placed", case, entry, guarded, "notice_lead_time_passed", None,
            commission_rate=rate, term_ends=term_ends,
        )  # fmt: skip
        return decision, event

    def notice(
        self,
        case: Case,
        assessment: Assessment,
        agency: Agency,
        guarded: Decision,
        noticed: date | None,
    ) -> Decision:
        """The decision while a proposal waits: send the notice naming the agency, or wait."""
        lead = self.settings.notice_lead_days
        if noticed is None:
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
        else:
            action = Action(channel=Channel.NONE, agency_id=agency.agency_id)
            start = noticed + timedelta(days=lead)
            reason = (
                f"the notice naming {agency.agency_id} was given on {noticed.isoformat()}; "
                f"the placement takes effect on {start.isoformat()}"
            )
        record = GuardRecord(id="placement", effect=GuardEffect.REPLACE, reason=reason)
        decision = guarded.model_copy(
            update={
                "action": action,
                "guards": (*guarded.guards, record),
                "fee_terms": guarded.fee_terms.model_copy(update={"commission_rate": None}),
            }
        )
        # The notice goes through the guards like any message (contact hours, …).
        return self.policy._guard(case, assessment, decision)

    def allocate(self, pending: _Pending) -> PlacementResult:
        """Offer a case to the eligible agencies; propose it to the one the strategy picks."""
        checks, chosen = self.admit(self.screen(pending))
        return self.settle(pending, checks, chosen)

    def screen(self, pending: _Pending) -> list[tuple[str, str | None]]:
        """Each agency, and why it cannot take the case by the case alone (or None).

        What a case's allocation needs of the case; capacity and shares, which depend on the
        cases allocated before it, are :meth:`admit`'s.
        """
        case, assessment = pending.case, pending.assessment
        screened: list[tuple[str, str | None]] = []
        for agency_id in self.placer._order:
            agency = self.placer.agencies.get(agency_id)
            assert agency is not None
            why = self.placer.eligibility(agency, case, assessment, self.today)
            if why is None and self._cooling(case.case_id, agency_id):
                why = "cool_off"
            if why is None and _rate(agency, pending.built) is None:
                why = "no_rate"
            screened.append((agency_id, why))
        return screened

    def admit(
        self, screened: Iterable[tuple[str, str | None]]
    ) -> tuple[tuple[Eligibility, ...], str | None]:
        """The run's one sequential step: capacity, shares and the strategy's choice.

        Counts the chosen agency's new placement; returns each agency's check and the agency
        chosen (None: no agency can take the case).
        """
        checks = []
        for agency_id, why in screened:
            agency = self.placer.agencies.get(agency_id)
            assert agency is not None
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
        return tuple(checks), chosen

    def settle(
        self, pending: _Pending, checks: tuple[Eligibility, ...], chosen: str | None
    ) -> PlacementResult:
        """The case's result once :meth:`admit` has chosen: the proposal, or in-house."""
        if chosen is None:
            return self.unavailable(pending, checks)
        case, assessment = pending.case, pending.assessment
        agency = self.placer.agencies.get(chosen)
        assert agency is not None
        eligible = [c.agency_id for c in checks if c.eligible]
        entry = OpenPlacement(f"{case.case_id}/{chosen}/{self.today.isoformat()}", chosen,
                      PlacementState.PROPOSED, self.today)  # fmt: skip
        self.history.open[case.case_id] = entry
        lead = self.settings.notice_lead_days
        event = self.event(
            "proposed", case, entry, pending.guarded, "outsourced", pending.built.rules[0],
            effective_on=self.today + timedelta(days=lead), eligible=tuple(eligible),
            ineligible={c.agency_id: c.reason for c in checks if c.reason},
        )  # fmt: skip
        decision = self.notice(case, assessment, agency, pending.guarded, None)
        event = event.model_copy(
            update={"payload": event.payload.model_copy(update={"notice": decision.action.message})}
        )
        return PlacementResult(decision, (*pending.events, event), checks, pending.line)

    def choose(self, eligible: list[str]) -> str:
        """The strategy's pick among eligible agencies (deterministic)."""
        if not self.weights:  # capacity: the most room left; unlimited counts as most

            def room(agency_id: str) -> tuple[float, str]:
                agency = self.placer.agencies.get(agency_id)
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

    def unavailable(self, pending: _Pending, checks: tuple[Eligibility, ...]) -> PlacementResult:
        """No agency can take the case: it stays in-house, and the event says why."""
        case, guarded = pending.case, pending.guarded
        reasons = {c.agency_id: c.reason for c in checks if c.reason}
        shown = "; ".join(f"{a}: {INELIGIBLE[r]}" for a, r in reasons.items()) or "no agencies"
        channel = self.settings.in_house_channel
        action = Action(
            channel=channel,
            recipients=(case.borrower.party_id,) if channel is not Channel.LEGAL_PRESERVATION
            else (),
        )  # fmt: skip
        record = GuardRecord(
            id="placement",
            effect=GuardEffect.REPLACE,
            reason=f"outsource → {channel}: no agency can take the case ({shown})",
        )
        decision = guarded.model_copy(
            update={
                "action": action,
                "guards": (*guarded.guards, record),
                "fee_terms": guarded.fee_terms.model_copy(update={"commission_rate": None}),
            }
        )
        # The in-house action goes through the guards like any other (contact hours, …).
        decision = self.policy._guard(case, pending.assessment, decision)
        payload = PlacementPayload(
            loan_id=pending.case.loan.loan_id,
            day=self.today,
            reason="no_eligible_agency",
            rule=pending.built.rules[0],
            dpd=guarded.dpd,
            total_due=guarded.fee_terms.total_due,
            ineligible=reasons,
            policy=guarded.policy,
            agencies_digest=self.placer.agencies.digest,
        )
        event = PlacementEvent(
            type="placement.unavailable", at=self.moment, case_id=case.case_id, payload=payload
        )
        return PlacementResult(decision, (*pending.events, event), checks, pending.line)

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
            agencies_digest=self.placer.agencies.digest,
            **extra,
        )
        return PlacementEvent(
            type=f"placement.{state}",
            at=self.moment,
            case_id=case.case_id,
            payload=payload,
        )

    def release(self, agency_id: str) -> None:
        self.used[agency_id] = max(self.used.get(agency_id, 0) - 1, 0)

    def _cooling(self, case_id: str, agency_id: str) -> bool:
        days = self.settings.cool_off_days
        return any(
            window.agency_id == agency_id
            and window.ended_on is not None
            and (self.today - window.ended_on).days < days
            for window in self.history.ended.get(case_id, ())
        )


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


def _with_placement(case: Case, history: History) -> tuple[Case, OpenPlacement | None]:
    """The case as the events say it is placed; a contradiction is the case's error.

    A case that says it is placed, of which the events know nothing, was placed before the
    events began: its placement is taken as it stands, and returned as the open placement.
    """
    held = case.placement
    entry = history.open.get(case.case_id)
    if entry is None and held is not None:
        placement_id = f"{case.case_id}/{held.agency_id}/{held.placed_on.isoformat()}"
        if placement_id in history.known:  # the events say it ended: the case is behind
            return case.model_copy(update={"placement": None}), None
        migrated = OpenPlacement(
            placement_id, held.agency_id, PlacementState.PLACED, held.placed_on,
            held.placed_on, held.commission_rate, held.term_ends,
        )  # fmt: skip
        return case, migrated
    if entry is None or entry.state is not PlacementState.PLACED:
        if held is not None and entry is not None:
            raise CaseError(
                case.case_id,
                [Problem("placement", "placement_mismatch",
                         f"the case says it is placed with {held.agency_id}, the events that "
                         f"it is only proposed to {entry.agency_id}")],
            )  # fmt: skip
        return case, None
    assert entry.placed_on is not None
    assert entry.rate is not None
    placement = Placement(
        agency_id=entry.agency_id, placed_on=entry.placed_on, commission_rate=entry.rate,
        term_ends=entry.term_ends,
    )  # fmt: skip
    if held is not None and held.agency_id != entry.agency_id:
        raise CaseError(
            case.case_id,
            [Problem("placement.agency_id", "placement_mismatch",
                     f"the case says it is placed with {held.agency_id}, the events with "
                     f"{entry.agency_id}")],
        )  # fmt: skip
    return case.model_copy(update={"placement": placement}), None
