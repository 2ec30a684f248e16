"""Credential administration: API keys and self-issued JWTs, as a domain other than the
auth domain sees them.

The auth domain provides ``CREDENTIALS``; the admin API and ``bastion admin keys`` /
``bastion admin tokens`` are two front ends of it. A command that changes state records
its admin event itself (``actor`` is the HTTP caller, None for the CLI). A key's secret
is in ``IssuedApiKey.secret`` once, when it is issued, and nowhere afterwards.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bastion.kernel.context import RequestContext
from bastion.kernel.ids import ApiKeyId, TenantId, UserId
from bastion.kernel.services import ServiceKey


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    id: ApiKeyId
    user_id: UserId
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def preview(self) -> str:
        """How the key is shown: its public prefix only."""
        return f"bst_{self.prefix}_…"


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    key: ApiKeyView
    secret: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    token_id: str
    user_id: UserId
    issued_at: dt.datetime
    expires_at: dt.datetime
    scopes: frozenset[str]


class TokenRevocationOutcome(enum.StrEnum):
    REVOKED = "revoked"
    # Not issued by Bastion's issue command: its expiry is unknown, so the revocation
    # is kept until pruned by hand.
    REVOKED_UNKNOWN = "revoked_unknown"


@dataclass(frozen=True, slots=True)
class TokenRevocationView:
    token_id: str
    outcome: TokenRevocationOutcome
    user_id: str | None
    expires_at: dt.datetime | None


class CredentialAdmin(Protocol):
    async def issue_key(
        self, user: str, name: str, *, actor: RequestContext | None = None
    ) -> IssuedApiKey:
        """A new key for ``user`` (name or id); ``NotFoundError`` without such a user."""
        ...

    async def list_keys(
        self, *, user: str | None = None, tenant: TenantId | None = None
    ) -> Sequence[ApiKeyView]:
        """Keys (never their secrets), of one user and/or of one tenant's users."""
        ...

    async def get_key(self, key_id: str) -> ApiKeyView | None: ...

    async def revoke_key(
        self, reference: str, *, actor: RequestContext | None = None
    ) -> ApiKeyView:
        """Revoke by id or prefix; ``NotFoundError`` if no active key matches."""
        ...

    async def issue_token(
        self,
        user: str,
        *,
        ttl_seconds: int | None = None,
        scopes: Sequence[str] = (),
        actor: RequestContext | None = None,
    ) -> IssuedToken:
        """A signed JWT for ``user`` with the role's scopes (or the subset ``scopes``);
        ``InvalidInputError`` for a scope the role does not grant."""
        ...

    async def revoke_token(
        self, token_id: str, *, actor: RequestContext | None = None
    ) -> TokenRevocationView:
        """Refuse a JWT by its jti; ``ConflictError`` if it is revoked already."""
        ...

    async def token_owner(self, token_id: str) -> str | None:
        """The user a token was issued to, if Bastion recorded its issue."""
        ...


CREDENTIALS: ServiceKey[CredentialAdmin] = ServiceKey(
    "auth.credentials", "API keys and JWTs: issue (secret shown once), list, revoke"
)
