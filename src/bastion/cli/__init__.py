"""The ``bastion`` command: the server and the operator's tools in one binary.

Only Typer is imported up front: each built-in command's module (and the server stack it
needs) is imported when that command runs, so ``bastion --version`` and ``--help`` start in
a few tens of milliseconds. The built-in commands are the platform's own (serving, the
database, the profile, extensions, jobs, audit); every domain's commands (``mcp``,
``agents``, ``governance``, ``admin users|tokens|keys``) come from its ``cli()`` surface,
as a third-party extension's do (``_extensions``). To add a platform command group,
write ``_NAME.py`` with a Typer ``app`` (or a command function) and list it in ``BUILTIN``.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import typer

from bastion import __version__
from bastion.cli._host import CommandHost
from bastion.cli._lazy import BastionGroup, LazyCommand
from bastion.cli._state import state

BUILTIN: tuple[LazyCommand, ...] = (
    LazyCommand(
        "serve", "bastion.cli._serve:serve", "Boot (discover, validate, migrate, mount) and serve."
    ),
    LazyCommand(
        "cowork-helper",
        "bastion.cli._cowork:cowork_helper",
        "Print {token, ttl, headers} for Claude for Work's credential helper.",
    ),
    LazyCommand("db", "bastion.cli._db:app", "The migration ledger: migrate, status, repair."),
    LazyCommand("config", "bastion.cli._config:app", "Validate and show the active profile."),
    LazyCommand(
        "plugins", "bastion.cli._plugins:app", "Installed extensions: list, validate, show."
    ),
    # Open to extensions (``CLI_GROUPS``): the users and auth domains' commands are in it.
    LazyCommand("admin", "bastion.cli._admin:app", "Users, tokens and API keys."),
    LazyCommand(
        "jobs", "bastion.cli._jobs:app", "Scheduled extension jobs and their recorded runs."
    ),
    LazyCommand(
        "audit",
        "bastion.cli._audit:app",
        "Governance decisions, admin events, and everything on one trace.",
    ),
)
BUILTIN_COMMANDS = frozenset(c.name for c in BUILTIN)


def _version(value: bool) -> None:
    if value:
        print(f"bastion {__version__}")
        raise typer.Exit()


def build_app(profile_dir: Path | None = None) -> typer.Typer:
    app = typer.Typer(
        name="bastion",
        cls=BastionGroup.bound(BUILTIN, profile_dir),
        help="Bastion: the self-hosted AI governance gateway.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        profile: Path | None = typer.Option(
            None,
            "--profile",
            envvar="BASTION_PROFILE",
            help="Profile directory (profile.yaml); default: the built-in local profile.",
        ),
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version."
        ),
    ) -> None:
        state.profile_dir = profile
        ctx.obj = CommandHost()  # what ``command_context(ctx)`` returns to every command

    return app


def _profile_from_argv(argv: list[str]) -> Path | None:
    for i, arg in enumerate(argv):
        if arg == "--profile" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--profile="):
            return Path(arg.split("=", 1)[1])
    return None


def main() -> None:
    try:
        build_app(_profile_from_argv(sys.argv[1:]))()
    finally:
        # Every object alive now lives until exit: freezing them spares the interpreter's
        # final collections a walk over the whole server stack (about 0.25 s of a short
        # command's run). Resources are closed by the commands themselves, not by GC.
        gc.freeze()


__all__ = ["BUILTIN", "BUILTIN_COMMANDS", "build_app", "main"]
