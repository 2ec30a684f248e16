"""The ``ai_requests`` table: one row per gateway request, written through the batched
audit writer (never on the hot path, never dropped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
)

from bastion.domains.gateway.translate import Usage
from bastion.infra.audit import principal_columns, principal_row
from bastion.kernel.context import RequestContext

metadata = MetaData()

ai_requests = Table(
    "ai_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    *principal_columns(),
    Column("ingress", String(16), nullable=False),
    Column("requested_model", String(255)),
    Column("route", String(255)),
    Column("provider", String(64)),
    Column("upstream_model", String(255)),
    Column("streaming", Boolean, nullable=False),
    Column("status", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cache_read_tokens", Integer, nullable=False),
    Column("cache_write_tokens", Integer, nullable=False),
    Column("cost_microdollars", BigInteger, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ttfb_ms", Float),
    Column("overhead_ms", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("response_findings", Text),
    Column("request_sha256", String(64)),
    Column("prompt", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


@dataclass(slots=True)
class RequestRecord:
    """What one gateway request accumulates on its way through, turned into a row once."""

    principal: RequestContext
    ingress: str
    streaming: bool = False
    requested_model: str | None = None
    route: str | None = None
    provider: str | None = None
    upstream_model: str | None = None
    status: int = 0
    outcome: str = "error"
    usage: Usage = field(default_factory=Usage)
    cost_microdollars: int = 0
    latency_ms: float = 0.0
    ttfb_ms: float | None = None
    overhead_ms: float = 0.0
    attempts: int = 0
    error: str | None = None
    response_findings: str | None = None
    request_sha256: str | None = None
    prompt: str | None = None

    def row(self) -> dict[str, Any]:
        # A keyword call: a ``{**principal_row(...), ...}`` display costs twice as much.
        return dict(
            principal_row(self.principal),
            ingress=self.ingress,
            requested_model=self.requested_model,
            route=self.route,
            provider=self.provider,
            upstream_model=self.upstream_model,
            streaming=self.streaming,
            status=self.status,
            outcome=self.outcome,
            input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            cache_read_tokens=self.usage.cache_read_input_tokens,
            cache_write_tokens=self.usage.cache_creation_input_tokens,
            cost_microdollars=self.cost_microdollars,
            latency_ms=round(self.latency_ms, 3),
            ttfb_ms=None if self.ttfb_ms is None else round(self.ttfb_ms, 3),
            overhead_ms=round(self.overhead_ms, 3),
            attempts=self.attempts,
            error=self.error,
            response_findings=self.response_findings,
            request_sha256=self.request_sha256,
            prompt=self.prompt,
        )
