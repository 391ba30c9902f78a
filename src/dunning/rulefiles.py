"""The kinds of rule file: policies, agencies, collectors and procedure files, in one table.

Every rule file is YAML read with positions, and each kind is told apart by its top-level key
(``agencies:``, ``collectors:``, ``procedure:``; a file with none of them, or with ``policy:``,
is a policy). For each kind the table names how to load and check it and, where it has one,
its JSON Schema; ``dunning check`` and ``dunning schema`` read the table, so a new kind of
file is one entry here (docs/contributing.md).

The functions are named by module, not imported: a kind's module — and its wing — loads only
when a file of that kind is read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Diagnostic

__all__ = ["FILE_KINDS", "FileKind", "kind_of"]


@dataclass(frozen=True)
class FileKind:
    """One kind of rule file; its functions as ``module:name``.

    Attributes:
        name: Its name (``dunning schema NAME``).
        key: The top-level key that marks it; ``None`` for the policy, the kind by default.
        loader: Its ``load_*`` function (a path to the loaded object, or ``PolicyError``).
        checker: Its ``check_*`` function (a path to every diagnostic, never raising).
        schema: Its JSON Schema function, if it has one.
        detector: Its ``is_*_file`` function.
    """

    name: str
    key: str | None
    loader: str
    checker: str
    schema: str | None = None
    detector: str | None = None

    def load(self, path: str | Path) -> Any:
        """Read and check a file of this kind (raises ``PolicyError`` with every problem)."""
        return _function(self.loader)(path)

    def check(self, path: str | Path, params: Mapping[str, str] | None = None) -> list[Diagnostic]:
        """Every problem of a file of this kind (``params`` override a policy's parameters)."""
        if self.key is None:
            return list(_function(self.checker)(path, params=params or None))
        return list(_function(self.checker)(path))

    def json_schema(self) -> dict[str, Any]:
        """Its JSON Schema, for editors to validate and complete files of this kind."""
        if self.schema is None:
            raise LookupError(f"{self.name} files have no JSON Schema")
        return dict(_function(self.schema)())

    def holds(self, path: str | Path) -> bool:
        """Whether the file at ``path`` is of this kind (by its top-level keys)."""
        return self.detector is not None and bool(_function(self.detector)(path))


#: Every kind of rule file; the policy, the kind by default, last.
FILE_KINDS: tuple[FileKind, ...] = (
    FileKind(
        name="agencies",
        key="agencies",
        loader="dunning.agencies:load_agencies",
        checker="dunning.agencies:check_agencies_file",
        schema="dunning.agencies:agencies_json_schema",
        detector="dunning.agencies:is_agencies_file",
    ),
    FileKind(
        name="collectors",
        key="collectors",
        loader="dunning.agency.collectors:load_collectors",
        checker="dunning.agency.collectors:check_collectors_file",
        schema="dunning.agency.collectors:collectors_json_schema",
        detector="dunning.agency.collectors:is_collectors_file",
    ),
    FileKind(
        name="procedure",
        key="procedure",
        loader="dunning.agency.procedure:load_procedure",
        checker="dunning.agency.procedure:check_procedure_file",
        schema="dunning.agency.procedure:procedure_json_schema",
        detector="dunning.agency.procedure:is_procedure_file",
    ),
    FileKind(
        name="policy",
        key=None,
        loader="dunning.policy:load_policy",
        checker="dunning.policy:check_file",
        schema="dunning.rules.schema:policy_json_schema",
    ),
)


def _function(where: str) -> Callable[..., Any]:
    module, _, name = where.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def kind_of(path: str | Path) -> FileKind:
    """The kind of the rule file at ``path``: the first whose key it has, else a policy."""
    for kind in FILE_KINDS:
        if kind.key is None or kind.holds(path):
            return kind
    raise AssertionError("the policy is the last kind")  # pragma: no cover
