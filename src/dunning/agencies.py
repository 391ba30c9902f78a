"""The agencies file: the collection agencies a lender places cases with, and their contracts.

An agencies file (``rules/agencies.yaml``) lists each agency's id, name and contact details for
the borrower's notice, the products and regions it serves, its capacity, its contract's dates
and status, the placement term and review date, and the contract's commission bands. It is
read like a policy: YAML with positions, every problem reported at once, compiler style. Hosts
may also build :class:`Agencies` from :class:`~dunning.Agency` objects in Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ArgumentError, ConfigError, Diagnostic, PolicyError
from .model import Agency
from .rules.roster import (
    is_roster_file,
    read_records,
    read_roster_path,
    read_roster_text,
    roster_json_schema,
)
from .rules.source import PNode, Source, load_yaml

__all__ = [
    "MAX_AGENCIES",
    "Agencies",
    "agencies_json_schema",
    "check_agencies_file",
    "is_agencies_file",
    "load_agencies",
    "loads_agencies",
]

TOP_KEYS = ("agencies", "description")
#: Agencies in one file: allocation compares every case with every agency.
MAX_AGENCIES = 500


@dataclass(frozen=True)
class Agencies:
    """The agencies a lender works with, by id: immutable, safe to share between threads.

    Attributes:
        agencies: Every agency, in file order.
        digest: ``sha256:…`` of the file's bytes (of the agencies' JSON when built in Python),
            named in every placement event.
        path: The file it was read from (``None`` when built in Python).
    """

    agencies: tuple[Agency, ...]
    digest: str = ""
    path: str | None = None
    _by_id: dict[str, Agency] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.agencies, tuple) or not all(
            isinstance(a, Agency) for a in self.agencies
        ):
            raise ArgumentError("Agencies takes a tuple of dunning.Agency")
        seen: dict[str, Agency] = {}
        for agency in self.agencies:
            if agency.agency_id in seen:
                raise ConfigError(f"agency id {agency.agency_id!r} is listed twice")
            seen[agency.agency_id] = agency
        if len(seen) > MAX_AGENCIES:
            raise ConfigError(f"more than {MAX_AGENCIES} agencies")
        self._by_id.update(seen)
        if not self.digest:
            text = "\n".join(a.model_dump_json() for a in self.agencies).encode()
            object.__setattr__(self, "digest", "sha256:" + hashlib.sha256(text).hexdigest())

    @classmethod
    def of(cls, agencies: Iterable[Agency]) -> Agencies:
        """Build from ``Agency`` objects (ids must be distinct)."""
        if isinstance(agencies, Agency) or not isinstance(agencies, Iterable):
            raise ArgumentError("Agencies.of takes an iterable of dunning.Agency")
        return cls(tuple(agencies))

    def get(self, agency_id: str) -> Agency | None:
        """The agency with ``agency_id``, or ``None``."""
        return self._by_id.get(agency_id)

    def __iter__(self) -> Iterator[Agency]:
        return iter(self.agencies)

    def __len__(self) -> int:
        return len(self.agencies)

    def __contains__(self, agency_id: object) -> bool:
        return agency_id in self._by_id


def load_agencies(path: str | Path) -> Agencies:
    """Read and check an agencies file.

    Raises:
        PolicyError: With every problem of the file, each at its line and column.
    """
    return _agencies(*read_roster_path(path))


def loads_agencies(text: str | bytes, *, name: str = "<agencies>") -> Agencies:
    """Read an agencies file from its text, as :func:`load_agencies` reads a file."""
    return _agencies(*read_roster_text(text, name))


def is_agencies_file(path: str | Path) -> bool:
    """Whether a rule file is an agencies file (its top level has ``agencies:``, no ``policy:``).

    Lets ``dunning check rules/`` check each file of a folder as what it is.
    """
    return is_roster_file(path, "agencies")


def check_agencies_file(path: str | Path) -> list[Diagnostic]:
    """Every problem of an agencies file, without raising (as ``dunning check`` shows them)."""
    try:
        load_agencies(path)
    except PolicyError as exc:
        return list(exc.diagnostics)
    return []


def agencies_json_schema() -> dict[str, Any]:
    """A JSON Schema of agencies files, for editors (VS Code YAML) to validate and complete."""
    return roster_json_schema(Agency, "agencies", "dunning agencies file", MAX_AGENCIES)


def _agencies(source: Source, content: bytes) -> Agencies:
    found: list[Agency] = []
    root = None if source.failed else load_yaml(source)
    if root is not None:
        found = _read(root, source)
    if source.failed:
        raise PolicyError(source.diagnostics)
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    return Agencies(tuple(found), digest, source.path)


def _read(root: PNode, source: Source) -> list[Agency]:
    return read_records(
        root,
        source,
        key="agencies",
        model=Agency,
        id_field="agency_id",
        noun="agency",
        maximum=MAX_AGENCIES,
        top_keys=TOP_KEYS,
    )
