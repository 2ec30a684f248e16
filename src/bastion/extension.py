"""The public facade for extension authors: the only import an extension needs.

from bastion.extension import ApiExtension, ExtensionMeta, ExtensionRouter

``principal_columns`` and ``principal_row`` (the principal columns of an audit table and
their values for one request) come from ``bastion.infra.audit`` on first use: the audit
pipeline is not imported by an extension that never builds an audit table.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from bastion.infra.audit import PRINCIPAL_WIDTHS, principal_columns, principal_row

_AUDIT_NAMES = frozenset({"PRINCIPAL_WIDTHS", "principal_columns", "principal_row"})


def __getattr__(name: str) -> Any:
    if name in _AUDIT_NAMES:
        from bastion.infra import audit

        return getattr(audit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PRINCIPAL_WIDTHS",
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
    "principal_columns",
    "principal_row",
    "register_extension",
    "request_context",
]
