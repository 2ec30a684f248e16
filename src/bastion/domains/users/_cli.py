"""``bastion admin users``: the users domain's contribution to the ``admin`` group."""

from __future__ import annotations

import typer

from bastion.domains.users._repository import User, UserExistsError, UserRepository
from bastion.infra.commands import (
    JSON_OPTION,
    CommandContext,
    command_context,
    emit,
    fail,
    out,
    record_admin_action,
    run,
)
from bastion.infra.security import UnknownRoleError
from bastion.infra.services import ROLES
from bastion.kernel.ids import RoleName, TenantId

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

    async def go() -> User:
        async with bastion.platform(mount=False) as p:
            try:
                p.service(ROLES).resolve(role)
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


@app.command("list")
def users_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Every user with role and tenant."""
    bastion = command_context(ctx)

    async def go() -> list[dict[str, object]]:
        async with bastion.platform(mount=False) as p:
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


def _set_disabled(bastion: CommandContext, name_or_id: str, disabled: bool) -> str:
    action = "user.disable" if disabled else "user.enable"

    async def go() -> str:
        async with bastion.platform(mount=False) as p:
            changed = await UserRepository(p.engine).set_disabled(name_or_id, disabled)
            if changed is None:
                raise fail(f"no user '{name_or_id}'")
            user, did = changed
            if did:
                await record_admin_action(p, action, user.id, {"name": user.name})
            state = "disabled" if disabled else "enabled"
            return f"{state} {user.name} ({user.id})" if did else f"{user.name} was already {state}"

    return run(go)


@app.command("disable")
def users_disable(
    ctx: typer.Context, name: str = typer.Argument(..., help="User name or id.")
) -> None:
    """Refuse the user's JWTs and API keys (within security.api_key_cache_seconds)."""
    out.print(_set_disabled(command_context(ctx), name, True), highlight=False)


@app.command("enable")
def users_enable(
    ctx: typer.Context, name: str = typer.Argument(..., help="User name or id.")
) -> None:
    """Accept the user's unexpired JWTs and unrevoked API keys again."""
    out.print(_set_disabled(command_context(ctx), name, False), highlight=False)
