"""Governed ``tools/call`` through Bastion against calling the MCP server directly:
``python -m bench.mcp``.

Two servers run for the whole invocation, each a separate process with the same uvicorn
settings (uvloop, httptools, no access log, one worker):

- **direct**: a fast local MCP server written with the official SDK (``MCPServer``,
  streamable HTTP, JSON responses; ``bench._support.fakes`` ``mcp``) offering a
  ``create_issue`` tool that answers at once;
- **bastion**: ``bastion --profile <tmp> serve`` with that server registered as
  ``github``. Every call is authenticated (JWT), its tool checked against the pins, run
  through the full default governance chain (scope_check, secret_scan over the
  arguments, blocklist with tool globs and RE2 rules, rate_limit with limits too high to
  deny, quota with one rule), forwarded upstream over a pooled connection, its result
  scanned for secrets, and audited (a ``governance_decisions`` row and an
  ``mcp_tool_executions`` row, batched).

Both are driven with the same request: a 2026-07-28 (stateless) ``tools/call`` POST with
its ``_meta`` envelope and ``MCP-Protocol-Version`` / ``Mcp-Method`` / ``Mcp-Name``
headers, which needs no session, so ``wrk`` (one thread, 50 connections = 50 concurrent
clients, a Lua script counting statuses and successful results) can replay it. After a
warm-up round of each, rounds alternate (direct, bastion, bastion, direct, ...); the
report gives each round and the medians. Afterwards Bastion is stopped (SIGINT: the audit queue
drains) and ``mcp_tool_executions`` is counted: it must equal the successful calls
Bastion served (its ``/metrics`` counter).
"""

from __future__ import annotations

import httpx
import orjson

from bench._support import cli, launch, wrk

SERVER = "github"
TOOL = "create_issue"
ARGUMENTS = {
    "owner": "acme",
    "repo": "billing",
    "title": "Nightly invoice export fails on the first day of the month",
    "body": (
        "The export job started at 00:05 UTC and failed after 12 minutes with a timeout "
        "from the reporting database. Steps to reproduce: run the export for the previous "
        "month while the partition for the new month is being created. Expected: the export "
        "waits for the lock or retries. Actual: the job exits with status 1 and no file is "
        "written, so finance receives an empty report. Request ids: "
        "3f2b8c1e-9a4d-4e2b-8f7a-1c2d3e4f5a6b and 7d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a."
    ),
    "labels": ["bug", "billing", "p2"],
}
REQUEST = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {
        "name": TOOL,
        "arguments": ARGUMENTS,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
        },
    },
}
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": "tools/call",
    "Mcp-Name": TOOL,
}


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("bench.mcp", __doc__, db="sqlite", rounds=3, duration=10, connections=50)
    args = parser.parse_args(argv)
    wrk.ensure()
    with launch.Workspace("mcp", args.db) as ws:
        upstream = ws.fake(
            "upstream", "mcp", probe="/mcp", method="POST", json=REQUEST, headers=HEADERS
        )
        mcp = {
            "health_interval_seconds": 3600,
            "servers": [{"name": SERVER, "url": upstream.url + "/mcp", "timeout_seconds": 30}],
        }
        bastion = ws.bastion(mcp=mcp)
        headers = {**HEADERS, "Authorization": f"Bearer {launch.credential(ws.profile, 'jwt')}"}
        urls = {
            "direct": upstream.url + "/mcp",
            "bastion": f"{bastion.url}/api/v1/mcp/{SERVER}/mcp",
        }
        # The same result both ways.
        governed = httpx.post(urls["bastion"], json=REQUEST, headers=headers, timeout=10)
        direct = httpx.post(urls["direct"], json=REQUEST, headers=headers, timeout=10)
        assert governed.status_code == 200, governed.text
        assert governed.json()["result"]["content"] == direct.json()["result"]["content"]
        script = wrk.script(ws.dir / "call.lua", orjson.dumps(REQUEST), headers, '"isError":false')
        targets = {side: (url, script) for side, url in urls.items()}

        def served() -> int:
            labels = {"method": "tools/call", "server": SERVER, "status": "success"}
            return launch.counter(bastion.url, "bastion_mcp_calls_total", **labels)

        query = "SELECT count(*) FROM mcp_tool_executions WHERE status = 'success'"
        audit = ("mcp_tool_executions success rows", query)
        lines = wrk.duel(
            ws,
            targets,
            args,
            served,
            audit,
            "calls",
            "successful results",
            cli.command(parser, argv),
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
