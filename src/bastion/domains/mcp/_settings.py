"""The ``mcp`` block: the MCP server registry and the governed proxy's settings.

Servers come from ``mcp.servers`` in ``profile.yaml`` and from ``services/mcp/*.yaml``
(each file one server or a list of them); the loader merges the files into the list.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TierName = Literal["admin", "user", "service", "a2a", "mcp", "anonymous"]

SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Path segments under /api/v1/mcp that are routes of their own, not servers.
RESERVED_SERVER_NAMES = frozenset({"registry"})
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Headers Bastion sets itself on every upstream request.
_MANAGED_HEADERS = frozenset(
    {
        "accept",
        "content-type",
        "content-length",
        "host",
        "mcp-session-id",
        "mcp-protocol-version",
        "mcp-method",
        "mcp-name",
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_server_name(name: str) -> str:
    """``name`` if it can be a registry server name (a URL segment and an ACL entity)."""
    if not SERVER_NAME.match(name):
        raise ValueError(
            f"server name {name!r} must be 1-64 characters of letters, digits, '_', '.' "
            "or '-', starting with a letter or digit"
        )
    if name in RESERVED_SERVER_NAMES:
        raise ValueError(f"server name {name!r} is reserved")
    return name


class McpSecretRef(_Strict):
    """A value injected upstream, taken from a named secret."""

    secret: str = Field(min_length=1, description="Name of the secret in the secrets file.")
    prefix: str = Field("", description="Text put before the secret, e.g. `Bearer `.")


class McpCredentials(_Strict):
    """Upstream credentials, injected server-side: the caller never sees them."""

    headers: dict[str, McpSecretRef] = Field(
        default_factory=dict,
        description="HTTP header name -> secret, sent on every request to a `url` server.",
    )
    env: dict[str, McpSecretRef] = Field(
        default_factory=dict,
        description="Environment variable -> secret, set for a `command` server's process.",
    )

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, McpSecretRef]) -> dict[str, McpSecretRef]:
        for name in value:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if name.lower() in _MANAGED_HEADERS:
                raise ValueError(f"header {name!r} is set by Bastion and cannot be configured")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, McpSecretRef]) -> dict[str, McpSecretRef]:
        for name in value:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
        return value


class McpToolFilter(_Strict):
    allow: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Globs over tool names; a tool must match one to be listed or called.",
    )
    deny: list[str] = Field(
        default_factory=list, description="Globs over tool names; a match hides and denies."
    )


class McpServerSettings(_Strict):
    """One MCP server behind Bastion: remote (`url`) or a local process (`command`)."""

    name: str = Field(
        description="Registry name: the `{server}` in `/api/v1/mcp/{server}/mcp` and the "
        "ACL entity (`server` and `server/tool`)."
    )
    description: str = Field("", description="Shown in the registry.")
    url: str | None = Field(
        None, description="Streamable HTTP endpoint of a remote server (`http(s)://...`)."
    )
    command: str | None = Field(
        None, description="Executable of a local stdio server that Bastion spawns."
    )
    args: list[str] = Field(default_factory=list, description="Arguments of `command`.")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Plain environment for `command` (secrets go in `credentials.env`). "
        "Of Bastion's own environment the process gets only PATH, HOME, LANG, LC_ALL, "
        "TZ and TMPDIR.",
    )
    cwd: Path | None = Field(
        None, description="Working directory of `command`; relative to the profile directory."
    )
    required_scopes: list[str] = Field(
        default_factory=list, description="Scopes a caller must all hold to see or use it."
    )
    min_tier: TierName = Field("mcp", description="Lowest caller tier that may see or use it.")
    credentials: McpCredentials = Field(
        default_factory=McpCredentials, description="Upstream headers and env from secrets."
    )
    tools: McpToolFilter = Field(
        default_factory=McpToolFilter, description="Tool allow and deny globs."
    )
    timeout_seconds: float = Field(
        60.0, gt=0, description="Limit on one upstream request; past it the call is `timeout`."
    )
    protocol: Literal["auto", "legacy", "modern"] = Field(
        "auto",
        description="Upstream protocol era: `auto` probes `server/discover` and falls back "
        "to the `initialize` handshake; `legacy` skips the probe; `modern` requires 2026-07-28.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_server_name(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if (self.url is None) == (self.command is None):
            raise ValueError("a server has exactly one of url or command")
        if self.url is not None and (self.args or self.env or self.cwd or self.credentials.env):
            raise ValueError("args, env, cwd and credentials.env apply to command servers only")
        if self.command is not None and self.credentials.headers:
            raise ValueError("credentials.headers apply to url servers only")
        return self


class McpSettings(_Strict):
    """The MCP registry and the governed proxy in front of it."""

    servers: list[McpServerSettings] = Field(
        default_factory=list,
        description="Registered servers; `services/mcp/*.yaml` files are merged in here.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins (`https://host:port`) allowed to call the proxy; a "
        "request without `Origin` (a non-browser client) is always allowed; `*` allows any.",
    )
    health_interval_seconds: float = Field(
        30.0, gt=0, description="How often the health job checks every server."
    )
    response_secrets: Literal["redact", "audit"] = Field(
        "redact",
        description="Secrets found in tool, resource and prompt results: `redact` them or "
        "only record them (`audit`).",
    )
    session_idle_seconds: float = Field(
        900.0,
        gt=0,
        description="An upstream session (or per-caller stdio process) idle this long is closed.",
    )
    max_processes_per_server: int = Field(
        16,
        ge=1,
        description="Cap on per-caller processes of a stdio server that only speaks the "
        "handshake-era protocol (a modern one runs one shared process).",
    )
    restart_backoff_seconds: float = Field(
        0.5, gt=0, description="First delay before restarting a stdio server that died."
    )
    restart_backoff_max_seconds: float = Field(
        30.0, gt=0, description="Cap on the doubling restart delay."
    )
    sse_keepalive_seconds: float = Field(
        15.0,
        gt=0,
        description="A call silent this long switches its response to SSE and sends keepalives.",
    )
    connect_timeout_seconds: float = Field(
        10.0, gt=0, description="Connect timeout to remote servers."
    )

    @model_validator(mode="after")
    def _unique_names(self) -> McpSettings:
        seen: set[str] = set()
        for server in self.servers:
            if server.name in seen:
                raise ValueError(f"server name {server.name!r} is registered twice")
            seen.add(server.name)
        for origin in self.allowed_origins:
            if origin != "*" and not re.match(r"^[a-z][a-z0-9+.-]*://[^/\s]+$", origin):
                raise ValueError(
                    f"allowed origin {origin!r} must be scheme://host[:port] (no path) or '*'"
                )
        return self
