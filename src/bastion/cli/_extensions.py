"""Subcommands contributed by extensions: ``cli()`` Typer apps and ``cli`` manifests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from bastion.infra.config import load_profile
from bastion.kernel.errors import BastionError
from bastion.kernel.manifest import ManifestExtension, discover_manifests
from bastion.kernel.surfaces import surface
from bastion.runtime.discovery import installed_extensions


def _add_manifest_command(app: typer.Typer, name: str, ext: ManifestExtension) -> None:
    """``bastion NAME ARGS...`` runs the manifest's command with ARGS appended.

    A plain command, not a sub-app: a group would read the first ARG as a subcommand name.
    """

    def run_plugin(ctx: typer.Context) -> None:
        env = {**os.environ, **ext.manifest.env}
        completed = subprocess.run(ext.command_line(ctx.args), env=env, check=False)
        raise typer.Exit(completed.returncode)

    app.command(
        name=name,
        help=ext.meta.description or f"Run the '{ext.meta.id}' CLI plugin.",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(run_plugin)


def _shadowed(name: str, owner: str) -> None:
    print(
        f"warning: {owner} wants the command 'bastion {name}', which is taken; skipped",
        file=sys.stderr,
    )


def add_extension_commands(app: typer.Typer, profile_dir: Path | None, taken: set[str]) -> None:
    """Mount each extension's Typer app and each ``cli`` manifest as ``bastion <name>``."""
    try:
        for ext, _source in installed_extensions():
            sub = surface(ext, "cli")
            if sub is None:
                continue
            if ext.meta.id in taken:
                _shadowed(ext.meta.id, f"extension '{ext.meta.id}'")
                continue
            app.add_typer(sub, name=ext.meta.id)
            taken.add(ext.meta.id)
        if profile_dir is None and not os.environ.get("BASTION_PROFILE"):
            return
        profile = load_profile(profile_dir).profile
        for manifest in discover_manifests(profile.extensions.dir):
            name = manifest.manifest.name or manifest.meta.id
            if manifest.kind != "cli":
                continue
            if name in taken:
                _shadowed(name, f"manifest {manifest.manifest_dir / 'manifest.yaml'}")
                continue
            _add_manifest_command(app, name, manifest)
            taken.add(name)
    except BastionError as exc:
        # The built-in commands must stay usable to diagnose exactly this.
        print(f"warning: extension commands unavailable: {exc}", file=sys.stderr)
