"""Deciding a whole book on Apache Spark: ``pip install 'dunning[spark]'``.

Each function takes a DataFrame whose ``column`` holds cases — JSON text of the case contract, or
a struct in its shape — and returns a DataFrame with one row per input row, errors included, in
a fixed schema (:data:`DECISION_COLUMNS`, :data:`ASSESSMENT_COLUMNS`). The policy travels by
pickle (its rule file's bytes, engine and overrides) and each Python worker compiles it once,
kept by digest. Nothing depends on how the DataFrame is partitioned: the portfolio figure, when
the rules need it and none is given, is counted over the whole DataFrame by its own pass
(:func:`overdue_customers`), never per partition; and the driver never collects the decisions.
"""

from __future__ import annotations

import json
import pickle
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

from ._version import __version__
from .batch import result_line
from .cases import check_batch
from .errors import ArgumentError, CaseError, ConfigError, Problem
from .events import Event
from .placement.allocation import Allocation, Pending, duplicate_case
from .placement.history import replay
from .placement.placer import Eligibility, PlacementResult, Placer
from .policy import Policy, load_policy
from .portfolio import Portfolio

if TYPE_CHECKING:  # pragma: no cover - types only
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "ASSESSMENT_COLUMNS",
    "DECISION_COLUMNS",
    "PLACEMENT_COLUMNS",
    "Placements",
    "assess",
    "check_workers",
    "decide",
    "overdue_customers",
    "place",
]

#: The columns of :func:`decide`'s result after the key, with their Spark SQL types.
DECISION_COLUMNS = (
    ("status", "string"),  # decided | rejected | skipped (a product the policy does not cover)
    ("case_id", "string"),
    ("dpd", "int"),
    ("bucket", "string"),
    ("channel", "string"),
    ("handled_by", "string"),
    ("total_due", "decimal(20,4)"),
    ("commission_rate", "decimal(14,10)"),
    ("decision", "string"),  # the decision's JSON, as `dunning decide` writes it
    ("error", "string"),  # the error record's JSON, as `dunning decide` writes it
)
#: The columns of :func:`assess`'s result after the key.
ASSESSMENT_COLUMNS = (
    ("status", "string"),  # assessed | rejected | skipped
    ("case_id", "string"),
    ("dpd", "int"),
    ("bucket", "string"),
    ("total_due", "decimal(20,4)"),
    ("assessment", "string"),
    ("error", "string"),
)
#: The columns of :func:`place`'s result after the key.
PLACEMENT_COLUMNS = (
    ("status", "string"),  # decided | rejected | skipped
    ("case_id", "string"),
    ("channel", "string"),
    ("handled_by", "string"),
    ("agency_id", "string"),  # the agency the decision names: the holder, or the notice's
    ("events", "string"),  # JSON array of the run's events for the case, as `dunning place`
    ("eligibility", "string"),  # JSON object: each agency, null (eligible) or why not
    ("decision", "string"),
    ("error", "string"),
)
_SKIPPED = "product_not_covered"


class Placements(NamedTuple):
    """What :func:`place` returns.

    Attributes:
        rows: One row per input row: the key (if given) then :data:`PLACEMENT_COLUMNS`.
        event_errors: An error per event line that could not be read or cannot follow its
            case's state (read on the driver, before any case is placed).
        kept: The cases decided once and kept (persisted) for the three parts of
            :attr:`rows` that read them; :meth:`unpersist` lets them go.
    """

    rows: DataFrame
    event_errors: list[CaseError]
    kept: DataFrame

    def unpersist(self) -> None:
        """Let Spark drop the decisions it keeps for :attr:`rows` (once they are written)."""
        self.kept.unpersist()


