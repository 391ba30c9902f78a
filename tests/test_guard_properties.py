"""Properties of the compliance guards over generated cases, contact histories and proposals.

Each property is checked against dunning.testing.guard_violations, an independent statement of
the rules (the same oracle assert_guards_hold uses).
As-of moments cluster around the 2026 DST changes of America/New_York (8 March, 1 November) and
around midnight, where windows and daily caps are easiest to get wrong.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning import (
    Action,
    Case,
    Channel,
    ContactAttempt,
    ContactChannel,
    ContactPurpose,
    ContactResult,
    Decision,
    DelinquencySnapshot,
    FeeTerms,
    HandledBy,
    Loan,
    Message,
    Party,
    Placement,
    Policy,
    Portfolio,
    Product,
    Role,
    load_policy,
)
from dunning.guards import CONTACT_CHANNELS as CONTACT
from dunning.testing import guard_violations as violations

ROOT = Path(__file__).resolve().parent.parent
D = Decimal
BOOK = Portfolio(500)


def _variant(tmp: Path, source: str, name: str, extra: str) -> Policy:
    """A shipped policy with extra guard settings under its ``guards:`` key."""
    text = (ROOT / "rules" / source).read_text(encoding="utf-8")
    head = text[text.index("guards:\n") :].split("\n", 2)
    anchor = f"{head[0]}\n{head[1]}\n"  # "guards:" and its profile line
    changed = text.replace(anchor, anchor + extra, 1)
    assert changed != text
    path = tmp / f"{name}.yaml"
    path.write_text(changed, encoding="utf-8")
    return load_policy(path)


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Policy]:
    tmp = tmp_path_factory.mktemp("guard-policies")
    return {
        "cn": load_policy(ROOT / "rules" / "lender.yaml"),
        # Tight caps and quiet days, so that every guard is reached often.
        "cn-strict": _variant(
            tmp,
            "lender.yaml",
            "cn-strict",
            '  contact_window: {calendar: CN, quiet_dates: ["2026-11-29", "2026-03-09"]}\n'
            "  unanswered_dials: {then: sms, per_number_per_day: 2}\n"
            "  connected_calls: {per_day: 1}\n",
        ),
        "us": load_policy(ROOT / "rules" / "us_cards.yaml"),
        # Without the quiet week after a conversation, which would hide the 7-in-7 count.
        "us-count": _variant(
            tmp, "us_cards.yaml", "us-count", "  rolling_calls: {after_conversation_days: 0}\n"
        ),
    }


ZONES = {
    "cn": ["Asia/Shanghai", "Asia/Urumqi"],
    "cn-strict": ["Asia/Shanghai", "Asia/Urumqi", "America/New_York"],
    "us": ["America/New_York"],
    "us-count": ["America/New_York"],
}
# Around the DST changes, a quiet date, and an ordinary day.
PIVOTS = [
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 11, 28, 16, 0, tzinfo=UTC),
    datetime(2026, 6, 15, 12, 0, tzinfo=UTC),
]
moments = st.builds(
    lambda pivot, minutes: pivot + timedelta(minutes=minutes),
    st.sampled_from(PIVOTS),
    st.integers(-3 * 24 * 60, 3 * 24 * 60),
)
rarely = st.sampled_from([False] * 24 + [True])
money = st.integers(0, 5_000_000).map(lambda c: D(c) / 100)
PHONES = ["13800000001", "13800000002", "13800000003"]


@st.composite
def scenarios(draw: st.DrawFn, profile: str) -> tuple[Case, datetime]:
    """A case with a dense contact history near ``as_of``, and the ``as_of``."""
    as_of = draw(moments)
    zones = st.sampled_from(ZONES[profile])
    us = profile.startswith("us")
    product = Product.CREDIT_CARD if us else Product.CONSUMER_FINANCE
    dpd = draw(st.integers(0, 1600))
    loan = Loan(
        loan_id="L-1",
        product=product,
        principal=draw(st.integers(100_000, 10_000_000).map(lambda c: D(c) / 100)),
        currency="USD" if us else "CNY",
        annual_rate=draw(st.sampled_from([D("0.0435"), D("0.18"), D("0.24"), D("0.299")])),
        start_date=draw(st.dates(date(2016, 1, 1), date(2026, 1, 1))),
        term_months=12,
    )
    roles = draw(
        st.lists(
            st.sampled_from([Role.GUARANTOR, Role.CO_BORROWER, Role.EMERGENCY_CONTACT]), max_size=3
        )
    )
    parties = [
        Party(
            party_id="B",
            phones=tuple(draw(st.lists(st.sampled_from(PHONES), max_size=2, unique=True))),
            addresses=tuple(draw(st.lists(st.just("1 Main St"), max_size=1))),
            timezone=draw(zones),
        )
    ] + [
        Party(
            party_id=f"R{i}",
            role=role,
            phones=tuple(draw(st.lists(st.sampled_from(PHONES), max_size=2, unique=True))),
            addresses=tuple(draw(st.lists(st.just("2 Side St"), max_size=1))),
            timezone=draw(zones),
            do_not_contact=draw(rarely),
        )
        for i, role in enumerate(roles)
    ]
    ids = [p.party_id for p in parties]
    # Dense histories: mostly calls, mostly within a day and a half of as_of, so that the
    # daily and rolling caps are reached often.
    recent = st.integers(-10 * 60, 60) | st.integers(-9 * 24 * 60, 0)
    contacts = draw(
        st.lists(
            st.builds(
                ContactAttempt,
                at=recent.map(lambda m: as_of + timedelta(minutes=m)),
                channel=st.sampled_from([ContactChannel.CALL] * 5 + list(ContactChannel)),
                party_id=st.sampled_from(ids[:1] * 3 + ids),
                outcome=st.sampled_from(
                    list(ContactResult) + [ContactResult.NO_ANSWER, ContactResult.CONNECTED] * 3
                ),
                number=st.sampled_from([None, *PHONES[:2]]),
                purpose=st.sampled_from([ContactPurpose.COLLECTION] * 3 + list(ContactPurpose)),
                recording_ref=st.none() | st.just("REC-1"),
            ),
            max_size=30,
        )
    )
    dispute = draw(rarely)
    case = Case(
        case_id="C-1",
        loan=loan,
        borrower=parties[0],
        related_parties=tuple(parties[1:]),
        delinquency=DelinquencySnapshot(
            dpd=dpd,
            overdue_principal=draw(money) if dpd else D(0),
            overdue_interest=draw(money) if dpd else D(0),
            penalty_interest=draw(money) if dpd else D(0),
            fees=draw(money) if dpd else D(0),
        ),
        contacts=tuple(contacts),
        placement=draw(
            st.none()
            | st.just(
                Placement(agency_id="A", placed_on=date(2026, 1, 5), commission_rate=D("0.2"))
            )
        ),
        lost_contact=draw(rarely),
        dispute=dispute,
        disputed_amount=draw(st.none() | money) if dispute else None,
        do_not_contact=draw(rarely),
        deceased=draw(rarely),
        bankrupt=draw(rarely),
        attorney_represented=draw(rarely),
    )
    return case, as_of


@st.composite
def proposals(draw: st.DrawFn, decision: Decision, case: Case) -> Decision:
    """Any action a person might propose, with any fee terms, for ``decision``'s case."""
    ids = [p.party_id for p in case.parties()]
    channel = draw(st.sampled_from([Channel.CALL] * 3 + list(Channel)))
    message = draw(
        st.none()
        | st.just(Message(template="reminder", fields={"dpd": decision.dpd, "total_due": "1"}))
    )
    not_before = draw(
        st.none() | st.integers(-600, 3000).map(lambda m: decision.as_of + timedelta(minutes=m))
    )
    action = Action(
        channel=channel,
        handled_by=HandledBy.AGENCY if channel is Channel.OUTSOURCE else HandledBy.INTERNAL,
        recipients=tuple(draw(st.lists(st.sampled_from(ids), unique=True, max_size=3))),
        not_before=not_before,
        message=message,
    )
    parts = {k: draw(money) for k in ("penalty_interest", "collection_fee", "other_fees")}
    fees = decision.fee_terms.model_copy(
        update=parts
        | {
            "total_due": decision.fee_terms.overdue_principal
            + decision.fee_terms.overdue_interest
            + sum(parts.values()),
            "on_hold": D(0),
        }
    )
    return decision.model_copy(
        update={"action": action, "fee_terms": FeeTerms(**fees.model_dump()), "guards": ()}
    )


