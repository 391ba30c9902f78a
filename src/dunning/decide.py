"""The decision's stages: a case prepared, decided by the rules, recalled, built and guarded.

The internal API that every way of deciding calls — :class:`~dunning.Policy` (one case, a batch,
an explanation), the :class:`~dunning.Placer` and ``dunning.spark`` — so that a case is decided
the same way whichever door it came in by. A :class:`Decider` holds a checked policy and its
engine; its stages, in order:

``prepare``
    validate the case (if given as data), check that the policy covers its product and currency,
    and assess it (days past due, bucket, amounts);
``decide``
    measure what the charges cap allows, build the fact view, run the recall rules of a placed
    case, run the other groups (the engine), ``build`` the :class:`~dunning.Decision` from the
    winners, and ``guard`` it (the compliance guards, then the message rendered).

Nothing here reads a clock or a global: the moment and the portfolio figure are inputs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import ValidationError

from .agencies import Agencies
from .cases import parse_case
from .delinquency import Assessment, Assessor
from .engines import Engine, Verdict
from .errors import CaseError, Problem, RuleEngineError
from .facts import fact_view
from .guards import Allowance, Guards
from .model import (
    AS_OF_YEARS,
    SPECIAL_PROCEDURES,
    Action,
    Case,
    Channel,
    Decision,
    FeeTerms,
    HandledBy,
    Message,
    PolicyRef,
    Recall,
    Role,
)
from .money import quantum, round_exact, round_money
from .portfolio import Portfolio, required_figure
from .rules.ir import ChannelOutcome, PolicyIR, RecallOutcome
from .rules.nodes import Name, walk

__all__ = ["PLACED", "RATE_PLACES", "Decided", "Decider", "agency_status", "portfolio_rules"]

#: What a decision names as its channel rule when the case stays with its agency: no channel
#: rule decides for a placed case (rule ids cannot start with a parenthesis).
PLACED = "(placed)"
#: Decimal places a computed commission rate is rounded to.
RATE_PLACES = 10
#: What a valid case can still drive the arithmetic into. (A CaseError is a ValueError too:
#: it is caught and raised again as it is.)
OUT_OF_RANGE = (ArithmeticError, ValueError, RuleEngineError)


class Decided(NamedTuple):
    """One case's decision at the two points its callers need.

    Attributes:
        built: As the rules made it, before the guards (the placement reads what the rules
            wanted: an agency, even when a guard holds the case back for a notice).
        guarded: After the guards and the message: what :meth:`~dunning.Policy.decide` gives.
    """

    built: Decision
    guarded: Decision


class Decider:
    """A checked policy with its engine: the stages of a decision (immutable, thread-safe).

    Attributes:
        ir: The checked policy.
        engine: Its engine.
        guards: Its compliance guards.
        assessor: Its delinquency assessment (bands, allocation, penalty).
        ref: What every decision names as its policy (name, version, digest).
        products: The products it covers.
        portfolio_rules: The rules that read the portfolio figure ``overdue_customers``.
    """

    def __init__(self, ir: PolicyIR, digest: str, engine: Engine) -> None:
        self.ir = ir
        self.engine = engine
        self.assessor = Assessor(
            bands=ir.bands,
            allocation=ir.allocation,  # type: ignore[arg-type]
            penalty_multiplier=ir.penalty_multiplier,
            days_in_year=ir.days_in_year,
        )
        self.guards = Guards(ir.guards, ir.days_in_year)
        self.ref = PolicyRef(name=ir.name, version=ir.version or "0", digest=digest)
        self.products = frozenset(ir.products)
        self.portfolio_rules = portfolio_rules(ir)

    # -- before the rules

    def prepare(self, item: Any, moment: datetime) -> tuple[Case, Assessment]:
        """Validate (if needed), check coverage and assess one input; raise its CaseError."""
        if isinstance(item, CaseError):
            raise item
        if isinstance(item, Case):
            case = item
        elif isinstance(item, str | bytes | Mapping):
            case = parse_case(item)
        else:
            problem = Problem(
                "",
                "not_an_object",
                f"a case is a Case, a mapping or JSON text, not {type(item).__name__}",
            )
            raise CaseError(None, [problem])
        self.check_covered(case)
        try:
            return case, self.assessor.assess(case, moment)
        except OUT_OF_RANGE as exc:
            raise undecidable(case, exc) from None

    def check_covered(self, case: Case) -> None:
        """Raise the case's error if the policy does not cover its product or currency."""
        product = case.loan.product.value
        if case.loan.currency != self.ir.currency and product in self.products:
            # Thresholds and fees of the policy are amounts in its currency.
            message = (
                f"the loan is in {case.loan.currency}, policy {self.ir.name!r} decides in "
                f"{self.ir.currency}"
            )
            raise CaseError(case.case_id, [Problem("loan.currency", "currency_mismatch", message)])
        if product not in self.products:
            message = (
                f"policy {self.ir.name!r} does not cover {product} (it covers "
                f"{', '.join(self.ir.products)})"
            )
            raise CaseError(case.case_id, [Problem("loan.product", "product_not_covered", message)])

    def figure(self, portfolio: Portfolio | None, case: Case | None = None) -> Portfolio:
        """The portfolio figure a decision uses: the one given, checked against the rules."""
        return required_figure(portfolio, self.portfolio_rules, self.ir.name, case)

    # -- the rules and after

    def one(
        self,
        item: Any,
        moment: datetime,
        portfolio: Portfolio | None,
        agencies: Agencies | None = None,
    ) -> Decision | CaseError:
        """Decide one input of a batch: its decision, or its error (never raised)."""
        try:
            case, assessment = self.prepare(item, moment)
        except CaseError as error:
            return error
        return self.decision(case, assessment, moment, self.figure(portfolio, case), agencies)

    def decision(
        self,
        case: Case,
        assessment: Assessment,
        moment: datetime,
        portfolio: Portfolio,
        agencies: Agencies | None = None,
    ) -> Decision | CaseError:
        """A prepared case's decision after the guards, or its error (never raised)."""
        try:
            status = agency_status(case, agencies, assessment.as_of)
            return self.decide(case, assessment, moment, portfolio, status).guarded
        except CaseError as error:
            return error

    def decide(
        self,
        case: Case,
        assessment: Assessment,
        moment: datetime,
        portfolio: Portfolio,
        agency_status: str | None = None,
    ) -> Decided:
        """Decide a prepared case: the decision as the rules made it, and after the guards.

        ``agency_status`` is the status of a placed case's agency, when the caller knows it.

        Raises:
            CaseError: When the case drives the arithmetic out of range (``cannot_decide``).
        """
        # The rules read what can lawfully be asked for; the decision is built on the policy's
        # own figures, so that the guards cut them — and say so — where the law requires.
        try:
            allowance = self.guards.allowance(case, assessment)  # measured once, used twice
            lawful = self.guards.lawful(case, assessment, allowance)
            facts = fact_view(case, lawful, moment, portfolio, agency_status)
            recall = None
            if case.placement is not None:
                case, recall = self.recall(case, facts)
                if recall is not None:  # decided again as the lender's own case
                    facts = fact_view(case, lawful, moment, portfolio)
            built = self.build(case, assessment, moment, self.engine.run(facts), recall)
            return Decided(built, self.guard(case, assessment, built, allowance))
        except OUT_OF_RANGE as exc:  # (a try costs nothing until it catches)
            raise undecidable(case, exc) from None

    def recall(self, case: Case, facts: Mapping[str, Any]) -> tuple[Case, Recall | None]:
        """Run the recall rules for a placed case: the case as the rules go on to see it.

        A recall gives the case without its placement and the :class:`Recall`; otherwise the
        case stays as it is, with its agency.
        """
        placement = case.placement
        assert placement is not None
        rule = self.engine.recall(facts)
        if rule is None:
            return case, None
        outcome = rule.outcome
        assert isinstance(outcome, RecallOutcome)
        if outcome.reason is None:
            return case, None
        recall = Recall(agency_id=placement.agency_id, reason=outcome.reason, rule=rule.id)
        return case.model_copy(update={"placement": None}), recall

    def guard(
        self,
        case: Case,
        assessment: Assessment,
        decision: Decision,
        allowance: Allowance | None = None,
    ) -> Decision:
        """The last stages of a decision: the guards, then the message rendered."""
        decision = self.guards.apply(case, decision, assessment, allowance)
        return self.ir.messages.render(case, decision)

    def build(
        self,
        case: Case,
        assessment: Assessment,
        moment: datetime,
        verdict: Verdict,
        recall: Recall | None = None,
    ) -> Decision:
        """The decision the rules' winners make: action, fee terms, rules, before the guards."""
        currency = case.loan.currency
        channel = verdict.channel.outcome
        assert isinstance(channel, ChannelOutcome)
        placement = case.placement
        if placement is not None:  # its agency works it: no channel rule decides
            channel = ChannelOutcome(Channel.OUTSOURCE, HandledBy.AGENCY, (), None, None)
        penalty = verdict.fee_values.get("penalty_interest", assessment.penalty_interest)
        fee = verdict.fee_values.get("collection_fee", Decimal(0))
        penalty, fee = round_money(penalty, currency), round_money(fee, currency)
        total = (
            assessment.overdue_principal
            + assessment.overdue_interest
            + penalty
            + assessment.fees
            + fee
        )
        rate = verdict.commission_rate
        if rate is not None and not isinstance(rate, Decimal):
            rate = round_exact(rate, RATE_PLACES)  # a computed rate (int or exact fraction)
        rules = [verdict.channel.id, verdict.fees.id]
        if placement is not None:
            rules[0] = PLACED
            rate = placement.commission_rate  # the rate fixed when it was placed
        elif channel.channel is Channel.OUTSOURCE:
            rules.append(verdict.commission.id)
        else:
            rate = None  # an agency earns commission only on the cases it holds
        if recall is not None:
            rules.append(recall.rule)
        # Rendered once the guards are done, so that it quotes what they leave.
        message = None if channel.message is None else Message(template=channel.message)
        approval = channel.requires_approval
        if approval is None and channel.channel in SPECIAL_PROCEDURES:
            # The seed: a special procedure starts only with the supervisor's approval.
            approval = self.ir.agency.procedures[channel.channel.value].approval
        try:
            return Decision(
                case_id=case.case_id,
                as_of=moment,
                dpd=assessment.dpd,
                bucket=assessment.bucket,
                action=Action(
                    channel=channel.channel,
                    handled_by=channel.handled_by,
                    recipients=_recipients(case, channel.recipients),
                    requires_approval=approval,
                    message=message,
                    agency_id=None if placement is None else placement.agency_id,
                ),
                fee_terms=FeeTerms(
                    commission_rate=rate,
                    overdue_principal=assessment.overdue_principal,
                    overdue_interest=assessment.overdue_interest,
                    other_fees=assessment.fees,
                    penalty_interest=penalty,
                    collection_fee=fee,
                    on_hold=Decimal(0).quantize(quantum(currency)),
                    total_due=total,
                ),
                rules=tuple(rules),
                recall=recall,
                policy=self.ref,
            )
        except ValidationError as exc:
            rule = f"{verdict.fees.id}/{verdict.commission.id}"
            problems = [
                Problem(
                    ".".join(str(p) for p in err["loc"]),
                    "bad_outcome",
                    f"rules {rule} produced an invalid value: {err['msg']}",
                )
                for err in exc.errors(include_url=False)
            ]
            raise CaseError(case.case_id, problems) from None


