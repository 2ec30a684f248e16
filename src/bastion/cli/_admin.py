from __future__ import annotations

import sys

import typer

from bastion.cli._common import (
    JSON_OPTION,
    emit,
    err,
    fail,
    out,
    platform,
    record_admin_action,
    run,
)
from bastion.domains.auth import ApiKeyRepository, RevokeOutcome, TokenRegistry
from bastion.domains.users import User, UserExistsError, UserRepository
from bastion.infra.security import UnknownRoleError
from bastion.kernel.context import scope_granted
from bastion.kernel.ids import RoleName, TenantId
from bastion.runtime.platform import Platform

app = typer.Typer(help="Users, tokens and API keys.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="Self-issued JWTs.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (bst_...).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(keys_app, name="keys")


async def _user(p: Platform, name_or_id: str) -> User:
    user = await UserRepository(p.engine).find(name_or_id)
    if user is None:
        raise fail(f"no user '{name_or_id}'")
    return user


@users_app.command("create")
def users_create(
    name: str,
    role: str = typer.Option(..., "--role", help="A built-in or extension-contributed role."),
    tenant: str = typer.Option("default", "--tenant", help="The user's tenant."),
) -> None:
    """Create a user with a role and a tenant; prints the new user id."""

    async def go() -> User:
        async with platform(mount=False) as p:
            try:
                p.roles.resolve(role)
            except UnknownRoleError as exc:
                raise fail(str(exc)) from None
            try:
                user = await UserRepository(p.engine).create(name, RoleName(role), TenantId(tenant))
            except UserExistsError as exc:
                raise fail(str(exc)) from None
            await record_admin_action(
                p, "user.create", user.id, {"name": name, "role": role, "tenant": tenant}
            )
            return user

    user = run(go)
    out.print(user.id)


@users_app.command("list")
def users_list(as_json: bool = JSON_OPTION) -> None:
    """Every user with role and tenant."""

    async def go() -> list[dict[str, object]]:
        async with platform(mount=False) as p:
            users = await UserRepository(p.engine).list()
        return [
            {
                "id": u.id,
                "name": u.name,
                "role": u.role,
                "tenant": u.tenant_id,
                "created_at": u.created_at,
                "disabled": u.disabled,
            }
            for u in users
        ]

    emit(run(go), as_json=as_json, title="Users")


def _set_disabled(name_or_id: str, disabled: bool) -> str:
    action = "user.disable" if disabled else "user.enable"

    async def go() -> str:
        async with platform(mount=False) as p:
            changed = await UserRepository(p.engine).set_disabled(name_or_id, disabled)
            if changed is None:
                raise fail(f"no user '{name_or_id}'")
            user, did = changed
            if did:
                await record_admin_action(p, action, user.id, {"name": user.name})
            state = "disabled" if disabled else "enabled"
            return f"{state} {user.name} ({user.id})" if did else f"{user.name} was already {state}"

    return run(go)


@users_app.command("disable")
def users_disable(name: str = typer.Argument(..., help="User name or id.")) -> None:
    """Refuse the user's JWTs and API keys (within security.api_key_cache_seconds)."""
    out.print(_set_disabled(name, True), highlight=False)


@users_app.command("enable")
def users_enable(name: str = typer.Argument(..., help="User name or id.")) -> None:
    """Accept the user's unexpired JWTs and unrevoked API keys again."""
    out.print(_set_disabled(name, False), highlight=False)


@tokens_app.command("issue")
def tokens_issue(
    user: str = typer.Argument(..., help="User name or id."),
    ttl: int | None = typer.Option(None, "--ttl", min=1, help="Lifetime in seconds."),
    scope: list[str] = typer.Option(
        [], "--scope", help="Restrict to these scopes (repeatable); default: the role's."
    ),
) -> None:
    """Print a signed JWT for USER on stdout, and nothing else; its jti goes to stderr."""

    async def go() -> tuple[str, str]:
        async with platform(mount=False) as p:
            account = await _user(p, user)
            role = p.roles.resolve(account.role)
            scopes = set(scope) if scope else set(role.scopes)
            if scope:
                beyond = sorted(s for s in scopes if not scope_granted(role.scopes, s))
                if beyond:
                    raise fail(f"role '{role.name}' does not grant: {', '.join(beyond)}")
            issued = p.jwt.issue(
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
def tokens_revoke(jti: str = typer.Argument(..., help="The token's jti.")) -> None:
    """Refuse one JWT by its jti (within security.api_key_cache_seconds)."""

    async def go() -> str:
        async with platform(mount=False) as p:
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


def _keys(p: Platform) -> ApiKeyRepository:
    return ApiKeyRepository(p.engine, p.roles, cache_seconds=0)


@keys_app.command("issue")
def keys_issue(
    user: str = typer.Argument(..., help="User name or id."),
    name: str = typer.Option(..., "--name", help="A label for the key."),
) -> None:
    """Print a new API key for USER on stdout, and nothing else. It is shown once."""

    async def go() -> str:
        async with platform(mount=False) as p:
            account = await _user(p, user)
            record, plaintext = await _keys(p).issue(account.id, name)
            await record_admin_action(
                p, "key.issue", account.id, {"key_id": record.id, "name": name}
            )
            return plaintext

    sys.stdout.write(run(go) + "\n")


@keys_app.command("list")
def keys_list(
    user: str | None = typer.Option(None, "--user", help="Only this user's keys."),
    as_json: bool = JSON_OPTION,
) -> None:
    """API keys (never their secrets)."""

    async def go() -> list[dict[str, object]]:
        async with platform(mount=False) as p:
            owner = (await _user(p, user)).id if user else None
            records = await _keys(p).list(owner)
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
    key: str = typer.Argument(..., help="Key id (key_...) or prefix (bst_xxxxxxxx, as listed)."),
) -> None:
    """Revoke an API key; requests with it are refused from then on."""

    async def go() -> str | None:
        async with platform(mount=False) as p:
            revoked = await _keys(p).revoke(key)
            if revoked is not None:
                await record_admin_action(p, "key.revoke", revoked)
            return revoked

    revoked = run(go)
    if revoked is None:
        raise fail(f"no active API key '{_shown(key)}'")
    out.print(f"revoked {revoked}")
