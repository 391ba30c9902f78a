"""dunning: debt collection (催收) policy as code.

The curated public API; everything else is importable from its module but may change.
"""

from .cases import parse_case, read_cases
from .delinquency import (
    DEFAULT_BANDS,
    Assessment,
    Assessor,
    Band,
    BucketBands,
    OverdueInstallment,
    assess,
)
from .errors import CaseError, ConfigError, Diagnostic, DunningError, PolicyError, Problem
from .facts import FACTS, Portfolio
from .model import (
    Action,
    Agency,
    Case,
    Channel,
    Collateral,
    CollateralKind,
    CommissionBand,
    ContactAttempt,
    ContactChannel,
    Decision,
    DelinquencySnapshot,
    FeeTerms,
    HandledBy,
    Installment,
    Loan,
    Message,
    Outcome,
    Party,
    Payment,
    Placement,
    PolicyRef,
    Product,
    PromiseToPay,
    Repayment,
    Role,
)
from .money import Money, round_money
from .policy import Explanation, Policy, load_policy
from .schedule import schedule_of

__version__ = "0.1.0.dev0"

__all__ = [
    "DEFAULT_BANDS",
    "FACTS",
    "Action",
    "Agency",
    "Assessment",
    "Assessor",
    "Band",
    "BucketBands",
    "Case",
    "CaseError",
    "Channel",
    "Collateral",
    "CollateralKind",
    "CommissionBand",
    "ConfigError",
    "ContactAttempt",
    "ContactChannel",
    "Decision",
    "DelinquencySnapshot",
    "Diagnostic",
    "DunningError",
    "Explanation",
    "FeeTerms",
    "HandledBy",
    "Installment",
    "Loan",
    "Message",
    "Money",
    "Outcome",
    "OverdueInstallment",
    "Party",
    "Payment",
    "Placement",
    "Policy",
    "PolicyError",
    "PolicyRef",
    "Portfolio",
    "Problem",
    "Product",
    "PromiseToPay",
    "Repayment",
    "Role",
    "__version__",
    "assess",
    "load_policy",
    "parse_case",
    "read_cases",
    "round_money",
    "schedule_of",
]
