from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.infra.audit import (
    AuditTrail,
    AuditWriter,
    FileSink,
    SiemEmitter,
    audit_events,
    governance_decisions,
)


async def test_a_decision_and_an_admin_action_reach_the_tables_and_the_siem(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    siem_path = tmp_path / "siem.jsonl"
    trail = AuditTrail(
        AuditWriter(engine, spill_path=tmp_path / "spill.jsonl"),
        SiemEmitter(FileSink(siem_path), flush_interval=0.01),
    )
    await trail.start()
    decision_id = await trail.record_decision(
        {
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "tier": "service",
            "target_type": "llm",
            "target_name": "claude-sonnet",
            "decision": "deny",
            "stage": "rate_limit",
            "rule": "service-rpm",
            "reason": "60 requests per minute exceeded",
            "trace": [{"stage": "rate_limit", "outcome": "deny", "duration_us": 9}],
            "duration_us": 9,
        }
    )
    event_id = await trail.record_event(
        {
            "event_type": "admin.api_key.revoked",
            "actor_user_id": "usr_admin",
            "subject": "key_0123",
            "action": "revoke",
            "details": {"reason": "rotation"},
        }
    )
    await trail.close()

    async with engine.connect() as conn:
        decision = (await conn.execute(select(governance_decisions))).mappings().one()
        event = (await conn.execute(select(audit_events))).mappings().one()
    assert decision["id"] == decision_id
    assert decision["stage"] == "rate_limit"
    assert event["id"] == event_id
    assert event["details"] == {"reason": "rotation"}

    lines = [orjson.loads(line) for line in siem_path.read_bytes().splitlines()]
    assert [(e["event_type"], e["id"]) for e in lines] == [
        ("governance.decision", decision_id),
        ("admin.api_key.revoked", event_id),
    ]
    assert lines[0]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert lines[0]["reason"] == "60 requests per minute exceeded"
    assert lines[1]["trace_id"] is None


def _decision(n: int) -> dict[str, object]:
    return {
        "trace_id": f"{n:032x}",
        "tier": "user",
        "target_type": "tool",
        "target_name": "Bash",
        "decision": "allow",
        "trace": [{"stage": "scope_check", "result": "allow", "duration_us": 1.5}],
        "duration_us": 2,
    }


async def test_try_record_decision_records_without_waiting_and_refuses_when_full(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    siem_path = tmp_path / "siem.jsonl"
    writer = AuditWriter(engine, spill_path=tmp_path / "spill.jsonl", queue_max=2)
    trail = AuditTrail(writer, SiemEmitter(FileSink(siem_path), flush_interval=0.01))
    await trail.start()
    # Nothing yields to the consumer between these calls: the third finds the queue full.
    first = trail.try_record_decision(_decision(1), owned=True)
    second = trail.try_record_decision(_decision(2))
    assert first is not None and second is not None
    assert trail.try_record_decision(_decision(3)) is None
    third = await trail.record_decision(_decision(3))  # waits for room instead
    await trail.close()

    async with engine.connect() as conn:
        rows = (await conn.execute(select(governance_decisions.c.id))).scalars().all()
    assert sorted(rows) == sorted([first, second, third])
    events = [orjson.loads(line) for line in siem_path.read_bytes().splitlines()]
    assert sorted(e["id"] for e in events) == sorted([first, second, third])
