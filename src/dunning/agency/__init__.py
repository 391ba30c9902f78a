"""The agency's own work: intake, assignment, collectors, procedure, audit, performance, bundles.

A wing of its own (docs/contributing.md), one module per step of the agency's month:
:mod:`.intake` takes a bank's file in, :mod:`.assign` gives cases to collectors and hands them
over, :mod:`.collectors` reads the collectors file, :mod:`.procedure` the procedure file (with
:mod:`.proceduretests`, its analyst tests), :mod:`.audit` holds the events to it,
:mod:`.performance` reports per collector, team and bank, :mod:`.bundle` archives a bank's
cases. The step functions (``intake``, ``assign``, ``audit``…) are ``dunning.intake`` and so
on; here those names are the modules. Other names load on first use.
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .assign import AssignmentRun, HandoverFailed, HandoverRun
    from .audit import Audit, Finding
    from .bundle import Bundle, export_bundle, import_bundle, verify_bundle
    from .collectors import Collectors, load_collectors, loads_collectors
    from .intake import IntakeFailed, IntakeResult
    from .performance import Performance, PerformanceRow
    from .procedure import Procedure, load_procedure, loads_procedure

__getattr__, __dir__ = attach(__name__, __file__)

__all__ = [
    "AssignmentRun",
    "Audit",
    "Bundle",
    "Collectors",
    "Finding",
    "HandoverFailed",
    "HandoverRun",
    "IntakeFailed",
    "IntakeResult",
    "Performance",
    "PerformanceRow",
    "Procedure",
    "export_bundle",
    "import_bundle",
    "load_collectors",
    "load_procedure",
    "loads_collectors",
    "loads_procedure",
    "verify_bundle",
]
