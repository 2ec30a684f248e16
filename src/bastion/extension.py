"""The public facade for extension authors: the only import an extension needs.

from bastion.extension import ApiExtension, ExtensionMeta, ExtensionRouter

``principal_columns`` and ``principal_row`` (the principal columns of an audit table and
their values for one request) come from ``bastion.infra.audit`` on first use: the audit
pipeline is not imported by an extension that never builds an audit table.
"""

from typing import TYPE_CHECKING

# The LLM upstream-provider contract: what an ``llm_upstreams()`` factory builds and what
# it is called with, the same types the built-in providers implement.
from bastion.domains.gateway.translate import Usage
from bastion.domains.gateway.upstreams import (
    LlmUpstream,
    MessagesCall,
    UpstreamResponse,
    UpstreamServices,
    UpstreamStream,
    UpstreamTarget,
)
from bastion.infra.services import AUDIT, GOVERNANCE, JWT, LLM_UPSTREAMS, ROLES, TOOL_PROVIDERS
from bastion.kernel.context import AuthMethod, RequestContext, request_context
from bastion.kernel.contract import (
    ConfigSpec,
    Cron,
    EndpointClass,
    ErrorStyle,
    Event,
    EventHandler,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    HealthCheck,
    Interval,
    Job,
    Maturity,
    McpServerDefinition,
    Operation,
    RefusalObserver,
    RefusedRequest,
    RoleDefinition,
    UpstreamRegistration,
)

# One upstream abstraction and one error family for LLM providers and MCP servers alike.
from bastion.kernel.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamStreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from bastion.kernel.ids import (
    ApiKeyId,
    ClientId,
    ExtensionId,
    RoleName,
    SessionId,
    TenantId,
    TraceId,
    UserId,
)
from bastion.kernel.lazy import lazy_attributes
from bastion.kernel.migration import Migration, migrations_from_package
from bastion.kernel.narrow import (
    ApiExtension,
    ConfigExtension,
    JobExtension,
    ProviderExtension,
    SchemaExtension,
)
from bastion.kernel.policy import (
    PolicyContext,
    PolicyStage,
    PolicyTarget,
    StageVerdict,
    TargetType,
    Verdict,
)
from bastion.kernel.registration import register_extension
from bastion.kernel.services import ServiceKey, ServiceProvider
from bastion.kernel.tiers import Tier
from bastion.kernel.upstream import Upstream, UpstreamHealth

if TYPE_CHECKING:
    from bastion.infra.audit import PRINCIPAL_WIDTHS, principal_columns, principal_row

__getattr__ = lazy_attributes(
    __name__,
    {
        name: "bastion.infra.audit"
        for name in ("PRINCIPAL_WIDTHS", "principal_columns", "principal_row")
    },
)


__all__ = [
    "AUDIT",
    "GOVERNANCE",
    "JWT",
    "LLM_UPSTREAMS",
    "PRINCIPAL_WIDTHS",
    "ROLES",
    "TOOL_PROVIDERS",
    "ApiExtension",
    "ApiKeyId",
    "AuthMethod",
    "ClientId",
    "ConfigExtension",
    "ConfigSpec",
    "Cron",
    "EndpointClass",
    "ErrorStyle",
    "Event",
    "EventHandler",
    "Extension",
    "ExtensionContext",
    "ExtensionId",
    "ExtensionMeta",
    "ExtensionRouter",
    "HealthCheck",
    "Interval",
    "Job",
    "JobExtension",
    "LlmUpstream",
    "Maturity",
    "McpServerDefinition",
    "MessagesCall",
    "Migration",
    "Operation",
    "PolicyContext",
    "PolicyStage",
    "PolicyTarget",
    "ProviderExtension",
    "RefusalObserver",
    "RefusedRequest",
    "RequestContext",
    "RoleDefinition",
    "RoleName",
    "SchemaExtension",
    "ServiceKey",
    "ServiceProvider",
    "SessionId",
    "StageVerdict",
    "TargetType",
    "TenantId",
    "Tier",
    "TraceId",
    "Upstream",
    "UpstreamError",
    "UpstreamHealth",
    "UpstreamProtocolError",
    "UpstreamRegistration",
    "UpstreamRejected",
    "UpstreamResponse",
    "UpstreamServices",
    "UpstreamStream",
    "UpstreamStreamError",
    "UpstreamTarget",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "Usage",
    "UserId",
    "Verdict",
    "migrations_from_package",
    "principal_columns",
    "principal_row",
    "register_extension",
    "request_context",
]
