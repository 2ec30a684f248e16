"""The services the platform itself provides to every extension, by typed key.

An extension names the ones it uses in ``ExtensionMeta(requires=...)`` and gets each with
``ctx.service(KEY)``::

    trail = ctx.service(AUDIT)

``GOVERNANCE`` is declared in the kernel (``bastion.kernel.governance``) and provided by
the governance domain, which provides ``SECRET_SCANNER`` as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bastion.kernel.contract import McpServerDefinition, UpstreamRegistration
from bastion.kernel.jobs import JOBS
from bastion.kernel.policy import PolicyStage
from bastion.kernel.services import ServiceKey

if TYPE_CHECKING:
    from bastion.infra.audit import AuditSearch, AuditTrail
    from bastion.infra.config import EffectiveConfig
    from bastion.infra.quota import QuotaBook
    from bastion.infra.ratelimit import RateLimiter
    from bastion.infra.scanner import SecretScanner
    from bastion.infra.security import JwtCodec, RoleCatalog

AUDIT: ServiceKey[AuditTrail] = ServiceKey(
    "audit", "The audit trail: its writer batches rows of the tables in audit_tables()"
)
AUDIT_SEARCH: ServiceKey[AuditSearch] = ServiceKey(
    "audit_search", "Search decisions, requests, tool executions and admin events; traces"
)
EFFECTIVE_CONFIG: ServiceKey[EffectiveConfig] = ServiceKey(
    "effective_config", "The platform's settings and every namespace, secrets redacted"
)
QUOTAS: ServiceKey[QuotaBook] = ServiceKey(
    "quotas", "The quota rules in force and each subject's used / limit / resets-at"
)
JWT: ServiceKey[JwtCodec] = ServiceKey("jwt", "Issues and verifies Bastion's own JWTs")
ROLES: ServiceKey[RoleCatalog] = ServiceKey("roles", "The merged RBAC role catalogue")
LLM_UPSTREAMS: ServiceKey[Sequence[tuple[str, UpstreamRegistration]]] = ServiceKey(
    "llm_upstreams", "Every extension's llm_upstreams(), as (extension id, registration)"
)
TOOL_PROVIDERS: ServiceKey[Sequence[tuple[str, McpServerDefinition]]] = ServiceKey(
    "tool_providers", "Every extension's tool_providers(), as (extension id, definition)"
)
POLICY_STAGES: ServiceKey[Sequence[tuple[str, PolicyStage]]] = ServiceKey(
    "policy_stages", "Every extension's policies(), as (extension id, stage)"
)
RATE_LIMITER: ServiceKey[RateLimiter] = ServiceKey(
    "rate_limiter", "The GCRA limiter of the profile's rate_limits (memory or Redis)"
)
SECRET_SCANNER: ServiceKey[SecretScanner] = ServiceKey(
    "secret_scanner", "The secret scanner, compiled once from governance.secret_scan.scanner"
)

__all__ = [
    "AUDIT",
    "AUDIT_SEARCH",
    "EFFECTIVE_CONFIG",
    "JOBS",
    "JWT",
    "LLM_UPSTREAMS",
    "POLICY_STAGES",
    "QUOTAS",
    "RATE_LIMITER",
    "ROLES",
    "SECRET_SCANNER",
    "TOOL_PROVIDERS",
]
