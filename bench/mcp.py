"""Governed ``tools/call`` through Bastion against calling the MCP server directly:
``python -m bench.mcp``.

Two servers run for the whole invocation, each a separate process with the same uvicorn
settings (uvloop, httptools, no access log, one worker):

- **direct**: a fast local MCP server written with the official SDK (``MCPServer``,
  streamable HTTP, JSON responses; this module with ``--upstream PORT``) offering a
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
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml

from bench._support import create_pg, drop_pg, free_port, run_wrk, stop, wait_ready

BASTION = str(Path(sys.executable).with_name("bastion"))
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
GOVERNANCE = {
    "blocklist": {
        "tools": [
            {"id": "no-root-shell", "pattern": "sudo*"},
            {"id": "repo-deletion", "pattern": "*/delete_repository"},
        ],
        "content": [
            {"id": "codename", "literal": "project nightjar"},
            {"id": "rm-root", "regex": r"rm\s+-rf\s+/(\s|$)", "targets": ["tool"]},
        ],
    },
    "quota": {"rules": [{"subject": "user", "window": "1d", "limits": {"requests": 10**12}}]},
}
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "%(tool)s"
local f = assert(io.open("%(body)s", "rb"))
wrk.body = f:read("*a")
f:close()

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  other = 0
  success = 0
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    if string.find(body, '"isError":false', 1, true) then
      success = success + 1
    end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t_ok, t_other, t_success = 0, 0, 0
  for _, thread in ipairs(threads) do
    t_ok = t_ok + thread:get("ok")
    t_other = t_other + thread:get("other")
    t_success = t_success + thread:get("success")
  end
  io.write(string.format("BENCH ok=%%d other=%%d success=%%d\\n", t_ok, t_other, t_success))
  io.write(string.format("BENCH p50_us=%%d p99_us=%%d\\n",
    latency:percentile(50), latency:percentile(99)))
end
"""


# The upstream MCP server (run in its own process)


def upstream_server(port: int) -> None:
    import uvicorn
    from mcp.server.mcpserver import MCPServer

    mcp = MCPServer("bench-github")

    @mcp.tool(description="Open an issue in a repository.")
    def create_issue(owner: str, repo: str, title: str, body: str, labels: list[str]) -> str:
        return f"created {owner}/{repo}#4231: {title}"

    app = mcp.streamable_http_app(json_response=True)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        server_header=False,
        log_level="warning",
    )


# Setup


