"""``bastion admin tokens`` and ``bastion admin keys``: the auth domain's contribution to
the ``admin`` group. Accounts are found through the users domain's ``USERS`` service."""

from __future__ import annotations

import sys

import typer

from bastion.domains.auth._extension import API_KEYS
from bastion.domains.auth._tokens import RevokeOutcome, TokenRegistry
from bastion.infra.commands import (
    JSON_OPTION,
    CommandPlatform,
    command_context,
    emit,
    err,
    fail,
    out,
    record_admin_action,
    run,
)
from bastion.infra.services import JWT, ROLES
from bastion.kernel.context import scope_granted
from bastion.kernel.identity import USERS, Account

tokens_app = typer.Typer(help="Self-issued JWTs.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (bst_...).", no_args_is_help=True)


async def _account(p: CommandPlatform, name_or_id: str) -> Account:
    account = await p.service(USERS).find(name_or_id)
    if account is None:
        raise fail(f"no user '{name_or_id}'")
    return account


@tokens_app.command("issue")
def tokens_issue(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User name or id."),
    ttl: int | None = typer.Option(None, "--ttl", min=1, help="Lifetime in seconds."),
    scope: list[str] = typer.Option(
        [], "--scope", help="Restrict to these scopes (repeatable); default: the role's."
    ),
) -> None:
    """Print a signed JWT for USER on stdout, and nothing else; its jti goes to stderr."""
    bastion = command_context(ctx)

    async def go() -> tuple[str, str]:
        async with bastion.platform(mount=False) as p:
            account = await _account(p, user)
            role = p.service(ROLES).resolve(account.role)
            scopes = set(scope) if scope else set(role.scopes)
            if scope:
                beyond = sorted(s for s in scopes if not scope_granted(role.scopes, s))
                if beyond:
                    raise fail(f"role '{role.name}' does not grant: {', '.join(beyond)}")
            issued = p.service(JWT).issue(
                user_id=account.id,
                tenant_id=account.tenant_id,
                role=account.role,
                tier=role.tier,
                scopes=scopes,
                ttl_seconds=ttl,
            )
            claims = issued.claims
            await TokenRegistry(p.engine).record_issued(
                claims.token_id, account.id, claims.issued_at, claims.expires_at
            )
            await record_admin_action(
                p,
                "token.issue",
                account.id,
                {"token_id": claims.token_id, "expires_at": claims.expires_at},
            )
            return issued.token, claims.token_id

    token, jti = run(go)
    err.print(f"jti: {jti}", highlight=False)
    sys.stdout.write(token + "\n")


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context, jti: str = typer.Argument(..., help="The token's jti.")
) -> None:
    """Refuse one JWT by its jti (within security.api_key_cache_seconds)."""
    bastion = command_context(ctx)

    async def go() -> str:
        async with bastion.platform(mount=False) as p:
            revocation = await TokenRegistry(p.engine).revoke(jti)
            if revocation.outcome is RevokeOutcome.ALREADY_REVOKED:
                raise fail(f"token '{jti}' is already revoked")
            details: dict[str, object] = {"token_id": jti}
            if revocation.expires_at is not None:
                details["expires_at"] = revocation.expires_at.isoformat()
            await record_admin_action(p, "token.revoke", revocation.user_id or jti, details)
        if revocation.outcome is RevokeOutcome.REVOKED_UNKNOWN:
            return (
                f"revoked {jti} (not issued by `admin tokens issue`: its expiry is unknown, "
                "so the revocation is kept)"
            )
        return f"revoked {jti} of {revocation.user_id}"

    out.print(run(go), highlight=False)


@keys_app.command("issue")
def keys_issue(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User name or id."),
    name: str = typer.Option(..., "--name", help="A label for the key."),
) -> None:
    """Print a new API key for USER on stdout, and nothing else. It is shown once."""
    bastion = command_context(ctx)

    async def go() -> str:
        async with bastion.platform(mount=False) as p:
            account = await _account(p, user)
            record, plaintext = await p.service(API_KEYS).issue(account.id, name)
            await record_admin_action(
                p, "key.issue", account.id, {"key_id": record.id, "name": name}
            )
            return plaintext

    sys.stdout.write(run(go) + "\n")


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    user: str | None = typer.Option(None, "--user", help="Only this user's keys."),
    as_json: bool = JSON_OPTION,
) -> None:
    """API keys (never their secrets)."""
    bastion = command_context(ctx)

    async def go() -> list[dict[str, object]]:
        async with bastion.platform(mount=False) as p:
            owner = (await _account(p, user)).id if user else None
            records = await p.service(API_KEYS).list(owner)
        return [
            {
                "id": r.id,
                "prefix": f"bst_{r.prefix}_…",
                "name": r.name,
                "user_id": r.user_id,
                "created_at": r.created_at,
                "revoked_at": r.revoked_at,
            }
            for r in records
        ]

    emit(run(go), as_json=as_json, title="API keys")


def _shown(key: str) -> str:
    """A key reference as it can be echoed: a whole key pasted by mistake shows only its
    prefix."""
    parts = key.split("_")
    return f"bst_{parts[1]}_…" if key.startswith("bst_") and len(parts) > 2 else key


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="Key id (key_...) or prefix (bst_xxxxxxxx, as listed)."),
) -> None:
    """Revoke an API key; requests with it are refused from then on."""
    bastion = command_context(ctx)

    async def go() -> str | None:
        async with bastion.platform(mount=False) as p:
            revoked = await p.service(API_KEYS).revoke(key)
            if revoked is not None:
                await record_admin_action(p, "key.revoke", revoked)
            return revoked

    revoked = run(go)
    if revoked is None:
        raise fail(f"no active API key '{_shown(key)}'")
    out.print(f"revoked {revoked}")
