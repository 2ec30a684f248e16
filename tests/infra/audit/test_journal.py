"""The write-ahead journal: a writer killed with rows still in its batch window loses
none of them, and the next start replays them without duplicating committed rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import AuditWriter, governance_decisions
from bastion.infra.audit._spill import encode_item
from tests.infra.audit._support import count_rows, decision_row, ids_of

ROOT = Path(__file__).resolve().parents[3]

# Writes rows through a writer whose batches never fill nor expire, prints their ids once
# every write() has returned (the point where a server sends its response), then dies.
KILLED_WRITER = """
import asyncio, os, signal, sys
from pathlib import Path
from bastion.infra.audit import AuditWriter, governance_decisions
from bastion.infra.db import create_engine
from tests.infra.audit._support import decision_row

async def main() -> None:
    engine = create_engine(sys.argv[1])
    committed = [decision_row(i) for i in range(20)]
    first = AuditWriter(engine, spill_path=Path(sys.argv[2] + ".first"), journal=False)
    async with first:
        for row in committed:
            await first.write(governance_decisions, row)
    writer = AuditWriter(engine, spill_path=Path(sys.argv[2]), batch_size=10_000,
                         flush_interval=600, journal=sys.argv[4] == "on")
    await writer.start()
    pending = [decision_row(100 + i) for i in range(int(sys.argv[3]))]
    await asyncio.gather(*(writer.write(governance_decisions, row) for row in pending))
    for row in committed + pending:
        print(row["id"])
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


def _run_killed(db_url: str, spill: Path, rows: int, journal: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, db_url, str(spill), str(rows), journal],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    return result.stdout.split()


async def _restart(engine: AsyncEngine, spill: Path) -> None:
    writer = AuditWriter(engine, spill_path=spill, flush_interval=0.005, retry_initial=0.02)
    await writer.start()
    await writer.flush()
    await writer.close()


async def test_rows_of_a_killed_writer_are_replayed_once(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    spill = tmp_path / "audit" / "spill.jsonl"
    accepted = _run_killed(db_url, spill, 300, "on")
    assert len(accepted) == 320
    assert await count_rows(engine, governance_decisions) == 20  # the rest was in memory
    await _restart(engine, spill)
    stored = await ids_of(engine, governance_decisions)
    assert sorted(stored) == sorted(accepted)
    assert not list(spill.parent.glob("spill.jsonl.journal-*"))
    assert not spill.with_name("spill.jsonl.rejected").exists()


async def test_without_the_journal_a_kill_loses_the_batch_window(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    """What the journal is for: the same run with it off loses every uncommitted row."""
    spill = tmp_path / "audit" / "spill.jsonl"
    accepted = _run_killed(db_url, spill, 50, "off")
    await _restart(engine, spill)
    assert len(await ids_of(engine, governance_decisions)) == len(accepted) - 50


async def test_a_segment_with_committed_rows_adds_only_the_missing_ones(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """A process can die after its batch committed and before its segment was removed:
    replaying that segment must not duplicate a row."""
    spill = tmp_path / "audit" / "spill.jsonl"
    committed = [decision_row(i) for i in range(30)]
    writer = AuditWriter(engine, spill_path=spill, journal=False)
    async with writer:
        for row in committed:
            await writer.write(governance_decisions, row)
    missing = [decision_row(100 + i) for i in range(10)]
    segment = spill.with_name("spill.jsonl.journal-000001")
    segment.write_bytes(
        b"".join(encode_item((governance_decisions, row)) for row in committed + missing)
    )
    await _restart(engine, spill)
    stored = await ids_of(engine, governance_decisions)
    assert len(stored) == len(set(stored)) == 40
    assert set(stored) == {row["id"] for row in committed + missing}


async def test_a_second_writer_on_the_same_spill_path_leaves_the_journal_alone(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """A CLI command next to a running server boots a writer on the same spill path: it
    must neither adopt nor delete the live writer's segments."""
    spill = tmp_path / "audit" / "spill.jsonl"
    live = AuditWriter(engine, spill_path=spill, batch_size=10_000, flush_interval=600)
    await live.start()
    try:
        await live.write(governance_decisions, decision_row(1))
        segments = list(spill.parent.glob("spill.jsonl.journal-*"))
        assert len(segments) == 1 and segments[0].stat().st_size > 0
        other = AuditWriter(engine, spill_path=spill, flush_interval=0.005)
        async with other:
            await other.write(governance_decisions, decision_row(2))
        assert segments[0].exists() and segments[0].stat().st_size > 0
    finally:
        await live.close()
    assert await count_rows(engine, governance_decisions) == 2
    assert not list(spill.parent.glob("spill.jsonl.journal-*"))


@pytest.mark.parametrize("rotate_bytes", [1])
async def test_segments_rotate_and_are_deleted_once_persisted(
    engine: AsyncEngine, tmp_path: Path, rotate_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under sustained load the journal never empties: it rotates, and a sealed segment
    goes once every row in it is persisted."""
    import bastion.infra.audit._journal as journal_module

    monkeypatch.setattr(journal_module, "ROTATE_BYTES", rotate_bytes)
    spill = tmp_path / "audit" / "spill.jsonl"
    writer = AuditWriter(engine, spill_path=spill, batch_size=5, flush_interval=0.005)
    async with writer:
        for i in range(40):
            await writer.write(governance_decisions, decision_row(i))
        await writer.flush()
        assert len(list(spill.parent.glob("spill.jsonl.journal-*"))) <= 1
    assert await count_rows(engine, governance_decisions) == 40
