"""The ``dunning`` command line.

The decision: ``check`` (rule files of every kind), ``decide``, ``explain``, ``assess``,
``test`` (analyst test files), ``diff`` (two policies over one book), ``schema``. The lender's
placements and money: ``place``, ``settle``, ``reconcile``, ``costs``. The agency's month:
``intake``, ``assign``, ``handover``, ``export``, ``verify``, ``import``, ``audit``,
``performance``. docs/cli.md describes each.

The package: :mod:`~dunning.cli.app` runs a command (exit statuses, Ctrl-C, broken pipes);
:mod:`~dunning.cli.parser` is the argument tree, built from the shared options of
:mod:`~dunning.cli.options`; each wing's commands live in :mod:`~dunning.cli.decisions`,
:mod:`~dunning.cli.placing`, :mod:`~dunning.cli.money`, :mod:`~dunning.cli.agency` and
:mod:`~dunning.cli.rulefiles`; :mod:`~dunning.cli.output` writes every report in every format,
and :mod:`~dunning.cli.progress` shows a long run's progress on a terminal.
"""

from __future__ import annotations

from .app import main
from .common import EXIT_INTERRUPTED, EXIT_OK, EXIT_PIPE, EXIT_REJECTED, EXIT_USAGE

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PIPE", "EXIT_REJECTED", "EXIT_USAGE", "main"]
