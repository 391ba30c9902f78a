"""Testing kit for collection policies: Hypothesis strategies and invariant checks.

Importable when Hypothesis is installed (``pip install dunning[testing]``)::

    from hypothesis import given
    from dunning.testing import cases, from_policy, assert_total

    @given(cases(products=["consumer_finance"], min_dpd=91))
    def test_beyond_m3_goes_to_an_agency(case): ...

The strategies are also registered for ``st.from_type`` (``Loan``, ``Case``, ``Payment``,
``ContactAttempt``) through Hypothesis' entry point. A pytest plugin adds the
``--dunning-policy PATH`` option and the ``dunning_policy`` fixture.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401 - fail early with a clear message
except ImportError as exc:  # pragma: no cover - exercised only without hypothesis
    raise ImportError("dunning.testing needs Hypothesis: pip install 'dunning[testing]'") from exc

from ._policies import policy_texts
from .guard_oracle import guard_violations
from .invariants import (
    PolicyInvariantError,
    assert_engines_agree,
    assert_guards_hold,
    assert_monotone,
    assert_never,
    assert_total,
    default_examples,
    from_policy,
)
from .solver import Solution, solve
from .strategies import (
    Scenario,
    cases,
    contact_histories,
    loans,
    payments_for,
    policies,
    scenarios,
)

__all__ = [
    "PolicyInvariantError",
    "Scenario",
    "Solution",
    "assert_engines_agree",
    "assert_guards_hold",
    "assert_monotone",
    "assert_never",
    "assert_total",
    "cases",
    "contact_histories",
    "default_examples",
    "from_policy",
    "guard_violations",
    "loans",
    "payments_for",
    "policies",
    "policy_texts",
    "scenarios",
    "solve",
]
