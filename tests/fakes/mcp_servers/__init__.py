"""Real MCP servers for the MCP domain's tests, written with the official SDK: one over
streamable HTTP (in a thread) and one over stdio (a script Bastion spawns)."""

from pathlib import Path

from tests.fakes.mcp_servers._secrets import aws_access_key_id, github_token
from tests.fakes.mcp_servers.http_server import SEARCH_DESCRIPTION, HttpMcpServer, Recorded

STDIO_SERVER = Path(__file__).with_name("stdio_server.py")

__all__ = [
    "SEARCH_DESCRIPTION",
    "STDIO_SERVER",
    "HttpMcpServer",
    "Recorded",
    "aws_access_key_id",
    "github_token",
]