def decide(
    df: DataFrame,
    policy: Policy | str | Path,
    as_of: date | datetime,
    *,
    column: str = "case",
    key: str | None = None,
    portfolio: Portfolio | int | Mapping[str, int] | None = None,
    params: Mapping[str, Any] | None = None,
    engine: str | None = None,
) -> DataFrame:
    """Decide every case of ``df``: a DataFrame of one row per input row.

    Args:
        df: The cases.
        policy: A loaded policy, or the path of its file (read on the driver, once).
        as_of: The moment of the decisions (a date: its start in the policy's time zone).
        column: The column of cases: JSON text, or a struct in the case contract's shape.
        key: A column of ``df`` carried into the result as it is (to join the results back).
        portfolio: The portfolio figure, when the rules read ``overdue_customers``; without it,
            it is counted over the whole of ``df`` first (:func:`overdue_customers`).
        params: Parameter overrides (with a path, or to load ``policy`` again with them).
        engine: ``compiled`` or ``rete`` (default: the policy's own, or ``compiled``).

    Returns:
        ``key`` (if given) then :data:`DECISION_COLUMNS`.
    """
    loaded = _policy(policy, params, engine)
    moment = loaded.moment(as_of)
    book = _portfolio(portfolio)
    if book is None and loaded.portfolio_rules:
        book = Portfolio(overdue_customers(df, loaded, moment, column=column))
    cases = _cases(df, column, key)
    return cases.mapInArrow(
        _mapper("decide", pickle.dumps(loaded), moment, book, key),
        _schema(df, key, DECISION_COLUMNS),
    )