def _check(policy: Policy, case: Case, proposal: Decision) -> Decision:
    guarded = policy.apply_guards(case, proposal)
    assert violations(policy, case, proposal, guarded) == []
    assert policy.apply_guards(case, guarded) == guarded  # idempotent
    if guarded.action.not_before is not None:
        assert guarded.action.not_before >= guarded.as_of
    return guarded


@pytest.mark.parametrize("profile", list(ZONES))
def test_policy_decisions_keep_every_guard(policies: dict[str, Policy], profile: str) -> None:
    policy = policies[profile]

    @given(scenarios(profile))
    def run(scenario: tuple[Case, datetime]) -> None:
        case, as_of = scenario
        decision = policy.decide(case, as_of=as_of, portfolio=BOOK)
        raw = decision.model_copy(update={"guards": ()})
        assert violations(policy, case, raw, decision) == []
        assert policy.apply_guards(case, decision) == decision

    run()


@pytest.mark.parametrize("profile", list(ZONES))
def test_any_proposal_comes_out_within_the_guards(
    policies: dict[str, Policy], profile: str
) -> None:
    policy = policies[profile]

    @given(st.data(), scenarios(profile))
    def run(data: st.DataObject, scenario: tuple[Case, datetime]) -> None:
        case, as_of = scenario
        proposal = data.draw(proposals(policy.decide(case, as_of=as_of, portfolio=BOOK), case))
        guarded = _check(policy, case, proposal)
        # Nothing is dropped silently: every change of the action is explained. Two readings
        # are not changes: a not_before already past means "at once", and a contact without
        # recipients goes to the borrower.
        proposed = proposal.action
        if proposed.not_before is not None and proposed.not_before <= proposal.as_of:
            proposed = proposed.model_copy(update={"not_before": None})
        if proposed.channel in CONTACT and not proposed.recipients:
            proposed = proposed.model_copy(update={"recipients": (case.borrower.party_id,)})
        if guarded.action != proposed:
            assert guarded.guards

    run()


