"""Placement: the cases a policy sends out, allocated among agencies, recalled, as events.

A wing of its own (docs/contributing.md): :mod:`.placer` holds the :class:`Placer` and its
results. Names load on first use.
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .placer import Eligibility, PlacementResult, PlacementRun, PlacementStream, Placer

__getattr__, __dir__ = attach(__name__, __file__)

__all__ = ["Eligibility", "PlacementResult", "PlacementRun", "PlacementStream", "Placer"]
