"""Settlement: the commission each agency earned, from the ledger and the placement events.

Customers pay the lender; an agency earns its placement's rate on what was paid while it held
the case (seed §2). :func:`settle` reads the payment ledger and the placement events and puts
every ledger line in exactly one category:

``commission``
    paid while an agency held the case — from the day it was placed to the day it came back —
    or within the policy's ``grace_days`` after that day, when no other agency held it then;
``in_house``
    the events never placed the case;
``before_placement`` / ``after_recall``
    paid before the case's first placement, or after a placement (and its grace) ended;
``outside_period``
    dated outside the settled range (still read: a reversal in the range needs its payment);
``rejected``
    a line that cannot be settled, with its reason (unreadable, a duplicate reference, a
    reversal of no payment, more reversed than paid…).

A reversal takes the category, agency and rate of the payment it reverses, with a negative
amount, in the period of its own date. Commission is rounded per line to the minor unit,
half-up; a statement's total is the sum of its lines.

The work is done in a private, temporary SQLite file (deleted when the settlement is closed):
memory stays flat however long the ledger, and the statements come out sorted, so that the
same inputs give the same bytes in any input order.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TextIO

from ..agencies import Agencies
from ..cases import check_batch
from ..errors import ArgumentError, CaseError, ConfigError, Problem
from ..events import Event, PlacementEvent, parse_event
from ..model import Agency
from ..money import MINOR_UNITS, decimal_places, round_money
from ..placement.history import History, Window
from ..terms import Terms, terms_of

if TYPE_CHECKING:
    from ..policy import Policy
from .ledger import LedgerLine, parse_ledger_line

__all__ = [
    "CATEGORIES",
    "Accounting",
    "Period",
    "SettledLine",
    "Settlement",
    "Statement",
    "Tally",
    "settle",
]

#: Every category a ledger line can be in, in the order reports list them.
CATEGORIES = (
    "commission",
    "in_house",
    "before_placement",
    "after_recall",
    "outside_period",
    "rejected",
)
CATEGORY_TITLES = {
    "commission": "commission lines",
    "in_house": "in-house (never placed)",
    "before_placement": "before placement",
    "after_recall": "after recall (and grace)",
    "outside_period": "outside the period",
    "rejected": "rejected",
}
PeriodKind = Literal["month", "week", "range"]

# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tally:
    """A count of ledger lines and their amount (reversals negative), and any commission."""

    count: int = 0
    amount: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        """The tally as JSON-ready values (amounts as strings)."""
        return {"count": self.count, "amount": str(self.amount), "commission": str(self.commission)}


@dataclass(frozen=True, slots=True)
class Period:
    """A statement's period: its label and its first and last day (within the settled range)."""

    label: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class SettledLine:
    """One ledger line, settled.

    Attributes:
        line: The ledger's line (or row) it came from.
        category: One of :data:`CATEGORIES`.
        reason: Why, in a word: ``held``/``grace`` for commission, the problem's code for a
            rejected line, for a line outside the period the category it would have inside it
            (its agency and placement kept when that is ``commission``), else the category.
        reference: The line's reference.
        case_id: The case (found through the events when the ledger named the loan).
        loan_id: The loan, when the ledger named it.
        day: The line's date.
        amount: The amount, negative for a reversal (``None`` when it could not be read).
        reverses: The payment a reversal reverses.
        agency_id: The agency credited (commission lines, and lines in its grace period).
        placement_id: The placement that earned the commission.
        rate: The placement's rate.
        commission: ``amount × rate`` rounded half-up to the minor unit (negative for a
            reversal); ``None`` outside the commission category. Under a ``placed_amount``
            contract, ``commissionable × rate``.
        period: The statement period's label (lines in the settled range).
        error: For a rejected line: the error record, with every problem.
        commissionable: Under a ``placed_amount`` contract, the part of ``amount`` commission
            is paid on (``None``: all of it).
    """

    line: int | None
    category: str
    reason: str
    reference: str | None = None
    case_id: str | None = None
    loan_id: str | None = None
    day: date | None = None
    amount: Decimal | None = None
    reverses: str | None = None
    agency_id: str | None = None
    placement_id: str | None = None
    rate: Decimal | None = None
    commission: Decimal | None = None
    period: str | None = None
    error: CaseError | None = None
    commissionable: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        """The line as a JSON-ready record."""
        record: dict[str, Any] = {
            "line": self.line,
            "category": self.category,
            "reason": self.reason,
            "reference": self.reference,
            "case_id": self.case_id,
            "loan_id": self.loan_id,
            "date": self.day.isoformat() if self.day else None,
            "amount": _text(self.amount),
            "reverses": self.reverses,
            "agency_id": self.agency_id,
            "placement_id": self.placement_id,
            "rate": _text(self.rate),
            "commission": _text(self.commission),
            "period": self.period,
        }
        if self.commissionable is not None:
            record["commissionable"] = _text(self.commissionable)
        if self.error is not None:
            record["errors"] = self.error.to_dict()["errors"]
        return record


@dataclass(frozen=True)
class Statement:
    """What one agency earned in one period: the totals, and its lines on demand.

    Attributes:
        agency_id: The agency.
        agency_name: Its name in the agencies file (``None`` if the file does not list it).
        period: The period.
        totals: The lines' count, amount and commission (the sums of the lines).
    """

    agency_id: str
    agency_name: str | None
    period: Period
    totals: Tally
    _settlement: Settlement = field(repr=False, compare=False)

    def lines(self) -> Iterator[SettledLine]:
        """The statement's lines, by date, then reference."""
        return self._settlement._lines(
            "category = 'commission' AND agency_id = ? AND period = ? ORDER BY day, reference, seq",
            (self.agency_id, self.period.label),
        )

    def to_dict(self) -> dict[str, Any]:
        """The statement with its lines as JSON-ready values."""
        return {
            "agency_id": self.agency_id,
            "agency_name": self.agency_name,
            "period": self.period.label,
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "totals": self.totals.to_dict(),
            "lines": [_statement_line(line) for line in self.lines()],
        }


