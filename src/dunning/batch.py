"""Batches: records with their line numbers, files read in blocks, and an ordered worker pool.

Every reader of a file of records (cases, ledger lines, claims, events) yields one result per
non-blank line, in order, and remembers the line of the result it gave last (:class:`Numbered`),
so that an error found later — a product the policy does not cover, a payment for an unknown
case — still names its line. A command reads its input in blocks of whole lines
(:func:`blocks`): the ``--jobs`` workers decide a block each, and the parent only moves bytes.

A batch whose rules read the portfolio figure and that is not given one counts its own overdue
borrowers first (:func:`count_first`), then is read again from the start: a pipe is copied to a
temporary file for that (:func:`rereadable`). The command line, the Spark functions and the Dask
and Ray recipes of docs/cluster.md all count a batch this way — over the whole batch, never per
block.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import shutil
import signal
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import IO, Any, BinaryIO, TypeVar, cast

from .errors import CaseError, DunningError, Problem

__all__ = [
    "BLOCK",
    "MAX_LINE",
    "Numbered",
    "Overlong",
    "WorkerLost",
    "Workers",
    "blocks",
    "bounded_lines",
    "count_first",
    "line_of",
    "lines",
    "numbered",
    "rereadable",
    "result_line",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
R = TypeVar("R")

#: Bytes of input read (and, with ``--jobs``, decided by one worker) at a time.
BLOCK = 1 << 20
#: The longest line of an event log or a bank's JSON Lines file: far beyond any real record, and
#: a bound on what one line can cost (a log with a 1 GiB line is not held whole).
MAX_LINE = 8 * 1024 * 1024


class Overlong(bytes):
    """A line longer than :data:`MAX_LINE`, as its first bytes: readers refuse it."""


def bounded_lines(stream: IO[bytes], limit: int = MAX_LINE) -> Iterator[bytes]:
    """The stream's lines, each read with a bound.

    A longer line comes as an :class:`Overlong` of its first bytes; the rest is skipped, never
    held in memory.
    """
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            head = line[:64]
            while line and not line.endswith(b"\n"):
                line = stream.readline(limit + 1)
            yield Overlong(head)
            continue
        # A lone carriage return ends a line too, as in lines() (a file saved with Mac line
        # ends): every reader counts the same lines. JSON text never holds a raw one.
        yield from line.splitlines(keepends=True) if b"\r" in line[:-2] else (line,)


class Numbered(Iterator[T_co]):
    """Items read from a file, remembering the line (or row) of the item given last.

    A consumer (``decide_many``, ``settle``, ``reconcile``) reads ``line`` after each item, so
    that its records name the file's line whether the item was read or rejected; ``last`` is
    the item itself.
    """

    def __init__(
        self, numbered: Iterable[tuple[int, T_co]], *, check: Callable[[], None] | None = None
    ) -> None:
        self._numbered = iter(numbered)
        self._check = check
        self.line: int | None = None
        self.last: T_co | None = None  # the item given last

    def __iter__(self) -> Numbered[T_co]:
        return self

    def __next__(self) -> T_co:
        if self._check is not None:
            self._check()
        self.line, self.last = next(self._numbered)
        return self.last

    def checked(self, check: Callable[[], None]) -> Numbered[T_co]:
        """The rest of these items, calling ``check`` before each (the CLI's Ctrl-C check)."""
        return Numbered(self._numbered, check=check)


def numbered(
    lines: Iterable[str | bytes], parse: Callable[[str | bytes, int], T], *, start: int = 1
) -> Iterator[tuple[int, T | CaseError]]:
    """Each non-blank line parsed, with its number (the first line is ``start``).

    Blank lines are separators, not records. A line ``parse`` refuses, or one that is not text
    at all, is its ``CaseError``, carrying the line.
    """
    for number, text in enumerate(lines, start=start):
        if not isinstance(text, str | bytes):
            problem = Problem("", "not_an_object", f"a line is text, not {type(text).__name__}")
            yield number, CaseError(None, [problem], line=number)
            continue
        if not text.strip():
            continue
        try:
            yield number, parse(text, number)
        except CaseError as error:
            yield number, error


def line_of(source: object) -> int | None:
    """The line of the item ``source`` gave last, when it is a reader that knows it."""
    line = getattr(source, "line", None)
    return line if isinstance(line, int) else None


def blocks(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Cut a byte stream into blocks of whole lines: (number of the first line, the bytes).

    The lines themselves are split by the reader of each block: the parent of ``--jobs`` workers
    only moves blocks, so that it does not become the bottleneck.
    """
    number, rest = 1, b""
    while data := stream.read(BLOCK):
        data = rest + data
        cut = data.rfind(b"\n") + 1
        block, rest = data[:cut], data[cut:]
        if block:
            yield number, block
            # Lines as bytes.splitlines counts them: \n, \r\n, and a lone \r.
            number += block.count(b"\n")
            if b"\r" in block:  # rare: scanning for it costs more than the \n count
                number += block.count(b"\r") - block.count(b"\r\n")
    if rest:
        yield number, rest


def lines(stream: BinaryIO) -> Iterator[bytes]:
    """The lines of a byte stream, read a block at a time (memory stays flat)."""
    for _, block in blocks(stream):
        yield from block.splitlines()


@contextlib.contextmanager
def rereadable(stream: BinaryIO, needed: bool) -> Iterator[BinaryIO]:
    """The input, readable twice when ``needed`` (the batch must count itself first).

    A pipe cannot be read again: it is copied to a temporary file (on disk, so that memory
    stays flat whatever its size) and read from there.
    """
    if not needed or stream.seekable():
        yield stream
        return
    with tempfile.TemporaryFile() as copy:
        shutil.copyfileobj(stream, copy, BLOCK)
        copy.seek(0)
        yield cast(BinaryIO, copy)


def count_first(
    stream: BinaryIO,
    overdue: Callable[[bytes], set[str]],
    workers: Workers | None = None,
) -> int:
    """The distinct overdue borrowers of a whole batch, read once; the stream is rewound.

    Args:
        stream: The batch, seekable (see :func:`rereadable`).
        overdue: A block of lines to the set of its overdue borrowers (a policy's
            ``overdue_borrowers`` at the run's moment). Sets, not counts: a borrower with
            cases in two blocks is one borrower.
        workers: Count the blocks in these processes (``overdue`` must then be picklable).
    """
    found: set[str] = set()
    jobs = ((block,) for _, block in blocks(stream))
    parts = (overdue(*job) for job in jobs) if workers is None else workers.ordered(overdue, jobs)
    for part in parts:
        found |= part
    stream.seek(0)
    return len(found)


def result_line(result: Any) -> str:
    """One result as its JSON line: a decision's (or any model's) JSON, or the error record."""
    if isinstance(result, CaseError):
        return json.dumps(result.to_dict(), ensure_ascii=False)
    return cast(str, result.model_dump_json())


class WorkerLost(DunningError):
    """A worker process ended without finishing its work (killed, out of memory, crashed)."""


class Workers:
    """An ordered pool of worker processes: results in input order, memory bounded.

    Workers start with Ctrl-C blocked, then ignore it (the parent answers it and ends the pool):
    none prints a traceback, and a Ctrl-C that comes while they start is not lost for the
    parent either — it is delivered when they are up. A worker that dies (killed, out of
    memory, a crash in C code) stops the run with :class:`WorkerLost` instead of leaving it
    waiting for ever (``multiprocessing.Pool`` would). Leaving the ``with`` block ends the
    workers, whatever happened.
    """

    def __init__(
        self, processes: int, initializer: Callable[..., None], initargs: tuple[Any, ...]
    ) -> None:
        self.window = 4 * processes
        self._executor = ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(initializer, initargs),
        )

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        # Jobs not started are dropped; one running finishes its block (workers ignore Ctrl-C).
        self._executor.shutdown(wait=True, cancel_futures=True)

    def ordered(self, work: Callable[..., R], jobs: Iterable[tuple[Any, ...]]) -> Iterator[R]:
        """Run ``work`` on each job; results in order, at most ``window`` jobs in flight.

        (``Executor.map`` would read every job ahead — here the whole file — into memory.)

        Raises:
            WorkerLost: If a worker process died.
        """
        pending: deque[Future[R]] = deque()
        try:
            for job in jobs:
                with _sigint_blocked():  # a worker may be started here: it inherits the mask
                    pending.append(self._executor.submit(work, *job))
                if len(pending) >= self.window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise WorkerLost(
                "a worker process ended before finishing its work (killed, out of memory, or "
                "crashed): the run is stopped"
            ) from None


def _start_worker(initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    # Ignored before unblocked: a Ctrl-C pending since the start is dropped, not raised.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    initializer(*initargs)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT blocked while processes start: they inherit the mask, the parent gets it later.

    Ignoring it instead (SIG_IGN) would lose a Ctrl-C pressed while a slow machine starts the
    pool: the run would go on to the end.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
