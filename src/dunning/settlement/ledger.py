"""The lender's payment ledger: what customers paid, and the reversals of those payments.

Customers always pay the lender, never the agency (seed §2); the ledger is the lender's record
of those payments and the one source of what an agency is paid on. A line is a payment, or a
reversal when it names the payment it ``reverses`` (a returned transfer, a charge-back): the
amount is always positive, and the reversal's sign comes from ``reverses``. Each line has its
own ``reference``, unique in the ledger.

Ledgers are read as JSON Lines or as CSV/Excel (:mod:`dunning.tabular`), one result per
non-blank line, with the quality of cases: every bad line an error record with its line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any, BinaryIO, Literal, Self

from pydantic import Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ..batch import Numbered, numbered
from ..cases import check_batch, json_object, problems_of
from ..errors import ArgumentError, CaseError, Problem
from ..model import Currency, Id, PositiveAmount, Record, Text
from ..money import MINOR_UNITS, decimal_places
from ..tabular import Kind, Row, read_rows

__all__ = [
    "LEDGER_COLUMNS",
    "LedgerLine",
    "check_payments",
    "parse_ledger_line",
    "read_ledger",
    "read_ledger_table",
]

#: The largest amount a ledger line may have (in major units): the bound of every amount the
#: library computes with, so that sums stay exact in 64-bit minor units.
MAX_LEDGER_AMOUNT = Decimal(10) ** 12


class LedgerLine(Record):
    """One line of the payment ledger.

    Attributes:
        reference: The lender's unique reference of the line (bank transaction number).
        case_id: The case paid (or give ``loan_id``).
        loan_id: The loan paid: found in the placement events when ``case_id`` is absent.
        date: The day the lender received the money (or reversed it).
        amount: The amount received or reversed, always positive.
        currency: The currency, when the ledger states it (it must be the policy's).
        reverses: For a reversal: the reference of the payment it reverses.
        note: Free text.
    """

    reference: Id
    case_id: Id | None = None
    loan_id: Id | None = None
    date: dt.date
    amount: Annotated[PositiveAmount, Field(lt=MAX_LEDGER_AMOUNT)]
    currency: Currency | None = None
    reverses: Id | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _names_its_case(self) -> Self:
        if self.case_id is None and self.loan_id is None:
            raise PydanticCustomError("no_case", "a ledger line names its case_id or loan_id")
        if self.reverses is not None and self.reverses == self.reference:
            raise PydanticCustomError("self_reversal", "a line cannot reverse itself")
        return self

    @property
    def is_reversal(self) -> bool:
        """Whether the line reverses an earlier payment."""
        return self.reverses is not None


#: The columns of a ledger table, and how each is read.
LEDGER_COLUMNS: dict[str, Kind] = {
    "reference": "text",
    "case_id": "text",
    "loan_id": "text",
    "date": "date",
    "amount": "amount",
    "currency": "text",
    "reverses": "text",
    "note": "text",
}


def parse_ledger_line(
    data: str | bytes | Mapping[str, Any], *, line: int | None = None
) -> LedgerLine:
    """Validate one ledger line (JSON text or a mapping).

    Raises:
        CaseError: Naming the line's case (when readable), its line and every problem.
    """
    raw = json_object(data, "a ledger line", line=line)
    try:
        return LedgerLine.model_validate(raw)
    except ValidationError as exc:
        raise CaseError(_named(raw), problems_of(exc, LedgerLine), line=line) from None


def _named(raw: Mapping[str, Any]) -> str | None:
    """The case (or loan) an error about a line names, when readable."""
    for key in ("case_id", "loan_id"):
        value = raw.get(key)
        if isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable():
            return value
    return None


def read_ledger(lines: Iterable[str | bytes]) -> Numbered[LedgerLine | CaseError]:
    """Yield a ``LedgerLine`` or a ``CaseError`` (with its line) per non-blank JSON line.

    The iterator's ``line`` is the line of the item it gave last.
    """
    check_batch(lines, "read_ledger")
    return Numbered(numbered(lines, lambda text, n: parse_ledger_line(text, line=n)))


def read_ledger_table(
    source: BinaryIO,
    *,
    columns: Mapping[str, str] | None = None,
    kind: Literal["csv", "xlsx"] = "csv",
    sheet: str | None = None,
    encoding: str = "utf-8",
    name: str = "the ledger",
) -> Numbered[LedgerLine | CaseError]:
    """Yield a ``LedgerLine`` or a ``CaseError`` per row of a CSV or Excel ledger.

    The iterator's ``line`` is the file's line (CSV) or row (Excel) of the item given last.

    Args:
        source: The file, opened in binary mode.
        columns: ``{field: header}`` for columns not named like the fields of
            :data:`LEDGER_COLUMNS`.
        kind: ``csv`` or ``xlsx``.
        sheet: The workbook's sheet (default: the first).
        encoding: The CSV file's encoding.
        name: The file, as messages name it.

    Raises:
        ConfigError: If the header lacks ``reference``, ``date`` or ``amount``.
    """
    rows = read_rows(
        source,
        fields=LEDGER_COLUMNS,
        required=("reference", "date", "amount"),
        columns=columns,
        kind=kind,
        sheet=sheet,
        encoding=encoding,
        name=name,
    )
    return Numbered((row.line, _ledger_row(row)) for row in rows)


def _ledger_row(row: Row) -> LedgerLine | CaseError:
    if row.problems:
        return CaseError(_named(row.values), row.problems, line=row.line)
    try:
        return LedgerLine.model_validate(row.values)
    except ValidationError as exc:
        return CaseError(_named(row.values), problems_of(exc, LedgerLine), line=row.line)


def check_payments(
    payments: Iterable[LedgerLine | CaseError], *, currency: str
) -> list[tuple[int | None, LedgerLine | CaseError]]:
    """A payment file held to the rules ``settle`` holds a ledger to: each line with its line.

    Lines come back in file order, each a ``LedgerLine`` or a ``CaseError`` naming its line. A
    line is refused when it repeats an earlier line's reference (``duplicate_reference``: the
    same file read twice counts nothing twice), states another currency than ``currency``
    (``currency_mismatch``) or more decimals than it has (``too_many_decimals``), or is a
    reversal of no payment of the file that stands (``unknown_payment``), of another case's
    payment (``case_mismatch``), dated before it (``date_order``) or beyond what is left of it
    (``over_reversal``; the reversals of a payment taken in date order, then file order).
    """
    places = MINOR_UNITS.get(currency, 2)
    read: list[tuple[int | None, LedgerLine | CaseError]] = []
    seen: set[str] = set()
    for item in payments:
        line = getattr(payments, "line", None)
        if not isinstance(item, LedgerLine | CaseError):
            raise ArgumentError(
                "payments are LedgerLine or CaseError items (read_ledger, read_ledger_table)"
            )
        if isinstance(item, LedgerLine):
            problems = []
            if item.reference in seen:
                problems.append(Problem("reference", "duplicate_reference", _DUPLICATE))
            seen.add(item.reference)
            if item.currency is not None and item.currency != currency:
                message = f"the line is in {item.currency}; the payments are in {currency}"
                problems.append(Problem("currency", "currency_mismatch", message))
            if decimal_places(item.amount) > places:
                message = f"{item.amount} has more decimal places than {currency}'s {places}"
                problems.append(Problem("amount", "too_many_decimals", message))
            if problems:
                item = CaseError(item.case_id or item.loan_id, problems, line=line)
        read.append((line, item))
    return _reversals_checked(read)


_DUPLICATE = "an earlier line of the file has this reference"


def _reversals_checked(
    read: list[tuple[int | None, LedgerLine | CaseError]],
) -> list[tuple[int | None, LedgerLine | CaseError]]:
    """``read`` with each reversal that does not fit its payment refused."""
    paid = {
        item.reference: item
        for _, item in read
        if isinstance(item, LedgerLine) and item.reverses is None
    }
    left = {reference: item.amount for reference, item in paid.items()}
    reversals = sorted(
        (
            (item.date, i)
            for i, (_, item) in enumerate(read)
            if isinstance(item, LedgerLine) and item.reverses is not None
        ),
    )
    out = list(read)
    for _, i in reversals:
        line, item = read[i]
        assert isinstance(item, LedgerLine)
        assert item.reverses is not None
        payment = paid.get(item.reverses)
        problem = None
        if payment is None:
            message = f"no payment {item.reverses} stands in the file"
            problem = Problem("reverses", "unknown_payment", message)
        elif item.case_id and payment.case_id and item.case_id != payment.case_id:
            message = f"the payment {item.reverses} is of case {payment.case_id}"
            problem = Problem("case_id", "case_mismatch", message)
        elif item.date < payment.date:
            message = f"the reversal is dated before the payment {item.reverses}"
            problem = Problem("date", "date_order", message)
        elif item.amount > left[item.reverses]:
            message = f"the reversals of {item.reverses} would exceed its amount"
            problem = Problem("amount", "over_reversal", message)
        if problem is None:
            left[item.reverses] -= item.amount
        else:
            out[i] = (line, CaseError(item.case_id or item.loan_id, [problem], line=line))
    return out