def _write_profile(directory: Path, db_url: str, port: int, upstream: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    secrets_path = directory / "secrets.yaml"
    fd = os.open(secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump({"jwt_signing_key": secrets.token_urlsafe(48)}, handle)
    profile = {
        "name": "bench-mcp",
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": db_url},
        "secrets_file": "secrets.yaml",
        "security": {"bootstrap_admin": {"name": "admin"}},
        "logging": {"level": "warning", "format": "json"},
        "rate_limits": {"requests_per_second": 1_000_000},
        "governance": GOVERNANCE,
        "mcp": {
            "health_interval_seconds": 3600,
            "servers": [{"name": SERVER, "url": upstream, "timeout_seconds": 30}],
        },
    }
    (directory / "profile.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return directory


def _token(profile: Path) -> str:
    from bastion.infra.config import load_profile
    from bastion.infra.security import JwtCodec
    from bastion.kernel.ids import RoleName, TenantId, UserId
    from bastion.kernel.tiers import Tier

    loaded = load_profile(profile)
    codec = JwtCodec(loaded.profile.security.jwt, loaded.secrets.get("jwt_signing_key"))
    return codec.issue(
        user_id=UserId("usr_bench"),
        tenant_id=TenantId("default"),
        role=RoleName("user"),
        tier=Tier.USER,
        scopes={"llm:invoke", "mcp:call"},
        ttl_seconds=24 * 3600,
    ).token


async def _count_rows(db_url: str) -> int:
    from sqlalchemy import func, select

    from bastion.domains.mcp import mcp_tool_executions
    from bastion.infra.db import create_engine

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            query = (
                select(func.count())
                .select_from(mcp_tool_executions)
                .where(mcp_tool_executions.c.status == "success")
            )
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


def _headers(token: str | None) -> dict[str, str]:
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": TOOL,
    }
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return headers


def _wait_ready(url: str, probe: str, process: subprocess.Popen[bytes], log: Path) -> None:
    def ready() -> bool:
        if probe == "GET":
            return httpx.get(url + "/api/v1/ready", timeout=1).status_code == 200
        reply = httpx.post(url, json=REQUEST, headers=_headers(None), timeout=1)
        return reply.status_code == 200

    wait_ready(process, log, ready)


def _settled(url: str) -> int:
    """``_served`` once replies still in flight when wrk stopped have been counted."""
    count = _served(url)
    while True:
        time.sleep(0.5)
        again = _served(url)
        if again == count:
            return count
        count = again


def _served(url: str) -> int:
    text = httpx.get(url + "/metrics", timeout=5).text
    match = re.search(
        r"^bastion_mcp_calls_total\{method=\"tools/call\",server=\"github\",status=\"success\"\} "
        r"([0-9.e+]+)$",
        text,
        re.MULTILINE,
    )
    return int(float(match.group(1))) if match else 0


# Load


@dataclass
class Round:
    server: str
    rps: float
    requests: int
    ok: int
    success: int
    other: int
    socket_errors: int
    p50_ms: float
    p99_ms: float


def _wrk(name: str, url: str, script: Path, duration: int, connections: int) -> Round:
    out = run_wrk(url, script, duration, connections)
    return Round(
        server=name,
        rps=out.rps,
        requests=out.requests,
        ok=out.counter("ok"),
        success=out.counter("success"),
        other=out.counter("other"),
        socket_errors=out.socket_errors,
        p50_ms=out.p50_ms,
        p99_ms=out.p99_ms,
    )


def run(db: str, rounds: int, duration: int, connections: int) -> str:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    db_url = (
        asyncio.run(create_pg())
        if db == "postgresql"
        else f"sqlite+aiosqlite:///{work / 'bastion.db'}"
    )
    bastion_port, upstream_port = free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}/mcp"
    profile = _write_profile(work / "profile", db_url, bastion_port, upstream_url)
    token = _token(profile)
    body_path = work / "call.json"
    body_path.write_bytes(orjson.dumps(REQUEST))
    script = work / "call.lua"
    script.write_text(LUA % {"token": token, "body": body_path, "tool": TOOL})
    bastion_log, upstream_log = work / "bastion.log", work / "upstream.log"
    with upstream_log.open("wb") as log:
        upstream = subprocess.Popen(
            [sys.executable, "-m", "bench.mcp", "--upstream", str(upstream_port)],
            stdout=log,
            stderr=log,
        )
    with bastion_log.open("wb") as log:
        bastion = subprocess.Popen(
            [BASTION, "--profile", str(profile), "serve"], stdout=log, stderr=log
        )
    governed_url = f"http://127.0.0.1:{bastion_port}/api/v1/mcp/{SERVER}/mcp"
    urls = {"direct": upstream_url, "bastion": governed_url}
    results: list[Round] = []
    try:
        _wait_ready(upstream_url, "POST", upstream, upstream_log)
        _wait_ready(f"http://127.0.0.1:{bastion_port}", "GET", bastion, bastion_log)
        # The same result both ways.
        governed = httpx.post(governed_url, json=REQUEST, headers=_headers(token), timeout=10)
        direct = httpx.post(upstream_url, json=REQUEST, headers=_headers(token), timeout=10)
        assert governed.status_code == 200, governed.text
        assert governed.json()["result"]["content"] == direct.json()["result"]["content"]
        metrics_url = f"http://127.0.0.1:{bastion_port}"
        before = _served(metrics_url)
        for name in ("direct", "bastion"):  # warm-up, discarded
            _wrk(name, urls[name], script, 3, connections)
        warmup = _settled(metrics_url) - before
        for _ in range(rounds):
            for name in ("direct", "bastion"):
                results.append(_wrk(name, urls[name], script, duration, connections))
        served = _settled(metrics_url)
    finally:
        code = stop(bastion)
        stop(upstream)
    rows = asyncio.run(_count_rows(db_url))
    if db == "postgresql":
        asyncio.run(drop_pg(db_url))
    shutil.rmtree(work, ignore_errors=True)

    lines = [
        f"`python -m bench.mcp --db {db} --rounds {rounds} --duration {duration} "
        f"--connections {connections}`; wrk 1 thread, {connections} connections "
        f"(concurrent clients), {duration} s per round; {os.cpu_count()} CPUs shared by wrk, "
        "the MCP server and Bastion",
        "",
        "| round | path | calls/s | calls | 200 | successful results | non-200 | "
        "socket errors | p50 ms | p99 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(results):
        lines.append(
            f"| {i // 2 + 1} | {r.server} | {r.rps:,.0f} | {r.requests} | {r.ok} | "
            f"{r.success} | {r.other} | {r.socket_errors} | {r.p50_ms:.1f} | {r.p99_ms:.1f} |"
        )
    median = {
        name: statistics.median(r.rps for r in results if r.server == name)
        for name in ("direct", "bastion")
    }
    ratio = median["bastion"] / median["direct"]
    wrk_success = sum(r.success for r in results if r.server == "bastion")
    errors = sum(r.other + r.socket_errors for r in results)
    failed = sum(r.ok - r.success for r in results)
    lines += [
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
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mcp")
    parser.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if args.upstream:
        upstream_server(args.upstream)
        return
    print(run(args.db, args.rounds, args.duration, args.connections))


if __name__ == "__main__":
    main()


__all__: list[Any] = ["main", "run"]
