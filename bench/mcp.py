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
clients, a Lua script counting statuses and successful results) can replay it. Rounds
alternate direct, bastion, direct, bastion ... after a warm-up round; the report gives
each round and the medians. Afterwards Bastion is stopped (SIGINT: the audit queue
drains) and ``mcp_tool_executions`` is counted: it must equal the successful calls
Bastion served (its ``/metrics`` counter).

Options: ``--db sqlite|postgresql`` (default sqlite; PostgreSQL gets a throwaway database
on ``BASTION_BENCH_PG``), ``--rounds N`` (default 3), ``--duration S`` per round (default
10), ``--connections C`` (default 50).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
from pathlib import Path

import httpx
import orjson

from bench._support import launch, wrk

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


async def _count_rows(db_url: str) -> int:
    from sqlalchemy import func, select

    from bastion.domains.mcp import mcp_tool_executions as table

    query = select(func.count()).select_from(table).where(table.c.status == "success")
    return int((await launch.count_rows(db_url, query))[0][0])


def _served(url: str) -> int:
    found = launch.metric(url, "bastion_mcp_calls_total", method="tools/call", server=SERVER)
    return found.get("success", 0)


def run(db: str, rounds: int, duration: int, connections: int) -> str:
    wrk.ensure()
    work = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    db_url = launch.database(db, work)
    bastion_port, upstream_port = launch.free_port(), launch.free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}/mcp"
    mcp = {
        "health_interval_seconds": 3600,
        "servers": [{"name": SERVER, "url": upstream_url, "timeout_seconds": 30}],
    }
    profile = launch.write_profile(work / "profile", "bench-mcp", bastion_port, db_url, mcp=mcp)
    token = launch.jwt(profile)
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    body_path = work / "call.json"
    body_path.write_bytes(orjson.dumps(REQUEST))
    script = wrk.script(work / "call.lua", body_path, headers, '"isError":false')
    bastion_log, upstream_log = work / "bastion.log", work / "upstream.log"
    upstream = launch.serve_fake("mcp", upstream_port, upstream_log)
    bastion = launch.spawn([launch.BASTION, "--profile", str(profile), "serve"], bastion_log)
    bastion_url = f"http://127.0.0.1:{bastion_port}"
    governed_url = f"{bastion_url}/api/v1/mcp/{SERVER}/mcp"
    targets = {"direct": (upstream_url, script), "bastion": (governed_url, script)}
    try:
        probe = launch.answers(upstream_url, "POST", json=REQUEST, headers=HEADERS)
        launch.wait_ready(upstream, upstream_log, probe)
        launch.wait_ready(bastion, bastion_log, launch.answers(bastion_url + "/api/v1/ready"))
        # The same result both ways.
        governed = httpx.post(governed_url, json=REQUEST, headers=headers, timeout=10)
        direct = httpx.post(upstream_url, json=REQUEST, headers=headers, timeout=10)
        assert governed.status_code == 200, governed.text
        assert governed.json()["result"]["content"] == direct.json()["result"]["content"]
        before = _served(bastion_url)
        wrk.alternate(targets, 1, 3, connections)  # warm-up, discarded
        warmup = launch.settled(lambda: _served(bastion_url)) - before
        results = wrk.alternate(targets, rounds, duration, connections)
        served = launch.settled(lambda: _served(bastion_url))
    finally:
        code = launch.stop(bastion)
        launch.stop(upstream)
    rows = asyncio.run(_count_rows(db_url))
    if db == "postgresql":
        asyncio.run(launch.drop_pg(db_url))
    shutil.rmtree(work, ignore_errors=True)

    median = {
        name: statistics.median(r.rps for r in results if r.side == name)
        for name in ("direct", "bastion")
    }
    ratio = median["bastion"] / median["direct"]
    wrk_success = sum(r.matched for r in results if r.side == "bastion")
    errors = sum(r.errors for r in results)
    failed = sum(r.ok - r.matched for r in results)
    return "\n".join(
        [
            f"`python -m bench.mcp --db {db} --rounds {rounds} --duration {duration} "
            f"--connections {connections}`; wrk 1 thread, {connections} connections "
            f"(concurrent clients), {duration} s per round; {os.cpu_count()} CPUs shared by "
            "wrk, the MCP server and Bastion",
            "",
            *wrk.rounds_table(results, "path", "calls", "successful results"),
            "",
            "| | value |",
            "|---|---:|",
            f"| direct median calls/s | {median['direct']:,.0f} |",
            f"| bastion (governed) median calls/s | {median['bastion']:,.0f} |",
            f"| ratio (target >= 50%) | {ratio:.1%} |",
            f"| errors (non-200 + socket), all rounds | {errors} |",
            f"| 200s without a successful result, all rounds | {failed} |",
            f"| governed calls served (Bastion's /metrics), incl. warm-up and sanity | {served} |",
            f"| mcp_tool_executions success rows after shutdown | {rows} |",
            f"| every call audited (rows == calls served) | {'yes' if rows == served else 'NO'} |",
            f"| wrk-counted successes, measured rounds (<= served: in-flight replies at a "
            f"round's end are not counted) | {wrk_success} (server: {served - before - warmup}) |",
            f"| bastion exit status after SIGINT (drain) | {code} |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mcp")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    print(run(args.db, args.rounds, args.duration, args.connections))


if __name__ == "__main__":
    main()
