"""Reference rates for the charges cap: the 1-year Loan Prime Rate (LPR) of mainland China.

The LPR (贷款市场报价利率) is published on the 20th of each month by the National Interbank
Funding Center, authorised by the People's Bank of China (https://www.chinamoney.com.cn/,
"LPR"). This table lists every change of the 1-year rate since the LPR reform of 2019-08-20; a
policy can add newer entries in its ``guards.charges_cap.lpr`` list without waiting for a release.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

__all__ = ["LPR_1Y", "LPR_SOURCE", "LprTable"]

LPR_SOURCE = "National Interbank Funding Center, 1-year LPR announcements (chinamoney.com.cn)"

#: (effective date, 1-year LPR as a fraction), every change since the reform.
LPR_1Y: tuple[tuple[date, Decimal], ...] = (
    (date(2019, 8, 20), Decimal("0.0425")),
    (date(2019, 9, 20), Decimal("0.0420")),
    (date(2019, 11, 20), Decimal("0.0415")),
    (date(2020, 2, 20), Decimal("0.0405")),
    (date(2020, 4, 20), Decimal("0.0385")),
    (date(2021, 12, 20), Decimal("0.0380")),
    (date(2022, 1, 20), Decimal("0.0370")),
    (date(2022, 8, 22), Decimal("0.0365")),
    (date(2023, 6, 20), Decimal("0.0355")),
    (date(2023, 8, 21), Decimal("0.0345")),
    (date(2024, 7, 22), Decimal("0.0335")),
    (date(2024, 10, 21), Decimal("0.0310")),
    (date(2025, 5, 20), Decimal("0.0300")),
)


class LprTable:
    """A dated rate table: the rate in force on a day is the last one published on or before it."""

    def __init__(self, entries: Iterable[tuple[date, Decimal]] = LPR_1Y) -> None:
        merged = dict(LPR_1Y) | dict(entries)
        self._days = tuple(sorted(merged))
        self._rates = tuple(merged[d] for d in self._days)

    @property
    def first(self) -> date:
        """The first day the table has a rate for."""
        return self._days[0]

    def on(self, day: date) -> Decimal:
        """Return the rate in force on ``day`` (before the table starts: its first rate)."""
        index = bisect.bisect_right(self._days, day) - 1
        return self._rates[max(index, 0)]

    def entries(self) -> tuple[tuple[date, Decimal], ...]:
        """Every (effective date, rate) pair, oldest first."""
        return tuple(zip(self._days, self._rates, strict=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LprTable):
            return NotImplemented
        return self.entries() == other.entries()

    def __hash__(self) -> int:
        return hash(self.entries())

    def __repr__(self) -> str:
        return f"LprTable({len(self._days)} rates, {self._rates[-1]} since {self._days[-1]})"
