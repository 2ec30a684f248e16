"""``bastion admin``: a command group open to extensions (``CLI_GROUPS``).

It has no commands of its own. The users domain contributes ``admin users``, the auth
domain ``admin tokens`` and ``admin keys``, each through its ``cli()`` surface
(``CliCommands(app, group="admin", ...)``); a third-party extension adds ``admin NAME``
the same way. Listing them (``bastion admin --help``) reads the command index and imports
no domain.
"""

from __future__ import annotations

import typer

from bastion.cli._lazy import ExtensionGroup

app = typer.Typer(
    cls=ExtensionGroup.bound(group="admin"),
    help="Users, tokens and API keys.",
    no_args_is_help=True,
)
