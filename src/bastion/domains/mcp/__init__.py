"""The ``mcp`` domain: the MCP server registry and the governed proxy in front of it.

Servers come from the profile (``mcp.servers``, ``services/mcp/*.yaml``), from
extensions' ``tool_providers()`` and from standalone ``mcp-server`` manifests. Clients
reach each at ``/api/v1/mcp/{server}/mcp`` over streamable HTTP (2025-06-18, 2025-11-25
or 2026-07-28); Bastion speaks streamable HTTP or stdio to the server, with credentials
from the registry. Tool listings are filtered per caller, tool calls go through the
governance chain and are audited in ``mcp_tool_executions``, and every tool definition is
pinned: a changed one is quarantined until ``bastion mcp tools approve``.
"""

from typing import TYPE_CHECKING

from bastion.domains.mcp._extension import MCP, McpExtension
from bastion.domains.mcp._health import Health, HealthStatus
from bastion.domains.mcp._pins import PinStatus, PinStore, ToolPin, mcp_tool_pins
from bastion.domains.mcp._records import Status, mcp_tool_executions
from bastion.domains.mcp._registry import Registry, ServerSpec
from bastion.domains.mcp.errors import (
    McpConfigError,
    McpError,
    PinError,
    RpcFailure,
)
from bastion.kernel.lazy import lazy_attributes

if TYPE_CHECKING:
    from bastion.domains.mcp._service import McpService


# The service stands on the MCP SDK (about 0.5 s to import): loaded on first use, so
# discovering this extension (every CLI command does) does not pay for it.
__getattr__ = lazy_attributes(__name__, {"McpService": "bastion.domains.mcp._service"})
from bastion.domains.mcp._settings import (
    McpCredentials,
    McpSecretRef,
    McpServerSettings,
    McpSettings,
    McpToolFilter,
    check_server_name,
)

__all__ = [
    "MCP",
    "Health",
    "HealthStatus",
    "McpConfigError",
    "McpCredentials",
    "McpError",
    "McpExtension",
    "McpSecretRef",
    "McpServerSettings",
    "McpService",
    "McpSettings",
    "McpToolFilter",
    "PinError",
    "PinStatus",
    "PinStore",
    "Registry",
    "RpcFailure",
    "ServerSpec",
    "Status",
    "ToolPin",
    "check_server_name",
    "mcp_tool_executions",
    "mcp_tool_pins",
]
