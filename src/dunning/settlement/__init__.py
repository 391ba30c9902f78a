"""Settlement: the lender's money after placement — ledger, statements, reconciliation, costs.

A wing of its own (docs/contributing.md): :mod:`.ledger` reads the payment ledger,
:mod:`.statements` settles it against the placement events into commission statements,
:mod:`.reconcile` matches an agency's claim with its statement, :mod:`.costs` measures what
collection cost. Names load on first use (the functions ``reconcile`` and so on are
``dunning.reconcile``; here the names are the modules).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .costs import CostReport, cost_report
    from .ledger import LedgerLine, read_ledger, read_ledger_table
    from .reconcile import ClaimLine, Reconciliation, read_claim, read_claim_table
    from .statements import (
        CATEGORIES,
        Accounting,
        Period,
        SettledLine,
        Settlement,
        Statement,
        Tally,
        settle,
    )

__getattr__, __dir__ = attach(__name__, __file__)

__all__ = [
    "CATEGORIES",
    "Accounting",
    "ClaimLine",
    "CostReport",
    "LedgerLine",
    "Period",
    "Reconciliation",
    "SettledLine",
    "Settlement",
    "Statement",
    "Tally",
    "cost_report",
    "read_claim",
    "read_claim_table",
    "read_ledger",
    "read_ledger_table",
    "settle",
]
