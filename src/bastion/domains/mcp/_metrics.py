"""Prometheus metrics of the MCP proxy, served on ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SERVER_UP = Gauge(
    "bastion_mcp_server_up",
    "1 when the last health check of the MCP server passed, 0 when it failed",
    ["server"],
)
SERVER_TOOLS = Gauge(
    "bastion_mcp_server_tools", "Tools the MCP server offered at its last listing", ["server"]
)
QUARANTINED_TOOLS = Gauge(
    "bastion_mcp_quarantined_tools", "Tools quarantined after a definition change", ["server"]
)
CALLS = Counter(
    "bastion_mcp_calls_total",
    "Governed MCP calls (tools/call, resources/read, prompts/get) by outcome",
    ["server", "method", "status"],
)
CALL_SECONDS = Histogram(
    "bastion_mcp_call_duration_seconds",
    "Time from request to result of a governed MCP call",
    ["server"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
)
RESTARTS = Counter(
    "bastion_mcp_stdio_restarts_total", "Restarts of supervised stdio MCP servers", ["server"]
)
