"""The agencies file: the collection agencies a lender places cases with, and their contracts.

An agencies file (``rules/agencies.yaml``) lists each agency's id, name and contact details for
the borrower's notice, the products and regions it serves, its capacity, its contract's dates
and status, the placement term and review date, and the contract's commission bands. It is
read like a policy: YAML with positions, every problem reported at once, compiler style. Hosts
may also build :class:`Agencies` from :class:`~dunning.Agency` objects in Python.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .cases import problems_of
from .errors import ArgumentError, ConfigError, Diagnostic, PolicyError
from .model import Agency
from .rules.frontend import read_text
from .rules.reader import Reader, plain
from .rules.source import MAX_FILE_BYTES, PMap, PNode, Pos, PSeq, Source, load_yaml

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
M = TypeVar("M", bound=BaseModel)
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


# --- roster files: agencies, collectors -------------------------------------------------------


def read_roster_path(path: str | Path) -> tuple[Source, bytes]:
    """A roster file's source and bytes (its limits checked while reading)."""
    if not isinstance(path, str | Path):
        raise ArgumentError(f"path must be a str or a pathlib.Path, not {type(path).__name__}")
    return read_text(Path(path))


def read_roster_text(text: str | bytes, name: str) -> tuple[Source, bytes]:
    """A roster file's source and bytes, from its text."""
    if not isinstance(text, str | bytes):
        raise ArgumentError(f"text must be str or bytes, not {type(text).__name__}")
    content = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return read_text(None, name, content)


def is_roster_file(path: str | Path, key: str) -> bool:
    """Whether a YAML file's top level has ``key:`` and no ``policy:``."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(MAX_FILE_BYTES).decode("utf-8", "replace")
    except OSError:
        return False
    return bool(re.search(rf"^{key}\s*:", head, re.M)) and not re.search(r"^policy\s*:", head, re.M)


def roster_json_schema(
    model: type[BaseModel], key: str, title: str, maximum: int
) -> dict[str, Any]:
    """A JSON Schema of a roster file: ``description`` and a list of ``model`` under ``key``."""
    record = model.model_json_schema()
    definitions = record.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "required": [key],
        "properties": {
            "description": {"type": "string"},
            key: {"type": "array", "items": record, "maxItems": maximum},
        },
        "$defs": definitions,
    }


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
        root, source, key="agencies", model=Agency, id_field="agency_id", noun="agency",
        maximum=MAX_AGENCIES, top_keys=TOP_KEYS,
    )  # fmt: skip


def read_records(
    root: PNode,
    source: Source,
    *,
    key: str,
    model: type[M],
    id_field: str,
    noun: str,
    maximum: int,
    top_keys: tuple[str, ...],
) -> list[M]:
    """The records of a roster file (``agencies:``, ``collectors:``), each validated by ``model``.

    Every problem is reported at its position: unknown keys, a duplicate id, each field's error.
    """
    r = Reader(source)
    top = r.mapping(root, f"{'an' if noun[0] in 'aeiou' else 'a'} {key} file")
    if top is None:
        return []
    r.keys(top, top_keys, f"in {'an' if key[0] in 'aeiou' else 'a'} {key} file")
    r.text(top.get("description"), "description")
    items = r.sequence(r.need(top, key, f"a {key} file"), key)
    if items is None:
        return []
    if len(items.items) > maximum:
        source.report(items.pos, "too-large", f"more than {maximum} {key}")
        return []
    found: list[M] = []
    seen: dict[str, Pos] = {}
    for item in items.items:
        entry = r.mapping(item, f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}")
        if entry is None:
            continue
        given = plain(entry).get(id_field)
        if isinstance(given, str) and given in seen:
            source.report(
                entry.key_pos(id_field),
                "duplicate-key",
                f"{noun} id {given!r} is already used",
                hint=f"the first is on line {seen[given].line}",
            )
            continue
        if isinstance(given, str):
            seen[given] = entry.pos
        try:
            record = model.model_validate(plain(entry))
        except ValidationError as exc:
            for problem, loc in zip(problems_of(exc, model), exc.errors(), strict=True):
                pos = _position(entry, tuple(loc["loc"]), key=problem.code == "extra_forbidden")
                source.report(pos, _CODES.get(problem.code, "bad-value"), _say(problem))
            continue
        found.append(record)
    return found


#: Diagnostic codes for the pydantic errors an agency can have (others are ``bad-value``).
_CODES = {"extra_forbidden": "unknown-key", "missing": "missing-key"}


def _say(problem: Any) -> str:
    where = f"{problem.path}: " if problem.path and problem.code != "extra_forbidden" else ""
    return f"{where}{problem.message}"


def _position(node: PNode, loc: tuple[Any, ...], *, key: bool) -> Pos:
    """Where the value at ``loc`` below ``node`` stands (its key for an unknown field)."""
    for i, part in enumerate(loc):
        if isinstance(node, PMap) and isinstance(part, str) and part in node.items:
            key_node, value = node.items[part]
            if key and i == len(loc) - 1:
                return key_node.pos
            node = value
        elif isinstance(node, PSeq) and isinstance(part, int) and 0 <= part < len(node.items):
            node = node.items[part]
        else:
            break
    return node.pos
