"""Conduct: the contact records held to the rules a bank audits its agency on.

The lender's guards keep an action inside the rules before it is taken; a bank auditing its
agency checks the same figures after the fact, from the records of the contacts made. Four
checks, each finding citing its instrument:

- ``hours``: a call, message or visit outside the contact window in the *party's* time zone
  (08:00-22:00: GB/T 45251-2025 and the China Banking Association's collection guideline);
- ``connected_calls``: more calls that reached a party in one of its days than the cap (3 a
  day), counted across all the agency's collectors;
- ``unanswered_dials``: more unanswered dials of one number in a day than the cap (6); a dial
  recorded without its number counts against every number of the party;
- ``third_parties``: a third party (an emergency contact…) contacted while the borrower was
  reachable (the borrower's last attempts did not all fail), contacted again after refusing, or
  told of the debt.

The records of a day are judged together, in the order the contacts were made, once the log's
clock is a day past it (records come in at the end of the day, not in order): the audit holds a
few days of records and, per case, only the borrower's run of failed attempts and the third
parties who refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from ..events import ContactEvent
from ..model import (
    CONVERSATION,
    FAILED,
    OBLIGOR_ROLES,
    ContactChannel,
    ContactResult,
    Role,
    zone_named,
)

__all__ = ["CHECKS", "Conduct"]

#: The checks of the ``conduct`` obligation and the instruments each cites.
CHECKS = {
    "hours": "GB/T 45251-2025; China Banking Association collection guideline (2026)",
    "connected_calls": "GB/T 45251-2025; China Banking Association collection guideline (2026)",
    "unanswered_dials": "GB/T 45251-2025; China Banking Association collection guideline (2026)",
    "third_parties": "GB/T 45251-2025; China Banking Association collection guideline (2026)",
}
#: Channels that reach a person at a moment: the hours apply to them (a letter has no hour).
TIMED = frozenset({ContactChannel.CALL, ContactChannel.SMS, ContactChannel.FIELD_VISIT})
_ROLES = {r.value: r for r in Role}
#: Days of counts kept behind the day being judged (a party's day spans two of the agency's).
_KEEP = timedelta(days=2)

Find = Callable[..., int]


class _Contact(NamedTuple):  # a tuple: a day's records are held, a year's are made
    at: datetime
    line: int
    case_id: str
    actor: str
    party_id: str
    role: Role | None
    zone: ZoneInfo
    channel: ContactChannel
    outcome: ContactResult
    number: str | None
    disclosed: bool


class Conduct:
    """The conduct checks of one audit.

    Args:
        settings: The ``conduct`` obligation's settings.
        zone: The agency's time zone (the days records are held by; a party's zone by default).
        find: Records a finding: ``find(check, case_id, collector, message, expected, *lines,
            day=...)``; returns its index, so that a cap's finding grows with the day's calls.
        replace: ``replace(index, message, *lines)`` updates that finding.
        checked: Counts records checked (``checked(n)``).
    """

    def __init__(
        self,
        settings: Any,
        zone: ZoneInfo,
        find: Find,
        replace: Callable[..., None],
        checked: Callable[[int], None],
    ) -> None:
        self.start: time = settings["window_start"]
        self.end: time = settings["window_end"]
        self.calls_cap: int = settings["connected_calls_per_day"]
        self.dials_cap: int = settings["unanswered_dials_per_number"]
        self.lost_after: int = settings["third_parties_after_failed"]
        self.zone = zone
        self.find, self.replace, self.checked = find, replace, checked
        self.pending: dict[date, list[_Contact]] = {}  # by the agency's day of the contact
        self.first: date | None = None  # the earliest day pending: the next to judge…
        self.first_ends: datetime | None = None  # …and when it ends
        self.calls: dict[tuple[str, str, date], tuple[list[int], int | None]] = {}
        self.dials: dict[tuple[str, str, date], dict[str | None, list[int]]] = {}
        self.dial_findings: dict[tuple[str, str, date, str | None], int] = {}
        self.failed: dict[str, int] = {}  # case: the borrower's failed attempts in a row
        self.refused: dict[str, set[str]] = {}  # case: third parties who refused

    def see(self, event: ContactEvent, line: int) -> None:
        """Hold a contact record until its day is judged."""
        p = event.payload
        role = p.party_role or _ROLES.get(p.party_id)
        zone = zone_named(p.timezone) if p.timezone else self.zone
        contact = _Contact(
            p.contacted_at,
            line,
            event.case_id,
            event.actor,
            p.party_id,
            role,
            zone,
            p.channel,
            p.outcome,
            p.number,
            p.debt_disclosed,
        )
        day = p.contacted_at.astimezone(self.zone).date()
        self.pending.setdefault(day, []).append(contact)
        if self.first is None or day < self.first:
            self.first, self.first_ends = day, self.end_of(day)

    def advance(self, now: datetime, patience: timedelta) -> None:
        """Judge the days that ended more than ``patience`` before ``now`` (the log's clock)."""
        while self.first is not None and self.first_ends is not None:
            if self.first_ends + patience >= now:  # (once per event: one comparison)
                return
            self.judge(self.first)
            self.first = min(self.pending, default=None)
            self.first_ends = None if self.first is None else self.end_of(self.first)

    def end_of(self, day: date) -> datetime:
        """The end of one of the agency's days (the next day's midnight)."""
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)

    def close(self) -> None:
        """Judge every day still held."""
        for day in sorted(self.pending):
            self.judge(day)

    def judge(self, day: date) -> None:
        """Judge the records of one of the agency's days, in the order the contacts were made."""
        contacts = sorted(self.pending.pop(day), key=lambda c: (c.at, c.line))
        self.checked(len(contacts))
        for contact in contacts:
            local = contact.at.astimezone(contact.zone)
            self.hours(contact, local)
            if contact.channel is ContactChannel.CALL:
                self.caps(contact, local.date())
            self.parties(contact)
        for counts in (self.calls, self.dials):  # a party's day ends a day after the agency's
            for key in [k for k in counts if k[2] < day - _KEEP]:
                del counts[key]
        for key4 in [k for k in self.dial_findings if k[2] < day - _KEEP]:
            del self.dial_findings[key4]

    def hours(self, c: _Contact, local: datetime) -> None:
        """A contact outside the window in the party's time zone."""
        if c.channel in TIMED and not self.start <= local.time() < self.end:
            self.find(
                "hours",
                c.case_id,
                c.actor,
                f"{c.channel.value} to {c.party_id} at {local:%Y-%m-%d %H:%M} in {c.zone.key}",
                f"contact between {self.start:%H:%M} and {self.end:%H:%M} in the party's time "
                f"zone ({CHECKS['hours']})",
                c.line,
                day=local.date(),
            )

    def caps(self, c: _Contact, day: date) -> None:
        """A call over the day's cap of connected calls, or of unanswered dials of a number."""
        key = (c.case_id, c.party_id, day)
        if c.outcome in CONVERSATION:
            lines, index = self.calls.get(key, ([], None))
            lines.append(c.line)
            if len(lines) > self.calls_cap:
                message = f"{len(lines)} connected calls to {c.party_id} on {day}"
                if index is None:
                    index = self.find(
                        "connected_calls",
                        c.case_id,
                        c.actor,
                        message,
                        f"at most {self.calls_cap} connected calls to a party a day, by all the "
                        f"agency's collectors ({CHECKS['connected_calls']})",
                        *lines,
                        day=day,
                    )
                else:
                    self.replace(index, message, *lines)
            self.calls[key] = (lines, index)
        elif c.outcome in FAILED:
            numbers = self.dials.setdefault(key, {})
            numbers.setdefault(c.number, []).append(c.line)
            # A dial without its number counts against every number of the party.
            affected = [c.number] if c.number is not None else list(numbers)
            for number in affected:
                lines = sorted(set(numbers.get(number, [])) | set(numbers.get(None, [])))
                if len(lines) <= self.dials_cap:
                    continue
                which = number or "its numbers (not recorded)"
                message = f"{len(lines)} unanswered dials of {c.party_id}'s {which} on {day}"
                index = self.dial_findings.get((*key, number))
                if index is None:
                    self.dial_findings[(*key, number)] = self.find(
                        "unanswered_dials",
                        c.case_id,
                        c.actor,
                        message,
                        f"at most {self.dials_cap} unanswered dials of a number a day "
                        f"({CHECKS['unanswered_dials']})",
                        *lines,
                        day=day,
                    )
                else:
                    self.replace(index, message, *lines)

    def parties(self, c: _Contact) -> None:
        """A third party contacted when it should not be; the borrower's run of failures."""
        if c.role is None:
            return  # a party the record does not name the role of: not judged
        if c.role is Role.BORROWER:
            if c.outcome in FAILED:
                self.failed[c.case_id] = self.failed.get(c.case_id, 0) + 1
            else:
                self.failed.pop(c.case_id, None)
            return
        if c.role in OBLIGOR_ROLES:
            return
        day = c.at.astimezone(c.zone).date()
        expected = (
            f"a third party only when the borrower cannot be reached (the last "
            f"{self.lost_after} attempts failed), never again after a refusal, "
            f"never told of the debt ({CHECKS['third_parties']})"
        )
        breaches = []
        failed = self.failed.get(c.case_id, 0)
        if failed < self.lost_after:
            breaches.append(
                f"while the borrower was reachable ({failed} failed attempt(s) in a row before it)"
            )
        if c.party_id in self.refused.get(c.case_id, ()):
            breaches.append("after refusing before")
        if c.disclosed:
            breaches.append("and told of the debt")
        if breaches:
            self.find(
                "third_parties",
                c.case_id,
                c.actor,
                f"{_party(c)} contacted on {day} " + ", ".join(breaches),
                expected,
                c.line,
                day=day,
            )
        if c.outcome is ContactResult.REFUSED:
            self.refused.setdefault(c.case_id, set()).add(c.party_id)


def _party(c: _Contact) -> str:
    """The party and, when its id does not say it, its role."""
    role = c.role.value if c.role is not None else None
    return c.party_id if role in (None, c.party_id) else f"{c.party_id} ({role})"
