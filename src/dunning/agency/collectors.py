"""The collectors file: an agency's collectors, their teams, capacity, skills and languages.

Read like an agencies file: YAML with positions, every problem reported at once, compiler style
(``dunning check`` knows it by its top-level ``collectors:``). Hosts may also build
:class:`Collectors` from :class:`~dunning.Collector` objects in Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ArgumentError, ConfigError, Diagnostic, PolicyError
from ..model import Collector
from ..rules.roster import (
    is_roster_file,
    read_records,
    read_roster_path,
    read_roster_text,
    roster_json_schema,
)
from ..rules.source import Source, load_yaml

__all__ = [
    "MAX_COLLECTORS",
    "Collectors",
    "check_collectors_file",
    "collectors_json_schema",
    "is_collectors_file",
    "load_collectors",
    "loads_collectors",
]

TOP_KEYS = ("collectors", "description")
MAX_COLLECTORS = 10_000


@dataclass(frozen=True)
class Collectors:
    """An agency's collectors by id: immutable, safe to share between threads.

    Attributes:
        collectors: Every collector, in file order.
        digest: ``sha256:…`` of the file's bytes (of the collectors' JSON when built in Python).
        path: The file it was read from (``None`` when built in Python).
    """

    collectors: tuple[Collector, ...]
    digest: str = ""
    path: str | None = None
    _by_id: dict[str, Collector] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.collectors, tuple) or not all(
            isinstance(c, Collector) for c in self.collectors
        ):
            raise ArgumentError("Collectors takes a tuple of dunning.Collector")
        for collector in self.collectors:
            if collector.collector_id in self._by_id:
                raise ConfigError(f"collector id {collector.collector_id!r} is listed twice")
            self._by_id[collector.collector_id] = collector
        if len(self._by_id) > MAX_COLLECTORS:
            raise ConfigError(f"more than {MAX_COLLECTORS} collectors")
        if not self.digest:
            text = "\n".join(c.model_dump_json() for c in self.collectors).encode()
            object.__setattr__(self, "digest", "sha256:" + hashlib.sha256(text).hexdigest())

    @classmethod
    def of(cls, collectors: Iterable[Collector]) -> Collectors:
        """Build from ``Collector`` objects (ids must be distinct)."""
        if isinstance(collectors, Collector) or not isinstance(collectors, Iterable):
            raise ArgumentError("Collectors.of takes an iterable of dunning.Collector")
        return cls(tuple(collectors))

    def get(self, collector_id: str) -> Collector | None:
        """The collector with ``collector_id``, or ``None``."""
        return self._by_id.get(collector_id)

    def __iter__(self) -> Iterator[Collector]:
        return iter(self.collectors)

    def __len__(self) -> int:
        return len(self.collectors)

    def __contains__(self, collector_id: object) -> bool:
        return collector_id in self._by_id


def load_collectors(path: str | Path) -> Collectors:
    """Read and check a collectors file.

    Raises:
        PolicyError: With every problem of the file, each at its line and column.
    """
    return _collectors(*read_roster_path(path))


def loads_collectors(text: str | bytes, *, name: str = "<collectors>") -> Collectors:
    """Read a collectors file from its text, as :func:`load_collectors` reads a file."""
    return _collectors(*read_roster_text(text, name))


def is_collectors_file(path: str | Path) -> bool:
    """Whether a YAML file is a collectors file (top-level ``collectors:``, no ``policy:``)."""
    return is_roster_file(path, "collectors")


def check_collectors_file(path: str | Path) -> list[Diagnostic]:
    """Every problem of a collectors file, without raising (as ``dunning check`` shows them)."""
    try:
        load_collectors(path)
    except PolicyError as exc:
        return list(exc.diagnostics)
    return []


def collectors_json_schema() -> dict[str, Any]:
    """A JSON Schema of collectors files, for editors."""
    return roster_json_schema(Collector, "collectors", "dunning collectors file", MAX_COLLECTORS)


def _collectors(source: Source, content: bytes) -> Collectors:
    found: list[Collector] = []
    root = None if source.failed else load_yaml(source)
    if root is not None:
        found = read_records(
            root,
            source,
            key="collectors",
            model=Collector,
            id_field="collector_id",
            noun="collector",
            maximum=MAX_COLLECTORS,
            top_keys=TOP_KEYS,
        )
    if source.failed:
        raise PolicyError(source.diagnostics)
    return Collectors(tuple(found), "sha256:" + hashlib.sha256(content).hexdigest(), source.path)
