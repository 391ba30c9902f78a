"""Stage 3b of the rule front end: the ``guards:`` section → a checked :class:`GuardConfig`.

Guards start from a jurisdiction profile (``cn``, the default, or ``us``, or one a host passes
in as a :class:`GuardProfile`); the file may turn a guard off (``rolling_calls: off``), on with
the profile's settings (``on``), or change single settings. Every unknown key and bad value is a
diagnostic at its position, like the rest of the file; turning off a guard the profile has on is
a warning, so that ``check --strict`` catches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError, did_you_mean
from ..lpr import LprTable
from .ir import (
    ChargesCap,
    CollectionFees,
    ConnectedCalls,
    ContactStatus,
    ContactWindow,
    FieldVisits,
    GuardConfig,
    Limitation,
    OutsourcingNotice,
    RollingCalls,
    ThirdParties,
    UnansweredDials,
)
from .reader import Reader
from .source import PMap, PNode, Pos, PScalar, PSeq, Source

__all__ = [
    "BUILTIN_PROFILES",
    "GUARD_IDS",
    "SETTINGS",
    "GuardProfile",
    "guards_json_schema",
    "profile_table",
    "read_guards",
]

_CLASSES: dict[str, type] = {
    "contact_window": ContactWindow,
    "connected_calls": ConnectedCalls,
    "unanswered_dials": UnansweredDials,
    "rolling_calls": RollingCalls,
    "third_parties": ThirdParties,
    "contact_status": ContactStatus,
    "field_visits": FieldVisits,
    "outsourcing_notice": OutsourcingNotice,
    "collection_fees": CollectionFees,
    "charges_cap": ChargesCap,
    "limitation": Limitation,
}
#: The guards, in the order they are applied.
GUARD_IDS = tuple(_CLASSES)

#: Every setting's kind and its value when a profile does not say otherwise.
SETTINGS: Mapping[str, Mapping[str, tuple[Any, Any]]] = MappingProxyType(
    {
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
            "template": ("id", "restore_contact"),
        },
        "contact_status": {},
        "field_visits": {"require_address": ("bool", True), "require_recording": ("bool", True)},
        "outsourcing_notice": {"template": ("id", "outsourcing_notice")},
        "collection_fees": {},
        "charges_cap": {
            "mode": (("lpr_multiple", "fixed_rate"), "lpr_multiple"),
            "multiple": ("positive", Decimal(4)),
            "rate": ("rate", Decimal("0.24")),
            "penalty_multiplier_min": ("positive?", Decimal("1.3")),
            "penalty_multiplier_max": ("positive?", Decimal("1.5")),
            "penalty_multiplier_default": ("positive?", Decimal("1.5")),
            "card_charges": (("contract", "measured"), "contract"),
            "lpr": ("lpr", ()),
        },
        "limitation": {
            "years": ("count", 3),
            "approval": ("id", "supervisor"),
            "guarantee_months": ("days", 6),
        },
    }
)

_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,31}$")


# --- values: one check per kind, for settings read from a file and for profiles from Python ------


def _problem(kind: Any, value: Any, name: str) -> str | None:
    """Return what is wrong with a setting's value (already of the kind's Python type)."""
    if isinstance(kind, tuple):
        return None if value in kind else f"{name} must be one of {', '.join(kind)}"
    if kind.endswith("?") and value is None:
        return None
    if kind in ("positive", "positive?", "rate"):
        if not value.is_finite() or abs(value) > 1000:
            return f"{name} must be a finite number below 1000"
        if kind != "rate" and value <= 0:
            return f"{name} must be above 0"
        if kind == "rate" and not 0 < value < 1:
            return f'{name} must be a yearly rate between 0 and 1, such as "0.24"'
    if kind == "count" and value < 1:
        return f"{name} must be at least 1"
    if kind == "calendar" and value is not None:
        return _calendar_problem(value)
    return None


def _calendar_problem(country: str) -> str | None:
    import holidays

    if country not in holidays.list_supported_countries():
        known = sorted(holidays.list_supported_countries())
        return f"unknown holiday calendar {country!r}" + did_you_mean(country, known)
    return None


def _python_value(kind: Any, value: Any, name: str) -> Any:
    """Check a setting given in Python (a profile); return it in the form the guards use.

    Raises:
        ValueError: Saying what was expected.
    """
    if isinstance(kind, tuple) or (kind.endswith("?") and value is None):
        pass
    elif kind == "time":
        if not isinstance(value, time):
            raise ValueError(f"{name} must be a datetime.time")
    elif kind == "calendar":
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a country code such as 'CN', or None")
    elif kind == "dates":
        value = frozenset(value) if isinstance(value, Iterable) else value
        if not isinstance(value, frozenset) or not all(type(d) is date for d in value):
            raise ValueError(f"{name} must be dates (datetime.date)")
    elif kind in ("count", "days"):
        if type(value) is not int or not 0 <= value <= 10_000:
            raise ValueError(f"{name} must be a whole number from 0 to 10000")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False")
    elif kind == "id":
        if not isinstance(value, str) or not _ID.match(value):
            raise ValueError(f"{name} must be a name of letters, digits, - _ .")
    elif kind == "lpr":
        value = tuple(value) if isinstance(value, Iterable) else value
        if not isinstance(value, tuple) or not all(
            isinstance(e, tuple) and len(e) == 2 and type(e[0]) is date for e in value
        ):
            raise ValueError(f"{name} must be (datetime.date, Decimal rate) pairs")
        value = tuple((day, _decimal(rate, "an LPR rate")) for day, rate in value)
        for _, rate in value:
            _raise(_problem("rate", rate, "an LPR rate"))
    else:  # positive, positive?, rate
        value = _decimal(value, name)
    _raise(_problem(kind, value, name))
    return value


def _decimal(value: Any, name: str) -> Decimal:
    """Read a number given as an int, a Decimal or its text (never a float)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError(f'{name} must be a number, such as "1.5" (a Decimal or text, not a float)')
    try:
        return Decimal(value)
    except ArithmeticError:
        raise ValueError(f'{name} must be a number, such as "1.5"') from None


