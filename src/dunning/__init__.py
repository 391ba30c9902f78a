"""dunning: debt collection (催收) policy as code.

The curated public API; everything else is importable from its module but may change. Names
load on first use: ``import dunning`` reads no policy engine, wing or report until one is used.
"""

from typing import TYPE_CHECKING

from . import _moved
from ._lazy import attach
from ._version import __version__

if TYPE_CHECKING:
    from .agencies import Agencies, load_agencies, loads_agencies
    from .agency.assign import AssignmentRun, HandoverFailed, HandoverRun, assign, handover
    from .agency.audit import Audit, Finding, audit
    from .agency.bundle import export_bundle, import_bundle, verify_bundle
    from .agency.collectors import Collectors, load_collectors, loads_collectors
    from .agency.intake import IntakeFailed, IntakeResult, intake
    from .agency.performance import Figures, Performance, PerformanceRow, performance
    from .agency.procedure import Procedure, load_procedure, loads_procedure
    from .cases import parse_case, read_cases
    from .debtors import DebtorContacts
    from .delinquency import (
        DEFAULT_BANDS,
        Assessment,
        Assessor,
        Band,
        BucketBands,
        OverdueInstallment,
        assess,
    )
    from .engines import RuleTrace, Verdict
    from .errors import (
        ArgumentError,
        CaseError,
        ConfigError,
        Diagnostic,
        DunningError,
        PolicyError,
        Problem,
        RuleEngineError,
    )
    from .events import (
        Event,
        PlacementEvent,
        PlacementPayload,
        PlacementState,
        event_json_schema,
        parse_event,
        read_events,
    )
    from .facts import FACTS
    from .model import (
        Action,
        Agency,
        AgencyStatus,
        CardAccount,
        Case,
        Channel,
        Collateral,
        CollateralKind,
        Collector,
        CollectorStatus,
        CommissionBand,
        ContactAttempt,
        ContactChannel,
        ContactPurpose,
        ContactResult,
        Decision,
        DelinquencySnapshot,
        FeeTerms,
        GuardEffect,
        GuardRecord,
        HandledBy,
        Installment,
        Loan,
        Message,
        OverdueReason,
        Party,
        Payment,
        Placement,
        PolicyRef,
        Product,
        PromiseToPay,
        Recall,
        Repayment,
        RepaymentAttitude,
        Role,
        StaffRole,
    )
    from .money import Money, round_money
    from .placement.placer import (
        Eligibility,
        PlacementResult,
        PlacementRun,
        PlacementStream,
        Placer,
    )
    from .policy import Explanation, Policy, load_policy, loads_policy
    from .portfolio import Portfolio
    from .rules.guard_config import BUILTIN_PROFILES, GuardProfile
    from .schedule import schedule_of
    from .settlement.costs import CostReport, cost_report
    from .settlement.ledger import LedgerLine, read_ledger, read_ledger_table
    from .settlement.reconcile import (
        ClaimLine,
        Reconciliation,
        read_claim,
        read_claim_table,
        reconcile,
    )
    from .settlement.statements import Settlement, Statement, settle

__getattr__, __dir__ = attach(__name__, __file__)
_moved.install()

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_BANDS",
    "FACTS",
    "Action",
    "Agencies",
    "Agency",
    "AgencyStatus",
    "ArgumentError",
    "Assessment",
    "Assessor",
    "AssignmentRun",
    "Audit",
    "Band",
    "BucketBands",
    "CardAccount",
    "Case",
    "CaseError",
    "Channel",
    "ClaimLine",
    "Collateral",
    "CollateralKind",
    "Collector",
    "CollectorStatus",
    "Collectors",
    "CommissionBand",
    "ConfigError",
    "ContactAttempt",
    "ContactChannel",
    "ContactPurpose",
    "ContactResult",
    "CostReport",
    "DebtorContacts",
    "Decision",
    "DelinquencySnapshot",
    "Diagnostic",
    "DunningError",
    "Eligibility",
    "Event",
    "Explanation",
    "FeeTerms",
    "Figures",
    "Finding",
    "GuardEffect",
    "GuardProfile",
    "GuardRecord",
    "HandledBy",
    "HandoverFailed",
    "HandoverRun",
    "Installment",
    "IntakeFailed",
    "IntakeResult",
    "LedgerLine",
    "Loan",
    "Message",
    "Money",
    "OverdueInstallment",
    "OverdueReason",
    "Party",
    "Payment",
    "Performance",
    "PerformanceRow",
    "Placement",
    "PlacementEvent",
    "PlacementPayload",
    "PlacementResult",
    "PlacementRun",
    "PlacementState",
    "PlacementStream",
    "Placer",
    "Policy",
    "PolicyError",
    "PolicyRef",
    "Portfolio",
    "Problem",
    "Procedure",
    "Product",
    "PromiseToPay",
    "Recall",
    "Reconciliation",
    "Repayment",
    "RepaymentAttitude",
    "Role",
    "RuleEngineError",
    "RuleTrace",
    "Settlement",
    "StaffRole",
    "Statement",
    "Verdict",
    "__version__",
    "assess",
    "assign",
    "audit",
    "cost_report",
    "event_json_schema",
    "export_bundle",
    "handover",
    "import_bundle",
    "intake",
    "load_agencies",
    "load_collectors",
    "load_policy",
    "load_procedure",
    "loads_agencies",
    "loads_collectors",
    "loads_policy",
    "loads_procedure",
    "parse_case",
    "parse_event",
    "performance",
    "read_cases",
    "read_claim",
    "read_claim_table",
    "read_events",
    "read_ledger",
    "read_ledger_table",
    "reconcile",
    "round_money",
    "schedule_of",
    "settle",
    "verify_bundle",
]
