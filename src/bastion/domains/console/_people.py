"""Users and their keys, tenants, and where each stands against its quotas: views and
commands of the ``ACCOUNTS``, ``CREDENTIALS``, ``TENANTS`` and ``QUOTAS`` services (the
admin API's and the CLI's).

A tenant admin sees and changes its own tenant's accounts only, never an admin-tier
account, and cannot grant an admin-tier role. A key's secret is rendered once, in the
answer to its issue, and never again."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import Response

from bastion.domains.console._web import Console, Visit
from bastion.infra.quota import QuotaBook, QuotaRule, SubjectType, rule_limits
from bastion.infra.security import RoleCatalog
from bastion.kernel.accounts import AccountAdmin, AccountView, TenantDirectory
from bastion.kernel.credentials import CredentialAdmin
from bastion.kernel.errors import RefusedError
from bastion.kernel.tiers import Tier


def _rule(rule: QuotaRule) -> dict[str, object]:
    return {
        "name": rule.name or "",
        "subject": rule.subject.value,
        "subject_id": rule.subject_id,
        "window_seconds": int(rule.window),
        "limits": rule_limits(rule),
    }


async def _standings(
    book: QuotaBook, subject: SubjectType, ids: Iterable[str]
) -> dict[str, list[dict[str, object]]]:
    """Each id's quota windows (as ``QuotaStanding.as_dict``), ids without one left out."""
    if not any(rule.subject is subject for rule in book.rules):
        return {}
    found = {}
    for subject_id in ids:
        standing = await book.standing(subject, subject_id)
        if standing:
            found[subject_id] = [s.as_dict() for s in standing]
    return found


class PeoplePages:
    def __init__(
        self,
        console: Console,
        accounts: AccountAdmin,
        credentials: CredentialAdmin,
        tenants: TenantDirectory,
        roles: RoleCatalog,
        quotas: QuotaBook,
    ) -> None:
        self.console = console
        self.accounts = accounts
        self.credentials = credentials
        self.tenants = tenants
        self.roles = roles
        self.quotas = quotas

    def _admin_role(self, role: str) -> bool:
        found = self.roles.get(role)
        return found is not None and found.tier >= Tier.ADMIN

    def _grantable(self, visit: Visit) -> list[str]:
        return sorted(role.name for role in self.roles if visit.admin or role.tier < Tier.ADMIN)

    def _manages(self, visit: Visit, account: AccountView | None) -> bool:
        if account is None:
            return False
        if visit.admin:
            return True
        return account.tenant_id == visit.tenant and not self._admin_role(account.role)

    async def _users_page(
        self, visit: Visit, *, status: int = 200, error: str | None = None, **values: object
    ) -> Response:
        users = await self.accounts.list(visit.tenant)  # type: ignore[arg-type]
        keys = await self.credentials.list_keys(tenant=visit.tenant)  # type: ignore[arg-type]
        by_user: dict[str, list[object]] = {}
        for key in keys:
            by_user.setdefault(key.user_id, []).append(key)
        quotas = await _standings(self.quotas, SubjectType.USER, (u.id for u in users))
        live = (k.id for k in keys if k.revoked_at is None)
        quotas.update(await _standings(self.quotas, SubjectType.API_KEY, live))
        return self.console.page(
            "users.html",
            visit,
            status=status,
            users=users,
            keys=by_user,
            quotas=quotas,
            roles=self._grantable(visit),
            error=error,
            **values,
        )

    async def users(self, visit: Visit) -> Response:
        return await self._users_page(visit)

    async def create_user(self, visit: Visit) -> Response:
        form = visit.form
        name, role = form.get("name", "").strip(), form.get("role", "user").strip()
        tenant = visit.tenant or form.get("tenant", "").strip() or "default"
        if not visit.admin and self._admin_role(role):
            return await self._users_page(
                visit, status=403, error=f"a tenant admin cannot grant the role '{role}'"
            )
        try:
            created = await self.accounts.create(name, role, tenant, actor=visit.principal)
        except RefusedError as exc:
            return await self._users_page(visit, status=exc.status, error=str(exc))
        return await self._users_page(visit, notice=f"User {created.name} created.")

    async def _target(self, visit: Visit) -> AccountView | None:
        account = await self.accounts.find(visit.request.path_params["user"])
        return account if self._manages(visit, account) else None

    async def set_disabled(self, visit: Visit) -> Response:
        account = await self._target(visit)
        if account is None:
            return await self._users_page(visit, status=404, error="no such user")
        disabled = visit.request.url.path.endswith("/disable")
        await self.accounts.set_disabled(account.id, disabled, actor=visit.principal)
        verb = "disabled" if disabled else "enabled"
        return await self._users_page(visit, notice=f"User {account.name} {verb}.")

    async def issue_key(self, visit: Visit) -> Response:
        account = await self._target(visit)
        if account is None:
            return await self._users_page(visit, status=404, error="no such user")
        name = visit.form.get("name", "").strip() or "console"
        try:
            issued = await self.credentials.issue_key(account.id, name, actor=visit.principal)
        except RefusedError as exc:
            return await self._users_page(visit, status=exc.status, error=str(exc))
        # The one time the secret is rendered; the page is never cached (no-store).
        return await self._users_page(visit, issued=issued, issued_to=account.name)

    async def revoke_key(self, visit: Visit) -> Response:
        key = await self.credentials.get_key(visit.request.path_params["key"])
        owner = None if key is None else await self.accounts.find(key.user_id)
        if key is None or not self._manages(visit, owner):
            return await self._users_page(visit, status=404, error="no such key")
        try:
            await self.credentials.revoke_key(key.id, actor=visit.principal)
        except RefusedError as exc:
            return await self._users_page(visit, status=exc.status, error=str(exc))
        return await self._users_page(visit, notice=f"Key {key.preview} revoked.")

    async def tenants_page(
        self, visit: Visit, *, status: int = 200, error: str | None = None, **values: object
    ) -> Response:
        tenants = [
            t for t in await self.tenants.list() if visit.tenant is None or t.id == visit.tenant
        ]
        rules = self.quotas.rules
        quotas = await _standings(self.quotas, SubjectType.TENANT, (t.id for t in tenants))
        return self.console.page(
            "tenants.html",
            visit,
            status=status,
            tenants=tenants,
            quotas=quotas,
            other_quotas=[_rule(r) for r in rules if r.subject is not SubjectType.TENANT],
            error=error,
            **values,
        )

    async def tenants_view(self, visit: Visit) -> Response:
        return await self.tenants_page(visit)

    async def create_tenant(self, visit: Visit) -> Response:
        if not visit.admin:
            return await self.tenants_page(visit, status=403, error="admins create tenants")
        tenant = visit.form.get("tenant", "").strip()
        try:
            await self.tenants.create(
                tenant, visit.form.get("display_name", "").strip(), actor=visit.principal
            )
        except RefusedError as exc:
            return await self.tenants_page(visit, status=exc.status, error=str(exc))
        return await self.tenants_page(visit, notice=f"Tenant {tenant} created.")
