"""Report documents: a report's JSON data laid out as figures, tables and charts, once.

Every report command computes its figures once as data (what ``--format json`` prints). The
functions here lay that data out as a :class:`Document` — headline figures, titled tables with
typed columns, and charts that each draw one table — which the renderers turn into CSV, an
Excel workbook (:mod:`dunning.export`) or an HTML page (:mod:`dunning.html`). A document holds
the figures exactly as the JSON gives them (amounts as ``Decimal``), so that every form of a
report shows the same numbers, and it holds aggregates only: its size does not grow with the
number of cases decided.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    "msg",
]

#: How a value is shown: ``label`` is a code (a product, a channel) that a locale may name.
Kind = Literal["text", "label", "date", "count", "money", "number", "percent"]
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
    """A table's column: its key (the JSON name, used in CSV), its title and its kind."""

    key: str
    title: Msg
    kind: Kind
    code: bool = False  # the title is a code of the data (a bucket, a channel): a locale names it


@dataclass(frozen=True)
class Table:
    """A titled table. The first column names the row; ``total`` marks a last row of totals."""

    id: str
    title: Msg
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    total: bool = False
    note: Msg | None = None

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
class Chart:
    """A chart of one table: its body's rows are the categories, ``series`` its columns.

    ``bars`` groups the series side by side, ``stacked`` piles them up, ``lines`` draws a line
    per row across the series (a curve over months, say), ``heatmap`` shades the matrix of rows
    by series, each cell by its share of its row.
    """

    id: str
    title: Msg
    kind: Literal["bars", "stacked", "lines", "heatmap"]
    table: str
    series: tuple[str, ...]
    horizontal: bool = False


@dataclass(frozen=True)
class Note:
    """A sentence under the tables."""

    text: Msg


Block = Headline | Table | Chart | Note


@dataclass(frozen=True)
class Document:
    """A report laid out: title, the run's identity (on every page), then its blocks."""

    report: str
    title: Msg
    header: tuple[tuple[Msg, str], ...]
    blocks: tuple[Block, ...]
    tables: Mapping[str, Table] = field(default_factory=dict)

    def table(self, table_id: str) -> Table:
        """The table named ``table_id``."""
        return self.tables[table_id]

    def messages(self) -> Iterable[Msg]:
        """Every message the document shows (for the translation catalog's test)."""
        yield self.title
        for label, _ in self.header:
            yield label
        for block in self.blocks:
            if isinstance(block, Headline):
                yield from (item.title for item in block.items)
            elif isinstance(block, Table):
                yield block.title
                yield from (column.title for column in block.columns if not column.code)
                if block.note is not None:
                    yield block.note
            else:
                yield block.title if isinstance(block, Chart) else block.text


def _document(
    report: str, title: Msg, header: list[tuple[Msg, str]], blocks: list[Block]
) -> Document:
    tables = {block.id: block for block in blocks if isinstance(block, Table)}
    for block in blocks:
        if isinstance(block, Chart):
            assert block.table in tables, block.table
    return Document(report, title, tuple(header), tuple(blocks), tables)


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


