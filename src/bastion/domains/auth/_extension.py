from __future__ import annotations

from collections.abc import Sequence

from bastion.domains.auth._repository import ApiKeyRepository
from bastion.domains.auth._revocations import RevocationList
from bastion.domains.auth._tokens import TokenRegistry
from bastion.infra.security import RoleCatalog
from bastion.kernel.contract import Extension, ExtensionContext, ExtensionMeta, Job, Maturity
from bastion.kernel.identity import ApiKeyResolver, RevocationSource
from bastion.kernel.migration import Migration, migrations_from_package


def _repository(ctx: ExtensionContext) -> ApiKeyRepository:
    roles: RoleCatalog = ctx.services["roles"]
    cached: ApiKeyRepository | None = ctx.services.get("auth.api_keys")
    if cached is None:
        cached = ApiKeyRepository(ctx.engine, roles, ctx.settings.security.api_key_cache_seconds)
        ctx.services["auth.api_keys"] = cached
    return cached


async def _prune_tokens(ctx: ExtensionContext) -> dict[str, int]:
    leeway = ctx.settings.security.jwt.leeway_seconds
    return {"pruned": await TokenRegistry(ctx.engine).prune(leeway)}


class AuthExtension(Extension):
    """Credentials: API keys stored as prefix + SHA-256, and the resolver the core uses;
    revoked JWT ids and disabled users, as the snapshot the core checks tokens against."""

    meta = ExtensionMeta(
        id="auth",
        version="1.0.0",
        depends_on=("users",),
        priority=10,
        description="API keys and their resolution",
        required=True,
        maturity=Maturity.GA,
    )

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.auth")

    def jobs(self) -> Sequence[Job]:
        return [Job("prune-expired-tokens", "every 1h", _prune_tokens)]

    def api_key_resolver(self, ctx: ExtensionContext) -> ApiKeyResolver:
        return _repository(ctx)

    def revocation_source(self, ctx: ExtensionContext) -> RevocationSource:
        security = ctx.settings.security
        revocations = RevocationList(
            ctx.engine,
            # The same bound as a revoked API key's: its cache lifetime.
            bound_seconds=security.api_key_cache_seconds,
            leeway_seconds=security.jwt.leeway_seconds,
        )
        ctx.on_shutdown(revocations.aclose)
        return revocations
