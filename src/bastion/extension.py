"""The public facade for extension authors: the only import an extension needs.

from bastion.extension import ApiExtension, ExtensionMeta, ExtensionRouter
"""

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
    RefusalObserver,
    RefusedRequest,
    RoleDefinition,
    UpstreamRegistration,
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
from bastion.kernel.tiers import Tier

__all__ = [
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
    "Maturity",
    "McpServerDefinition",
    "Migration",
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
    "SessionId",
    "StageVerdict",
    "TargetType",
    "TenantId",
    "Tier",
    "TraceId",
    "UpstreamRegistration",
    "UserId",
    "Verdict",
    "migrations_from_package",
    "register_extension",
    "request_context",
]
