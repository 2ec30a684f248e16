"""``mcp_tool_executions``: one row per governed call (``tools/call``, ``resources/read``,
``prompts/get``), written through the batched audit writer. With the decision row and the
caller's identity it is what ``bastion audit trace`` links by ``trace_id``."""

from __future__ import annotations

import enum
import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, Text

from bastion.infra.audit import new_row_id, principal_columns, principal_row
from bastion.kernel.context import RequestContext

metadata = MetaData()

mcp_tool_executions = Table(
    "mcp_tool_executions",
    metadata,
    Column("id", String(32), primary_key=True),
    *principal_columns(),
    Column("mcp_session_id", String(64)),
    Column("server", String(64), nullable=False),
    Column("method", String(64), nullable=False),
    Column("tool", String(1024), nullable=False),
    Column("arguments_sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("stage", String(64)),
    Column("rule", String(255)),
    Column("reason", Text),
    Column("protocol_version", String(32)),
    Column("duration_ms", Float, nullable=False),
    Column("upstream_ms", Float),
    Column("result_findings", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class Status(enum.StrEnum):
    SUCCESS = "success"
    ERROR = "error"
    DENIED = "denied"
    TIMEOUT = "timeout"


def arguments_sha256(arguments: object) -> str:
    """SHA-256 of the arguments as canonical JSON (sorted keys); ``{}`` when absent."""
    canonical = orjson.dumps(
        arguments if arguments is not None else {}, option=orjson.OPT_SORT_KEYS, default=str
    )
    return hashlib.sha256(canonical).hexdigest()


@dataclass(slots=True)
class Execution:
    """One governed call, filled in on its way through and written once."""

    principal: RequestContext
    server: str
    method: str
    tool: str
    arguments: object
    protocol_version: str | None
    mcp_session_id: str | None
    started: float = field(default_factory=time.perf_counter)
    status: Status = Status.ERROR
    stage: str | None = None
    rule: str | None = None
    reason: str | None = None
    upstream_ms: float | None = None
    findings: list[dict[str, object]] | None = None

    def deny(self, stage: str, rule: str | None, reason: str | None) -> None:
        self.status, self.stage, self.rule, self.reason = Status.DENIED, stage, rule, reason

    def cancelled(self) -> None:
        """The caller went away (or Bastion is stopping) before the call ended."""
        self.status, self.reason = Status.ERROR, "cancelled: the client went away"

    def row(self) -> dict[str, Any]:
        # A keyword call: a ``{**principal_row(...), ...}`` display costs twice as much.
        return dict(
            principal_row(self.principal),
            id=new_row_id(),
            mcp_session_id=self.mcp_session_id,
            server=self.server,
            method=self.method,
            tool=self.tool[:1024],
            arguments_sha256=arguments_sha256(self.arguments),
            status=self.status.value,
            stage=self.stage,
            rule=self.rule,
            reason=self.reason,
            protocol_version=self.protocol_version,
            duration_ms=round((time.perf_counter() - self.started) * 1000, 3),
            upstream_ms=None if self.upstream_ms is None else round(self.upstream_ms, 3),
            result_findings=orjson.dumps(self.findings).decode() if self.findings else None,
            created_at=datetime.now(UTC),
        )