@dataclass(frozen=True)
class Accounting:
    """Where every ledger line went: the ledger's count and amount, and each category's.

    Attributes:
        ledger: Every non-blank line of the ledger, with the amounts that could be read
            (reversals negative).
        categories: Each category's lines (every category, possibly empty).
        unreadable: Rejected lines whose amount could not be read (counted, with no amount).
    """

    ledger: Tally
    categories: dict[str, Tally]
    unreadable: int = 0

    @property
    def balanced(self) -> bool:
        """Whether the categories' counts and amounts add up to the ledger's."""
        count = sum(t.count for t in self.categories.values())
        amount = sum((t.amount for t in self.categories.values()), Decimal(0))
        return count == self.ledger.count and amount == self.ledger.amount

    def to_dict(self) -> dict[str, Any]:
        """The accounting as JSON-ready values."""
        return {
            "ledger": self.ledger.to_dict(),
            "categories": {c: self.categories[c].to_dict() for c in CATEGORIES},
            "unreadable": self.unreadable,
            "balanced": self.balanced,
        }


# --- the settlement -------------------------------------------------------------------------


class Settlement:
    """The result of :func:`settle`: statements, every line's category, and the accounting.

    Backed by a private temporary SQLite file; use it as a context manager (or call
    :meth:`close`) to delete that file at once. Its iterators read from the file, so that a
    settlement of millions of lines does not hold them in memory.

    Attributes:
        accounting: Where every ledger line went.
        digest: ``sha256:…`` of the inputs: policy, agencies, range, ledger and events.
        start: The first day settled (``None``: from the first line).
        end: The last day settled (``None``: to the last line).
        period: ``month``, ``week`` or ``range``.
        policy: The policy's reference (name, version, digest).
        agencies_digest: The agencies file's digest.
        grace_days: The policy's grace period.
        currency: The currency of every amount.
    """

    def __init__(self, db: sqlite3.Connection, **facts: Any) -> None:
        self._db = db
        self._closed = False
        self.accounting: Accounting = facts["accounting"]
        self.digest: str = facts["digest"]
        self.start: date | None = facts["start"]
        self.end: date | None = facts["end"]
        self.period: PeriodKind = facts["period"]
        self.policy: dict[str, str] = facts["policy"]
        self.agencies_digest: str = facts["agencies_digest"]
        self.grace_days: int = facts["grace_days"]
        self.currency: str = facts["currency"]
        self._statements: list[tuple[str, str | None, Period, Tally]] = facts["statements"]
        self.event_error_count: int = facts["event_errors"]

    def __enter__(self) -> Settlement:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the working file; the settlement's iterators cannot be used afterwards."""
        self._db.close()
        self._closed = True

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        if self._closed:
            raise ArgumentError(
                "the settlement is closed: read its lines inside its with block (or before close())"
            )
        return self._db.execute(sql, args)

    def statements(self, agency_id: str | None = None) -> list[Statement]:
        """Each agency's statement for each period with commission lines, by agency, period."""
        return [
            Statement(agency, name, period, totals, self)
            for agency, name, period, totals in self._statements
            if agency_id is None or agency == agency_id
        ]

    def lines(self, category: str | None = None) -> Iterator[SettledLine]:
        """Every ledger line (or a category's), in ledger order."""
        if category is not None and category not in CATEGORIES:
            raise ConfigError(f"no category {category!r}; the categories: {', '.join(CATEGORIES)}")
        if category is None:
            return self._lines("1 ORDER BY seq", ())
        return self._lines("category = ? ORDER BY seq", (category,))

    def line(self, reference: str) -> SettledLine | None:
        """The settled line of ``reference`` (the first, if the ledger repeats it)."""
        return next(self._lines("reference = ? ORDER BY seq LIMIT 1", (reference,)), None)

    def case_lines(self, case_id: str) -> Iterator[SettledLine]:
        """The ledger lines of one case, by date."""
        return self._lines("case_id = ? ORDER BY day, seq", (case_id,))

    def agency_lines(self) -> Iterator[SettledLine]:
        """Every line an agency earned on, in the period or not (by seq): for cohort curves."""
        return self._lines(
            "placement_id IS NOT NULL AND (category = 'commission' OR reason = 'commission') "
            "ORDER BY seq",
            (),
        )

    def placements(self) -> Iterator[tuple[str, Window]]:
        """Every placement that was in force, with its case: by case, then start."""
        query = (
            "SELECT case_id, placement_id, agency_id, rate, placed, ended, total_due, reason "
            "FROM windows ORDER BY case_id, placed, placement_id"
        )
        for case_id, pid, agency, rate, placed, ended, due, why in self._query(query):
            yield (
                case_id,
                Window(
                    pid,
                    agency,
                    Decimal(rate),
                    date.fromordinal(placed),
                    date.fromordinal(ended) if ended is not None else None,
                    None,
                    Decimal(due) if due is not None else None,
                    reason=why,
                ),
            )

    def event_errors(self) -> Iterator[CaseError]:
        """An error record per event line that could not be read or applied."""
        for (text,) in self._query("SELECT record FROM event_errors ORDER BY seq"):
            yield _error_from(json.loads(text))

    def _lines(self, where: str, args: tuple[Any, ...]) -> Iterator[SettledLine]:
        cursor = self._query(f"SELECT {_LINE_COLUMNS} FROM lines WHERE {where}", args)
        for row in cursor:
            yield _settled(row, self.currency)

    # -- output

    def header(self) -> dict[str, Any]:
        """What the settlement was made of: enough to make it again."""
        return {
            "digest": self.digest,
            "policy": self.policy,
            "agencies_digest": self.agencies_digest,
            "grace_days": self.grace_days,
            "currency": self.currency,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "period": self.period,
            "rounding": "per line, half-up to the minor unit; totals are the sums of the lines",
        }

    def to_dict(self, *, agency_id: str | None = None) -> dict[str, Any]:
        """The statements (with their lines), the accounting and the rejected lines."""
        return {
            **self.header(),
            "statements": [s.to_dict() for s in self.statements(agency_id)],
            "accounting": self.accounting.to_dict(),
            "rejected": [line.to_dict() for line in self.lines("rejected")],
            "event_errors": [e.to_dict() for e in self.event_errors()],
        }

    def write_json(self, out: TextIO, *, agency_id: str | None = None) -> None:
        """Write :meth:`to_dict` as indented JSON (the same bytes for the same inputs)."""
        json.dump(self.to_dict(agency_id=agency_id), out, ensure_ascii=False, indent=2)
        out.write("\n")

    def write_jsonl(self, out: TextIO) -> None:
        """Write every ledger line with its category, in ledger order, then the accounting."""
        for line in self.lines():
            out.write(json.dumps({"kind": "line", **line.to_dict()}, ensure_ascii=False) + "\n")
        for error in self.event_errors():
            record = {"kind": "event_error", "input": "events", **error.to_dict()}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        summary = {"kind": "accounting", **self.header(), **self.accounting.to_dict()}
        out.write(json.dumps(summary, ensure_ascii=False) + "\n")

    def write_csv(self, out: TextIO, *, agency_id: str | None = None) -> None:
        """Write the statement lines as CSV: one row per line, every agency and period."""
        from ..reports.cells import csv_writer

        writer = csv_writer(out)
        writer.writerow(STATEMENT_COLUMNS)
        for statement in self.statements(agency_id):
            for line in statement.lines():
                writer.writerow(_csv_row(statement, line))


