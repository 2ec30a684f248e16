"""``/tenants``: list, create, show with members and where it stands against its quotas
(``TENANTS``, ``ACCOUNTS``). A tenant admin sees its own tenant only."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from bastion.domains.admin._access import AdminScope
from bastion.domains.admin._endpoint import Endpoint, path_param
from bastion.domains.admin._models import (
    Tenant,
    TenantCreate,
    TenantDetail,
    TenantList,
    User,
)
from bastion.domains.admin._quotas import subject_quotas
from bastion.infra.quota import QuotaBook, SubjectType
from bastion.kernel.accounts import AccountAdmin, TenantDirectory
from bastion.kernel.errors import NotFoundError
from bastion.kernel.ids import TenantId


class TenantEndpoints:
    def __init__(self, tenants: TenantDirectory, accounts: AccountAdmin, quotas: QuotaBook) -> None:
        self._tenants = tenants
        self._accounts = accounts
        self._quotas = quotas

    async def list_tenants(self, _: Request, scope: AdminScope, __: None) -> TenantList:
        found = await self._tenants.list()
        return TenantList(tenants=[Tenant.of(t) for t in found if scope.covers(t.id)])

    async def create(self, _: Request, scope: AdminScope, body: TenantCreate) -> Tenant:
        return Tenant.of(
            await self._tenants.create(body.id, body.display_name, actor=scope.principal)
        )

    async def show(self, request: Request, scope: AdminScope, _: None) -> TenantDetail:
        name = path_param(request, "tenant")
        tenant = await self._tenants.get(name) if scope.covers(name) else None
        if tenant is None:
            raise NotFoundError(f"no tenant '{name[:128]}'")
        users = await self._accounts.list(TenantId(tenant.id))
        return TenantDetail(
            tenant=Tenant.of(tenant),
            users=[User.of(u) for u in users],
            quotas=await subject_quotas(self._quotas, SubjectType.TENANT, tenant.id),
        )

    def endpoints(self) -> list[Endpoint[Any]]:
        return [
            Endpoint(
                "GET", "/tenants", "List tenants", self.list_tenants, TenantList, tenant_scoped=True
            ),
            Endpoint(
                "POST",
                "/tenants",
                "Create a tenant",
                self.create,
                Tenant,
                TenantCreate,
                status=201,
            ),
            Endpoint(
                "GET",
                "/tenants/{tenant}",
                "Show a tenant: members and quotas",
                self.show,
                TenantDetail,
                tenant_scoped=True,
            ),
        ]
