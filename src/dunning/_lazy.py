"""Packages whose names load on first use (PEP 562), so that a wing costs nothing until used.

A package lists its public names once, as imports under ``if TYPE_CHECKING:`` (what type
checkers and readers see); :func:`attach` reads that block from the package's own source and
imports a name's module when the name is first asked for. ``import dunning`` therefore loads
no engine, no wing and no report until a program uses one.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["attach"]


def attach(package: str, file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, from its ``TYPE_CHECKING`` imports.

    Args:
        package: The package's ``__name__``.
        file: Its ``__init__.py`` (``__file__``).
    """
    table = _exports(Path(file).read_text(encoding="utf-8"))
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = where
        value = getattr(importlib.import_module(module, package), attribute)
        namespace[name] = value  # found once: the next use is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return __getattr__, __dir__


def _exports(source: str) -> dict[str, tuple[str, str]]:
    """Each name imported under ``if TYPE_CHECKING:``: (its relative module, its name there)."""
    table: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.level:
                module = "." * statement.level + (statement.module or "")
                for alias in statement.names:
                    table[alias.asname or alias.name] = (module, alias.name)
    return table
