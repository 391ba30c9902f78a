"""Report documents: a report's JSON data laid out as figures, tables and charts, once.

Every report command computes its figures once as data (what ``--format json`` prints). The
builders here lay that data out as a :class:`Document` — headline figures, then titled tables
whose columns are declared once (:func:`col`: key, title, kind and where each record holds the
value), each with the charts drawn from it — which every renderer draws: text
(:mod:`.text`), CSV and an Excel workbook (:mod:`.export`), an HTML page (:mod:`.html`). A
document holds the figures exactly as the JSON gives them (amounts as ``Decimal``), so that
every form of a report shows the same numbers by construction. Its size follows the report's
aggregates, not the number of cases decided (a settlement's statement lines excepted).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "BUILDERS",
    "Chart",
    "Code",
    "Column",
    "Document",
    "Figure",
    "Headline",
    "Msg",
    "Note",
    "Table",
    "build_document",
    "col",
    "msg",
]

#: How a value is shown: ``label`` is a code (a product, a channel) that a locale may name.
# "said": a sentence the library wrote (a finding, a difference), translated by pattern.
Kind = Literal["text", "said", "label", "date", "count", "money", "number", "percent"]
NUMERIC: frozenset[str] = frozenset({"count", "money", "number", "percent"})


@dataclass(frozen=True)
class Msg:
    """Words to show: an English message (the catalog's key) and the values it names."""

    text: str
    params: tuple[tuple[str, Any], ...] = ()


class Code(str):
    """A code of the data named in a message (a state, a category): a locale may name it."""

    __slots__ = ()


def msg(text: str, **params: Any) -> Msg:
    """A message, with named values to put in its ``{braces}`` once translated."""
    return Msg(text, tuple(params.items()))


@dataclass(frozen=True)
class Column:
    """A table's column, declared once: its key (the JSON name, used in CSV), title and kind.

    ``at`` is where each row's record holds the value (a path of keys; by default the column's
    key), so that a table is its columns and its records, nothing said twice.
    """

    key: str
    title: Msg
    kind: Kind
    code: bool = False  # the title is a code of the data (a bucket, a channel): a locale names it
    at: tuple[str, ...] = ()
    prose: bool = False  # long text (a message): the text form writes it under its row


def col(
    key: str,
    title: str | None,
    kind: Kind,
    *,
    at: str | tuple[str, ...] | None = None,
    prose: bool = False,
) -> Column:
    """A column: ``title`` ``None`` titles it by its key, a code of the data a locale names.

    ``at`` is a dotted path into each record (``"totals.count"``) or a tuple of keys.
    """
    path = (key,) if at is None else tuple(at.split(".")) if isinstance(at, str) else at
    return Column(key, Msg(title or key), kind, title is None, path, prose)


@dataclass(frozen=True)
class Chart:
    """A chart of its table: the body's rows are the categories, ``series`` its columns.

    ``bars`` groups the series side by side, ``stacked`` piles them up, ``lines`` draws a line
    per row across the series (a curve over months, say), ``heatmap`` shades the matrix of rows
    by series, each cell by its share of its row.
    """

    id: str
    title: Msg
    kind: Literal["bars", "stacked", "lines", "heatmap"]
    series: tuple[str, ...]
    horizontal: bool = False


@dataclass(frozen=True)
class Table:
    """A titled table. The first column names the row; ``total`` marks a last row of totals.

    ``charts`` draw the table (on a page, before it); the text and data forms leave them out.
    """

    id: str
    title: Msg
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    total: bool = False
    note: Msg | None = None
    charts: tuple[Chart, ...] = ()

    def body(self) -> tuple[tuple[Any, ...], ...]:
        """The rows without the totals row: what a chart draws."""
        return self.rows[:-1] if self.total else self.rows


@dataclass(frozen=True)
class Figure:
    """One headline figure."""

    key: str
    title: Msg
    kind: Kind
    value: Any


@dataclass(frozen=True)
class Headline:
    """A row of headline figures."""

    id: str
    items: tuple[Figure, ...]


@dataclass(frozen=True)
class Note:
    """A sentence under the tables."""

    text: Msg


Block = Headline | Table | Note


@dataclass(frozen=True)
class Document:
    """A report laid out: title, the run's identity (on every page), then its blocks."""

    report: str
    title: Msg
    header: tuple[tuple[Msg, str], ...]
    blocks: tuple[Block, ...]

    @property
    def tables(self) -> Mapping[str, Table]:
        """The document's tables by id."""
        return {block.id: block for block in self.blocks if isinstance(block, Table)}

    def table(self, table_id: str) -> Table:
        """The table named ``table_id``."""
        return self.tables[table_id]

    def messages(self) -> Iterable[Msg]:
        """Every message the document shows, and those within them (for the catalog's test)."""
        for message in self._messages():
            yield message
            yield from (value for _, value in message.params if isinstance(value, Msg))

    def _messages(self) -> Iterable[Msg]:
        yield self.title
        for label, _ in self.header:
            yield label
        for block in self.blocks:
            if isinstance(block, Headline):
                yield from (item.title for item in block.items)
            elif isinstance(block, Table):
                yield from (chart.title for chart in block.charts)
                yield block.title
                yield from (column.title for column in block.columns if not column.code)
                if block.note is not None:
                    yield block.note
            else:
                yield block.text


def _document(
    report: str, title: Msg, header: list[tuple[Msg, str]], blocks: list[Block]
) -> Document:
    for table in (block for block in blocks if isinstance(block, Table)):
        keys = {column.key for column in table.columns}
        for chart in table.charts:
            assert keys.issuperset(chart.series), (chart.id, chart.series)
    return Document(report, title, tuple(header), tuple(blocks))


# --- values --------------------------------------------------------------------------------------


def value_of(raw: Any, kind: Kind) -> Any:
    """A JSON value as the document holds it: amounts and rates as ``Decimal``, exactly."""
    if raw is None:
        return None
    if kind in ("money", "number", "percent"):
        return Decimal(str(raw))
    if kind == "count":
        return int(raw)
    return str(raw)


def _total(values: Iterable[Any]) -> Any:
    """The sum of a column's values (``None`` left out), in the column's own type."""
    present = [v for v in values if v is not None]
    return sum(present[1:], present[0]) if present else None


def _pick(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        value = value[key]
    return value


def _table(
    table_id: str,
    title: Msg,
    columns: Sequence[Column],
    records: Iterable[Mapping[str, Any]],
    *,
    total: Mapping[str, Any] | Literal["sum"] | None = None,
    note: Msg | None = None,
    charts: Sequence[Chart] = (),
) -> Table:
    """A table of ``records``, each column's value found at its path in each.

    ``total="sum"`` adds a totals row of the count and money columns; a mapping is a last
    record of totals, read as the others are.
    """
    cols = tuple(columns)

    def row(record: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(value_of(_pick(record, c.at), c.kind) for c in cols)

    body = [row(record) for record in records]
    last: tuple[Any, ...] | None = None
    if total == "sum":
        last = (
            "total",
            *(
                _total(r[i] for r in body) if c.kind in ("count", "money") else None
                for i, c in enumerate(cols)
                if i
            ),
        )
    elif total is not None:
        last = row(total)
    if last is not None:
        body.append(last)
    return Table(
        table_id, title, cols, tuple(body), total=last is not None, note=note, charts=tuple(charts)
    )


def _figures(figures_id: str, items: Sequence[tuple[str, str, Kind, Any]]) -> Headline:
    return Headline(
        figures_id, tuple(Figure(key, Msg(t), kind, value_of(v, kind)) for key, t, kind, v in items)
    )


def _policy(policy: Mapping[str, Any], label: str = "Policy") -> list[tuple[Msg, str]]:
    return [
        (Msg(label), f"{policy['name']} {policy['version']}"),
        (Msg("Digest"), str(policy["digest"])),
    ]


def _notes(data: Mapping[str, Any]) -> list[Block]:
    notes: list[Block] = []
    figure = data.get("portfolio")
    if figure:  # the figure the rules read, and whether it was given or counted
        shown = figure["overdue_customers"]
        if isinstance(shown, Mapping):
            shown = ", ".join(f"{product}={n}" for product, n in shown.items())
        said = (
            "overdue_customers = {figure}: counted over this input, as no --overdue-customers "
            "was given (read by {rules})."
            if figure["source"] == "counted"
            else "overdue_customers = {figure}, as given (read by {rules})."
        )
        notes.append(Note(msg(said, figure=str(shown), rules=", ".join(figure["rules"]))))
    skipped = data.get("skipped") or {}
    if skipped:
        notes.append(Note(msg("Skipped, not covered by this policy: {names}", names=dict(skipped))))
    if data.get("rejected"):
        notes.append(Note(msg("{n} line(s) rejected.", n=data["rejected"])))
    return notes


# --- the decision summary (dunning decide) -------------------------------------------------------


def decisions(data: Mapping[str, Any]) -> Document:
    """The decision summary: cases by product and bucket, channels, what goes to agencies."""
    products: Mapping[str, Any] = data["products"]
    first: Mapping[str, Any] = next(iter(products.values()), {"buckets": {}, "channels": {}})
    buckets, channels = list(first["buckets"]), list(first["channels"])
    agencies = data["agencies"]
    due = sum((Decimal(p["total_due"]) for p in products.values()), Decimal(0))
    rows = [{"product": name, **p} for name, p in products.items()]
    money = col("total_due", "Total due", "money")
    blocks: list[Block] = [
        _figures(
            "overview",
            [
                ("decided", "Cases decided", "count", data["decided"]),
                ("total_due", "Total due", "money", due),
                ("agency_cases", "Going to agencies", "count", agencies["cases"]),
                ("agency_total_due", "Their total due", "money", agencies["total_due"]),
                (
                    "expected_commission",
                    "Expected commission",
                    "money",
                    agencies["expected_commission"],
                ),
            ],
        ),
        _table(
            "buckets",
            Msg("Cases by product and bucket"),
            [
                col("product", "Product", "label"),
                *(col(b, None, "count", at=("buckets", b)) for b in buckets),
                col("cases", "Cases", "count"),
                money,
            ],
            rows,
            total="sum",
            charts=[
                Chart(
                    "buckets-chart", Msg("Cases by product and bucket"), "stacked", tuple(buckets)
                )
            ],
        ),
        _table(
            "channels",
            Msg("Decisions by product and channel"),
            [
                col("product", "Product", "label"),
                *(col(c, None, "count", at=("channels", c)) for c in channels),
            ],
            rows,
            total="sum",
            charts=[
                Chart(
                    "channels-chart",
                    Msg("Decisions by product and channel"),
                    "stacked",
                    tuple(channels),
                )
            ],
        ),
        _table(
            "agencies",
            Msg("Going to agencies, by stage"),
            [
                col("bucket", "Bucket", "label"),
                col("cases", "Cases", "count"),
                money,
                col("expected_commission", "Expected commission", "money"),
            ],
            [{"bucket": b, **row} for b, row in agencies["by_bucket"].items()],
            total={"bucket": "total", **agencies},
            note=Msg("Expected commission: total due × the commission rate, if all is recovered."),
            charts=[
                Chart(
                    "agencies-chart",
                    Msg("Expected commission by stage"),
                    "bars",
                    ("expected_commission",),
                )
            ],
        ),
    ]
    if data["guards"]:
        effects = list(next(iter(data["guards"].values())))
        blocks.append(
            _table(
                "guards",
                Msg("Compliance guards: decisions changed, by guard and effect"),
                [col("guard", "Guard", "label"), *(col(e, None, "count") for e in effects)],
                [{"guard": g, **counts} for g, counts in data["guards"].items()],
                note=msg("Charges cut to the cap: {amount}", amount=Decimal(data["charges_cut"])),
            )
        )
    blocks.extend(_notes(data))
    header = [*_policy(data["policy"]), (Msg("As of"), data["as_of"])]
    return _document("decisions", Msg("Decisions"), header, blocks)


# --- dunning diff --------------------------------------------------------------------------------


def diff(data: Mapping[str, Any]) -> Document:
    """A policy diff: the flow of cases between channels, by product, and the amounts."""
    header = [
        *_policy(data["policies"]["old"], "Old policy"),
        *_policy(data["policies"]["new"], "New policy"),
        (Msg("As of"), str(data["as_of"])),
    ]
    placed = data["agencies"]
    blocks: list[Block] = [
        _figures(
            "overview",
            [
                ("cases", "Cases", "count", data["cases"]),
                ("changed", "Decided differently", "count", data["changed"]),
                ("rejected_by_both", "Rejected by both", "count", data["rejected_by_both"]),
                ("newly_placed", "Total due newly placed", "money", placed["newly_placed"]),
                (
                    "no_longer_placed",
                    "Total due no longer placed",
                    "money",
                    placed["no_longer_placed"],
                ),
            ],
        ),
        _table(
            "policy_changes",
            Msg("What changed in the policy"),
            [col("change", "Change", "text")],
            [{"change": change} for change in data["policy_changes"]],
        ),
    ]
    for key, title in (
        ("channels", "Channel done (after the guards): old (rows) × new (columns)"),
        ("intended_channels", "Channel the rules wanted: old (rows) × new (columns)"),
    ):
        matrix: Mapping[str, Mapping[str, int]] = data[key]
        names = _matrix_names(matrix)
        blocks.append(
            _table(
                key,
                Msg(title),
                [col("old", "Old \\ new", "label"), *(col(n, None, "count") for n in names)],
                [{"old": a, **{b: matrix.get(a, {}).get(b, 0) for b in names}} for a in names],
                charts=[Chart(f"{key}-chart", Msg(title), "heatmap", tuple(names))],
            )
        )
    blocks.append(
        _table(
            "by_product",
            Msg("By product"),
            [
                col("product", "Product", "label"),
                col("cases", "Cases", "count"),
                col("changed", "Changed", "count"),
                col("newly_placed", "Newly placed", "money"),
                col("no_longer_placed", "No longer placed", "money"),
            ],
            [{"product": name, **p} for name, p in data["by_product"].items()],
            total="sum",
            charts=[
                Chart(
                    "by_product-chart",
                    Msg("Cases decided differently, by product"),
                    "bars",
                    ("changed",),
                    horizontal=True,
                )
            ],
        )
    )
    amounts = data["amounts"]
    blocks.append(
        _table(
            "amounts",
            Msg("Amounts over the batch, old and new"),
            [
                col("amount", "Amount", "label"),
                col("old", "Old", "money"),
                col("new", "New", "money"),
                col("change", "Change", "money"),
            ],
            [
                {
                    "amount": name,
                    "old": amounts["old"][name],
                    "new": amounts["new"][name],
                    "change": Decimal(amounts["new"][name]) - Decimal(amounts["old"][name]),
                }
                for name in amounts["old"]
            ],
            note=msg(
                "{cases} cases were already placed before either decision (total due {due}).",
                cases=placed["already_placed_cases"],
                due=Decimal(placed["already_placed_due"]),
            ),
        )
    )
    if data.get("skipped"):
        skipped = dict(data["skipped"])
        blocks.append(Note(msg("Skipped, not covered by this policy: {names}", names=skipped)))
    return _document("diff", Msg("Policy diff"), header, blocks)


def _matrix_names(matrix: Mapping[str, Mapping[str, int]]) -> list[str]:
    """The channels of an old × new matrix, in the order the text report uses."""
    order = ["none", "sms", "call", "field_visit", "legal_preservation", "outsource"]
    seen = set(matrix) | {b for row in matrix.values() for b in row}
    rest = sorted(seen - {*order, "error"})
    return [*order, *rest, *(["error"] if "error" in seen else [])]


# --- dunning place --------------------------------------------------------------------------------


def placements(data: Mapping[str, Any]) -> Document:
    """A placement run per agency: proposed, placed, kept, recalled, the load against capacity."""
    agencies: Mapping[str, Any] = data["agencies"]
    unavailable = data["unavailable"]
    rows = [
        {
            **a,
            "agency": name,
            "recalled": sum(a["recalled"].values()),
            "closed": sum(a["closed"].values()),
        }
        for name, a in agencies.items()
    ]
    blocks: list[Block] = [
        _figures(
            "overview",
            [
                ("proposed", "Proposed", "count", sum(a["proposed"] for a in agencies.values())),
                (
                    "proposed_total_due",
                    "Their total due",
                    "money",
                    sum((Decimal(a["proposed_total_due"]) for a in agencies.values()), Decimal(0)),
                ),
                ("recalled", "Recalled", "count", sum(row["recalled"] for row in rows)),
                ("unavailable", "No agency could take", "count", unavailable["cases"]),
            ],
        ),
        _table(
            "agencies",
            Msg("Placements by agency"),
            [
                col("agency", "Agency", "text"),
                col("proposed", "Proposed", "count"),
                col("proposed_total_due", "Proposed: total due", "money"),
                col("placed", "Placed", "count"),
                col("placed_total_due", "Placed: total due", "money"),
                col("kept", "Kept", "count"),
                col("kept_total_due", "Kept: total due", "money"),
                col("recalled", "Recalled", "count"),
                col("closed", "Closed", "count"),
                col("open", "Open", "count"),
                col("capacity", "Capacity", "count"),
                col("left", "Left", "count"),
                col("share", "Share", "percent"),
                col("target", "Target", "percent"),
            ],
            rows,
            total="sum",
            charts=[
                Chart(
                    "load-chart",
                    Msg("Open placements against capacity"),
                    "bars",
                    ("open", "capacity"),
                    horizontal=True,
                ),
                Chart(
                    "flow-chart",
                    Msg("This run, by agency"),
                    "stacked",
                    ("proposed", "placed", "kept"),
                ),
            ],
        ),
    ]
    for key, title in (
        ("recalled", "Recalled, by reason"),
        ("closed", "Proposals closed, by reason"),
    ):
        reasons = sorted({r for a in agencies.values() for r in a[key]})
        if reasons:
            blocks.append(
                _table(
                    key,
                    Msg(title),
                    [col("reason", "Reason", "label"), *(col(n, None, "count") for n in agencies)],
                    [
                        {"reason": r, **{n: a[key].get(r, 0) for n, a in agencies.items()}}
                        for r in reasons
                    ],
                )
            )
    if unavailable["cases"]:
        blocks.append(
            _table(
                "unavailable",
                Msg("No agency could take these cases: the agencies' reasons"),
                [col("reason", "Reason", "label"), col("cases", "Cases", "count")],
                [{"reason": r, "cases": n} for r, n in unavailable["reasons"].items()],
                note=msg(
                    "{n} case(s), total due {due}, stay in-house.",
                    n=unavailable["cases"],
                    due=Decimal(unavailable["total_due"]),
                ),
            )
        )
    blocks.extend(_notes(data))
    header = [
        *_policy(data["policy"]),
        (Msg("As of"), data["as_of"]),
        (Msg("Strategy"), data["strategy"]),
    ]
    return _document("placements", Msg("Placements"), header, blocks)


# --- dunning settle -------------------------------------------------------------------------------


def settlement(data: Mapping[str, Any]) -> Document:
    """Commission statements per agency and period, and where every ledger line went."""
    statements = data["statements"]
    accounting = data["accounting"]
    capped = (
        [col("commissionable", "Commission base", "money")]
        if any("commissionable" in line for s in statements for line in s["lines"])
        else []
    )
    blocks: list[Block] = [
        _figures(
            "overview",
            [
                ("ledger_lines", "Ledger lines", "count", accounting["ledger"]["count"]),
                ("ledger_amount", "Ledger amount", "money", accounting["ledger"]["amount"]),
                (
                    "commission_lines",
                    "Commission lines",
                    "count",
                    accounting["categories"]["commission"]["count"],
                ),
                (
                    "commission",
                    "Commission",
                    "money",
                    accounting["categories"]["commission"]["commission"],
                ),
            ],
        ),
        _table(
            "statements",
            Msg("Commission statements"),
            [
                col("statement", "Statement", "text"),
                col("agency_id", "Agency", "text"),
                col("agency_name", "Name", "text"),
                col("period", "Period", "text"),
                col("lines", "Lines", "count", at="totals.count"),
                col("amount", "Amount", "money", at="totals.amount"),
                col("commission", "Commission", "money", at="totals.commission"),
            ],
            [{**s, "statement": f"{s['agency_id']} {s['period']}"} for s in statements],
            total="sum",
            note=Msg(
                "Rounding: each line half-up to the minor unit; totals are the sums of the lines."
            ),
            charts=[
                Chart(
                    "statements-chart",
                    Msg("Commission by agency and period"),
                    "bars",
                    ("commission",),
                    horizontal=True,
                )
            ]
            if statements
            else [],
        ),
        _table(
            "lines",
            Msg("Statement lines"),
            [
                col("reference", "Reference", "text"),
                col("agency_id", "Agency", "text"),
                col("period", "Period", "text"),
                col("case_id", "Case", "text"),
                col("date", "Date", "date"),
                col("amount", "Amount", "money"),
                *capped,
                col("rate", "Rate", "percent"),
                col("commission", "Commission", "money"),
                col("reason", "Reason", "label"),
            ],
            [
                {**line, "agency_id": s["agency_id"], "period": s["period"]}
                for s in statements
                for line in s["lines"]
            ],
            note=Msg(
                "Commission base: the part of the amount a placed_amount contract pays on, up "
                "to what the case owed when placed."
            )
            if capped
            else None,
        ),
        _table(
            "accounting",
            Msg("Every ledger line, in exactly one category"),
            [
                col("category", "Category", "label"),
                col("lines", "Lines", "count", at="count"),
                col("amount", "Amount", "money"),
                col("commission", "Commission", "money"),
            ],
            [{"category": name, **c} for name, c in accounting["categories"].items()],
            total={"category": "ledger", **accounting["ledger"]},
            note=Msg("Balanced: the categories add up to the ledger.")
            if accounting["balanced"]
            else Msg("NOT BALANCED: the categories do not add up."),
            charts=[
                Chart(
                    "accounting-chart",
                    Msg("Every ledger line, in exactly one category"),
                    "bars",
                    ("amount",),
                    horizontal=True,
                )
            ],
        ),
    ]
    if data["rejected"]:
        blocks.append(
            _table(
                "rejected",
                Msg("Rejected ledger lines"),
                [
                    col("line", "Line", "count"),
                    col("reference", "Reference", "text"),
                    col("code", "Code", "text"),
                    col("problem", "Problem", "text", prose=True),
                ],
                [_problem(line) for line in data["rejected"]],
            )
        )
    if data["event_errors"]:
        blocks.append(
            _table(
                "event_errors",
                Msg("Event lines rejected"),
                [
                    col("line", "Line", "count"),
                    col("code", "Code", "text"),
                    col("problem", "Problem", "text", prose=True),
                ],
                [_problem(error) for error in data["event_errors"]],
            )
        )
    header = [
        *_policy(data["policy"]),
        (Msg("Period"), f"{data['start'] or '…'} – {data['end'] or '…'}"),
        (Msg("Currency"), str(data["currency"])),
        (Msg("Grace days"), str(data["grace_days"])),
        (Msg("Inputs"), data["digest"]),
    ]
    return _document("settlement", Msg("Settlement"), header, blocks)


def _problem(record: Mapping[str, Any]) -> dict[str, Any]:
    """A rejected line's first problem, as a row: its line, reference, code and message."""
    first = (record.get("errors") or [{}])[0]
    path = first.get("path")
    return {
        "line": record.get("line"),
        "reference": record.get("reference"),
        "code": first.get("code"),
        "problem": f"{path}: {first.get('message')}" if path else first.get("message"),
    }


# --- dunning reconcile ---------------------------------------------------------------------------


def reconciliation(data: Mapping[str, Any]) -> Document:
    """An agency's claim against the lender's statement: counts, totals, every line apart."""
    counts: Mapping[str, int] = data["counts"]
    lender, agency = data["lender_total"], data["agency_total"]
    net: Mapping[str, Any] = data.get("net_difference") or {}
    lines = data["lines"]

    def side(line: Mapping[str, Any]) -> Mapping[str, Any]:
        return line["lender"] or line["agency"] or {}

    blocks: list[Block] = [
        _figures(
            "overview",
            [
                ("lines", "Lines", "count", len(lines)),
                ("matched", "Matched", "count", counts["matched"]),
                ("not_matched", "Not matched", "count", len(lines) - counts["matched"]),
                ("lender_commission", "Commission: lender", "money", lender["commission"]),
                ("agency_commission", "Commission: agency", "money", agency["commission"]),
                (
                    "net_commission",
                    "Commission claimed beyond the statement",
                    "money",
                    net.get("commission"),
                ),
            ],
        ),
        _table(
            "categories",
            Msg("Lines by category"),
            [col("category", "Category", "label"), col("lines", "Lines", "count")],
            [{"category": c, "lines": n} for c, n in counts.items()],
            total="sum",
            charts=[
                Chart(
                    "categories-chart",
                    Msg("Lines by category"),
                    "bars",
                    ("lines",),
                    horizontal=True,
                )
            ],
        ),
        _table(
            "totals",
            Msg("Totals"),
            [
                col("side", "Side", "label"),
                col("lines", "Lines", "count"),
                col("amount", "Amount", "money"),
                col("commission", "Commission", "money"),
            ],
            [
                {"side": "lender", **lender},
                {"side": "agency", **agency},
                # the agency's side less the lender's: what the claim asks beyond the statement
                *([{"side": "difference", "lines": None, **net}] if net else []),
            ],
            note=Msg("The claim agrees with the statement, line by line and in total.")
            if data["agrees"]
            else msg(
                "The claim differs: {n} of {lines} lines are not matched; the totals differ."
                if (lender["amount"], lender["commission"])
                != (agency["amount"], agency["commission"])
                else "The claim differs: {n} of {lines} lines are not matched.",
                n=len(lines) - counts["matched"],
                lines=len(lines),
            ),
        ),
        _table(
            "differences",
            Msg("Lines not matched"),
            [
                col("reference", "Reference", "text"),
                col("category", "Category", "label"),
                col("claim_line", "Claim line", "count"),
                col("case_id", "Case", "text"),
                col("amount", "Amount", "money"),
                col("what", "What differs", "said", prose=True),
            ],
            [
                {
                    **line,
                    "case_id": side(line).get("case_id"),
                    "amount": side(line).get("amount"),
                    "what": _differences(line),
                }
                for line in lines
                if line["category"] != "matched"
            ],
            note=None if len(lines) > counts["matched"] else Msg("Every line matched."),
        ),
    ]
    header = [
        *(_policy(data["policy"]) if data.get("policy") else []),
        (Msg("Agency"), data["agency_id"]),
        (Msg("Period"), f"{data.get('start') or '…'} – {data.get('end') or '…'}"),
        (Msg("Inputs"), data["settlement_digest"]),
    ]
    total = data.get("claim_total")
    if total is not None:
        blocks.append(
            Note(
                msg("The claim's total row (line {line}) adds up to its lines.", line=total["line"])
                if total["agrees"]
                else msg(
                    "The claim's total row (line {line}) says {amount} and commission "
                    "{commission}; its lines add up to {lines} and {lines_commission}.",
                    line=total["line"],
                    amount=Decimal(total["amount"]),
                    commission=_money_or_dash(total["commission"]),
                    lines=Decimal(agency["amount"]),
                    lines_commission=_money_or_dash(agency["commission"]),
                )
            )
        )
    return _document("reconciliation", Msg("Reconciliation"), header, blocks)


def _money_or_dash(value: str | None) -> Decimal | str:
    return "–" if value is None else Decimal(value)


def _differences(line: Mapping[str, Any]) -> str:
    said = [
        f"{d['field']}: lender {d['lender']}, agency {d['agency']}"
        for d in line.get("differences", [])
    ]
    if line.get("lender_view"):  # where the lender's settlement put the payment instead
        said.append(f"lender: {line['lender_view']}")
    if line.get("errors"):  # a claim line that cannot be read: its first problem
        said.append(str(_problem(line)["problem"]))
    return "; ".join(said)


# --- dunning costs --------------------------------------------------------------------------------


_COST_COLUMNS: tuple[Column, ...] = (
    col("in_house_recovered", "In-house recovered", "money"),
    col("in_house_cost", "In-house cost", "money"),
    col("in_house_per_100", "Cost per 100", "number"),
    col("agency_recovered", "Agency recovered", "money"),
    col("commission", "Commission", "money"),
    col("agency_per_100", "Commission per 100", "number"),
)


def costs(data: Mapping[str, Any]) -> Document:
    """What collection cost: by route, stage, product, channel and agency; curves; roll rates."""
    total = data["total"]

    def named(first: str, part: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{first: name, **figures} for name, figures in part.items()]

    blocks: list[Block] = [
        _figures("overview", [(c.key, c.title.text, c.kind, total[c.key]) for c in _COST_COLUMNS]),
        _table(
            "by_stage",
            Msg("By stage (the case's bucket the day before the payment)"),
            [col("stage", "Stage", "label"), *_COST_COLUMNS],
            named("stage", data["by_stage"]),
            charts=[
                Chart(
                    "by_stage-chart",
                    Msg("Recovered by stage"),
                    "stacked",
                    ("in_house_recovered", "agency_recovered"),
                ),
                Chart("commission-chart", Msg("Commission by stage"), "bars", ("commission",)),
                Chart(
                    "per_100-chart",
                    Msg("Cost per 100 recovered by stage: in-house and through agencies"),
                    "bars",
                    ("in_house_per_100", "agency_per_100"),
                ),
            ],
        ),
        _table(
            "by_product",
            Msg("By product"),
            [col("product", "Product", "label"), *_COST_COLUMNS],
            named("product", data["by_product"]),
        ),
        _table(
            "by_product_stage",
            Msg("Like for like: each route within one product and stage"),
            [col("cell", "Product/stage", "text"), *_COST_COLUMNS],
            [
                {"cell": f"{product}/{stage}", **figures}
                for product, stages in data["by_product_stage"].items()
                for stage, figures in stages.items()
            ],
            note=msg(
                "Paid while current (not overdue the day before: not a recovery, on neither "
                "route): {in_house} in-house, {agency} through agencies, commission {commission}.",
                in_house=Decimal(data["paid_while_current"]["in_house_recovered"]),
                agency=Decimal(data["paid_while_current"]["agency_recovered"]),
                commission=Decimal(data["paid_while_current"]["commission"]),
            ),
        ),
        _table(
            "by_channel",
            msg(
                "In-house by channel (a payment credited to the last contact within {days} days)",
                days=data["attribution_window_days"],
            ),
            [
                col("channel", "Channel", "label"),
                col("contacts", "Contacts", "count"),
                col("in_house_cost", "Cost", "money"),
                col("in_house_recovered", "Recovered", "money"),
                col("in_house_per_100", "Cost per 100", "number"),
            ],
            named("channel", data["by_channel"]),
            total="sum",
        ),
    ]
    league = sorted(
        data["by_agency"].items(), key=lambda kv: (-Decimal(kv[1]["agency_recovered"]), kv[0])
    )
    blocks.append(
        _table(
            "by_agency",
            Msg("Agency league table"),
            [
                col("agency", "Agency", "text"),
                col("rank", "Rank", "count"),
                col("agency_recovered", "Recovered", "money"),
                col("commission", "Commission", "money"),
                col("agency_per_100", "Commission per 100", "number"),
            ],
            [{**f, "agency": name, "rank": rank} for rank, (name, f) in enumerate(league, 1)],
            charts=[
                Chart(
                    "by_agency-chart",
                    Msg("Agencies by amount recovered"),
                    "bars",
                    ("agency_recovered", "commission"),
                    horizontal=True,
                )
            ]
            if league
            else [],
        )
    )
    cohorts: Mapping[str, Any] = data["cohorts"]
    if cohorts:
        months = max(len(c["rates"]) for c in cohorts.values())
        names = [f"m{i}" for i in range(months)]
        blocks.append(
            _table(
                "cohorts",
                Msg(
                    "Recovered by placement cohort (share of what was owed when placed, by "
                    "months since)"
                ),
                [
                    col("placed", "Placed", "text"),
                    col("placements", "Cases", "count"),
                    col("placed_amount", "Owed", "money"),
                    *(col(n, None, "percent") for n in names),
                ],
                [
                    {**c, "placed": month, **dict(itertools.zip_longest(names, c["rates"]))}
                    for month, c in cohorts.items()
                ],
                charts=[
                    Chart(
                        "cohorts-chart",
                        Msg("Recovery curves by placement cohort"),
                        "lines",
                        tuple(names),
                    )
                ],
            )
        )
    roll = data["roll_rates"]
    if roll is not None and roll["counts"]:
        counts: Mapping[str, Mapping[str, int]] = roll["counts"]
        columns = list(next(iter(counts.values())))
        title = msg(
            "Roll rates {start} → {end}: cases by bucket on each date",
            start=roll["start"],
            end=roll["end"],
        )
        blocks.append(
            _table(
                "roll",
                title,
                [col("from", "From \\ to", "label"), *(col(c, None, "count") for c in columns)],
                [{**row, "from": a} for a, row in counts.items()],
                note=msg("New in the second snapshot: {n}.", n=sum(roll["new"].values())),
                charts=[Chart("roll-chart", title, "heatmap", tuple(columns))],
            )
        )
    if data["cases_rejected"]:
        blocks.append(Note(msg("{n} case line(s) rejected.", n=data["cases_rejected"])))
    if data["unknown_case_lines"]:
        blocks.append(
            Note(
                msg(
                    "{n} payments of cases not in the case file (stage unknown).",
                    n=data["unknown_case_lines"],
                )
            )
        )
    units = ", ".join(
        f"{channel} {cost if cost is not None else '–'}"
        for channel, cost in data["unit_costs"].items()
    )
    header = [
        *_policy(data["policy"]),
        (Msg("Period"), f"{data['start']} – {data['end']}"),
        (Msg("Currency"), data["currency"]),
        (Msg("Unit costs"), units),
    ]
    return _document("costs", Msg("What collection cost"), header, blocks)


# --- dunning audit --------------------------------------------------------------------------------


#: What an audit's notes (codes) say.
_AUDIT_NOTES = {
    "roles_not_checked": "Roles not checked: who approved, started, reviewed and handed over "
    "needs each person's role (the collectors file: --collectors).",
}


def audit(data: Mapping[str, Any]) -> Document:
    """An audit: what each obligation checked, and every finding with its evidence."""
    findings = data["findings"]
    checked: Mapping[str, int] = data["checked"]
    obligations = sorted(set(checked) | {f["obligation"] for f in findings})

    def count(obligation: str, severity: str) -> int:
        return sum(f["obligation"] == obligation and f["severity"] == severity for f in findings)

    blocks: list[Block] = [
        _figures(
            "overview",
            [
                ("checked", "Items checked", "count", sum(checked.values())),
                ("findings", "Findings", "count", len(findings)),
                ("errors", "Errors", "count", data["errors"]),
                (
                    "unreadable",
                    "Unreadable event lines",
                    "count",
                    len(data["unreadable_event_lines"]),
                ),
            ],
        ),
        _table(
            "obligations",
            Msg("By obligation"),
            [
                col("obligation", "Obligation", "label"),
                col("checked", "Checked", "count"),
                col("error", "Errors", "count"),
                col("warning", "Warnings", "count"),
            ],
            [
                {
                    "obligation": o,
                    "checked": checked.get(o, 0),
                    "error": count(o, "error"),
                    "warning": count(o, "warning"),
                }
                for o in obligations
            ],
            total="sum",
            charts=[
                Chart(
                    "obligations-chart",
                    Msg("Findings by obligation")
                    if findings
                    else Msg("Items checked by obligation"),
                    "stacked" if findings else "bars",
                    ("error", "warning") if findings else ("checked",),
                    horizontal=True,
                )
            ],
        ),
        _table(
            "findings",
            Msg("Findings"),
            [
                col("finding", "#", "count"),
                col("severity", "Severity", "label"),
                col("obligation", "Obligation", "label"),
                col("day", "Day", "date"),
                col("case_id", "Case", "text"),
                col("collector", "Collector", "text"),
                col("evidence", "Event lines", "text"),
                col("message", "What happened", "said", prose=True),
                col("expected", "Expected", "said", prose=True),
            ],
            [
                {
                    **f,
                    "finding": i,
                    # a check of an obligation that has several: conduct.hours
                    "obligation": ".".join(filter(None, (f["obligation"], f.get("check")))),
                    # the collector's name beside the id, where the collectors file gave it
                    "collector": " ".join(
                        filter(None, (f["collector"], data.get("names", {}).get(f["collector"])))
                    )
                    or None,
                    "evidence": " ".join(map(str, f["evidence"])),
                }
                for i, f in enumerate(findings, 1)
            ],
            note=None if findings else Msg("No findings."),
        ),
    ]
    if data["unreadable_event_lines"]:
        lines = ", ".join(map(str, data["unreadable_event_lines"]))
        blocks.append(Note(msg("Unreadable event lines: {lines}", lines=lines)))
    blocks += [Note(Msg(_AUDIT_NOTES.get(note, note))) for note in data.get("notes", ())]
    period = data["period"]
    header = [
        *_policy(data["procedure"], "Procedure"),
        (Msg("As of"), data["as_of"]),
        (Msg("Period"), f"{period['from']} – {period['to']}"),
    ]
    return _document("audit", Msg("Audit"), header, blocks)


# --- dunning performance --------------------------------------------------------------------------


_PERFORMANCE_COLUMNS: tuple[Column, ...] = (
    col("held", "Held", "count"),
    col("worked", "Worked", "count"),
    col("attempts", "Attempts", "count"),
    col("right_party_contacts", "Reached", "count"),
    col("promises_made", "Promised", "count"),
    col("promises_due", "Due", "count"),
    col("promises_kept", "Kept promises", "count"),
    col("kept_rate", "Kept %", "percent"),
    col("recovered", "Recovered", "money"),
    col("commission", "Commission", "money"),
    col("procedures_opened", "Opened", "count"),
    col("procedures_closed", "Closed", "count"),
    col("findings", "Findings", "count"),
)


def performance(data: Mapping[str, Any]) -> Document:
    """Collector performance: a league table of collectors, then teams, banks and the whole."""
    rows: list[Mapping[str, Any]] = data["rows"]
    whole = next(r for r in rows if r["level"] == "total")
    collectors = sorted(
        (r for r in rows if r["level"] == "collector"),
        key=lambda r: (-Decimal(r["recovered"]), str(r["collector"])),
    )
    blocks: list[Block] = [
        _figures(
            "overview",
            [
                ("worked", "Cases worked", "count", whole["worked"]),
                ("recovered", "Recovered", "money", whole["recovered"]),
                ("commission", "Commission", "money", whole["commission"]),
                ("kept_rate", "Promises kept", "percent", whole["kept_rate"]),
                ("findings", "Findings", "count", whole["findings"]),
            ],
        ),
        _table(
            "collectors",
            Msg("Collector league table"),
            [
                col("collector", "Collector", "text"),
                col("name", "Collector's name", "text"),
                col("rank", "Rank", "count"),
                col("team", "Team", "text"),
                col("bank", "Bank", "text"),
                *_PERFORMANCE_COLUMNS,
            ],
            [{**r, "rank": rank} for rank, r in enumerate(collectors, 1)],
            charts=[
                Chart(
                    "collectors-chart",
                    Msg("Recovered by collector"),
                    "bars",
                    ("recovered", "commission"),
                    horizontal=True,
                )
            ],
        ),
    ]
    for level, title in (("team", "By team"), ("bank", "By bank")):
        blocks.append(
            _table(
                f"{level}s",
                Msg(title),
                [col(level, level.capitalize(), "text"), *_PERFORMANCE_COLUMNS],
                [r for r in rows if r["level"] == level],
                total={**whole, level: "total"},
            )
        )
    approval = data["approval"]
    if approval is not None:
        blocks.append(Note(_approval(approval)))
    unmatched = data["unmatched_payments"]
    if unmatched["lines"]:
        blocks.append(
            Note(
                msg(
                    "Payments credited to no collector: {n} line(s), {amount}.",
                    n=sum(unmatched["lines"].values()),
                    amount=Decimal(unmatched["amount"]),
                )
            )
        )
    if data["banks_without_terms"]:
        banks = ", ".join(data["banks_without_terms"])
        blocks.append(
            Note(msg("No commission terms in the procedure file for: {banks}", banks=banks))
        )
    for key, title in (
        ("unreadable_event_lines", "Unreadable event lines: {lines}"),
        ("unreadable_payment_lines", "Unreadable payment lines: {lines}"),
    ):
        if data[key]:
            blocks.append(Note(msg(title, lines=", ".join(map(str, data[key])))))
    period = data["period"]
    header = [
        *_policy(data["procedure"], "Procedure"),
        (Msg("As of"), data["as_of"]),
        (Msg("Period"), f"{period['from']} – {period['to']} ({period['kind']})"),
        (Msg("Currency"), data["currency"]),
    ]
    return _document("performance", Msg("Collector performance"), header, blocks)


def _approval(approval: Mapping[str, Any]) -> Msg:
    """The monthly report's state: who approved it, and where it was filed."""
    if approval["state"] == "approved":
        by = ", ".join(approval.get("approvals") or [approval["approved_by"]])
        state = msg("approved by {by}", by=by)
    else:
        state = msg("{state}", state=Code(approval["state"]))
    if "filed_at" not in approval:
        return msg("Monthly report: {state}", state=state)
    return msg(
        "Monthly report: {state} (filed {at}, {ref}, events line {line})",
        state=state,
        at=approval["filed_at"],
        ref=approval["ref"],
        line=approval["filed_by_line"],
    )


# --- dunning assess and intake --------------------------------------------------------------------


def assessment(data: Mapping[str, Any]) -> Document:
    """A delinquency assessment: cases by product and bucket, and what the overdue owe."""
    products: Mapping[str, Any] = data["products"]
    first: Mapping[str, Any] = next(iter(products.values()), {"buckets": {}})
    rows = [{"product": name, **p} for name, p in products.items()]
    blocks: list[Block] = [
        _table(
            "buckets",
            Msg("Cases by product and bucket"),
            [
                col("product", "Product", "label"),
                *(col(b, None, "count", at=("buckets", b)) for b in first["buckets"]),
                col("cases", "Cases", "count"),
            ],
            rows,
            total="sum",
        ),
        _table(
            "overdue",
            Msg("Overdue amounts by product (cases with dpd > 0)"),
            [
                col("product", "Product", "label"),
                col("cases", "Overdue cases", "count", at="overdue.cases"),
                col("principal", "Overdue principal", "money", at="overdue.principal"),
                col("charges", "Interest, penalty and fees", "money", at="overdue.charges"),
                col("total_due", "Total due", "money", at="overdue.total_due"),
            ],
            rows,
            total="sum",
        ),
    ]
    if data["penalty_multiplier"] is None:  # say what the totals leave out
        blocks.append(
            Note(
                Msg(
                    "Penalty interest is not included (no --penalty-multiplier); a policy's "
                    "decisions add it, held to the policy's charges cap."
                )
            )
        )
    else:
        blocks.append(
            Note(
                msg(
                    "Penalty interest at {multiplier} × the contract rate, uncapped.",
                    multiplier=data["penalty_multiplier"],
                )
            )
        )
    blocks.extend(_notes(data))
    header = [(Msg("As of"), str(data["as_of"]))]
    return _document("assessment", Msg("Delinquency assessment"), header, blocks)


def intake(data: Mapping[str, Any]) -> Document:
    """An intake: lines read, taken in and refused, its time against the limit, its backups."""
    late = Msg("LATE: a finding") if data["late"] else Msg("on time")
    blocks: list[Block] = [
        _figures(
            "overview",
            [
                ("lines", "Lines read", "count", data["lines"]),
                ("accepted", "Accepted", "count", data["accepted"]),
                ("refreshed", "Of which refreshed", "count", data.get("refreshed", 0)),
                ("rejected", "Refused", "count", data["rejected"]),
                ("repeated", "Of which another bank's", "count", data["repeated"]),
            ],
        ),
        _table(
            "timing",
            msg("Received to completed: {verdict}", verdict=late),
            [
                col("received_at", "Received", "date"),
                col("completed_at", "Completed", "date"),
                col("elapsed", "Elapsed", "text"),
                col("allowed", "Allowed", "text"),
            ],
            [
                {
                    **data,
                    "elapsed": _duration(data["elapsed_seconds"]),
                    "allowed": _duration(data["target_minutes"] * 60),
                }
            ],
        ),
        _table(
            "backups",
            Msg("Backups, verified"),
            [
                col("name", "Backup", "text"),
                col("files", "Files", "count"),
                col("manifest", "Manifest", "text"),
            ],
            data["backups"],
        ),
    ]
    if data["repaired"]:
        names = ", ".join(data["repaired"])
        blocks.append(Note(msg("Repaired (the copy was missing or damaged): {names}", names=names)))
    if data.get("refused"):
        blocks.append(
            _table(
                "refused",
                Msg("Refused lines"),
                [
                    col("line", "Line", "count"),
                    col("case_id", "Case", "text"),
                    col("code", "Code", "text"),
                    col("problem", "Problem", "text", prose=True),
                ],
                [
                    {
                        **_problem({"errors": [problem]}),
                        "line": r["line"],
                        "case_id": r.get("case_id"),
                    }
                    for r in data["refused"]
                    for problem in r["errors"]
                ],
            )
        )
    header = [
        (Msg("Bank"), data["bank"]),
        (Msg("Source"), data["source"]),
        (Msg("Batch"), data["batch_id"]),
        (Msg("Taken in"), "now" if data["new"] else "before; checked again"),
        (Msg("Directory"), data["directory"]),
    ]
    return _document("intake", Msg("Intake"), header, blocks)


# --- dunning assign and handover ---------------------------------------------------------------


def assignment(data: Mapping[str, Any]) -> Document:
    """An assignment run: cases by status, each collector's load, the cases still waiting."""
    counts: Mapping[str, int] = data["counts"]
    blocks: list[Block] = [
        _table(
            "counts",
            Msg("Cases by status"),
            [col("status", "Status", "label"), col("cases", "Cases", "count")],
            [{"status": status, "cases": n} for status, n in counts.items()],
            total="sum",
        ),
        _table(
            "collectors",
            Msg("Collectors: open cases before and after, against capacity"),
            [
                col("collector", "Collector", "text"),
                col("team", "Team", "text"),
                col("status", "Status", "label"),
                col("before", "Before", "count"),
                col("after", "After", "count"),
                col("capacity", "Capacity", "count"),
            ],
            [{**c, "collector": name} for name, c in data["collectors"].items()],
            total="sum",
        ),
    ]
    if data["waiting"]:
        blocks.append(
            _table(
                "waiting",
                Msg("Waiting for a collector"),
                [col("case_id", "Case", "text"), col("reason", "Reason", "text")],
                data["waiting"],
            )
        )
    header = [(Msg("As of"), data["as_of"])] if "as_of" in data else []
    return _document("assignment", Msg("Assignment"), header, blocks)


def handover(data: Mapping[str, Any]) -> Document:
    """A handover: who received how many of the departing collector's cases, and each case."""
    blocks: list[Block] = [
        _figures(
            "overview",
            [
                ("open_before", "Open before", "count", data["open_before"]),
                ("handed_over", "Handed over", "count", data["handed_over"]),
                ("left_after", "Left after", "count", data["left_after"]),
            ],
        ),
        _table(
            "received",
            Msg("Received"),
            [col("collector", "Collector", "text"), col("cases", "Cases", "count")],
            [{"collector": c, "cases": n} for c, n in data["received"].items()],
            total="sum",
        ),
        _table(
            "cases",
            Msg("Cases handed over"),
            [
                col("case_id", "Case", "text"),
                col("to", "To", "text"),
                col("open_promises", "Open promises", "count"),
                col("pending_approvals", "Pending approvals", "count"),
                col("next_action", "Next action", "text"),
            ],
            [{**case, "next_action": _next(case["next_action"])} for case in data["cases"]],
        ),
    ]
    if data.get("escalated"):
        blocks.append(
            _table(
                "escalated",
                Msg("Undecided requests, escalated to the supervisor"),
                [
                    col("case_id", "Case", "text"),
                    col("to", "To", "text"),
                    col("request_id", "Request", "text"),
                    col("procedure", "Special procedure", "label"),
                    col("asked_at", "Asked at", "text"),
                ],
                data["escalated"],
            )
        )
    header = [(Msg("From"), data["from"])]
    return _document("handover", Msg("Handover"), header, blocks)


def _duration(seconds: int) -> str:
    """A span as a person reads it: ``2 h 05 min``, or ``4 min 10 s`` under an hour."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def _next(step: Mapping[str, Any] | None) -> str | None:
    return None if step is None else f"{step['channel']} at {step['at']}"


#: The document of each report, by the name the command gives its JSON.
BUILDERS: dict[str, Callable[[Mapping[str, Any]], Document]] = {
    "decisions": decisions,
    "diff": diff,
    "placements": placements,
    "settlement": settlement,
    "reconciliation": reconciliation,
    "costs": costs,
    "audit": audit,
    "performance": performance,
    "assignment": assignment,
    "handover": handover,
    "assessment": assessment,
    "intake": intake,
}


def build_document(report: str, data: Mapping[str, Any]) -> Document:
    """The document of ``report`` (a key of :data:`BUILDERS`) from its JSON data."""
    return BUILDERS[report](data)
