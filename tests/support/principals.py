"""A signed-in caller for tests that build a ``PolicyContext`` by hand."""

from __future__ import annotations

from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import RoleName, TenantId, TraceId, UserId
from bastion.kernel.tiers import Tier


def jwt_principal(tier: Tier = Tier.USER, *, trace: str = "trace-test") -> RequestContext:
    """``usr_alice`` of tenant ``acme``, signed in with a JWT, holding every scope, with
    the role named after ``tier``."""
    return RequestContext(
        trace_id=TraceId(trace),
        tier=tier,
        auth_method=AuthMethod.JWT,
        user_id=UserId("usr_alice"),
        tenant_id=TenantId("acme"),
        role=RoleName(tier.label),
        scopes=frozenset({"*"}),
    )
