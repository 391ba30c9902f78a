"""``dunning check`` and ``dunning schema``: rule files of every kind, from one table of kinds."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import Diagnostic
from ..rulefiles import FILE_KINDS, kind_of
from .common import EXIT_OK, EXIT_REJECTED, Usage, params_of, print_diagnostics


def rule_files(paths: list[str]) -> Iterator[Path]:
    """The files named, and every ``*.yaml`` of a folder named (not its test files)."""
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.glob("*.yaml") if not p.name.endswith(".tests.yaml"))
        elif path.exists():
            yield path
        else:
            raise Usage(f"no such file or folder: {name}")


def run_check(args: argparse.Namespace) -> int:
    """``dunning check``: every problem of rule files of every kind."""
    params = params_of(args.param)
    files = list(rule_files(args.paths))
    if not files:
        raise Usage("no rule files found")
    diagnostics: list[Diagnostic] = []
    for path in files:
        diagnostics.extend(kind_of(path).check(path, params))
    print_diagnostics(diagnostics, sys.stdout)
    failed = any(d.severity == "error" or args.strict for d in diagnostics)
    if not failed:
        print(f"{len(files)} file(s) checked: ok")
    return EXIT_REJECTED if failed else EXIT_OK


def _data_schemas() -> dict[str, Callable[[], dict[str, Any]]]:
    """The JSON Schemas of the data files' lines (the rule files' come from their kinds)."""
    from ..events import event_json_schema
    from ..model import Case, Decision
    from ..settlement.ledger import LedgerLine
    from ..settlement.reconcile import ClaimLine

    return {
        "case": Case.model_json_schema,
        "decision": lambda: Decision.model_json_schema(mode="serialization"),
        "event": event_json_schema,
        "ledger": LedgerLine.model_json_schema,
        "claim": ClaimLine.model_json_schema,
    }


#: What ``dunning schema`` knows: each data line, then each rule file kind with a schema.
SCHEMA_KINDS = (
    "case",
    "decision",
    "event",
    "ledger",
    "claim",
    *tuple(kind.name for kind in FILE_KINDS if kind.schema is not None),
)


def run_schema(args: argparse.Namespace) -> int:
    """``dunning schema KIND``: the JSON Schema of a line or a rule file."""
    data = _data_schemas()
    if args.kind in data:
        schema = data[args.kind]()
    else:
        schema = next(kind for kind in FILE_KINDS if kind.name == args.kind).json_schema()
    json.dump(schema, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK
