"""Delinquency arithmetic: dpd, buckets, allocation, penalties, snapshots."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import case_dict
from dunning import (
    DEFAULT_BANDS,
    Assessor,
    Band,
    BucketBands,
    Case,
    CaseError,
    ConfigError,
    assess,
    parse_case,
    schedule_of,
)
from dunning.delinquency import overdue_parts, quick_overdue
from dunning.model import Payment
from dunning.schedule import iter_schedule_parts
from strategies import cases_with_payments

ROOT = Path(__file__).resolve().parent.parent
D = Decimal
ON_TIME = [
    {"date": "2026-02-15", "amount": "1100.16"},
    {"date": "2026-03-15", "amount": "1100.16"},
    {"date": "2026-04-15", "amount": "1100.16"},
]


def test_worked_case_from_the_issue() -> None:
    """12,000.00 at 18 %, 12 months from 2026-01-15, three paid on time, seen on 2026-06-20."""
    case = parse_case(case_dict(payments=ON_TIME))
    a = assess(case, date(2026, 6, 20))
    assert (a.dpd, a.bucket) == (36, "M2")
    assert [(o.seq, o.due_date, o.days_overdue) for o in a.overdue_installments] == [
        (4, date(2026, 5, 15), 36),
        (5, date(2026, 6, 15), 5),
    ]
    assert a.overdue_principal == D("962.19") + D("976.62")
    assert a.overdue_interest == D("137.97") + D("123.54")
    assert a.total_due == D("2200.32")
    assert a.penalty_interest == D("0.00") and a.fees == D("0.00")
    assert a.outstanding_principal == D("12000.00") - D("920.16") - D("933.96") - D("947.97")
    assert (a.paid, a.allocated, a.unapplied_credit) == (D("3300.48"), D("3300.48"), D("0.00"))


def test_due_date_equal_to_as_of_is_not_overdue() -> None:
    case = parse_case(case_dict())
    assert assess(case, date(2026, 2, 15)).dpd == 0
    assert assess(case, date(2026, 2, 16)).dpd == 1


def test_nothing_overdue_is_m0() -> None:
    a = assess(parse_case(case_dict(payments=ON_TIME)), date(2026, 5, 1))
    assert (a.dpd, a.bucket, a.overdue_installments, a.total_due) == (0, "M0", (), D("0.00"))


def test_partial_payment_keeps_the_oldest_instalment_overdue() -> None:
    payments = [*ON_TIME, {"date": "2026-05-20", "amount": "1000.00"}]
    a = assess(parse_case(case_dict(payments=payments)), date(2026, 6, 20))
    assert a.dpd == 36
    first = a.overdue_installments[0]
    # penalty (none accrued) → interest 137.97 → principal 862.03 of 962.19
    assert (first.interest, first.principal) == (D("0.00"), D("100.16"))


def test_late_payment_moves_dpd_to_the_next_unpaid_instalment() -> None:
    payments = [*ON_TIME, {"date": "2026-06-18", "amount": "1100.16"}]
    a = assess(parse_case(case_dict(payments=payments)), date(2026, 6, 20))
    assert a.dpd == 5 and a.bucket == "M1"


def test_payments_after_as_of_are_ignored() -> None:
    payments = [*ON_TIME, {"date": "2026-07-01", "amount": "5000.00"}]
    a = assess(parse_case(case_dict(payments=payments)), date(2026, 6, 20))
    assert a.dpd == 36 and a.paid == D("3300.48")


def test_overpayment_is_kept_as_unapplied_credit() -> None:
    payments = [{"date": "2026-02-01", "amount": "20000.00"}]
    a = assess(parse_case(case_dict(payments=payments)), date(2027, 3, 1))
    total = sum(i.amount for i in schedule_of(parse_case(case_dict()).loan))
    assert a.dpd == 0
    assert a.unapplied_credit == D("20000.00") - total
    assert a.outstanding_principal == D("0.00")


def test_prepayment_pays_the_next_instalments_in_order() -> None:
    payments = [{"date": "2026-02-01", "amount": "2200.32"}]
    a = assess(parse_case(case_dict(payments=payments)), date(2026, 4, 20))
    assert a.dpd == 5 and [o.seq for o in a.overdue_installments] == [3]


def test_penalty_accrues_per_instalment_by_its_own_days_overdue() -> None:
    assessor = Assessor(penalty_multiplier=D("1.5"))
    a = assessor.assess(parse_case(case_dict(payments=ON_TIME)), date(2026, 6, 20))
    daily = D("0.18") * D("1.5") / 360
    assert [o.penalty for o in a.overdue_installments] == [
        (D("962.19") * daily * 36).quantize(D("0.01")),
        (D("976.62") * daily * 5).quantize(D("0.01")),
    ]
    assert a.penalty_interest == D("29.64")
    assert a.total_due == D("2200.32") + D("29.64")


def test_allocation_order_is_a_parameter() -> None:
    payments = [*ON_TIME, {"date": "2026-06-01", "amount": "500.00"}]
    case = parse_case(case_dict(payments=payments))
    default = Assessor(penalty_multiplier=D("1.5")).assess(case, date(2026, 6, 20))
    principal_first = Assessor(
        penalty_multiplier=D("1.5"), allocation=("principal", "interest", "penalty")
    ).assess(case, date(2026, 6, 20))
    d0, p0 = default.overdue_installments[0], principal_first.overdue_installments[0]
    # Default: 17 days of penalty (12.27) and all interest are paid before principal; the
    # remaining principal then accrues 19 more days of penalty until as_of.
    assert d0.interest == D("0.00")
    assert d0.principal == D("962.19") - (D("500.00") - D("137.97") - D("12.27"))
    assert d0.penalty == (d0.principal * D("0.18") * D("1.5") / 360 * 19).quantize(D("0.01"))
    assert p0.principal == D("462.19") and p0.interest == D("137.97")


def test_bad_allocation_order_is_refused() -> None:
    with pytest.raises(ConfigError, match="allocation"):
        Assessor(allocation=("interest", "principal"))  # type: ignore[arg-type]


def test_snapshot_is_used_as_given() -> None:
    snapshot = {
        "dpd": 95,
        "overdue_principal": "3000.00",
        "overdue_interest": "240.00",
        "penalty_interest": "12.34",
        "fees": "50.00",
    }
    case = parse_case(case_dict(payments=ON_TIME, delinquency=snapshot))
    a = assess(case, date(2026, 6, 20))
    assert (a.source, a.dpd, a.bucket) == ("snapshot", 95, "M4")
    assert a.total_due == D("3302.34")
    assert a.overdue_installments == () and a.paid is None


def test_aware_as_of_is_read_in_the_borrowers_time_zone() -> None:
    case = parse_case(case_dict())
    late_utc = datetime(2026, 2, 15, 17, 0, tzinfo=UTC)  # 2026-02-16 01:00 in Shanghai
    assert assess(case, late_utc).dpd == 1
    urumqi = parse_case(case_dict(borrower__timezone="Asia/Urumqi"))  # UTC+6: still the 15th
    assert assess(urumqi, late_utc).dpd == 0


def test_naive_as_of_is_refused() -> None:
    with pytest.raises(ConfigError, match="timezone-aware"):
        assess(parse_case(case_dict()), datetime(2026, 6, 20, 10, 0))


@given(cases_with_payments(), st.dates(date(2015, 1, 1), date(2060, 1, 1)))
def test_allocation_conserves_money(case: Case, day: date) -> None:
    a = assess(case, day)
    assert a.paid == a.allocated + a.unapplied_credit
    assert a.paid == sum((p.amount for p in case.payments if p.date <= day), D(0))
    assert a.unapplied_credit >= 0 and a.outstanding_principal is not None
    scheduled = sum(i.principal for i in schedule_of(case.loan))
    assert a.outstanding_principal <= scheduled


@given(cases_with_payments(), st.dates(date(2015, 1, 1), date(2060, 1, 1)), st.integers(1, 3000))
def test_dpd_never_decreases_without_payments(case: Case, day: date, step: int) -> None:
    later = day + timedelta(days=step)
    unpaid = case.model_copy(update={"payments": tuple(p for p in case.payments if p.date <= day)})
    before, after = assess(unpaid, day), assess(unpaid, later)
    assert after.dpd >= before.dpd
    if before.dpd:
        assert after.dpd == before.dpd + step  # the same instalment keeps ageing


@given(cases_with_payments(), st.dates(date(2015, 1, 1), date(2060, 1, 1)))
def test_dpd_matches_the_oldest_unpaid_instalment(case: Case, day: date) -> None:
    a = assess(case, day)
    assert a.bucket == DEFAULT_BANDS.bucket(a.dpd)
    if a.overdue_installments:
        assert a.dpd == (day - a.overdue_installments[0].due_date).days
        assert all(o.due_date < day for o in a.overdue_installments)
    else:
        assert a.dpd == 0


@given(st.integers(0, 10**6))
def test_bucket_is_a_total_function_of_dpd(dpd: int) -> None:
    label = DEFAULT_BANDS.bucket(dpd)
    holding = [
        b
        for b in DEFAULT_BANDS.bands
        if b.min_dpd <= dpd and (b.max_dpd is None or dpd <= b.max_dpd)
    ]
    assert [b.label for b in holding] == [label]


@pytest.mark.parametrize(
    ("dpd", "label"),
    [
        (0, "M0"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (90, "M3"),
        (91, "M4"),
        (120, "M4"),
        (121, "M5"),
        (150, "M5"),
        (151, "M6"),
        (180, "M6"),
        (181, "M7+"),
    ],
)
def test_default_band_edges(dpd: int, label: str) -> None:
    assert DEFAULT_BANDS.bucket(dpd) == label


def test_custom_bands() -> None:
    bands = BucketBands([("current", 0, 0), ("early", 1, 89), ("late", 90, None)])
    assert [bands.bucket(d) for d in (0, 89, 90, 5000)] == ["current", "early", "late", "late"]
    a = Assessor(bands=bands).assess(parse_case(case_dict()), date(2026, 6, 20))
    assert a.bucket == "late"


def test_bad_bands_report_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        BucketBands([Band("A", 1, 10), Band("B", 12, 20), Band("B", 20, 30), Band("C", 31, 40)])
    text = str(info.value)
    for needle in (
        "must start at dpd 0",
        "gap: dpd 11..11",
        "overlap",
        "used more than once",
        "must be open-ended",
    ):
        assert needle in text
    with pytest.raises(ConfigError, match="no bands"):
        BucketBands([])
    with pytest.raises(ConfigError, match="open-ended but is not the last"):
        BucketBands([("A", 0, None), ("B", 1, None)])


def _reference(case: Case, day: date) -> tuple[int, D, D, D, D]:
    """The whole schedule built first, paid oldest first: what assess must agree with."""
    items = [[i.due_date, i.principal, i.interest] for i in schedule_of(case.loan)]
    for payment in sorted(case.payments, key=lambda p: p.date):
        if payment.date > day:
            break
        left = payment.amount
        for item in items:
            for part in (2, 1):  # the default order: interest, then principal
                take = min(item[part], left)
                item[part] -= take
                left -= take
    late = [i for i in items if i[0] < day and (i[1] or i[2])]
    dpd = (day - late[0][0]).days if late else 0
    return (
        dpd,
        sum((i[1] for i in late), D(0)),
        sum((i[2] for i in late), D(0)),
        sum((i[1] for i in items), D(0)),
        D(len(late)),
    )


@given(cases_with_payments(max_term=400), st.dates(date(2015, 1, 1), date(2060, 1, 1)))
def test_the_schedule_is_built_only_as_far_as_needed_with_the_same_result(
    case: Case, day: date
) -> None:
    a = assess(case, day)
    assert (
        a.dpd,
        a.overdue_principal,
        a.overdue_interest,
        a.outstanding_principal,
        D(len(a.overdue_installments)),
    ) == _reference(case, day)


# -- the overdue principal over time, and acceleration --------------------------------------------


def test_unpaid_periods_follow_partial_payments() -> None:
    payments = [*ON_TIME, {"date": "2026-06-01", "amount": "500.00"}]
    assessor = Assessor(penalty_multiplier=D("1.5"))
    a = assessor.assess(parse_case(case_dict(payments=payments)), date(2026, 6, 20))
    first, second = a.overdue_installments
    # 962.19 overdue from 2026-05-15 to the payment on 06-01 (17 days), then what the payment
    # left of it until as_of (19 days); the payment also settled 12.27 of penalty.
    left = D("962.19") - (D("500.00") - D("137.97") - D("12.27"))
    assert first.unpaid_periods == (
        (date(2026, 5, 15), date(2026, 6, 1), D("962.19")),
        (date(2026, 6, 1), date(2026, 6, 20), left),
    )
    assert first.penalty_paid == D("12.27")
    assert second.unpaid_periods == ((date(2026, 6, 15), date(2026, 6, 20), D("976.62")),)
    assert second.penalty_paid == D("0.00")


@given(cases_with_payments(), st.dates(date(2015, 1, 1), date(2060, 1, 1)))
def test_penalty_is_accrued_on_exactly_the_unpaid_periods(case: Case, day: date) -> None:
    # A credit card accrues none: its late charge is the contract's 违约金 (PBOC 银发〔2016〕111号).
    card = case.loan.product == "credit_card"
    daily = D(0) if card else case.loan.annual_rate * D("1.5") / 360
    a = Assessor(penalty_multiplier=D("1.5")).assess(case, day)
    for item in a.overdue_installments:
        accrued = sum(
            (
                (p * daily * (end - start).days).quantize(D("0.01"), "ROUND_HALF_UP")
                for start, end, p in item.unpaid_periods
            ),
            D(0),
        )
        assert accrued == item.penalty + item.penalty_paid
        days = sum((end - start).days for start, end, _ in item.unpaid_periods)
        assert days <= item.days_overdue
        assert all(start < end for start, end, _ in item.unpaid_periods)


def test_acceleration_makes_every_instalment_due() -> None:
    # 12,000.00 at 18 %, equal principal over 12 months from 2026-01-15, nothing paid; the
    # lender declared the whole loan due on 2026-04-01.
    data = case_dict(loan__repayment="equal_principal", loan__accelerated_on="2026-04-01")
    a = assess(parse_case(data), date(2026, 5, 1))
    normal, accelerated = a.overdue_installments[:2], a.overdue_installments[2:]
    assert [(o.due_date, o.days_overdue) for o in normal] == [
        (date(2026, 2, 15), 75),
        (date(2026, 3, 15), 47),
    ]
    assert len(accelerated) == 10
    assert {(o.due_date, o.days_overdue, o.interest) for o in accelerated} == {
        (date(2026, 4, 1), 30, D("0.00"))
    }
    assert a.dpd == 75 and a.overdue_principal == D("12000.00")
    assert a.overdue_interest == D("180.00") + D("165.00")  # the two instalments due before
    assert accelerated[0].unpaid_periods == ((date(2026, 4, 1), date(2026, 5, 1), D("1000.00")),)
    before = assess(parse_case(data), date(2026, 3, 20))  # not yet accelerated on that day
    assert before.overdue_principal == D("2000.00")


def test_acceleration_before_the_loan_starts_is_refused() -> None:
    with pytest.raises(CaseError) as info:
        parse_case(case_dict(loan__accelerated_on="2025-12-31"))
    assert [(p.path, p.code) for p in info.value.problems] == [
        ("loan.accelerated_on", "date_order")
    ]


# -- the quick reading that counts a book's overdue borrowers ---------------------------------


@st.composite
def paying_cases(draw: st.DrawFn) -> Case:
    """Cases with random payments, or with the schedule paid on time, early, late or in part."""
    case = draw(cases_with_payments())
    if draw(st.booleans()):
        return case
    payments = []
    for n, (due, principal, interest) in enumerate(iter_schedule_parts(case.loan)):
        if n >= 40:
            break
        how = draw(st.sampled_from(["on_time", "on_time", "early", "late", "part", "skip"]))
        amount = principal + interest
        if how == "skip" or amount <= 0:
            continue
        day = due + timedelta(days={"early": -3, "late": 5}.get(how, 0))
        if how == "part":
            amount = max((amount / 2).quantize(Decimal("0.01")), Decimal("0.01"))
        payments.append(Payment(date=day, amount=amount))
    return case.model_copy(update={"payments": tuple(payments)})


@given(
    case=paying_cases(),
    moment=st.datetimes(datetime(2015, 6, 1), datetime(2034, 1, 1), timezones=st.just(UTC)),
    penalty=st.sampled_from([None, Decimal("1.5")]),
    allocation=st.permutations(["penalty", "interest", "principal"]),
)
def test_the_quick_reading_of_a_case_agrees_with_its_assessment(
    case: Case, moment: datetime, penalty: Decimal | None, allocation: list[str]
) -> None:
    assessor = Assessor(allocation=tuple(allocation), penalty_multiplier=penalty)  # type: ignore[arg-type]
    data = json.loads(case.model_dump_json())
    found = quick_overdue(
        data,
        moment,
        products=frozenset({"consumer_finance", "credit_card"}),
        penalty=penalty is not None,
    )
    if found is not None:
        assert found == (case.borrower.party_id, assessor.assess(case, moment).dpd > 0)
    if penalty is None:
        assert found is not None  # without a penalty every explicit or generated schedule settles


def test_the_quick_reading_leaves_what_it_cannot_settle_to_the_assessment() -> None:
    moment = datetime(2026, 11, 28, 2, tzinfo=UTC)
    base = json.loads(json.dumps(case_dict()))
    products = frozenset({"consumer_finance"})
    assert quick_overdue(base, moment, products=frozenset({"mortgage"}), penalty=True) == (
        None,
        False,
    )
    for broken in (
        {"loan": {**base["loan"], "accelerated_on": "2026-10-01"}},
        {"loan": {**base["loan"], "principal": "-5"}},
        {"payments": [{"date": "2026-09-01", "amount": 100}]},  # a JSON number: read in full
        {"payments": [{"date": "2026-09-01", "amount": "100.00", "currency": "USD"}]},
        {"borrower": {**base["borrower"], "timezone": "Mars/Base"}},
        {"borrower": {"name": "no party id"}},
    ):
        assert quick_overdue({**base, **broken}, moment, products=products, penalty=True) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
_PARTS = ("loan", "borrower", "payments", "delinquency")


@st.composite
def case_like_texts(draw: st.DrawFn) -> str:
    """JSON texts of case-like objects (with repeated keys), broken or not, and plain noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=40))
    pairs = draw(
        st.lists(st.tuples(st.sampled_from([*_PARTS, "contacts", "x"]), _JSON), max_size=6)
    )
    text = "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}"
    cut = draw(st.sampled_from(["none", "none", "tail", "nan", "junk"]))
    if cut == "tail":
        text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    elif cut == "nan":
        text = text.replace("null", "NaN", 1)
    elif cut == "junk":
        text += draw(st.sampled_from(["}", " x", "[]", "\n{}"]))
    return text