def _raise(problem: str | None) -> None:
    if problem is not None:
        raise ValueError(problem)


# --- profiles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardProfile:
    """A jurisdiction's guards: which are on, and the settings that differ from the defaults.

    A policy file chooses one with ``guards: {profile: NAME}``. The built-in profiles are in
    :data:`BUILTIN_PROFILES`; a host adds its own by passing them to ``load_policy(...,
    profiles=[...])`` — nothing global is edited. Settings are checked when the profile is
    made, and :class:`~dunning.ConfigError` lists every problem.

    Attributes:
        name: The profile's name (lower case letters, digits, ``_`` and ``-``).
        guards: For each guard id, ``None`` (off) or the settings that differ from
            :data:`SETTINGS` (``{}``: on, as the defaults say). A guard not listed is as in
            ``extends``, or off without it.
        extends: A built-in profile this one starts from.
        sources: The instruments its figures come from, for counsel to check.
    """

    name: str
    guards: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    extends: str | None = None
    sources: str = ""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            problems.append(f"name {self.name!r} must be lower case letters, digits, _ and -")
        if self.extends is not None and self.extends not in BUILTIN_PROFILES:
            problems.append(
                f"extends {self.extends!r} is not a built-in profile"
                + did_you_mean(str(self.extends), BUILTIN_PROFILES)
            )
        checked: dict[str, Mapping[str, Any] | None] = {}
        for guard, settings in self.guards.items():
            if guard not in SETTINGS:
                problems.append(f"unknown guard {guard!r}" + did_you_mean(guard, GUARD_IDS))
                continue
            if settings is None:
                checked[guard] = None
                continue
            values = {}
            for name, value in settings.items():
                if name not in SETTINGS[guard]:
                    problems.append(
                        f"unknown setting {name!r} of guard {guard!r}"
                        + did_you_mean(name, SETTINGS[guard])
                    )
                    continue
                try:
                    values[name] = _python_value(SETTINGS[guard][name][0], value, name)
                except ValueError as exc:
                    problems.append(f"{guard}: {exc}")
            checked[guard] = MappingProxyType(values)
        if problems:
            raise ConfigError(f"guard profile {self.name!r}: " + "; ".join(problems))
        object.__setattr__(self, "guards", MappingProxyType(checked))

    def table(self) -> Mapping[str, Mapping[str, Any] | None]:
        """Every guard's settings that differ from the defaults, ``None`` where it is off."""
        base = BUILTIN_PROFILES[self.extends].table() if self.extends else {}
        return {guard: self.guards.get(guard, base.get(guard)) for guard in GUARD_IDS}


#: The built-in jurisdiction profiles.
BUILTIN_PROFILES: Mapping[str, GuardProfile] = MappingProxyType(
    {
        "cn": GuardProfile(
            "cn",
            {
                guard: {}
                for guard in GUARD_IDS
                if guard != "rolling_calls"  # Regulation F's cap; the cn rules count per day
            },
            sources="GB/T 45251-2025, the China Banking Association collection guideline "
            "(2026-01-30), the 2011 credit-card Measures Art. 68-70, SPC private-lending rules "
            "Art. 25-31",
        ),
        "us": GuardProfile(
            "us",
            {
                "contact_window": {"end": time(21)},
                "rolling_calls": {},
                "third_parties": {"lost_after_failed_attempts": 3},
                "contact_status": {},
                "field_visits": {"require_recording": False},
                "charges_cap": {
                    "mode": "fixed_rate",
                    "rate": Decimal("0.36"),
                    "penalty_multiplier_min": None,
                    "penalty_multiplier_max": None,
                    "penalty_multiplier_default": None,
                    "card_charges": "measured",
                },
                "limitation": {"guarantee_months": 0},
            },
            sources="FDCPA (15 U.S.C. 1692) and Regulation F (12 CFR 1006)",
        ),
    }
)


