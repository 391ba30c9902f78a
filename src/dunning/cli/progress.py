"""Progress of a long run on a terminal: cases read and cases per second, on standard error.

Shown only where a person watches: standard error is a terminal, and the output does not
stream to that same terminal (``--format jsonl`` on a screen would be torn by it). Never in a
pipe, a file or a captured run; ``TQDM_DISABLE=1`` turns it off everywhere. Drawn by tqdm, and
wiped when the run ends, so that what stays on the screen is the command's own output.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


def wanted(*, streaming: bool) -> bool:
    """Whether to show progress: on a terminal, away from the output."""
    err, out = sys.stderr, sys.stdout
    try:
        if not err.isatty():
            return False
        return not (streaming and out.isatty())
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


@contextlib.contextmanager
def progress(what: str, *, streaming: bool) -> Iterator[Callable[[int], object]]:
    """A function to call with each number of cases done; draws nothing unless :func:`wanted`.

    Args:
        what: What the run is doing (``deciding``).
        streaming: Whether the output streams as the run goes (``--format jsonl``).
    """
    if not wanted(streaming=streaming):
        yield _nothing
        return
    from tqdm import tqdm

    with tqdm(
        desc=f"dunning: {what}",
        unit=" cases",
        file=sys.stderr,
        leave=False,
        mininterval=0.5,
        dynamic_ncols=True,
        unit_scale=True,
    ) as bar:
        yield bar.update


def _nothing(count: int) -> None:
    return None
