"""What every command shares: exit codes, usage errors, Ctrl-C, opening inputs, reading cases."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, BinaryIO, TextIO, TypeVar

from ..batch import Numbered, blocks, count_first, lines
from ..cases import read_numbered
from ..debtors import DebtorContacts
from ..errors import CaseError, Diagnostic
from ..events import Event, read_events
from ..model import Case
from ..portfolio import Portfolio

if TYPE_CHECKING:  # the policy loads its engines: settle and costs read only its terms
    from ..policy import Policy

T = TypeVar("T")

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
#: As a shell reports a command ended by SIGINT (Ctrl-C) or SIGPIPE: 128 + the signal.
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141


class Usage(Exception):
    """A usage error detected after argument parsing (exit 2)."""


class WorkerFailed(Exception):
    """A --jobs worker could not do its work: the run stops with this message (exit 2)."""


class Interrupt:
    """Whether Ctrl-C was pressed during the command (see :func:`dunning.cli.app.ctrl_c`)."""

    seen = False

    def check(self) -> None:
        """Stop here if Ctrl-C was pressed and the interrupt got lost on the way."""
        if self.seen:
            raise KeyboardInterrupt


CTRL_C = Interrupt()


def print_diagnostics(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    """Diagnostics compiler style, then how many errors and warnings."""
    for diagnostic in diagnostics:
        print(diagnostic, file=out)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    print(f"{errors} error(s), {warnings} warning(s)", file=out)


def params_of(pairs: list[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` pairs as a mapping (a usage error for a bad pair)."""
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise Usage(f"--param takes NAME=VALUE, got {pair!r}")
        params[name.strip()] = value.strip()
    return params


def open_text(path: str) -> TextIO:
    """A text input (``-``: standard input); a usage error if it cannot be read."""
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise Usage(f"cannot read {path}: {exc.strerror}") from None


