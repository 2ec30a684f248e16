"""The per-request principal every governed surface sees."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from bastion.kernel.ids import (
    AgentId,
    ApiKeyId,
    ClientId,
    ContextId,
    RoleName,
    SessionId,
    TaskId,
    TenantId,
    TraceId,
    UserId,
)
from bastion.kernel.tiers import Tier


def scope_granted(granted: frozenset[str] | set[str], scope: str) -> bool:
    """``scope`` is in ``granted`` directly, through ``*``, or through a ``prefix:*`` grant."""
    if "*" in granted or scope in granted:
        return True
    head, _, _ = scope.rpartition(":")
    while head:
        if f"{head}:*" in granted:
            return True
        head, _, _ = head.rpartition(":")
    return False


class AuthMethod(enum.StrEnum):
    JWT = "jwt"
    API_KEY = "api_key"
    ANONYMOUS = "anonymous"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who is calling, on whose behalf, and under which trace.

    Built once per request by the identity middleware and passed down unchanged.
    """

    trace_id: TraceId
    tier: Tier
    auth_method: AuthMethod
    user_id: UserId | None = None
    tenant_id: TenantId | None = None
    role: RoleName | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    session_id: SessionId | None = None
    client_id: ClientId | None = None
    api_key_id: ApiKeyId | None = None
    policy_version: str = "1"
    remote_addr: str | None = None
    # Set when an A2A agent acts for the principal: the agent, the task and its
    # conversation, carried onto every audit row the task produces.
    agent_id: AgentId | None = None
    task_id: TaskId | None = None
    context_id: ContextId | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.auth_method not in (AuthMethod.ANONYMOUS,)

    def with_session(self, session_id: SessionId) -> RequestContext:
        """This context for a session named later (a hook payload's ``session_id``);
        spelled out because ``dataclasses.replace`` costs several µs per call."""
        return RequestContext(
            self.trace_id,
            self.tier,
            self.auth_method,
            self.user_id,
            self.tenant_id,
            self.role,
            self.scopes,
            session_id,
            self.client_id,
            self.api_key_id,
            self.policy_version,
            self.remote_addr,
            self.agent_id,
            self.task_id,
            self.context_id,
        )

    def for_task(self, agent_id: str, task_id: str, context_id: str) -> RequestContext:
        """This principal as an agent's task acts for it: same identity and trace. Once per
        task, not per request, so ``dataclasses.replace`` is cheap enough here."""
        return replace(
            self,
            agent_id=AgentId(agent_id),
            task_id=TaskId(task_id),
            context_id=ContextId(context_id),
        )

    def has_scope(self, scope: str) -> bool:
        """True if the principal holds ``scope``, directly or through a ``prefix:*`` grant."""
        return scope_granted(self.scopes, scope)

    def principal_key(self) -> str:
        """A stable key identifying the principal for counters (rate limits, quotas)."""
        if self.api_key_id is not None:
            return f"key:{self.api_key_id}"
        if self.user_id is not None:
            return f"user:{self.user_id}"
        # An anonymous caller could set any x-client-id, so the address is what counts.
        if self.remote_addr is not None:
            return f"ip:{self.remote_addr}"
        return "anonymous"


CONTEXT_SCOPE_KEY = "bastion.context"


def request_context(scope_or_request: object) -> RequestContext:
    """The ``RequestContext`` of an ASGI scope or a Starlette ``Request``."""
    scope = getattr(scope_or_request, "scope", scope_or_request)
    assert isinstance(scope, dict)
    ctx = scope.get(CONTEXT_SCOPE_KEY)
    if not isinstance(ctx, RequestContext):
        raise LookupError("no RequestContext: the route is not mounted behind Bastion's core")
    return ctx
