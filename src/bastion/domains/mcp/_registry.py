"""The registry: every MCP server Bastion fronts, from the profile, from extensions'
``tool_providers()`` and from standalone ``mcp-server`` manifests, with its upstream
credentials resolved from named secrets."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bastion.domains.mcp._settings import McpServerSettings, check_server_name
from bastion.domains.mcp.errors import McpConfigError
from bastion.kernel.context import RequestContext
from bastion.kernel.contract import McpServerDefinition, SecretSource
from bastion.kernel.errors import BastionError
from bastion.kernel.tiers import Tier

Protocol = Literal["auto", "legacy", "modern"]
DEFAULT_TIMEOUT_SECONDS = 60.0
# What a spawned server inherits from Bastion's own environment; nothing else (Bastion's
# environment may hold database passwords and provider keys).
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT")


def _globs(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """One registry entry, ready to connect. ``headers`` and ``env`` hold resolved secrets
    and are kept out of ``repr``."""

    name: str
    source: str
    description: str = ""
    url: str | None = None
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    cwd: Path | None = None
    required_scopes: frozenset[str] = frozenset()
    min_tier: Tier = Tier.MCP
    allow: tuple[str, ...] = ("*",)
    deny: tuple[str, ...] = ()
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    protocol: Protocol = "auto"
    _allow: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _deny: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allow", _globs(self.allow))
        object.__setattr__(self, "_deny", _globs(self.deny))

    @property
    def transport(self) -> Literal["http", "stdio"]:
        return "http" if self.url is not None else "stdio"

    @property
    def endpoint(self) -> str:
        return f"/api/v1/mcp/{self.name}/mcp"

    @property
    def label(self) -> str:
        """How an ``UpstreamError`` of this server names it."""
        return f"MCP server '{self.name}'"

    def refusal(self, principal: RequestContext) -> str | None:
        """Why ``principal`` may not use this server at all, or None."""
        if principal.tier < self.min_tier:
            return (
                f"MCP server '{self.name}' requires tier '{self.min_tier.label}', "
                f"caller is '{principal.tier.label}'"
            )
        for scope in sorted(self.required_scopes):
            if not principal.has_scope(scope):
                return f"MCP server '{self.name}' requires scope '{scope}'"
        return None

    def tool_filter_rule(self, tool: str) -> str | None:
        """The glob list that hides ``tool`` (``deny`` or ``allow``), or None if it passes."""
        if self._deny is not None and self._deny.match(tool):
            return "deny"
        if self._allow is None or not self._allow.match(tool):
            return "allow"
        return None

    def process_env(self) -> dict[str, str]:
        inherited = {k: v for k in INHERITED_ENV if (v := os.environ.get(k)) is not None}
        return {**inherited, **self.env}


def _secret(secrets: SecretSource, server: str, name: str) -> str:
    try:
        return secrets.get(name)
    except BastionError as exc:
        raise McpConfigError(f"mcp server '{server}': credentials: {exc}") from None


def spec_from_settings(
    settings: McpServerSettings, secrets: SecretSource, profile_dir: Path | None
) -> ServerSpec:
    credentials = settings.credentials
    headers = {
        header: ref.prefix + _secret(secrets, settings.name, ref.secret)
        for header, ref in credentials.headers.items()
    }
    for header, value in headers.items():
        if "\r" in value or "\n" in value:
            raise McpConfigError(
                f"mcp server '{settings.name}': credentials.headers.{header}: the secret "
                "holds a line break (a trailing newline from a file?)"
            )
    env = {
        **settings.env,
        **{
            var: ref.prefix + _secret(secrets, settings.name, ref.secret)
            for var, ref in credentials.env.items()
        },
    }
    cwd = settings.cwd
    if cwd is not None and not cwd.is_absolute() and profile_dir is not None:
        cwd = profile_dir / cwd
    return ServerSpec(
        name=settings.name,
        source="profile",
        description=settings.description,
        url=settings.url,
        command=(settings.command, *settings.args) if settings.command else (),
        env=env,
        headers=headers,
        cwd=cwd,
        required_scopes=frozenset(settings.required_scopes),
        min_tier=Tier.parse(settings.min_tier),
        allow=tuple(settings.tools.allow),
        deny=tuple(settings.tools.deny),
        timeout_seconds=settings.timeout_seconds,
        protocol=settings.protocol,
    )


def spec_from_definition(extension_id: str, definition: McpServerDefinition) -> ServerSpec:
    try:
        check_server_name(definition.name)
    except ValueError as exc:
        raise McpConfigError(
            f"extension '{extension_id}' contributes an MCP server: {exc}"
        ) from None
    if (definition.url is None) == (not definition.command):
        raise McpConfigError(
            f"extension '{extension_id}' MCP server '{definition.name}': "
            "exactly one of url or command is required"
        )
    return ServerSpec(
        name=definition.name,
        source=f"extension:{extension_id}",
        description=definition.description,
        url=definition.url,
        command=tuple(definition.command),
        env=dict(definition.env),
        required_scopes=definition.required_scopes,
        min_tier=definition.min_tier,
    )


class Registry:
    """Servers by name, in registration order (profile first, then extensions)."""

    def __init__(self, specs: Sequence[ServerSpec]) -> None:
        self._specs: dict[str, ServerSpec] = {}
        for spec in specs:
            previous = self._specs.get(spec.name)
            if previous is not None:
                raise McpConfigError(
                    f"MCP server '{spec.name}' is registered twice: by {previous.source} "
                    f"and by {spec.source}"
                )
            self._specs[spec.name] = spec

    @classmethod
    def build(
        cls,
        servers: Sequence[McpServerSettings],
        providers: Sequence[tuple[str, McpServerDefinition]],
        secrets: SecretSource,
        profile_dir: Path | None,
    ) -> Registry:
        specs = [spec_from_settings(s, secrets, profile_dir) for s in servers]
        specs += [spec_from_definition(ext_id, d) for ext_id, d in providers]
        return cls(specs)

    def get(self, name: str) -> ServerSpec | None:
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ServerSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        return list(self._specs)
