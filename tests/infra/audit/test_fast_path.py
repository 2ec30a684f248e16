"""The writer's fast path: what it stores, how it falls back, how it batches."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import AuditWriter, JsonText, governance_decisions, new_row_id
from bastion.infra.audit._statements import TableStatements
from tests.infra.audit._support import decision_row, ids_of, metric

UTC_PLUS_2 = dt.timezone(dt.timedelta(hours=2))


def _typed_table(name: str, metadata: MetaData, *, with_float: bool = True) -> Table:
    return Table(
        name,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("label", String(64), nullable=False),
        Column("body", Text),
        Column("doc", JsonText),
        Column("flag", Boolean),
        Column("count", Integer),
        Column("total", BigInteger),
        *([Column("ratio", Float)] if with_float else []),
        Column("at", DateTime(timezone=True)),
    )


def _typed_rows() -> list[dict[str, Any]]:
    moments = [
        dt.datetime(2024, 6, 1, 12, 30, 45, 123456, tzinfo=dt.UTC),
        dt.datetime(2024, 6, 1, 12, 30, 45, tzinfo=UTC_PLUS_2),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    ]
    rows: list[dict[str, Any]] = []
    for n, at in enumerate(moments):
        rows.append(
            {
                "id": new_row_id(),
                "label": f"row-{n}",
                "body": "é ✓ \x01" if n else None,
                "doc": {"n": n, "nested": [1, "two", None, {"ü": 2.5}]} if n != 1 else None,
                "flag": bool(n % 2),
                "count": n - 1,
                "total": 2**40 + n,
                "ratio": 0.1 * n,
                "at": at,
            }
        )
    # Columns left out are stored as NULL.
    rows.append({"id": new_row_id(), "label": "sparse"})
    return rows


async def _written_and_expected(
    engine: AsyncEngine,
    tmp_path: Path,
    rows: list[dict[str, Any]],
    *,
    with_float: bool = True,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``rows`` through the writer into one table and through a SQLAlchemy ``insert()``
    into a twin, then both read back as raw driver values (on SQLite the stored text
    itself, datetime format included), in id order."""
    metadata = MetaData()
    written = _typed_table("written", metadata, with_float=with_float)
    reference = _typed_table("reference", metadata, with_float=with_float)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with AuditWriter(
        engine, spill_path=tmp_path / "spill.jsonl", tables=[written], batch_size=1000
    ) as writer:
        for row in rows:
            writer.submit(written, row)
    async with engine.begin() as conn:
        await conn.execute(
            insert(reference), [{c.name: r.get(c.name) for c in reference.c} for r in rows]
        )
        columns = ", ".join(c.name for c in written.c)
        stored = await conn.exec_driver_sql(f"SELECT {columns} FROM written ORDER BY id")
        expected = await conn.exec_driver_sql(f"SELECT {columns} FROM reference ORDER BY id")
        return [tuple(r) for r in stored.all()], [tuple(r) for r in expected.all()]


