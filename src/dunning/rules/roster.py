"""Roster files: YAML lists of records under one key (agencies, collectors), and their kin.

The agencies, collectors and procedure files are read alike: limits checked while reading, every
record validated by its model, every problem reported at its line and column (compiler style).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..cases import problems_of
from ..errors import ArgumentError
from .frontend import read_text
from .reader import Reader, plain
from .source import MAX_FILE_BYTES, PMap, PNode, Pos, PSeq, Source

__all__ = [
    "is_roster_file",
    "read_records",
    "read_roster_path",
    "read_roster_text",
    "roster_json_schema",
]

M = TypeVar("M", bound=BaseModel)


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
