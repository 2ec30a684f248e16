"""``bastion db migrate|status|repair``: the ledger from the operator's side."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest

from bastion.extension import Extension, ExtensionMeta, Migration, register_extension
from bastion.kernel.registration import unregister_extension
from tests.cli.conftest import Cli, error_of, query

ORIGINAL_SQL = "CREATE TABLE IF NOT EXISTS drifty_items (id INTEGER PRIMARY KEY);\n"
CHANGED_SQL = "CREATE TABLE IF NOT EXISTS drifty_items (id INTEGER PRIMARY KEY, label VARCHAR(20));"


@pytest.fixture
def drifty() -> Iterator[type[Extension]]:
    """An in-process extension whose migration SQL a test can change after it ran."""

    class Drifty(Extension):
        meta = ExtensionMeta(id="drifty", version="1", depends_on=("core",))
        sql: ClassVar[str] = ORIGINAL_SQL

        def migrations(self) -> Sequence[Migration]:
            return [Migration(1, "items", type(self).sql)]

    register_extension(Drifty)
    try:
        yield Drifty
    finally:
        unregister_extension(Drifty)


def dialect_of(db_url: str) -> str:
    return "postgresql" if db_url.startswith("postgresql") else "sqlite"


def statuses(cli: Cli) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(cli.ok("db", "status", "--json"))
    return rows


def test_migrate_then_status_shows_every_migration_applied(cli: Cli) -> None:
    before = statuses(cli)
    assert before and {r["state"] for r in before} == {"pending"}
    assert cli.ok("db", "migrate") == f"{len(before)} migration(s) applied\n"
    rows = statuses(cli)
    assert {r["state"] for r in rows} == {"applied"}
    assert all(r["applied_at"] for r in rows)
    per_extension: dict[str, list[object]] = {}
    for r in rows:
        per_extension.setdefault(str(r["extension"]), []).append(r["version"])
    assert per_extension["core"][:2] == [1, 2]
    assert per_extension["users"] == [1, 2]
    assert per_extension["auth"] == [1, 2]
    assert per_extension["hello"] == [1]
    # extension order: core before users before auth and hello
    order = list(per_extension)
    assert order.index("core") < order.index("users") < order.index("auth")
    assert order.index("users") < order.index("hello")
    assert cli.ok("db", "migrate") == "database is up to date\n"


def test_drift_stops_migrate_until_repaired(cli: Cli, db_url: str, drifty: type[Extension]) -> None:
    cli.ok("db", "migrate")
    dialect = dialect_of(db_url)
    stored = Migration(1, "items", ORIGINAL_SQL).checksum(dialect)
    current = Migration(1, "items", CHANGED_SQL).checksum(dialect)
    drifty.sql = CHANGED_SQL  # type: ignore[attr-defined]

    refused = cli.fails("db", "migrate")
    assert refused.stdout == ""
    assert error_of(refused) == (
        f"error: migration drift in extension 'drifty' version 1: stored checksum {stored}, "
        f"current checksum {current}"
    )
    drifted = [r for r in statuses(cli) if r["extension"] == "drifty"]
    assert [(r["version"], r["state"]) for r in drifted] == [(1, "drifted")]
    # every other command that boots with migrations refuses too, with the same line
    assert error_of(cli.fails("admin", "users", "list")) == (
        "error: boot failed at migrate: " + error_of(refused).removeprefix("error: ")
    )

    without_flag = cli.fails("db", "repair")
    assert error_of(without_flag) == (
        "error: nothing to do: pass --reconcile to rewrite drifted checksums"
    )
    declined = cli("db", "repair", "--reconcile", input="n\n")
    assert declined.exit_code == 1
    assert error_of(declined) == "error: aborted; nothing changed"
    assert error_of(cli.fails("db", "migrate")) == error_of(refused)

    repaired = cli.ok("db", "repair", "--reconcile", "--yes")
    assert f"drifty 001_items: stored {stored}, current {current}" in repaired
    assert repaired.endswith("1 checksum(s) reconciled\n")
    assert cli.ok("db", "migrate") == "database is up to date\n"
    assert {r["state"] for r in statuses(cli)} == {"applied"}
    assert cli.ok("db", "repair", "--reconcile", "--yes") == "no drifted migrations\n"

    ((checksum,),) = query(
        db_url,
        "SELECT checksum_sha256 FROM extension_migrations "
        "WHERE extension_id = 'drifty' AND version = 1",
    )
    assert checksum.strip() == current


def test_repair_confirmation_accepts_yes(cli: Cli, drifty: type[Extension]) -> None:
    cli.ok("db", "migrate")
    drifty.sql = CHANGED_SQL  # type: ignore[attr-defined]
    confirmed = cli("db", "repair", "--reconcile", input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "1 checksum(s) reconciled" in confirmed.stdout
    assert cli.ok("db", "migrate") == "database is up to date\n"
