from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import text

from bastion.infra.db import create_engine
from bastion.kernel.errors import MigrationDriftError, MigrationFailedError
from bastion.kernel.ledger import MigrationLedger, MigrationState, PlannedMigration
from bastion.kernel.migration import Migration

CREATE = Migration(
    1,
    "init",
    "CREATE TABLE t_items (id INTEGER PRIMARY KEY, label VARCHAR(20));\n",
    {"postgresql": "CREATE TABLE t_items (id BIGINT PRIMARY KEY, label VARCHAR(20));\n"},
)
SEED = Migration(2, "seed", "INSERT INTO t_items (id, label) VALUES (1, 'one');\n")


def plan(*migrations: Migration, ext: str = "demo") -> list[PlannedMigration]:
    return [PlannedMigration(ext, m) for m in migrations]


async def test_applies_once_in_order(db_url: str) -> None:
    engine = create_engine(db_url)
    ledger = MigrationLedger(engine)
    try:
        assert [s.version for s in await ledger.migrate(plan(CREATE, SEED))] == [1, 2]
        assert await ledger.migrate(plan(CREATE, SEED)) == []
        statuses = await ledger.status(plan(CREATE, SEED))
        assert [s.state for s in statuses] == [MigrationState.APPLIED, MigrationState.APPLIED]
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t_items"))).scalar() == 1
            rows = (
                await conn.execute(
                    text("SELECT checksum_sha256 FROM extension_migrations ORDER BY version")
                )
            ).all()
        dialect = engine.dialect.name
        assert [r[0] for r in rows] == [CREATE.checksum(dialect), SEED.checksum(dialect)]
    finally:
        await engine.dispose()


async def test_dialect_variant_is_used(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await MigrationLedger(engine).migrate(plan(CREATE))
        expected = CREATE.dialect_sql.get(engine.dialect.name, CREATE.sql)
        assert (
            CREATE.checksum(engine.dialect.name)
            == __import__("hashlib").sha256(expected.encode()).hexdigest()
        )
    finally:
        await engine.dispose()


async def test_drift_refuses_with_extension_version_and_checksums(db_url: str) -> None:
    engine = create_engine(db_url)
    ledger = MigrationLedger(engine)
    try:
        await ledger.migrate(plan(CREATE))
        changed = Migration(1, "init", CREATE.sql.replace("20", "40"), {})
        changed = Migration(
            1,
            "init",
            CREATE.sql.replace("20", "40"),
            {k: v.replace("20", "40") for k, v in CREATE.dialect_sql.items()},
        )
        dialect = engine.dialect.name
        with pytest.raises(MigrationDriftError) as info:
            await ledger.migrate(plan(changed, SEED))
        assert str(info.value) == (
            f"migration drift in extension 'demo' version 1: stored checksum "
            f"{CREATE.checksum(dialect)}, current checksum {changed.checksum(dialect)}"
        )
        # nothing after the drift was applied
        assert [s.state for s in await ledger.status(plan(changed, SEED))] == [
            MigrationState.DRIFTED,
            MigrationState.PENDING,
        ]
        assert await ledger.repair("demo", 1, changed.checksum(dialect))
        assert [s.version for s in await ledger.migrate(plan(changed, SEED))] == [2]
    finally:
        await engine.dispose()


async def test_failed_migration_rolls_back_whole(db_url: str) -> None:
    broken = Migration(
        3,
        "broken",
        "CREATE TABLE t_half (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    engine = create_engine(db_url)
    ledger = MigrationLedger(engine)
    try:
        with pytest.raises(MigrationFailedError) as info:
            await ledger.migrate(plan(CREATE, broken))
        assert str(info.value).startswith("migration 003_broken of extension 'demo' failed: ")
        async with engine.connect() as conn:
            applied = (await conn.execute(text("SELECT version FROM extension_migrations"))).all()
        assert [r[0] for r in applied] == [1]
        statuses = await ledger.status(plan(CREATE, broken))
        assert statuses[1].state is MigrationState.PENDING
        fixed = Migration(3, "broken", "CREATE TABLE t_half (id INTEGER PRIMARY KEY);\n")
        # t_half must not exist, or this CREATE (no IF NOT EXISTS) would fail
        assert [s.version for s in await ledger.migrate(plan(CREATE, fixed))] == [3]
    finally:
        await engine.dispose()


_WORKER = textwrap.dedent(
    """
    import asyncio, json, sys
    from bastion.infra.db import create_engine
    from bastion.kernel.ledger import MigrationLedger, PlannedMigration
    from bastion.kernel.migration import Migration

    async def main(url):
        migrations = [
            Migration(1, "slow", "CREATE TABLE t_race (id INTEGER PRIMARY KEY);\\n"
                      "SELECT pg_sleep(0.5);\\n"),
            Migration(2, "seed", "INSERT INTO t_race (id) VALUES (1);\\n"),
        ]
        engine = create_engine(url)
        applied = await MigrationLedger(engine).migrate(
            [PlannedMigration("race", m) for m in migrations]
        )
        await engine.dispose()
        print(json.dumps([s.version for s in applied]))

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_concurrent_boot_on_postgresql_applies_each_migration_once() -> None:
    from tests.conftest import create_pg_database, drop_pg_database

    url = await create_pg_database()
    try:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", _WORKER, url, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        results = [await p.communicate() for p in procs]
        for proc, (_, err) in zip(procs, results, strict=True):
            assert proc.returncode == 0, err.decode()
        applied = sorted(json.loads(out) for out, _ in results)
        assert applied == [[], [1, 2]]
        engine = create_engine(url)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t_race"))).scalar() == 1
            assert (
                await conn.execute(text("SELECT count(*) FROM extension_migrations"))
            ).scalar() == 2
        await engine.dispose()
    finally:
        await drop_pg_database(url)
