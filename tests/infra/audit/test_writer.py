from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from bastion.infra.audit import (
    AuditClosedError,
    AuditQueueFull,
    AuditWriter,
    UnknownAuditTable,
    audit_events,
    governance_decisions,
)
from tests.infra.audit._support import count_rows, decision_row, event_row, ids_of, metric


async def test_ten_thousand_concurrent_rows_arrive_exactly_once(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    written = {
        t.name: metric("bastion_audit_rows_written_total", table=t.name)
        for t in (governance_decisions, audit_events)
    }
    writer = AuditWriter(engine, spill_path=tmp_path / "spill.jsonl")
    await writer.start()
    expected: dict[str, set[str]] = {"governance_decisions": set(), "audit_events": set()}

    async def produce(worker: int) -> None:
        for i in range(100):
            n = worker * 100 + i
            if n % 4 == 0:
                row = event_row(n)
                expected["audit_events"].add(row["id"])
                await writer.write(audit_events, row)
            else:
                row = decision_row(n)
                expected["governance_decisions"].add(row["id"])
                await writer.write(governance_decisions, row)
            if i % 10 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(produce(w) for w in range(100)))
    await writer.close()

    assert len(expected["governance_decisions"]) + len(expected["audit_events"]) == 10_000
    assert sorted(await ids_of(engine, governance_decisions)) == sorted(
        expected["governance_decisions"]
    )
    assert sorted(await ids_of(engine, audit_events)) == sorted(expected["audit_events"])
    assert (
        metric("bastion_audit_rows_written_total", table="governance_decisions")
        - written["governance_decisions"]
        == 7_500
    )
    assert (
        metric("bastion_audit_rows_written_total", table="audit_events") - written["audit_events"]
        == 2_500
    )
    assert not writer.spill_path.exists()


async def test_rows_round_trip_with_their_types(engine: AsyncEngine, tmp_path: Path) -> None:
    row = decision_row(7)
    async with AuditWriter(engine, spill_path=tmp_path / "spill.jsonl") as writer:
        writer.submit(governance_decisions, row)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(governance_decisions))).mappings().one()
    assert stored["trace"] == row["trace"]
    assert stored["decision"] == "deny"
    assert stored["duration_us"] == row["duration_us"]
    assert stored["created_at"].replace(tzinfo=None) == row["created_at"].replace(tzinfo=None)


async def test_a_full_queue_makes_producers_wait_and_drops_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    writer = AuditWriter(engine, spill_path=tmp_path / "spill.jsonl", queue_max=8, batch_size=4)
    await writer.start()
    # No await between these calls, so the consumer cannot run: the ninth finds it full.
    for n in range(8):
        writer.submit(governance_decisions, decision_row(n))
    with pytest.raises(AuditQueueFull):
        writer.submit(governance_decisions, decision_row(8))
    assert writer.queue_depth == 8

    saw_full = 0

    async def produce(worker: int) -> None:
        nonlocal saw_full
        for i in range(40):
            if writer.queue_depth == 8:
                saw_full += 1
            await writer.write(governance_decisions, decision_row(1000 + worker * 40 + i))

    await asyncio.gather(*(produce(w) for w in range(50)))
    await writer.close()
    assert saw_full > 0
    assert await count_rows(engine, governance_decisions) == 8 + 50 * 40


async def test_close_drains_rows_queued_and_producers_still_waiting(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    # A long interval and a large batch: without close() flushing, nothing would be written.
    writer = AuditWriter(
        engine,
        spill_path=tmp_path / "spill.jsonl",
        queue_max=10,
        batch_size=5_000,
        flush_interval=60.0,
    )
    await writer.start()
    waiting = [asyncio.create_task(writer.write(audit_events, event_row(n))) for n in range(300)]
    await asyncio.sleep(0)
    assert sum(not task.done() for task in waiting) > 0
    await writer.close()
    await asyncio.gather(*waiting)
    assert await count_rows(engine, audit_events) == 300
    with pytest.raises(AuditClosedError):
        writer.submit(audit_events, event_row(301))


async def test_a_bad_row_is_rejected_without_holding_back_its_batch(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    rejected = metric("bastion_audit_rows_rejected_total", table="governance_decisions")
    spill = tmp_path / "spill.jsonl"
    bad = decision_row(3, decision=None)
    async with AuditWriter(engine, spill_path=spill, flush_interval=0.5) as writer:
        for n in range(20):
            writer.submit(governance_decisions, bad if n == 10 else decision_row(n))
        writer.submit(governance_decisions, decision_row(99) | {"colour": "red"})
    assert await count_rows(engine, governance_decisions) == 19
    assert metric("bastion_audit_rows_rejected_total", table="governance_decisions") == (
        rejected + 2
    )
    dead = [
        orjson.loads(line)
        for line in spill.with_name("spill.jsonl.rejected").read_bytes().splitlines()
    ]
    assert len(dead) == 2
    assert dead[0]["table"] == "governance_decisions"
    assert dead[0]["row"]["id"] == bad["id"]
    assert "colour" in dead[1]["error"]
    assert not writer.spilling


async def test_a_refused_row_is_logged_without_its_statement_or_values(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    bad = decision_row(3, decision=None, target_name="tool-with-a-telling-name")
    with capture_logs() as logs:
        async with AuditWriter(engine, spill_path=tmp_path / "spill.jsonl") as writer:
            writer.submit(governance_decisions, bad)
    refused = [e for e in logs if e["event"] == "audit_row_rejected"]
    assert [e["id"] for e in refused] == [bad["id"]]
    errors = [str(e["error"]) for e in logs if "error" in e]
    assert any("decision" in error for error in errors), errors  # the reason is named
    for error in errors:
        assert "INSERT INTO" not in error and "[SQL" not in error, error
        assert "tool-with-a-telling-name" not in error, error


async def test_writer_refuses_calls_outside_its_life_and_unknown_tables(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    writer = AuditWriter(engine, spill_path=tmp_path / "spill.jsonl")
    with pytest.raises(AuditClosedError, match="not started"):
        writer.submit(audit_events, event_row(1))
    await writer.start()
    stray = Table("stray", MetaData(), Column("id", String(36), primary_key=True))
    with pytest.raises(UnknownAuditTable, match="stray"):
        writer.submit(stray, {"id": "x"})
    keyless = Table("keyless", MetaData(), Column("name", String(10), primary_key=True))
    with pytest.raises(ValueError, match="primary key named 'id'"):
        writer.register_table(keyless)
    await writer.close()
    await writer.close()
    with pytest.raises(AuditClosedError, match="closed"):
        await writer.write(audit_events, event_row(1))
    with pytest.raises(AuditClosedError):
        await writer.start()


async def test_caller_keeps_ownership_of_its_row(engine: AsyncEngine, tmp_path: Path) -> None:
    row = event_row(1)
    del row["id"]
    async with AuditWriter(engine, spill_path=tmp_path / "spill.jsonl") as writer:
        writer.submit(audit_events, row)
        row["subject"] = "changed after submit"
    assert "id" not in row
    async with engine.connect() as conn:
        stored = (await conn.execute(select(audit_events))).mappings().one()
    assert stored["subject"] == "usr_1"
    assert len(stored["id"]) == 32
