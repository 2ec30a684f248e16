"""``bastion config validate|show``."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cli.conftest import Cli, error_of
from tests.support import write_profile

SIGNING_KEY = "signing-key-value-that-must-never-be-printed-0123456789"


def test_validate_accepts_a_good_profile(offline_cli: Cli) -> None:
    assert offline_cli.ok("config", "validate") == f"profile OK: {offline_cli.profile.resolve()}\n"


def test_validate_names_the_key_path(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    unknown = Cli(write_profile(tmp_path / "a", url, {"server": {"prt": 1}}))
    result = unknown.fails("config", "validate")
    path = unknown.profile.resolve() / "profile.yaml"
    assert error_of(result) == f"error: {path}: server.prt: unknown key"

    indexed = Cli(write_profile(tmp_path / "b", url, {"extensions": {"disabled": ["x", {}]}}))
    result = indexed.fails("config", "validate")
    path = indexed.profile.resolve() / "profile.yaml"
    assert error_of(result) == (
        f"error: {path}: extensions.disabled[1]: Input should be a valid string"
    )


def test_validate_checks_extension_config(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    bad = Cli(write_profile(tmp_path / "p", url, {"hello": {"retention_days": 0}}))
    assert error_of(bad.fails("config", "validate")) == (
        "error: boot failed at configure: extension 'hello': hello.retention_days: "
        "Input should be greater than or equal to 1"
    )


def test_show_redacts_secrets_and_database_passwords(tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path / "p",
        "postgresql+asyncpg://bastion:hunter2-db-pass@db.internal:5432/bastion",
        {
            "gateway": {
                "routes": [
                    {
                        "model_pattern": "vendor-*",
                        "provider": "openai",
                        "extra_headers": {"x-vendor-key": "sk-vendor-literal-123456"},
                    }
                ]
            }
        },
        {"jwt_signing_key": SIGNING_KEY},
    )
    cli = Cli(profile)
    as_yaml = cli.ok("config", "show")
    as_json = cli.ok("config", "show", "--json")
    for shown in (as_yaml, as_json):
        assert "hunter2-db-pass" not in shown
        assert SIGNING_KEY not in shown
        assert "sk-vendor-literal-123456" not in shown
    data = json.loads(as_json)
    assert yaml.safe_load(as_yaml) == data
    assert data["database"]["url"] == "postgresql+asyncpg://bastion:***@db.internal:5432/bastion"
    # a namespace is shown with its defaults filled in, and its secrets masked
    (route,) = data["gateway"]["routes"]
    assert route["extra_headers"] == {"x-vendor-key": "***"}
    assert route["upstream_model"] is None and "analytics" in data
    # names of secrets are not secrets: they stay readable
    assert data["security"]["jwt"]["signing_secret"] == "jwt_signing_key"
    assert data["name"] == "test" and data["server"]["port"] == 8080


def test_show_fails_cleanly_on_a_bad_profile(tmp_path: Path) -> None:
    cli = Cli(write_profile(tmp_path / "p", "sqlite+aiosqlite:///x.db", {"logging": {"lvl": 1}}))
    result = cli.fails("config", "show", "--json")
    assert result.stdout == ""
    assert error_of(result) == (
        f"error: {cli.profile.resolve() / 'profile.yaml'}: logging.lvl: unknown key"
    )
