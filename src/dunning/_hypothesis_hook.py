"""Registers dunning's strategies for ``st.from_type`` (the ``hypothesis`` entry point).

Hypothesis calls :func:`register_strategies` when it is imported. It lives outside
``dunning.testing`` so that loading it never imports Hypothesis a second time mid-import; the
strategies are deferred until a test first asks for one.
"""

from __future__ import annotations


def register_strategies() -> None:
    """Register ``Loan``, ``Case``, ``Payment`` and ``ContactAttempt`` with Hypothesis."""
    from hypothesis import strategies as st

    from .model import Case, ContactAttempt, Loan, Payment

    def loans() -> st.SearchStrategy[Loan]:
        from .testing import loans

        return loans()

    def cases() -> st.SearchStrategy[Case]:
        from .testing import cases

        return cases()

    def contacts() -> st.SearchStrategy[ContactAttempt]:
        from .testing import contact_histories

        return contact_histories(max_size=1).filter(bool).map(lambda cs: cs[0])

    def payments() -> st.SearchStrategy[Payment]:
        from .testing import loans, payments_for

        return loans().flatmap(
            lambda loan: payments_for(loan, max_payments=1).filter(bool).map(lambda ps: ps[0])
        )

    st.register_type_strategy(Loan, st.deferred(loans))
    st.register_type_strategy(Case, st.deferred(cases))
    st.register_type_strategy(ContactAttempt, st.deferred(contacts))
    st.register_type_strategy(Payment, st.deferred(payments))
