from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import yaml


def write_profile(
    directory: Path,
    db_url: str,
    profile: dict[str, Any] | None = None,
    secrets_: dict[str, str] | None = None,
) -> Path:
    """Write ``profile.yaml`` and a 0600 ``secrets.yaml``; return the profile directory."""
    directory.mkdir(parents=True, exist_ok=True)
    values = {"jwt_signing_key": secrets.token_urlsafe(48), **(secrets_ or {})}
    secrets_path = directory / "secrets.yaml"
    fd = os.open(secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(values, handle)
    data: dict[str, Any] = {
        "name": "test",
        "database": {"url": db_url},
        "secrets_file": "secrets.yaml",
        "security": {"api_key_cache_seconds": 0, "bootstrap_admin": {"name": "admin"}},
        "logging": {"level": "warning"},
    }
    for key, value in (profile or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    (directory / "profile.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory
