"""A database outage loses no row: spill to disk, replay on recovery, exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import orjson
import structlog
from sqlalchemy import insert
from structlog.testing import capture_logs

from bastion.infra.audit import AuditWriter, audit_events, governance_decisions
from tests.infra.audit._support import (
    Outage,
    count_rows,
    decision_row,
    event_row,
    ids_of,
    metric,
    wait_until,
)

TABLES = (governance_decisions, audit_events)


def _counters(name: str) -> float:
    return sum(metric(f"bastion_audit_rows_{name}_total", table=t.name) for t in TABLES)


def _writer(outage: Outage, spill: Path) -> AuditWriter:
    return AuditWriter(
        outage.engine,
        spill_path=spill,
        batch_size=50,
        flush_interval=0.005,
        retry_initial=0.02,
        retry_max=0.2,
        write_timeout=10.0,
    )


async def test_outage_mid_load_loses_nothing_and_duplicates_nothing(
    outage: Outage, tmp_path: Path
) -> None:
    before = {name: _counters(name) for name in ("written", "spilled", "replayed")}
    spill = tmp_path / "spill" / "audit.jsonl"
    writer = _writer(outage, spill)
    await writer.start()
    submitted: set[str] = set()
    cut, restored = asyncio.Event(), asyncio.Event()

    async def produce(worker: int) -> None:
        for phase, gate in enumerate((None, cut, restored)):
            if gate is not None:
                await gate.wait()
            for i in range(100):
                n = worker * 1000 + phase * 100 + i
                row = event_row(n) if n % 5 == 0 else decision_row(n)
                submitted.add(row["id"])
                table = audit_events if n % 5 == 0 else governance_decisions
                await writer.write(table, row)
                if i % 5 == 0:
                    await asyncio.sleep(0)

    producers = asyncio.gather(*(produce(w) for w in range(20)))
    # Cut while the first phase is still being written.
    await wait_until(lambda: _counters("written") - before["written"] >= 200)
    await outage.cut()
    cut.set()
    await wait_until(lambda: _counters("spilled") - before["spilled"] >= 2_000)
    assert writer.spilling
    await outage.restore()
    restored.set()
    await producers
    await asyncio.wait_for(writer.flush(), 60)
    await writer.close()

    stored = await ids_of(outage.engine, governance_decisions) + await ids_of(
        outage.engine, audit_events
    )
    assert len(submitted) == 6_000
    assert len(stored) == 6_000
    assert set(stored) == submitted
    written = _counters("written") - before["written"]
    spilled = _counters("spilled") - before["spilled"]
    replayed = _counters("replayed") - before["replayed"]
    # Each row is either acknowledged by the database or spilled, never both.
    assert written + spilled == 6_000
    assert spilled >= 2_000
    # The replay inserts every spilled row but those of the one batch that may have been
    # in flight when the connection was cut: its COMMIT can reach the server while the
    # acknowledgement is lost, and its rows are then spilled and replayed as no-ops.
    assert spilled - 50 <= replayed <= spilled
    assert not writer.spilling
    assert not spill.exists()
    assert not spill.with_name("audit.jsonl.replaying").exists()
    assert not spill.with_name("audit.jsonl.rejected").exists()


async def test_a_database_that_stops_answering_is_down_after_write_timeout(
    outage: Outage, tmp_path: Path
) -> None:
    spilled = metric("bastion_audit_rows_spilled_total", table="audit_events")
    writer = AuditWriter(
        outage.engine,
        spill_path=tmp_path / "audit.jsonl",
        batch_size=50,
        flush_interval=0.005,
        write_timeout=0.5,
        retry_initial=0.05,
        retry_max=0.2,
    )
    await writer.start()
    rows = [event_row(n) for n in range(300)]
    for row in rows[:100]:
        await writer.write(audit_events, row)
    await writer.flush()

    outage.freeze()
    try:
        for row in rows[100:]:
            await writer.write(audit_events, row)
        # Nothing answers, yet every row is on disk within a few write timeouts.
        await wait_until(
            lambda: (
                metric("bastion_audit_rows_spilled_total", table="audit_events") == spilled + 200
            ),
            timeout=10,
        )
        assert writer.spilling
    finally:
        outage.thaw()
    await asyncio.wait_for(writer.flush(), 30)
    await writer.close()
    assert sorted(await ids_of(outage.engine, audit_events)) == sorted(r["id"] for r in rows)


async def test_spill_left_by_a_previous_process_is_replayed_on_start(
    outage: Outage, tmp_path: Path
) -> None:
    spill = tmp_path / "audit.jsonl"
    await outage.cut()
    first = _writer(outage, spill)
    await first.start()
    rows = [decision_row(n) for n in range(300)]
    for row in rows:
        await first.write(governance_decisions, row)
    await first.close()
    assert len(spill.read_bytes().splitlines()) == 300

    await outage.restore()
    replayed = metric("bastion_audit_rows_replayed_total", table="governance_decisions")
    second = _writer(outage, spill)
    await second.start()
    assert second.spilling
    await asyncio.wait_for(second.flush(), 30)
    await second.close()
    assert sorted(await ids_of(outage.engine, governance_decisions)) == sorted(
        r["id"] for r in rows
    )
    assert metric("bastion_audit_rows_replayed_total", table="governance_decisions") == (
        replayed + 300
    )
    assert not spill.exists()


async def test_replay_interrupted_after_a_partial_commit_inserts_each_row_once(
    outage: Outage, tmp_path: Path
) -> None:
    spill = tmp_path / "audit.jsonl"
    await outage.cut()
    first = _writer(outage, spill)
    await first.start()
    rows = [event_row(n) for n in range(200)]
    for row in rows:
        await first.write(audit_events, row)
    await first.close()
    await outage.restore()
    # The state a crash mid-replay leaves: the file was claimed for replay and its first
    # 120 rows were committed before the process died.
    spill.rename(spill.with_name("audit.jsonl.replaying"))
    async with outage.engine.begin() as conn:
        await conn.execute(insert(audit_events), rows[:120])

    replayed = metric("bastion_audit_rows_replayed_total", table="audit_events")
    async with _writer(outage, spill) as second:
        await asyncio.wait_for(second.flush(), 30)
    assert await count_rows(outage.engine, audit_events) == 200
    assert metric("bastion_audit_rows_replayed_total", table="audit_events") == replayed + 80
    assert not spill.with_name("audit.jsonl.replaying").exists()


async def test_undecodable_spill_lines_become_dead_letters(outage: Outage, tmp_path: Path) -> None:
    spill = tmp_path / "audit.jsonl"
    good = [event_row(n) for n in range(2)]
    lines = [orjson.dumps({"table": "audit_events", "row": row}) for row in good]
    lines.append(orjson.dumps({"table": "no_such_table", "row": {"id": "x"}}))
    # A crash in the middle of an append leaves a torn last line.
    spill.write_bytes(b"\n".join(lines) + b'\n{"table": "audit_ev')

    async with _writer(outage, spill) as writer:
        await asyncio.wait_for(writer.flush(), 30)
    assert sorted(await ids_of(outage.engine, audit_events)) == sorted(r["id"] for r in good)
    dead = spill.with_name("audit.jsonl.rejected").read_bytes().splitlines()
    assert len(dead) == 2
    assert b"no_such_table" in dead[0]
    assert b"undecodable" in dead[1]


async def test_a_long_outage_logs_its_deferred_replays_once_not_at_every_retry(
    outage: Outage, tmp_path: Path
) -> None:
    writer = AuditWriter(
        outage.engine,
        spill_path=tmp_path / "audit.jsonl",
        flush_interval=0.005,
        retry_initial=0.01,
        retry_max=0.02,
        write_timeout=0.5,
    )
    await writer.start()
    await outage.cut()
    # A server started by an earlier test may have set the level to warning: the replay's
    # info line must pass here whatever the process's logging is.
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    with contextlib.ExitStack() as restore:
        restore.callback(structlog.configure, **before)
        logs = restore.enter_context(capture_logs())
        await writer.write(audit_events, event_row(1))
        await wait_until(lambda: writer.spilling)
        await asyncio.sleep(1.0)  # dozens of retries at 20 ms
        await outage.restore()
        await asyncio.wait_for(writer.flush(), 30)
    await writer.close()
    deferred = [e for e in logs if e["event"] == "audit_replay_deferred"]
    (replayed,) = [e for e in logs if e["event"] == "audit_spill_replayed"]
    assert replayed["deferred"] >= 10
    assert 1 <= len(deferred) <= 3, deferred  # one per distinct error, not one per retry
    assert await count_rows(outage.engine, audit_events) == 1
