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

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..agencies import Agencies
from ..cases import check_batch
from ..delinquency import Assessment
from ..errors import ArgumentError, CaseError, ConfigError
from ..events import Event
from ..model import Agency, Case, Decision
from ..policy import Explanation, Policy
from ..portfolio import Portfolio, check_portfolio
from .allocation import Allocation, Pending, ineligible, with_placement
from .history import History, replay
from .results import Eligibility, PlacementResult, PlacementRun

__all__ = ["Eligibility", "PlacementResult", "PlacementRun", "PlacementStream", "Placer"]


class PlacementStream(Iterator[PlacementResult | CaseError]):
    """The results of :meth:`Placer.stream`, as they become final.

    Attributes:
        event_errors: An error per event line that could not be read or applied.
        capacity: Each agency's open placements and capacity, once the stream is done.
        allocating: Set once every case is read and those sent out are being allocated.
    """

    def __init__(self, run: Allocation, cases: Iterable[Any]) -> None:
        self._run = run
        self._cases = cases
        self.event_errors = run.history.errors
        self.capacity: dict[str, tuple[int, int | None]] = {}
        self.allocating = False
        self._results = (result for _, result in self.indexed())

    def __iter__(self) -> PlacementStream:
        return self

    def __next__(self) -> PlacementResult | CaseError:
        return next(self._results)

    def indexed(self) -> Iterator[tuple[int, PlacementResult | CaseError]]:
        """Each result with the index of its case in the input, instead of iterating.

        The results come in input order but for the cases sent out, which come last, in
        allocation order, once :attr:`allocating` is set.
        """
        run = self._run
        pool: list[tuple[int, Pending]] = []
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
            if isinstance(outcome, Pending):
                pool.append((index, outcome))
            else:
                yield index, outcome
        # Allocation in the order of the hash, never of the input: the same placements for
        # any order of the same cases.
        pool.sort(key=lambda entry: entry[1].key)
        self.allocating = True
        for position, pending in pool:
            yield position, run.allocate(pending)
        used = run.used
        self.capacity = {a.agency_id: (used.get(a.agency_id, 0), a.capacity) for a in run.agencies}


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
        self.order = tuple(sorted(a.agency_id for a in agencies))

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
        ordered = sorted(stream.indexed(), key=lambda item: item[0])
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
        return PlacementStream(self.allocation(moment, history, portfolio, performance), cases)

    def allocation(
        self,
        moment: datetime,
        history: History,
        portfolio: Portfolio | None,
        performance: Mapping[str, Decimal] | None,
    ) -> Allocation:
        """A run's working state over ``history`` (which the run changes as it goes).

        Raises:
            ConfigError: For a bad portfolio or performance table, or a missing figure.
        """
        check_portfolio(portfolio)
        self.policy.decider.figure(portfolio)  # raises now if the rules need a figure and have none
        weights = self._weights(performance)
        return Allocation(self.policy, self.agencies, moment, history, weights, portfolio)

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
        return _only(
            self.stream(
                [case], as_of=as_of, events=events, portfolio=portfolio, performance=performance
            )
        )

    def decide(
        self,
        case: Case | Mapping[str, Any] | str,
        *,
        as_of: date | datetime,
        events: Iterable[Event | CaseError | Mapping[str, Any] | str] = (),
        portfolio: Portfolio | None = None,
        performance: Mapping[str, Decimal] | None = None,
    ) -> Decision:
        """The decision :meth:`explain` gives ``case``, the events read strictly.

        The case as this run of :meth:`place` decides it, no event written; a bad event line
        is an error here, not skipped, since it may be the one that places the case.

        Raises:
            CaseError: If the case is invalid or its placement contradicts the events.
            ConfigError: If an event cannot be read or cannot follow its case's state, or the
                rules read the portfolio figure and none was given.
        """
        stream = self.stream(
            [case], as_of=as_of, events=events, portfolio=portfolio, performance=performance
        )
        _refuse_bad_events(stream.event_errors)
        return _only(stream).decision

    def decide_many(
        self,
        cases: Iterable[Case | CaseError | Mapping[str, Any] | str],
        *,
        as_of: date | datetime,
        events: Iterable[Event | CaseError | Mapping[str, Any] | str] = (),
        portfolio: Portfolio | None = None,
        performance: Mapping[str, Decimal] | None = None,
    ) -> Iterator[Decision | CaseError]:
        """Each case's decision as :meth:`place` gives it, in input order; no event written.

        Raises:
            ConfigError: As :meth:`decide`, before any result.
        """
        check_batch(cases, "decide_many")
        check_batch(events, "decide_many (events)")
        events = list(events)
        _refuse_bad_events(replay(events, until=self.policy.moment(as_of)).errors)
        run = self.place(
            cases, as_of=as_of, events=events, portfolio=portfolio, performance=performance
        )
        for result in run.results:
            yield result if isinstance(result, CaseError) else result.decision

    def trace(
        self,
        case: Case | Mapping[str, Any] | str,
        *,
        as_of: date | datetime,
        events: Iterable[Event | CaseError | Mapping[str, Any] | str] = (),
        portfolio: Portfolio | None = None,
        performance: Mapping[str, Decimal] | None = None,
    ) -> Explanation:
        """Why ``case`` gets its decision on this run, every rule traced.

        :meth:`dunning.Policy.explain` of the case as the events place it, headed by the
        decision :meth:`decide` gives (the placement's: the notice, the wait, the agency's),
        never another.

        Raises:
            As :meth:`decide`.
        """
        events = list(events)  # read twice: the case's placement, then its decision
        placed = self.as_placed(case, as_of=as_of, events=events)
        explained = self.policy.explain(
            placed, as_of=as_of, portfolio=portfolio, agencies=self.agencies
        )
        decision = self.decide(
            case, as_of=as_of, events=events, portfolio=portfolio, performance=performance
        )
        return replace(explained, decision=decision)

    def as_placed(
        self,
        case: Case | Mapping[str, Any] | str,
        *,
        as_of: date | datetime,
        events: Iterable[Event | CaseError | Mapping[str, Any] | str] = (),
    ) -> Case:
        """``case`` as the events place it: placed, or not, as they say (they are the record).

        Raises:
            CaseError: If the case is invalid or its placement contradicts the events.
            ConfigError: If an event cannot be read or cannot follow its case's state.
        """
        moment = self.policy.moment(as_of)
        check_batch(events, "as_placed (events)")
        history = replay(events, until=moment)
        _refuse_bad_events(history.errors)
        parsed, _ = self.policy.decider.prepare(case, moment)
        return with_placement(parsed, history)[0]

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
        new = [a for a in self.order if a not in rates]
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
        return ineligible(agency, case, today)


def _only(stream: PlacementStream) -> PlacementResult:
    """The result of a stream of one case; its error raised."""
    result = next(stream)
    if isinstance(result, CaseError):
        raise result
    return result


def _refuse_bad_events(errors: list[CaseError]) -> None:
    """A decision read from events stands on all of them: a bad line is the caller's error."""
    if errors:
        shown = "; ".join(str(e) for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ConfigError(f"the placement events have {len(errors)} bad line(s): {shown}{more}")


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
