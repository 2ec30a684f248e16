"""Configuration errors.

The tree::

    ConfigError                 the profile cannot be used
    ├── ProfileError            profile.yaml (or a services/ file) fails validation
    └── SecretsError            the secrets file is missing, unsafe or lacks a name

Messages name the key path (``gateway.routes[2].provider``) or the file.
"""

from __future__ import annotations

from bastion.kernel.errors import BastionError


class ConfigError(BastionError):
    pass


class ProfileError(ConfigError):
    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.key_path = path


class SecretsError(ConfigError):
    pass
