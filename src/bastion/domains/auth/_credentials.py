"""``CREDENTIALS``: API keys and self-issued JWTs, the one implementation behind
``bastion admin keys``/``tokens`` and the admin API. Each change records its admin event;
accounts are found through the users domain's ``USERS`` service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bastion.domains.auth._repository import ApiKeyRecord, ApiKeyRepository
from bastion.domains.auth._tokens import RevokeOutcome, TokenRegistry
from bastion.infra.audit import AuditTrail, admin_event_row
from bastion.infra.security import JwtCodec, RoleCatalog, UnknownRoleError
from bastion.kernel.context import RequestContext, scope_granted
from bastion.kernel.credentials import (
    ApiKeyView,
    IssuedApiKey,
    IssuedToken,
    TokenRevocationOutcome,
    TokenRevocationView,
)
from bastion.kernel.errors import ConflictError, InvalidInputError, NotFoundError
from bastion.kernel.identity import Account, UserDirectory
from bastion.kernel.ids import TenantId

MAX_KEY_NAME = 128


def key_view(record: ApiKeyRecord) -> ApiKeyView:
    return ApiKeyView(
        record.id, record.user_id, record.name, record.prefix, record.created_at, record.revoked_at
    )


def shown(reference: str) -> str:
    """A key reference as it can be echoed: a whole key pasted by mistake shows only its
    prefix."""
    parts = reference.split("_")
    if reference.startswith("bst_") and len(parts) > 2:
        return f"bst_{parts[1]}_…"
    return reference[:128]


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class CredentialService:
    """Implements ``CredentialAdmin``."""

    def __init__(
        self,
        keys: ApiKeyRepository,
        tokens: TokenRegistry,
        users: UserDirectory,
        roles: RoleCatalog,
        jwt: JwtCodec,
        audit: AuditTrail,
    ) -> None:
        self._keys = keys
        self._tokens = tokens
        self._users = users
        self._roles = roles
        self._jwt = jwt
        self._audit = audit

    async def _account(self, name_or_id: str) -> Account:
        account = await self._users.find(name_or_id)
        if account is None:
            raise NotFoundError(f"no user '{name_or_id[:128]}'")
        return account

    async def issue_key(
        self, user: str, name: str, *, actor: RequestContext | None = None
    ) -> IssuedApiKey:
        if not name.strip() or len(name) > MAX_KEY_NAME:
            raise InvalidInputError(f"name: use 1-{MAX_KEY_NAME} characters")
        account = await self._account(user)
        record, plaintext = await self._keys.issue(account.id, name)
        await self._audit.record_event(
            admin_event_row(actor, "key.issue", account.id, {"key_id": record.id, "name": name})
        )
        return IssuedApiKey(key_view(record), plaintext)

    async def list_keys(
        self, *, user: str | None = None, tenant: TenantId | None = None
    ) -> list[ApiKeyView]:
        owner = (await self._account(user)).id if user is not None else None
        return [key_view(r) for r in await self._keys.list(owner, tenant)]

    async def get_key(self, key_id: str) -> ApiKeyView | None:
        record = await self._keys.get(key_id)
        return None if record is None else key_view(record)

    async def revoke_key(
        self, reference: str, *, actor: RequestContext | None = None
    ) -> ApiKeyView:
        revoked = await self._keys.revoke(reference)
        record = None if revoked is None else await self._keys.get(revoked)
        if record is None:
            raise NotFoundError(f"no active API key '{shown(reference)}'")
        await self._audit.record_event(
            admin_event_row(actor, "key.revoke", record.id, {"user_id": record.user_id})
        )
        return key_view(record)

    async def issue_token(
        self,
        user: str,
        *,
        ttl_seconds: int | None = None,
        scopes: Sequence[str] = (),
        actor: RequestContext | None = None,
    ) -> IssuedToken:
        if ttl_seconds is not None and ttl_seconds < 1:
            raise InvalidInputError("ttl_seconds: at least 1")
        account = await self._account(user)
        try:
            role = self._roles.resolve(account.role)
        except UnknownRoleError as exc:
            raise InvalidInputError(str(exc)) from None
        granted = set(scopes) if scopes else set(role.scopes)
        beyond = sorted(s for s in granted if not scope_granted(role.scopes, s))
        if beyond:
            raise InvalidInputError(f"role '{role.name}' does not grant: {', '.join(beyond)}")
        issued = self._jwt.issue(
            user_id=account.id,
            tenant_id=account.tenant_id,
            role=account.role,
            tier=role.tier,
            scopes=granted,
            ttl_seconds=ttl_seconds,
        )
        claims = issued.claims
        await self._tokens.record_issued(
            claims.token_id, account.id, claims.issued_at, claims.expires_at
        )
        await self._audit.record_event(
            admin_event_row(
                actor,
                "token.issue",
                account.id,
                {"token_id": claims.token_id, "expires_at": claims.expires_at},
            )
        )
        return IssuedToken(
            issued.token,
            claims.token_id,
            account.id,
            _utc(claims.issued_at),
            _utc(claims.expires_at),
            frozenset(claims.scopes),
        )

    async def revoke_token(
        self, token_id: str, *, actor: RequestContext | None = None
    ) -> TokenRevocationView:
        if not token_id or len(token_id) > 128:
            raise InvalidInputError("token_id: use 1-128 characters")
        revocation = await self._tokens.revoke(token_id)
        if revocation.outcome is RevokeOutcome.ALREADY_REVOKED:
            raise ConflictError(f"token '{token_id}' is already revoked")
        details: dict[str, object] = {"token_id": token_id}
        if revocation.expires_at is not None:
            details["expires_at"] = revocation.expires_at.isoformat()
        await self._audit.record_event(
            admin_event_row(actor, "token.revoke", revocation.user_id or token_id, details)
        )
        outcome = (
            TokenRevocationOutcome.REVOKED
            if revocation.outcome is RevokeOutcome.REVOKED
            else TokenRevocationOutcome.REVOKED_UNKNOWN
        )
        return TokenRevocationView(token_id, outcome, revocation.user_id, revocation.expires_at)

    async def token_owner(self, token_id: str) -> str | None:
        return await self._tokens.owner(token_id)
