"""Running a command in a process of its own: its wall time and peak resident memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time

# A small parent forks the command and reports the child's ru_maxrss; the command's output goes
# to /dev/null, not into this process.
_MEASURE = """
import os, resource, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measured(command: list[str]) -> tuple[float, int, int]:
    """Run ``command``: wall seconds, peak RSS in KiB, exit code."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    elapsed = time.perf_counter() - started
    *_, last = done.stdout.splitlines() or ["0 1"]
    peak, status = (int(x) for x in last.split())
    return elapsed, peak, status
