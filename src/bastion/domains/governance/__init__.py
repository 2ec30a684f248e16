"""The ``governance`` domain: the chain's business policy and its surfaces.

It owns the ``governance:`` namespace (policies, scope check and ACL, secret scan,
blocklist, quotas, time budget), builds the chain from it at boot and provides it as
``GOVERNANCE`` (the protocol is the kernel's, ``bastion.kernel.governance``) together
with the compiled ``SECRET_SCANNER``. The mechanisms under it are infra's: the scanner's
regex engine (``bastion.infra.scanner``), the rate-limit counters
(``bastion.infra.ratelimit``, the platform's ``RATE_LIMITER``) and quota counter storage
(``bastion.infra.quota``). It also serves the chain over HTTP and to Claude Code hooks.
"""

from bastion.domains.governance._build import BUILTIN_STAGES, GovernanceChain, build_governance
from bastion.domains.governance._engine import DecisionSink, PolicyEngine
from bastion.domains.governance._extension import GovernanceExtension
from bastion.domains.governance._payloads import PayloadError, parse_evaluate, parse_hook
from bastion.domains.governance._provide import decision_row
from bastion.domains.governance._quota import QuotaBreach, QuotaEnforcer
from bastion.domains.governance._quota_stage import QuotaStage
from bastion.domains.governance._rate_limit_stage import RateLimitStage
from bastion.domains.governance._scope import ScopeCheckStage
from bastion.domains.governance._settings import (
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
from bastion.domains.governance.errors import GovernanceConfigError, GovernanceError

__all__ = [
    "BUILTIN_STAGES",
    "DEFAULT_POLICIES",
    "AclEntry",
    "AclRule",
    "BlocklistSettings",
    "ContentBlockRule",
    "DecisionSink",
    "GovernanceChain",
    "GovernanceConfigError",
    "GovernanceError",
    "GovernanceExtension",
    "GovernanceSettings",
    "PayloadError",
    "PolicyEngine",
    "QuotaBreach",
    "QuotaEnforcer",
    "QuotaStage",
    "RateLimitStage",
    "ScopeCheckSettings",
    "ScopeCheckStage",
    "SecretScanSettings",
    "TargetRequirement",
    "ToolBlockRule",
    "build_governance",
    "decision_row",
    "parse_evaluate",
    "parse_hook",
]
