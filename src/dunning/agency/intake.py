"""Intake: a bank's case file taken into the agency's store, backed up and verified.

The seed's agency enters a bank's case data within two hours of receipt and keeps two backups.
:func:`intake` reads the bank's file (the case contract as JSON Lines, or a CSV/Excel sheet with
a column mapping), validates every line, and writes a *batch* in the store::

    STORE/batches/BATCH/source.EXT       the bank's file, byte for byte
                        cases.jsonl      the accepted cases, one per line
                        errors.jsonl     an error record (with its line) per refused line
                        index.jsonl      ["case id", line] per accepted case
                        MANIFEST.sha256  the SHA-256 of each file above (``sha256sum -c`` reads it)
                        events.jsonl     a case.received event per case, then intake.completed

Every backup directory gets ``BACKUP/BATCH/`` with the manifest and the files it lists, each
read back and checked against the manifest. The batch appears in the store only when every
backup verified (it is built aside and renamed): nothing is ever half taken in. The batch id is
the bank and the file's SHA-256, so taking in the same file again finds the batch, re-checks it
and its backups (re-making a backup that is missing or damaged), and writes nothing twice. A
case id the file repeats is refused with the line that has it. A case an earlier batch of the
same bank took in is *refreshed*: the newer file's figures are taken in (and the case ages from
them), with a ``case.refreshed`` event instead of ``case.received``; one another bank's batch
holds is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

from ..batch import MAX_LINE, Overlong, bounded_lines
from ..cases import CASE_COLUMNS, parse_case
from ..errors import CaseError, ConfigError, DunningError, Problem, did_you_mean
from ..events import (
    BackupCopy,
    IntakeEvent,
    IntakePayload,
    RefreshedEvent,
    RefreshedPayload,
    check_actor,
)
from ..model import Case, check_as_of
from ..tabular import Row, read_rows

__all__ = [
    "IntakeFailed",
    "IntakeResult",
    "batch_id_of",
    "format_of",
    "intake",
    "read_index",
    "read_manifest",
    "verify_manifest",
]

MANIFEST = "MANIFEST.sha256"
_BANK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_MANIFEST_LINE = re.compile(r"^([0-9a-f]{64})  ([A-Za-z0-9_.\-]{1,64})$")
#: The longest line of a JSON Lines bank file (a case with a long contact history fits).
_CHUNK = 1 << 20
Format = Literal["jsonl", "csv", "xlsx"]


class IntakeFailed(DunningError):
    """The intake could not be completed (a backup failed verification, the store is unwritable).

    Nothing of the batch is in the store: it can be run again once the cause is fixed.
    """


@dataclass(frozen=True)
class IntakeResult:
    """What an intake did.

    Attributes:
        event: The batch's ``intake.completed`` event (the earlier one, for a batch taken in
            before).
        directory: The batch's directory in the store.
        new: Whether this run took the batch in (``False``: it was there already).
        repaired: Backups a re-run found missing or damaged and wrote again.
    """

    event: IntakeEvent
    directory: Path
    new: bool
    repaired: tuple[str, ...] = ()

    @property
    def batch_id(self) -> str:
        """The batch id."""
        return self.event.payload.batch_id

    @property
    def events_file(self) -> Path:
        """The batch's events: a ``case.received`` per case, then ``intake.completed``."""
        return self.directory / "events.jsonl"

    @property
    def errors_file(self) -> Path:
        """The batch's error records, one per refused line."""
        return self.directory / "errors.jsonl"

    @property
    def cases_file(self) -> Path:
        """The accepted cases."""
        return self.directory / "cases.jsonl"

    def refused(self) -> list[dict[str, Any]]:
        """The batch's error records (its refused lines), as written."""
        with self.errors_file.open(encoding="utf-8") as errors:
            return [json.loads(line) for line in errors if line.strip()]

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data, with every refused line."""
        return {
            "new": self.new,
            "directory": str(self.directory),
            "events_file": str(self.events_file),
            "repaired": list(self.repaired),
            **self.event.payload.model_dump(mode="json"),
            "refused": self.refused(),
        }


def batch_id_of(bank: str, digest: str) -> str:
    """The batch id of a file from ``bank`` whose SHA-256 is ``digest`` (hex)."""
    return f"{bank}-{digest[:16]}"


def intake(
    source: str | Path,
    *,
    bank: str,
    received_at: datetime,
    store: str | Path,
    backups: Sequence[str | Path] | Mapping[str, str | Path],
    target_minutes: int = 120,
    required_backups: int = 2,
    file_format: Format | None = None,
    columns: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
    sheet: str | None = None,
    encoding: str = "utf-8",
    actor: str = "dunning",
    clock: Callable[[], datetime] | None = None,
) -> IntakeResult:
    """Take a bank's case file into the store, with verified backups.

    Args:
        source: The bank's file: JSON Lines of cases, or a CSV or Excel sheet.
        bank: The bank that sent it (an id: letters, digits, ``_.-``).
        received_at: When the agency received it (aware).
        store: The agency's case store (a directory; created if missing).
        backups: The backup directories (at least ``required_backups``, each distinct and
            outside the store), or each one by its site (``{"branch": DIR, "head_office":
            DIR}``: the seed's two backups), which the event records.
        target_minutes: The time allowed from receipt to completion (the policy's
            ``agency: intake: within_minutes``).
        required_backups: How many backups the procedure asks for.
        file_format: ``jsonl``, ``csv`` or ``xlsx`` (default: by the file's suffix).
        columns: For a sheet: ``{field path: header}`` (:data:`CASE_COLUMNS`), for columns
            not named like their field.
        defaults: For a sheet: ``{field path: value}`` for fields the bank's file leaves out
            (``loan.product``: ``credit_card``); a cell given wins.
        sheet: The workbook's sheet (default: the first).
        encoding: A CSV file's encoding.
        actor: Who takes it in (the events' actor).
        clock: Gives the completion time (default: the system clock, in UTC).

    Returns:
        The batch's :class:`IntakeResult`.

    Raises:
        ConfigError: For bad arguments, an unreadable file, a sheet without the columns.
        IntakeFailed: When a backup fails verification or a directory cannot be written;
            nothing is left in the store.
    """
    source = Path(source)
    store = Path(store)
    sites = _sites(backups)
    backups = [path for _, path in sites]
    _check_arguments(bank, received_at, store, backups, required_backups, target_minutes)
    check_actor(actor)
    kind = file_format or format_of(source)
    if kind == "jsonl" and (columns or defaults):
        raise ConfigError("a column mapping or defaults are for CSV and Excel files, not JSONL")
    digest = _file_digest(source)
    batch_id = batch_id_of(bank, digest)
    batches = store / "batches"
    try:
        batches.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IntakeFailed(f"cannot write the store {store}: {exc.strerror or exc}") from None
    with _store_lock(batches):  # one intake at a time: the second sees the first's cases
        directory = batches / batch_id
        if directory.exists():
            return _again(directory, backups)
        _clear_leftovers(batches)
        try:
            work = Path(tempfile.mkdtemp(prefix=f".{batch_id}.", dir=batches))
        except OSError as exc:
            raise IntakeFailed(f"cannot write the store: {exc.strerror or exc}") from None
        try:
            counts = _take_in(
                source,
                kind,
                work,
                batches,
                batch_id,
                bank,
                columns=columns,
                defaults=defaults,
                sheet=sheet,
                encoding=encoding,
                actor=actor,
                received_at=received_at,
            )
            listed = read_manifest(work)
            copies = [_backup(work, Path(b), batch_id, listed, site) for site, b in sites]
            completed = (clock or _now)()
            if completed.tzinfo is None:
                raise ConfigError("the clock must give an aware time")
            completed = completed.astimezone(received_at.tzinfo)  # read in the receipt's offset
            elapsed = max(int((completed - received_at).total_seconds()), 0)
            event = IntakeEvent(
                type="intake.completed",
                at=completed,
                actor=actor,
                payload=IntakePayload(
                    batch_id=batch_id,
                    bank=bank,
                    source=source.name[:4000],
                    source_digest=f"sha256:{digest}",
                    received_at=received_at,
                    completed_at=completed,
                    target_minutes=target_minutes,
                    elapsed_seconds=elapsed,
                    late=elapsed > target_minutes * 60,
                    lines=counts["lines"],
                    accepted=counts["accepted"],
                    rejected=counts["rejected"],
                    repeated=counts["repeated"],
                    refreshed=counts["refreshed"],
                    cases_digest=f"sha256:{listed['cases.jsonl']}",
                    errors_digest=f"sha256:{listed['errors.jsonl']}",
                    backups=tuple(copies),
                ),
            )
            with (work / "events.jsonl").open("a", encoding="utf-8", newline="\n") as out:
                out.write(event.model_dump_json() + "\n")
            os.replace(work, directory)
        except OSError as exc:
            raise IntakeFailed(
                f"cannot write the batch {batch_id}: {exc.strerror or exc}"
            ) from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return IntakeResult(event, directory, new=True)


@contextlib.contextmanager
def _store_lock(batches: Path) -> Iterator[None]:
    """Hold the store's lock (on its ``batches`` folder): intakes into one store take turns.

    The lock is the operating system's (``flock``): it is released when its holder ends, even
    killed, so that a crash never leaves the store locked.
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): one intake at a time is the user's to keep
        yield
        return
    handle = os.open(batches, os.O_RDONLY)  # the folder itself: no lock file among the batches
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # and with it the lock


def _clear_leftovers(batches: Path) -> None:
    """Remove the working folders of intakes that died (the store is locked: none is alive)."""
    for child in batches.iterdir():
        if child.name.startswith(".") and child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _sites(
    backups: Sequence[str | Path] | Mapping[str, str | Path],
) -> list[tuple[str | None, str | Path]]:
    """The backups as (site or None, directory)."""
    if isinstance(backups, Mapping):
        for site in backups:
            if not isinstance(site, str) or not _BANK.match(site):
                raise ConfigError(f"a backup site is a name (branch, head_office), not {site!r}")
        return list(backups.items())
    if isinstance(backups, str | bytes) or not isinstance(backups, Sequence):
        raise ConfigError("backups are a list of directories, or a mapping of site to directory")
    return [(None, b) for b in backups]


def _check_arguments(
    bank: str,
    received_at: datetime,
    store: Path,
    backups: Sequence[str | Path],
    required: int,
    target_minutes: int,
) -> None:
    if not isinstance(bank, str) or not _BANK.match(bank):
        raise ConfigError(
            f"the bank is an id of letters, digits, '_', '.' and '-' (at most 64), not {bank!r}"
        )
    if not isinstance(received_at, datetime) or received_at.tzinfo is None:
        raise ConfigError("received_at must be an aware time, such as 2026-11-02T09:30:00+08:00")
    check_as_of(received_at)  # before any work: an event's time is in these years
    if type(target_minutes) is not int or not 1 <= target_minutes <= 10_080:
        raise ConfigError("the intake target must be from 1 to 10080 minutes (a week)")
    if len(backups) < required:
        raise ConfigError(
            f"the procedure keeps {required} backups: give {required} backup directories "
            f"(--backup DIR), not {len(backups)}"
        )
    seen = [store.resolve()]
    for backup in map(Path, backups):
        where = backup.resolve()
        for other in seen:
            if where == other or other in where.parents or where in other.parents:
                raise ConfigError(
                    f"backup {backup} is, contains or lies within {other}: each copy needs a "
                    "directory of its own"
                )
        seen.append(where)


def format_of(source: Path) -> Format:
    """A bank file's format by its suffix: ``jsonl``, ``csv`` or ``xlsx``."""
    suffix = source.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    raise ConfigError(
        f"cannot tell the format of {source.name} by its suffix: give --format jsonl, csv or xlsx"
    )


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return digest.hexdigest()


# --- taking the lines in --------------------------------------------------------------------


class _Writer:
    """A batch file written and hashed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stream: IO[bytes] = path.open("wb")
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.stream.write(data)
        self.hash.update(data)

    def close(self) -> str:
        self.stream.close()
        return self.hash.hexdigest()


class _Seen:
    """The case ids of earlier batches and of this file so far, on disk (flat memory).

    Each id is held with the latest batch that took it in (batches read in the order they
    were completed), so that a bank's next file refreshes the case from its latest batch.
    """

    def __init__(self, batches: Path, batch_id: str) -> None:
        self.db = sqlite3.connect("")  # a private temporary file, deleted on close
        self.db.execute("CREATE TABLE ids (case_id TEXT PRIMARY KEY, batch TEXT, line INTEGER)")
        earlier = [
            d for d in batches.iterdir() if (d / "index.jsonl").is_file() and d.name != batch_id
        ]
        for directory in sorted(earlier, key=_completed_at):
            if directory.name.startswith("."):
                continue
            self.db.executemany(
                "INSERT OR REPLACE INTO ids VALUES (?, ?, ?)",
                (
                    (case_id, directory.name, line)
                    for case_id, line in read_index(directory / "index.jsonl")
                ),
            )

    def claim(self, case_id: str, line: int) -> tuple[str | None, int] | None:
        """Record ``case_id`` at ``line``; return who had it already (batch or None, line).

        An earlier batch's case is recorded as this file's too: the file may hold it once.
        """
        found = self.db.execute(
            "SELECT batch, line FROM ids WHERE case_id = ?", (case_id,)
        ).fetchone()
        self.db.execute("INSERT OR REPLACE INTO ids VALUES (?, NULL, ?)", (case_id, line))
        if found is not None and found[0] is None:
            self.db.execute("UPDATE ids SET line = ? WHERE case_id = ?", (found[1], case_id))
        return None if found is None else (found[0], found[1])

    def close(self) -> None:
        self.db.close()


def _take_in(
    source: Path,
    kind: Format,
    work: Path,
    batches: Path,
    batch_id: str,
    bank: str,
    *,
    columns: Mapping[str, str] | None,
    defaults: Mapping[str, str] | None,
    sheet: str | None,
    encoding: str,
    actor: str,
    received_at: datetime,
) -> dict[str, int]:
    """Copy the source and write cases, errors, index, events and the manifest into ``work``."""
    suffix = {"jsonl": ".jsonl", "csv": ".csv", "xlsx": ".xlsx"}[kind]
    copied = work / f"source{suffix}"
    shutil.copyfile(source, copied)
    cases, errors = _Writer(work / "cases.jsonl"), _Writer(work / "errors.jsonl")
    index = _Writer(work / "index.jsonl")
    events = (work / "events.jsonl").open("w", encoding="utf-8", newline="\n")
    seen = _Seen(batches, batch_id)
    counts = {"lines": 0, "accepted": 0, "rejected": 0, "repeated": 0, "refreshed": 0}
    # The case.received events are written by hand (the hot path: one per case); a test holds
    # them to the model's own serialisation.
    head = (
        '{"type":"case.received","at":'
        + json.dumps(received_at.isoformat())
        + ',"actor":'
        + json.dumps(actor, ensure_ascii=False)
        + ',"case_id":'
    )
    tail = ',"payload":{"batch_id":' + json.dumps(batch_id) + ',"bank":' + json.dumps(bank)
    try:
        with copied.open("rb") as stream:
            for line, item, text in _results(
                stream, kind, columns, defaults, sheet, encoding, copied.name
            ):
                counts["lines"] += 1
                if isinstance(item, Case):
                    snapshot = item.delinquency
                    if snapshot is not None and snapshot.as_of is None:
                        # The bank's figures are as of the file: the case ages from its day.
                        dated = snapshot.model_copy(update={"as_of": received_at.date()})
                        item, text = item.model_copy(update={"delinquency": dated}), None
                    holder = seen.claim(item.case_id, line)
                    refresh = holder is not None and _bank_of(holder[0]) == bank
                    if holder is not None and not refresh:
                        item = _repeated(item.case_id, holder, line)
                        counts["repeated"] += holder[0] is not None
                if isinstance(item, CaseError):
                    counts["rejected"] += 1
                    record = json.dumps(item.to_dict(), ensure_ascii=False)
                    errors.write(record.encode() + b"\n")
                    continue
                counts["accepted"] += 1
                cases.write(text if text is not None else item.model_dump_json().encode())
                cases.write(b"\n")
                case_json = json.dumps(item.case_id, ensure_ascii=False)
                # JSON: a case id may hold any character, a tab or a line break too.
                index.write(f"[{case_json},{line}]\n".encode())
                if refresh:  # the bank's newer figures of a case it sent before
                    counts["refreshed"] += 1
                    assert holder is not None
                    events.write(_refreshed(item, received_at, actor, batch_id, bank, line, holder))
                else:
                    region = json.dumps(item.borrower.region, ensure_ascii=False)
                    events.write(f'{head}{case_json}{tail},"line":{line},"region":{region}}}}}\n')
    finally:
        seen.close()
        events.close()
        digests = {
            copied.name: _file_digest(copied),
            "cases.jsonl": cases.close(),
            "errors.jsonl": errors.close(),
            "index.jsonl": index.close(),
        }
    manifest = "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))
    (work / MANIFEST).write_text(manifest, encoding="utf-8", newline="\n")
    return counts


def _results(
    stream: BinaryIO,
    kind: Format,
    columns: Mapping[str, str] | None,
    defaults: Mapping[str, str] | None,
    sheet: str | None,
    encoding: str,
    name: str,
) -> Iterator[tuple[int, Case | CaseError, bytes | None]]:
    """Each line's case or error, with its line and (JSON Lines) its text as given."""
    if kind == "jsonl":
        yield from _jsonl_results(stream)
        return
    fixed = _defaults(defaults or {})
    rows = read_rows(
        stream,
        fields=CASE_COLUMNS,
        required=("case_id",),
        columns=columns,
        kind=kind,
        sheet=sheet,
        encoding=encoding,
        name=name,
    )
    for row in rows:
        yield row.line, case_of_row(row, fixed), None


def _jsonl_results(stream: IO[bytes]) -> Iterator[tuple[int, Case | CaseError, bytes | None]]:
    """Each non-blank line's case (with its text) or error; a line is read at most to the limit."""
    for number, raw in enumerate(bounded_lines(stream, MAX_LINE), start=1):
        if isinstance(raw, Overlong):
            problem = Problem("", "line_too_long", f"a line of more than {MAX_LINE:,} bytes")
            yield number, CaseError(None, [problem], line=number), None
            continue
        text = raw.rstrip(b"\r\n")
        if not text.strip():
            continue
        try:
            yield number, parse_case(text, line=number), text
        except CaseError as error:
            yield number, error, None


def _defaults(values: Mapping[str, str]) -> dict[str, Any]:
    unknown = [path for path in values if path not in CASE_COLUMNS]
    if unknown:
        raise ConfigError(
            f"no field {unknown[0]!r} to give a default{did_you_mean(unknown[0], CASE_COLUMNS)}"
        )
    return {path: _cell_default(path, text) for path, text in values.items()}


def _cell_default(path: str, text: str) -> Any:
    kind = CASE_COLUMNS[path]
    if kind == "list":
        return [item.strip() for item in text.split(";") if item.strip()]
    if kind == "int":
        if not text.strip().isdigit():
            raise ConfigError(f"the default of {path} must be a whole number, not {text!r}")
        return int(text)
    return text


def case_of_row(row: Row, defaults: Mapping[str, Any] | None = None) -> Case | CaseError:
    """The case a spreadsheet row gives (its cells over the ``defaults``), or its error.

    A row's flat fields become the case's nested ones (``loan.principal``); the borrower's
    party id defaults to ``borrower``, the loan id to the case id, and an emergency contact
    becomes a related party ``emergency_contact``.
    """
    values = {**(defaults or {}), **row.values}
    case_id = values.get("case_id")
    named = case_id if isinstance(case_id, str) and 0 < len(case_id) <= 128 else None
    if row.problems:
        return CaseError(named, list(row.problems), line=row.line)
    nested: dict[str, Any] = {}
    for path, value in values.items():
        head, _, rest = path.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[head] = value
    loan = nested.setdefault("loan", {})
    if named is not None:
        loan.setdefault("loan_id", named)
    nested.setdefault("borrower", {}).setdefault("party_id", "borrower")
    contact = nested.pop("emergency_contact", None)
    if contact is not None:
        nested["related_parties"] = [
            {"party_id": "emergency_contact", "role": "emergency_contact", **contact}
        ]
    try:
        return parse_case(nested, line=row.line)
    except CaseError as error:
        problems = [_flat_path(p) for p in error.problems]
        return CaseError(error.case_id or named, problems, line=row.line)


def _flat_path(problem: Problem) -> Problem:
    """A problem of the emergency contact's related party named by its column."""
    if problem.path.startswith("related_parties[0]."):
        return Problem(
            "emergency_contact." + problem.path.removeprefix("related_parties[0]."),
            problem.code,
            problem.message,
        )
    return problem


def _bank_of(batch: str | None) -> str | None:
    """The bank of a batch id (``BANK-`` and 16 hex digits)."""
    return None if batch is None else batch[:-17]


def _refreshed(
    case: Case,
    at: datetime,
    actor: str,
    batch_id: str,
    bank: str,
    line: int,
    holder: tuple[str | None, int],
) -> str:
    """The ``case.refreshed`` event of a case a bank's newer file gives again."""
    snapshot = case.delinquency
    event = RefreshedEvent(
        type="case.refreshed",
        at=at,
        actor=actor,
        case_id=case.case_id,
        payload=RefreshedPayload(
            batch_id=batch_id,
            bank=bank,
            line=line,
            previous_batch=holder[0] or "",
            dpd=None if snapshot is None else snapshot.dpd,
            total_due=None
            if snapshot is None
            else snapshot.overdue_principal
            + snapshot.overdue_interest
            + snapshot.penalty_interest
            + snapshot.fees,
        ),
    )
    return event.model_dump_json() + "\n"


def _repeated(case_id: str, holder: tuple[str | None, int], line: int) -> CaseError:
    batch, first = holder
    if batch is None:
        problem = Problem(
            "case_id",
            "duplicate_case",
            f"case {case_id} is on line {first} of this file already; the first is taken in",
        )
    else:
        problem = Problem(
            "case_id",
            "repeated_case",
            f"case {case_id} was taken in by batch {batch} (its line {first}), of another "
            "bank: a case is one bank's",
        )
    return CaseError(case_id, [problem], line=line)


def read_index(path: str | Path) -> Iterator[tuple[str, int]]:
    """The accepted cases of a batch's ``index.jsonl``: (case id, line in the bank's file)."""
    with Path(path).open("rb") as lines:
        for text in lines:
            try:
                case_id, line = json.loads(text)
            except (ValueError, TypeError):
                continue  # a damaged index is the manifest's to report
            if isinstance(case_id, str) and type(line) is int:
                yield case_id, line


# --- backups and manifests ------------------------------------------------------------------


def read_manifest(directory: str | Path) -> dict[str, str]:
    """The files a directory's ``MANIFEST.sha256`` lists, with their SHA-256 (hex).

    Raises:
        IntakeFailed: When the manifest is missing or not in ``sha256sum`` form.
    """
    path = Path(directory) / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IntakeFailed(f"{path}: cannot read the manifest: {exc}") from None
    return parse_manifest(text, str(path))


def parse_manifest(text: str, where: str) -> dict[str, str]:
    """A batch manifest's listing (``sha256  name`` lines): the one grammar of every reader.

    Raises:
        IntakeFailed: For a line that is not ``64 hex digits, two spaces, a file name``, a
            name listed twice or the manifest itself, or a manifest that lists nothing.
    """
    listed: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        matched = _MANIFEST_LINE.match(line)
        if matched is None or matched.group(2) in listed or matched.group(2) == MANIFEST:
            raise IntakeFailed(f"{where}:{number}: not a manifest line: {line[:80]!r}")
        listed[matched.group(2)] = matched.group(1)
    if not listed:
        raise IntakeFailed(f"{where}: the manifest lists no file")
    return listed


def is_bank_id(name: object) -> bool:
    """Whether ``name`` can name a bank (letters, digits, ``_.-``; at most 64)."""
    return isinstance(name, str) and _BANK.match(name) is not None


def is_batch_file(name: str) -> bool:
    """Whether ``name`` can be a file of a batch (what a batch manifest may list)."""
    return _MANIFEST_LINE.match(f"{'0' * 64}  {name}") is not None and not name.startswith(".")


def verify_manifest(directory: str | Path, expected: Mapping[str, str] | None = None) -> list[str]:
    """Check each file a directory's manifest lists against its SHA-256.

    Args:
        directory: The directory (a batch or one of its backups).
        expected: The listing it must have (the primary's), if any.

    Returns:
        What is wrong, one line each; empty when every file verifies.
    """
    directory = Path(directory)
    try:
        listed = read_manifest(directory)
    except IntakeFailed as exc:
        return [str(exc)]
    problems = []
    if expected is not None and listed != dict(expected):
        problems.append(f"{directory / MANIFEST}: lists other files or digests than the batch")
    for name, digest in sorted(listed.items()):
        path = directory / name
        try:
            found = _file_digest(path)
        except ConfigError:
            problems.append(f"{path}: missing or unreadable")
            continue
        if found != digest:
            problems.append(f"{path}: SHA-256 {found[:16]}… is not the manifest's {digest[:16]}…")
    return problems


def _backup(
    work: Path, root: Path, batch_id: str, listed: Mapping[str, str], site: str | None = None
) -> BackupCopy:
    """Copy the batch's manifest and files into ``root/batch_id`` and verify the copy."""
    target = root / batch_id
    try:
        root.mkdir(parents=True, exist_ok=True)
        if target.exists() and not verify_manifest(target, listed):
            pass  # an earlier run's copy of the same batch, intact
        else:
            aside = Path(tempfile.mkdtemp(prefix=f".{batch_id}.", dir=root))
            try:
                for name in (*sorted(listed), MANIFEST):
                    shutil.copyfile(work / name, aside / name)
                    _sync(aside / name)
                if target.exists():
                    shutil.rmtree(target)
                os.replace(aside, target)
            finally:
                shutil.rmtree(aside, ignore_errors=True)
    except OSError as exc:
        raise IntakeFailed(f"cannot write the backup {root}: {exc.strerror or exc}") from None
    problems = verify_manifest(target, listed)
    if problems:
        raise IntakeFailed(f"backup {root} failed verification: " + "; ".join(problems[:5]))
    manifest = hashlib.sha256((target / MANIFEST).read_bytes()).hexdigest()
    return BackupCopy(
        name=str(root)[:4000], manifest=f"sha256:{manifest}", files=len(listed), site=site
    )


def _sync(path: Path) -> None:
    with path.open("rb") as stream:
        os.fsync(stream.fileno())


def _again(directory: Path, backups: Sequence[str | Path]) -> IntakeResult:
    """A batch taken in before: check it, and its backups (re-making a bad one)."""
    problems = verify_manifest(directory)
    if problems:
        raise IntakeFailed(
            f"batch {directory.name} is in the store but damaged: " + "; ".join(problems[:5])
        )
    event = _intake_event(directory)
    listed = read_manifest(directory)
    repaired = []
    for backup in map(Path, backups):
        if verify_manifest(backup / directory.name, listed):
            _backup(directory, backup, directory.name, listed)
            repaired.append(str(backup))
    return IntakeResult(event, directory, new=False, repaired=tuple(repaired))


def _completed_at(directory: Path) -> tuple[str, str]:
    """When a batch was completed (its intake event), to read batches in that order."""
    try:
        return (_intake_event(directory).payload.completed_at.astimezone(UTC).isoformat(), "")
    except IntakeFailed:
        return ("", directory.name)  # a batch whose events cannot be read: first, by name


def _intake_event(directory: Path) -> IntakeEvent:
    path = directory / "events.jsonl"
    try:
        with path.open("rb") as stream:
            stream.seek(max(path.stat().st_size - 65536, 0))
            last = stream.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        return IntakeEvent.model_validate_json(last)
    except (OSError, ValueError) as exc:
        raise IntakeFailed(f"{path}: no intake.completed event at its end ({exc})") from None
