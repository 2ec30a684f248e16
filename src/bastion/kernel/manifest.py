"""Standalone extensions: MCP servers and CLI plugins declared by ``manifest.yaml``.

They run as separate processes, but they are registered as extensions and pass the same
validation as in-process ones: dependencies, cycles, paths and unique ids.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bastion.kernel.contract import Extension, ExtensionMeta, Maturity, McpServerDefinition
from bastion.kernel.errors import ManifestError
from bastion.kernel.tiers import Tier

MANIFEST_NAME = "manifest.yaml"


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    kind: Literal["mcp-server", "cli"]
    version: str
    description: str = ""
    maturity: Literal["experimental", "beta", "ga"] = "experimental"
    priority: int = 100
    depends_on: list[str] = Field(default_factory=list)
    command: list[str]
    env: dict[str, str] = Field(default_factory=dict)
    name: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_-]*$", description="CLI subcommand name (cli kind)"
    )
    base_path: str | None = None
    url: str | None = Field(default=None, description="for an mcp-server already listening")
    required_scopes: list[str] = Field(default_factory=list)
    min_tier: str = "mcp"

    @field_validator("command", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        if isinstance(value, str):
            return shlex.split(value)
        return value


class ManifestExtension(Extension):
    """An extension record built from a manifest; one subclass per manifest."""

    manifest: ClassVar[Manifest]
    manifest_dir: ClassVar[Path]

    @property
    def kind(self) -> str:
        return self.manifest.kind

    def command_line(self, extra: Sequence[str] = ()) -> list[str]:
        """The declared command, relative paths resolved against the manifest folder."""
        head, *rest = self.manifest.command
        local = self.manifest_dir / head
        executable = str(local) if ("/" in head and local.exists()) else head
        return [executable, *rest, *extra]

    def tool_providers(self) -> Sequence[McpServerDefinition]:
        if self.manifest.kind != "mcp-server":
            return ()
        return (
            McpServerDefinition(
                name=self.manifest.id,
                url=self.manifest.url,
                command=() if self.manifest.url else tuple(self.command_line()),
                env=dict(self.manifest.env),
                description=self.manifest.description,
                required_scopes=frozenset(self.manifest.required_scopes),
                min_tier=Tier.parse(self.manifest.min_tier),
            ),
        )


def load_manifest(path: Path) -> ManifestExtension:
    try:
        with path.open(encoding="utf-8") as handle:  # the error's mark names the file
            raw = yaml.safe_load(handle)
        manifest = Manifest.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(path.parent.name, f"{path}: cannot read manifest: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise ManifestError(path.parent.name, f"{path}: {where}: {first['msg']}") from exc
    meta = ExtensionMeta(
        id=manifest.id,
        version=manifest.version,
        depends_on=tuple(manifest.depends_on),
        priority=manifest.priority,
        maturity=Maturity.parse(manifest.maturity),
        description=manifest.description,
    )
    attrs: dict[str, Any] = {"meta": meta, "manifest": manifest, "manifest_dir": path.parent}
    if manifest.kind != "mcp-server":
        # Only an mcp-server contributes tools; a cli plugin must not list that surface.
        attrs["tool_providers"] = Extension.tool_providers
    cls = type(f"Manifest_{manifest.id.replace('-', '_')}", (ManifestExtension,), attrs)
    instance = cls()
    assert isinstance(instance, ManifestExtension)
    return instance


def discover_manifests(directory: Path | None) -> list[ManifestExtension]:
    """Every ``*/manifest.yaml`` (and a top-level one) under ``directory``, sorted by path."""
    if directory is None or not directory.is_dir():
        return []
    paths = sorted({*directory.glob(MANIFEST_NAME), *directory.glob(f"*/{MANIFEST_NAME}")})
    return [load_manifest(p) for p in paths]
