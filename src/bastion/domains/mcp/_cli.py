"""``bastion mcp``: the MCP server registry and its tool pins (the mcp domain's ``cli()``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import orjson
import typer
from typer.core import TyperGroup

from bastion.domains.mcp._extension import MCP
from bastion.domains.mcp._pins import ToolPin
from bastion.domains.mcp._registry import ServerSpec
from bastion.domains.mcp.errors import PinError
from bastion.infra.commands import (
    JSON_OPTION,
    CommandPlatform,
    command_context,
    emit,
    fail,
    record_admin_action,
    run,
)

if TYPE_CHECKING:
    from bastion.domains.mcp._service import McpService

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


def _service(p: CommandPlatform) -> McpService:
    if p.services.provider_of(MCP) is None:
        raise fail("the mcp extension is not enabled in this profile")
    return p.service(MCP)


def _spec(service: McpService, server: str) -> ServerSpec:
    spec = service.registry.get(server)
    if spec is None:
        known = ", ".join(service.registry.names()) or "none"
        raise fail(f"no MCP server named '{server}' (registered: {known})")
    return spec


def _serving(p: CommandPlatform, server: str) -> McpService:
    """The MCP service, once it is known to have SERVER."""
    service = _service(p)
    _spec(service, server)
    return service


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
            service = _service(p)
            rows: list[dict[str, Any]] = []
            for spec in service.registry:
                pins = await service.pins.for_server(spec.name)
                row: dict[str, Any] = {
                    "name": spec.name,
                    "transport": spec.transport,
                    "upstream": spec.url if spec.url is not None else " ".join(spec.command),
                    "endpoint": spec.endpoint,
                    "source": spec.source,
                    "min_tier": spec.min_tier.label,
                    "required_scopes": sorted(spec.required_scopes),
                    "pinned_tools": sum(not pin.quarantined for pin in pins.values()),
                    "quarantined_tools": sorted(n for n, pin in pins.items() if pin.quarantined),
                }
                if check:
                    health = await service.check(spec)
                    row["status"] = health.status.value
                    row["error"] = health.error
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


def _pin_row(pin: ToolPin) -> dict[str, Any]:
    return {
        "tool": pin.tool,
        "status": pin.status.value,
        "pinned_sha256": pin.pinned_sha256,
        "observed_sha256": pin.observed_sha256,
        "changed_fields": pin.changes(),
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
            service = _serving(p, server)
            pins = await service.pins.for_server(server)
            return [_pin_row(pins[name]) for name in sorted(pins)]

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

    async def go() -> ToolPin:
        async with bastion.platform() as p:
            service = _serving(p, server)
            pin = await service.pins.get(server, tool)
        if pin is None:
            raise fail(f"no pin for tool '{tool}' on MCP server '{server}'")
        return pin

    pin = run(go)
    document = {
        "server": server,
        "tool": tool,
        "status": pin.status.value,
        "changed_fields": pin.changes(),
        "pinned": pin.pinned_definition,
        "observed": pin.observed_definition,
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

    async def go() -> ToolPin:
        async with bastion.platform() as p:
            service = _serving(p, server)
            try:
                previous = await service.pins.get(server, tool)
                approved = await service.pins.approve(server, tool, by="cli")
            except PinError as exc:
                raise fail(str(exc)) from None
            await record_admin_action(
                p,
                "mcp_tool_approve",
                f"{server}/{tool}",
                {
                    "server": server,
                    "tool": tool,
                    "previous_sha256": previous.pinned_sha256 if previous else None,
                    "pinned_sha256": approved.pinned_sha256,
                    "changed_fields": previous.changes() if previous else [],
                },
            )
            return approved

    approved = run(go)
    print(f"approved {server}/{tool} ({approved.pinned_sha256[:12]})")