def assess(
    df: DataFrame,
    policy: Policy | str | Path,
    as_of: date | datetime,
    *,
    column: str = "case",
    key: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> DataFrame:
    """Assess every case of ``df`` as the policy's rules see it: one row per input row.

    Returns:
        ``key`` (if given) then :data:`ASSESSMENT_COLUMNS`; ``assessment`` is the JSON of
        :meth:`dunning.Policy.assess`.
    """
    loaded = _policy(policy, params, None)
    moment = loaded.moment(as_of)
    return _cases(df, column, key).mapInArrow(
        _mapper("assess", pickle.dumps(loaded), moment, None, key),
        _schema(df, key, ASSESSMENT_COLUMNS),
    )


@overload
def overdue_customers(
    df: DataFrame,
    policy: Policy | str | Path,
    as_of: date | datetime,
    *,
    column: str = ...,
    params: Mapping[str, Any] | None = ...,
    by_product: Literal[False] = ...,
) -> int: ...
@overload
def overdue_customers(
    df: DataFrame,
    policy: Policy | str | Path,
    as_of: date | datetime,
    *,
    column: str = ...,
    params: Mapping[str, Any] | None = ...,
    by_product: Literal[True],
) -> dict[str, int]: ...
def overdue_customers(
    df: DataFrame,
    policy: Policy | str | Path,
    as_of: date | datetime,
    *,
    column: str = "case",
    params: Mapping[str, Any] | None = None,
    by_product: bool = False,
) -> int | dict[str, int]:
    """The distinct overdue borrowers of the cases of ``df`` the policy covers.

    The figure ``dunning decide`` counts for a file given without one: invalid and uncovered
    cases are not counted. Each worker reads its cases' borrowers and days past due only (no
    rules, no guards); Spark counts the distinct borrowers over the whole DataFrame, whatever
    its partitions.

    Args:
        df: The cases.
        policy: A loaded policy, or the path of its file.
        as_of: The moment of the count.
        column: The column of cases: JSON text, or a struct in the case contract's shape.
        params: Parameter overrides.
        by_product: Count each product's borrowers apart (a borrower overdue on two products
            counts once in each): the figure ``Portfolio({"consumer_finance": N, ...})``
            takes. A product without an overdue borrower is given as 0.
    """
    loaded = _policy(policy, params, None)
    moment = loaded.moment(as_of)
    from pyspark.sql.types import StringType, StructField, StructType

    fields = [StructField("party_id", StringType(), False)]
    if by_product:
        fields.insert(0, StructField("product", StringType(), False))
    what = "by_product" if by_product else "overdue"
    borrowers = _cases(df, column, None).mapInArrow(
        _mapper(what, pickle.dumps(loaded), moment, None, None), StructType(fields)
    )
    # Each partition's borrowers come deduplicated; one shuffle by borrower then finds the
    # distinct ones, in as many parts as the cluster has cores (not the SQL default of 200:
    # measured, that costs a second in ten on two cores).
    parts = _parallelism(df)
    spread = borrowers.repartition(parts, "party_id") if parts else borrowers
    if not by_product:
        return int(spread.distinct().count())
    counted = {
        r["product"]: int(r["n"])
        for r in spread.distinct()
        .groupBy("product")
        .count()
        .withColumnRenamed("count", "n")
        .collect()
    }
    return {product: counted.get(product, 0) for product in sorted(loaded.decider.products)}


def place(
    df: DataFrame,
    placer: Placer,
    as_of: date | datetime,
    *,
    events: Iterable[Event | CaseError | Mapping[str, Any] | str] = (),
    column: str = "case",
    key: str | None = None,
    portfolio: Portfolio | int | Mapping[str, int] | None = None,
    performance: Mapping[str, Decimal] | None = None,
) -> Placements:
    """Place every case of ``df`` as :meth:`dunning.Placer.place` does: one row per input row.

    Deciding runs on the workers, in parallel; allocation — capacity, shares, the order of the
    hash — is one sequence over the whole book. So the workers decide every case and check each
    case sent out against each agency by the case alone (products, contract, cool-off, rate);
    one task then takes every case's change to the agencies' open placements (recalls and
    closings free room) and, in hash order, applies capacity and shares and makes the
    strategy's choice — a few microseconds a case; and the workers settle each case sent out as
    chosen (its proposal and notice, or its in-house action), deciding it again.

    A case given twice is placed once, at its row with the smallest ``key`` (without a key,
    or with one that does not sort, the first in the DataFrame's order, which a repartition
    changes); the others are rejected (``duplicate_case``), as ``dunning place`` keeps the
    first line.

    Args:
        df: The cases.
        placer: The policy and agencies (:class:`dunning.Placer`).
        as_of: The moment of the run.
        events: The placement events so far (read on the driver, as ``dunning place
            --placements`` reads them).
        column: The column of cases: JSON text, or a struct in the case contract's shape.
        key: A column of ``df`` carried into the result as it is.
        portfolio: The portfolio figure; without it, counted over ``df`` when the rules need
            it (:func:`overdue_customers`).
        performance: Each agency's recovery rate, for the ``performance`` strategy.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if not isinstance(placer, Placer):
        raise ArgumentError(f"placer must be a dunning.Placer, not {type(placer).__name__}")
    policy = placer.policy
    moment = policy.moment(as_of)
    check_batch(events, "place (events)")
    history = replay(events, until=moment)
    errors, history.errors = history.errors, []
    book = _portfolio(portfolio)
    if book is None and policy.portfolio_rules:
        book = Portfolio(overdue_customers(df, policy, moment, column=column))
    given = dict(performance) if performance is not None else None
    placer.allocation(moment, history, book, given)  # a bad figure or table fails here, not later
    blob = pickle.dumps((policy, placer.agencies, history, book, given))
    cases = _cases(df, column, key).withColumn("__pos", F.monotonically_increasing_id())
    first = cases.mapInArrow(
        _placing(blob, moment, key), _schema(df, key, _FIRST + PLACEMENT_COLUMNS)
    )
    # Three consumers read phase one (the results, the capacity changes, the cases to allocate):
    # kept, it is computed once.
    first = first.persist(StorageLevel.MEMORY_AND_DISK)
    # The first row of each case id (by key, then position) is placed; any other is a
    # duplicate. Found on the ids alone — few, usually none — not by moving every decision.
    rank = F.struct(*_first_of(df, key), "__pos")
    repeated = (
        first.filter(F.col("__id").isNotNull())
        .groupBy("__id")
        .agg(F.count(F.lit(1)).alias("__times"), F.min(rank).alias("__first"))
        .filter(F.col("__times") > 1)
        .select("__id", "__first")
    )
    numbered = first.join(repeated, "__id", "left")
    twice = F.col("__first").isNotNull() & (rank != F.col("__first"))
    carried = [key] if key is not None else []

    def unless_twice(name: str) -> Any:
        if name == "case_id":
            return F.col(name)
        instead = {"status": F.lit("rejected"), "error": F.col("__dup")}
        value = instead.get(name, F.lit(None).cast("string"))
        return F.when(twice, value).otherwise(F.col(name)).alias(name)

    pending = F.col("__kind") == "pending"
    done = numbered.filter(~(pending & ~twice)).select(
        *carried, *[unless_twice(name) for name, _ in PLACEMENT_COLUMNS]
    )
    kept = numbered.filter(~twice)
    known = F.col("__delta").isNotNull() | (~pending & F.col("__held").isNotNull())
    counts = kept.filter(known).select(
        F.lit(0).alias("__order"),
        F.lit(None).cast("binary").alias("__key"),
        F.lit(None).cast("string").alias("__id"),
        "__delta",
        F.lit(None).cast("string").alias("__screen"),
        "__held",
    )
    waiting = kept.filter(pending).select(
        F.lit(1).alias("__order"),
        "__key",
        "__id",
        F.lit(None).cast("string").alias("__delta"),
        "__screen",
        "__held",
    )
    # One task, and a light one: the capacity changes and the agencies holding each borrower's
    # debts first, then each case sent out in hash order (its borrower's agency, capacity,
    # shares and the strategy's choice).
    queue = counts.unionByName(waiting).repartition(1).sortWithinPartitions("__order", "__key")
    admitted = queue.mapInArrow(_admitting(blob, moment), _schema(df, None, _ADMITTED))
    # Back on every worker: each case sent out decided again and settled as chosen.
    chosen = kept.filter(pending).select(*carried, "__id", "__case").join(admitted, "__id")
    # Spread over the cores: a tenth of the book is small enough for Spark to read as one part.
    parts = _parallelism(df)
    chosen = chosen.repartition(parts) if parts else chosen
    allocated = chosen.mapInArrow(_settling(blob, moment, key), _schema(df, key, PLACEMENT_COLUMNS))
    return Placements(done.unionByName(allocated), errors, first)


def _first_of(df: DataFrame, key: str | None) -> list[str]:
    """What orders a case's rows: the key where it is a plain value, then the position."""
    from pyspark.sql.types import ArrayType, MapType, StructType

    if key is None or isinstance(df.schema[key].dataType, ArrayType | MapType | StructType):
        return []
    return [key]


#: The sequential step's columns: each pending case's checks and chosen agency.
_ADMITTED = (("__id", "string"), ("__checks", "string"), ("__chosen", "string"))
#: Phase one's own columns, before :data:`PLACEMENT_COLUMNS`.
_FIRST = (
    ("__pos", "bigint"),
    ("__id", "string"),  # the case id of a case read and not refused, for duplicates
    ("__kind", "string"),  # done | pending (to allocate)
    ("__key", "binary"),  # the allocation order's hash
    ("__delta", "string"),  # JSON {agency: change} of the open placements this case made
    ("__case", "string"),  # a pending case's text, decided again once its agency is chosen
    ("__screen", "string"),  # JSON [[agency, why not or null], ...] by the case alone
    ("__dup", "string"),  # the error record this row gets if it is a duplicate
    ("__held", "string"),  # JSON [borrower, agency holding the case after phase one or null]
)


# --- on the driver ----------------------------------------------------------------------------


def _policy(policy: object, params: Mapping[str, Any] | None, engine: str | None) -> Policy:
    if isinstance(policy, Policy):
        if params is None and engine in (None, policy.engine):
            return policy
        return _reloaded(policy, params, engine)
    if isinstance(policy, str | Path):
        return load_policy(policy, engine=engine or "compiled", params=params)
    raise ArgumentError(
        f"policy must be a dunning.Policy or the path of a policy file, not {type(policy).__name__}"
    )


def _reloaded(policy: Policy, params: Mapping[str, Any] | None, engine: str | None) -> Policy:
    from .policy import loads_policy

    return loads_policy(policy.content, engine=engine or policy.engine, params=params)


def _portfolio(portfolio: object) -> Portfolio | None:
    if portfolio is None or isinstance(portfolio, Portfolio):
        return portfolio
    if isinstance(portfolio, int | Mapping) and not isinstance(portfolio, bool):
        return Portfolio(portfolio)
    raise ArgumentError(
        f"portfolio must be a dunning.Portfolio, a number or a mapping of products to numbers, "
        f"not {type(portfolio).__name__}"
    )


def _parallelism(df: DataFrame) -> int | None:
    """The cluster's cores (Spark's default parallelism), or None where it cannot be read."""
    try:
        return max(1, int(df.sparkSession.sparkContext.defaultParallelism))
    except Exception:  # Spark Connect has no SparkContext: Spark's own default then
        return None


def _cases(df: DataFrame, column: str, key: str | None) -> DataFrame:
    """``df`` as the workers read it: the key (if any) and the case as JSON text.

    Every entry point passes here first, so the workers' Python is checked here, once per
    Spark application (:func:`check_workers`).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructType

    check_workers(df.sparkSession)
    names = df.columns
    for wanted in (column, key):
        if wanted is not None and wanted not in names:
            raise ConfigError(f"the DataFrame has no column {wanted!r} (it has {names})")
    kind = df.schema[column].dataType
    if isinstance(kind, StringType):
        case = F.col(column)
    elif isinstance(kind, StructType):
        case = F.to_json(F.col(column))
    else:
        raise ConfigError(
            f"column {column!r} must hold case JSON text or a struct of the case contract, "
            f"not {kind.simpleString()}"
        )
    chosen = [case.alias("__case")]
    if key is not None:
        chosen.insert(0, F.col(key).alias("__key"))
    return df.select(*chosen)


# The (application, workers' Python) pairs found able to run this dunning.
_WORKERS_CHECKED: set[tuple[str, str]] = set()
_WORKERS_LOCK = threading.Lock()


def check_workers(spark: SparkSession) -> None:
    """One clear error when Spark's Python workers cannot run this dunning.

    A worker whose Python lacks dunning (PYSPARK_PYTHON unset is the commonest mistake) fails
    every task with a worker traceback, printed once per task. So one tiny job asks the
    workers which Python runs them and which dunning it imports, in a function that needs
    nothing but the standard library; a good answer is kept per Spark application. Every
    function of this module checks first; a job that runs Python code of its own before it
    calls one (``df.rdd.map``) calls this first.

    Args:
        spark: The session.

    Raises:
        ConfigError: The workers cannot import dunning, import another version of it, or
            cannot start at all (Spark's own reason, in one line).
    """
    try:
        context = spark.sparkContext
        checked = (str(context.applicationId), str(context.pythonExec))
    except Exception:  # Spark Connect has no SparkContext: the workers' own errors stand
        return
    if checked in _WORKERS_CHECKED:
        return
    parts = max(1, int(context.defaultParallelism))
    fix = (
        f"set PYSPARK_PYTHON (or spark.pyspark.python) to a Python with dunning {__version__} "
        f"before the session starts (this driver runs {sys.executable}; docs/cluster.md)"
    )
    try:
        found = context.parallelize(range(parts), parts).map(_probe()).distinct().collect()
    except Exception as error:  # Py4J or Spark's captured error: its first line says why
        reason = next((s.strip() for s in str(error).splitlines() if s.strip()), "")
        raise ConfigError(
            f"Spark's Python workers ({context.pythonExec}) did not start: {reason[:300]}; {fix}"
        ) from None
    start = str(context.pythonExec)
    for executable, version, imported, failure in sorted(found, key=str):
        if imported != __version__:
            has = (
                f"imports dunning {imported}" if imported else f"cannot import dunning ({failure})"
            )
            started = "" if executable == start else f", started as {start}"
            raise ConfigError(
                f"Spark's Python workers run {executable} (Python {version}{started}), which "
                f"{has}; {fix}"
            )
    with _WORKERS_LOCK:
        _WORKERS_CHECKED.add(checked)


_Answer = tuple[str, str, str | None, str | None]


def _probe() -> Callable[[int], _Answer]:
    """The workers' question, as a local function: pickled by value, it imports nothing first.

    The answer: the worker's interpreter, its Python version, the dunning version it imports
    (None if it cannot) and why it cannot.
    """

    def probe(_: int) -> _Answer:
        import sys

        running = (sys.executable, sys.version.split()[0])
        try:
            from dunning import __version__ as imported
        except Exception as error:  # any failure to import is the answer
            return (*running, None, f"{type(error).__name__}: {str(error)[:200]}")
        return (*running, str(imported), None)

    return probe


def _schema(df: DataFrame, key: str | None, columns: tuple[tuple[str, str], ...]) -> Any:
    from pyspark.sql.types import StructField, StructType, _parse_datatype_string

    fields = [StructField(name, _parse_datatype_string(kind), True) for name, kind in columns]
    if key is not None:
        fields.insert(0, StructField(key, df.schema[key].dataType, True))
    return StructType(fields)


def _mapper(
    what: str, blob: bytes, moment: datetime, book: Portfolio | None, key: str | None
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function each worker runs over its record batches (pickled with its arguments)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:

        policy: Policy = pickle.loads(blob)  # loaded once per worker process, kept by digest
        if what in ("overdue", "by_product"):
            yield from _borrowers(policy, batches, moment, what == "by_product")
            return
        for batch in batches:
            texts = batch.column("__case").to_pylist()
            rows = [_row(what, policy, text, moment, book) for text in texts]
            columns = DECISION_COLUMNS if what == "decide" else ASSESSMENT_COLUMNS
            ready = {key: batch.column("__key")} if key is not None else None
            yield _record_batch(rows, columns, ready)

    return run


def _record_batch(
    rows: list[tuple[Any, ...]],
    columns: tuple[tuple[str, str], ...],
    first: Mapping[str, Any] | None = None,
) -> pa.RecordBatch:
    """Rows of values as a record batch of ``columns``, after the ready arrays of ``first``."""
    import pyarrow as pa

    arrays = dict(first or {})
    for i, (name, kind) in enumerate(columns):
        arrays[name] = pa.array([r[i] for r in rows], type=_ARROW[kind]())
    return pa.RecordBatch.from_pydict(arrays)


def _placing(
    blob: bytes, moment: datetime, key: str | None
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """Phase one of :func:`place` on a worker: each case decided, recalled or closed."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        work = _placement_run(blob, moment)
        seen: set[str] = set()  # duplicates within the partition; counting ids finds the rest
        for batch in batches:
            rows = [_first(work, text, seen) for text in batch.column("__case").to_pylist()]
            ready = {key: batch.column("__key")} if key is not None else {}
            ready["__pos"] = batch.column("__pos")
            yield _record_batch(rows, (_FIRST + PLACEMENT_COLUMNS)[1:], ready)

    return run


def _admitting(
    blob: bytes, moment: datetime
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The sequential step of :func:`place`, one task: capacity changes, then choices."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        work = _placement_run(blob, moment)
        for batch in batches:
            rows: list[tuple[str, str, str | None]] = []
            columns = _values(batch, "__order", "__delta", "__id", "__screen", "__held")
            for order, delta, case_id, screen, held in columns:
                borrower, agency = json.loads(held) if held is not None else (None, None)
                if order == 0:
                    for agency_id, change in json.loads(delta or "{}").items():
                        work.used[agency_id] = max(work.used.get(agency_id, 0) + change, 0)
                    if borrower is not None and agency is not None:
                        work.hold(borrower, agency)
                    continue
                screened = ((a, why) for a, why in json.loads(screen))
                checks, chosen = work.admit(screened, borrower)
                rows.append(
                    (case_id, json.dumps([[c.agency_id, c.reason] for c in checks]), chosen)
                )
            if rows:
                yield _record_batch(rows, _ADMITTED)

    return run


def _settling(
    blob: bytes, moment: datetime, key: str | None
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The last step of :func:`place`, on the workers: each case sent out, as admitted."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        work = _placement_run(blob, moment)
        for batch in batches:
            rows = []
            for text, checked, agency_id in _values(batch, "__case", "__checks", "__chosen"):
                # Decided again from the same events: the same pending case as in phase one.
                outcome = work.one(text, None, set())
                if isinstance(outcome, Pending):
                    found = tuple(Eligibility(a, why) for a, why in json.loads(checked))
                    outcome = work.finish(outcome, found, agency_id)
                rows.append(_placed(outcome))
            ready = {key: batch.column(key)} if key is not None else None
            yield _record_batch(rows, PLACEMENT_COLUMNS, ready)

    return run


def _values(batch: pa.RecordBatch, *names: str) -> Iterator[tuple[Any, ...]]:
    """The batch's rows, as tuples of the Python values of the columns named."""
    return zip(*(batch.column(name).to_pylist() for name in names), strict=True)


def _placement_run(blob: bytes, moment: datetime) -> Allocation:
    policy, agencies, history, book, performance = pickle.loads(blob)
    return Placer(policy, agencies).allocation(moment, history, book, performance)


def _first(work: Allocation, text: str | None, seen: set[str]) -> tuple[Any, ...]:
    """Phase one's row of a case: done (with its result or error), or pending allocation."""
    if text is None:
        return _unplaced(CaseError(None, [Problem("", "missing", "the case is null")]), None)
    before = dict(work.used)
    try:
        outcome = work.one(text, None, seen)
    except CaseError as error:
        return _unplaced(error, _delta(before, work.used))
    delta = _delta(before, work.used)
    case_id = outcome.case.case_id if isinstance(outcome, Pending) else outcome.case_id
    dup = result_line(duplicate_case(case_id))
    borrower, agency = work.last
    if isinstance(outcome, Pending):
        screen = json.dumps(work.screen(outcome))
        nothing = (None,) * len(PLACEMENT_COLUMNS)
        waits = json.dumps([borrower, None])
        return (case_id, "pending", outcome.key, delta, text, screen, dup, waits, *nothing)
    held = json.dumps([borrower, agency]) if agency is not None else None
    return (case_id, "done", None, delta, None, None, dup, held, *_placed(outcome))


def _unplaced(error: CaseError, delta: str | None) -> tuple[Any, ...]:
    status = "skipped" if error.problems[0].code == _SKIPPED else "rejected"
    record = result_line(error)
    return (
        None,
        "done",
        None,
        delta,
        None,
        None,
        None,
        None,
        status,
        error.case_id,
        None,
        None,
        None,
        None,
        None,
        None,
        record,
    )


def _placed(result: PlacementResult) -> tuple[Any, ...]:
    action = result.decision.action
    events = "[" + ",".join(e.model_dump_json() for e in result.events) + "]"
    eligibility = json.dumps({c.agency_id: c.reason for c in result.eligibility})
    decision = result.decision.model_dump_json()
    return (
        "decided",
        result.case_id,
        action.channel.value,
        action.handled_by.value,
        action.agency_id,
        events,
        eligibility,
        decision,
        None,
    )


def _delta(before: Mapping[str, int], after: Mapping[str, int]) -> str | None:
    """The change in each agency's open placements, as JSON (None: no change)."""
    changed = {a: after.get(a, 0) - before.get(a, 0) for a in sorted({*before, *after})}
    changed = {a: n for a, n in changed.items() if n}
    return json.dumps(changed) if changed else None


def _borrowers(
    policy: Policy, batches: Iterator[pa.RecordBatch], moment: datetime, by_product: bool
) -> Iterator[pa.RecordBatch]:
    """A partition's distinct overdue borrowers (and products), in batches of ``_BATCH``."""
    import pyarrow as pa

    found: set[tuple[str, str]] = set()
    for batch in batches:
        texts = [t for t in batch.column("__case").to_pylist() if t is not None]
        for product, party in policy.overdue_parties(texts, moment, "overdue_customers"):
            found.add((product if by_product else "", party))
    ordered = sorted(found)
    for start in range(0, len(ordered), _BATCH):
        chunk = ordered[start : start + _BATCH]
        columns = {"party_id": pa.array([p for _, p in chunk], pa.string())}
        if by_product:
            columns = {"product": pa.array([p for p, _ in chunk], pa.string()), **columns}
        yield pa.RecordBatch.from_pydict(columns)


_BATCH = 10_000


def _row(
    what: str, policy: Policy, text: str | None, moment: datetime, book: Portfolio | None
) -> tuple[Any, ...]:
    if text is None:
        return _failed(what, CaseError(None, [Problem("", "missing", "the case is null")]))
    try:
        if what == "decide":
            d = policy.decide(text, as_of=moment, portfolio=book)
            return (
                "decided",
                d.case_id,
                d.dpd,
                d.bucket,
                d.action.channel.value,
                d.action.handled_by.value,
                d.fee_terms.total_due,
                d.fee_terms.commission_rate,
                d.model_dump_json(),
                None,
            )
        a = policy.assess(text, moment)
        return ("assessed", a.case_id, a.dpd, a.bucket, a.total_due, a.model_dump_json(), None)
    except CaseError as error:
        return _failed(what, error)


def _failed(what: str, error: CaseError) -> tuple[Any, ...]:
    status = "skipped" if error.problems[0].code == _SKIPPED else "rejected"
    record = result_line(error)
    if what == "decide":
        return (status, error.case_id, None, None, None, None, None, None, None, record)
    return (status, error.case_id, None, None, None, None, record)


def _decimal(precision: int, scale: int) -> Callable[[], Any]:
    def make() -> Any:
        import pyarrow as pa

        return pa.decimal128(precision, scale)

    return make


def _arrow(name: str) -> Callable[[], Any]:
    def make() -> Any:
        import pyarrow as pa

        return getattr(pa, name)()

    return make


_ARROW: dict[str, Callable[[], Any]] = {
    "string": _arrow("string"),
    "bigint": _arrow("int64"),
    "binary": _arrow("binary"),
    "int": _arrow("int32"),
    "decimal(20,4)": _decimal(20, 4),
    "decimal(14,10)": _decimal(14, 10),
}
