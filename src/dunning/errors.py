"""The one exception tree of dunning.

::

    DunningError                  anything this library raises on purpose
    ├── ConfigError     a bad option handed to the library (bucket bands, allocation order)
    └── CaseError       a case that cannot be used; lists every problem with its field path

Catch ``DunningError`` to handle everything the library reports; the subclasses carry the details
a host needs to show the problem to the person who can fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


class DunningError(Exception):
    """Base of every error dunning raises on purpose."""


class ConfigError(DunningError, ValueError):
    """An option given to the library is invalid (for example overlapping bucket bands)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a case.

    Attributes:
        path: Where in the case, as a field path such as ``payments[2].amount``; empty for
            the case as a whole.
        code: A stable, machine-readable code such as ``missing`` or ``currency_mismatch``.
        message: What is wrong, in words a person can act on.
    """

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<case>'}: {self.message} [{self.code}]"


class CaseError(DunningError, ValueError):
    """A case failed validation or cannot be assessed.

    Attributes:
        case_id: The case's id when it could be read, else ``None``.
        problems: Every problem found, not only the first.
        line: The 1-based line of the input the case came from, when read from JSON Lines.
    """

    def __init__(
        self, case_id: str | None, problems: list[Problem], *, line: int | None = None
    ) -> None:
        self.case_id = case_id
        self.problems = tuple(problems)
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"case {self.case_id!r}" if self.case_id is not None else "case without a case_id"
        if self.line is not None:
            where = f"line {self.line}: {where}"
        count = len(self.problems)
        head = f"{where}: {count} problem{'s' if count != 1 else ''}"
        return "\n  ".join([head, *(str(p) for p in self.problems)])

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready record of this error (used by batch output)."""
        return {
            "line": self.line,
            "case_id": self.case_id,
            "errors": [
                {"path": p.path, "code": p.code, "message": p.message} for p in self.problems
            ],
        }
