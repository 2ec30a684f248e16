"""Who may use the console, and how far they see."""

from __future__ import annotations

from bastion.domains.console.errors import SignInRefused
from bastion.kernel.context import RequestContext
from bastion.kernel.tiers import TENANT_ADMIN_SCOPE, Tier


def is_admin(principal: RequestContext) -> bool:
    return principal.tier >= Tier.ADMIN


def admitted(principal: RequestContext) -> RequestContext:
    """``principal`` if it may sign in to the console: an admin, or a tenant admin (a
    principal holding ``admin:tenant`` in a tenant). Anyone else: ``SignInRefused``."""
    if is_admin(principal):
        return principal
    if principal.tenant_id is not None and principal.has_scope(TENANT_ADMIN_SCOPE):
        return principal
    role = f" (role '{principal.role}')" if principal.role else ""
    raise SignInRefused(
        f"the console is for administrators and tenant administrators; this credential "
        f"is of tier '{principal.tier.label}'{role}, which cannot sign in"
    )


def tenant_of(principal: RequestContext) -> str | None:
    """The one tenant a tenant admin sees; None for an admin, who sees every tenant."""
    return None if is_admin(principal) else principal.tenant_id
