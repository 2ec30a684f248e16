from __future__ import annotations

import orjson
import typer

from bastion.cli._common import JSON_OPTION, emit, fail, loaded_profile, out, run
from bastion.cli._extensions import contributions
from bastion.kernel.contract import Extension, implemented_surfaces
from bastion.kernel.registry import ExtensionRegistry
from bastion.runtime.app import booted_app
from bastion.runtime.discovery import discover

app = typer.Typer(help="Installed extensions: list, validate, show.", no_args_is_help=True)


def _row(registry: ExtensionRegistry, ext: Extension) -> dict[str, object]:
    meta = ext.meta
    return {
        "id": meta.id,
        "version": meta.version,
        "maturity": meta.maturity.label,
        "kind": ext.kind,
        "surfaces": ", ".join(implemented_surfaces(ext)),
        "depends_on": ", ".join(meta.dependency_ids()),
        "required": meta.required,
        "source": registry.source_of(meta.id),
    }


async def _registry() -> ExtensionRegistry:
    registry = discover(loaded_profile().profile)
    registry.validate()
    return registry


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """Every extension in boot order with version, maturity, kind, surfaces, dependencies."""

    async def go() -> list[dict[str, object]]:
        registry = await _registry()
        return [_row(registry, e) for e in registry.ordered()]

    emit(run(go), as_json=as_json, title="Extensions (boot order)")


@app.command()
def validate() -> None:
    """Run the full boot validation (dependencies, cycles, paths, ids, config, commands)."""

    async def go() -> int:
        # Boot and build the app as ``bastion serve`` does: the same checks, the same line.
        platform, _ = await booted_app(loaded_profile(), migrate=False)
        await platform.close()
        # And what only ``bastion`` calls: every extension's cli().
        contributions(platform.registry.ordered(), strict=True)
        return len(platform.registry)

    count = run(go)
    out.print(f"{count} extensions valid")


@app.command()
def show(extension_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Everything one extension contributes."""

    async def go() -> dict[str, object]:
        registry = await _registry()
        ext = registry.get(extension_id)
        if ext is None:
            raise fail(f"no extension '{extension_id}' is installed")
        row = _row(registry, ext)
        row["description"] = ext.meta.description
        row["priority"] = ext.meta.priority
        row["migrations"] = [f"{m.version:03d}_{m.name}" for m in ext.migrations()]
        row["jobs"] = [j.name for j in ext.jobs()]
        row["roles"] = [r.name for r in ext.roles()]
        row["policies"] = [p.name for p in ext.policies()]
        row["upstreams"] = [u.tag for u in ext.llm_upstreams()]
        row["tool_providers"] = [t.name for t in ext.tool_providers()]
        spec = ext.config()
        row["config_namespace"] = spec[0] if spec else None
        row["commands"] = [c.command_path for c in contributions([ext])]
        return row

    out.print_json(orjson.dumps(run(go)).decode())
