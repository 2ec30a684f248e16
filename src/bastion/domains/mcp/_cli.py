"""``bastion mcp``: the MCP server registry and its tool pins (the mcp domain's ``cli()``),
a front end of the ``MCP_ADMIN`` service (as the admin API is)."""

from __future__ import annotations

import sys
from typing import Any

import orjson
import typer
from typer.core import TyperGroup

from bastion.infra.commands import (
    JSON_OPTION,
    CommandPlatform,
    command_context,
    emit,
    fail,
    run,
)
from bastion.kernel.tools import MCP_ADMIN, McpAdmin, ToolDiffView, ToolPinView

app = typer.Typer(help="MCP servers behind Bastion and the pins of their tools.")


class _ServerFirst(TyperGroup):
    """``bastion mcp tools SERVER`` lists; ``bastion mcp tools approve SERVER TOOL`` acts.
    A first argument that is not a subcommand is a server name for ``list``."""

    # ``Any``: the base class types ``ctx`` with typer's vendored click, which is private.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


tools_app = typer.Typer(
    cls=_ServerFirst,
    no_args_is_help=True,
    help="Tool pins of one server: `tools SERVER`, `tools approve SERVER TOOL`, "
    "`tools diff SERVER TOOL`.",
)
app.add_typer(tools_app, name="tools")

SERVER = typer.Argument(..., metavar="SERVER")
TOOL = typer.Argument(..., metavar="TOOL")


def _service(p: CommandPlatform) -> McpAdmin:
    if p.services.provider_of(MCP_ADMIN) is None:
        raise fail("the mcp extension is not enabled in this profile")
    return p.service(MCP_ADMIN)


def _short(sha: str | None) -> str | None:
    return sha[:12] if sha else None


@app.command("list")
def list_servers(
    ctx: typer.Context,
    check: bool = typer.Option(
        False, "--check", help="Connect to each server now and list its tools (health)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Registered MCP servers with their endpoint, transport, pins and (with --check) health."""
    bastion = command_context(ctx)

    async def go() -> list[dict[str, Any]]:
        async with bastion.platform() as p:
            servers = await _service(p).servers(check=check)
        rows: list[dict[str, Any]] = []
        for server in servers:
            row: dict[str, Any] = {
                "name": server.name,
                "transport": server.transport,
                "upstream": server.upstream,
                "endpoint": server.endpoint,
                "source": server.source,
                "min_tier": server.min_tier,
                "required_scopes": list(server.required_scopes),
                "pinned_tools": server.pinned_tools,
                "quarantined_tools": list(server.quarantined_tools),
            }
            if check:
                row["status"] = server.health.status
                row["error"] = server.health.error
            rows.append(row)
        return rows

    rows = run(go)
    if as_json:
        emit(rows, as_json=True)
        return
    emit(
        [
            {
                **row,
                "required_scopes": ",".join(row["required_scopes"]),
                "quarantined_tools": ",".join(row["quarantined_tools"]),
            }
            for row in rows
        ],
        as_json=False,
        title="MCP servers",
    )


def _pin_row(pin: ToolPinView) -> dict[str, Any]:
    return {
        "tool": pin.tool,
        "status": pin.status,
        "pinned_sha256": pin.pinned_sha256,
        "observed_sha256": pin.observed_sha256,
        "changed_fields": list(pin.changed_fields),
        "first_seen_at": pin.first_seen_at,
        "changed_at": pin.changed_at,
        "approved_at": pin.approved_at,
        "approved_by": pin.approved_by,
    }


@tools_app.command("list")
def list_tools(
    ctx: typer.Context,
    server: str = SERVER,
    as_json: bool = JSON_OPTION,
) -> None:
    """Every pinned tool of SERVER with its pin status; quarantined ones name what changed."""
    bastion = command_context(ctx)

    async def go() -> list[dict[str, Any]]:
        async with bastion.platform() as p:
            return [_pin_row(pin) for pin in await _service(p).pins(server)]

    rows = run(go)
    if as_json:
        emit(rows, as_json=True)
        return
    emit(
        [
            {
                "tool": r["tool"],
                "status": r["status"],
                "pinned": _short(r["pinned_sha256"]),
                "observed": _short(r["observed_sha256"]),
                "changed": ",".join(r["changed_fields"]),
                "first_seen_at": r["first_seen_at"],
                "approved_at": r["approved_at"],
            }
            for r in rows
        ],
        as_json=False,
        title=f"Tools of MCP server '{server}'",
    )


@tools_app.command("diff")
def diff_tool(
    ctx: typer.Context,
    server: str = SERVER,
    tool: str = TOOL,
) -> None:
    """The pinned and the changed definition of a quarantined TOOL, as JSON, for review."""
    bastion = command_context(ctx)

    async def go() -> ToolDiffView:
        async with bastion.platform() as p:
            return await _service(p).diff(server, tool)

    diff = run(go)
    document = {
        "server": server,
        "tool": tool,
        "status": diff.pin.status,
        "changed_fields": list(diff.pin.changed_fields),
        "pinned": diff.pinned,
        "observed": diff.observed,
    }
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


@tools_app.command("approve")
def approve_tool(
    ctx: typer.Context,
    server: str = SERVER,
    tool: str = TOOL,
) -> None:
    """Accept the changed definition of a quarantined TOOL: it is pinned and offered again."""
    bastion = command_context(ctx)

    async def go() -> ToolPinView:
        async with bastion.platform() as p:
            return await _service(p).approve(server, tool)

    approved = run(go)
    print(f"approved {server}/{tool} ({approved.pinned_sha256[:12]})")
