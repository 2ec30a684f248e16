"""``bastion helpdesk ...``: the operator's side of the desk.

Each command runs in helpdesk's own context on a platform booted as a built-in command
boots it (``run_in_context``), and reaches the desk the way the routes do:
``ctx.service(TICKETS)``.
"""

from __future__ import annotations

import enum
import json

import typer

from bastion.extension import ExtensionContext, run_in_context
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
    status: Shown = typer.Option(Shown.OPEN, "--status", help="Which tickets to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of lines."),
) -> None:
    """Tickets, oldest first: id, status, category, user and subject."""

    async def work(ctx: ExtensionContext) -> list[Ticket]:
        return await ctx.service(TICKETS).listed(None if status is Shown.ALL else status.value)

    tickets = run_in_context("helpdesk", work)
    if as_json:
        typer.echo(json.dumps([ticket.model_dump(mode="json") for ticket in tickets]))
        return
    typer.echo("\n".join(_line(ticket) for ticket in tickets) if tickets else "(none)")


@app.command()
def close(
    ticket_id: str = typer.Argument(..., help="The ticket's id (tkt_...)."),
    resolution: str = typer.Option(..., "--resolution", help="What was done, for the user."),
) -> None:
    """Close an open ticket."""

    async def work(ctx: ExtensionContext) -> Ticket:
        return await ctx.service(TICKETS).close(ticket_id, resolution)

    try:
        ticket = run_in_context("helpdesk", work)
    except HelpdeskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"closed {ticket.id}")
