"""The rule front end in one call: a policy file's text → its checked IR and its diagnostics.

Stages, one module each: ``source`` (YAML with positions), ``reader`` (reading that tree),
``expr`` (the expression language's parser, over ``nodes``), ``schema`` (the shape of a policy
file), ``guard_config`` (its guards), and the checker (``checker`` with ``params``,
``typecheck``, ``outcomes``, ``assessment`` and ``coverage``), which produces the ``ir``. The
rest of the library calls only :func:`compile_policy`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .checker import check_policy
from .guard_config import GuardProfile, profile_table
from .ir import PolicyIR
from .schema import read_policy
from .source import MAX_FILE_BYTES, Pos, Source, load_yaml

__all__ = ["GuardProfile", "compile_bytes", "compile_file", "compile_policy", "read_text"]


def compile_policy(
    label: str,
    text: str,
    params: Mapping[str, Any] | None = None,
    profiles: Iterable[GuardProfile] = (),
) -> tuple[PolicyIR | None, Source]:
    """Check a policy's text; return its IR (``None`` if it has errors) and its diagnostics.

    Args:
        label: The file name diagnostics give.
        text: The policy file's text.
        params: Parameter values that override the file's defaults.
        profiles: Guard profiles besides the built-in ones.

    Raises:
        ConfigError: If ``profiles`` is not a list of distinct :class:`GuardProfile`.
    """
    table = profile_table(profiles)
    source = Source(label, text)
    root = load_yaml(source)
    if root is None:
        return None, source
    raw = read_policy(root, source)
    # Check names and types even when the structure had errors, so that one run reports all.
    ir = check_policy(raw, dict(params or {}), table)
    return (None if source.failed else ir), source


def compile_file(
    path: Path, params: Mapping[str, Any] | None = None, profiles: Iterable[GuardProfile] = ()
) -> tuple[PolicyIR | None, Source, bytes]:
    """Read and check a policy file; also return its bytes (for the policy's digest).

    The file is read once, and at most ``MAX_FILE_BYTES`` + 1 bytes of it: a device or a pipe
    that never ends is refused as too large, not read until memory runs out.
    """
    source, content = read_text(path)
    if source.failed:
        return None, source, content
    ir, source = compile_policy(str(path), source.text, params, profiles)
    return ir, source, content


def compile_bytes(
    label: str,
    content: bytes,
    params: Mapping[str, Any] | None = None,
    profiles: Iterable[GuardProfile] = (),
) -> tuple[PolicyIR | None, Source]:
    """Check a policy file's bytes (UTF-8), as :func:`compile_file` checks the file."""
    source, _ = read_text(None, label, content)
    if source.failed:
        return None, source
    return compile_policy(label, source.text, params, profiles)


def read_text(path: Path | None, label: str = "", content: bytes = b"") -> tuple[Source, bytes]:
    """Read a rule file of any kind (or take its bytes): its text as a :class:`Source`.

    At most ``MAX_FILE_BYTES`` + 1 bytes are read; a file that cannot be read, is larger, or
    is not UTF-8 gives a source with that diagnostic. Newlines are universal, as
    ``Path.read_text`` makes them, so that positions count lines alike.
    """
    if path is not None:
        label = str(path)
        try:
            with open(path, "rb") as stream:
                content = stream.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            source = Source(label, "")
            source.report(
                Pos(1, 1), "unreadable", f"cannot read the rule file: {exc.strerror or exc}"
            )
            return source, b""
    if len(content) > MAX_FILE_BYTES:
        source = Source(label, "")
        source.report(Pos(1, 1), "too-large", f"rule file is larger than {MAX_FILE_BYTES} bytes")
        return source, content
    try:
        text = content.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        source = Source(label, "")
        line = content[: exc.start].count(b"\n") + 1
        column = exc.start - (content.rfind(b"\n", 0, exc.start) + 1) + 1
        source.report(
            Pos(line, column), "unreadable", f"the rule file is not UTF-8 text: {exc.reason}"
        )
        return source, content
    return Source(label, text), content
