"""Identity contracts between the runtime's middleware and the extension that stores
credentials. The runtime verifies JWTs itself (no I/O); API keys need storage, so an
extension that implements ``IdentityProvider`` supplies the resolver. A valid JWT can
still be refused, because its user was disabled or its ``jti`` revoked: an extension
that implements ``RevocationProvider`` supplies that state as a snapshot the middleware
reads without I/O while it is fresh. Other domains find accounts through the ``USERS``
service, which the users domain provides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bastion.kernel.context import RequestContext
from bastion.kernel.ids import ApiKeyId, RoleName, TenantId, UserId
from bastion.kernel.services import ServiceKey
from bastion.kernel.tiers import Tier

if TYPE_CHECKING:
    from bastion.kernel.contract import ExtensionContext


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: UserId
    tenant_id: TenantId
    role: RoleName
    tier: Tier
    scopes: frozenset[str]
    api_key_id: ApiKeyId | None = None


@dataclass(frozen=True, slots=True)
class Revocations:
    """Disabled users and revoked token ids as the database held them at ``loaded_at``
    (a ``time.monotonic()`` reading taken before the read began)."""

    disabled_users: frozenset[str]
    revoked_tokens: frozenset[str]
    loaded_at: float

    def refusal(self, user_id: str | None, token_id: str | None) -> str | None:
        """Why a credential of ``user_id`` (a token ``token_id``) is refused, or None."""
        if user_id is not None and user_id in self.disabled_users:
            return "user is disabled"
        if token_id is not None and token_id in self.revoked_tokens:
            return "token has been revoked"
        return None


class RevocationSource(Protocol):
    def fresh(self) -> Revocations | None:
        """The current snapshot if it is within the bound, without I/O; else None."""
        ...

    async def refresh(self) -> Revocations:
        """A snapshot read now (or by a read already under way that began within the
        bound). Database errors propagate as the API-key lookup's do."""
        ...


class ApiKeyResolver(Protocol):
    async def resolve(self, raw_key: str) -> Principal | None:
        """The principal a raw ``bst_...`` key belongs to, or None if unknown or revoked."""
        ...


@runtime_checkable
class IdentityProvider(Protocol):
    def api_key_resolver(self, ctx: ExtensionContext) -> ApiKeyResolver: ...


@runtime_checkable
class RevocationProvider(Protocol):
    def revocation_source(self, ctx: ExtensionContext) -> RevocationSource: ...


class Account(Protocol):
    """A user account, as a domain other than the one that stores it sees it."""

    @property
    def id(self) -> UserId: ...

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> RoleName: ...

    @property
    def tenant_id(self) -> TenantId: ...

    @property
    def disabled(self) -> bool: ...


class UserDirectory(Protocol):
    async def find(self, name_or_id: str) -> Account | None:
        """The account named ``name_or_id`` (its name, or its ``usr_...`` id), or None."""
        ...


USERS: ServiceKey[UserDirectory] = ServiceKey("users", "User accounts, found by name or id")


@dataclass(frozen=True, slots=True)
class CheckedCredential:
    """What a pasted credential is: the principal it authenticates (``context``), or why
    it was refused (``refusal``); exactly one of them is set."""

    context: RequestContext | None
    refusal: str | None = None


class CredentialCheck(Protocol):
    async def check(self, raw: str, *, remote_addr: str | None = None) -> CheckedCredential:
        """Authenticate a raw API key or JWT exactly as a request carrying it in
        ``x-api-key`` is authenticated: signature, expiry, revocations, disabled users,
        key lookup. A store that cannot be reached raises, as for a request."""
        ...


AUTHENTICATOR: ServiceKey[CredentialCheck] = ServiceKey(
    "authenticator", "Authenticates a raw API key or JWT as the request path does"
)
