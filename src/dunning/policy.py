"""The loaded policy: rule file → checked IR → engine, and the decisions it makes.

``load_policy`` runs the whole front end (YAML with positions, schema, names and types, coverage
analysis) and raises :class:`PolicyError` with every diagnostic if anything is wrong. A ``Policy``
is immutable and safe to share between threads; ``decide`` reads no clock and no globals.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from ._version import __version__
from .agencies import Agencies
from .batch import line_of
from .cases import check_batch
from .decide import OUT_OF_RANGE, PLACED, Decider, agency_status, undecidable
from .delinquency import Assessment
from .engines import Engine, RuleTrace, Verdict
from .errors import ArgumentError, CaseError, ConfigError, Diagnostic, PolicyError
from .facts import FACTS, fact_view
from .model import AS_OF_YEARS, Case, Decision, check_as_of
from .portfolio import Portfolio, check_portfolio, quick_overdue_party
from .rules.frontend import GuardProfile, compile_bytes, compile_file, compile_policy
from .rules.ir import GROUPS, PolicyIR, Rule
from .terms import Terms, policy_digest

__all__ = [
    "AS_OF_YEARS",
    "Explanation",
    "Policy",
    "check_as_of",
    "check_file",
    "load_policy",
    "loads_policy",
]

ENGINES = ("compiled", "rete")


def check_file(
    path: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    profiles: Iterable[GuardProfile] = (),
) -> list[Diagnostic]:
    """Return every diagnostic (errors and warnings) of one rule file, without raising."""
    _, source, _ = compile_file(Path(path), params, profiles)
    return source.diagnostics


def load_policy(
    path: str | Path,
    *,
    engine: str = "compiled",
    params: Mapping[str, Any] | None = None,
    profiles: Iterable[GuardProfile] = (),
) -> Policy:
    """Load, check and compile a policy file.

    Args:
        path: The policy's YAML file. It is read once, and at most 1 MiB of it.
        engine: ``compiled`` (default) or ``rete``.
        params: Values that override the file's parameter defaults (strings are converted as the
            command line's ``--param`` does).
        profiles: Guard profiles (:class:`~dunning.GuardProfile`) the file may name besides
            the built-in ``cn`` and ``us``.

    Raises:
        PolicyError: With every diagnostic of the file, compiler style.
        ConfigError: For an unknown or unavailable engine, bad profiles or parameters, or a
            path that is not a ``str`` or ``Path``.
    """
    if not isinstance(path, str | Path):
        raise ArgumentError(f"path must be a str or a pathlib.Path, not {type(path).__name__}")
    _check_options(engine, params)
    profiles = _listed(profiles)
    ir, source, content = compile_file(Path(path), params, profiles)
    if ir is None:
        raise PolicyError(source.diagnostics)
    recipe = _Recipe.of(content, str(path), engine, params, profiles)
    return _policy(ir, source.diagnostics, engine, content, recipe)


def loads_policy(
    text: str | bytes,
    *,
    name: str = "<policy>",
    engine: str = "compiled",
    params: Mapping[str, Any] | None = None,
    profiles: Iterable[GuardProfile] = (),
) -> Policy:
    """Load a policy from its text, as :func:`load_policy` loads a file.

    ``text`` is the file's text, or its bytes as read (UTF-8): a policy loaded from a file's
    bytes has the digest :func:`load_policy` gives that file. ``name`` stands for the file name
    in diagnostics. Used by generated and embedded policies, and by worker processes.
    """
    if not isinstance(text, str | bytes):
        raise ArgumentError(f"text must be a str or bytes, not {type(text).__name__}")
    if not isinstance(name, str):
        raise ArgumentError(f"name must be a str, not {type(name).__name__}")
    _check_options(engine, params)
    profiles = _listed(profiles)
    content = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if isinstance(text, bytes):
        ir, source = compile_bytes(name, text, params, profiles)
    else:
        ir, source = compile_policy(name, text, params, profiles)
    if ir is None:
        raise PolicyError(source.diagnostics)
    recipe = _Recipe.of(content, name, engine, params, profiles)
    return _policy(ir, source.diagnostics, engine, content, recipe)


def _listed(profiles: Any) -> Any:
    """The profiles as a tuple (the recipe keeps them); other values as given, to be refused."""
    if isinstance(profiles, str | bytes | Mapping):
        return profiles
    try:
        return tuple(profiles)
    except TypeError:
        return profiles


def _check_options(engine: object, params: object) -> None:
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if params is not None and (
        not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params)
    ):
        raise ArgumentError(
            f"params must be a mapping of parameter names (str) to values, not {params!r:.60}"
        )


def _policy(
    ir: PolicyIR, diagnostics: list[Diagnostic], engine: str, content: bytes, recipe: _Recipe
) -> Policy:
    digest = policy_digest(content, ir.params)
    return Policy(ir, digest, _engine(engine, ir, digest), diagnostics, content, recipe)


@dataclass(frozen=True)
class _Recipe:
    """How a policy was loaded: all a pickled policy carries to be loaded again elsewhere.

    Attributes:
        content: The rule file's bytes.
        name: The file's name (for diagnostics).
        engine: The engine's name.
        params: The parameter overrides as they were given.
        profiles: The host's guard profiles, as plain data.
    """

    content: bytes
    name: str
    engine: str
    params: tuple[tuple[str, Any], ...]
    profiles: tuple[tuple[str, dict[str, Any], str | None, str], ...]

    @classmethod
    def of(
        cls,
        content: bytes,
        name: str,
        engine: str,
        params: Mapping[str, Any] | None,
        profiles: Iterable[GuardProfile],
    ) -> _Recipe:
        plain = tuple(
            (
                p.name,
                {g: None if s is None else dict(s) for g, s in p.guards.items()},
                p.extends,
                p.sources,
            )
            for p in profiles
        )
        return cls(content, name, engine, tuple(sorted((params or {}).items())), plain)

    def load(self) -> Policy:
        profiles = [
            GuardProfile(name, guards, extends, sources)
            for name, guards, extends, sources in self.profiles
        ]
        return loads_policy(
            self.content,
            name=self.name,
            engine=self.engine,
            params=dict(self.params) or None,
            profiles=profiles,
        )


#: Policies loaded from pickles in this process, by digest and engine: a worker that receives
#: the same policy with every task compiles it once.
_UNPICKLED: dict[tuple[str, str], Policy] = {}
_UNPICKLED_LOCK = threading.Lock()
_UNPICKLED_MAX = 16


def _unpickle(recipe: _Recipe, digest: str, version: str) -> Policy:
    """A pickled policy, loaded again (or found among those this process already loaded).

    The pickling process's dunning must be this one: another version may decide otherwise.
    """
    if version != __version__:
        raise ConfigError(
            f"the policy {recipe.name} was pickled by dunning {version} and this process has "
            f"dunning {__version__}: install the same version on the driver and the workers"
        )
    key = (digest, recipe.engine)
    with _UNPICKLED_LOCK:
        found = _UNPICKLED.get(key)
        if found is None:
            found = recipe.load()
            if found.digest != digest:
                raise ConfigError(
                    f"the pickled policy {recipe.name} loads with digest {found.digest}, not "
                    f"{digest}: is this process's dunning another version?"
                )
            if len(_UNPICKLED) >= _UNPICKLED_MAX:
                del _UNPICKLED[next(iter(_UNPICKLED))]
            _UNPICKLED[key] = found
    return found


def _engine(name: str, ir: PolicyIR, digest: str) -> Engine:
    if name == "compiled":
        from .engines.compiled import CompiledEngine

        return CompiledEngine(ir, digest)
    from .engines.rete import ReteEngine

    return ReteEngine(ir, digest)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a case got its decision: every rule of every group, matched or not.

    Attributes:
        decision: The decision, after the guards (as :meth:`Policy.decide` gives it).
        facts: The fact view the rules saw (see :data:`dunning.FACTS`).
        groups: For each decision group, a :class:`RuleTrace` per rule in decision order:
            whether its condition held and, if not, the first part that did not.
        winners: The id of the rule that decided each group.
        params: The value of each parameter the rules use, with the rules that use it.
    """

    decision: Decision
    facts: dict[str, Any]
    groups: dict[str, list[RuleTrace]]
    winners: dict[str, str]
    params: dict[str, tuple[Any, tuple[str, ...]]] = field(default_factory=dict)

    def render(self) -> str:
        """Return a readable, plain-text trace."""
        d = self.decision
        action, terms = d.action, d.fee_terms
        rate = _or_none(terms.commission_rate)
        agency = f" {action.agency_id}" if action.agency_id else ""
        lines = [
            f"case {d.case_id} as of {d.as_of.isoformat()}: dpd {d.dpd}, bucket {d.bucket}",
            f"decision: {action.channel} (handled by {action.handled_by}{agency}), "
            f"total due {terms.total_due}, commission {rate}",
            f"  to: {', '.join(action.recipients) or 'nobody'}; "
            f"not before: {action.not_before.isoformat() if action.not_before else 'at once'}"
            + (f"; approval: {action.requires_approval}" if action.requires_approval else "")
            + ("; to be recorded" if action.requires_recording else ""),
            f"  charges: penalty interest {terms.penalty_interest}, collection fee "
            f"{terms.collection_fee}, other fees {terms.other_fees}"
            + (f", on hold {terms.on_hold}" if terms.on_hold else ""),
        ]
        if d.recall is not None:
            lines.append(
                f"  recalled from {d.recall.agency_id}: {d.recall.reason} (rule {d.recall.rule})"
            )
        message = action.message
        if message is not None:
            about = [message.language or ""]
            if message.segments is not None:
                about.append(f"{message.segments} SMS segment{'s' if message.segments > 1 else ''}")
            lines.append(f"  message: {message.template} ({', '.join(a for a in about if a)})")
            if message.text is not None:
                lines.append(f"    {message.text}")
        lines.append("")
        if d.guards:
            lines.append("guards:")
            lines.extend(f"  {g.id} ({g.effect}): {g.reason}" for g in d.guards)
            lines.append("")
        # Columns as wide as the longest rule id and file position, so that they line up.
        traces_all = [t for traces in self.groups.values() for t in traces]
        id_width = max((len(t.rule.id) for t in traces_all), default=0)
        where_width = max(
            (len(f"{Path(t.rule.file).name}:{t.rule.pos.line}") for t in traces_all), default=0
        )
        for group, traces in self.groups.items():
            lines.append(f"{group}:")
            winner = self.winners[group]
            for trace in traces:
                rule = trace.rule
                mark = "=>" if rule.id == winner else ("ok" if trace.matched else "--")
                where = f"{Path(rule.file).name}:{rule.pos.line}"
                if trace.matched:
                    note = "matched" if rule.id == winner else "matched, but an earlier rule won"
                    if rule.when is None:
                        note = "fallback" + (" (decides)" if rule.id == winner else "")
                else:
                    note = f"failed at: {trace.failed}"
                lines.append(f"  {mark} {rule.id:<{id_width}}  {where:<{where_width}}  {note}")
            lines.append("")
        if self.params:
            lines.append("parameters (the values the rules used):")
            for name, (value, rules) in self.params.items():
                shown = ", ".join(map(str, value)) if isinstance(value, tuple) else value
                lines.append(f"  {name} = {shown}  ({', '.join(rules)})")
            lines.append("")
        lines.append("facts:")
        for name, value in self.facts.items():
            lines.append(f"  {name} = {'null' if value is None else value}")
        return "\n".join(lines)


