import asyncio
from pathlib import Path
from bastion.infra.audit import AuditWriter, audit_events
from tests.infra.audit._support import Outage, event_row, metric


async def test_debug(outage: Outage, tmp_path: Path) -> None:
    if outage.proxy is None:
        return
    writer = AuditWriter(
        outage.engine,
        spill_path=tmp_path / "a.jsonl",
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
    for row in rows[100:]:
        await writer.write(audit_events, row)
    for i in range(8):
        await asyncio.sleep(0.5)
        print(i, writer.queue_depth, writer.spilling, writer._consumer, flush=True)
    outage.thaw()
    await writer.close()
