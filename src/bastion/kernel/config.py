"""What an extension knows of the configuration: its own namespace and the platform's.

Every extension, core domain or third-party, declares ``config() -> (namespace, Model)``;
the namespace is a top-level key of the profile (``gateway:``, ``mcp:``, ``helpdesk:``)
and ``ctx.config_as(Model)`` returns the validated block. The platform's own sections
(server, database, security, audit, rate limits, logging) stay the profile's; the parts
a domain legitimately needs reach it as ``ctx.platform``, a read-only ``PlatformSettings``.
The kernel names no infra type: a section a domain wants whole (``rate_limits``) is read
with ``ctx.platform.section(name, Model)``, typed by the model the caller names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from bastion.kernel.errors import ExtensionConfigError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class BootstrapAdminSettings:
    """``security.bootstrap_admin``: the admin created at first boot with no users."""

    name: str
    tenant: str


@dataclass(frozen=True, slots=True)
class PlatformSettings:
    """The platform settings domains may read, frozen at boot."""

    name: str = "local"
    profile_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    jwt_key_secret: str = "jwt_signing_key"
    jwt_leeway_seconds: float = 30.0
    api_key_cache_seconds: float = 5.0
    bootstrap_admin: BootstrapAdminSettings | None = None
    store_prompts: bool = False
    # Every platform section, validated, by its profile key.
    sections: Mapping[str, BaseModel] = field(default_factory=lambda: MappingProxyType({}))

    def section(self, name: str, model: type[M]) -> M:
        """The platform section ``name`` as ``model``; a clear error if it is not one."""
        value = self.sections.get(name)
        if not isinstance(value, model):
            shown = "absent" if value is None else type(value).__name__
            raise ExtensionConfigError(
                "platform",
                f"platform section '{name}' is {shown}, not {model.__name__}",
            )
        return value


def config_as(extension_id: str, config: BaseModel | None, model: type[M]) -> M:
    """``config`` as ``model``, or one line saying what the extension got instead."""
    if not isinstance(config, model):
        got = "no config() namespace" if config is None else type(config).__name__
        raise ExtensionConfigError(
            extension_id,
            f"extension '{extension_id}' asked for its config as {model.__name__} but has "
            f"{got}; return (namespace, {model.__name__}) from config()",
        )
    return config


@runtime_checkable
class WorkersCheck(Protocol):
    """An extension whose state cannot be shared by ``server.workers`` processes in some
    configurations says why (its own config in hand); boot refuses such a profile."""

    def workers_conflict(self, config: BaseModel | None, workers: int) -> str | None: ...


__all__ = [
    "BootstrapAdminSettings",
    "PlatformSettings",
    "WorkersCheck",
    "config_as",
]
