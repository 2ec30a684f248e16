"""``/keys`` and ``/tokens``: issue (the secret in that response only), list, revoke
(``CREDENTIALS``). A tenant admin acts on its tenant's users' credentials only."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from bastion.domains.admin._access import AdminScope
from bastion.domains.admin._endpoint import Endpoint, path_param, query
from bastion.domains.admin._models import (
    ApiKey,
    ApiKeyList,
    IssuedKey,
    KeyIssue,
    KeyQuery,
    Token,
    TokenIssue,
    TokenRevocation,
)
from bastion.domains.admin._refusals import shown_path
from bastion.domains.admin._users import UserEndpoints
from bastion.kernel.credentials import ApiKeyView, CredentialAdmin
from bastion.kernel.errors import ConflictError, NotFoundError


class CredentialEndpoints:
    def __init__(self, credentials: CredentialAdmin, users: UserEndpoints) -> None:
        self._credentials = credentials
        self._users = users

    async def key(self, scope: AdminScope, key_id: str, *, manage: bool) -> ApiKeyView:
        """The key, if the caller's scope covers its owner (else 404, as if absent)."""
        key = await self._credentials.get_key(key_id)
        if key is not None and not scope.is_admin:
            try:
                await self._users.account(scope, key.user_id, manage=manage)
            except NotFoundError:
                key = None
        if key is None:
            raise NotFoundError(f"no API key '{shown_path(key_id[:128])}'")
        return key

    async def list_keys(self, request: Request, scope: AdminScope, _: None) -> ApiKeyList:
        asked = query(request, KeyQuery)
        user = None
        if asked.user is not None:
            user = (await self._users.account(scope, asked.user, manage=False)).id
        keys = await self._credentials.list_keys(
            user=user, tenant=scope.tenant_filter(asked.tenant)
        )
        return ApiKeyList(keys=[ApiKey.of(k) for k in keys])

    async def issue_key(self, _: Request, scope: AdminScope, body: KeyIssue) -> IssuedKey:
        owner = await self._users.account(scope, body.user)
        issued = await self._credentials.issue_key(owner.id, body.name, actor=scope.principal)
        return IssuedKey.of(issued)

    async def show_key(self, request: Request, scope: AdminScope, _: None) -> ApiKey:
        return ApiKey.of(await self.key(scope, path_param(request, "key_id"), manage=False))

    async def revoke_key(self, request: Request, scope: AdminScope, _: None) -> ApiKey:
        key = await self.key(scope, path_param(request, "key_id"), manage=True)
        if key.revoked_at is not None:
            raise ConflictError(f"API key '{key.id}' is already revoked")
        return ApiKey.of(await self._credentials.revoke_key(key.id, actor=scope.principal))

    async def issue_token(self, _: Request, scope: AdminScope, body: TokenIssue) -> Token:
        owner = await self._users.account(scope, body.user)
        issued = await self._credentials.issue_token(
            owner.id, ttl_seconds=body.ttl_seconds, scopes=body.scopes, actor=scope.principal
        )
        return Token.of(issued)

    async def revoke_token(self, request: Request, scope: AdminScope, _: None) -> TokenRevocation:
        token_id = path_param(request, "token_id")
        if not scope.is_admin:
            owner = await self._credentials.token_owner(token_id)
            if owner is None:
                raise NotFoundError(f"no token '{token_id[:128]}' issued to a user of this tenant")
            await self._users.account(scope, owner)
        revoked = await self._credentials.revoke_token(token_id, actor=scope.principal)
        return TokenRevocation.of(revoked)

    def endpoints(self) -> list[Endpoint[Any]]:
        return [
            Endpoint(
                "GET",
                "/keys",
                "List API keys (never their secrets)",
                self.list_keys,
                ApiKeyList,
                query=KeyQuery,
                tenant_scoped=True,
            ),
            Endpoint(
                "POST",
                "/keys",
                "Issue an API key (its secret is in this response only)",
                self.issue_key,
                IssuedKey,
                KeyIssue,
                status=201,
                tenant_scoped=True,
            ),
            Endpoint(
                "GET",
                "/keys/{key_id}",
                "Show an API key",
                self.show_key,
                ApiKey,
                tenant_scoped=True,
            ),
            Endpoint(
                "POST",
                "/keys/{key_id}/revoke",
                "Revoke an API key",
                self.revoke_key,
                ApiKey,
                tenant_scoped=True,
            ),
            Endpoint(
                "POST",
                "/tokens",
                "Issue a JWT (shown in this response only)",
                self.issue_token,
                Token,
                TokenIssue,
                status=201,
                tenant_scoped=True,
            ),
            Endpoint(
                "POST",
                "/tokens/{token_id}/revoke",
                "Revoke a JWT by its jti",
                self.revoke_token,
                TokenRevocation,
                tenant_scoped=True,
            ),
        ]
