"""The analytics read model: the columns it reads of the audit tables, and its own
rollup and watermark tables.

The domain never imports another domain, so ``ai_requests`` (the gateway's) and
``mcp_tool_executions`` (the MCP domain's) are mirrored here with the columns analytics
reads and nothing else; ``governance_decisions`` is the platform's audit table. The
schema of the tables analytics owns is its migrations (``001_rollups``, then
``002_agent_dimension``, which added ``agent_id`` to the rollup key).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import BigInteger, Column, DateTime, Float, MetaData, String, Table

from bastion.domains.analytics._histogram import LATENCY_COLUMNS, OVERHEAD_COLUMNS
from bastion.infra.audit import PRINCIPAL_WIDTHS

AGENT_ID_WIDTH = PRINCIPAL_WIDTHS["agent_id"]

metadata = MetaData()

ai_requests = Table(
    "ai_requests",
    metadata,
    Column("user_id", String(128)),
    Column("tenant_id", String(128)),
    Column("api_key_id", String(128)),
    Column("client_id", String(255)),
    Column("agent_id", String(AGENT_ID_WIDTH)),
    Column("requested_model", String(255)),
    Column("route", String(255)),
    Column("provider", String(64)),
    Column("outcome", String(16)),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("cache_read_tokens", BigInteger),
    Column("cache_write_tokens", BigInteger),
    Column("cost_microdollars", BigInteger),
    Column("latency_ms", Float),
    Column("overhead_ms", Float),
    Column("created_at", DateTime(timezone=True)),
)

mcp_tool_executions = Table(
    "mcp_tool_executions",
    metadata,
    Column("user_id", String(128)),
    Column("tenant_id", String(128)),
    Column("api_key_id", String(128)),
    Column("client_id", String(255)),
    Column("agent_id", String(AGENT_ID_WIDTH)),
    Column("server", String(64)),
    Column("method", String(64)),
    Column("tool", String(1024)),
    Column("status", String(16)),
    Column("stage", String(64)),
    Column("rule", String(255)),
    Column("duration_ms", Float),
    Column("upstream_ms", Float),
    Column("created_at", DateTime(timezone=True)),
)

USAGE_ROLLUP_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "tenant": "tenant_id",
        "user": "user_id",
        "api_key": "api_key_id",
        "client": "client_id",
        "model": "model",
        "route": "route",
        "provider": "provider",
        "agent": "agent_id",
    }
)
"""The rollup's key besides ``hour``: every usage dimension that is not a time bucket,
and the rollup column that holds it. The job inserts one row per hour and distinct
combination of these (``GROUP BY``); no index enforces it, since each run deletes an
hour's rows before it inserts them again."""

USAGE_DIMENSION_COLUMNS = tuple(USAGE_ROLLUP_KEYS.values())

SUM_COLUMNS = (
    "requests",
    "allowed",
    "denied",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_microdollars",
)


def _rollup(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("hour", BigInteger, nullable=False),  # hours since the epoch, UTC
        Column("tenant_id", String(128)),
        Column("user_id", String(128)),
        Column("api_key_id", String(128)),
        Column("client_id", String(255)),
        Column("model", String(255)),
        Column("route", String(255)),
        Column("provider", String(64)),
        Column("agent_id", String(AGENT_ID_WIDTH)),
        *(Column(name, BigInteger, nullable=False) for name in SUM_COLUMNS),
        *(Column(name, BigInteger, nullable=False) for name in LATENCY_COLUMNS),
        *(Column(name, BigInteger, nullable=False) for name in OVERHEAD_COLUMNS),
    )


usage_hourly = _rollup("analytics_usage_hourly")
usage_daily = _rollup("analytics_usage_daily")
"""One row per day (``hour`` is the day's first hour) for the days below the watermark."""

watermarks = Table(
    "analytics_watermarks",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("hour", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

rolled_hours = Table(
    "analytics_rolled_hours",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("hour", BigInteger, primary_key=True),
    Column("row_count", BigInteger, nullable=False),
    Column("rolled_at", DateTime(timezone=True), nullable=False),
)
