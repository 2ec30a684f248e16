from __future__ import annotations

import sys

import orjson
import typer
import yaml

from bastion.cli._common import loaded_profile, out, run
from bastion.infra.services import EFFECTIVE_CONFIG
from bastion.runtime.boot import boot

app = typer.Typer(help="Validate and show the active profile.", no_args_is_help=True)


@app.command()
def validate() -> None:
    """Validate the profile, secrets and every extension's config namespace."""

    async def go() -> str:
        loaded = loaded_profile()
        platform = await boot(loaded, migrate=False)
        await platform.close()
        return loaded.source

    source = run(go)
    out.print(f"profile OK: {source}")


@app.command()
def show(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of YAML.")) -> None:
    """Print the effective configuration (the platform's settings and every enabled
    extension's namespace, defaults filled in) with secrets redacted."""

    async def go() -> dict[str, object]:
        platform = await boot(loaded_profile(), migrate=False, mount=False)
        try:
            return dict(platform.service(EFFECTIVE_CONFIG).document)
        finally:
            await platform.close()

    data = run(go)
    if as_json:
        sys.stdout.write(orjson.dumps(data).decode() + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))


@app.command()
def reference(
    builtin: bool = typer.Option(
        False, "--builtin", help="Only Bastion's own namespaces, not third-party extensions'."
    ),
) -> None:
    """Print the Markdown reference of every profile key: the platform's and each installed
    extension's config namespace (docs/configuration.md is `--builtin`)."""
    from bastion.runtime.namespaces import reference as generate

    sys.stdout.write(generate(builtin=builtin))
