"""Money: ``Decimal`` amounts in an ISO 4217 currency, rounded to its minor unit half-up.

Floats never enter: binary floating point cannot represent 0.10 exactly, and a collection
notice that is off by a fen is a complaint. Amounts are rounded (``ROUND_HALF_UP``) only at
the documented points: each scheduled instalment part, each accrued penalty, each total.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Self

from pydantic_core import core_schema

from .errors import ArgumentError, ConfigError

#: Minor-unit exponents of the currencies a lender is likely to book in (ISO 4217).
MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "NZD": 2,
    "MYR": 2,
    "THB": 2,
    "PHP": 2,
    "INR": 2,
    "IDR": 2,
    "MXN": 2,
    "BRL": 2,
    "ZAR": 2,
    "RUB": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "TRY": 2,
    "AED": 2,
    "SAR": 2,
    "NGN": 2,
    "KES": 2,
    "PKR": 2,
    "BDT": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "UGX": 0,
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}

DEFAULT_CURRENCY = "CNY"
#: Digits before or after the point a Money amount may have (round_money works to 28).
MAX_DIGITS = 20

_QUANTA: dict[str, Decimal] = {c: Decimal(1).scaleb(-e) for c, e in MINOR_UNITS.items()}


def quantum(currency: str) -> Decimal:
    """Return the smallest unit of ``currency`` (``Decimal("0.01")`` for CNY).

    Raises:
        KeyError: If the currency is not in :data:`MINOR_UNITS`.
    """
    return _QUANTA[currency]


def round_money(amount: Decimal | Fraction | int, currency: str = DEFAULT_CURRENCY) -> Decimal:
    """Round ``amount`` (a decimal, or an exact fraction) to the currency's minor unit, half-up."""
    try:
        places = MINOR_UNITS[currency]
    except KeyError:
        raise ConfigError(f"unknown currency {currency!r}") from None
    return round_exact(amount, places)


_STEPS = {places: Decimal(1).scaleb(-places) for places in range(0, 11)}


def round_exact(value: Decimal | Fraction | int, places: int) -> Decimal:
    """Round ``value`` exactly to ``places`` decimal places, half away from zero (ROUND_HALF_UP).

    Works on fractions too (a rule's ``a / b``), without first rounding them to some precision.
    """
    if not isinstance(value, Fraction):
        step = _STEPS.get(places) or Decimal(1).scaleb(-places)
        if not isinstance(value, Decimal):
            value = Decimal(value)
        return value.quantize(step, rounding=ROUND_HALF_UP)
    scaled = abs(value) * 10**places
    units = int(scaled)  # floor of a non-negative number
    if scaled - units >= Fraction(1, 2):
        units += 1
    result = Decimal(units).scaleb(-places)
    return -result if value < 0 else result


def decimal_places(amount: Decimal) -> int:
    """Return how many digits ``amount`` has after the decimal point (``1.50`` → 2, ``7`` → 0)."""
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class Money:
    """An immutable amount in one currency, always held at the currency's minor unit.

    Arithmetic between two currencies raises ``ValueError``; multiplying by a ``Decimal`` rate
    rounds the product half-up. In JSON a ``Money`` is ``{"amount": "12.30", "currency": "CNY"}``.

    Args:
        amount: The amount; a ``str``, ``int`` or ``Decimal`` (never a float).
        currency: ISO 4217 code, default CNY.
    """

    __slots__ = ("amount", "currency")
    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str = DEFAULT_CURRENCY) -> None:
        if isinstance(amount, float) or not isinstance(amount, Decimal | int | str):
            raise ArgumentError(
                f"Money takes a str, int or Decimal such as '12.30', not {type(amount).__name__}"
            )
        if not isinstance(currency, str) or currency not in _QUANTA:
            raise ConfigError(f"unknown currency {currency!r}")
        try:
            value = Decimal(amount)
        except ArithmeticError:
            raise ConfigError(f"amount {amount!r} is not a number") from None
        if not value.is_finite() or abs(value.adjusted()) > MAX_DIGITS:
            raise ConfigError(f"amount must be finite and at most {MAX_DIGITS} digits: {amount!r}")
        object.__setattr__(self, "amount", round_money(value, currency))
        object.__setattr__(self, "currency", currency)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Money is immutable")

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Self:
        """Return zero in ``currency``."""
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ConfigError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, rate: Decimal | int) -> Money:
        if not isinstance(rate, Decimal | int) or isinstance(rate, bool):
            return NotImplemented
        return Money(self.amount * rate, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __bool__(self) -> bool:
        return bool(self.amount)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return (self.amount, self.currency) == (other.amount, other.currency)

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        """Let pydantic models hold ``Money``: validated from a dict, serialised to strings."""

        def from_dict(value: Any) -> Money:
            if isinstance(value, Money):
                return value
            if not isinstance(value, dict) or set(value) - {"amount", "currency"}:
                raise ValueError('money must be {"amount": "…", "currency": "…"}')
            amount = value.get("amount")
            if not isinstance(amount, str | int | Decimal) or isinstance(amount, bool):
                raise ValueError("money amount must be a string such as '12.30'")
            return Money(amount, value.get("currency", DEFAULT_CURRENCY))

        return core_schema.no_info_plain_validator_function(
            from_dict,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda m: {"amount": str(m.amount), "currency": m.currency}
            ),
        )