def _table(
    table_id: str,
    title: Msg,
    columns: Sequence[tuple[str, str | None, Kind]],
    rows: Iterable[Sequence[Any]],
    *,
    total: Sequence[Any] | Literal["sum"] | None = None,
    note: Msg | None = None,
) -> Table:
    """A table from raw JSON values; ``total="sum"`` adds a totals row of the numeric columns.

    A column whose title is ``None`` is titled by its key, a code of the data.
    """
    cols = tuple(Column(key, Msg(head or key), kind, head is None) for key, head, kind in columns)
    body = [tuple(value_of(raw, c.kind) for raw, c in zip(row, cols, strict=True)) for row in rows]
    last: tuple[Any, ...] | None = None
    if total == "sum":
        last = (
            "total",
            *(
                _total(row[i] for row in body) if c.kind in ("count", "money") else None
                for i, c in enumerate(cols)
                if i
            ),
        )
    elif total is not None:
        last = tuple(value_of(raw, c.kind) for raw, c in zip(total, cols, strict=True))
    if last is not None:
        body.append(last)
    return Table(table_id, title, cols, tuple(body), total=last is not None, note=note)


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
        Chart(
            "buckets-chart",
            Msg("Cases by product and bucket"),
            "stacked",
            "buckets",
            tuple(buckets),
        ),
        _table(
            "buckets",
            Msg("Cases by product and bucket"),
            [
                ("product", "Product", "label"),
                *((b, None, "count") for b in buckets),
                ("cases", "Cases", "count"),
                ("total_due", "Total due", "money"),
            ],
            [
                [name, *p["buckets"].values(), p["cases"], p["total_due"]]
                for name, p in products.items()
            ],
            total="sum",
        ),
        Chart(
            "channels-chart",
            Msg("Decisions by product and channel"),
            "stacked",
            "channels",
            tuple(channels),
        ),
        _table(
            "channels",
            Msg("Decisions by product and channel"),
            [("product", "Product", "label"), *((c, None, "count") for c in channels)],
            [[name, *p["channels"].values()] for name, p in products.items()],
            total="sum",
        ),
        Chart(
            "agencies-chart",
            Msg("Expected commission by stage"),
            "bars",
            "agencies",
            ("expected_commission",),
        ),
        _table(
            "agencies",
            Msg("Going to agencies, by stage"),
            [
                ("bucket", "Bucket", "label"),
                ("cases", "Cases", "count"),
                ("total_due", "Total due", "money"),
                ("expected_commission", "Expected commission", "money"),
            ],
            [
                [b, row["cases"], row["total_due"], row["expected_commission"]]
                for b, row in agencies["by_bucket"].items()
            ],
            total=[
                "total",
                agencies["cases"],
                agencies["total_due"],
                agencies["expected_commission"],
            ],
            note=Msg("Expected commission: total due × the commission rate, if all is recovered."),
        ),
    ]
    if data["guards"]:
        effects = list(next(iter(data["guards"].values())))
        blocks.append(
            _table(
                "guards",
                Msg("Compliance guards: decisions changed, by guard and effect"),
                [("guard", "Guard", "text"), *((e, None, "count") for e in effects)],
                [[g, *counts.values()] for g, counts in data["guards"].items()],
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
            [("change", "Change", "text")],
            [[change] for change in data["policy_changes"]],
        ),
    ]
    for key, title in (
        ("channels", "Channel done (after the guards): old (rows) × new (columns)"),
        ("intended_channels", "Channel the rules wanted: old (rows) × new (columns)"),
    ):
        matrix: Mapping[str, Mapping[str, int]] = data[key]
        names = _matrix_names(matrix)
        blocks.append(Chart(f"{key}-chart", Msg(title), "heatmap", key, tuple(names)))
        blocks.append(
            _table(
                key,
                Msg(title),
                [("old", "Old \\ new", "label"), *((n, None, "count") for n in names)],
                [[a, *(matrix.get(a, {}).get(b, 0) for b in names)] for a in names],
            )
        )
    blocks.append(
        Chart(
            "by_product-chart",
            Msg("Cases decided differently, by product"),
            "bars",
            "by_product",
            ("changed",),
            horizontal=True,
        )
    )
    blocks.append(
        _table(
            "by_product",
            Msg("By product"),
            [
                ("product", "Product", "label"),
                ("cases", "Cases", "count"),
                ("changed", "Changed", "count"),
                ("newly_placed", "Newly placed", "money"),
                ("no_longer_placed", "No longer placed", "money"),
            ],
            [
                [name, p["cases"], p["changed"], p["newly_placed"], p["no_longer_placed"]]
                for name, p in data["by_product"].items()
            ],
            total="sum",
        )
    )
    amounts = data["amounts"]
    blocks.append(
        _table(
            "amounts",
            Msg("Amounts over the batch, old and new"),
            [
                ("amount", "Amount", "label"),
                ("old", "Old", "money"),
                ("new", "New", "money"),
                ("change", "Change", "money"),
            ],
            [
                [
                    name,
                    amounts["old"][name],
                    amounts["new"][name],
                    Decimal(amounts["new"][name]) - Decimal(amounts["old"][name]),
                ]
                for name in amounts["old"]
            ],
            note=msg(
                "{cases} cases were already placed before either decision (total due {due}).",
                cases=placed["already_placed_cases"],
                due=Decimal(placed["already_placed_due"]),
            ),
        )
    )
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
                (
                    "recalled",
                    "Recalled",
                    "count",
                    sum(sum(a["recalled"].values()) for a in agencies.values()),
                ),
                ("unavailable", "No agency could take", "count", unavailable["cases"]),
            ],
        ),
        Chart(
            "load-chart",
            Msg("Open placements against capacity"),
            "bars",
            "agencies",
            ("open", "capacity"),
            horizontal=True,
        ),
        Chart(
            "flow-chart",
            Msg("This run, by agency"),
            "stacked",
            "agencies",
            ("proposed", "placed", "kept"),
        ),
        _table(
            "agencies",
            Msg("Placements by agency"),
            [
                ("agency", "Agency", "text"),
                ("proposed", "Proposed", "count"),
                ("proposed_total_due", "Proposed: total due", "money"),
                ("placed", "Placed", "count"),
                ("placed_total_due", "Placed: total due", "money"),
                ("kept", "Kept", "count"),
                ("kept_total_due", "Kept: total due", "money"),
                ("recalled", "Recalled", "count"),
                ("closed", "Closed", "count"),
                ("open", "Open", "count"),
                ("capacity", "Capacity", "count"),
                ("left", "Left", "count"),
                ("share", "Share", "percent"),
                ("target", "Target", "percent"),
            ],
            [
                [
                    name,
                    a["proposed"],
                    a["proposed_total_due"],
                    a["placed"],
                    a["placed_total_due"],
                    a["kept"],
                    a["kept_total_due"],
                    sum(a["recalled"].values()),
                    sum(a["closed"].values()),
                    a["open"],
                    a["capacity"],
                    a["left"],
                    a["share"],
                    a["target"],
                ]
                for name, a in agencies.items()
            ],
            total="sum",
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
                    [("reason", "Reason", "label"), *((n, None, "count") for n in agencies)],
                    [[r, *(a[key].get(r, 0) for a in agencies.values())] for r in reasons],
                )
            )
    if unavailable["cases"]:
        blocks.append(
            _table(
                "unavailable",
                Msg("No agency could take these cases: the agencies' reasons"),
                [("reason", "Reason", "label"), ("cases", "Cases", "count")],
                list(unavailable["reasons"].items()),
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
    ]
    if statements:
        blocks.append(
            Chart(
                "statements-chart",
                Msg("Commission by agency and period"),
                "bars",
                "statements",
                ("commission",),
                horizontal=True,
            )
        )
    blocks.append(
        _table(
            "statements",
            Msg("Commission statements"),
            [
                ("statement", "Statement", "text"),
                ("agency_id", "Agency", "text"),
                ("agency_name", "Name", "text"),
                ("period", "Period", "text"),
                ("lines", "Lines", "count"),
                ("amount", "Amount", "money"),
                ("commission", "Commission", "money"),
            ],
            [
                [
                    f"{s['agency_id']} {s['period']}",
                    s["agency_id"],
                    s["agency_name"],
                    s["period"],
                    s["totals"]["count"],
                    s["totals"]["amount"],
                    s["totals"]["commission"],
                ]
                for s in statements
            ],
            total="sum",
            note=Msg(
                "Rounding: each line half-up to the minor unit; totals are the sums of the lines."
            ),
        )
    )
    blocks.append(
        Chart(
            "accounting-chart",
            Msg("Every ledger line, in exactly one category"),
            "bars",
            "accounting",
            ("amount",),
            horizontal=True,
        )
    )
    blocks.append(
        _table(
            "accounting",
            Msg("Every ledger line, in exactly one category"),
            [
                ("category", "Category", "label"),
                ("lines", "Lines", "count"),
                ("amount", "Amount", "money"),
                ("commission", "Commission", "money"),
            ],
            [
                [name, c["count"], c["amount"], c["commission"]]
                for name, c in accounting["categories"].items()
            ],
            total=[
                "ledger",
                accounting["ledger"]["count"],
                accounting["ledger"]["amount"],
                accounting["ledger"]["commission"],
            ],
            note=Msg("Balanced: the categories add up to the ledger.")
            if accounting["balanced"]
            else Msg("NOT BALANCED: the categories do not add up."),
        )
    )
    blocks.append(
        _table(
            "lines",
            Msg("Statement lines"),
            [
                ("reference", "Reference", "text"),
                ("agency_id", "Agency", "text"),
                ("period", "Period", "text"),
                ("case_id", "Case", "text"),
                ("date", "Date", "date"),
                ("amount", "Amount", "money"),
                ("rate", "Rate", "percent"),
                ("commission", "Commission", "money"),
                ("reason", "Reason", "label"),
            ],
            [
                [
                    line["reference"],
                    s["agency_id"],
                    s["period"],
                    line["case_id"],
                    line["date"],
                    line["amount"],
                    line["rate"],
                    line["commission"],
                    line["reason"],
                ]
                for s in statements
                for line in s["lines"]
            ],
        )
    )
    if data["rejected"]:
        blocks.append(Note(msg("{n} ledger line(s) rejected.", n=len(data["rejected"]))))
    if data["event_errors"]:
        blocks.append(Note(msg("{n} event line(s) rejected.", n=len(data["event_errors"]))))
    header = [
        *_policy(data["policy"]),
        (Msg("Period"), f"{data['start'] or '…'} – {data['end'] or '…'}"),
        (Msg("Inputs"), data["digest"]),
    ]
    return _document("settlement", Msg("Settlement"), header, blocks)


# --- dunning reconcile ---------------------------------------------------------------------------


def reconciliation(data: Mapping[str, Any]) -> Document:
    """An agency's claim against the lender's statement: counts, totals, every line apart."""
    counts: Mapping[str, int] = data["counts"]
    lender, agency = data["lender_total"], data["agency_total"]
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
            ],
        ),
        Chart(
            "categories-chart",
            Msg("Lines by category"),
            "bars",
            "categories",
            ("lines",),
            horizontal=True,
        ),
        _table(
            "categories",
            Msg("Lines by category"),
            [("category", "Category", "label"), ("lines", "Lines", "count")],
            list(counts.items()),
            total="sum",
        ),
        _table(
            "totals",
            Msg("Totals"),
            [
                ("side", "Side", "label"),
                ("lines", "Lines", "count"),
                ("amount", "Amount", "money"),
                ("commission", "Commission", "money"),
            ],
            [
                ["lender", lender["lines"], lender["amount"], lender["commission"]],
                ["agency", agency["lines"], agency["amount"], agency["commission"]],
            ],
            note=Msg("The claim agrees with the statement, line by line and in total.")
            if data["agrees"]
            else Msg("The claim differs from the statement."),
        ),
        _table(
            "differences",
            Msg("Lines not matched"),
            [
                ("reference", "Reference", "text"),
                ("category", "Category", "label"),
                ("claim_line", "Claim line", "count"),
                ("case_id", "Case", "text"),
                ("amount", "Amount", "money"),
                ("what", "What differs", "text"),
            ],
            [
                [
                    line["reference"],
                    line["category"],
                    line["claim_line"],
                    side(line).get("case_id"),
                    side(line).get("amount"),
                    _differences(line),
                ]
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
    return _document("reconciliation", Msg("Reconciliation"), header, blocks)


def _differences(line: Mapping[str, Any]) -> str:
    said = [f"{d['field']}: {d['lender']} / {d['agency']}" for d in line.get("differences", [])]
    if line.get("lender_view"):  # where the lender's settlement put the payment instead
        said.append(f"lender: {line['lender_view']}")
    return "; ".join(said)


# --- dunning costs --------------------------------------------------------------------------------


_COST_COLUMNS: list[tuple[str, str, Kind]] = [
    ("in_house_recovered", "In-house recovered", "money"),
    ("in_house_cost", "In-house cost", "money"),
    ("in_house_per_100", "Cost per 100", "number"),
    ("agency_recovered", "Agency recovered", "money"),
    ("commission", "Commission", "money"),
    ("agency_per_100", "Commission per 100", "number"),
]


def costs(data: Mapping[str, Any]) -> Document:
    """What collection cost: by route, stage, product, channel and agency; curves; roll rates."""
    total = data["total"]

    def rows(part: Mapping[str, Any]) -> list[list[Any]]:
        return [[name, *(f[key] for key, _, _ in _COST_COLUMNS)] for name, f in part.items()]

    blocks: list[Block] = [
        _figures("overview", [(k, t, kind, total[k]) for k, t, kind in _COST_COLUMNS]),
        Chart(
            "by_stage-chart",
            Msg("Recovered by stage"),
            "stacked",
            "by_stage",
            ("in_house_recovered", "agency_recovered"),
        ),
        Chart("commission-chart", Msg("Commission by stage"), "bars", "by_stage", ("commission",)),
        _table(
            "by_stage",
            Msg("By stage (the case's bucket the day before the payment)"),
            [("stage", "Stage", "label"), *_COST_COLUMNS],
            rows(data["by_stage"]),
        ),
        _table(
            "by_product",
            Msg("By product"),
            [("product", "Product", "label"), *_COST_COLUMNS],
            rows(data["by_product"]),
        ),
        _table(
            "by_channel",
            msg(
                "In-house by channel (a payment credited to the last contact within {days} days)",
                days=data["attribution_window_days"],
            ),
            [
                ("channel", "Channel", "label"),
                ("contacts", "Contacts", "count"),
                ("in_house_cost", "Cost", "money"),
                ("in_house_recovered", "Recovered", "money"),
                ("in_house_per_100", "Cost per 100", "number"),
            ],
            [
                [
                    name,
                    f["contacts"],
                    f["in_house_cost"],
                    f["in_house_recovered"],
                    f["in_house_per_100"],
                ]
                for name, f in data["by_channel"].items()
            ],
            total="sum",
        ),
    ]
    league = sorted(
        data["by_agency"].items(), key=lambda kv: (-Decimal(kv[1]["agency_recovered"]), kv[0])
    )
    if league:
        blocks.append(
            Chart(
                "by_agency-chart",
                Msg("Agencies by amount recovered"),
                "bars",
                "by_agency",
                ("agency_recovered", "commission"),
                horizontal=True,
            )
        )
    blocks.append(
        _table(
            "by_agency",
            Msg("Agency league table"),
            [
                ("agency", "Agency", "text"),
                ("rank", "Rank", "count"),
                ("agency_recovered", "Recovered", "money"),
                ("commission", "Commission", "money"),
                ("agency_per_100", "Commission per 100", "number"),
            ],
            [
                [name, rank, f["agency_recovered"], f["commission"], f["agency_per_100"]]
                for rank, (name, f) in enumerate(league, 1)
            ],
        )
    )
    cohorts: Mapping[str, Any] = data["cohorts"]
    if cohorts:
        months = max(len(c["rates"]) for c in cohorts.values())
        names = [f"m{i}" for i in range(months)]
        blocks.append(
            Chart(
                "cohorts-chart",
                Msg("Recovery curves by placement cohort"),
                "lines",
                "cohorts",
                tuple(names),
            )
        )
        blocks.append(
            _table(
                "cohorts",
                Msg(
                    "Recovered by placement cohort (share of what was owed when placed, by "
                    "months since)"
                ),
                [
                    ("placed", "Placed", "text"),
                    ("placements", "Cases", "count"),
                    ("placed_amount", "Owed", "money"),
                    *((n, None, "percent") for n in names),
                ],
                [
                    [
                        month,
                        c["placements"],
                        c["placed_amount"],
                        *(c["rates"] + [None] * (months - len(c["rates"]))),
                    ]
                    for month, c in cohorts.items()
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
        blocks.append(Chart("roll-chart", title, "heatmap", "roll", tuple(columns)))
        blocks.append(
            _table(
                "roll",
                title,
                [("from", "From \\ to", "label"), *((c, None, "count") for c in columns)],
                [[a, *row.values()] for a, row in counts.items()],
                note=msg("New in the second snapshot: {n}.", n=sum(roll["new"].values())),
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
    header = [
        *_policy(data["policy"]),
        (Msg("Period"), f"{data['start']} – {data['end']}"),
        (Msg("Currency"), data["currency"]),
    ]
    return _document("costs", Msg("What collection cost"), header, blocks)


# --- dunning audit --------------------------------------------------------------------------------


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
        Chart(
            "obligations-chart",
            Msg("Findings by obligation") if findings else Msg("Items checked by obligation"),
            "stacked" if findings else "bars",
            "obligations",
            ("error", "warning") if findings else ("checked",),
            horizontal=True,
        ),
        _table(
            "obligations",
            Msg("By obligation"),
            [
                ("obligation", "Obligation", "label"),
                ("checked", "Checked", "count"),
                ("error", "Errors", "count"),
                ("warning", "Warnings", "count"),
            ],
            [[o, checked.get(o, 0), count(o, "error"), count(o, "warning")] for o in obligations],
            total="sum",
        ),
        _table(
            "findings",
            Msg("Findings"),
            [
                ("finding", "#", "count"),
                ("severity", "Severity", "label"),
                ("obligation", "Obligation", "label"),
                ("day", "Day", "date"),
                ("case_id", "Case", "text"),
                ("collector", "Collector", "text"),
                ("message", "What happened", "text"),
                ("expected", "Expected", "text"),
                ("evidence", "Event lines", "text"),
            ],
            [
                [
                    i,
                    f["severity"],
                    f["obligation"],
                    f["day"],
                    f["case_id"],
                    f["collector"],
                    f["message"],
                    f["expected"],
                    " ".join(map(str, f["evidence"])),
                ]
                for i, f in enumerate(findings, 1)
            ],
            note=None if findings else Msg("No findings."),
        ),
    ]
    if data["unreadable_event_lines"]:
        lines = ", ".join(map(str, data["unreadable_event_lines"]))
        blocks.append(Note(msg("Unreadable event lines: {lines}", lines=lines)))
    period = data["period"]
    header = [
        *_policy(data["procedure"], "Procedure"),
        (Msg("As of"), data["as_of"]),
        (Msg("Period"), f"{period['from']} – {period['to']}"),
    ]
    return _document("audit", Msg("Audit"), header, blocks)


# --- dunning performance --------------------------------------------------------------------------


_PERFORMANCE_COLUMNS: list[tuple[str, str, Kind]] = [
    ("held", "Held", "count"),
    ("worked", "Worked", "count"),
    ("attempts", "Attempts", "count"),
    ("right_party_contacts", "Reached", "count"),
    ("promises_made", "Promised", "count"),
    ("promises_due", "Due", "count"),
    ("promises_kept", "Kept", "count"),
    ("kept_rate", "Kept %", "percent"),
    ("recovered", "Recovered", "money"),
    ("commission", "Commission", "money"),
    ("procedures_opened", "Opened", "count"),
    ("procedures_closed", "Closed", "count"),
    ("findings", "Findings", "count"),
]


def performance(data: Mapping[str, Any]) -> Document:
    """Collector performance: a league table of collectors, then teams, banks and the whole."""
    rows: list[Mapping[str, Any]] = data["rows"]
    keys = [key for key, _, _ in _PERFORMANCE_COLUMNS]
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
        Chart(
            "collectors-chart",
            Msg("Recovered by collector"),
            "bars",
            "collectors",
            ("recovered", "commission"),
            horizontal=True,
        ),
        _table(
            "collectors",
            Msg("Collector league table"),
            [
                ("collector", "Collector", "text"),
                ("rank", "Rank", "count"),
                ("team", "Team", "text"),
                ("bank", "Bank", "text"),
                *_PERFORMANCE_COLUMNS,
            ],
            [
                [r["collector"], rank, r["team"], r["bank"], *(r[k] for k in keys)]
                for rank, r in enumerate(collectors, 1)
            ],
        ),
    ]
    for level, title in (("team", "By team"), ("bank", "By bank")):
        blocks.append(
            _table(
                f"{level}s",
                Msg(title),
                [(level, title.split()[-1].capitalize(), "text"), *_PERFORMANCE_COLUMNS],
                [[r[level], *(r[k] for k in keys)] for r in rows if r["level"] == level],
                total=["total", *(whole[k] for k in keys)],
            )
        )
    approval = data["approval"]
    if approval is not None:
        blocks.append(Note(msg("Monthly report: {state}", state=Code(approval["state"]))))
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
    period = data["period"]
    header = [
        *_policy(data["procedure"], "Procedure"),
        (Msg("As of"), data["as_of"]),
        (Msg("Period"), f"{period['from']} – {period['to']}"),
        (Msg("Currency"), data["currency"]),
    ]
    return _document("performance", Msg("Collector performance"), header, blocks)


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
}


def build_document(report: str, data: Mapping[str, Any]) -> Document:
    """The document of ``report`` (a key of :data:`BUILDERS`) from its JSON data."""
    return BUILDERS[report](data)
