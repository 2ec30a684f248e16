from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.domains.auth._credentials import CredentialService
from bastion.domains.auth._repository import ApiKeyRepository
from bastion.domains.auth._revocations import RevocationList
from bastion.domains.auth._tokens import TokenRegistry
from bastion.infra.services import AUDIT, JWT, ROLES
from bastion.kernel.contract import (
    CliCommands,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    Job,
    Maturity,
)
from bastion.kernel.credentials import CREDENTIALS, CredentialAdmin
from bastion.kernel.identity import USERS, ApiKeyResolver, RevocationSource
from bastion.kernel.migration import Migration, migrations_from_package
from bastion.kernel.services import ServiceKey, ServiceProvider

API_KEYS: ServiceKey[ApiKeyRepository] = ServiceKey(
    "auth.api_keys", "API keys: issue, list, revoke, and resolve with a bounded cache"
)


def _repository(ctx: ExtensionContext) -> ApiKeyRepository:
    return ApiKeyRepository(ctx.engine, ctx.service(ROLES), ctx.platform.api_key_cache_seconds)


def _credentials(ctx: ExtensionContext) -> CredentialAdmin:
    return CredentialService(
        ctx.service(API_KEYS),
        TokenRegistry(ctx.engine),
        ctx.service(USERS),
        ctx.service(ROLES),
        ctx.service(JWT),
        ctx.service(AUDIT),
    )


async def _prune_tokens(ctx: ExtensionContext) -> dict[str, int]:
    leeway = ctx.platform.jwt_leeway_seconds
    return {"pruned": await TokenRegistry(ctx.engine).prune(leeway)}


class AuthExtension(Extension):
    """Credentials: API keys stored as prefix + SHA-256, and the resolver the core uses;
    revoked JWT ids and disabled users, as the snapshot the core checks tokens against;
    ``CREDENTIALS`` (keys and tokens issued, listed and revoked) and its two front ends,
    ``bastion admin tokens``/``keys`` and the admin API; accounts are found by ``USERS``."""

    meta = ExtensionMeta(
        id="auth",
        version="1.0.0",
        depends_on=("users",),
        priority=10,
        description="API keys and their resolution",
        required=True,
        requires=(ROLES, USERS, JWT, AUDIT),
        maturity=Maturity.GA,
    )

    def services(self) -> Sequence[ServiceProvider[Any]]:
        return [ServiceProvider(API_KEYS, _repository), ServiceProvider(CREDENTIALS, _credentials)]

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion.domains.auth")

    def jobs(self) -> Sequence[Job]:
        return [Job("prune-expired-tokens", "every 1h", _prune_tokens)]

    def cli(self) -> Sequence[CliCommands]:
        from bastion.domains.auth._cli import keys_app, tokens_app

        return [
            CliCommands(tokens_app, group="admin", name="tokens"),
            CliCommands(keys_app, group="admin", name="keys"),
        ]

    def api_key_resolver(self, ctx: ExtensionContext) -> ApiKeyResolver:
        return ctx.service(API_KEYS)

    def revocation_source(self, ctx: ExtensionContext) -> RevocationSource:
        revocations = RevocationList(
            ctx.engine,
            # The same bound as a revoked API key's: its cache lifetime.
            bound_seconds=ctx.platform.api_key_cache_seconds,
            leeway_seconds=ctx.platform.jwt_leeway_seconds,
        )
        ctx.on_shutdown(revocations.aclose)
        return revocations
