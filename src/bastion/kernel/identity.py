"""Identity contracts between the runtime's middleware and the extension that stores
credentials. The runtime verifies JWTs itself (no I/O); API keys need storage, so an
extension that implements ``IdentityProvider`` supplies the resolver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bastion.kernel.ids import ApiKeyId, RoleName, TenantId, UserId
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


class ApiKeyResolver(Protocol):
    async def resolve(self, raw_key: str) -> Principal | None:
        """The principal a raw ``bst_...`` key belongs to, or None if unknown or revoked."""
        ...


@runtime_checkable
class IdentityProvider(Protocol):
    def api_key_resolver(self, ctx: ExtensionContext) -> ApiKeyResolver: ...
