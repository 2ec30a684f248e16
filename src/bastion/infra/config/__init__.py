"""Profiles and secrets: config as code, validated with pydantic at boot."""

from bastion.infra.config._loader import (
    BUILTIN_DIR,
    LoadedProfile,
    builtin_profile,
    key_path,
    load_profile,
    validation_message,
)
from bastion.infra.config._profile import (
    PLATFORM_KEYS,
    BootstrapAdmin,
    DatabaseSettings,
    ExtensionsSettings,
    LoggingSettings,
    Profile,
    SecuritySettings,
    ServerSettings,
    platform_settings,
    workers_conflict,
)
from bastion.infra.config._redact import EffectiveConfig, effective_config, redacted_profile
from bastion.infra.config._reference import reference_markdown
from bastion.infra.config._secrets import SecretStore, write_secrets_file
from bastion.infra.config.errors import ConfigError, ProfileError, SecretsError

__all__ = [
    "BUILTIN_DIR",
    "PLATFORM_KEYS",
    "BootstrapAdmin",
    "ConfigError",
    "DatabaseSettings",
    "EffectiveConfig",
    "ExtensionsSettings",
    "LoadedProfile",
    "LoggingSettings",
    "Profile",
    "ProfileError",
    "SecretStore",
    "SecretsError",
    "SecuritySettings",
    "ServerSettings",
    "builtin_profile",
    "effective_config",
    "key_path",
    "load_profile",
    "platform_settings",
    "redacted_profile",
    "reference_markdown",
    "validation_message",
    "workers_conflict",
    "write_secrets_file",
]
