"""Stage 3b of the rule front end: the ``guards:`` section → a checked :class:`GuardConfig`.

Guards start from a jurisdiction profile (``cn``, the default, or ``us``); the file may turn a
guard off (``rolling_calls: off``), on with the profile's settings (``on``), or change single
settings. Every unknown key and bad value is a diagnostic at its position, like the rest of the
file; turning off a guard the profile has on is a warning, so that ``check --strict`` catches it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from functools import cache
from typing import Any

from ..lpr import LprTable
from .schema import did_you_mean
from .source import PMap, PNode, Pos, PScalar, PSeq, Source

__all__ = [
    "GUARD_IDS",
    "PROFILES",
    "SETTINGS",
    "ChargesCap",
    "ContactWindow",
    "GuardConfig",
    "Limitation",
    "RollingCalls",
    "ThirdParties",
    "holiday_dates",
    "read_guards",
]


@dataclass(frozen=True, slots=True)
class ContactWindow:
    """Contact only between ``start`` and ``end`` (party's local time), never on quiet days."""

    start: time
    end: time
    calendar: str | None  # a country code of the ``holidays`` package: its holidays are quiet
    quiet_dates: frozenset[date]


@dataclass(frozen=True, slots=True)
class ConnectedCalls:
    """At most ``per_day`` calls that reached a debtor, per debtor and local day."""

    per_day: int


@dataclass(frozen=True, slots=True)
class UnansweredDials:
    """At most ``per_number_per_day`` unanswered dials of one number; then defer or send an SMS."""

    per_number_per_day: int
    then: str  # defer | sms


@dataclass(frozen=True, slots=True)
class RollingCalls:
    """At most ``max_calls`` calls in ``days`` days, none for ``after_conversation_days``."""

    max_calls: int
    days: int
    after_conversation_days: int


@dataclass(frozen=True, slots=True)
class ThirdParties:
    """When third parties may be contacted (borrower lost) and what they are told."""

    lost_after_failed_attempts: int
    template: str


@dataclass(frozen=True, slots=True)
class ContactStatus:
    """No contact with a debtor who asked for none, disputes, died, is bankrupt or represented."""


@dataclass(frozen=True, slots=True)
class FieldVisits:
    """Field visits need a known address and, where required, a recording."""

    require_address: bool
    require_recording: bool


@dataclass(frozen=True, slots=True)
class OutsourcingNotice:
    """A case goes to an agency only after the borrower was told; the notice's template."""

    template: str


@dataclass(frozen=True, slots=True)
class ChargesCap:
    """Penalty interest and fees cut so that all charges stay under a yearly rate on principal."""

    mode: str  # lpr_multiple | fixed_rate
    multiple: Decimal
    rate: Decimal
    penalty_multiplier_min: Decimal | None
    penalty_multiplier_max: Decimal | None
    penalty_multiplier_default: Decimal | None
    lpr: LprTable


@dataclass(frozen=True, slots=True)
class Limitation:
    """Cases in default longer than ``years`` are flagged; legal action needs ``approval``."""

    years: int
    approval: str


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """Every guard's settings; ``None`` means the guard is off."""

    profile: str
    contact_window: ContactWindow | None
    connected_calls: ConnectedCalls | None
    unanswered_dials: UnansweredDials | None
    rolling_calls: RollingCalls | None
    third_parties: ThirdParties | None
    contact_status: ContactStatus | None
    field_visits: FieldVisits | None
    outsourcing_notice: OutsourcingNotice | None
    charges_cap: ChargesCap | None
    limitation: Limitation | None


_CLASSES: dict[str, type] = {
    "contact_window": ContactWindow,
    "connected_calls": ConnectedCalls,
    "unanswered_dials": UnansweredDials,
    "rolling_calls": RollingCalls,
    "third_parties": ThirdParties,
    "contact_status": ContactStatus,
    "field_visits": FieldVisits,
    "outsourcing_notice": OutsourcingNotice,
    "charges_cap": ChargesCap,
    "limitation": Limitation,
}
#: The guards, in the order they are applied.
GUARD_IDS = tuple(_CLASSES)

#: Every setting's kind and its value when a profile does not say otherwise.
SETTINGS: dict[str, dict[str, tuple[Any, Any]]] = {
    "contact_window": {
        "start": ("time", time(8)),
        "end": ("time", time(22)),
        "calendar": ("calendar", None),
        "quiet_dates": ("dates", frozenset()),
    },
    "connected_calls": {"per_day": ("count", 3)},
    "unanswered_dials": {
        "per_number_per_day": ("count", 6),
        "then": (("defer", "sms"), "defer"),
    },
    "rolling_calls": {
        "max_calls": ("count", 7),
        "days": ("count", 7),
        "after_conversation_days": ("days", 7),
    },
    "third_parties": {
        "lost_after_failed_attempts": ("count", 3),
        "template": ("id", "restore-contact"),
    },
    "contact_status": {},
    "field_visits": {"require_address": ("bool", True), "require_recording": ("bool", True)},
    "outsourcing_notice": {"template": ("id", "outsourcing-notice")},
    "charges_cap": {
        "mode": (("lpr_multiple", "fixed_rate"), "lpr_multiple"),
        "multiple": ("positive", Decimal(4)),
        "rate": ("rate", Decimal("0.24")),
        "penalty_multiplier_min": ("positive?", Decimal("1.3")),
        "penalty_multiplier_max": ("positive?", Decimal("1.5")),
        "penalty_multiplier_default": ("positive?", Decimal("1.5")),
        "lpr": ("lpr", ()),
    },
    "limitation": {"years": ("count", 3), "approval": ("id", "supervisor")},
}

#: Jurisdiction profiles: which guards are on and the settings that differ from the defaults.
PROFILES: dict[str, dict[str, dict[str, Any] | None]] = {
    # Mainland China: GB/T 45251-2025, the China Banking Association collection guideline
    # (2026-01-30), the 2011 credit-card Measures Art. 68-70, SPC private-lending rules Art. 25-31.
    "cn": {
        "contact_window": {},
        "connected_calls": {},
        "unanswered_dials": {},
        "rolling_calls": None,
        "third_parties": {},
        "contact_status": {},
        "field_visits": {},
        "outsourcing_notice": {},
        "charges_cap": {},
        "limitation": {},
    },
    # United States: FDCPA (15 U.S.C. 1692) and Regulation F (12 CFR 1006).
    "us": {
        "contact_window": {"end": time(21)},
        "connected_calls": None,
        "unanswered_dials": None,
        "rolling_calls": {},
        "third_parties": {"lost_after_failed_attempts": 3},
        "contact_status": {},
        "field_visits": {"require_recording": False},
        "outsourcing_notice": None,
        "charges_cap": {
            "mode": "fixed_rate",
            "rate": Decimal("0.36"),
            "penalty_multiplier_min": None,
            "penalty_multiplier_max": None,
            "penalty_multiplier_default": None,
        },
        "limitation": {},
    },
}

_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@cache
def holiday_dates(country: str, year: int) -> frozenset[date]:
    """Return the public holidays of ``country`` in ``year`` from the ``holidays`` package.

    Cached: the package computes a year on first use, and a decision must not pay for it twice.
    """
    import holidays

    return frozenset(holidays.country_holidays(country, years=year))


def _calendar_problem(country: str) -> str | None:
    try:
        import holidays
    except ImportError:
        return "quiet days from a calendar need the holidays package: pip install dunning[holidays]"
    if country not in holidays.list_supported_countries():
        known = sorted(holidays.list_supported_countries())
        return f"unknown holiday calendar {country!r}" + did_you_mean(country, known)
    return None


class _Settings:
    """Reads one guard's settings, reporting every bad one."""

    def __init__(self, source: Source) -> None:
        self.src = source

    def bad(self, node: PNode, message: str) -> None:
        self.src.report(node.pos, "bad-guard-value", message)

    def value(self, kind: Any, node: PNode, name: str) -> tuple[bool, Any]:
        """Return (ok, value) for ``node`` read as ``kind``."""
        readers: dict[str, Callable[[PNode, str], tuple[bool, Any]]] = {
            "time": self._time,
            "calendar": self._calendar,
            "dates": self._dates,
            "count": self._count,
            "days": self._count,
            "bool": self._bool,
            "id": self._id,
            "positive": self._number,
            "positive?": self._number,
            "rate": self._number,
            "lpr": self._lpr,
        }
        if isinstance(kind, tuple):
            if isinstance(node, PScalar) and node.value in kind:
                return True, node.value
            self.bad(node, f"{name} must be one of {', '.join(kind)}")
            return False, None
        if kind.endswith("?") and isinstance(node, PScalar) and node.value is None:
            return True, None
        ok, value = readers[kind](node, name)
        if ok and kind in ("positive", "positive?") and value <= 0:
            self.bad(node, f"{name} must be above 0")
            return False, None
        if ok and kind == "rate" and not 0 < value < 1:
            self.bad(node, f'{name} must be a yearly rate between 0 and 1, such as "0.24"')
            return False, None
        if ok and kind == "count" and value < 1:
            self.bad(node, f"{name} must be at least 1")
            return False, None
        return ok, value

    def _time(self, node: PNode, name: str) -> tuple[bool, Any]:
        text = node.value if isinstance(node, PScalar) else None
        match = _TIME.match(text) if isinstance(text, str) else None
        if match is None or (match[1] == "24" and match[2] != "00"):
            self.bad(node, f'{name} must be a time of day "HH:MM", such as "08:00"')
            return False, None
        hour, minute = int(match[1]), int(match[2])
        return True, time.max if hour == 24 else time(hour, minute)

    def _calendar(self, node: PNode, name: str) -> tuple[bool, Any]:
        text = node.value if isinstance(node, PScalar) else None
        if text is None:
            return True, None
        if not isinstance(text, str):
            self.bad(node, f"{name} must be a country code such as CN")
            return False, None
        problem = _calendar_problem(text)
        if problem:
            self.src.report(node.pos, "guard-calendar", problem)
            return False, None
        return True, text

    def _dates(self, node: PNode, name: str) -> tuple[bool, Any]:
        if not isinstance(node, PSeq):
            self.bad(node, f"{name} must be a list of dates YYYY-MM-DD")
            return False, None
        days, ok = set(), True
        for item in node.items:
            day = self._date(item, f"an entry of {name}")
            ok = ok and day is not None
            if day is not None:
                days.add(day)
        return ok, frozenset(days)

    def _date(self, node: PNode, what: str) -> date | None:
        text = node.value if isinstance(node, PScalar) else None
        if isinstance(text, str) and _DATE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        self.bad(node, f"{what} must be a date YYYY-MM-DD")
        return None

    def _count(self, node: PNode, name: str) -> tuple[bool, Any]:
        value = node.value if isinstance(node, PScalar) else None
        if type(value) is not int or value < 0 or value > 10_000:
            self.bad(node, f"{name} must be a whole number from 0 to 10000")
            return False, None
        return True, value

    def _bool(self, node: PNode, name: str) -> tuple[bool, Any]:
        value = node.value if isinstance(node, PScalar) else None
        if not isinstance(value, bool):
            self.bad(node, f"{name} must be true or false")
            return False, None
        return True, value

    def _id(self, node: PNode, name: str) -> tuple[bool, Any]:
        value = node.value if isinstance(node, PScalar) else None
        if not isinstance(value, str) or not _ID.match(value):
            self.bad(node, f"{name} must be a name of letters, digits, - _ .")
            return False, None
        return True, value

    def _number(self, node: PNode, name: str) -> tuple[bool, Any]:
        value = node.value if isinstance(node, PScalar) else None
        if isinstance(value, str):
            try:
                value = Decimal(value)
            except ArithmeticError:
                value = None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.bad(node, f'{name} must be a number, such as "1.5"')
            return False, None
        if not Decimal(value).is_finite() or abs(Decimal(value)) > 1000:
            self.bad(node, f"{name} must be a finite number below 1000")
            return False, None
        return True, Decimal(value)

    def _lpr(self, node: PNode, name: str) -> tuple[bool, Any]:
        message = f'{name} must list [date, rate] pairs, such as ["2026-06-22", "0.029"]'
        if not isinstance(node, PSeq):
            self.bad(node, message)
            return False, None
        entries, ok = [], True
        for item in node.items:
            if not isinstance(item, PSeq) or len(item.items) != 2:
                self.bad(item, message)
                ok = False
                continue
            day = self._date(item.items[0], "an LPR date")
            good, rate = self.value("rate", item.items[1], "an LPR rate")
            if day is None or not good:
                ok = False
            else:
                entries.append((day, rate))
        return ok, tuple(entries)


def read_guards(node: PNode | None, source: Source) -> GuardConfig | None:
    """Read the ``guards:`` section (``None``: the ``cn`` profile as it is).

    Returns ``None`` if anything was wrong; every problem is reported to ``source``.
    """
    reader = _Settings(source)
    profile = "cn"
    guards: PMap | None = None
    if node is not None:
        if not isinstance(node, PMap):
            reader.bad(node, "guards must be a mapping of guard settings")
            return None
        guards = node
        profile_node = node.get("profile")
        if profile_node is not None:
            value = profile_node.value if isinstance(profile_node, PScalar) else None
            if value in PROFILES:
                profile = str(value)
            else:
                source.report(
                    profile_node.pos,
                    "unknown-value",
                    f"unknown guard profile {value!r}" + did_you_mean(str(value), list(PROFILES)),
                    hint=f"profiles: {', '.join(PROFILES)}",
                )
                return None
    chosen = PROFILES[profile]
    failed = False
    built: dict[str, Any] = {}
    for key, (key_node, _) in guards.items.items() if guards else ():
        if key != "profile" and key not in _CLASSES:
            source.report(
                key_node.pos,
                "unknown-key",
                f"unknown guard {key!r}" + did_you_mean(key, GUARD_IDS),
                hint=f"guards: {', '.join(GUARD_IDS)}",
            )
            failed = True
    for guard in GUARD_IDS:
        entry = guards.items.get(guard) if guards else None
        value_node = entry[1] if entry else None
        settings = chosen[guard]
        if value_node is not None and isinstance(value_node, PScalar):
            if value_node.value is False:
                if settings is not None:
                    source.report(
                        value_node.pos,
                        "guard-disabled",
                        f"guard {guard!r} is turned off; the {profile} profile has it on",
                        hint="the defaults reflect the law: confirm with counsel before this",
                        severity="warning",
                    )
                built[guard] = None
                continue
            if value_node.value is not True:
                reader.bad(value_node, f"{guard} must be on, off or a mapping of settings")
                failed = True
                continue
            value_node = None
            settings = settings or {}
        elif value_node is not None and not isinstance(value_node, PMap):
            reader.bad(value_node, f"{guard} must be on, off or a mapping of settings")
            failed = True
            continue
        elif value_node is not None:
            settings = settings or {}  # settings given: the guard is on
        if settings is None:
            built[guard] = None
            continue
        values = {name: default for name, (_, default) in SETTINGS[guard].items()} | settings
        if isinstance(value_node, PMap):
            for name, (name_node, item) in value_node.items.items():
                if name not in SETTINGS[guard]:
                    allowed = ", ".join(SETTINGS[guard]) or "none"
                    source.report(
                        name_node.pos,
                        "unknown-key",
                        f"unknown setting {name!r} of guard {guard!r}"
                        + did_you_mean(name, list(SETTINGS[guard])),
                        hint=f"settings: {allowed}",
                    )
                    failed = True
                    continue
                ok, value = reader.value(SETTINGS[guard][name][0], item, name)
                failed = failed or not ok
                values[name] = value
        if not failed:
            problem = _consistent(guard, values)
            if problem:
                where = value_node or node
                source.report(where.pos if where else Pos(1, 1), "bad-guard-value", problem)
                failed = True
                continue
            if guard == "charges_cap":
                values["lpr"] = LprTable(values["lpr"])
            built[guard] = _CLASSES[guard](**values)
    if failed:
        return None
    return GuardConfig(profile=profile, **built)


def _consistent(guard: str, values: dict[str, Any]) -> str | None:
    if guard == "contact_window" and not values["start"] < values["end"]:
        return "contact_window: start must be before end"
    if guard == "charges_cap":
        low, high = values["penalty_multiplier_min"], values["penalty_multiplier_max"]
        default = values["penalty_multiplier_default"]
        if low is not None and high is not None and low > high:
            return "charges_cap: penalty_multiplier_min is above penalty_multiplier_max"
        if default is not None and (
            (low is not None and default < low) or (high is not None and default > high)
        ):
            return "charges_cap: penalty_multiplier_default is outside min..max"
    return None
