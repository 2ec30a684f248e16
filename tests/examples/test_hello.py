"""The example third-party extension: installed like any distribution, governed like core."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest

from bastion.infra.config import load_profile
from bastion.kernel.migration import migrations_from_package
from bastion.runtime.boot import boot
from bastion.runtime.errors import BootError
from tests.cli.conftest import Cli, query
from tests.support import ServerThread, running_server, write_profile


def test_installed_as_an_entry_point() -> None:
    (ep,) = [ep for ep in entry_points(group="bastion.extensions") if ep.name == "hello"]
    assert ep.value == "bastion_hello:HelloExtension"
    assert ep.dist is not None and ep.dist.name == "bastion-hello"
    cls = ep.load()
    assert cls.meta.id == "hello" and cls.meta.maturity.label == "beta"


def test_its_command_reads_the_typed_service_as_the_route_does(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bastion hello list`` boots the platform and asks for ``GREETINGS``, like a core
    command asks for ``API_KEYS``; it is listed and found as any extension's command."""
    cli = Cli(write_profile(tmp_path / "profile", db_url))
    assert json.loads(cli.ok("hello", "list", "--json")) == []  # boots, migrates
    query(
        db_url,
        "INSERT INTO hello_greetings (id, name, message, user_id, created_at) "
        "VALUES ('g1', 'Ada', 'Hello, Ada!', NULL, :at)",
        at=dt.datetime(2026, 1, 2, 3, 4, 5),
    )
    assert json.loads(cli.ok("hello", "list", "--json")) == [{"id": "g1", "message": "Hello, Ada!"}]
    monkeypatch.setenv("COLUMNS", "120")
    table = cli.ok("hello", "list")
    assert "Greetings" in table and "Hello, Ada!" in table
    assert "list  Every greeting sent, oldest first." in cli.ok("hello", "--help")


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[ServerThread]:
    profile = write_profile(tmp_path / "profile", db_url, {"hello": {"greeting": "Hi"}})
    with running_server(profile) as srv:
        yield srv


def test_route_is_governed_like_core(server: ServerThread, db_url: str) -> None:
    cli = Cli(server.profile_dir)
    greetings = server.url + "/api/v1/hello/greetings"

    anonymous = httpx.post(greetings, json={"name": "Ada"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["message"] == "authentication required"
    assert httpx.get(greetings).status_code == 401

    cli.ok("admin", "users", "create", "plain", "--role", "user")
    plain = {"authorization": "Bearer " + cli.ok("admin", "tokens", "issue", "plain").strip()}
    forbidden = httpx.post(greetings, json={"name": "Ada"}, headers=plain)
    assert forbidden.status_code == 403
    assert forbidden.json() == {
        "error": {"type": "permission_error", "message": "needs scope hello:write"},
        "trace_id": forbidden.headers["x-trace-id"],
    }
    assert httpx.get(greetings, headers=plain).json() == []  # reading needs only a token

    greeter_id = cli.ok("admin", "users", "create", "gwen", "--role", "greeter").strip()
    token = cli.ok("admin", "tokens", "issue", "gwen").strip()
    created = httpx.post(
        greetings, json={"name": "Ada"}, headers={"authorization": f"Bearer {token}"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["message"] == "Hi, Ada!"  # hello.greeting from the profile
    blank = httpx.post(greetings, json={"name": "  "}, headers={"authorization": f"Bearer {token}"})
    assert blank.status_code == 400
    assert blank.json()["error"] == {
        "type": "invalid_request_error",
        "message": "name: String should have at least 1 character",
    }
    key = cli.ok("admin", "keys", "issue", "gwen", "--name", "bot").strip()
    by_key = httpx.post(greetings, json={"name": "Bob"}, headers={"x-api-key": key})
    assert by_key.status_code == 201

    listed = httpx.get(greetings, headers=plain).json()
    assert [g["message"] for g in listed] == ["Hi, Ada!", "Hi, Bob!"]
    rows = query(db_url, "SELECT name, user_id FROM hello_greetings ORDER BY created_at")
    assert rows == [("Ada", greeter_id), ("Bob", greeter_id)]


def test_migration_is_in_the_ledger(server: ServerThread, db_url: str) -> None:
    dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    (migration,) = migrations_from_package("bastion_hello")
    rows = query(
        db_url,
        "SELECT version, name, checksum_sha256 FROM extension_migrations "
        "WHERE extension_id = 'hello'",
    )
    assert [(v, n, c.strip()) for v, n, c in rows] == [
        (1, "greetings", migration.checksum(dialect))
    ]
    assert query(db_url, "SELECT count(*) FROM hello_greetings") == [(0,)]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            {"retention_days": 0},
            "extension 'hello': hello.retention_days: Input should be greater than or equal to 1",
        ),
        ({"colour": "blue"}, "extension 'hello': hello.colour: unknown key"),
        (
            {"greeting": "x" * 65},
            "extension 'hello': hello.greeting: String should have at most 64 characters",
        ),
        ("loud", "hello: expected a mapping for 'hello'"),
    ],
)
async def test_config_is_validated_at_boot(tmp_path: Path, block: object, message: str) -> None:
    # Refused before any SQL runs, so the database is never opened.
    profile = write_profile(
        tmp_path / "profile",
        f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
        {"hello": block},
    )
    with pytest.raises(BootError) as info:
        await boot(load_profile(profile))
    assert str(info.value) == f"boot failed at configure: {message}"
    assert info.value.extension_id == "hello"
    assert not (tmp_path / "never.db").exists()


def test_prune_job_runs_from_the_cli(db_url: str, tmp_path: Path) -> None:
    cli = Cli(write_profile(tmp_path / "profile", db_url, {"hello": {"retention_days": 7}}))
    cli.ok("db", "migrate")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for gid, age in (("old", 30), ("new", 1)):
        query(
            db_url,
            "INSERT INTO hello_greetings (id, name, message, created_at) VALUES (:i, :i, :i, :t)",
            i=gid,
            t=now - dt.timedelta(days=age),
        )
    jobs = cli.ok("jobs", "list", "--json")
    assert '"job":"hello.prune"' in jobs and '"schedule":"every 3600s"' in jobs
    assert cli.ok("jobs", "run", "hello.prune") == "hello.prune: success\n"
    assert query(db_url, "SELECT id FROM hello_greetings") == [("new",)]
    runs = query(
        db_url,
        "SELECT outcome, error FROM core_job_runs "
        "WHERE extension_id = 'hello' AND job_name = 'prune'",
    )
    assert runs == [("success", None)]
