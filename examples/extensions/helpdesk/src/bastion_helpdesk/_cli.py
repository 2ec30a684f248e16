"""``bastion helpdesk ...``: the operator's side of the desk.

Written the way the core domains write theirs (``bastion mcp``, ``bastion admin users``):
``command_context(ctx)`` boots the platform, ``p.service(TICKETS)`` is the same typed
service the routes use, and a refusal is one ``error:`` line (``fail``).
"""

from __future__ import annotations

import enum
import json

import typer

from bastion.extension import command_context, fail, run
from bastion_helpdesk._desk import TICKETS
from bastion_helpdesk._models import Ticket
from bastion_helpdesk.errors import HelpdeskError

app = typer.Typer(help="Support tickets: list them and close them.", no_args_is_help=True)


class Shown(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    ALL = "all"


def _line(ticket: Ticket) -> str:
    return "  ".join(
        [ticket.id, ticket.status, ticket.category, ticket.user_id or "-", ticket.subject]
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Shown = typer.Option(Shown.OPEN, "--status", help="Which tickets to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of lines."),
) -> None:
    """Tickets, oldest first: id, status, category, user and subject."""
    bastion = command_context(ctx)

    async def go() -> list[Ticket]:
        async with bastion.platform(mount=False) as p:
            wanted = None if status is Shown.ALL else status.value
            return await p.service(TICKETS).listed(wanted)

    tickets = run(go)
    if as_json:
        typer.echo(json.dumps([ticket.model_dump(mode="json") for ticket in tickets]))
        return
    typer.echo("\n".join(_line(ticket) for ticket in tickets) if tickets else "(none)")


@app.command()
def close(
    ctx: typer.Context,
    ticket_id: str = typer.Argument(..., help="The ticket's id (tkt_...)."),
    resolution: str = typer.Option(..., "--resolution", help="What was done, for the user."),
) -> None:
    """Close an open ticket."""
    bastion = command_context(ctx)

    async def go() -> Ticket:
        async with bastion.platform(mount=False) as p:
            return await p.service(TICKETS).close(ticket_id, resolution)

    try:
        ticket = run(go)
    except HelpdeskError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"closed {ticket.id}")
