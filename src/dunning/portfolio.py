"""The portfolio figure: what some rules need to know of the lender's whole book.

The rule language's fact ``overdue_customers`` is the number of distinct borrowers overdue in
the book (the seed brings in agencies above a threshold of it). One case says nothing about the
book, so the figure is an input of every decision whose rules read it — a :class:`Portfolio` —
counted by the host, or by dunning over a batch in a first pass: a borrower counts when a case
of theirs the policy covers is past due (:func:`quick_overdue_party` settles most cases from
their loan and payments alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .delinquency import overdue_parts, quick_overdue
from .errors import ArgumentError, ConfigError, did_you_mean
from .model import Product

if TYPE_CHECKING:
    from .model import Case

__all__ = [
    "NO_FIGURE",
    "Portfolio",
    "check_portfolio",
    "quick_overdue_party",
    "required_figure",
]


@dataclass(frozen=True, slots=True)
class Portfolio:
    """Figures about the lender's whole book that some rules need.

    Attributes:
        overdue_customers: Distinct borrowers currently overdue (the seed's threshold for
            bringing in agencies): one figure for the whole book, or one per product
            (``{"consumer_finance": 120, "mortgage": 30}``), in which case the fact a rule reads
            is the figure of the case's product.

    Raises:
        ConfigError: For a negative figure or an unknown product.
    """

    overdue_customers: int | Mapping[str, int]

    def __post_init__(self) -> None:
        figure = self.overdue_customers
        if isinstance(figure, Mapping):
            known = [p.value for p in Product]
            problems = [
                f"unknown product {name!r}" + did_you_mean(str(name), known)
                for name in figure
                if name not in known
            ]
            problems += [
                f"{name}: {count!r} is not a count (a whole number, at least 0)"
                for name, count in figure.items()
                if type(count) is not int or not 0 <= count < 10**12
            ]
            if problems:
                raise ConfigError("portfolio figures: " + "; ".join(problems))
            object.__setattr__(self, "overdue_customers", MappingProxyType(dict(figure)))
        elif type(figure) is not int or not 0 <= figure < 10**12:
            raise ConfigError(
                f"overdue_customers must be a whole number at least 0, or one per product; "
                f"got {figure!r}"
            )

    def __reduce__(self) -> tuple[type[Portfolio], tuple[int | dict[str, int]]]:
        # A per-product figure is held read-only, which pickle cannot carry to a worker
        # process (`decide --jobs 2 --overdue-customers mortgage=3` was a traceback).
        figure = self.overdue_customers
        return (Portfolio, (figure if isinstance(figure, int) else dict(figure),))

    def overdue_customers_of(self, product: str) -> int | None:
        """The figure for a case of ``product`` (``None``: a per-product figure lacks it)."""
        figure = self.overdue_customers
        return figure.get(product) if isinstance(figure, Mapping) else figure


#: What decisions use when the rules read no portfolio figure and none was given.
NO_FIGURE = Portfolio(0)


def check_portfolio(portfolio: object) -> None:
    """Refuse, as an ``ArgumentError``, a portfolio figure that is not a :class:`Portfolio`."""
    if portfolio is not None and not isinstance(portfolio, Portfolio):
        raise ArgumentError(
            f"portfolio must be a dunning.Portfolio, such as Portfolio(overdue_customers=120), "
            f"not {type(portfolio).__name__}"
        )


def required_figure(
    portfolio: Portfolio | None, rules: tuple[str, ...], policy: str, case: Case | None = None
) -> Portfolio:
    """The figure a decision uses: never guessed where a rule reads it.

    Args:
        portfolio: The figure given (``None``: none).
        rules: The rules that read it (:func:`portfolio_rules`).
        policy: The policy's name, for the message.
        case: The case decided, whose product a per-product figure must have.

    Raises:
        ConfigError: If the rules read the figure and it is missing (for the case's product).
    """
    if not rules:
        return portfolio or NO_FIGURE
    how = (
        "pass it: decide(..., portfolio=dunning.Portfolio(overdue_customers=N)), or one "
        "figure per product (overdue_customers={'consumer_finance': N, ...}); "
        "decide_many(..., portfolio='batch') counts the batch itself; on the command line, "
        "--overdue-customers"
    )
    named = ", ".join(rules)
    if portfolio is None:
        raise ConfigError(
            f"policy {policy!r} reads the portfolio figure overdue_customers (rules "
            f"{named}) and none was given: {how}"
        )
    if case is not None and portfolio.overdue_customers_of(case.loan.product.value) is None:
        raise ConfigError(
            f"the portfolio gives overdue_customers per product, but not for "
            f"{case.loan.product.value} (case {case.case_id!r}), which rules {named} read"
        )
    return portfolio


def quick_overdue_party(
    item: Any, moment: datetime, *, products: frozenset[str], penalty: bool
) -> tuple[tuple[str, str] | None, bool] | None:
    """Whether an input's borrower is overdue, read from its loan and payments alone.

    :func:`~dunning.delinquency.quick_overdue` of an input that is data (a dict, JSON text):
    no validation of the rest of the case, no rules, a fraction of a decision's cost.

    Args:
        item: The input.
        moment: The moment of the count.
        products: The products the policy covers (the others are not counted).
        penalty: Whether the policy accrues penalty interest.

    Returns:
        ``((product, borrower), overdue)`` — ``(None, False)`` for an uncovered product — or
        ``None`` when only the full reading can tell (a ``Case`` is as cheap to assess).
    """
    data: Mapping[str, Any] | None = None
    if isinstance(item, str | bytes):
        data = overdue_parts(item)
    elif isinstance(item, Mapping):
        data = item
    if data is None:
        return None
    found = quick_overdue(data, moment, products=products, penalty=penalty)
    if found is None or found[0] is None:
        return None if found is None else (None, False)
    return (data["loan"]["product"], found[0]), found[1]
