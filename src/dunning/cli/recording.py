"""``dunning record`` and ``dunning history``: events written by command, a case read back."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..agency.assign import next_action
from ..agency.collectors import load_collectors
from ..agency.history import case_history, describe
from ..agency.procedure import load_procedure
from ..agency.record import append_event, build_event, read_error, warnings
from ..batch import bounded_lines
from ..cases import parse_case
from ..errors import CaseError
from ..events import EVENT_MODELS
from ..model import Case
from ..policy import load_policy
from .common import EXIT_OK, EXIT_REJECTED, Usage, open_binary
from .parser import RECORD_KINDS as KINDS


def payload_fields(kind: str) -> dict[str, dict[str, Any]]:
    """The payload fields of an event type with their JSON Schema (for the options)."""
    model = EVENT_MODELS[kind].model_fields["payload"].annotation
    schema = model.model_json_schema()  # type: ignore[union-attr]
    required = set(schema.get("required", ()))
    return {
        name: {**spec, "required": name in required} for name, spec in schema["properties"].items()
    }


def _kinds_of(spec: dict[str, Any]) -> set[str]:
    found = {spec["type"]} if "type" in spec else set()
    for option in spec.get("anyOf", ()):
        found |= _kinds_of(option)
    return found


def _value(spec: dict[str, Any], text: str) -> Any:
    kinds = _kinds_of(spec)
    if "integer" in kinds and text.lstrip("-").isdigit():
        return int(text)
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    return text


#: The events that name no case (a batch's, a month's, or many cases').
_OF_NO_CASE = (
    "report.filed",
    "reconciliation.filed",
    "force_majeure.noted",
    "force_majeure.reported",
)


def run_record(args: argparse.Namespace) -> int:
    """``dunning record KIND``: one event, checked, warned of, and appended to the log once."""
    kind = KINDS[args.kind]
    fields = payload_fields(kind)
    payload: dict[str, Any] = {}
    for name, spec in fields.items():
        given = getattr(args, f"field_{name}", None)
        if given is None:
            continue
        if "array" in _kinds_of(spec):
            payload[name] = [v for item in given for v in item.split(",") if v]
        else:
            payload[name] = _value(spec, given)
    procedure = load_procedure(args.procedure) if args.procedure else None
    at = args.at or datetime.now(procedure.zone if procedure else UTC).replace(microsecond=0)
    if kind == "contact.recorded":
        payload.setdefault("contacted_at", at.isoformat())
        if args.cases:
            _from_case_file(Path(args.cases), args.case, payload, procedure)
        if payload.get("number") and not str(payload["number"]).startswith("*"):
            digits = "".join(c for c in str(payload["number"]) if c.isdigit())
            payload["number"] = f"*{digits[-4:]}"  # the audit counts by number; nothing more
    of_no_case = kind in _OF_NO_CASE
    case_id = None if of_no_case else args.case
    if case_id is None and not of_no_case:
        raise Usage(f"--case is needed to record a {args.kind}")
    try:
        event = build_event(kind, at=at, actor=args.actor, case_id=case_id, payload=payload)
    except CaseError as error:
        print(f"dunning: not recorded: {read_error(error)}", file=sys.stderr)
        return EXIT_REJECTED
    log = Path(args.events)
    said: list[str] = []
    if procedure is not None:
        staff = load_collectors(args.collectors) if args.collectors else None
        roles = None if staff is None else {c.collector_id: c.role.value for c in staff}
        said = warnings(event, log, procedure=procedure, staff=roles)
    for line in said:
        print(f"dunning: warning: {line}", file=sys.stderr)
    if args.check:
        print(f"dunning: checked, not recorded ({len(said)} warning(s))", file=sys.stderr)
        return EXIT_REJECTED if said else EXIT_OK
    if append_event(event, log):
        sys.stdout.write(event.model_dump_json() + "\n")
        print(f"dunning: recorded in {log}", file=sys.stderr)
    else:
        print(f"dunning: already in {log}: nothing appended", file=sys.stderr)
    return EXIT_OK


def _next_step(args: argparse.Namespace) -> dict[str, Any]:
    """The policy's next step for the case now (``--policy`` with ``--cases``)."""
    if not args.cases:
        raise Usage("--policy needs --cases: the case file the decision reads")
    policy = load_policy(args.policy)
    case = _case_of(Path(args.cases), args.case)
    moment = policy.moment(args.as_of or datetime.now(UTC).replace(microsecond=0))
    return next_action(policy, case, moment)


def _case_of(path: Path, case_id: str) -> Case:
    with open_binary(str(path)) as stream:
        for text in bounded_lines(stream):
            if json.dumps(case_id, ensure_ascii=False).encode() not in text:
                continue
            try:
                case = parse_case(text)
            except CaseError:
                continue
            if case.case_id == case_id:
                return case
    raise Usage(f"no case {case_id!r} in {path}")


def _from_case_file(
    path: Path, case_id: str | None, payload: dict[str, Any], procedure: Any
) -> None:
    """The contacted party's role and time zone, from the case file (as the audit reads them)."""
    if not case_id:
        raise Usage("--cases needs --case")
    case = _case_of(path, case_id)
    for party in (case.borrower, *case.related_parties):
        if party.party_id == payload.get("party_id"):
            payload.setdefault("party_role", party.role.value)
            if procedure is None or party.timezone != procedure.timezone:
                payload.setdefault("timezone", party.timezone)


def run_history(args: argparse.Namespace) -> int:
    """``dunning history CASE``: every event of one case, in time order."""
    with open_binary(args.events) as stream:
        found = case_history(bounded_lines(stream), args.case)
    next_step = _next_step(args) if args.policy else None
    if args.format == "json":
        data = {
            "case_id": args.case,
            "events": [json.loads(e.model_dump_json()) | {"line": n} for n, e in found.events],
            "next": next_step,
            "unreadable_event_lines": found.unreadable,
        }
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"History of {args.case}: {len(found.events)} event(s)")
        for line, event in found.events:
            print(f"  {describe(event)}  [line {line}]")
        if next_step is not None:
            print(
                f"  next: {next_step['channel']} from {next_step['at']} (rule "
                f"{next_step['rule']}; owed {next_step['total_due']})"
            )
        if found.unreadable:
            lines = ", ".join(map(str, found.unreadable))
            print(f"  Unreadable event lines of the case: {lines}")
    return EXIT_REJECTED if not found.events or found.unreadable else EXIT_OK