class Policy:
    """A loaded, checked and compiled collection policy.

    Attributes:
        ir: The checked policy (:class:`~dunning.rules.ir.PolicyIR`), a read-only view: its
            rules, parameters, bands, guard settings and the rules no case reaches.
        name: The policy's name.
        version: Its version string.
        digest: ``sha256:…`` of the rule file and the parameter values in force.
        content: The rule file's bytes as they were read and compiled: what the digest names.
            ``loads_policy(policy.content, ...)`` loads the same policy again (a worker
            process does so, never reading the file a second time).
        engine: The engine's name.
        warnings: Diagnostics that did not stop loading.
        portfolio_rules: The rules that read the portfolio figure ``overdue_customers``; when
            there are any, every decision must be given the figure.
        decider: The stages of a decision (:class:`~dunning.decide.Decider`): the internal API
            the placement and Spark call; it may change between versions.
    """

    def __init__(
        self,
        ir: PolicyIR,
        digest: str,
        engine: Engine,
        diagnostics: list[Diagnostic],
        content: bytes = b"",
        recipe: _Recipe | None = None,
    ) -> None:
        self.ir = ir
        self.content = content
        self._recipe = recipe
        self.name = ir.name
        self.version = ir.version
        self.digest = digest
        self._engine = engine
        self.engine = engine.name
        self.warnings = tuple(d for d in diagnostics if d.severity == "warning")
        self.timezone = ZoneInfo(ir.timezone)
        self.decider = Decider(ir, digest, engine)
        self.guards = self.decider.guards
        self.portfolio_rules = self.decider.portfolio_rules
        self.terms = Terms.of(ir, digest)  # what settlement and costs read of it

    @property
    def text(self) -> str:
        """The rule file's text."""
        return self.ir.text

    @property
    def params(self) -> dict[str, Any]:
        """The parameter values in force."""
        return dict(self.ir.params)

    @property
    def source(self) -> str | None:
        """The generated Python source, for the compiled engine."""
        return getattr(self._engine, "source", None)

    def __repr__(self) -> str:
        return f"<Policy {self.name} {self.version} {self.digest[:19]} engine={self.engine}>"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the recipe to load it again: the rule file's bytes, engine, overrides.

        The receiving process compiles the policy once and reuses it for every later pickle of
        the same digest; the digest is checked on arrival.
        """
        if self._recipe is None:
            raise TypeError("only a policy made by load_policy or loads_policy can be pickled")
        return (_unpickle, (self._recipe, self.digest, __version__))

    # -- deciding

    def moment(self, as_of: date | datetime) -> datetime:
        """Return ``as_of`` as an aware datetime (a date means its start in the policy's zone).

        Raises:
            ConfigError: If ``as_of`` is not a date or an aware datetime, or lies outside the
                years dunning decides in (:data:`~dunning.model.AS_OF_YEARS`).
        """
        if isinstance(as_of, datetime):
            if as_of.tzinfo is None or as_of.utcoffset() is None:
                raise ConfigError(f"as_of must be timezone-aware, got {as_of.isoformat()}")
            moment = as_of
        elif isinstance(as_of, date):
            moment = datetime.combine(as_of, time(0), self.timezone)
        else:
            raise ArgumentError(
                f"as_of must be a datetime.date or an aware datetime.datetime, not "
                f"{type(as_of).__name__}"
            )
        check_as_of(moment)
        return moment

    def assess(self, case: Case | Mapping[str, Any] | str, as_of: date | datetime) -> Assessment:
        """Assess ``case`` as the rules see it: this policy's bands and penalty, held to its cap.

        The figures are those the rules read and the decision charges before any fee a rule
        adds: the penalty interest is the policy's, cut to what the charges cap allows. ``case``
        may also be a dict or JSON text, as for :meth:`decide`.
        """
        case, assessment = self.decider.prepare(case, self.moment(as_of))
        return self.guards.lawful(case, assessment)

    def facts(
        self,
        case: Case | Mapping[str, Any] | str,
        *,
        as_of: date | datetime,
        portfolio: Portfolio | None = None,
    ) -> Mapping[str, Any]:
        """The facts the rules read for ``case`` at ``as_of``, by name (a read-only view).

        Raises:
            CaseError: For a case that is invalid or not covered.
            ConfigError: When the rules read ``overdue_customers`` and no portfolio is given.
        """
        moment = self.moment(as_of)
        check_portfolio(portfolio)
        case, assessment = self.decider.prepare(case, moment)
        figure = self.decider.figure(portfolio, case)
        lawful = self.guards.lawful(case, assessment)
        return MappingProxyType(fact_view(case, lawful, moment, figure))

    def decide(
        self,
        case: Case | Mapping[str, Any] | str,
        *,
        as_of: date | datetime,
        portfolio: Portfolio | None = None,
        agencies: Agencies | None = None,
    ) -> Decision:
        """Decide the next action and the fee terms for one case.

        Args:
            case: A ``Case``, or its JSON text or dict.
            as_of: The moment of the decision (aware datetime, or a date = its start in the
                policy's time zone).
            portfolio: Portfolio figures (:class:`~dunning.Portfolio`). Required when the policy's
                rules read ``overdue_customers`` (:attr:`portfolio_rules`): one case says nothing
                about the book.
            agencies: The agencies file (:func:`~dunning.load_agencies`): the recall rules of a
                placed case read its agency's status (``agency_status``); without it, that fact
                is missing. The case is decided by its own ``placement``: to decide it as the
                placement events place it, :meth:`dunning.Placer.decide`.

        Raises:
            CaseError: If the case is invalid or its product is not covered by the policy.
            ConfigError: If the rules need a portfolio figure and none was given.
        """
        moment = self.moment(as_of)
        check_portfolio(portfolio)
        _check_agencies(agencies)
        case, assessment = self.decider.prepare(case, moment)
        figure = self.decider.figure(portfolio, case)
        status = agency_status(case, agencies, assessment.as_of)
        return self.decider.decide(case, assessment, moment, figure, status).guarded

    def decide_many(
        self,
        cases: Iterable[Case | CaseError | Mapping[str, Any] | str],
        *,
        as_of: date | datetime,
        portfolio: Portfolio | Literal["batch"] | None = None,
        agencies: Agencies | None = None,
    ) -> Iterator[Decision | CaseError]:
        """Decide a batch: one result per input, in order — a ``Decision`` or a ``CaseError``.

        Args:
            cases: ``Case``s, their dicts or JSON texts, or the results of ``read_cases``.
            as_of: The moment of the decisions.
            portfolio: Portfolio figures, and the batch is streamed; or ``"batch"``: the
                number of distinct overdue borrowers in the batch itself (the whole book only
                if the batch is the whole book), for which the batch is read completely first.
                Required, in one form or the other, when the rules read ``overdue_customers``.
            agencies: The agencies file, as for :meth:`decide` (with the placement events:
                :meth:`dunning.Placer.decide_many`).

        Raises:
            ConfigError: If the rules need a portfolio figure and none was given (raised before
                any case is read).
        """
        moment = self.moment(as_of)
        check_batch(cases, "decide_many")
        _check_agencies(agencies)
        if portfolio != "batch":
            check_portfolio(portfolio)
        if portfolio is None:
            self.decider.figure(None)  # raises if the rules need a figure
        source = iter(cases)
        decider = self.decider
        if portfolio != "batch":
            for item in source:
                yield _lined(decider.one(item, moment, portfolio, agencies), line_of(source))
            return
        prepared: list[tuple[int | None, tuple[Case, Assessment] | CaseError]] = []
        overdue: set[str] = set()
        for item in source:
            line = line_of(source)
            try:
                case, assessment = decider.prepare(item, moment)
            except CaseError as error:
                prepared.append((line, error))
                found = self._quick(item, moment)  # counted as overdue_borrowers counts it
                if found is not None and found[1] and found[0] is not None:
                    overdue.add(found[0][1])
                continue
            if assessment.dpd > 0:
                overdue.add(case.borrower.party_id)
            prepared.append((line, (case, assessment)))
        counted = Portfolio(len(overdue))
        for line, entry in prepared:
            result = (
                entry
                if isinstance(entry, CaseError)
                else decider.decision(*entry, moment, counted, agencies)
            )
            yield _lined(result, line)

    def overdue_borrowers(
        self,
        cases: Iterable[Case | CaseError | Mapping[str, Any] | str | bytes],
        *,
        as_of: date | datetime,
    ) -> set[str]:
        """Return the distinct borrowers of ``cases`` this policy covers that are overdue.

        Their number is the ``overdue_customers`` figure :meth:`decide_many` counts for a batch
        given without a portfolio; this reads the batch one case at a time, so a host (or the
        command line, or Spark) can count in a first pass and then stream the batch with it.

        A borrower is overdue when a case of theirs the policy covers is past due by its loan,
        its payments and its delinquency snapshot. Most cases are settled from those parts
        alone (:func:`~dunning.delinquency.quick_overdue`: the loan validated, no rules, no
        guards, a fraction of a decision's cost); the rest are read and assessed in full. So a
        case whose loan is readable counts even when another part of it is invalid (a bad phone
        number does not make its borrower less overdue); a case whose loan is not is not counted.
        """
        return {party for _, party in self.overdue_parties(cases, as_of, "overdue_borrowers")}

    def overdue_borrowers_by_product(
        self,
        cases: Iterable[Case | CaseError | Mapping[str, Any] | str | bytes],
        *,
        as_of: date | datetime,
    ) -> dict[str, set[str]]:
        """Return each covered product's distinct overdue borrowers among ``cases``.

        The figure per product (``Portfolio({"consumer_finance": N, ...})``): a borrower
        overdue on a card and on a consumer loan counts once in each. Read as
        :meth:`overdue_borrowers` reads; a product with no overdue borrower is not a key.
        """
        found: dict[str, set[str]] = {}
        for product, party in self.overdue_parties(cases, as_of, "overdue_borrowers_by_product"):
            found.setdefault(product, set()).add(party)
        return found

    def overdue_parties(
        self, cases: Iterable[Any], as_of: date | datetime, caller: str = "overdue_parties"
    ) -> Iterator[tuple[str, str]]:
        """Each overdue case's product and borrower (a borrower as often as they are found).

        What :meth:`overdue_borrowers` counts, one case at a time: Spark's workers count
        their partitions with it.
        """
        moment = self.moment(as_of)
        check_batch(cases, caller)
        for item in cases:
            found = self._quick(item, moment)
            if found is not None:
                if found[1] and found[0] is not None:
                    yield found[0]
                continue
            try:
                case, assessment = self.decider.prepare(item, moment)
            except CaseError:
                continue
            if assessment.dpd > 0:
                yield case.loan.product.value, case.borrower.party_id

    def _quick(self, item: Any, moment: datetime) -> tuple[tuple[str, str] | None, bool] | None:
        penalty = self.ir.penalty_multiplier is not None
        return quick_overdue_party(item, moment, products=self.decider.products, penalty=penalty)

    def explain(
        self,
        case: Case | Mapping[str, Any] | str,
        *,
        as_of: date | datetime,
        portfolio: Portfolio | None = None,
        agencies: Agencies | None = None,
    ) -> Explanation:
        """Decide ``case`` and say why: every rule considered, and the first failing part.

        ``agencies`` gives a placed case's recall rules its agency's status, as for
        :meth:`decide` (with the placement events: :meth:`dunning.Placer.trace`).
        """
        moment = self.moment(as_of)
        check_portfolio(portfolio)
        _check_agencies(agencies)
        decider = self.decider
        case, assessment = decider.prepare(case, moment)
        figure = decider.figure(portfolio, case)
        try:
            lawful = self.guards.lawful(case, assessment)
            status = agency_status(case, agencies, assessment.as_of)
            facts = fact_view(case, lawful, moment, figure, status)
            groups = self.trace(facts)
            decided, recall = (case, None)
            winners: dict[str, str] = {}
            if case.placement is not None:
                decided, recall = decider.recall(case, facts)
                rule = self._engine.recall(facts)
                winners["recall"] = "(none)" if rule is None else rule.id
            else:
                del groups["recall"]  # recall rules are for placed cases only
            if recall is not None:  # decided again as the lender's own case
                facts = fact_view(decided, lawful, moment, figure)
                retraced = self.trace(facts)
                groups = {"recall": groups["recall"]} | {g: retraced[g] for g in GROUPS}
            verdict = self._engine.run(facts)
            decision = decider.build(decided, assessment, moment, verdict, recall)
            decision = decider.guard(decided, assessment, decision)
        except OUT_OF_RANGE as exc:
            raise undecidable(case, exc) from None
        winners |= {group: getattr(verdict, group).id for group in GROUPS}
        if decided.placement is not None:
            winners["channel"] = PLACED
        users: dict[str, list[str]] = {}
        for rule in self.ir.rules():
            for name in rule.params:
                users.setdefault(name, []).append(rule.id)
        params = {name: (self.ir.params[name], tuple(ids)) for name, ids in sorted(users.items())}
        return Explanation(decision, facts, groups, winners, params)

    def apply_guards(self, case: Case | Mapping[str, Any] | str, decision: Decision) -> Decision:
        """Apply this policy's compliance guards to ``decision`` (made by anyone) for ``case``.

        Use it to check an action a collector chose by hand. Guards are idempotent: a decision
        from :meth:`decide` comes back unchanged. A message naming one of the policy's
        templates is rendered as :meth:`decide` renders it; one naming another is left as given.
        """
        if not isinstance(decision, Decision):
            raise ArgumentError(
                f"decision must be a dunning.Decision, not {type(decision).__name__}"
            )
        case, assessment = self.decider.prepare(case, decision.as_of)
        return self.decider.guard(case, assessment, decision)

    def evaluate(self, facts: Mapping[str, Any]) -> Verdict:
        """Run the rules on a fact view directly (see :data:`dunning.FACTS`).

        The low-level entry used by policy tests: no case, no assessment, no fee arithmetic,
        no guards. ``facts`` must hold every fact (``None`` where one is missing).

        Raises:
            ArgumentError: If ``facts`` is not a mapping holding every fact.
        """
        _check_facts(facts)
        return self._engine.run(facts)

    def evaluate_recall(self, facts: Mapping[str, Any]) -> Rule | None:
        """Run the recall rules on a placed case's fact view: the first that holds, or ``None``.

        The low-level entry, as :meth:`evaluate` is for the other groups; ``decide`` runs it
        for every placed case.
        """
        _check_facts(facts)
        return self._engine.recall(facts)

    def trace(self, facts: Mapping[str, Any]) -> dict[str, list[RuleTrace]]:
        """Evaluate every rule of every group for a fact view, part by part.

        What :meth:`explain` shows, for a fact view instead of a case: for each group, a
        :class:`RuleTrace` per rule in decision order. The first rule that matched is the one
        :meth:`evaluate` picks.
        """
        _check_facts(facts)
        return self._engine.trace(facts)


def _check_agencies(agencies: object) -> None:
    if agencies is not None and not isinstance(agencies, Agencies):
        raise ArgumentError(
            f"agencies must be dunning.Agencies (load_agencies), not {type(agencies).__name__}"
        )


def _check_facts(facts: object) -> None:
    if not isinstance(facts, Mapping):
        raise ArgumentError(f"facts must be a mapping of every fact, not {type(facts).__name__}")
    missing = [name for name in FACTS if name not in facts]
    if missing:
        raise ArgumentError(
            f"facts must hold every fact (None where one is missing; see dunning.FACTS), not "
            f"lack {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}"
        )


def _lined(result: Decision | CaseError, line: int | None) -> Decision | CaseError:
    """Give an error the input line its case came from, when the input knows it."""
    if isinstance(result, CaseError) and result.line is None:
        result.line = line
    return result


def _or_none(value: object) -> str:
    return "none" if value is None else str(value)