def agency_status(case: Case, agencies: Agencies | None, day: date) -> str | None:
    """The status of a placed case's agency on ``day`` (``None``: not placed, or not known).

    An agency the file no longer lists has no contract in force: ``ended``.
    """
    if case.placement is None or agencies is None:
        return None
    agency = agencies.get(case.placement.agency_id)
    return "ended" if agency is None else agency.status_on(day)


def undecidable(case: Case, exc: Exception) -> CaseError:
    """The case's error for arithmetic it drove out of range: never a crash of the batch.

    Values the case contract allows can still reach a limit of the arithmetic (a computed
    outcome beyond 28 digits, a date past year 9999, a value the rete engine cannot represent
    exactly): the case gets a ``cannot_decide`` error and a batch goes on with the next one.
    """
    if isinstance(exc, CaseError):
        return exc
    # Looked for only now, on the rare failing case: the dates that took it out of range.
    problems = list(_far_dates(case.model_dump(), ""))
    if not problems:
        problems = [Problem("", "cannot_decide", f"cannot decide this case: {exc}")]
    return CaseError(case.case_id, problems)


def _far_dates(value: Any, path: str) -> Iterator[Problem]:
    """The dates and times of a dumped case outside :data:`AS_OF_YEARS`, with their paths."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _far_dates(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _far_dates(item, f"{path}[{index}]")
    elif isinstance(value, date) and not AS_OF_YEARS[0] <= value.year <= AS_OF_YEARS[1]:
        low, high = AS_OF_YEARS
        message = f"{value.isoformat()} is outside the years {low}-{high} that dunning decides in"
        yield Problem(path, "date_out_of_range", message)


def _recipients(case: Case, words: tuple[str, ...]) -> tuple[str, ...]:
    roles: set[Role] = set()
    for word in words:
        if word == "obligors":
            roles |= {Role.BORROWER, Role.GUARANTOR, Role.CO_BORROWER}
        else:
            roles.add(Role(word))
    return tuple(p.party_id for p in case.parties() if p.role in roles)


def portfolio_rules(ir: PolicyIR) -> tuple[str, ...]:
    """The ids of the rules that read ``overdue_customers`` (their conditions or outcomes)."""
    found = []
    for rule in ir.rules():
        trees = [rule.when] if rule.when is not None else []
        if isinstance(rule.outcome, Mapping):
            trees += list(rule.outcome.values())
        if any(
            isinstance(node, Name) and node.name == "overdue_customers"
            for tree in trees
            for node in walk(tree)
        ):
            found.append(rule.id)
    return tuple(found)
