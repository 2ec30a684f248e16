"""The services the platform itself provides to every extension, by typed key.

An extension names the ones it uses in ``ExtensionMeta(requires=...)`` and gets each with
``ctx.service(KEY)``::

    governance = ctx.service(GOVERNANCE)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bastion.kernel.contract import McpServerDefinition, UpstreamRegistration
from bastion.kernel.jobs import JOBS
from bastion.kernel.services import ServiceKey

if TYPE_CHECKING:
    from bastion.infra.audit import AuditSearch, AuditTrail
    from bastion.infra.governance import Governance
    from bastion.infra.security import JwtCodec, RoleCatalog

AUDIT: ServiceKey[AuditTrail] = ServiceKey(
    "audit", "The audit trail: its writer batches rows of the tables in audit_tables()"
)
AUDIT_SEARCH: ServiceKey[AuditSearch] = ServiceKey(
    "audit_search", "Search decisions, requests, tool executions and admin events; traces"
)
GOVERNANCE: ServiceKey[Governance] = ServiceKey(
    "governance", "The governance chain, its entity catalogue, quotas and scanner"
)
JWT: ServiceKey[JwtCodec] = ServiceKey("jwt", "Issues and verifies Bastion's own JWTs")
ROLES: ServiceKey[RoleCatalog] = ServiceKey("roles", "The merged RBAC role catalogue")
LLM_UPSTREAMS: ServiceKey[Sequence[tuple[str, UpstreamRegistration]]] = ServiceKey(
    "llm_upstreams", "Every extension's llm_upstreams(), as (extension id, registration)"
)
TOOL_PROVIDERS: ServiceKey[Sequence[tuple[str, McpServerDefinition]]] = ServiceKey(
    "tool_providers", "Every extension's tool_providers(), as (extension id, definition)"
)

__all__ = [
    "AUDIT",
    "AUDIT_SEARCH",
    "GOVERNANCE",
    "JOBS",
    "JWT",
    "LLM_UPSTREAMS",
    "ROLES",
    "TOOL_PROVIDERS",
]