STATEMENT_COLUMNS = (
    "agency_id",
    "period",
    "case_id",
    "reference",
    "date",
    "amount",
    "rate",
    "commission",
    "reverses",
    "placement_id",
    "commissionable",  # under a placed_amount contract: the part commission is paid on
)


def _statement_line(line: SettledLine) -> dict[str, Any]:
    return {
        "case_id": line.case_id,
        "reference": line.reference,
        "date": line.day.isoformat() if line.day else None,
        "amount": _text(line.amount),
        "rate": _text(line.rate),
        "commission": _text(line.commission),
        "reverses": line.reverses,
        "placement_id": line.placement_id,
        "reason": line.reason,
        **({} if line.commissionable is None else {"commissionable": _text(line.commissionable)}),
    }


def _csv_row(statement: Statement, line: SettledLine) -> list[str]:
    return [
        statement.agency_id,
        statement.period.label,
        line.case_id or "",
        line.reference or "",
        line.day.isoformat() if line.day else "",
        _text(line.amount) or "",
        _text(line.rate) or "",
        _text(line.commission) or "",
        line.reverses or "",
        line.placement_id or "",
        _text(line.commissionable) or "",
    ]


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --- settle ---------------------------------------------------------------------------------


def settle(
    ledger: Iterable[LedgerLine | CaseError | Mapping[str, Any] | str | bytes],
    *,
    events: Iterable[Event | CaseError | Mapping[str, Any] | str | bytes],
    agencies: Agencies,
    policy: Policy | Terms,
    start: date | None = None,
    end: date | None = None,
    period: PeriodKind = "month",
) -> Settlement:
    """Settle a ledger against the placement events: statements, categories, accounting.

    Args:
        ledger: The payment ledger (``LedgerLine``, dicts, JSON texts, or the results of
            :func:`~dunning.ledger.read_ledger`, errors included).
        events: The placement events (as for :meth:`Placer.place`).
        agencies: The agencies file (names, and the digest the output records).
        policy: The policy, or its terms (:func:`~dunning.terms.load_terms`, which compiles no
            rules): its currency and ``placement.grace_days``.
        start: The first day to settle (``None``: no lower bound).
        end: The last day to settle (``None``: no upper bound).
        period: Statements per calendar ``month``, ISO ``week`` (Monday to Sunday) or one
            for the whole ``range`` (which needs ``start`` and ``end``).

    Raises:
        ConfigError: For a bad range or period.
    """
    terms = terms_of(policy)
    if not isinstance(agencies, Agencies):
        raise ArgumentError(f"agencies must be dunning.Agencies, not {type(agencies).__name__}")
    check_batch(ledger, "settle")
    check_batch(events, "settle (events)")
    for name, day in (("start", start), ("end", end)):
        if day is not None and (not isinstance(day, date) or isinstance(day, datetime)):
            raise ArgumentError(f"{name} must be a datetime.date, not {type(day).__name__}")
    if start is not None and end is not None and end < start:
        raise ConfigError(f"the range ends ({end}) before it starts ({start})")
    if period not in ("month", "week", "range"):
        raise ConfigError(f"period must be month, week or range, not {period!r}")
    if period == "range" and (start is None or end is None):
        raise ConfigError("a range period needs a start and an end")
    work = _Work(terms, agencies, start, end, period)
    try:
        return work.run(ledger, events)
    except BaseException:
        work.db.close()
        raise


