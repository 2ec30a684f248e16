"""Who may call the admin API, and over which tenants.

The router lets every authenticated caller of at least the user tier reach it (the guard
answers 401 without a credential), and each endpoint decides here, failing closed: the
admin tier may call every endpoint over every tenant; a tenant admin (a principal
holding ``admin:tenant`` with a tenant, such as the ``tenant-admin`` role) only the
endpoints marked tenant-scoped, over its own tenant; anyone else is refused with 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.domains.admin.errors import ForbiddenError
from bastion.kernel.context import RequestContext
from bastion.kernel.ids import TenantId
from bastion.kernel.tiers import Tier

TENANT_ADMIN_SCOPE = "admin:tenant"


@dataclass(frozen=True, slots=True)
class AdminScope:
    """What one caller may see and change: ``tenant`` None means every tenant."""

    principal: RequestContext
    tenant: TenantId | None

    @property
    def is_admin(self) -> bool:
        return self.tenant is None

    def covers(self, tenant: str) -> bool:
        return self.tenant is None or self.tenant == tenant

    def tenant_filter(self, asked: str | None) -> TenantId | None:
        """The tenant a listing is restricted to: the caller's own for a tenant admin
        (asking for another is refused), else what was asked for."""
        if self.tenant is None:
            return None if asked is None else TenantId(asked)
        if asked is not None and asked != self.tenant:
            raise ForbiddenError(f"a tenant admin of '{self.tenant}' sees only its own tenant")
        return self.tenant


def admin_scope(principal: RequestContext, *, tenant_scoped: bool) -> AdminScope:
    if principal.tier >= Tier.ADMIN:
        return AdminScope(principal, None)
    if (
        tenant_scoped
        and principal.tenant_id is not None
        and principal.has_scope(TENANT_ADMIN_SCOPE)
    ):
        return AdminScope(principal, principal.tenant_id)
    if principal.has_scope(TENANT_ADMIN_SCOPE):
        raise ForbiddenError("this endpoint is for the admin tier only")
    raise ForbiddenError(
        f"tier '{principal.tier.label}' is below the required tier 'admin' "
        f"(or a tenant admin's '{TENANT_ADMIN_SCOPE}' scope)"
    )