def profile_table(profiles: Iterable[GuardProfile] = ()) -> Mapping[str, GuardProfile]:
    """Return the built-in profiles with ``profiles`` added, refusing a clash of names.

    Raises:
        ConfigError: If a profile is not a :class:`GuardProfile` or reuses a name.
    """
    table = dict(BUILTIN_PROFILES)
    if isinstance(profiles, str) or not isinstance(profiles, Iterable):
        raise ConfigError(f"profiles must be a list of GuardProfile, not {type(profiles).__name__}")
    for profile in profiles:
        if not isinstance(profile, GuardProfile):
            raise ConfigError(f"profiles must be GuardProfile objects, got {profile!r}")
        if profile.name in table:
            raise ConfigError(
                f"guard profile {profile.name!r} is already defined; give yours another name "
                f"(or extends={profile.name!r} to start from it)"
            )
        table[profile.name] = profile
    return MappingProxyType(table)


# --- reading the section -----------------------------------------------------------------------


class _Settings:
    """Reads one guard's settings from the file, reporting every bad one."""

    def __init__(self, source: Source) -> None:
        self.src = source

    def bad(self, node: PNode, message: str) -> None:
        self.src.report(node.pos, "bad-guard-value", message)

    def value(self, kind: Any, node: PNode, name: str) -> tuple[bool, Any]:
        """Return (ok, value) for ``node`` read as ``kind``."""
        if isinstance(kind, tuple):
            value = node.value if isinstance(node, PScalar) else None
        elif kind.endswith("?") and isinstance(node, PScalar) and node.value is None:
            return True, None
        else:
            ok, value = getattr(self, "_" + kind.rstrip("?"))(node, name)
            if not ok:
                return False, None
        problem = _problem(kind, value, name)
        if problem is not None:
            code = "guard-calendar" if kind == "calendar" else "bad-guard-value"
            self.src.report(node.pos, code, problem)
            return False, None
        return True, value

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
        if text is not None and not isinstance(text, str):
            self.bad(node, f"{name} must be a country code such as CN")
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

    _days = _count

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

    def _positive(self, node: PNode, name: str) -> tuple[bool, Any]:
        try:
            return True, _decimal(node.value if isinstance(node, PScalar) else None, name)
        except ValueError:
            self.bad(node, f'{name} must be a number, such as "1.5"')
            return False, None

    _rate = _positive

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


def read_guards(
    node: PNode | None, source: Source, profiles: Mapping[str, GuardProfile] = BUILTIN_PROFILES
) -> GuardConfig | None:
    """Read the ``guards:`` section (``None``: the ``cn`` profile as it is).

    Args:
        node: The section.
        source: Where problems are reported.
        profiles: The profiles a file may name (see :func:`profile_table`).

    Returns:
        The guards' settings, or ``None`` if anything was wrong (every problem reported).
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
            if isinstance(value, str) and value in profiles:
                profile = value
            else:
                source.report(
                    profile_node.pos,
                    "unknown-value",
                    f"unknown guard profile {value!r}" + did_you_mean(str(value), profiles),
                    hint=f"profiles: {', '.join(profiles)}",
                )
                return None
    chosen = profiles[profile].table()
    failed = False
    if guards is not None:
        failed = not Reader(source).keys(
            guards,
            ("profile", *GUARD_IDS),
            "",
            noun="guard",
            hint=f"guards: {', '.join(GUARD_IDS)}",
        )
    built: dict[str, Any] = {}
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
        values = {name: default for name, (_, default) in SETTINGS[guard].items()} | dict(settings)
        if isinstance(value_node, PMap):
            failed = (
                not Reader(source).keys(
                    value_node,
                    SETTINGS[guard],
                    f"of guard {guard!r}",
                    noun="setting",
                    hint=f"settings: {', '.join(SETTINGS[guard]) or 'none'}",
                )
                or failed
            )
            for name, (_, item) in value_node.items.items():
                if name in SETTINGS[guard]:
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


def guards_json_schema(
    profiles: Mapping[str, GuardProfile] = BUILTIN_PROFILES,
) -> dict[str, Any]:
    """Return the JSON Schema of the ``guards:`` section, from the guards' own setting table."""
    kinds: dict[str, dict[str, Any]] = {
        "time": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"},
        "calendar": {"type": ["string", "null"]},
        "dates": {"type": "array", "items": {"type": "string", "format": "date"}},
        "count": {"type": "integer", "minimum": 1},
        "days": {"type": "integer", "minimum": 0},
        "bool": {"type": "boolean"},
        "id": {"type": "string", "pattern": _ID.pattern},
        "positive": {"type": ["string", "number"]},
        "positive?": {"type": ["string", "number", "null"]},
        "rate": {"type": ["string", "number"]},
        "lpr": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}},
    }
    props: dict[str, Any] = {"profile": {"enum": list(profiles)}}
    for guard, settings in SETTINGS.items():
        props[guard] = {
            "oneOf": [
                {"type": "boolean"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        name: {"enum": list(kind)} if isinstance(kind, tuple) else kinds[kind]
                        for name, (kind, _) in settings.items()
                    },
                },
            ]
        }
    return {"type": "object", "additionalProperties": False, "properties": props}
