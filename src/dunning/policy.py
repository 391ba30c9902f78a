"""The loaded policy: rule file → checked IR → engine, and the decisions it makes.

``load_policy`` runs the whole front end (YAML with positions, schema, names and types, coverage
analysis) and raises :class:`PolicyError` with every diagnostic if anything is wrong. A ``Policy``
is immutable and safe to share between threads; ``decide`` reads no clock and no globals.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from ._version import __version__
from .agencies import Agencies
from .cases import check_batch, parse_case
from .delinquency import Assessment, Assessor, overdue_parts, quick_overdue
from .engines import Engine, RuleTrace, Verdict
from .errors import (
    ArgumentError,
    CaseError,
    ConfigError,
    Diagnostic,
    PolicyError,
    Problem,
    RuleEngineError,
)
from .facts import FACTS, Portfolio, fact_view
from .guards import Allowance, Guards
from .model import (
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
from .rules.frontend import GuardProfile, compile_bytes, compile_file, compile_policy
from .rules.ir import GROUPS, ChannelOutcome, PolicyIR, RecallOutcome, Rule
from .rules.nodes import Name, Node, walk

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
#: What a decision names as its channel rule when the case stays with its agency: no channel
#: rule decides for a placed case (rule ids cannot start with a parenthesis).
PLACED = "(placed)"
#: Decimal places a computed commission rate is rounded to.
RATE_PLACES = 10


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
    digest = _digest(content, ir.params)
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
            (p.name, {g: None if s is None else dict(s) for g, s in p.guards.items()},
             p.extends, p.sources)
            for p in profiles
        )  # fmt: skip
        return cls(content, name, engine, tuple(sorted((params or {}).items())), plain)

    def load(self) -> Policy:
        profiles = [GuardProfile(name, guards, extends, sources)
                    for name, guards, extends, sources in self.profiles]  # fmt: skip
        return loads_policy(self.content, name=self.name, engine=self.engine,
                            params=dict(self.params) or None, profiles=profiles)  # fmt: skip


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


def _digest(content: bytes, params: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(params.items())},
        default=str,
        sort_keys=True,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(content + b"\0" + canonical.encode()).hexdigest()


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
        self._assessor = Assessor(
            bands=ir.bands,
            allocation=ir.allocation,  # type: ignore[arg-type]
            penalty_multiplier=ir.penalty_multiplier,
            days_in_year=ir.days_in_year,
        )
        self.guards = Guards(ir.guards, ir.days_in_year)
        self._ref = PolicyRef(name=ir.name, version=ir.version or "0", digest=digest)
        self._products = frozenset(ir.products)
        self.portfolio_rules = tuple(
            rule.id
            for rule in ir.rules()
            if any(
                isinstance(node, Name) and node.name == "overdue_customers"
                for tree in _trees(rule)
                for node in walk(tree)
            )
        )

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
                years dunning decides in (:data:`AS_OF_YEARS`).
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
        case, assessment = self._prepare(case, self.moment(as_of))
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
        _check_portfolio(portfolio)
        case, assessment = self._prepare(case, moment)
        book = self._book(portfolio, case)
        return MappingProxyType(fact_view(case, self.guards.lawful(case, assessment), moment, book))

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
                is missing.

        Raises:
            CaseError: If the case is invalid or its product is not covered by the policy.
            ConfigError: If the rules need a portfolio figure and none was given.
        """
        moment = self.moment(as_of)
        _check_portfolio(portfolio)
        _check_agencies(agencies)
        case, assessment = self._prepare(case, moment)
        book = self._book(portfolio, case)
        status = agency_status(case, agencies, assessment.as_of)
        return self._decide_parts(case, assessment, moment, book, status)[1]

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
            agencies: The agencies file, as for :meth:`decide`.

        Raises:
            ConfigError: If the rules need a portfolio figure and none was given (raised before
                any case is read).
        """
        moment = self.moment(as_of)
        check_batch(cases, "decide_many")
        _check_agencies(agencies)
        if portfolio != "batch":
            _check_portfolio(portfolio)
        if portfolio is None:
            self._book(None)  # raises if the rules need a figure
        source = iter(cases)
        if portfolio != "batch":
            for item in source:
                yield _numbered(self._one(item, moment, portfolio, agencies), source)
            return
        prepared: list[tuple[int | None, tuple[Case, Assessment] | CaseError]] = []
        overdue: set[str] = set()
        for item in source:
            line = getattr(source, "line", None)
            try:
                case, assessment = self._prepare(item, moment)
            except CaseError as error:
                prepared.append((line, error))
                found = self._quick(item, moment)  # counted as overdue_borrowers counts it
                if found is not None and found[1] and found[0] is not None:
                    overdue.add(found[0][1])
                continue
            if assessment.dpd > 0:
                overdue.add(case.borrower.party_id)
            prepared.append((line, (case, assessment)))
        book = Portfolio(len(overdue))
        for line, entry in prepared:
            result = (
                entry
                if isinstance(entry, CaseError)
                else self._guarded(*entry, moment, book, agencies)
            )
            if isinstance(result, CaseError) and result.line is None:
                result.line = line
            yield result

    def overdue_borrowers(
        self, cases: Iterable[Case | CaseError | Mapping[str, Any] | str], *, as_of: date | datetime
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
        return {party for _, party in self._overdue(cases, as_of, "overdue_borrowers")}

    def overdue_borrowers_by_product(
        self, cases: Iterable[Case | CaseError | Mapping[str, Any] | str], *, as_of: date | datetime
    ) -> dict[str, set[str]]:
        """Return each covered product's distinct overdue borrowers among ``cases``.

        The figure per product (``Portfolio({"consumer_finance": N, ...})``): a borrower
        overdue on a card and on a consumer loan counts once in each. Read as
        :meth:`overdue_borrowers` reads; a product with no overdue borrower is not a key.
        """
        found: dict[str, set[str]] = {}
        for product, party in self._overdue(cases, as_of, "overdue_borrowers_by_product"):
            found.setdefault(product, set()).add(party)
        return found

    def _overdue(
        self, cases: Iterable[Any], as_of: date | datetime, caller: str
    ) -> Iterator[tuple[str, str]]:
        """Each overdue case's product and borrower (a borrower as often as they are found)."""
        moment = self.moment(as_of)
        check_batch(cases, caller)
        for item in cases:
            found = self._quick(item, moment)
            if found is not None:
                if found[1] and found[0] is not None:
                    yield found[0]
                continue
            try:
                case, assessment = self._prepare(item, moment)
            except CaseError:
                continue
            if assessment.dpd > 0:
                yield case.loan.product.value, case.borrower.party_id

    def _quick(self, item: Any, moment: datetime) -> tuple[tuple[str, str] | None, bool] | None:
        """:func:`~dunning.delinquency.quick_overdue` of an input, when it is data to read.

        Returns:
            ``((product, borrower), overdue)`` — ``(None, False)`` for an uncovered product —
            or None for the full reading.
        """
        data: Mapping[str, Any] | None = None
        if isinstance(item, str | bytes):
            data = overdue_parts(item)
        elif isinstance(item, Mapping):
            data = item
        # A Case is already validated: its assessment is as cheap.
        if data is None:
            return None
        found = quick_overdue(
            data, moment, products=self._products,
            penalty=self.ir.penalty_multiplier is not None,
        )  # fmt: skip
        if found is None or found[0] is None:
            return None if found is None else (None, False)
        return (data["loan"]["product"], found[0]), found[1]

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
        :meth:`decide`.
        """
        moment = self.moment(as_of)
        _check_portfolio(portfolio)
        _check_agencies(agencies)
        case, assessment = self._prepare(case, moment)
        book = self._book(portfolio, case)
        try:
            lawful = self.guards.lawful(case, assessment)
            status = agency_status(case, agencies, assessment.as_of)
            facts = fact_view(case, lawful, moment, book, status)
            groups = self.trace(facts)
            decided, recall = (case, None)
            winners: dict[str, str] = {}
            if case.placement is not None:
                decided, recall = self._recall(case, facts)
                rule = self._engine.recall(facts)
                winners["recall"] = "(none)" if rule is None else rule.id
            else:
                del groups["recall"]  # recall rules are for placed cases only
            if recall is not None:  # decided again as the lender's own case
                facts = fact_view(decided, lawful, moment, book)
                retraced = self.trace(facts)
                groups = {"recall": groups["recall"]} | {g: retraced[g] for g in GROUPS}
            verdict = self._engine.run(facts)
            decision = self._build(decided, assessment, moment, verdict, recall)
            decision = self._guard(decided, assessment, decision)
        except _OUT_OF_RANGE as exc:
            raise _undecidable(case, exc) from None
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
        case, assessment = self._prepare(case, decision.as_of)
        return self._guard(case, assessment, decision)

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

    # -- internals

    def _prepare(self, item: Any, moment: datetime) -> tuple[Case, Assessment]:
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
        self._covered(case)
        try:
            return case, self._assessor.assess(case, moment)
        except _OUT_OF_RANGE as exc:
            raise _undecidable(case, exc) from None

    def _one(
        self,
        item: Any,
        moment: datetime,
        portfolio: Portfolio | None,
        agencies: Agencies | None = None,
    ) -> Decision | CaseError:
        try:
            case, assessment = self._prepare(item, moment)
        except CaseError as error:
            return error
        return self._guarded(case, assessment, moment, self._book(portfolio, case), agencies)

    def _book(self, portfolio: Portfolio | None, case: Case | None = None) -> Portfolio:
        """The portfolio figures a decision uses: never guessed where a rule reads them."""
        if not self.portfolio_rules:
            return portfolio or _NO_FIGURE
        how = (
            "pass it: decide(..., portfolio=dunning.Portfolio(overdue_customers=N)), or one "
            "figure per product (overdue_customers={'consumer_finance': N, ...}); "
            "decide_many(..., portfolio='batch') counts the batch itself; on the command line, "
            "--overdue-customers"
        )
        rules = ", ".join(self.portfolio_rules)
        if portfolio is None:
            raise ConfigError(
                f"policy {self.name!r} reads the portfolio figure overdue_customers (rules "
                f"{rules}) and none was given: {how}"
            )
        if case is not None and portfolio.overdue_customers_of(case.loan.product.value) is None:
            raise ConfigError(
                f"the portfolio gives overdue_customers per product, but not for "
                f"{case.loan.product.value} (case {case.case_id!r}), which rules {rules} read"
            )
        return portfolio

    def _guarded(
        self,
        case: Case,
        assessment: Assessment,
        moment: datetime,
        portfolio: Portfolio,
        agencies: Agencies | None = None,
    ) -> Decision | CaseError:
        try:
            if agencies is None or case.placement is None:
                return self._decide(case, assessment, moment, portfolio)
            status = agency_status(case, agencies, assessment.as_of)
            return self._decide_parts(case, assessment, moment, portfolio, status)[1]
        except CaseError as error:
            return error

    def _covered(self, case: Case) -> None:
        if case.loan.currency != self.ir.currency and case.loan.product.value in self._products:
            # Thresholds and fees of the policy are amounts in its currency.
            raise CaseError(
                case.case_id,
                [
                    Problem(
                        "loan.currency",
                        "currency_mismatch",
                        f"the loan is in {case.loan.currency}, policy {self.name!r} decides "
                        f"in {self.ir.currency}",
                    )
                ],
            )
        if case.loan.product.value not in self._products:
            raise CaseError(
                case.case_id,
                [
                    Problem(
                        "loan.product",
                        "product_not_covered",
                        f"policy {self.name!r} does not cover {case.loan.product.value} "
                        f"(it covers {', '.join(self.ir.products)})",
                    )
                ],
            )

    def _decide(
        self, case: Case, assessment: Assessment, moment: datetime, portfolio: Portfolio
    ) -> Decision:
        return self._decide_parts(case, assessment, moment, portfolio)[1]

    def _decide_parts(
        self,
        case: Case,
        assessment: Assessment,
        moment: datetime,
        portfolio: Portfolio,
        agency_status: str | None = None,
    ) -> tuple[Decision, Decision]:
        """The decision as the rules made it, and after the guards (what :meth:`decide` gives).

        ``agency_status`` is the status of a placed case's agency, when the caller knows it.
        """
        # The rules read what can lawfully be asked for; the decision is built on the policy's
        # own figures, so that the guards cut them — and say so — where the law requires.
        try:
            allowance = self.guards.allowance(case, assessment)  # measured once, used twice
            lawful = self.guards.lawful(case, assessment, allowance)
            facts = fact_view(case, lawful, moment, portfolio, agency_status)
            recall = None
            if case.placement is not None:
                case, recall = self._recall(case, facts)
                if recall is not None:  # decided again as the lender's own case
                    facts = fact_view(case, lawful, moment, portfolio)
            decision = self._build(case, assessment, moment, self._engine.run(facts), recall)
            return decision, self._guard(case, assessment, decision, allowance)
        except _OUT_OF_RANGE as exc:  # (a try costs nothing until it catches)
            raise _undecidable(case, exc) from None

    def _recall(self, case: Case, facts: Mapping[str, Any]) -> tuple[Case, Recall | None]:
        """Run the recall rules for a placed case: the case as the rules go on to see it.

        A recall gives the case without its placement and the :class:`Recall`; otherwise the
        case stays as it is, with its agency.
        """
        placement = case.placement
        assert placement is not None
        rule = self._engine.recall(facts)
        if rule is None:
            return case, None
        outcome = rule.outcome
        assert isinstance(outcome, RecallOutcome)
        if outcome.reason is None:
            return case, None
        recall = Recall(agency_id=placement.agency_id, reason=outcome.reason, rule=rule.id)
        return case.model_copy(update={"placement": None}), recall

    def _guard(
        self,
        case: Case,
        assessment: Assessment,
        decision: Decision,
        allowance: Allowance | None = None,
    ) -> Decision:
        """The last stages of a decision: the guards, then the message rendered."""
        decision = self.guards.apply(case, decision, assessment, allowance)
        return self.ir.messages.render(case, decision)

    def _build(
        self,
        case: Case,
        assessment: Assessment,
        moment: datetime,
        verdict: Verdict,
        recall: Recall | None = None,
    ) -> Decision:
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
                policy=self._ref,
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


#: What a valid case can still drive the arithmetic into. (A CaseError is a ValueError too:
#: it is caught and raised again as it is.)
_OUT_OF_RANGE = (ArithmeticError, ValueError, RuleEngineError)


def agency_status(case: Case, agencies: Agencies | None, day: date) -> str | None:
    """The status of a placed case's agency on ``day`` (``None``: not placed, or not known).

    An agency the file no longer lists has no contract in force: ``ended``.
    """
    if case.placement is None or agencies is None:
        return None
    agency = agencies.get(case.placement.agency_id)
    return "ended" if agency is None else agency.status_on(day)


def _check_agencies(agencies: object) -> None:
    if agencies is not None and not isinstance(agencies, Agencies):
        raise ArgumentError(
            f"agencies must be dunning.Agencies (load_agencies), not {type(agencies).__name__}"
        )


def _undecidable(case: Case, exc: Exception) -> CaseError:
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


def _check_facts(facts: object) -> None:
    if not isinstance(facts, Mapping):
        raise ArgumentError(f"facts must be a mapping of every fact, not {type(facts).__name__}")
    missing = [name for name in FACTS if name not in facts]
    if missing:
        raise ArgumentError(
            f"facts must hold every fact (None where one is missing; see dunning.FACTS), not "
            f"lack {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}"
        )


def _check_portfolio(portfolio: object) -> None:
    if portfolio is not None and not isinstance(portfolio, Portfolio):
        raise ArgumentError(
            f"portfolio must be a dunning.Portfolio, such as Portfolio(overdue_customers=120), "
            f"not {type(portfolio).__name__}"
        )


#: The years a decision moment may fall in: any real collection decision does, and the date
#: arithmetic of a case (a year of instalments, days overdue) stays far from year 1 and 9999.
AS_OF_YEARS = (1900, 2199)


def check_as_of(moment: date) -> None:
    """Raise ``ConfigError`` if ``moment`` lies outside :data:`AS_OF_YEARS`."""
    low, high = AS_OF_YEARS
    if not low <= moment.year <= high:
        raise ConfigError(f"as_of {moment.isoformat()} is outside the years {low}-{high}")


def _numbered(result: Decision | CaseError, source: Iterator[Any]) -> Decision | CaseError:
    """Give an error the input line its case came from, when the input knows it."""
    if isinstance(result, CaseError) and result.line is None:
        result.line = getattr(source, "line", None)
    return result


#: What decisions use when the rules read no portfolio figure and none was given.
_NO_FIGURE = Portfolio(0)


def _trees(rule: Rule) -> list[Node]:
    """The expressions of a rule: its condition and its computed outcomes."""
    trees = [rule.when] if rule.when is not None else []
    if isinstance(rule.outcome, Mapping):
        trees += list(rule.outcome.values())
    return trees


def _or_none(value: object) -> str:
    return "none" if value is None else str(value)


def _recipients(case: Case, words: tuple[str, ...]) -> tuple[str, ...]:
    roles: set[Role] = set()
    for word in words:
        if word == "obligors":
            roles |= {Role.BORROWER, Role.GUARANTOR, Role.CO_BORROWER}
        else:
            roles.add(Role(word))
    return tuple(p.party_id for p in case.parties() if p.role in roles)
