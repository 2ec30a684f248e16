"""``bastion hello``: the greeting book from the command line.

Written the way the core domains write theirs (``bastion mcp``, ``bastion admin users``):
``command_context(ctx)`` boots the platform, ``p.service(GREETINGS)`` is the same typed
service the route and the job use, and ``emit`` prints the table (or ``--json``).
"""

from __future__ import annotations

import typer

from bastion.extension import JSON_OPTION, command_context, emit, run
from bastion_hello import GREETINGS

app = typer.Typer(help="The greetings the hello extension has sent.", no_args_is_help=True)


@app.command("list")
def list_greetings(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Every greeting sent, oldest first."""
    bastion = command_context(ctx)

    async def go() -> list[dict[str, str]]:
        async with bastion.platform(mount=False) as p:
            return await p.service(GREETINGS).all()

    emit(run(go), as_json=as_json, title="Greetings")