_SCHEMA = """
CREATE TABLE events (seq INTEGER PRIMARY KEY, case_id TEXT, at INTEGER, line INTEGER,
                     event TEXT);
CREATE TABLE event_errors (seq INTEGER PRIMARY KEY, record TEXT);
CREATE TABLE windows (case_id TEXT, placement_id TEXT, agency_id TEXT, rate TEXT,
                      placed INTEGER, ended INTEGER, total_due TEXT, reason TEXT,
                      base TEXT);
CREATE TABLE loan_links (loan_id TEXT, case_id TEXT, PRIMARY KEY (loan_id, case_id))
    WITHOUT ROWID;
CREATE TABLE ledger (seq INTEGER PRIMARY KEY, line INTEGER, reference TEXT, case_id TEXT,
                     loan_id TEXT, day INTEGER, amount INTEGER, sign INTEGER, reverses TEXT,
                     error TEXT, case_key TEXT, dup INTEGER DEFAULT 0);
CREATE TABLE base (seq INTEGER PRIMARY KEY, category TEXT, reason TEXT, agency_id TEXT,
                   placement_id TEXT, rate TEXT, case_key TEXT, error TEXT,
                   commissionable INTEGER);
CREATE TABLE lines (seq INTEGER PRIMARY KEY, line INTEGER, category TEXT, reason TEXT,
                    reference TEXT, case_id TEXT, loan_id TEXT, day INTEGER, amount INTEGER,
                    reverses TEXT, agency_id TEXT, placement_id TEXT, rate TEXT,
                    commission INTEGER, period TEXT, error TEXT, commissionable INTEGER);
"""
# executescript would commit the transaction: one statement at a time.
_RESOLVE = (
    """CREATE TABLE loan_case AS
        SELECT loan_id, MIN(case_id) AS case_id, COUNT(*) AS cases
        FROM loan_links GROUP BY loan_id""",
    "CREATE UNIQUE INDEX loan_case_by_loan ON loan_case (loan_id)",
    """UPDATE ledger SET case_key = COALESCE(case_id, (
        SELECT case_id FROM loan_case
        WHERE loan_case.loan_id = ledger.loan_id AND cases = 1))
    WHERE error IS NULL""",
    "CREATE INDEX ledger_by_reference ON ledger (reference, seq)",
    """UPDATE ledger SET dup = 1
    WHERE error IS NULL AND seq > (
        SELECT MIN(seq) FROM ledger AS first
        WHERE first.reference = ledger.reference AND first.error IS NULL)""",
)
_LINE_COLUMNS = (
    "line, category, reason, reference, case_id, loan_id, day, amount, reverses, agency_id, "
    "placement_id, rate, commission, period, error, commissionable"
)
_BATCH = 5000


