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
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArgumentError, CaseError, ConfigError, Problem
from .facts import Portfolio
from .policy import Policy, load_policy

if TYPE_CHECKING:  # pragma: no cover - types only
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = [
    "ASSESSMENT_COLUMNS",
    "DECISION_COLUMNS",
    "assess",
    "decide",
    "overdue_customers",
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
_SKIPPED = "product_not_covered"


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


def overdue_customers(
    df: DataFrame,
    policy: Policy | str | Path,
    as_of: date | datetime,
    *,
    column: str = "case",
    params: Mapping[str, Any] | None = None,
) -> int:
    """The distinct overdue borrowers of the cases of ``df`` the policy covers.

    The figure ``dunning decide`` counts for a file given without one: invalid and uncovered
    cases are not counted. Each worker reads its cases' borrowers and days past due only (no
    rules, no guards); Spark counts the distinct borrowers over the whole DataFrame, whatever
    its partitions.
    """
    loaded = _policy(policy, params, None)
    moment = loaded.moment(as_of)
    from pyspark.sql.types import StringType, StructField, StructType

    borrowers = _cases(df, column, None).mapInArrow(
        _mapper("overdue", pickle.dumps(loaded), moment, None, None),
        StructType([StructField("party_id", StringType(), False)]),
    )
    return int(borrowers.distinct().count())


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


def _cases(df: DataFrame, column: str, key: str | None) -> DataFrame:
    """``df`` as the workers read it: the key (if any) and the case as JSON text."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructType

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
        import pyarrow as pa

        policy: Policy = pickle.loads(blob)  # loaded once per worker process, kept by digest
        for batch in batches:
            texts = batch.column("__case").to_pylist()
            if what == "overdue":
                found = sorted(policy.overdue_borrowers(
                    [t for t in texts if t is not None], as_of=moment))  # fmt: skip
                yield pa.RecordBatch.from_pydict({"party_id": pa.array(found, pa.string())})
                continue
            rows = [_row(what, policy, text, moment, book) for text in texts]
            columns = DECISION_COLUMNS if what == "decide" else ASSESSMENT_COLUMNS
            arrays = {name: pa.array([r[i] for r in rows], type=_ARROW[kind]())
                      for i, (name, kind) in enumerate(columns)}  # fmt: skip
            if key is not None:
                arrays = {key: batch.column("__key"), **arrays}
            yield pa.RecordBatch.from_pydict(arrays)

    return run


def _row(
    what: str, policy: Policy, text: str | None, moment: datetime, book: Portfolio | None
) -> tuple[Any, ...]:
    if text is None:
        return _failed(what, CaseError(None, [Problem("", "missing", "the case is null")]))
    try:
        if what == "decide":
            d = policy.decide(text, as_of=moment, portfolio=book)
            return ("decided", d.case_id, d.dpd, d.bucket, d.action.channel.value,
                    d.action.handled_by.value, d.fee_terms.total_due,
                    d.fee_terms.commission_rate, d.model_dump_json(), None)  # fmt: skip
        a = policy.assess(text, moment)
        return ("assessed", a.case_id, a.dpd, a.bucket, a.total_due, a.model_dump_json(), None)
    except CaseError as error:
        return _failed(what, error)


def _failed(what: str, error: CaseError) -> tuple[Any, ...]:
    status = "skipped" if error.problems[0].code == _SKIPPED else "rejected"
    record = json.dumps(error.to_dict(), ensure_ascii=False)
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
    "int": _arrow("int32"),
    "decimal(20,4)": _decimal(20, 4),
    "decimal(14,10)": _decimal(14, 10),
}
