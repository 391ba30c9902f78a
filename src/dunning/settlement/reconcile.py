"""Reconciliation: the lender's statement against what the agency claims, line by line.

The agency sends what it believes it earned — a spreadsheet as agencies keep them, or JSON
Lines. :func:`reconcile` matches the claim's lines with the lender's statement lines by payment
reference, and puts every line of both sides in exactly one category:

``matched``
    the same payment, amount, rate and commission on both sides (and the same case and date
    where the claim gives them);
``different``
    the same payment with a different amount, rate, commission, case or date: each difference
    is listed with both values;
``claimed_only``
    a line the agency claims and the lender's statement does not have, with what the lender's
    settlement made of that payment (in-house, after the recall and its grace, another agency's,
    outside the period, not in the ledger…);
``missing``
    a statement line the agency left out;
``duplicate``
    a claim line repeating a reference the claim already gave;
``rejected``
    a claim line that cannot be read, or that names another agency.

Both totals are given; the two sides agree only when every line is matched and the totals are
equal.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, BinaryIO, Literal, TextIO

from pydantic import BeforeValidator, Field, ValidationError

from ..batch import Numbered, numbered
from ..cases import check_batch, json_object, problems_of
from ..errors import ArgumentError, CaseError, ConfigError, Problem
from ..model import CLAIM_FIELDS, Id, Rate, Record, amount_input
from ..money import round_money
from ..reports.cells import csv_writer
from ..tabular import Kind, read_rows
from .ledger import MAX_LEDGER_AMOUNT
from .statements import SettledLine, Settlement

__all__ = [
    "CLAIM_COLUMNS",
    "RECONCILIATION_CATEGORIES",
    "TOTAL_WORDS",
    "ClaimLine",
    "ClaimTotal",
    "ReconciledLine",
    "Reconciliation",
    "read_claim",
    "read_claim_table",
    "reconcile",
]

#: Every category of a reconciliation, in the order reports list them.
RECONCILIATION_CATEGORIES = (
    "matched",
    "different",
    "claimed_only",
    "missing",
    "duplicate",
    "rejected",
)
TITLES = {
    "matched": "matched",
    "different": "different (same payment, other figures)",
    "claimed_only": "claimed, not in the lender's statement",
    "missing": "in the lender's statement, not claimed",
    "duplicate": "claimed twice",
    "rejected": "claim lines that cannot be read",
}

#: An amount as a claim gives it: reversals may be negative.
SignedAmount = Annotated[
    Decimal,
    Field(gt=-MAX_LEDGER_AMOUNT, lt=MAX_LEDGER_AMOUNT),
    BeforeValidator(amount_input),
]


class ClaimLine(Record):
    """One line of an agency's claim.

    Attributes:
        reference: The lender's payment reference (the agency copies it from its statement or
            from the borrower's receipt).
        case_id: The case, when the claim gives it.
        date: The payment's date, when the claim gives it.
        amount: The amount recovered (negative for a reversal).
        rate: The commission rate the agency applies, when given.
        commission: The commission it claims for the line, when given.
        agency_id: The agency, when the claim names it on every line.
    """

    reference: Id
    case_id: Id | None = None
    date: dt.date | None = None
    amount: SignedAmount
    rate: Rate | None = None
    commission: SignedAmount | None = None
    agency_id: Id | None = None


@dataclass(frozen=True)
class ClaimTotal:
    """A claim table's total row (合计): not a payment, but what the claim says its lines add to.

    Attributes:
        line: Its line (CSV) or row (Excel).
        amount: The total of the amounts it states.
        commission: The total of the commissions, when it states one.
    """

    line: int
    amount: Decimal
    commission: Decimal | None = None


#: What a total row's reference (or first) cell says, lower-cased.
TOTAL_WORDS = frozenset({"合计", "总计", "合計", "total", "totals", "sum", "grand total"})

#: The columns of a claim table, and how each is read.
CLAIM_COLUMNS: dict[str, Kind] = {
    "reference": "text",
    "case_id": "text",
    "date": "date",
    "amount": "amount",
    "rate": "rate",
    "commission": "amount",
    "agency_id": "text",
}
assert tuple(CLAIM_COLUMNS) == CLAIM_FIELDS  # what an agencies file may map


def read_claim(lines: Iterable[str | bytes]) -> Numbered[ClaimLine | CaseError]:
    """Yield a ``ClaimLine`` or a ``CaseError`` (with its line) per non-blank JSON line.

    The iterator's ``line`` is the line of the item it gave last.
    """
    check_batch(lines, "read_claim")
    return Numbered(numbered(lines, _claim_line))


def _claim_line(data: str | bytes | Mapping[str, Any], line: int | None) -> ClaimLine | CaseError:
    try:
        raw = json_object(data, "a claim line", line=line)
    except CaseError as error:
        return error
    try:
        return ClaimLine.model_validate(raw)
    except ValidationError as exc:
        return CaseError(_case_of(raw), problems_of(exc, ClaimLine), line=line)


def _case_of(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("case_id")
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


def read_claim_table(
    source: BinaryIO,
    *,
    columns: Mapping[str, str] | None = None,
    kind: Literal["csv", "xlsx"] = "csv",
    sheet: str | None = None,
    encoding: str = "utf-8",
    name: str = "the claim",
) -> Numbered[ClaimLine | CaseError | ClaimTotal]:
    """Yield a ``ClaimLine`` or a ``CaseError`` per row of a CSV or Excel claim.

    A total row — its reference ``合计``, ``总计`` or ``total``, or blank on the table's last
    row, with an amount — is a :class:`ClaimTotal`: the reconciliation checks it against the
    lines instead of rejecting it as a payment without a reference.

    The iterator's ``line`` is the file's line (CSV) or row (Excel) of the item given last.

    Args:
        source: The file, opened in binary mode.
        columns: ``{field: header}`` for the fields of :data:`CLAIM_COLUMNS` whose column is
            named otherwise (an agency's own headers: ``amount=还款金额``).
        kind: ``csv`` or ``xlsx``.
        sheet: The workbook's sheet (default: the first).
        encoding: The CSV file's encoding.
        name: The file, as messages name it.

    Raises:
        ConfigError: If the header lacks ``reference`` or ``amount``.
    """
    rows = read_rows(
        source,
        fields=CLAIM_COLUMNS,
        required=("reference", "amount"),
        columns=columns,
        kind=kind,
        sheet=sheet,
        encoding=encoding,
        name=name,
    )
    return Numbered(_with_total(rows))


def _with_total(rows: Iterable[Any]) -> Iterator[tuple[int, ClaimLine | CaseError | ClaimTotal]]:
    """Each row's line or error, and a total row as a :class:`ClaimTotal`.

    A total row's reference is a total word, or blank on the table's last row.
    """
    held = None
    for row in rows:
        if held is not None:
            yield _claim_row(held, last=False)
        held = row
    if held is not None:
        yield _claim_row(held, last=True)


def _claim_row(row: Any, *, last: bool) -> tuple[int, ClaimLine | CaseError | ClaimTotal]:
    values = row.values
    reference = values.get("reference")
    named = isinstance(reference, str) and reference.strip().lower() in TOTAL_WORDS
    blank = reference in (None, "") and not values.get("case_id") and not values.get("date")
    if named or (last and blank):
        total = _total(values, row.line)
        if total is not None:
            return row.line, total
    if row.problems:
        return row.line, CaseError(_case_of(values), row.problems, line=row.line)
    return row.line, _claim_line(values, row.line)


def _total(values: Mapping[str, Any], line: int) -> ClaimTotal | None:
    """The total row's figures, when its amount (and commission) read as money."""
    try:
        amount = Decimal(str(values.get("amount")).replace(",", ""))
        given = values.get("commission")
        commission = None if given in (None, "") else Decimal(str(given).replace(",", ""))
    except ArithmeticError:
        return None
    if not amount.is_finite() or (commission is not None and not commission.is_finite()):
        return None
    return ClaimTotal(line, amount, commission)


# --- the reconciliation ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReconciledLine:
    """One line of either side, in its category.

    Attributes:
        category: One of :data:`RECONCILIATION_CATEGORIES`.
        reference: The payment reference.
        lender: The lender's statement line (``None`` for a line only the agency has).
        claim: The agency's line (``None`` for a line it left out).
        claim_line: The claim's line (or row) number.
        differences: For ``different``: each field that differs, with the lender's and the
            agency's values.
        lender_view: For ``claimed_only``: what the lender's settlement made of the payment.
        error: For ``rejected``: the error record.
    """

    category: str
    reference: str | None
    lender: SettledLine | None = None
    claim: ClaimLine | None = None
    claim_line: int | None = None
    differences: tuple[tuple[str, str | None, str | None], ...] = ()
    lender_view: str | None = None
    error: CaseError | None = None

    def to_dict(self) -> dict[str, Any]:
        """The line as a JSON-ready record."""
        lender = self.lender
        claim = self.claim
        record: dict[str, Any] = {
            "category": self.category,
            "reference": self.reference,
            "claim_line": self.claim_line,
            "lender": None
            if lender is None
            else {
                "case_id": lender.case_id,
                "date": lender.day.isoformat() if lender.day else None,
                "amount": _text(lender.amount),
                "rate": _text(lender.rate),
                "commission": _text(lender.commission),
                "period": lender.period,
                "ledger_line": lender.line,
            },
            "agency": None
            if claim is None
            else {
                "case_id": claim.case_id,
                "date": claim.date.isoformat() if claim.date else None,
                "amount": _money(claim.amount),
                "rate": _text(claim.rate),
                "commission": _money(claim.commission),
            },
            "differences": [
                {"field": f, "lender": lender_value, "agency": agency_value}
                for f, lender_value, agency_value in self.differences
            ],
            "lender_view": self.lender_view,
        }
        if self.error is not None:
            record["errors"] = self.error.to_dict()["errors"]
        return record


@dataclass
class Reconciliation:
    """Every line of the lender's statement and of the agency's claim, each in one category.

    Attributes:
        agency_id: The agency.
        lines: Every line of both sides, lender's statement order first, then the claim's.
        lender_total: The statement's line count, amount and commission.
        agency_total: The claim's readable lines: count, amount and commission (``None`` when
            the claim gives neither commissions nor rates to compute them from).
        settlement_digest: The digest of the settlement's inputs.
        currency: The currency.
        settlement: What the settlement was made of (its policy, period…: ``Settlement.header``).
        claim_total: The claim's own total row, when it has one (checked: :attr:`total_agrees`).
    """

    agency_id: str
    lines: list[ReconciledLine]
    lender_total: tuple[int, Decimal, Decimal]
    agency_total: tuple[int, Decimal, Decimal | None]
    settlement_digest: str
    currency: str
    counts: dict[str, int] = field(default_factory=dict)
    settlement: dict[str, Any] = field(default_factory=dict)
    claim_total: ClaimTotal | None = None

    def __post_init__(self) -> None:
        self.counts = dict.fromkeys(RECONCILIATION_CATEGORIES, 0)
        for line in self.lines:
            self.counts[line.category] += 1

    @property
    def total_agrees(self) -> bool | None:
        """Whether the claim's total row equals the sum of its lines (``None``: it has none)."""
        total, (_, amount, commission) = self.claim_total, self.agency_total
        if total is None:
            return None
        return total.amount == amount and total.commission in (None, commission)

    @property
    def agrees(self) -> bool:
        """Whether every line matched, the totals are equal, and the claim's own total adds up."""
        lender, agency = self.lender_total, self.agency_total
        return (
            self.counts["matched"] == len(self.lines)
            and lender[:2] == agency[:2]
            and agency[2] in (None, lender[2])
            and self.total_agrees is not False
        )

    def of(self, category: str) -> list[ReconciledLine]:
        """The lines of one category."""
        if category not in RECONCILIATION_CATEGORIES:
            raise ConfigError(f"no category {category!r}: {', '.join(RECONCILIATION_CATEGORIES)}")
        return [line for line in self.lines if line.category == category]

    def to_dict(self) -> dict[str, Any]:
        """The reconciliation as JSON-ready data."""
        lender, agency = self.lender_total, self.agency_total
        return {
            "agency_id": self.agency_id,
            "settlement_digest": self.settlement_digest,
            "policy": self.settlement.get("policy"),
            "start": self.settlement.get("start"),
            "end": self.settlement.get("end"),
            "currency": self.currency,
            "agrees": self.agrees,
            "counts": self.counts,
            "lender_total": {
                "lines": lender[0],
                "amount": str(lender[1]),
                "commission": str(lender[2]),
            },
            "agency_total": {
                "lines": agency[0],
                "amount": _money(agency[1]),
                "commission": _money(agency[2]),
            },
            # What the agency claims beyond the statement (negative: less than it).
            "net_difference": {
                "amount": _money(agency[1] - lender[1]),
                "commission": None if agency[2] is None else _money(agency[2] - lender[2]),
            },
            "claim_total": None
            if self.claim_total is None
            else {
                "line": self.claim_total.line,
                "amount": _money(self.claim_total.amount),
                "commission": _money(self.claim_total.commission),
                "agrees": self.total_agrees,
            },
            "lines": [line.to_dict() for line in self.lines],
        }

    def write_json(self, out: TextIO) -> None:
        """Write :meth:`to_dict` as indented JSON."""
        json.dump(self.to_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")

    def write_csv(self, out: TextIO) -> None:
        """One row per line of either side: its category, both sides' figures, differences.

        A last row, ``total``, holds each side's totals and their net difference.
        """
        writer = csv_writer(out)
        sides = ("case_id", "date", "amount", "rate", "commission")
        writer.writerow(
            [
                "category",
                "reference",
                "claim_line",
                *(f"lender_{s}" for s in sides),
                *(f"agency_{s}" for s in sides),
                "differences",
                "lender_view",
            ]
        )
        for line in self.lines:
            record = line.to_dict()
            lender = record["lender"] or {}
            agency = record["agency"] or {}
            differences = "; ".join(f"{f}: {a} vs {b}" for f, a, b in line.differences)
            if line.error is not None:
                differences = str(line.error.problems[0])
            writer.writerow(
                [
                    line.category,
                    line.reference or "",
                    line.claim_line or "",
                    *(lender.get(s) or "" for s in sides),
                    *(agency.get(s) or "" for s in sides),
                    differences,
                    line.lender_view or "",
                ]
            )
        # The totals and their difference (the agency's side less the lender's), as a last row.
        data = self.to_dict()
        lender, agency, net = data["lender_total"], data["agency_total"], data["net_difference"]
        said = f"net difference (agency - lender): amount {net['amount']}"
        if net["commission"] is not None:
            said += f", commission {net['commission']}"
        writer.writerow(
            [
                "total",
                "",
                "",
                *("", "", lender["amount"], "", lender["commission"]),
                *("", "", agency["amount"], "", agency["commission"] or ""),
                said,
                "",
            ]
        )


def reconcile(
    settlement: Settlement,
    claim: Iterable[ClaimLine | CaseError | ClaimTotal | Mapping[str, Any] | str | bytes],
    *,
    agency_id: str,
) -> Reconciliation:
    """Match an agency's claim with its statement lines in ``settlement``.

    Args:
        settlement: The lender's settlement of the period(s) claimed (see :func:`settle`).
        claim: The claim's lines (``ClaimLine``, dicts, JSON texts, or the results of
            :func:`read_claim` and :func:`read_claim_table`, errors included).
        agency_id: The agency whose statement lines are compared.

    A claim line that cannot be read, or that names another agency, is ``rejected``.
    """
    if not isinstance(settlement, Settlement):
        raise ArgumentError(f"settlement must come from settle(), not {type(settlement).__name__}")
    check_batch(claim, "reconcile")
    statement = [line for s in settlement.statements(agency_id) for line in s.lines()]
    ours = {line.reference: line for line in statement}
    seen: set[str] = set()
    paired: set[str] = set()
    claimed: list[ReconciledLine] = []
    count, amount, commission = 0, Decimal(0), Decimal(0)
    commission_known = True
    total: ClaimTotal | None = None
    source = iter(claim)
    for number, item in enumerate(source, start=1):
        if isinstance(item, ClaimTotal):
            total = total or item  # (a table has one: its last row)
            continue
        line_no = getattr(source, "line", None) or getattr(item, "line", None) or number
        parsed = item if isinstance(item, ClaimLine | CaseError) else _claim_line(item, line_no)
        if isinstance(parsed, CaseError):
            parsed.line = parsed.line if parsed.line is not None else line_no
            claimed.append(ReconciledLine("rejected", None, claim_line=parsed.line, error=parsed))
            continue
        if parsed.agency_id is not None and parsed.agency_id != agency_id:
            message = f"the line is of agency {parsed.agency_id}, not {agency_id}"
            wrong = CaseError(
                parsed.case_id, [Problem("agency_id", "agency_mismatch", message)], line=line_no
            )
            claimed.append(
                ReconciledLine(
                    "rejected", parsed.reference, claim=parsed, claim_line=line_no, error=wrong
                )
            )
            continue
        count += 1
        amount += parsed.amount
        own = _claimed_commission(parsed, settlement.currency)
        commission_known = commission_known and own is not None
        commission += own or Decimal(0)
        if parsed.reference in seen:
            claimed.append(
                ReconciledLine("duplicate", parsed.reference, claim=parsed, claim_line=line_no)
            )
            continue
        seen.add(parsed.reference)
        lender = ours.get(parsed.reference)
        if lender is None:
            claimed.append(
                ReconciledLine(
                    "claimed_only",
                    parsed.reference,
                    claim=parsed,
                    claim_line=line_no,
                    lender_view=_view(settlement, parsed.reference, agency_id),
                )
            )
            continue
        paired.add(parsed.reference)
        differences = _differences(lender, parsed, own)
        category = "different" if differences else "matched"
        claimed.append(
            ReconciledLine(category, parsed.reference, lender, parsed, line_no, differences)
        )
    missing = [
        ReconciledLine("missing", line.reference, lender=line)
        for line in statement
        if line.reference not in paired
    ]
    lender_total = (
        len(statement),
        sum((line.amount or Decimal(0) for line in statement), Decimal(0)),
        sum((line.commission or Decimal(0) for line in statement), Decimal(0)),
    )
    return Reconciliation(
        agency_id=agency_id,
        lines=[*missing, *claimed],
        lender_total=lender_total,
        agency_total=(count, amount, commission if commission_known else None),
        settlement_digest=settlement.digest,
        currency=settlement.currency,
        settlement=settlement.header(),
        claim_total=total,
    )


def _claimed_commission(line: ClaimLine, currency: str) -> Decimal | None:
    """The commission the agency claims: as given, else its amount × its rate, rounded."""
    if line.commission is not None:
        return line.commission
    if line.rate is None:
        return None
    exact = round_money(abs(line.amount) * line.rate, currency)
    return exact if line.amount >= 0 else -exact


def _differences(
    lender: SettledLine, claim: ClaimLine, commission: Decimal | None
) -> tuple[tuple[str, str | None, str | None], ...]:
    found: list[tuple[str, str | None, str | None]] = []
    if lender.amount != claim.amount:
        found.append(("amount", _text(lender.amount), _money(claim.amount)))
    if claim.rate is not None and lender.rate != claim.rate:
        found.append(("rate", _text(lender.rate), str(claim.rate)))
    if commission is not None and lender.commission != commission:
        found.append(("commission", _text(lender.commission), _money(commission)))
    if claim.case_id is not None and lender.case_id != claim.case_id:
        found.append(("case_id", lender.case_id, claim.case_id))
    if claim.date is not None and lender.day != claim.date:
        found.append(
            ("date", lender.day.isoformat() if lender.day else None, claim.date.isoformat())
        )
    return tuple(found)


def _view(settlement: Settlement, reference: str, agency_id: str) -> str:
    """What the lender's settlement made of a payment the agency claims."""
    line = settlement.line(reference)
    if line is None:
        return "not in the ledger"
    if line.category == "commission":
        if line.agency_id != agency_id:
            return f"commission of {line.agency_id} ({line.placement_id})"
        return f"commission of {agency_id} in another period ({line.period})"
    if line.category == "rejected" and line.error is not None:
        return f"rejected: {line.error.problems[0].code}"
    return line.category


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _money(value: Decimal | None) -> str | None:
    """An amount as the statement writes it: an Excel claim's 250 is 250.00."""
    if value is None:
        return None
    return str(value.quantize(_CENT) if value.as_tuple().exponent > -2 else value)  # type: ignore[operator]


_CENT = Decimal("0.01")