def open_binary(path: str) -> BinaryIO:
    """A byte input (``-``: standard input); a usage error if it cannot be read."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise Usage(f"cannot read {path}: {exc.strerror}") from None


def open_cases(path: str) -> BinaryIO:
    """A file of cases, one a line; a usage error, said once, for one pretty-printed document.

    A case written over several lines (the docs' ``examples/case.json``) read as JSON Lines was
    an ``invalid_json`` error per line; its first line alone, ``{`` or ``[``, says what it is.
    """
    stream = open_binary(path)
    head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""
    first = head.removeprefix(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)[0].strip()
    if first in (b"{", b"["):
        shown = "the input" if path == "-" else path
        stream.close()
        each = "." if first == b"{" else "'.[]'"
        source = "FILE" if path == "-" else path
        raise Usage(
            f"{shown} is one JSON document written over several lines, not JSON Lines (a case "
            f"a line): put each case on a line of its own (jq -c {each} {source} > cases.jsonl), "
            "or explain a single case with dunning explain"
        )
    return stream


class Output:
    """A file the user named as output, never harmed by a run that fails.

    Written beside its path under a temporary name (owner-only) and renamed over it only when
    the command ends well: a failed run leaves an existing file as it was, and a reader of the
    path never sees half a report. A path that is one of the command's inputs is refused before
    any work (``--out ledger.jsonl ledger.jsonl`` would have emptied the ledger).
    """

    def __init__(
        self, path: str, args: argparse.Namespace, *, option: str, binary: bool = False
    ) -> None:
        refuse_input(path, args, option)
        if os.path.isdir(path):
            raise Usage(f"cannot write {path}: it is a folder ({option} names a file)")
        self.path = path
        folder, name = os.path.split(os.path.abspath(path))
        try:
            handle, self._temporary = tempfile.mkstemp(
                dir=folder, prefix=f".{name}.", suffix=".part"
            )
        except OSError as exc:
            raise Usage(f"cannot write {path}: {exc.strerror or exc}") from None
        self.file: IO[Any] = (
            os.fdopen(handle, "wb")
            if binary
            else os.fdopen(handle, "w", encoding="utf-8", newline="")
        )

    def __enter__(self) -> Output:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.file.close()
        if error is None:
            os.replace(self._temporary, self.path)
        else:
            with contextlib.suppress(OSError):
                os.unlink(self._temporary)


def refuse_input(path: str, args: argparse.Namespace, option: str) -> None:
    """A usage error if ``path`` is a file the command reads (any other path argument)."""
    if not os.path.exists(path):
        return
    for name, value in vars(args).items():
        if name in OUTPUTS:
            continue
        for given in value if isinstance(value, list) else [value]:
            if not isinstance(given, str) or given in ("", "-"):
                continue
            for candidate in (given, given.rpartition("=")[0]):  # PATH=DATE (--snapshot)
                if candidate and os.path.exists(candidate) and os.path.samefile(candidate, path):
                    raise Usage(f"{option} {path} is an input of this command ({given})")


#: The arguments that name what a command writes.
OUTPUTS = frozenset({"out", "changed", "sheets", "bundle"})


def load_policy_of(args: argparse.Namespace) -> Policy:
    """The policy of ``--policy``, ``--engine`` and ``--param``."""
    from ..policy import load_policy

    return load_policy(args.policy, engine=args.engine, params=params_of(args.param) or None)


def moment_of(args: argparse.Namespace, policy: Policy) -> datetime:
    """The run's moment: ``--as-of`` in the policy's time zone, or now."""
    if args.as_of is None:
        return datetime.now(policy.timezone).replace(microsecond=0)
    return policy.moment(args.as_of)


def run_of(policy: Policy, moment: datetime) -> dict[str, Any]:
    """The policy and moment of a run, as its JSON report names them."""
    return {
        "policy": {"name": policy.name, "version": policy.version, "digest": policy.digest},
        "as_of": moment.isoformat(),
    }


def reject(error: CaseError, source: str, jsonl: bool) -> None:
    """An error record (JSON lines), or the error on standard error (tables)."""
    if jsonl:
        record = {"input": source, **error.to_dict()}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        print(f"dunning: {source}: {error}", file=sys.stderr)


def read_placements(path: str | None) -> list[Event | CaseError]:
    """The placement events of ``--placements`` (none without it)."""
    if path is None:
        return []
    with open_binary(path) as stream:
        return list(read_events(lines(stream)))


def checked(items: Numbered[T]) -> Numbered[T]:
    """The rest of ``items``, stopping at once on Ctrl-C (C code may have swallowed it)."""
    return items.checked(CTRL_C.check)


def cases_of(stream: BinaryIO, debtors: DebtorContacts | None = None) -> Numbered[Case | CaseError]:
    """Each non-blank line of a JSON Lines stream of cases, parsed, read a block at a time."""
    return Numbered(numbered_cases(stream, debtors))


def numbered_cases(
    stream: BinaryIO, debtors: DebtorContacts | None = None
) -> Iterator[tuple[int, Case | CaseError]]:
    """:func:`cases_of` as (line number, case or its reading error).

    With ``debtors``, each case carries the recent contacts of its borrower's other cases.
    """
    for first, block in blocks(stream):
        yield from shared(block_cases(first, block), debtors)


def shared(
    numbered: Iterable[tuple[int, Case | CaseError]], debtors: DebtorContacts | None
) -> Iterable[tuple[int, Case | CaseError]]:
    """The cases with their borrower's contacts on other cases (as they are without any)."""
    if not debtors:
        return numbered
    return ((n, debtors.share(c) if isinstance(c, Case) else c) for n, c in numbered)


def debtors_first(stream: BinaryIO, moment: datetime) -> DebtorContacts:
    """A first pass over the batch: each borrower's recent contacts, by case (rewound).

    The daily contact caps count a person's calls across all their debts: a case's decision
    must see the calls its borrower got about the others in the file.
    """
    found = DebtorContacts.of(lines(stream), as_of=moment)
    stream.seek(0)
    return found


def block_cases(first: int, block: bytes) -> Iterable[tuple[int, Case | CaseError]]:
    """Each non-blank line of ``block`` (numbered from ``first``), parsed."""
    return read_numbered(block.splitlines(), start=first)


def product_of(item: Case | CaseError | None) -> str:
    """The product of a case, for the summaries (``?`` for a line that is no case)."""
    return item.loan.product.value if isinstance(item, Case) else "?"


def figure_record(
    policy: Policy, figure: Portfolio | None, *, counted: bool
) -> dict[str, Any] | None:
    """The portfolio figure a run used, as its report states it (None: no rule reads it)."""
    if figure is None or not policy.portfolio_rules:
        return None
    value = figure.overdue_customers
    shown: int | dict[str, int] = value if isinstance(value, int) else dict(value)
    source = "counted" if counted else "given"
    return {"overdue_customers": shown, "source": source, "rules": list(policy.portfolio_rules)}


def say_counted(policy: Policy, figure: Portfolio) -> None:
    """Say on standard error, before any result, the figure counted over the input.

    An input that is not the whole book (a test file of five cases) gives a figure that changes
    decisions: the user must see which one was used. JSON Lines output has no place for it;
    the reports say it in a note (and ``--format json`` as ``portfolio``).
    """
    record = figure_record(policy, figure, counted=True)
    if record is None:
        return
    shown = record["overdue_customers"]
    text = shown if isinstance(shown, int) else ", ".join(f"{k}={v}" for k, v in shown.items())
    print(
        f"dunning: overdue_customers = {text}: the distinct overdue borrowers of this input, "
        f"counted as no --overdue-customers was given (read by {', '.join(record['rules'])}); "
        "give the whole book's figure if this input is not the whole book",
        file=sys.stderr,
    )


def batch_figure(policy: Policy, stream: BinaryIO, moment: datetime) -> Portfolio:
    """The batch's own figure: its distinct overdue borrowers, in a first pass (rewound)."""
    return Portfolio(count_first(stream, lambda block: overdue_in(policy, block, moment)))


def overdue_in(policy: Policy, block: bytes, moment: datetime) -> set[str]:
    """The overdue borrowers of one block of case lines."""
    return policy.overdue_borrowers(block.splitlines(), as_of=moment)
