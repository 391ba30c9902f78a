"""Recording: an agency's staff write their events through commands, not by hand.

:func:`build_event` makes one event of the contract (docs/events.md) from the fields a person
gives — validated by the event's model, with an id derived from what it records when none is
given, so that recording the same thing twice gives the same id. :func:`warnings` holds the
new event to the procedure before it is appended: a contact outside the hours of the party's
time zone, over a day's cap, a third party while the borrower is reachable (the audit's
conduct checks, run on the case's earlier contacts and the new one), a late end-of-day record,
a plan beyond the bank's limit. :func:`append_event` adds the line to the log under the
operating system's lock, once: an event already in the log (the same line, or the same
contact record) is not written again, and a log whose last line was cut short by a crash is
ended first so that the new line stays whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from ..batch import bounded_lines
from ..errors import CaseError, ConfigError
from ..events import EVENT_MODELS, ApprovalEvent, ContactEvent, Event, parse_event
from .audit import audit
from .procedure import Procedure

__all__ = ["append_event", "build_event", "warnings"]

#: The id field each kind of event names itself by, when it names one.
_ID_FIELDS = {"contact.recorded": ("record_id", "R"), "approval.requested": ("request_id", "REQ")}


def build_event(
    kind: str,
    *,
    at: datetime,
    actor: str,
    case_id: str | None,
    payload: Mapping[str, Any],
) -> Event:
    """One event of type ``kind``, validated by its model.

    A contact record or a request given no id gets one derived from the case, the actor and
    the fields given: the same record made twice has the same id (and is appended once).

    Raises:
        CaseError: Naming the case and every field that does not fit the contract.
    """
    fields = dict(payload)
    id_field = _ID_FIELDS.get(kind)
    if id_field is not None and not fields.get(id_field[0]):
        seed = json.dumps([kind, case_id, actor, fields], sort_keys=True, default=str)
        fields[id_field[0]] = f"{id_field[1]}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}"
    data = {"type": kind, "at": at.isoformat(), "actor": actor, "payload": fields}
    if case_id is not None:
        data["case_id"] = case_id
    if kind not in EVENT_MODELS:
        return parse_event(data)  # raises: unknown_event_type, with the nearest
    return parse_event(json.loads(json.dumps(data, default=str)))


def warnings(
    event: Event,
    log: Path,
    *,
    procedure: Procedure,
    staff: Mapping[str, str] | None = None,
) -> list[str]:
    """What the procedure would find of ``event``, recorded now after the log's events.

    The log is read once for the case's own events (a year's log, a few of them): the audit is
    run on those and the new event, and the findings that cite the new event are returned.
    """
    case_id = event.case_id
    mine = []
    if log.exists():
        with log.open("rb") as stream:
            for text in bounded_lines(stream):
                if case_id is None or _names(text, case_id):
                    mine.append(text)
    mine = [t for t in mine if t.strip()]
    new = len(mine) + 1
    mine.append(event.model_dump_json().encode())
    moment = max(event.at, _made(event))
    day = moment.astimezone(procedure.zone).date()
    found = audit(
        mine,
        procedure=procedure,
        as_of=moment,
        start=day - timedelta(days=62),  # the deadlines the new event can still touch
        end=day,
        staff=staff,
    )
    said = _beyond_limits(event, procedure)
    for finding in found.findings:
        if new in finding.evidence:
            check = f"{finding.obligation}.{finding.check}" if finding.check else finding.obligation
            said.append(f"{check}: {finding.message} (expected: {finding.expected})")
    return said


def _beyond_limits(event: Event, procedure: Procedure) -> list[str]:
    """A request the bank's limits will not allow (the audit finds it only once granted)."""
    rules = procedure.obligations.get("special_procedures")
    if rules is None or not isinstance(event, ApprovalEvent) or event.type != "approval.requested":
        return []
    p, most = event.payload, rules.settings["max_instalments"]
    said = []
    if p.procedure.value == "instalment_plan" and most and p.instalments and p.instalments > most:
        said.append(
            f"special_procedures.limits: {p.instalments} instalments asked for, beyond "
            f"the bank's {most}: the supervisor cannot grant it"
        )
    if (
        p.procedure.value == "waiver"
        and "principal" in p.covers
        and not rules.settings["waiver_principal"]
    ):
        said.append(
            "special_procedures.limits: a waiver of principal, which the bank's terms do not allow"
        )
    return said


def _names(text: bytes, case_id: str) -> bool:
    """Whether a log line is an event of ``case_id`` (read as JSON only when it may be)."""
    if json.dumps(case_id, ensure_ascii=False).encode() not in text:
        return False
    try:
        return bool(json.loads(text).get("case_id") == case_id)
    except (ValueError, AttributeError):
        return False


def _made(event: Event) -> datetime:
    return event.payload.contacted_at if isinstance(event, ContactEvent) else event.at


def append_event(event: Event, log: Path) -> bool:
    """Append ``event`` to the log, once; ``False`` when the log holds it already.

    The log is locked while it is read and written (two recorders at once take turns), the
    line is written whole and flushed to disk before the lock is let go.

    Raises:
        ConfigError: When the log cannot be read or written.
    """
    line = event.model_dump_json().encode() + b"\n"
    record = event.payload.record_id if isinstance(event, ContactEvent) else None
    try:
        with _locked(log) as stream:
            for text in bounded_lines(stream):
                if text.strip() == line.strip():
                    return False
                if record is not None and _same_record(text, record):
                    return False
            size = stream.seek(0, os.SEEK_END)
            if size:
                stream.seek(size - 1)
                if stream.read(1) != b"\n":
                    stream.write(b"\n")  # a line cut short by a crash: end it, keep ours whole
            stream.write(line)
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as exc:
        raise ConfigError(f"cannot append to {log}: {exc.strerror or exc}") from None
    return True


def _same_record(text: bytes, record_id: str) -> bool:
    if b'"contact.recorded"' not in text or record_id.encode() not in text:
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return bool(
        data.get("type") == "contact.recorded"
        and isinstance(data.get("payload"), dict)
        and data["payload"].get("record_id") == record_id
    )


@contextlib.contextmanager
def _locked(log: Path) -> Iterator[BinaryIO]:
    """The log opened for reading and appending, under the operating system's lock."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
    handle = os.open(log, flags, 0o600)
    with os.fdopen(handle, "r+b") as stream:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): recording at once is the user's to avoid
            yield stream
            return
        fcntl.flock(stream, fcntl.LOCK_EX)
        try:
            yield stream
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)


def read_error(error: CaseError) -> str:
    """An event that does not fit the contract, in one line per problem."""
    return "; ".join(f"{p.path or 'event'}: {p.message} [{p.code}]" for p in error.problems)
