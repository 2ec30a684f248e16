from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.domains.admin._audit import AuditEndpoints
from bastion.domains.admin._credentials import CredentialEndpoints
from bastion.domains.admin._endpoint import Endpoint, operations_of, routes_of
from bastion.domains.admin._mcp import McpEndpoints
from bastion.domains.admin._platform import AgentEndpoints, ConfigEndpoints, JobEndpoints
from bastion.domains.admin._quotas import QuotaEndpoints
from bastion.domains.admin._refusals import RefusalRecorder
from bastion.domains.admin._tenants import TenantEndpoints
from bastion.domains.admin._users import UserEndpoints
from bastion.infra.security import BUILTIN_ROLES
from bastion.infra.services import (
    AUDIT,
    AUDIT_SEARCH,
    EFFECTIVE_CONFIG,
    LLM_UPSTREAMS,
    QUOTAS,
    ROLES,
)
from bastion.kernel.accounts import ACCOUNTS, TENANTS
from bastion.kernel.agents import AGENT_DIRECTORY
from bastion.kernel.contract import (
    EndpointClass,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Maturity,
    RoleDefinition,
)
from bastion.kernel.credentials import CREDENTIALS
from bastion.kernel.ids import RoleName
from bastion.kernel.jobs import JOBS
from bastion.kernel.tiers import TENANT_ADMIN_SCOPE, Tier
from bastion.kernel.tools import MCP_ADMIN

BASE_PATH = "/api/v1/admin"
TENANT_ADMIN_ROLE = RoleName("tenant-admin")


def _user_scopes() -> frozenset[str]:
    return next(r.scopes for r in BUILTIN_ROLES if r.name == "user")


class AdminExtension(Extension):
    """The HTTP admin API at ``/api/v1/admin``: users, keys, tokens, tenants, and read-only
    views of what config-as-code owns. It reaches the other domains only through their
    typed services, the ones their CLIs use, and contributes the ``tenant-admin`` role."""

    meta = ExtensionMeta(
        id="admin",
        version="1.0.0",
        depends_on=("core", "users", "auth"),
        # After the agents domain (90), whose catalogue its directory is built from.
        priority=95,
        description="The admin API: users, credentials, tenants, audit search, read-only views",
        requires=(
            ACCOUNTS,
            TENANTS,
            CREDENTIALS,
            ROLES,
            AUDIT,
            AUDIT_SEARCH,
            JOBS,
            LLM_UPSTREAMS,
            EFFECTIVE_CONFIG,
            QUOTAS,
        ),
        # Served when their domains are enabled; without them, their endpoints are absent.
        optional=(MCP_ADMIN, AGENT_DIRECTORY),
        maturity=Maturity.GA,
    )

    def roles(self) -> Sequence[RoleDefinition]:
        return [
            RoleDefinition(
                TENANT_ADMIN_ROLE,
                Tier.USER,
                _user_scopes() | {TENANT_ADMIN_SCOPE},
                "A user who administers the users, keys and audit trail of its own tenant.",
            )
        ]

    def endpoints(self, ctx: ExtensionContext) -> list[Endpoint[Any]]:
        """Every endpoint, those of a disabled domain's service left out."""
        accounts, credentials, quotas = (
            ctx.service(ACCOUNTS),
            ctx.service(CREDENTIALS),
            ctx.service(QUOTAS),
        )
        users = UserEndpoints(accounts, ctx.service(ROLES))
        keys = CredentialEndpoints(credentials, users)
        endpoints = [
            *users.endpoints(),
            *keys.endpoints(),
            *TenantEndpoints(ctx.service(TENANTS), accounts, quotas).endpoints(),
            *QuotaEndpoints(quotas, users, keys, credentials).endpoints(),
            *AuditEndpoints(ctx.service(AUDIT_SEARCH)).endpoints(),
            *JobEndpoints(ctx.service(JOBS)).endpoints(),
            *ConfigEndpoints(ctx.service(EFFECTIVE_CONFIG), ctx.service(LLM_UPSTREAMS)).endpoints(),
        ]
        if ctx.has_service(MCP_ADMIN):
            endpoints.extend(McpEndpoints(ctx.service(MCP_ADMIN)).endpoints())
        if ctx.has_service(AGENT_DIRECTORY):
            endpoints.extend(AgentEndpoints(ctx.service(AGENT_DIRECTORY)).endpoints())
        return endpoints

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        endpoints = self.endpoints(ctx)
        refusals = RefusalRecorder(ctx.service(AUDIT))
        return ExtensionRouter(
            routes=routes_of(endpoints, refusals),
            base_path=BASE_PATH,
            endpoint_class=EndpointClass.ADMIN,
            # A tenant admin is of the user tier; each endpoint decides (``_access``).
            min_tier=Tier.USER,
            openapi=operations_of(endpoints),
            on_refused=refusals.refused,
        )
