"""``/tenants``: list, create, show with members and the quota rules that apply
(``TENANTS``, ``ACCOUNTS``). A tenant admin sees its own tenant only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from bastion.domains.admin._access import AdminScope
from bastion.domains.admin._endpoint import Endpoint, path_param
from bastion.domains.admin._models import (
    Quota,
    Tenant,
    TenantCreate,
    TenantDetail,
    TenantList,
    User,
)
from bastion.infra.quota import QuotaRule
from bastion.kernel.accounts import AccountAdmin, TenantDirectory
from bastion.kernel.errors import NotFoundError
from bastion.kernel.ids import TenantId


def tenant_quotas(rules: Sequence[QuotaRule], tenant: str) -> list[Quota]:
    fields = ("requests", "input_tokens", "output_tokens", "cost_microdollars")
    return [
        Quota(
            name=rule.name,
            subject_id=rule.subject_id,
            window_seconds=int(rule.window),
            limits={f: v for f in fields if (v := getattr(rule.limits, f)) is not None},
        )
        for rule in rules
        if rule.subject.value == "tenant" and rule.subject_id in ("*", tenant)
    ]


class TenantEndpoints:
    def __init__(
        self, tenants: TenantDirectory, accounts: AccountAdmin, quotas: Sequence[QuotaRule]
    ) -> None:
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
            quotas=tenant_quotas(self._quotas, tenant.id),
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
