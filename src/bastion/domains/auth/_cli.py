"""``bastion admin tokens`` and ``bastion admin keys``: the auth domain's contribution to
the ``admin`` group, a front end of the ``CREDENTIALS`` service (as the admin API is)."""

from __future__ import annotations

import sys

import typer

from bastion.infra.commands import JSON_OPTION, command_context, emit, err, out, run
from bastion.kernel.credentials import CREDENTIALS, IssuedToken, TokenRevocationOutcome

tokens_app = typer.Typer(help="Self-issued JWTs.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (bst_...).", no_args_is_help=True)


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

    async def go() -> IssuedToken:
        async with bastion.platform(mount=False) as p:
            return await p.service(CREDENTIALS).issue_token(user, ttl_seconds=ttl, scopes=scope)

    issued = run(go)
    err.print(f"jti: {issued.token_id}", highlight=False)
    sys.stdout.write(issued.token + "\n")


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context, jti: str = typer.Argument(..., help="The token's jti.")
) -> None:
    """Refuse one JWT by its jti (within security.api_key_cache_seconds)."""
    bastion = command_context(ctx)

    async def go() -> str:
        async with bastion.platform(mount=False) as p:
            revocation = await p.service(CREDENTIALS).revoke_token(jti)
        if revocation.outcome is TokenRevocationOutcome.REVOKED_UNKNOWN:
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
            return (await p.service(CREDENTIALS).issue_key(user, name)).secret

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
            records = await p.service(CREDENTIALS).list_keys(user=user)
        return [
            {
                "id": r.id,
                "prefix": r.preview,
                "name": r.name,
                "user_id": r.user_id,
                "created_at": r.created_at,
                "revoked_at": r.revoked_at,
            }
            for r in records
        ]

    emit(run(go), as_json=as_json, title="API keys")


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="Key id (key_...) or prefix (bst_xxxxxxxx, as listed)."),
) -> None:
    """Revoke an API key; requests with it are refused from then on."""
    bastion = command_context(ctx)

    async def go() -> str:
        async with bastion.platform(mount=False) as p:
            return (await p.service(CREDENTIALS).revoke_key(key)).id

    out.print(f"revoked {run(go)}")
