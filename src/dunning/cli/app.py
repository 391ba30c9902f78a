"""The command's run: parse, dispatch, and turn every way a run can end into its exit status."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import DunningError, PolicyError
from .common import (
    CTRL_C,
    EXIT_INTERRUPTED,
    EXIT_PIPE,
    EXIT_REJECTED,
    EXIT_USAGE,
    Usage,
    WorkerFailed,
    print_diagnostics,
)
from .parser import build_parser


@contextlib.contextmanager
def ctrl_c() -> Iterator[None]:
    """Ctrl-C that no C extension can swallow.

    A KeyboardInterrupt raised while C code calls back into Python (pydantic-core serialising a
    ``Decimal``, say) is reported as "Exception ignored" and dropped: the run would go on to
    the end. The handler also remembers the interrupt; the command's loops stop at the next case
    (:meth:`Interrupt.check`), and the hook keeps the dropped exception's noise off the screen.
    """
    CTRL_C.seen = False
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook

    def interrupted(signum: int, frame: Any) -> None:
        CTRL_C.seen = True
        raise KeyboardInterrupt

    def unraisable(what: Any) -> None:
        if isinstance(what.exc_value, KeyboardInterrupt):
            CTRL_C.seen = True
            return
        hook(what)

    signal.signal(signal.SIGINT, interrupted)
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dunning`` command; return its exit status.

    0 ok, 1 rejected input, 2 usage; 130 interrupted (Ctrl-C), 141 output closed (``| head``).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        with ctrl_c():
            status = int(_command(args.run)(args))
        if CTRL_C.seen:  # swallowed by C code on the way: said here
            raise KeyboardInterrupt
        return status
    except BrokenPipeError:
        # The reader went away (| head): nothing more can be said to it. Standard output is
        # pointed at /dev/null so that the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    except KeyboardInterrupt:
        print("dunning: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (Usage, WorkerFailed) as exc:
        print(f"dunning: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PolicyError as exc:
        print_diagnostics(exc.diagnostics, sys.stderr)
        return EXIT_REJECTED
    except DunningError as exc:
        print(f"dunning: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception:
        if not CTRL_C.seen:
            raise
        # Ctrl-C came while C code ran Python (pydantic-core turns it into its own error).
        print("dunning: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    """The ``run`` function a subcommand names (``module.function`` in this package)."""
    module, _, function = name.rpartition(".")
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)  # type: ignore[no-any-return]
