from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

import yaml

from bastion.infra.config.errors import SecretsError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _substitute(value: str, source: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is not None:
            return found
        if default is not None:
            return default
        raise SecretsError(f"{source}: environment variable {name} is not set")

    return _ENV_REF.sub(replace, value)


class SecretStore:
    """Named secrets. Values never appear in ``repr``, logs or ``config show``."""

    def __init__(self, values: Mapping[str, str], source: str = "<memory>") -> None:
        self._values = dict(values)
        self._source = source

    @classmethod
    def load(cls, path: Path) -> SecretStore:
        """Read a YAML mapping of names to values, refusing group/world-readable files."""
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise SecretsError(f"secrets file {path} does not exist") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretsError(
                f"secrets file {path} is readable by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
            )
        try:
            with path.open(encoding="utf-8") as handle:  # the error's mark names the file
                raw = yaml.safe_load(handle) or {}
        except yaml.YAMLError as exc:
            raise SecretsError(f"secrets file {path} is not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise SecretsError(f"secrets file {path} must be a mapping of names to values")
        values: dict[str, str] = {}
        for name, value in raw.items():
            if not isinstance(value, str | int | float):
                raise SecretsError(f"secrets file {path}: secret {name!r} must be a string")
            values[str(name)] = _substitute(str(value), f"{path}: secret {name!r}")
        return cls(values, str(path))

    def get(self, name: str) -> str:
        try:
            return self._values[name]
        except KeyError:
            raise SecretsError(f"secret {name!r} is not defined in {self._source}") from None

    def names(self) -> list[str]:
        return sorted(self._values)

    def values(self) -> list[str]:
        """Every secret value, for log redaction filters."""
        return [v for v in self._values.values() if v]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __repr__(self) -> str:
        return f"<SecretStore {self._source} names={self.names()}>"


def write_secrets_file(path: Path, values: Mapping[str, str]) -> None:
    """Create a secrets file readable by its owner only (0600) before any byte is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(dict(values), handle, default_flow_style=False)
    os.chmod(path, 0o600)
