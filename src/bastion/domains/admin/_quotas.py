"""``/quotas``: where a user, a tenant or an API key stands against its quotas (used,
limit, resets-at per rule), read from the counters the chain's quota stage keeps
(``QUOTAS``). A tenant admin sees its own tenant's subjects only."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from bastion.domains.admin._access import AdminScope
from bastion.domains.admin._credentials import CredentialEndpoints
from bastion.domains.admin._endpoint import Endpoint, query
from bastion.domains.admin._models import Quota, QuotaList, QuotaQuery
from bastion.domains.admin._users import UserEndpoints
from bastion.infra.quota import QuotaBook, SubjectType
from bastion.kernel.credentials import CredentialAdmin
from bastion.kernel.errors import InvalidInputError, NotFoundError


async def subject_quotas(book: QuotaBook, subject: SubjectType, subject_id: str) -> list[Quota]:
    return [Quota.of(standing) for standing in await book.standing(subject, subject_id)]


class QuotaEndpoints:
    def __init__(
        self,
        book: QuotaBook,
        users: UserEndpoints,
        keys: CredentialEndpoints,
        credentials: CredentialAdmin,
    ) -> None:
        self._book = book
        self._users = users
        self._keys = keys
        self._credentials = credentials

    async def list_quotas(self, request: Request, scope: AdminScope, _: None) -> QuotaList:
        asked = query(request, QuotaQuery)
        given = [name for name in ("user", "tenant", "api_key") if getattr(asked, name)]
        if len(given) != 1:
            raise InvalidInputError("give exactly one of user, tenant or api_key")
        book = self._book
        if asked.tenant is not None:
            if not scope.covers(asked.tenant):
                raise NotFoundError(f"no tenant '{asked.tenant[:128]}'")
            return QuotaList(quotas=await subject_quotas(book, SubjectType.TENANT, asked.tenant))
        if asked.api_key is not None:
            key = await self._keys.key(scope, asked.api_key, manage=False)
            return QuotaList(quotas=await subject_quotas(book, SubjectType.API_KEY, key.id))
        assert asked.user is not None
        account = await self._users.account(scope, asked.user, manage=False)
        quotas = await subject_quotas(book, SubjectType.USER, account.id)
        for key in await self._credentials.list_keys(user=account.id, tenant=None):
            if key.revoked_at is None:
                quotas.extend(await subject_quotas(book, SubjectType.API_KEY, key.id))
        return QuotaList(quotas=quotas)

    def endpoints(self) -> list[Endpoint[Any]]:
        return [
            Endpoint(
                "GET",
                "/quotas",
                "Quotas of a user (and its keys), a tenant or a key: used, limit, resets-at",
                self.list_quotas,
                QuotaList,
                query=QuotaQuery,
                tenant_scoped=True,
            )
        ]
