"""Stage 4d of the rule front end: the ``assessment:`` section — how amounts due are computed.

``penalty_multiplier`` (a number or a parameter: penalty interest is the contract rate times
it), ``allocation`` (the order a payment settles penalty, interest and principal) and
``days_in_year`` (360 or 365). The charges cap guard supplies the multiplier when the file has
none, and bounds it when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from ..delinquency import DEFAULT_ALLOCATION
from .ir import GuardConfig
from .nodes import Literal
from .reader import scalar_value
from .schema import RawPolicy
from .source import PNode, PScalar, Source
from .typecheck import Typer

__all__ = ["AssessmentSettings", "read_assessment", "within_cap"]


@dataclass(frozen=True, slots=True)
class AssessmentSettings:
    """The checked ``assessment:`` settings."""

    penalty_multiplier: Decimal | None
    allocation: tuple[str, ...]
    days_in_year: int


def read_assessment(raw: RawPolicy, typer: Typer) -> AssessmentSettings:
    """Read and check the section."""
    source = typer.src
    entries = raw.assessment
    penalty: Decimal | None = None
    allocation: tuple[str, ...] = DEFAULT_ALLOCATION
    days = 360
    if "penalty_multiplier" in entries:
        node, _ = entries["penalty_multiplier"]
        penalty = _multiplier(node, typer)
    if "allocation" in entries:
        node, _ = entries["allocation"]
        value = scalar_value(node)
        if not isinstance(value, list) or sorted(map(str, value)) != sorted(DEFAULT_ALLOCATION):
            message = "allocation must order penalty, interest and principal, each once"
            source.report(node.pos, "bad-value", message)
        else:
            allocation = tuple(value)
    if "days_in_year" in entries:
        node, _ = entries["days_in_year"]
        value = scalar_value(node)
        if type(value) is not int or value not in (360, 365):
            source.report(node.pos, "bad-value", "days_in_year must be 360 or 365")
        else:
            days = value
    return AssessmentSettings(penalty, allocation, days)


def _multiplier(node: PNode, typer: Typer) -> Decimal | None:
    value = scalar_value(node)
    if isinstance(value, str) and isinstance(node, PScalar):
        checked = typer.expression(node)
        value = checked.value if isinstance(checked, Literal) else None
        if value is None and checked is not None and checked.type.kind != "null":
            typer.src.report(
                node.pos, "not-constant", "penalty_multiplier must be a number or a parameter"
            )
    # A YAML true is a bool, and a bool is an int in Python: it must not be read as 1.
    bad_type = isinstance(value, bool) or not isinstance(value, int | Decimal)
    if value is not None and (bad_type or value < 0):
        typer.src.report(node.pos, "bad-value", "penalty_multiplier must be a number ≥ 0")
        return None
    return None if value is None else Decimal(value)


def within_cap(
    assessment: AssessmentSettings, guards: GuardConfig, raw: RawPolicy, source: Source
) -> AssessmentSettings:
    """Apply the charges cap's penalty default, and check the multiplier against its range."""
    cap, penalty = guards.charges_cap, assessment.penalty_multiplier
    if cap is None:
        return assessment
    if penalty is None:
        return replace(assessment, penalty_multiplier=cap.penalty_multiplier_default)
    low, high = cap.penalty_multiplier_min, cap.penalty_multiplier_max
    if (low is not None and penalty < low) or (high is not None and penalty > high):
        node, _ = raw.assessment["penalty_multiplier"]
        source.report(
            node.pos,
            "penalty-out-of-range",
            f"penalty multiplier {penalty} is outside the range {low or 0}..{high or 'any'} "
            "the charges cap allows",
            hint="set guards.charges_cap.penalty_multiplier_min/max if counsel approves",
        )
    return assessment