@given(text=case_like_texts())
def test_the_quick_part_reader_takes_only_what_python_s_reader_takes_alike(text: str) -> None:
    # Counting reads a case's loan, borrower, payments and snapshot with msgspec; where it
    # reads anything, Python's own reader (which the full reading follows) reads the same.
    parts = overdue_parts(text)
    if parts is None:
        return
    whole = json.loads(text)
    assert parts == {name: whole.get(name) for name in _PARTS}


def test_the_quick_part_reader_leaves_non_strict_json_to_the_full_reading() -> None:
    assert overdue_parts('{"loan": {"principal": NaN}}') is None  # Python's reader takes NaN
    assert overdue_parts('{"loan": {}} {"loan": {}}') is None
    assert overdue_parts("[1, 2]") is None
    # An escaped lone surrogate, which Python's reader takes and msgspec does not.
    assert overdue_parts('{"borrower": {"party_id": "\\ud800"}}') is None
    assert overdue_parts(b"\xff\xfe") is None
    assert overdue_parts('{"loan": 1, "loan": 2}') == {
        "loan": 2,
        "borrower": None,
        "payments": None,
        "delinquency": None,
    }


def test_counting_text_and_parsed_cases_finds_the_same_borrowers() -> None:
    from dunning import load_policy

    policy = load_policy(ROOT / "rules" / "lender.yaml")
    lines = (ROOT / "examples" / "portfolio.jsonl").read_text(encoding="utf-8").splitlines()
    moment = datetime(2026, 11, 28, 2, tzinfo=UTC)
    from_text = policy.overdue_borrowers(lines, as_of=moment)
    assert from_text == policy.overdue_borrowers([json.loads(x) for x in lines], as_of=moment)
    assert len(from_text) > 100


