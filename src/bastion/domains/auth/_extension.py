from __future__ import annotations

from collections.abc import Sequence

from bastion.domains.auth._repository import ApiKeyRepository
from bastion.infra.security import RoleCatalog
from bastion.kernel.contract import Extension, ExtensionContext, ExtensionMeta
from bastion.kernel.identity import ApiKeyResolver
from bastion.kernel.migration import Migration, migrations_from_package


def _repository(ctx: ExtensionContext) -> ApiKeyRepository:
    roles: RoleCatalog = ctx.services["roles"]
    cached: ApiKeyRepository | None = ctx.services.get("auth.api_keys")
    if cached is None:
        cached = ApiKeyRepository(ctx.engine, roles, ctx.settings.security.api_key_cache_seconds)
        ctx.services["auth.api_keys"] = cached
    return cached


class AuthExtension(Extension):
    """Credentials: API keys stored as prefix + SHA-256, and the resolver the core uses."""

    meta = ExtensionMeta(
        id="auth",
        version="1.0.0",
        depends_on=("users",),
        priority=10,
        description="API keys and their resolution",
        required=True,
    )

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.auth")

    def api_key_resolver(self, ctx: ExtensionContext) -> ApiKeyResolver:
        return _repository(ctx)
