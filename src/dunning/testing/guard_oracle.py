"""An independent statement of what the guards promise, for property tests.

Written from docs/compliance.md, not from src/dunning/guards.py, so that the two check each
other: every function here recomputes its answer from the case, never from the guards' code.
:func:`guard_violations` is the entry; ``assert_guards_hold`` runs it over generated cases.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from ..guards import holiday_dates
from ..model import (
    Case,
    Channel,
    ContactAttempt,
    ContactChannel,
    ContactPurpose,
    ContactResult,
    Decision,
    Role,
)
from ..policy import Policy
from ..schedule import schedule_of

__all__ = ["guard_violations"]

CONTACT = {Channel.SMS, Channel.CALL, Channel.FIELD_VISIT}
TALKED = {ContactResult.CONNECTED, ContactResult.PROMISED, ContactResult.REFUSED}
NO_ONE = {
    ContactResult.NO_ANSWER,
    ContactResult.BUSY,
    ContactResult.WRONG_NUMBER,
    ContactResult.FAILED,
}


def borrower_lost(case: Case, decision: Decision, failed_in_a_row: int) -> bool:
    past = [c for c in case.contacts if c.at <= decision.as_of]
    phones = case.borrower.phones
    if case.lost_contact or not phones:
        return True
    if all(
        any(c.number == p and c.outcome is ContactResult.WRONG_NUMBER for c in past) for p in phones
    ):
        return True
    mine = sorted((c for c in past if c.party_id == case.borrower.party_id), key=lambda c: c.at)
    tail = mine[-failed_in_a_row:]
    return len(tail) == failed_in_a_row and all(c.outcome in NO_ONE for c in tail)


def allowance(policy: Policy, case: Case, decision: Decision) -> Decimal | None:
    """The most penalty interest + fees may come to under the charges cap (None: no cap).

    Counted day by day: on each day an amount of principal was overdue and unpaid, that
    principal × the cap's yearly rate on that day / days in the year; less the penalty already
    paid on those instalments.
    """
    cap = policy.ir.guards.charges_cap
    if cap is None:
        return None
    today = decision.as_of.astimezone(case.borrower.zone).date()
    signed = case.loan.signing_date
    reform = date(2020, 8, 20)

    def rate_on(day: date) -> Decimal:
        if cap.mode == "fixed_rate":
            return cap.rate
        if signed >= reform:
            return cap.multiple * cap.lpr.on(signed)
        return Decimal("0.24") if day < reform else cap.multiple * cap.lpr.on(today)

    assessment = policy.assess(case, decision.as_of)
    if assessment.source == "computed":
        periods = [p for i in assessment.overdue_installments for p in i.unpaid_periods]
    else:
        start = today - timedelta(days=assessment.dpd)
        periods = [(start, today, assessment.overdue_principal)] if assessment.dpd else []
    room = Decimal(0)
    for start, end, principal in periods:
        day = start + timedelta(days=1)
        while day <= end:
            room += principal * rate_on(day)
            day += timedelta(days=1)
    paid = sum((i.penalty_paid for i in assessment.overdue_installments), Decimal(0))
    allowed = (room / policy.ir.days_in_year).quantize(Decimal("0.01"), ROUND_FLOOR) - paid
    return max(allowed, Decimal(0))


def guard_violations(
    policy: Policy, case: Case, proposal: Decision, decision: Decision
) -> list[str]:
    """Return every promise of the guards that ``decision`` breaks (empty: all kept).

    Args:
        policy: The policy whose guards made ``decision``.
        case: The case.
        proposal: The decision before the guards (what the rules or a collector proposed).
        decision: The decision after the guards.
    """
    g = policy.ir.guards
    problems: list[str] = []
    action = decision.action
    parties = {p.party_id: p for p in case.parties()}
    past = [c for c in case.contacts if c.at <= decision.as_of]
    moment = action.not_before or decision.as_of
    if moment < decision.as_of:
        problems.append("not_before is before as_of")
    barred = case.do_not_contact or case.deceased or case.bankrupt or case.attorney_represented
    if case.dispute and case.disputed_amount is None:
        barred = True
    if barred and action.channel in CONTACT | {Channel.OUTSOURCE}:
        problems.append(f"{action.channel} despite a no-contact status")
    if action.channel in CONTACT:
        if not action.recipients:
            problems.append("a contact without recipients")
        third = [p for p in action.recipients if not parties[p].is_obligor]
        if third:
            lost = g.third_parties is not None and borrower_lost(
                case, decision, g.third_parties.lost_after_failed_attempts
            )
            refused = {c.party_id for c in past if c.outcome is ContactResult.REFUSED}
            if not lost:
                problems.append(f"third parties {third} contacted while the borrower is reachable")
            if len(third) != len(action.recipients):
                problems.append("third parties in the same action as obligors")
            if refused & set(third):
                problems.append("a third party who refused is contacted again")
            if action.message is None or action.message.fields:
                problems.append("a third party gets a message with fields (debt details)")
            if action.channel is Channel.FIELD_VISIT:
                problems.append("a field visit to a third party")
        for party_id in action.recipients:
            party = parties[party_id]
            if party.do_not_contact:
                problems.append(f"{party_id} asked not to be contacted")
            local = moment.astimezone(party.zone)
            window = g.contact_window
            if window is not None:
                quiet = local.date() in window.quiet_dates or (
                    window.calendar is not None
                    and local.date() in holiday_dates(window.calendar, local.year)
                )
                if not window.start <= local.time() < window.end or quiet:
                    problems.append(f"{party_id} contacted at {local} outside the window")
            if action.channel is Channel.CALL:
                problems += _call_caps(policy, case, party_id, local.date(), past)
        if action.channel is Channel.CALL and g.rolling_calls is not None:
            zone = case.borrower.zone
            day = moment.astimezone(zone).date()
            calls = [c.at.astimezone(zone).date() for c in past if c.channel is ContactChannel.CALL]
            rc = g.rolling_calls
            recent = [d for d in calls if day - timedelta(days=rc.days - 1) <= d <= day]
            if len(recent) >= rc.max_calls:
                problems.append(f"{len(recent)} calls in {rc.days} days")
            talks = [
                c.at.astimezone(zone).date()
                for c in past
                if c.channel is ContactChannel.CALL and c.outcome in TALKED
            ]
            if talks and day < max(talks) + timedelta(days=rc.after_conversation_days):
                problems.append("a call within the quiet period after a conversation")
    if action.channel is Channel.FIELD_VISIT and g.field_visits is not None:
        if g.field_visits.require_address and any(
            not parties[p].addresses for p in action.recipients
        ):
            problems.append("a field visit without an address")
        if g.field_visits.require_recording and not action.requires_recording:
            problems.append("a field visit not flagged for recording")
    if (
        action.channel is Channel.OUTSOURCE
        and case.placement is None
        and g.outsourcing_notice is not None
        and not any(
            c.purpose is ContactPurpose.OUTSOURCING_NOTICE
            and c.party_id == case.borrower.party_id
            and c.outcome not in (ContactResult.FAILED, ContactResult.WRONG_NUMBER)
            for c in past
        )
    ):
        problems.append("outsourced without a notice")
    problems += _charges(policy, case, proposal, decision)
    if g.limitation is not None:
        today = decision.as_of.astimezone(case.borrower.zone).date()
        # An instalment debt falls due with its last instalment, or when it is accelerated.
        due = schedule_of(case.loan)[-1].due_date
        if case.loan.accelerated_on is not None:
            due = min(due, case.loan.accelerated_on)
        barred = decision.dpd > 0 and _add_years(due, g.limitation.years) <= today
        if barred and action.channel is Channel.LEGAL_PRESERVATION:
            approval = action.requires_approval or ""
            if g.limitation.approval not in approval.split("+"):
                problems.append("legal action on a time-barred case without approval")
        if barred and not any(r.id == "limitation" for r in decision.guards):
            problems.append("a time-barred case is not flagged")
        if action.channel in CONTACT:
            for party_id in action.recipients:
                party = parties[party_id]
                months = g.limitation.guarantee_months
                ends = party.guarantee_ends or (_add_months(due, months) if months else None)
                flagged = any(
                    r.id == "limitation" and party_id in r.reason for r in decision.guards
                )
                late = ends is not None and today > ends
                if party.role is Role.GUARANTOR and late and not flagged:
                    problems.append(f"guarantor {party_id} contacted after the guarantee period")
    return problems


def _call_caps(
    policy: Policy, case: Case, party_id: str, day: date, past: list[ContactAttempt]
) -> list[str]:
    g = policy.ir.guards
    party = next(p for p in case.parties() if p.party_id == party_id)
    that_day = [
        c
        for c in past
        if c.party_id == party_id
        and c.channel is ContactChannel.CALL
        and c.at.astimezone(party.zone).date() == day
    ]
    problems = []
    if g.connected_calls is not None:
        talks = sum(1 for c in that_day if c.outcome in TALKED)
        if talks >= g.connected_calls.per_day:
            problems.append(f"{party_id} called after {talks} conversations on {day}")
    if g.unanswered_dials is not None:
        limit = g.unanswered_dials.per_number_per_day
        numbers = party.phones or ("",)
        if all(
            sum(1 for c in that_day if c.outcome in NO_ONE and c.number in (None, n)) >= limit
            for n in numbers
        ):
            problems.append(f"{party_id} called with every number at the dial cap on {day}")
    return problems


def _charges(policy: Policy, case: Case, proposal: Decision, decision: Decision) -> list[str]:
    before, after = proposal.fee_terms, decision.fee_terms
    problems = []
    for name in ("penalty_interest", "collection_fee", "other_fees", "total_due"):
        if getattr(after, name) > getattr(before, name):
            problems.append(f"the guards raised {name}")
    if after.total_due != (
        after.overdue_principal
        + after.overdue_interest
        + after.penalty_interest
        + after.other_fees
        + after.collection_fee
        - after.on_hold
    ):
        problems.append("total_due does not add up")
    if policy.ir.guards.collection_fees is not None and after.collection_fee:
        problems.append(f"a collection fee of {after.collection_fee} is charged")
    if after.other_fees != before.other_fees:
        problems.append("the guards rewrote fees the host booked")
    assessment = policy.assess(case, decision.as_of)
    booked_penalty = Decimal(0)
    if assessment.source == "snapshot":
        booked_penalty = min(before.penalty_interest, assessment.penalty_interest)
        if after.penalty_interest < booked_penalty:
            problems.append("the guards cut penalty interest the host booked")
    limit = allowance(policy, case, decision)
    charged = after.penalty_interest + after.collection_fee + after.other_fees
    booked = after.other_fees + booked_penalty
    if limit is not None and charged > max(limit, booked):
        problems.append(f"charges {charged} above the cap's {limit}")
    # A card's booked charges are the card contract's under ``card_charges: contract``
    # (docs/compliance.md#9-charges-cap): not judged per day, so not flagged.
    contract = (
        policy.ir.guards.charges_cap is not None
        and policy.ir.guards.charges_cap.card_charges == "contract"
        and case.loan.product == "credit_card"
    )
    if limit is not None and booked > limit:
        if charged > booked:
            problems.append("charges added on top of booked charges already above the cap")
        flagged = any(g.id == "charges_cap" and g.effect == "flag" for g in decision.guards)
        if not flagged and not contract:
            problems.append("booked charges above the cap are not flagged")
    return problems


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError(day)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
