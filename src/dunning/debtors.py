"""A debtor's contacts across their debts: the daily contact caps count the person, not the loan.

A borrower with two loans — worked by the lender on one and by an agency on the other, or by one
agency on both — is one person to call: three conversations a day is three, not three a loan
(docs/compliance.md, guards 2–3). A case carries the contacts of the borrower's *other* debts in
``Case.debtor_contacts``, which the contact caps count with its own and nothing else reads. A host
fills it from its books; :class:`DebtorContacts` fills it over a batch: a first pass keeps each
borrower's recent contacts, case by case, and :meth:`DebtorContacts.share` gives a case those of
the borrower's other cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import msgspec
from pydantic import ValidationError

from .errors import ArgumentError
from .model import Case, ContactAttempt

__all__ = ["DebtorContacts"]

#: How far back a first pass keeps contacts: the caps count the calls of the decision's local
#: day, which starts at most a day (and a time zone) before the moment of the run.
LOOKBACK = timedelta(days=2)
_DAY = timedelta(days=1)


class DebtorContacts:
    """Each borrower's recent contacts, by case, over a batch; immutable once read.

    Args:
        by_borrower: Borrower (``borrower.party_id``) → ``(case id, contacts)`` of each case of
            theirs that has recent contacts.
    """

    __slots__ = ("_by_borrower",)

    def __init__(
        self, by_borrower: Mapping[str, tuple[tuple[str, tuple[ContactAttempt, ...]], ...]]
    ) -> None:
        self._by_borrower = MappingProxyType(dict(by_borrower))

    @classmethod
    def of(
        cls, cases: Iterable[Case | Mapping[str, Any] | str | bytes], *, as_of: datetime
    ) -> DebtorContacts:
        """Read a batch once: the contacts of the two days to ``as_of`` of each case.

        A case that cannot be read is passed over (the run that decides it says why); so is a
        contact that cannot. Only what the caps may count is kept, so memory stays small
        whatever the batch.

        Raises:
            ArgumentError: If ``as_of`` is not an aware datetime.
        """
        if not isinstance(as_of, datetime) or as_of.utcoffset() is None:
            raise ArgumentError("as_of must be an aware datetime.datetime")
        since = as_of - LOOKBACK
        found: dict[str, list[tuple[str, tuple[ContactAttempt, ...]]]] = {}
        for item in cases:
            entry = _recent(item, since, as_of)
            if entry is not None:
                borrower, case_id, contacts = entry
                found.setdefault(borrower, []).append((case_id, contacts))
        return cls({b: tuple(entries) for b, entries in found.items() if entries})

    def __reduce__(self) -> tuple[Any, ...]:
        # To the worker processes of ``--jobs`` (a mapping proxy does not pickle).
        return (DebtorContacts, (dict(self._by_borrower),))

    def __len__(self) -> int:
        """The borrowers with recent contacts."""
        return len(self._by_borrower)

    def others(self, case: Case) -> tuple[ContactAttempt, ...]:
        """The recent contacts of the borrower's other cases (none for a borrower's only one)."""
        entries = self._by_borrower.get(case.borrower.party_id, ())
        return tuple(
            c for case_id, contacts in entries if case_id != case.case_id for c in contacts
        )

    def share(self, case: Case) -> Case:
        """The case with the contacts of the borrower's other cases in ``debtor_contacts``."""
        others = self.others(case)
        if not others:
            return case
        return case.model_copy(update={"debtor_contacts": (*case.debtor_contacts, *others)})


def _recent(
    item: Case | Mapping[str, Any] | str | bytes, since: datetime, until: datetime
) -> tuple[str, str, tuple[ContactAttempt, ...]] | None:
    """A case's borrower, id and contacts from ``since`` to ``until``; None if it has none."""
    if isinstance(item, Case):
        kept = tuple(_counted(c) for c in item.contacts if since <= c.at <= until)
        return (item.borrower.party_id, item.case_id, kept) if kept else None
    data: Any = item
    if isinstance(item, str | bytes):
        try:  # only the parts read here are built: the rest of the line is checked and skipped
            parts = _PARTS.decode(item)
        except (msgspec.DecodeError, UnicodeError):
            return None
        data = {"case_id": parts.case_id, "borrower": parts.borrower, "contacts": parts.contacts}
    if not isinstance(data, Mapping):
        return None
    borrower, case_id, contacts = data.get("borrower"), data.get("case_id"), data.get("contacts")
    party = borrower.get("party_id") if isinstance(borrower, Mapping) else None
    if not isinstance(party, str) or not isinstance(case_id, str) or not isinstance(contacts, list):
        return None
    recent: list[ContactAttempt] = []
    # ISO dates sort as text: a contact dated outside a day either side is passed over unparsed.
    low, high = (since - _DAY).date().isoformat(), (until + _DAY).date().isoformat()
    for raw in contacts:
        text = raw.get("at") if type(raw) is dict else None
        if type(text) is not str or not low <= text[:10] <= high:
            continue
        at = _moment(text)
        if at is None or not since <= at <= until:
            continue
        try:
            recent.append(_counted(ContactAttempt.model_validate(raw)))
        except ValidationError:
            continue
    return (party, case_id, tuple(recent)) if recent else None


class _Parts(msgspec.Struct):
    """What a first pass reads of a case line; a decoder skips the rest unbuilt."""

    case_id: Any = None
    borrower: Any = None
    contacts: Any = None


_PARTS = msgspec.json.Decoder(_Parts)


def _counted(contact: ContactAttempt) -> ContactAttempt:
    """What the caps count of a contact: when, how, whom, and what came of it.

    The notes and what the borrower said stay with the case they were recorded on.
    """
    return ContactAttempt.model_construct(
        at=contact.at,
        channel=contact.channel,
        party_id=contact.party_id,
        outcome=contact.outcome,
        number=contact.number,
    )


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None
