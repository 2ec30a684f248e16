from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bastion.infra.config._profile import BootstrapAdmin, Profile
from bastion.infra.config._secrets import SecretStore, write_secrets_file
from bastion.infra.config.errors import ProfileError

PROFILE_FILE = "profile.yaml"
BUILTIN_DIR = Path(".bastion")


@dataclass(frozen=True, slots=True)
class LoadedProfile:
    profile: Profile
    secrets: SecretStore
    source: str  # a profile directory, or "built-in local profile"
    builtin: bool = False


def key_path(loc: Sequence[int | str]) -> str:
    """Render a pydantic location as ``gateway.routes[2].provider``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "<root>"


def validation_message(exc: ValidationError, source: str, prefix: Sequence[int | str] = ()) -> str:
    first = exc.errors()[0]
    loc = [*prefix, *(p for p in first["loc"] if not str(p).startswith("function-"))]
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
        if len(loc) == 2 and loc[0] == "extensions":
            msg = (
                "an extension's config namespace is a top-level key of the profile now; "
                f"move this block to `{loc[1]}:`"
            )
    return f"{source}: {key_path(loc)}: {msg}"


def _read_yaml(path: Path) -> Any:
    try:
        # From the open file, so the error's mark names it (a string is "<unicode string>").
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None


def _read_mapping(path: Path) -> dict[str, Any]:
    data = _read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    return data


def _merge_services(raw: dict[str, Any], directory: Path) -> None:
    services = directory / "services"
    if not services.is_dir():
        return
    governance = services / "governance.yaml"
    if governance.is_file():
        raw.setdefault("governance", {}).update(_read_mapping(governance))
    pricing = services / "pricing.yaml"
    if pricing.is_file():
        raw.setdefault("gateway", {}).setdefault("pricing", {}).update(_read_mapping(pricing))
    for folder, section, key in (("mcp", "mcp", "servers"), ("agents", "agents", "agents")):
        files = sorted((services / folder).glob("*.yaml")) if (services / folder).is_dir() else []
        if not files:
            continue
        target = raw.setdefault(section, {}).setdefault(key, [])
        for path in files:
            entry = _read_yaml(path)
            target.extend(entry if isinstance(entry, list) else [entry])


def load_profile(directory: Path | None = None) -> LoadedProfile:
    """Load the profile named by ``directory`` or ``BASTION_PROFILE``, else the built-in one."""
    if directory is None:
        env = os.environ.get("BASTION_PROFILE")
        directory = Path(env) if env else None
    if directory is None:
        return builtin_profile()
    directory = directory.resolve()
    path = directory / PROFILE_FILE
    if not path.is_file():
        raise ProfileError(f"profile {directory}: {PROFILE_FILE} not found")
    raw = _read_mapping(path)
    _merge_services(raw, directory)
    raw["profile_dir"] = directory
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(validation_message(exc, str(path))) from None
    secrets_store = (
        SecretStore.load(profile.secrets_file) if profile.secrets_file else SecretStore({})
    )
    return LoadedProfile(profile, secrets_store, str(directory))


def builtin_profile(base: Path = BUILTIN_DIR) -> LoadedProfile:
    """SQLite under ``./.bastion/``, a generated signing key (0600), a bootstrap admin."""
    base = base.resolve()
    secrets_path = base / "secrets.yaml"
    if not secrets_path.exists():
        write_secrets_file(secrets_path, {"jwt_signing_key": secrets.token_urlsafe(48)})
    profile = Profile.model_validate(
        {
            "name": "local",
            "database": {"url": f"sqlite+aiosqlite:///{base / 'bastion.db'}"},
            "secrets_file": secrets_path,
            "security": {"bootstrap_admin": BootstrapAdmin().model_dump()},
            "audit": {"spill_path": base / "audit" / "spill.jsonl"},
            # Offline out of the box: every model answers from the deterministic mock.
            "gateway": {
                "routes": [
                    {
                        "name": "mock",
                        "model_pattern": "*",
                        "provider": "mock",
                        "pricing": {"input": 0, "output": 0},
                    }
                ]
            },
            "profile_dir": base,
        }
    )
    return LoadedProfile(profile, SecretStore.load(secrets_path), "built-in local profile", True)
