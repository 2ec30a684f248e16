from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bastion.infra.audit import AuditSettings
from bastion.infra.db import dialect_of, sqlite_path
from bastion.infra.ratelimit import RateLimitSettings
from bastion.infra.security import JwtSettings
from bastion.kernel.config import BootstrapAdminSettings, PlatformSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Strict):
    host: str = Field("127.0.0.1", description="Interface the listener binds.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    workers: int = Field(
        1,
        ge=1,
        description="Processes `bastion serve` runs, each a full Bastion accepting on the same "
        "socket. More than 1 needs state the workers share: `rate_limits.backend` (and "
        "every extension's counters, such as `governance.quota.backend`) set to `redis`, "
        "and a database file or server.",
    )
    max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Requests with a larger body get 413."
    )
    access_log: bool = Field(False, description="Log one line per request.")


class DatabaseSettings(_Strict):
    url: str = Field(
        "sqlite+aiosqlite:///./.bastion/bastion.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql://user@host/db.",
    )
    pool_size: int = Field(10, ge=1, description="Connections per process (PostgreSQL).")


class BootstrapAdmin(_Strict):
    name: str = Field("admin", description="User created at first boot when no users exist.")
    tenant: str = Field("default", description="Tenant of the bootstrap admin.")


class SecuritySettings(_Strict):
    jwt: JwtSettings = Field(default_factory=JwtSettings, description="Self-issued JWTs.")
    api_key_cache_seconds: float = Field(
        5.0,
        ge=0,
        description=(
            "How long a resolved API key is cached in process (0 = never); also the bound "
            "within which a disabled user or a revoked JWT id is refused."
        ),
    )
    bootstrap_admin: BootstrapAdmin | None = Field(
        default=None, description="Create this admin user at boot if the user table is empty."
    )


class LoggingSettings(_Strict):
    level: Literal["debug", "info", "warning", "error"] = Field("info", description="Threshold.")
    format: Literal["json", "console"] = Field(
        "console", description="`json` (one object per line) for production, or `console`."
    )


class ExtensionsSettings(_Strict):
    """Extension switches. An extension's own settings are not here: its ``config()``
    namespace is a top-level key of the profile."""

    disabled: list[str] = Field(default_factory=list, description="Extension ids not to load.")
    min_maturity: Literal["experimental", "beta", "ga"] = Field(
        "experimental", description="Refuse to boot with an extension below this maturity."
    )
    dir: Path | None = Field(
        default=None, description="Folder scanned for standalone extension manifest.yaml files."
    )


class Profile(BaseModel):
    """The platform's settings. Every other top-level key is an extension's ``config()``
    namespace (``gateway:``, ``mcp:``, ``helpdesk:``), kept raw here and validated at boot
    by its extension's model (``bastion.runtime.namespaces``); a key no installed extension
    claims is refused there, by name."""

    model_config = ConfigDict(extra="allow")

    name: str = Field("local", description="A label shown in logs and `config show`.")
    server: ServerSettings = Field(default_factory=ServerSettings, description="The listener.")
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, description="The one database."
    )
    security: SecuritySettings = Field(
        default_factory=SecuritySettings, description="JWTs, API keys, bootstrap admin."
    )
    secrets_file: Path | None = Field(
        default=None,
        description="YAML file of named secrets (mode 0600, `${ENV}` substitution); "
        "relative to the profile directory.",
    )
    rate_limits: RateLimitSettings = Field(
        default_factory=RateLimitSettings, description="GCRA rate limits per principal and tier."
    )
    audit: AuditSettings = Field(
        default_factory=AuditSettings, description="The audit writer and the SIEM copy."
    )
    extensions: ExtensionsSettings = Field(
        default_factory=ExtensionsSettings,
        description="Extension switches: which to leave out, the maturity floor, manifests.",
    )
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="Logs.")
    profile_dir: Path | None = Field(default=None, exclude=True)

    def namespaces(self) -> dict[str, Any]:
        """Every top-level block that is not a platform section: extension namespaces."""
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _resolve_paths(self) -> Profile:
        base = self.profile_dir
        if base is not None:
            if self.secrets_file is not None and not self.secrets_file.is_absolute():
                self.secrets_file = base / self.secrets_file
            if self.extensions.dir is not None and not self.extensions.dir.is_absolute():
                self.extensions.dir = base / self.extensions.dir
            if not self.audit.spill_path.is_absolute():
                self.audit = self.audit.model_copy(
                    update={"spill_path": base / self.audit.spill_path}
                )
        return self


def workers_conflict(profile: Profile) -> str | None:
    """Why ``server.workers`` processes cannot share this profile's platform state, or
    None. An extension's own state is its ``WorkersCheck`` (``bastion.kernel.config``).

    Each worker is a full Bastion with its own memory: counters kept in process would be
    kept once per worker, and each worker would admit the whole configured amount."""
    workers = profile.server.workers
    if workers == 1:
        return None
    limits = profile.rate_limits
    if limits.enabled and limits.backend == "memory":
        return (
            f"server.workers is {workers} but rate_limits.backend is 'memory': each worker "
            f"would keep its own buckets and admit {workers}x the configured rate; set "
            "rate_limits.backend: redis (with rate_limits.redis_url)"
        )
    url = profile.database.url
    if dialect_of(url) == "sqlite" and sqlite_path(url) is None:
        return (
            f"server.workers is {workers} but database.url is an in-memory SQLite database, "
            "which each worker would have to itself; use a SQLite file or PostgreSQL"
        )
    return None


PLATFORM_KEYS: frozenset[str] = frozenset(
    name for name, field in Profile.model_fields.items() if not field.exclude
)
"""The profile's own top-level keys: no extension may take one as its namespace."""


def platform_settings(profile: Profile) -> PlatformSettings:
    """What extensions see of the platform's settings (``ctx.platform``)."""
    admin = profile.security.bootstrap_admin
    return PlatformSettings(
        name=profile.name,
        profile_dir=profile.profile_dir,
        host=profile.server.host,
        port=profile.server.port,
        workers=profile.server.workers,
        jwt_key_secret=profile.security.jwt.key_secret_name,
        jwt_leeway_seconds=profile.security.jwt.leeway_seconds,
        api_key_cache_seconds=profile.security.api_key_cache_seconds,
        bootstrap_admin=None if admin is None else BootstrapAdminSettings(admin.name, admin.tenant),
        store_prompts=profile.audit.store_prompts,
        sections=MappingProxyType(
            {
                key: value
                for key in sorted(PLATFORM_KEYS)
                if isinstance(value := getattr(profile, key), BaseModel)
            }
        ),
    )
