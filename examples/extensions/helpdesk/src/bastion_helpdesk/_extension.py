from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bastion.extension import (
    GOVERNANCE,
    ConfigSpec,
    Extension,
    ExtensionContext,
    ExtensionMeta,
    ExtensionRouter,
    Maturity,
    Migration,
    ServiceProvider,
    migrations_from_package,
)
from bastion_helpdesk._config import HelpdeskConfig
from bastion_helpdesk._desk import TICKETS, TicketDesk, build_desk
from bastion_helpdesk._routes import tickets_router

if TYPE_CHECKING:
    import typer


class HelpdeskExtension(Extension):
    """Support tickets: users file them over HTTP, their text governed like a prompt;
    operators list and close them with ``bastion helpdesk``."""

    meta = ExtensionMeta(
        id="helpdesk",
        version="1.0.0",
        depends_on=("users",),
        requires=(GOVERNANCE,),
        maturity=Maturity.BETA,
        description="Example: support tickets, governed on the way in, triaged from the CLI",
    )

    def migrations(self) -> Sequence[Migration]:
        return migrations_from_package("bastion_helpdesk")

    def config(self) -> ConfigSpec:
        return ("helpdesk", HelpdeskConfig)

    def services(self) -> Sequence[ServiceProvider[TicketDesk]]:
        return [ServiceProvider(TICKETS, build_desk)]

    def router(self, ctx: ExtensionContext) -> ExtensionRouter:
        return tickets_router(ctx.service(GOVERNANCE), ctx.service(TICKETS))

    def cli(self) -> typer.Typer:
        # Imported here: typer and the CLI's imports are for a command, not for serve.
        from bastion_helpdesk._cli import app

        return app