def test_a_cut_records_exactly_what_it_took(policies: dict[str, Policy]) -> None:
    policy = policies["cn"]

    @given(st.data(), scenarios("cn"))
    def run(data: st.DataObject, scenario: tuple[Case, datetime]) -> None:
        case, as_of = scenario
        proposal = data.draw(proposals(policy.decide(case, as_of=as_of, portfolio=BOOK), case))
        guarded = policy.apply_guards(case, proposal)
        cut = sum(g.amount or 0 for g in guarded.guards if g.effect == "cut")
        taken = proposal.fee_terms.total_due - guarded.fee_terms.total_due
        assert taken == cut + guarded.fee_terms.on_hold

    run()


def _as_json(decision: Decision) -> dict[str, Any]:
    return decision.model_dump(mode="json", exclude={"policy"})


@pytest.mark.skipif(
    not __import__("importlib").util.find_spec("durable"),
    reason="durable-rules is not installed on this Python (it does not build on 3.13+)",
)
@pytest.mark.parametrize("profile", ["cn", "us"])
def test_guarded_decisions_do_not_depend_on_the_engine(
    policies: dict[str, Policy], profile: str
) -> None:
    compiled = policies[profile]
    rete = load_policy(
        ROOT / "rules" / ("lender.yaml" if profile == "cn" else "us_cards.yaml"), engine="rete"
    )

    @given(scenarios(profile))
    def run(scenario: tuple[Case, datetime]) -> None:
        case, as_of = scenario
        assert _as_json(rete.decide(case, as_of=as_of, portfolio=BOOK)) == _as_json(
            compiled.decide(case, as_of=as_of, portfolio=BOOK)
        )

    run()
