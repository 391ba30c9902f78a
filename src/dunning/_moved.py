"""Modules that moved into the wings, still importable by their old paths (with a warning).

``from dunning.ledger import read_ledger`` keeps working, giving ``dunning.settlement.ledger``
itself (the same module object, not a copy) and a ``DeprecationWarning`` naming the new path.
The old modules ``intake``, ``assign``, ``audit``, ``performance`` and ``reconcile`` are not
aliased: their paths are the public functions ``dunning.intake`` and so on, which an aliased
module would replace (CHANGELOG.md lists every moved name).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MOVED", "install"]

#: Old module path → new module path.
MOVED = {
    "dunning.ledger": "dunning.settlement.ledger",
    "dunning.costs": "dunning.settlement.costs",
    "dunning.collectors": "dunning.agency.collectors",
    "dunning.procedure": "dunning.agency.procedure",
    "dunning.proceduretests": "dunning.agency.proceduretests",
    "dunning.bundle": "dunning.agency.bundle",
    "dunning.document": "dunning.reports.document",
    "dunning.html": "dunning.reports.html",
    "dunning.charts": "dunning.reports.charts",
    "dunning.export": "dunning.reports.export",
    "dunning.locales": "dunning.reports.locales",
}


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path's module at its new path."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2
        )
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the new one, already loaded."""


_FINDER = _Finder()


def install() -> None:
    """Let the old paths be imported (once per process)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
