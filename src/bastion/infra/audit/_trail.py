"""The audit trail: the lossless row and its SIEM copy, recorded together."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table

from bastion.infra.audit._errors import AuditQueueFull
from bastion.infra.audit._rows import AuditEventRow, GovernanceDecisionRow, new_row_id
from bastion.infra.audit._siem import SiemEmitter
from bastion.infra.audit._siem_event import siem_event
from bastion.infra.audit._tables import audit_events, governance_decisions
from bastion.infra.audit._writer import AuditWriter

DECISION_EVENT = "governance.decision"


class AuditTrail:
    """Records governance decisions and administrative actions: each becomes a row through
    the ``AuditWriter`` and, when a ``SiemEmitter`` is given, a SIEM event with the same
    ``id``. The caller only waits when the writer's queue is full."""

    def __init__(self, writer: AuditWriter, siem: SiemEmitter | None = None) -> None:
        self.writer = writer
        self.siem = siem

    async def start(self) -> None:
        await self.writer.start()
        if self.siem is not None:
            await self.siem.start()

    async def close(self) -> None:
        await self.writer.close()
        if self.siem is not None:
            await self.siem.close()

    async def record_decision(self, row: GovernanceDecisionRow, *, owned: bool = False) -> str:
        """Record one governance decision (SIEM ``event_type`` ``governance.decision``).
        Returns the row id. ``owned``: the row was built for this call and is handed over,
        so it is not copied (the caller must not touch it again)."""
        return await self._record(governance_decisions, row, DECISION_EVENT, owned=owned)

    async def record_event(self, row: AuditEventRow) -> str:
        """Record one administrative action (SIEM ``event_type`` is the row's). Returns the
        row id."""
        return await self._record(audit_events, row, row["event_type"])

    def try_record_decision(self, row: GovernanceDecisionRow, *, owned: bool = False) -> str | None:
        """``record_decision`` without waiting: the row id, or None when the writer's queue
        is full and nothing was recorded (then ``await record_decision``). No coroutine
        per call: every governed request records one decision."""
        full = _completed(row, owned)
        try:
            self.writer.submit(governance_decisions, full, owned=True)
        except AuditQueueFull:
            return None
        return self._recorded(DECISION_EVENT, full)

    async def _record(
        self, table: Table, row: Mapping[str, Any], event_type: str, *, owned: bool = False
    ) -> str:
        full = _completed(row, owned)
        await self.writer.write(table, full, owned=True)
        return self._recorded(event_type, full)

    def _recorded(self, event_type: str, row: Mapping[str, Any]) -> str:
        """After the row is queued: its SIEM copy, and its id."""
        if self.siem is not None:
            self.siem.emit(siem_event(event_type, row))
        return str(row["id"])


def _completed(row: Mapping[str, Any], owned: bool) -> dict[str, Any]:
    """The row to enqueue, with its id and creation time."""
    full = row if owned and type(row) is dict else dict(row)
    if full.get("id") is None:
        full["id"] = new_row_id()
    if full.get("created_at") is None:
        full["created_at"] = datetime.now(UTC)
    return full
