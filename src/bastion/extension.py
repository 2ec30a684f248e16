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
from bastion.infra.quota import QuotaBook, QuotaStanding, SubjectType
from bastion.infra.services import (
    AUDIT,
    AUDIT_SEARCH,
    EFFECTIVE_CONFIG,
    JOBS,
    JWT,
    LLM_UPSTREAMS,
    POLICY_STAGES,
    QUOTAS,
    RATE_LIMITER,
    ROLES,
    SECRET_SCANNER,
    TOOL_PROVIDERS,
)

# The typed services of the core domains (one implementation behind their CLI and the
# admin API); a refusal is a ``RefusedError`` whose ``status`` an API answers with.
from bastion.kernel.accounts import ACCOUNTS, TENANTS, AccountAdmin, TenantDirectory
from bastion.kernel.agents import AGENT_DIRECTORY, AgentDirectory
from bastion.kernel.analytics import (
    ANALYTICS,
    DIMENSIONS,
    FIGURES,
    Analytics,
    AnalyticsQuery,
    AnalyticsQueryError,
    Report,
    UsageRow,
    Viewer,
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
from bastion.kernel.credentials import CREDENTIALS, CredentialAdmin

# One upstream abstraction and one error family for LLM providers and MCP servers alike.
from bastion.kernel.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RefusedError,
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

# Governed calls other domains make in process (an A2A native agent's): a model through
# the gateway pipeline, a tool through the MCP proxy (``TOOL_CALLS`` below).
from bastion.kernel.inference import INFERENCE, Inference, ModelReply
from bastion.kernel.jobs import JobBook
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
from bastion.kernel.tiers import TENANT_ADMIN_SCOPE, Tier
from bastion.kernel.tool_calls import TOOL_CALLS, ToolCalls, ToolOutcome, ToolRefusal, ToolSpec
from bastion.kernel.tools import MCP_ADMIN, McpAdmin
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
    "ACCOUNTS",
    "AGENT_DIRECTORY",
    "ANALYTICS",
    "AUDIT",
    "AUDIT_SEARCH",
    "CLI_GROUPS",
    "CREDENTIALS",
    "DIMENSIONS",
    "EFFECTIVE_CONFIG",
    "FIGURES",
    "GOVERNANCE",
    "INFERENCE",
    "JOBS",
    "JSON_OPTION",
    "JWT",
    "LLM_UPSTREAMS",
    "MCP_ADMIN",
    "POLICY_STAGES",
    "PRINCIPAL_WIDTHS",
    "QUOTAS",
    "RATE_LIMITER",
    "ROLES",
    "SECRET_SCANNER",
    "TENANTS",
    "TENANT_ADMIN_SCOPE",
    "TOOL_CALLS",
    "TOOL_PROVIDERS",
    "USERS",
    "Account",
    "AccountAdmin",
    "AgentDirectory",
    "Analytics",
    "AnalyticsQuery",
    "AnalyticsQueryError",
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
    "ConflictError",
    "CredentialAdmin",
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
    "Inference",
    "Interval",
    "InvalidInputError",
    "Job",
    "JobBook",
    "JobExtension",
    "LlmUpstream",
    "Maturity",
    "McpAdmin",
    "McpServerDefinition",
    "MessagesCall",
    "Migration",
    "ModelReply",
    "NotFoundError",
    "Operation",
    "PlatformSettings",
    "PolicyContext",
    "PolicyEvaluator",
    "PolicyStage",
    "PolicyTarget",
    "ProviderExtension",
    "QuotaBook",
    "QuotaStanding",
    "RefusalObserver",
    "RefusedError",
    "RefusedRequest",
    "Report",
    "RequestContext",
    "RoleDefinition",
    "RoleName",
    "SchemaExtension",
    "ScopeCheck",
    "ServiceKey",
    "ServiceProvider",
    "SessionId",
    "StageVerdict",
    "SubjectType",
    "TargetType",
    "TenantDirectory",
    "TenantId",
    "Tier",
    "ToolCalls",
    "ToolOutcome",
    "ToolRefusal",
    "ToolSpec",
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
    "UsageRow",
    "UserDirectory",
    "UserId",
    "Verdict",
    "Viewer",
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
