"""The ``bastion`` command: the server and the operator's tools in one binary."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bastion import __version__
from bastion.cli import (
    _admin,
    _agents,
    _audit,
    _config,
    _db,
    _governance,
    _jobs,
    _mcp,
    _plugins,
)
from bastion.cli._common import state
from bastion.cli._cowork import cowork_helper
from bastion.cli._extensions import add_extension_commands
from bastion.cli._serve import serve

BUILTIN_COMMANDS = {
    "serve",
    "db",
    "config",
    "plugins",
    "admin",
    "jobs",
    "audit",
    "governance",
    "cowork-helper",
    "agents",
    "mcp",
}


def _version(value: bool) -> None:
    if value:
        print(f"bastion {__version__}")
        raise typer.Exit()


def build_app(profile_dir: Path | None = None) -> typer.Typer:
    app = typer.Typer(
        name="bastion",
        help="Bastion: the self-hosted AI governance gateway.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def root(
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

    app.command()(serve)
    app.command("cowork-helper")(cowork_helper)
    app.add_typer(_db.app, name="db")
    app.add_typer(_config.app, name="config")
    app.add_typer(_plugins.app, name="plugins")
    app.add_typer(_admin.app, name="admin")
    app.add_typer(_jobs.app, name="jobs")
    app.add_typer(_audit.app, name="audit")
    app.add_typer(_governance.app, name="governance")
    app.add_typer(_agents.app, name="agents")
    app.add_typer(_mcp.app, name="mcp")
    add_extension_commands(app, profile_dir, set(BUILTIN_COMMANDS))
    return app


def _profile_from_argv(argv: list[str]) -> Path | None:
    for i, arg in enumerate(argv):
        if arg == "--profile" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--profile="):
            return Path(arg.split("=", 1)[1])
    return None


def main() -> None:
    build_app(_profile_from_argv(sys.argv[1:]))()


__all__ = ["build_app", "main"]
