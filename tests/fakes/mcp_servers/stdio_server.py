"""A real MCP server (the SDK's ``MCPServer``) over stdio, for Bastion to spawn.

It appends one JSON line per event to the file named by ``FAKE_MCP_RECORD``: its start
(pid, and which of the watched environment variables it was given) and every tool call.
Run as a script: ``python stdio_server.py``.
"""

from __future__ import annotations

import asyncio
import json
import os

from mcp.server.mcpserver import MCPServer

RECORD = os.environ.get("FAKE_MCP_RECORD")
WATCHED = ("UPSTREAM_TOKEN", "BASTION_TEST_SENTINEL", "PLAIN_SETTING")

mcp = MCPServer("fake-stdio")


def record(event: dict[str, object]) -> None:
    if RECORD:
        with open(RECORD, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")


@mcp.tool(description="Echo the text back.")
def echo(text: str) -> str:
    record({"event": "call", "tool": "echo", "pid": os.getpid(), "arguments": {"text": text}})
    return text


@mcp.tool(description="The id of the process that answers.")
def whoami() -> int:
    record({"event": "call", "tool": "whoami", "pid": os.getpid(), "arguments": {}})
    return os.getpid()


@mcp.tool(description="Wait for a while, then answer.")
async def sleep(seconds: float) -> str:
    record(
        {"event": "call", "tool": "sleep", "pid": os.getpid(), "arguments": {"seconds": seconds}}
    )
    await asyncio.sleep(seconds)
    return "awake"


if __name__ == "__main__":
    record(
        {
            "event": "start",
            "pid": os.getpid(),
            "env": {name: os.environ.get(name) for name in WATCHED},
        }
    )
    mcp.run("stdio")
