"""Profiles and secrets: config as code, validated with pydantic at boot."""

from bastion.infra.config._agents import (
    AgentSettings,
    AgentsSettings,
    McpGrant,
    ProviderSettings,
    SkillSettings,
)
from bastion.infra.config._gateway import (
    CoworkSettings,
    GatewaySettings,
    PriceSettings,
    RetrySettings,
    RouteSettings,
)
from bastion.infra.config._loader import (
    BUILTIN_DIR,
    LoadedProfile,
    builtin_profile,
    key_path,
    load_profile,
    validation_message,
)
from bastion.infra.config._mcp import (
    McpCredentials,
    McpSecretRef,
    McpServerSettings,
    McpSettings,
    McpToolFilter,
    check_server_name,
)
from bastion.infra.config._profile import (
    BootstrapAdmin,
    DatabaseSettings,
    ExtensionsSettings,
    LoggingSettings,
    Profile,
    SecuritySettings,
    ServerSettings,
    workers_conflict,
)
from bastion.infra.config._redact import redacted_profile
from bastion.infra.config._reference import reference_markdown
from bastion.infra.config._secrets import SecretStore, write_secrets_file
from bastion.infra.config.errors import ConfigError, ProfileError, SecretsError

__all__ = [
    "BUILTIN_DIR",
    "AgentSettings",
    "AgentsSettings",
    "BootstrapAdmin",
    "ConfigError",
    "CoworkSettings",
    "DatabaseSettings",
    "ExtensionsSettings",
    "GatewaySettings",
    "LoadedProfile",
    "LoggingSettings",
    "McpCredentials",
    "McpGrant",
    "McpSecretRef",
    "McpServerSettings",
    "McpSettings",
    "McpToolFilter",
    "PriceSettings",
    "Profile",
    "ProfileError",
    "ProviderSettings",
    "RetrySettings",
    "RouteSettings",
    "SecretStore",
    "SecretsError",
    "SecuritySettings",
    "ServerSettings",
    "SkillSettings",
    "builtin_profile",
    "check_server_name",
    "key_path",
    "load_profile",
    "redacted_profile",
    "reference_markdown",
    "validation_message",
    "workers_conflict",
    "write_secrets_file",
]