class _Work:
    """One settlement's working state: the policy's terms and the SQLite file."""

    def __init__(
        self,
        terms: Terms,
        agencies: Agencies,
        start: date | None,
        end: date | None,
        period: PeriodKind,
    ) -> None:
        self.terms, self.agencies = terms, agencies
        self.start, self.end, self.period = start, end, period
        self.currency = terms.currency
        self.places = MINOR_UNITS[self.currency]
        self.grace = terms.grace_days
        # "" is SQLite's private temporary file: deleted on close, paged to disk beyond the
        # cache, so that memory stays flat however long the ledger.
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384;"
            "PRAGMA temp_store=FILE;" + _SCHEMA
        )
        self.hash = hashlib.sha256()
        self.hash.update(
            json.dumps(
                {
                    "settlement": 1,
                    "policy": terms.digest,
                    "params": {k: str(v) for k, v in sorted(terms.params.items())},
                    "agencies": agencies.digest,
                    "start": start.isoformat() if start else None,
                    "end": end.isoformat() if end else None,
                    "period": period,
                },
                sort_keys=True,
            ).encode()
            + b"\n"
        )

    def run(
        self,
        ledger: Iterable[Any],
        events: Iterable[Any],
    ) -> Settlement:
        db = self.db
        db.execute("BEGIN")
        self.hash.update(b"ledger\n")
        ledger_tally, unreadable = self._read_ledger(ledger)
        self.hash.update(b"events\n")
        event_errors = self._read_events(events)
        db.execute("CREATE INDEX events_by_case ON events (case_id, at, seq)")
        event_errors += self._replay()
        db.execute("CREATE INDEX windows_by_case ON windows (case_id, placed)")
        self._resolve()
        self._classify_payments()
        self._classify_reversals()
        self._cap_bases()
        categories, statements = self._finish()
        db.execute("CREATE INDEX lines_by_statement ON lines (category, agency_id, period, day)")
        db.execute("CREATE INDEX lines_by_reference ON lines (reference)")
        db.execute("CREATE INDEX lines_by_case ON lines (case_id, day)")
        db.execute("COMMIT")
        names = {a.agency_id: a.name for a in self.agencies}
        return Settlement(
            db,
            accounting=Accounting(ledger_tally, categories, unreadable),
            digest="sha256:" + self.hash.hexdigest(),
            start=self.start,
            end=self.end,
            period=self.period,
            policy=self.terms.reference,
            agencies_digest=self.agencies.digest,
            grace_days=self.grace,
            currency=self.currency,
            statements=[
                (agency, names.get(agency), period, tally)
                for (agency, period), tally in sorted(
                    statements.items(), key=lambda item: (item[0][0], item[0][1].start)
                )
            ],
            event_errors=event_errors,
        )

    # -- reading

    def _read_ledger(self, ledger: Iterable[Any]) -> tuple[Tally, int]:
        """Store every ledger line; return the ledger's tally and the unreadable lines."""
        count, total, unreadable = 0, 0, 0
        batch: list[tuple[Any, ...]] = []
        insert = (
            "INSERT INTO ledger (seq, line, reference, case_id, loan_id, day, amount, sign,"
            " reverses, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        source = iter(ledger)
        for seq, item in enumerate(source):
            line = getattr(source, "line", None) or getattr(item, "line", None)
            row: tuple[Any, ...]
            if isinstance(item, str | bytes) and not item.strip():
                continue
            try:
                parsed = item if isinstance(item, LedgerLine | CaseError) else _parse(item)
            except CaseError as error:
                parsed = error
            if isinstance(parsed, CaseError):
                if parsed.line is None:
                    parsed.line = line if line is not None else seq + 1
                amount, sign = _readable_amount(item, self.places)
                self.hash.update(_canonical(item) + b"\n")
                row = (
                    seq,
                    parsed.line,
                    None,
                    parsed.case_id,
                    None,
                    None,
                    amount,
                    sign,
                    None,
                    json.dumps(parsed.to_dict(), ensure_ascii=False),
                )
                if amount is None:
                    unreadable += 1
                else:
                    total += amount * sign
                count += 1
            else:
                number = line if line is not None else seq + 1
                problems = self._line_problems(parsed)
                minor = _minor(parsed.amount, self.places)
                # The digest reads the line's values, not their spelling: 1000.0 from Excel
                # and "1,000.00" from a CSV are the same amount.
                same = [
                    parsed.reference,
                    parsed.case_id,
                    parsed.loan_id,
                    parsed.date.isoformat(),
                    str(minor) if minor is not None else str(parsed.amount),
                    parsed.currency,
                    parsed.reverses,
                    parsed.note,
                ]
                self.hash.update(json.dumps(same, ensure_ascii=False).encode() + b"\n")
                record = None
                if problems:
                    rejected = CaseError(parsed.case_id or parsed.loan_id, problems, line=number)
                    record = json.dumps(rejected.to_dict(), ensure_ascii=False)
                if minor is None:
                    unreadable += 1
                else:
                    total += -minor if parsed.reverses is not None else minor
                count += 1
                row = (
                    seq,
                    number,
                    parsed.reference,
                    parsed.case_id,
                    parsed.loan_id,
                    parsed.date.toordinal(),
                    minor,
                    -1 if parsed.reverses else 1,
                    parsed.reverses,
                    record,
                )
            batch.append(row)
            if len(batch) >= _BATCH:
                self.db.executemany(insert, batch)
                batch.clear()
        self.db.executemany(insert, batch)
        return Tally(count, _major(total, self.places), _major(0, self.places)), unreadable

    def _line_problems(self, parsed: LedgerLine) -> list[Problem]:
        problems = []
        if parsed.currency is not None and parsed.currency != self.currency:
            problems.append(
                Problem(
                    "currency",
                    "currency_mismatch",
                    f"the line is in {parsed.currency}; the policy settles in {self.currency}",
                )
            )
        if decimal_places(parsed.amount) > self.places:
            problems.append(
                Problem(
                    "amount",
                    "too_many_decimals",
                    f"{parsed.amount} has more decimal places than {self.currency}'s {self.places}",
                )
            )
        return problems

    def _read_events(self, events: Iterable[Any]) -> int:
        """Store every readable event; return the number of unreadable event lines."""
        errors = 0
        batch: list[tuple[Any, ...]] = []
        insert = "INSERT INTO events (seq, case_id, at, line, event) VALUES (?, ?, ?, ?, ?)"
        source = iter(events)
        for seq, item in enumerate(source):
            line = getattr(source, "line", None) or getattr(item, "line", None)
            if isinstance(item, str | bytes) and not item.strip():
                continue
            try:
                event = item if isinstance(item, Event | CaseError) else parse_event(item)
            except CaseError as error:
                event = error
            if not isinstance(event, PlacementEvent | CaseError):
                continue  # the agency's records do not change who held a case
            if isinstance(event, CaseError):
                if event.line is None:
                    event.line = line if line is not None else seq + 1
                self._event_error(seq, event)
                self.hash.update(_canonical(item) + b"\n")
                errors += 1
                continue
            text = event.model_dump_json()
            self.hash.update(text.encode() + b"\n")
            number = line if line is not None else seq + 1
            at = (event.at - _UTC_EPOCH) // timedelta(microseconds=1)
            batch.append((seq, event.case_id, at, number, text))
            if len(batch) >= _BATCH:
                self.db.executemany(insert, batch)
                batch.clear()
        self.db.executemany(insert, batch)
        return errors

    def _event_error(self, seq: int, error: CaseError) -> None:
        record = json.dumps(error.to_dict(), ensure_ascii=False)
        self.db.execute("INSERT INTO event_errors (seq, record) VALUES (?, ?)", (seq, record))

    def _replay(self) -> int:
        """Replay each case's events in time order into its placement windows."""
        errors = 0
        windows: list[tuple[Any, ...]] = []
        links: set[tuple[str, str]] = set()
        cursor = self.db.execute(
            "SELECT seq, case_id, line, event FROM events ORDER BY case_id, at, seq"
        )
        current: str | None = None
        history = History()

        def flush(case_id: str | None) -> None:
            if case_id is None:
                return
            for w in history.windows(case_id):
                held_by = self.agencies.get(w.agency_id)
                ended, reason = _window_end(w, held_by)
                base = (held_by and held_by.commission_base) or self.terms.commission_base
                windows.append(
                    (
                        case_id,
                        w.placement_id,
                        w.agency_id,
                        str(w.rate),
                        w.placed_on.toordinal(),
                        ended.toordinal() if ended else None,
                        None if w.total_due is None else str(w.total_due),
                        reason,
                        base,
                    )
                )

        for seq, case_id, line, text in cursor:
            if case_id != current:
                flush(current)
                current, history = case_id, History()
            event = PlacementEvent.model_validate_json(text)
            problem = history.apply(event)
            if problem is not None:
                wrong = CaseError(case_id, [Problem("type", "bad_transition", problem)], line=line)
                self._event_error(seq, wrong)
                errors += 1
            elif event.payload.loan_id is not None:
                links.add((event.payload.loan_id, case_id))
            if len(windows) >= _BATCH:
                self._store_windows(windows)
            if len(links) >= _BATCH:
                self._store_links(links)
        flush(current)
        self._store_windows(windows)
        self._store_links(links)
        return errors

    def _store_windows(self, windows: list[tuple[Any, ...]]) -> None:
        self.db.executemany("INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", windows)
        windows.clear()

    def _store_links(self, links: set[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO loan_links VALUES (?, ?)", sorted(links))
        links.clear()

    # -- classifying

    def _resolve(self) -> None:
        """Each line's case (through the events' loans), and the repeated references."""
        db = self.db
        for statement in _RESOLVE:
            db.execute(statement)

    def _classify_payments(self) -> None:
        """The category of every payment: a merge of the ledger and the windows by case."""
        db = self.db
        rows = db.execute(
            """
            SELECT l.seq, l.case_id, l.loan_id, l.case_key, l.day, l.line, l.dup, lc.case_id,
                   lc.cases
            FROM ledger AS l LEFT JOIN loan_case AS lc ON lc.loan_id = l.loan_id
            WHERE l.error IS NULL AND l.reverses IS NULL
            ORDER BY l.case_key, l.day
            """
        )
        windows = db.execute(
            "SELECT case_id, placement_id, agency_id, rate, placed, ended, reason FROM windows "
            "ORDER BY case_id, placed, placement_id"
        )
        pending = next(windows, None)
        case_windows: list[Window] = []
        case_of_windows: str | None = None
        out: list[tuple[Any, ...]] = []
        grace = self.terms.grace_after
        for seq, case_id, loan_id, case_key, day, line, dup, mapped, mapped_cases in rows:
            if dup:
                problem = Problem("reference", "duplicate_reference", _DUPLICATE)
                out.append(_rejected(seq, case_id or loan_id, line, problem))
            elif case_id is not None and mapped is not None and mapped != case_id:
                problem = Problem(
                    "loan_id",
                    "case_mismatch",
                    f"the events place loan {loan_id} under case {mapped}, not {case_id}",
                )
                out.append(_rejected(seq, case_id, line, problem))
            elif case_key is None and mapped_cases is not None and mapped_cases > 1:
                problem = Problem(
                    "loan_id",
                    "case_mismatch",
                    f"the events name loan {loan_id} under {mapped_cases} cases; name the case_id",
                )
                out.append(_rejected(seq, loan_id, line, problem))
            else:
                if case_key != case_of_windows or case_key is None:
                    case_windows, case_of_windows = [], case_key
                    while case_key is not None and pending is not None and pending[0] < case_key:
                        pending = next(windows, None)
                    while pending is not None and pending[0] == case_key:
                        _, pid, agency, rate, placed, ended, why = pending
                        case_windows.append(
                            Window(
                                pid,
                                agency,
                                Decimal(rate),
                                date.fromordinal(placed),
                                date.fromordinal(ended) if ended is not None else None,
                                reason=why,
                            )
                        )
                        pending = next(windows, None)
                category, reason, window = _place(date.fromordinal(day), case_windows, grace)
                out.append(
                    (
                        seq,
                        category,
                        reason,
                        window.agency_id if window else None,
                        window.placement_id if window else None,
                        str(window.rate) if window else None,
                        case_key,
                        None,
                    )
                )
            if len(out) >= _BATCH:
                self._store_base(out)
        self._store_base(out)

    def _store_base(self, rows: list[tuple[Any, ...]]) -> None:
        self.db.executemany(
            "INSERT INTO base (seq, category, reason, agency_id, placement_id, rate, case_key, "
            "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        rows.clear()

    def _classify_reversals(self) -> None:
        """A reversal takes its payment's category, agency and rate, negated."""
        rows = self.db.execute(
            """
            SELECT r.seq, r.line, r.case_id, r.loan_id, r.case_key, r.day, r.amount, r.reverses,
                   r.dup, p.seq, p.case_key, p.day, p.amount, b.category, b.reason, b.agency_id,
                   b.placement_id, b.rate,
                   (SELECT COUNT(*) FROM ledger AS any WHERE any.reference = r.reverses)
            FROM ledger AS r
            LEFT JOIN ledger AS p
                ON p.reference = r.reverses AND p.error IS NULL AND p.dup = 0
                AND p.reverses IS NULL
            LEFT JOIN base AS b ON b.seq = p.seq
            WHERE r.error IS NULL AND r.reverses IS NOT NULL
            ORDER BY r.reverses, r.day, r.seq
            """
        )
        out: list[tuple[Any, ...]] = []
        reversed_so_far: dict[str, int] = {}  # of the current payment only (rows are by payment)
        for row in rows:
            seq, line, case_id, loan_id = row[:4]
            amount, reverses, p_case = row[6], row[7], row[10]
            category, reason, agency, placement, rate = row[13:18]
            who = case_id or loan_id
            if reverses not in reversed_so_far:
                reversed_so_far = {reverses: 0}
            problem = _reversal_problem(row, reversed_so_far[reverses])
            if problem is not None:
                out.append(_rejected(seq, who, line, problem))
            else:
                reversed_so_far[reverses] += amount
                out.append((seq, category, reason, agency, placement, rate, p_case, None))
            if len(out) >= _BATCH:
                self._store_base(out)
        self._store_base(out)

    def _cap_bases(self) -> None:
        """The part of each line commission is paid on, where a contract caps it.

        Under ``placed_amount`` a placement earns on at most what the case owed when it was
        placed: its payments count in the order of their days until that is reached, the
        rest of a payment earning nothing; a reversal gives back the part of its payment that
        earned (up to the reversed amount) and makes that room again. A placement whose
        ``placed`` event does not say what was owed is not capped (nothing to cap it at).
        """
        rows = self.db.execute(
            """
            SELECT b.seq, b.placement_id, l.amount, l.sign, w.total_due, p.seq
            FROM base AS b
            JOIN ledger AS l ON l.seq = b.seq
            JOIN windows AS w ON w.placement_id = b.placement_id
            LEFT JOIN ledger AS p
                ON l.reverses IS NOT NULL AND p.reference = l.reverses AND p.error IS NULL
                AND p.dup = 0 AND p.reverses IS NULL
            WHERE b.category = 'commission' AND w.base = 'placed_amount'
                AND w.total_due IS NOT NULL
            ORDER BY b.placement_id, l.day, l.sign DESC, l.seq
            """
        )
        out: list[tuple[int, int]] = []
        placement, room = None, 0
        earned: dict[int, int] = {}  # each payment's part that earned, less what was reversed
        for seq, pid, amount, sign, total_due, payment in rows:
            if pid != placement:
                placement, earned = pid, {}
                room = _minor(Decimal(total_due), self.places) or 0
            if sign > 0:
                part = max(0, min(amount, room))
                earned[seq] = part
                room -= part
                out.append((part, seq))
            else:  # a reversal: of its payment's earning part, as much as it reverses
                back = min(amount, earned.get(payment, 0))
                earned[payment] = earned.get(payment, 0) - back
                room += back
                out.append((back, seq))
        self.db.executemany("UPDATE base SET commissionable = ? WHERE seq = ?", out)

    def _finish(self) -> tuple[dict[str, Tally], dict[tuple[str, Period], Tally]]:
        """The final category of every line, stored in ledger order, and the totals."""
        rows = self.db.execute(
            """
            SELECT l.seq, l.line, l.reference, l.case_id, l.loan_id,
                   COALESCE(b.case_key, l.case_key, l.case_id), l.day, l.amount * l.sign,
                   l.reverses, l.error, b.category, b.reason, b.agency_id, b.placement_id,
                   b.rate, b.error, b.commissionable
            FROM ledger AS l LEFT JOIN base AS b ON b.seq = l.seq ORDER BY l.seq
            """
        )
        counts: dict[str, list[int]] = {c: [0, 0, 0] for c in CATEGORIES}
        statements: dict[tuple[str, str], list[int]] = {}
        periods: dict[str, Period] = {}
        out: list[tuple[Any, ...]] = []
        places = self.places
        for (
            seq,
            line,
            reference,
            _,
            loan_id,
            case_key,
            day,
            signed,
            reverses,
            error,
            category,
            reason,
            agency,
            placement,
            rate,
            base_error,
            capped,
        ) in rows:
            commission = None
            period_label = None
            if error is not None or base_error is not None:
                category, reason = "rejected", json.loads(error or base_error)["error"]["code"]
                error = error or base_error
                agency = placement = rate = None
            else:
                when = date.fromordinal(day)
                if (self.start is not None and when < self.start) or (
                    self.end is not None and when > self.end
                ):
                    # What it would be inside the range is kept in ``reason`` (and its agency):
                    # a cost report reads payments before its period for its cohort curves.
                    category, reason = "outside_period", category
                    if reason != "commission":
                        agency = placement = rate = None
                else:
                    found = _period(when, self.period, self.start, self.end)
                    period_label = found.label
                    periods[found.label] = found
                    if category == "commission":
                        assert signed is not None
                        assert rate is not None
                        earning = abs(signed) if capped is None else capped
                        units = _minor(
                            round_money(_major(earning, places) * Decimal(rate), self.currency),
                            places,
                        )
                        assert units is not None
                        commission = units if signed >= 0 else -units
                        totals = statements.setdefault((agency, found.label), [0, 0, 0])
                        totals[0] += 1
                        totals[1] += signed
                        totals[2] += commission
                if category not in ("commission", "outside_period"):
                    agency = placement = rate = capped = None
            tally = counts[category]
            tally[0] += 1
            tally[1] += signed or 0
            tally[2] += commission or 0
            out.append(
                (
                    seq,
                    line,
                    category,
                    reason,
                    reference,
                    case_key,
                    loan_id,
                    day,
                    signed,
                    reverses,
                    agency,
                    placement,
                    rate,
                    commission,
                    period_label,
                    error,
                    None if capped is None else (capped if (signed or 0) >= 0 else -capped),
                )
            )
            if len(out) >= _BATCH:
                self._store_lines(out)
        self._store_lines(out)
        categories = {
            c: Tally(n, _major(amount, places), _major(commission, places))
            for c, (n, amount, commission) in counts.items()
        }
        return categories, {
            (agency, periods[label]): Tally(n, _major(amount, places), _major(commission, places))
            for (agency, label), (n, amount, commission) in statements.items()
        }

    def _store_lines(self, rows: list[tuple[Any, ...]]) -> None:
        self.db.executemany(
            "INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        rows.clear()


_UTC_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def _window_end(window: Window, agency: Agency | None) -> tuple[date | None, str | None]:
    """The last day a placement earned, and why it ended there (``None``: it goes on).

    The first of: the day it came back (a recall's reason, or ``returned``), the last day of
    its term (``term_end``: an extension is an event that moves it), the agency's last day
    under contract (``contract_ended``), the day before its suspension (``agency_suspended``).
    A recall written days after the term ended does not stretch the term.
    """
    ends: list[tuple[date, int, str | None]] = []
    if window.ended_on is not None:
        ends.append((window.ended_on, 0, window.reason or window.how))
    if window.term_ends is not None:
        ends.append((window.term_ends, 1, "term_end"))
    if agency is not None and agency.contract_end is not None:
        ends.append((agency.contract_end, 2, "contract_ended"))
    if agency is not None and agency.suspended_on is not None:
        ends.append((agency.suspended_on - timedelta(days=1), 3, "agency_suspended"))
    if not ends:
        return None, None
    day, _, reason = min(ends)
    return day, reason


def _place(
    day: date, windows: list[Window], grace: Callable[[str | None], int]
) -> tuple[str, str, Window | None]:
    """The category of a payment on ``day`` of a case with these placements (by start)."""
    held = [w for w in windows if w.placed_on <= day and (w.ended_on is None or day <= w.ended_on)]
    if held:  # on a day one agency's placement ended and the next began, the next's
        return "commission", "held", held[-1]
    graced = [
        w
        for w in windows
        if w.ended_on is not None
        and w.ended_on < day <= _plus(w.ended_on, timedelta(days=grace(w.reason)))
    ]
    if graced:
        return "commission", "grace", max(graced, key=lambda w: (w.ended_on, w.placed_on))
    if not windows:
        return "in_house", "in_house", None
    if any(w.placed_on <= day for w in windows):
        return "after_recall", "after_recall", None
    return "before_placement", "before_placement", None


def _period(day: date, kind: PeriodKind, start: date | None, end: date | None) -> Period:
    """The period ``day`` falls in, clipped to the settled range."""
    if kind == "range":
        assert start is not None
        assert end is not None
        return Period(f"{start.isoformat()}..{end.isoformat()}", start, end)
    if kind == "month":
        first = day.replace(day=1)
        last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        label = f"{day.year:04d}-{day.month:02d}"
    else:
        first = day - timedelta(days=day.weekday())  # 0001-01-01 was a Monday
        last = _plus(first, timedelta(days=6))
        year, week, _ = day.isocalendar()
        label = f"{year:04d}-W{week:02d}"
    return Period(label, max(first, start) if start else first, min(last, end) if end else last)


def _reversal_problem(row: tuple[Any, ...], reversed_before: int) -> Problem | None:
    """Why a reversal (a row of ``_classify_reversals``) cannot be settled, if it cannot."""
    (
        _,
        _,
        _,
        _,
        case_key,
        day,
        amount,
        reverses,
        dup,
        p_seq,
        p_case,
        p_day,
        p_amount,
        category,
        _,
        _,
        _,
        _,
        named,
    ) = row
    if dup:
        return Problem("reference", "duplicate_reference", _DUPLICATE)
    if p_seq is None and not named:
        return Problem("reverses", "unknown_payment", f"no payment {reverses} in the ledger")
    if p_seq is None or category == "rejected":
        message = f"{reverses} is not a payment that was settled (rejected, or a reversal)"
        return Problem("reverses", "unknown_payment", message)
    if case_key is not None and p_case is not None and case_key != p_case:
        message = f"the payment {reverses} is of case {p_case}, not {case_key}"
        return Problem("case_id", "case_mismatch", message)
    if day < p_day:
        message = f"the reversal is dated before the payment {reverses}"
        return Problem("date", "date_order", message)
    if reversed_before + amount > p_amount:
        message = f"the reversals of {reverses} would exceed its amount"
        return Problem("amount", "over_reversal", message)
    return None


_DUPLICATE = "an earlier line of the ledger has this reference"


def _plus(day: date, days: timedelta) -> date:
    """``day + days``, or the last day there is (a ledger may be dated 9999-12-31)."""
    return day + days if date.max - day >= days else date.max


def _rejected(seq: int, who: str | None, line: int | None, problem: Problem) -> tuple[Any, ...]:
    record = json.dumps(CaseError(who, [problem], line=line).to_dict(), ensure_ascii=False)
    return (seq, "rejected", problem.code, None, None, None, None, record)


def _parse(item: Any) -> LedgerLine:
    if isinstance(item, str | bytes | Mapping):
        return parse_ledger_line(item)
    problem = Problem(
        "", "not_an_object", f"a ledger line is a mapping or JSON text, not {type(item).__name__}"
    )
    raise CaseError(None, [problem])


def _minor(amount: Decimal, places: int) -> int | None:
    """The amount in minor units, when it has no more places than the currency."""
    scaled = amount.scaleb(places)
    return int(scaled) if scaled == scaled.to_integral_value() else None


def _major(units: int, places: int) -> Decimal:
    return Decimal(units).scaleb(-places) if places else Decimal(units)


def _readable_amount(item: Any, places: int) -> tuple[int | None, int]:
    """The amount of a line that failed validation, if it can be read at all, and its sign."""
    raw: Any = item
    if isinstance(item, str | bytes):
        try:
            raw = json.loads(item)
        except (ValueError, RecursionError):
            return None, 1
    if not isinstance(raw, Mapping):
        return None, 1
    value = raw.get("amount")
    if not isinstance(value, str) or not value.isascii() or len(value) > 30:
        return None, 1
    try:
        amount = Decimal(value.strip())
    except ArithmeticError:
        return None, 1
    if not amount.is_finite() or amount <= 0 or amount >= Decimal(10) ** 12:
        return None, 1
    return _minor(amount, places), -1 if raw.get("reverses") else 1


def _canonical(item: Any) -> bytes:
    """An unreadable input line as bytes for the digest."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8", "surrogatepass")
    if isinstance(item, CaseError):
        return json.dumps(item.to_dict(), sort_keys=True, default=str).encode()
    try:
        return json.dumps(item, sort_keys=True, default=str).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError, RecursionError):
        return repr(type(item)).encode()


def _settled(row: tuple[Any, ...], currency: str) -> SettledLine:
    (
        line,
        category,
        reason,
        reference,
        case_id,
        loan_id,
        day,
        amount,
        reverses,
        agency,
        placement,
        rate,
        commission,
        period,
        error,
        commissionable,
    ) = row
    places = MINOR_UNITS[currency]
    return SettledLine(
        line=line,
        category=category,
        reason=reason,
        reference=reference,
        case_id=case_id,
        loan_id=loan_id,
        day=date.fromordinal(day) if day is not None else None,
        amount=_major(amount, places) if amount is not None else None,
        reverses=reverses,
        agency_id=agency,
        placement_id=placement,
        rate=Decimal(rate) if rate is not None else None,
        commission=_major(commission, places) if commission is not None else None,
        period=period,
        error=_error_from(json.loads(error)) if error else None,
        commissionable=_major(commissionable, places) if commissionable is not None else None,
    )


def _error_from(record: dict[str, Any]) -> CaseError:
    problems = [Problem(e["path"], e["code"], e["message"]) for e in record["errors"]]
    return CaseError(record["case_id"], problems, line=record["line"])