async def test_the_fast_path_stores_what_a_sqlalchemy_insert_stores(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    rows = _typed_rows()
    stored, expected = await _written_and_expected(engine, tmp_path, rows)
    assert len(stored) == len(rows)
    assert stored == expected
    assert metric("bastion_audit_rows_written_total", table="written") >= len(rows)


def test_sqlite_batches_go_through_json_only_for_tables_json_carries_exactly() -> None:
    jsonable = TableStatements(_typed_table("j", MetaData(), with_float=False), sqlite.dialect())
    assert jsonable.json_sql is not None and "json_each(?)" in jsonable.json_sql
    assert TableStatements(_typed_table("t", MetaData()), sqlite.dialect()).json_sql is None
    assert TableStatements(governance_decisions, sqlite.dialect()).json_sql is not None
    assert TableStatements(governance_decisions, postgresql.dialect()).json_sql is None


@pytest.mark.parametrize(
    "odd",
    [
        None,  # the whole batch as one JSON document
        {"body": "before\x00after"},  # SQLite's JSON reader would cut at the NUL
        {"total": 2**62 + 1},  # beyond 53 bits JSON numbers are not exact everywhere
    ],
    ids=["json", "nul", "bigint"],
)
async def test_a_large_batch_stores_what_a_sqlalchemy_insert_stores(
    engine: AsyncEngine, tmp_path: Path, odd: dict[str, Any] | None
) -> None:
    if odd is not None and "\x00" in str(odd.get("body")) and engine.dialect.name != "sqlite":
        # PostgreSQL text cannot hold a NUL at all; the case is SQLite's JSON reader.
        odd = {"body": "before after"}
    base = [{k: v for k, v in r.items() if k != "ratio"} for r in _typed_rows()]
    rows: list[dict[str, Any]] = []
    # 300 rows: one JSON document, or (when JSON cannot carry a value) several multi-row
    # statements of different sizes.
    for n in range(300):
        row = {**base[n % len(base)], "id": new_row_id(), "label": f"row-{n}"}
        if n % 3 == 0:
            row["body"] = 'quote " backslash \\ line\u2028sep emoji 😀 ctrl \x1f'
        if odd is not None and n == 150:
            row.update(odd)
        rows.append(row)
    stored, expected = await _written_and_expected(engine, tmp_path, rows, with_float=False)
    assert len(stored) == len(rows)
    assert stored == expected


async def test_a_duplicate_id_on_the_normal_path_is_skipped_and_not_counted(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    existing = decision_row(1)
    async with engine.begin() as conn:
        await conn.execute(insert(governance_decisions), [existing])
    before = {
        name: metric(f"bastion_audit_rows_{name}_total", table="governance_decisions")
        for name in ("written", "rejected", "spilled")
    }
    fresh = [decision_row(n) for n in range(2, 12)]
    async with AuditWriter(engine, spill_path=tmp_path / "spill.jsonl", flush_interval=0.2) as w:
        for row in [*fresh[:5], decision_row(1, id=existing["id"]), *fresh[5:]]:
            w.submit(governance_decisions, row)
    assert sorted(await ids_of(engine, governance_decisions)) == sorted(
        [existing["id"], *(r["id"] for r in fresh)]
    )
    after = {
        name: metric(f"bastion_audit_rows_{name}_total", table="governance_decisions")
        for name in ("written", "rejected", "spilled")
    }
    assert after["written"] - before["written"] == 10
    assert after["rejected"] == before["rejected"]
    assert after["spilled"] == before["spilled"]
    assert not (tmp_path / "spill.jsonl.rejected").exists()


def _flushes() -> float:
    return metric("bastion_audit_flush_seconds_count")


async def test_rows_trickling_in_within_the_interval_make_one_batch(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    writer = AuditWriter(
        engine, spill_path=tmp_path / "spill.jsonl", batch_size=1000, flush_interval=0.5
    )
    await writer.start()
    before = _flushes()
    for n in range(100):
        await writer.write(governance_decisions, decision_row(n))
        await asyncio.sleep(0.001)
    await writer.flush()
    assert _flushes() - before == 1
    await writer.close()
    assert len(await ids_of(engine, governance_decisions)) == 100


async def test_a_full_batch_is_written_without_waiting_for_the_interval(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    writer = AuditWriter(
        engine, spill_path=tmp_path / "spill.jsonl", batch_size=50, flush_interval=60.0
    )
    await writer.start()
    before = _flushes()
    for n in range(150):
        await writer.write(governance_decisions, decision_row(n))
        if n % 10 == 0:
            await asyncio.sleep(0)
    await asyncio.wait_for(writer.flush(), 10)
    assert _flushes() - before == 3
    await writer.close()


def test_datetime_processing_matches_sqlalchemy_and_respects_a_storage_format() -> None:
    dialect = sqlite.dialect()
    default = TableStatements(_typed_table("t1", MetaData()), dialect)
    custom_metadata = MetaData()
    custom = Table(
        "t2",
        custom_metadata,
        Column("id", String(32), primary_key=True),
        Column("at", sqlite.DATETIME(storage_format="%(year)04d/%(month)02d/%(day)02d")),
    )
    custom_statements = TableStatements(custom, dialect)
    at = dt.datetime(2024, 6, 1, 12, 0, 0, 0, tzinfo=UTC_PLUS_2)
    day = dt.date(2024, 6, 1)
    [fast] = default.fast_params([{"id": "a", "label": "x", "at": at}])
    assert fast[-1] == "2024-06-01 12:00:00.000000"
    [fast_day] = default.fast_params([{"id": "a", "label": "x", "at": day}])
    assert fast_day[-1] == "2024-06-01 00:00:00.000000"
    assert custom_statements.fast_params([{"id": "a", "at": at}]) == [("a", "2024/06/01")]
    with pytest.raises(TypeError):
        default.fast_params([{"id": "a", "label": "x", "at": "2024-06-01"}])


def test_statements_refuse_unknown_columns_and_keep_single_column_rows() -> None:
    only_id = Table("only_id", MetaData(), Column("id", String(32), primary_key=True))
    # psycopg2's named parameters: no fast path, every batch goes the exact way.
    assert TableStatements(only_id, postgresql.dialect()).fast_sql is None
    statements = TableStatements(only_id, sqlite.dialect())
    assert statements.fast_sql == "INSERT INTO only_id (id) VALUES (?)"
    assert statements.fast_params([{"id": "a"}, {}]) == [("a",), (None,)]
    with pytest.raises(ValueError, match=r"unknown columns for only_id: \['colour'\]"):
        statements.fast_params([{"id": "b", "colour": "red"}])
    with pytest.raises(ValueError, match="colour"):
        statements.exact_values([{"id": "b", "colour": "red"}])


def test_row_ids_are_32_hex_time_ordered_and_unique() -> None:
    ids = [new_row_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    prefixes = [i[:12] for i in ids]
    assert prefixes == sorted(prefixes)
