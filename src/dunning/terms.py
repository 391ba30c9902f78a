"""A policy's terms: what the lender's money needs of it, read without compiling its rules.

Settling a ledger, reconciling a claim and measuring costs need a few things of the policy in
force: its name, version and digest (each statement names them), its currency, the grace days
after a placement ends, its time zone and bucket bands, and its parameters (the unit costs).
:func:`load_terms` reads them through the rule front end — the file is checked in full, every
problem reported as ``load_policy`` reports it — but builds no engine and no guard, so that
``dunning settle`` starts in a fraction of the time. A :class:`~dunning.Policy` gives the same
terms (``policy.terms``), digest included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from .delinquency import BucketBands
from .errors import ArgumentError, PolicyError
from .rules.frontend import GuardProfile, compile_file
from .rules.ir import PolicyIR

__all__ = ["Terms", "load_terms", "policy_digest", "terms_of"]


@dataclass(frozen=True)
class Terms:
    """What settlement and costs read of a policy.

    Attributes:
        name: The policy's name.
        version: Its version.
        digest: Its digest (the file's bytes and the parameters in force), as ``Policy.digest``.
        params: The parameter values in force (read-only): the unit costs among them.
        currency: The currency of its amounts.
        grace_days: Days after a placement ended in which a payment still earns the agency's
            commission (``placement: grace_days``).
        grace_days_by_reason: The grace by how the placement ended, where the policy sets
            one apart (``placement: grace_days_by_reason``).
        commission_base: What commission is paid on where an agency's contract does not say
            (``placement: commission_base``).
        timezone: The time zone its days are counted in.
        bands: Its delinquency bucket bands.
    """

    name: str
    version: str
    digest: str
    params: Mapping[str, Any]
    currency: str
    grace_days: int
    timezone: ZoneInfo
    bands: BucketBands
    grace_days_by_reason: Mapping[str, int] = field(default_factory=dict)
    commission_base: str = "remitted"

    def grace_after(self, reason: str | None) -> int:
        """The grace days after a placement that ended for ``reason``."""
        if reason is None:
            return self.grace_days
        return self.grace_days_by_reason.get(reason, self.grace_days)

    @classmethod
    def of(cls, ir: PolicyIR, digest: str) -> Terms:
        """The terms of a checked policy."""
        return cls(
            name=ir.name,
            version=ir.version,
            digest=digest,
            params=MappingProxyType(dict(ir.params)),
            currency=ir.currency,
            grace_days=ir.placement.grace_days,
            timezone=ZoneInfo(ir.timezone),
            bands=ir.bands,
            grace_days_by_reason=MappingProxyType(dict(ir.placement.grace_days_by_reason)),
            commission_base=ir.placement.commission_base,
        )

    @property
    def reference(self) -> dict[str, str]:
        """The policy as a report names it: name, version (``0`` when none) and digest."""
        return {"name": self.name, "version": self.version or "0", "digest": self.digest}


def load_terms(
    path: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    profiles: Iterable[GuardProfile] = (),
) -> Terms:
    """Read a policy file's terms (its rules checked, not compiled).

    Args:
        path: The policy's YAML file.
        params: Parameter overrides, as for :func:`~dunning.load_policy`.
        profiles: Guard profiles the file may name besides the built-in ones.

    Raises:
        PolicyError: With every diagnostic of the file, as ``load_policy`` raises it.
    """
    if not isinstance(path, str | Path):
        raise ArgumentError(f"path must be a str or a pathlib.Path, not {type(path).__name__}")
    if params is not None and (
        not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params)
    ):
        raise ArgumentError(
            f"params must be a mapping of parameter names (str) to values, not {params!r:.60}"
        )
    ir, source, content = compile_file(Path(path), params, tuple(profiles))
    if ir is None:
        raise PolicyError(source.diagnostics)
    return Terms.of(ir, policy_digest(content, ir.params))


def policy_digest(content: bytes, params: Mapping[str, Any]) -> str:
    """A policy's digest: its file's bytes and the parameter values in force."""
    canonical = json.dumps(
        {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(params.items())},
        default=str,
        sort_keys=True,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(content + b"\0" + canonical.encode()).hexdigest()


def terms_of(policy: object) -> Terms:
    """The terms of a ``Policy`` or of ``Terms`` (settlement takes either)."""
    if isinstance(policy, Terms):
        return policy
    terms = getattr(policy, "terms", None)
    if isinstance(terms, Terms):
        return terms
    raise ArgumentError(
        f"policy must be a dunning.Policy or its Terms (load_terms), not {type(policy).__name__}"
    )
