"""The public facade for extension authors: the only import an extension needs.

from bastion.extension import ApiExtension, ExtensionMeta, ExtensionRouter

Some names are imported on first use, so an extension that does not use them does not pay
for them: ``principal_columns`` and ``principal_row`` (the principal columns of an audit
table and their values for one request) from ``bastion.infra.audit``; the command
toolkit (``command_context``, ``emit``, ``fail``, ``run``, ...) from
``bastion.infra.commands``, so a server that never builds a command does not import Rich.
``Governance`` (what ``ctx.service(GOVERNANCE)`` returns) and ``Decision`` (its chain's
answer) are the kernel's protocol and type (``bastion.kernel.governance``).
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
from bastion.infra.http import error_response, invalid_body
from bastion.infra.services import (
    AUDIT,
    JWT,
    LLM_UPSTREAMS,
    POLICY_STAGES,
    RATE_LIMITER,
    ROLES,
    SECRET_SCANNER,
    TOOL_PROVIDERS,
)
from bastion.kernel.config import BootstrapAdminSettings, PlatformSettings, WorkersCheck
from bastion.kernel.context import AuthMethod, RequestContext, request_context
from bastion.kernel.contract import (
    CLI_GROUPS,
    CliCommands,
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
from bastion.kernel.governance import (
    GOVERNANCE,
    Decision,
    EntityCatalog,
    Governance,
    PolicyEvaluator,
    ScopeCheck,
    UsageRecorder,
)
from bastion.kernel.identity import USERS, Account, UserDirectory
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
    from bastion.infra.commands import (
        JSON_OPTION,
        CommandContext,
        CommandPlatform,
        command_context,
        emit,
        err,
        fail,
        out,
        read_bytes,
        read_text,
        record_admin_action,
        run,
        shown,
    )

_COMMANDS = (
    "JSON_OPTION",
    "CommandContext",
    "CommandPlatform",
    "command_context",
    "emit",
    "err",
    "fail",
    "out",
    "read_bytes",
    "read_text",
    "record_admin_action",
    "run",
    "shown",
)
__getattr__ = lazy_attributes(
    __name__,
    {
        **{
            name: "bastion.infra.audit"
            for name in ("PRINCIPAL_WIDTHS", "principal_columns", "principal_row")
        },
        **{name: "bastion.infra.commands" for name in _COMMANDS},
    },
)


__all__ = [
    "AUDIT",
    "CLI_GROUPS",
    "GOVERNANCE",
    "JSON_OPTION",
    "JWT",
    "LLM_UPSTREAMS",
    "POLICY_STAGES",
    "PRINCIPAL_WIDTHS",
    "RATE_LIMITER",
    "ROLES",
    "SECRET_SCANNER",
    "TOOL_PROVIDERS",
    "USERS",
    "Account",
    "ApiExtension",
    "ApiKeyId",
    "AuthMethod",
    "BootstrapAdminSettings",
    "CliCommands",
    "ClientId",
    "CommandContext",
    "CommandPlatform",
    "ConfigExtension",
    "ConfigSpec",
    "Cron",
    "Decision",
    "EndpointClass",
    "EntityCatalog",
    "ErrorStyle",
    "Event",
    "EventHandler",
    "Extension",
    "ExtensionContext",
    "ExtensionId",
    "ExtensionMeta",
    "ExtensionRouter",
    "Governance",
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
    "PlatformSettings",
    "PolicyContext",
    "PolicyEvaluator",
    "PolicyStage",
    "PolicyTarget",
    "ProviderExtension",
    "RefusalObserver",
    "RefusedRequest",
    "RequestContext",
    "RoleDefinition",
    "RoleName",
    "SchemaExtension",
    "ScopeCheck",
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
    "UsageRecorder",
    "UserDirectory",
    "UserId",
    "Verdict",
    "WorkersCheck",
    "command_context",
    "emit",
    "err",
    "error_response",
    "fail",
    "invalid_body",
    "migrations_from_package",
    "out",
    "principal_columns",
    "principal_row",
    "read_bytes",
    "read_text",
    "record_admin_action",
    "register_extension",
    "request_context",
    "run",
    "shown",
]