def test_a_bank_snapshot_ages_from_its_day() -> None:
    """SH-0001 was 66 (M3) on 2 November: 94 (M4) on 30 November, not 66 for ever."""
    from conftest import card_case

    dated = card_case("SH-0001", dpd=66)
    dated["delinquency"]["as_of"] = "2026-11-02"
    case = parse_case(dated)
    ages = {
        day: (a.dpd, a.bucket)
        for day in (date(2026, 11, 2), date(2026, 11, 30), date(2027, 1, 15), date(2026, 9, 1))
        for a in [assess(case, as_of=day)]
    }
    assert ages == {
        date(2026, 11, 2): (66, "M3"),
        date(2026, 11, 30): (94, "M4"),
        date(2027, 1, 15): (140, "M5"),
        date(2026, 9, 1): (4, "M1"),  # younger before the snapshot, never below 0
    }
    assert assess(case, as_of=date(2026, 8, 1)).dpd == 0
    # The amounts are the snapshot's; a current account is not aged.
    assert assess(case, as_of=date(2026, 11, 30)).total_due == D("1020.00")
    current = card_case("SH-0002", dpd=0)
    current["delinquency"]["as_of"] = "2026-11-02"
    assert assess(parse_case(current), as_of=date(2026, 12, 30)).dpd == 0
    # Without its day the snapshot is used as given.
    assert assess(parse_case(card_case("SH-0003", dpd=66)), as_of=date(2027, 1, 15)).dpd == 66


@given(dpd=st.integers(0, 400), days=st.integers(-400, 400))
def test_the_quick_count_ages_a_snapshot_as_the_assessment_does(dpd: int, days: int) -> None:
    from conftest import card_case

    dated = card_case("Q", dpd=dpd)
    dated["delinquency"]["as_of"] = "2026-11-02"
    moment = datetime(2026, 11, 2, 12, tzinfo=UTC) + timedelta(days=days)
    quick = quick_overdue(
        json.loads(json.dumps(dated)), moment, products=frozenset({"credit_card"}), penalty=False
    )
    assert quick == ("borrower", assess(parse_case(dated), as_of=moment).dpd > 0)
