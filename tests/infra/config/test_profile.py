from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from bastion.domains.gateway import GatewaySettings
from bastion.infra.config import (
    LoadedProfile,
    ProfileError,
    SecretsError,
    SecretStore,
    builtin_profile,
    load_profile,
    redacted_profile,
    workers_conflict,
)
from bastion.kernel.errors import ExtensionConfigError
from bastion.runtime import namespaces
from bastion.runtime.discovery import discover


def write(directory: Path, data: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "profile.yaml").write_text(yaml.safe_dump(data))
    return directory


def conflict_of(loaded: LoadedProfile) -> str | None:
    """What boot says of ``server.workers``: the platform's check, then the extensions'."""
    registry = discover(loaded.profile)
    configs = namespaces.resolve(registry, loaded.profile)
    workers = loaded.profile.server.workers
    return workers_conflict(loaded.profile) or namespaces.workers_conflicts(
        registry, configs, workers
    )


def test_bad_value_names_the_key_path(tmp_path: Path) -> None:
    routes = [
        {"model_pattern": "claude-*", "provider": "anthropic"},
        {"model_pattern": "gpt-*", "provider": "openai"},
        {"model_pattern": "gemini-*", "provider": ["not", "a", "string"]},
    ]
    profile = write(tmp_path, {"gateway": {"routes": routes}})
    loaded = load_profile(profile)  # the gateway's namespace is validated by the gateway
    with pytest.raises(ExtensionConfigError) as info:
        namespaces.resolve(discover(loaded.profile), loaded.profile)
    assert str(info.value) == (
        "extension 'gateway': gateway.routes[2].provider: Input should be a valid string"
    )


def test_unknown_key_is_refused_with_its_path(tmp_path: Path) -> None:
    profile = write(tmp_path, {"server": {"port": 8080, "prot": 1}})
    with pytest.raises(ProfileError) as info:
        load_profile(profile)
    assert str(info.value).endswith("profile.yaml: server.prot: unknown key")


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"profile.yaml not found"):
        load_profile(tmp_path)


def test_world_readable_secrets_file_is_refused(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text("jwt_signing_key: abc\n")
    os.chmod(secrets_file, 0o644)
    profile = write(tmp_path, {"secrets_file": "secrets.yaml"})
    with pytest.raises(SecretsError) as info:
        load_profile(profile)
    assert str(info.value) == (
        f"secrets file {secrets_file} is readable by group or others (mode 0644); "
        f"run: chmod 600 {secrets_file}"
    )


def test_secrets_substitute_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("upstream: ${UPSTREAM_KEY}\nwith_default: ${NOPE_NOT_SET:-fallback}\n")
    os.chmod(path, 0o600)
    monkeypatch.setenv("UPSTREAM_KEY", "sk-from-env")
    store = SecretStore.load(path)
    assert store.get("upstream") == "sk-from-env"
    assert store.get("with_default") == "fallback"
    assert "sk-from-env" not in repr(store)
    with pytest.raises(SecretsError, match="secret 'missing' is not defined"):
        store.get("missing")


def test_unset_environment_variable_fails(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("x: ${BASTION_TEST_SURELY_UNSET}\n")
    os.chmod(path, 0o600)
    with pytest.raises(SecretsError, match="BASTION_TEST_SURELY_UNSET is not set"):
        SecretStore.load(path)


def test_builtin_profile_generates_a_private_signing_key(tmp_path: Path) -> None:
    loaded = builtin_profile(tmp_path / ".bastion")
    secrets_file = tmp_path / ".bastion" / "secrets.yaml"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert len(loaded.secrets.get("jwt_signing_key")) >= 32
    assert loaded.profile.database.url.startswith("sqlite+aiosqlite:///")
    assert loaded.profile.security.bootstrap_admin is not None
    again = builtin_profile(tmp_path / ".bastion")
    assert again.secrets.get("jwt_signing_key") == loaded.secrets.get("jwt_signing_key")


def test_services_files_are_merged(tmp_path: Path) -> None:
    profile = write(tmp_path, {})
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "pricing.yaml").write_text(
        yaml.safe_dump({"my-model": {"input": 1.0, "output": 2.0}})
    )
    loaded = load_profile(profile)
    configs = namespaces.resolve(discover(loaded.profile), loaded.profile)
    gateway = configs["gateway"]
    assert isinstance(gateway, GatewaySettings)
    assert gateway.pricing["my-model"].output == 2.0


def test_show_redacts_passwords(tmp_path: Path) -> None:
    profile = write(tmp_path, {"database": {"url": "postgresql://bastion:hunter2@db/bastion"}})
    shown = redacted_profile(load_profile(profile).profile)
    assert "hunter2" not in str(shown)
    assert shown["database"]["url"] == "postgresql://bastion:***@db/bastion"
    assert shown["security"]["jwt"]["signing_secret"] == "jwt_signing_key"


REDIS = {"backend": "redis", "redis_url": "redis://127.0.0.1:6379/0"}


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"server": {"workers": 1}}, None),
        ({"server": {"workers": 3}, "rate_limits": REDIS}, None),
        ({"server": {"workers": 3}, "rate_limits": {"enabled": False}}, None),
        # Quotas without rules keep no counters.
        ({"server": {"workers": 3}, "rate_limits": REDIS, "governance": {"quota": {}}}, None),
        (
            {"server": {"workers": 3}},
            "server.workers is 3 but rate_limits.backend is 'memory': each worker would keep "
            "its own buckets and admit 3x the configured rate; set rate_limits.backend: redis "
            "(with rate_limits.redis_url)",
        ),
        (
            {
                "server": {"workers": 2},
                "rate_limits": REDIS,
                "governance": {
                    "quota": {
                        "rules": [{"subject": "tenant", "window": "1d", "limits": {"requests": 5}}]
                    }
                },
            },
            "server.workers is 2 but governance.quota.backend is 'memory': each worker would "
            "count its own share and admit up to 2x every quota; set governance.quota.backend: "
            "redis (with governance.quota.redis_url)",
        ),
        (
            {
                "server": {"workers": 2},
                "rate_limits": REDIS,
                "database": {"url": "sqlite+aiosqlite:///:memory:"},
            },
            "server.workers is 2 but database.url is an in-memory SQLite database, which each "
            "worker would have to itself; use a SQLite file or PostgreSQL",
        ),
        (
            {"server": {"workers": 2}, "rate_limits": REDIS, "database": {"url": "sqlite://"}},
            "server.workers is 2 but database.url is an in-memory SQLite database, which each "
            "worker would have to itself; use a SQLite file or PostgreSQL",
        ),
    ],
)
def test_workers_need_state_the_workers_share(
    section: dict[str, object], expected: str | None, tmp_path: Path
) -> None:
    loaded = load_profile(write(tmp_path, section))
    assert conflict_of(loaded) == expected
