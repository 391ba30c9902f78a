"""Policy strategies for the engine tests: the public generator, and values worth hitting."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dunning.testing import policy_texts

__all__ = ["fact_value_overrides", "policy_texts"]


def fact_value_overrides() -> dict[str, Any]:
    """Values worth hitting often: zeros (division), edges, and the 0.1 + 0.2 trap."""
    return {
        "total_due": [Decimal("0.30"), Decimal("0.00"), Decimal("5000.00")],
        "overdue_principal": [Decimal("0.10"), Decimal("0.00")],
        "overdue_interest": [Decimal("0.20")],
        "dpd": [0, 30, 31, 90, 91],
    }
