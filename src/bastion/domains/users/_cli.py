"""``bastion admin users``: the users domain's contribution to the ``admin`` group, a
front end of the ``ACCOUNTS`` service (as the admin API is)."""

from __future__ import annotations

import typer

from bastion.infra.commands import JSON_OPTION, command_context, emit, out, run
from bastion.kernel.accounts import ACCOUNTS, AccountView

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command("create")
def users_create(
    ctx: typer.Context,
    name: str,
    role: str = typer.Option(..., "--role", help="A built-in or extension-contributed role."),
    tenant: str = typer.Option("default", "--tenant", help="The user's tenant."),
) -> None:
    """Create a user with a role and a tenant; prints the new user id."""
    bastion = command_context(ctx)

    async def go() -> AccountView:
        async with bastion.platform(mount=False) as p:
            return await p.service(ACCOUNTS).create(name, role, tenant)

    out.print(run(go).id)


@app.command("list")
def users_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Every user with role and tenant."""
    bastion = command_context(ctx)

    async def go() -> list[dict[str, object]]:
        async with bastion.platform(mount=False) as p:
            users = await p.service(ACCOUNTS).list()
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


def _set_disabled(ctx: typer.Context, name_or_id: str, disabled: bool) -> str:
    bastion = command_context(ctx)

    async def go() -> str:
        async with bastion.platform(mount=False) as p:
            change = await p.service(ACCOUNTS).set_disabled(name_or_id, disabled)
        user, state = change.account, "disabled" if disabled else "enabled"
        if change.changed:
            return f"{state} {user.name} ({user.id})"
        return f"{user.name} was already {state}"

    return run(go)


@app.command("disable")
def users_disable(
    ctx: typer.Context, name: str = typer.Argument(..., help="User name or id.")
) -> None:
    """Refuse the user's JWTs and API keys (within security.api_key_cache_seconds)."""
    out.print(_set_disabled(ctx, name, True), highlight=False)


@app.command("enable")
def users_enable(
    ctx: typer.Context, name: str = typer.Argument(..., help="User name or id.")
) -> None:
    """Accept the user's unexpired JWTs and unrevoked API keys again."""
    out.print(_set_disabled(ctx, name, False), highlight=False)


@app.command("set")
def users_set(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name or id."),
    role: str | None = typer.Option(None, "--role", help="The new role."),
    tenant: str | None = typer.Option(None, "--tenant", help="The new tenant."),
) -> None:
    """Change a user's role and/or tenant; credentials issued earlier keep their claims."""
    bastion = command_context(ctx)

    async def go() -> str:
        async with bastion.platform(mount=False) as p:
            change = await p.service(ACCOUNTS).update(name, role=role, tenant=tenant)
        user = change.account
        if not change.changed:
            return f"{user.name} unchanged"
        return f"{user.name} ({user.id}): role {user.role}, tenant {user.tenant_id}"

    out.print(run(go), highlight=False)
