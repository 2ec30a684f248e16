"""Governance: the policy engine, its built-in stages, the secret scanner, rate limits
and quotas. Every governed surface calls ``Governance.engine.evaluate``."""

from bastion.infra.governance._build import BUILTIN_STAGES, Governance, build_governance
from bastion.infra.governance._decision import Decision, StageTrace
from bastion.infra.governance._engine import (
    BACKEND_UNAVAILABLE_RULE,
    INTERNAL_ERROR,
    DecisionSink,
    PolicyEngine,
)
from bastion.infra.governance._entities import EntityCatalog
from bastion.infra.governance._settings import (
    DEFAULT_POLICIES,
    AclEntry,
    AclRule,
    BlocklistSettings,
    ContentBlockRule,
    GovernanceSettings,
    ScopeCheckSettings,
    SecretScanSettings,
    TargetRequirement,
    ToolBlockRule,
)
from bastion.infra.governance.errors import GovernanceConfigError, GovernanceError

__all__ = [
    "BACKEND_UNAVAILABLE_RULE",
    "BUILTIN_STAGES",
    "DEFAULT_POLICIES",
    "INTERNAL_ERROR",
    "AclEntry",
    "AclRule",
    "BlocklistSettings",
    "ContentBlockRule",
    "Decision",
    "DecisionSink",
    "EntityCatalog",
    "Governance",
    "GovernanceConfigError",
    "GovernanceError",
    "GovernanceSettings",
    "PolicyEngine",
    "ScopeCheckSettings",
    "SecretScanSettings",
    "StageTrace",
    "TargetRequirement",
    "ToolBlockRule",
    "build_governance",
]
