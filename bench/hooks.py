"""``POST /api/v1/hooks/govern`` against a bare Starlette baseline: ``python -m bench.hooks``.

Two servers run side by side for the whole invocation, each a separate process under the
same uvicorn settings as ``bastion serve`` (uvloop, httptools, no access log, one worker):

- **bastion**: ``bastion --profile <tmp> serve`` with a bench profile: the full default
  chain (scope_check, secret_scan, blocklist with tool globs and RE2 rules, rate_limit on
  the in-process limiter with limits high enough never to deny, quota with one rule),
  JWT authentication, and the audit trail on (every decision batched into
  ``governance_decisions``);
- **baseline**: a bare Starlette app (this module with ``--baseline PORT``) whose one route
  reads the request body and returns the exact bytes Bastion answers for an allowed
  ``PreToolUse``.

The load generator is ``wrk`` (one thread, 200 connections, a Lua script posting a
realistic Claude Code ``PreToolUse`` payload with a bearer token and counting statuses and
``"allow"`` bodies). Rounds alternate baseline, bastion, baseline, bastion ... after a
warm-up round, and the report gives each round and the medians. Afterwards Bastion is
stopped (SIGINT: the audit queue drains) and ``governance_decisions`` is counted: it must
equal the number of ``POST`` requests Bastion answered 200 (its ``/metrics`` counter) and
be at least wrk's count of 200s (wrk does not count replies still in flight when a
round ends).

Options: ``--db sqlite|postgresql`` (default sqlite; PostgreSQL gets a throwaway database
on ``BASTION_BENCH_PG``, default ``postgresql://postgres@127.0.0.1:5432/postgres``),
``--rounds N`` (default 3), ``--duration S`` per round (default 10), ``--connections C``
(default 200), ``--disabled a,b`` (stages traced ``disabled``: an ablation showing what
the rest of the request path costs).
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

HOOK_PATH = "/api/v1/hooks/govern"
BASTION = str(Path(sys.executable).with_name("bastion"))
ALLOW_RESPONSE = {
    "hookSpecificOutput": {
        "hookEventName": "PreToolUse",
        "permissionDecision": "allow",
        "permissionDecisionReason": "allowed by Bastion governance",
    }
}
PAYLOAD = {
    "session_id": "9f1c2a7e-2b41-4d8e-a3f5-6c0d1e2f3a4b",
    "transcript_path": "/home/dev/.claude/projects/-home-dev-billing/9f1c2a7e.jsonl",
    "cwd": "/home/dev/billing",
    "permission_mode": "default",
    "hook_event_name": "PreToolUse",
    "tool_name": "mcp__github__create_issue",
    "tool_input": {
        "owner": "acme",
        "repo": "billing",
        "title": "Nightly invoice export fails on the first day of the month",
        "body": (
            "The export job started at 00:05 UTC and failed after 12 minutes with a "
            "timeout from the reporting database. Steps to reproduce: run the export "
            "for the previous month while the partition for the new month is being "
            "created. Expected: the export waits for the lock or retries. Actual: the "
            "job exits with status 1 and no file is written, so finance receives an "
            "empty report. Logs are attached in the incident channel; the request ids "
            "are 3f2b8c1e-9a4d-4e2b-8f7a-1c2d3e4f5a6b and 7d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a."
        ),
        "labels": ["bug", "billing", "p2"],
    },
}
GOVERNANCE = {
    "blocklist": {
        "tools": [
            {"id": "no-root-shell", "pattern": "sudo*"},
            {"id": "payroll-export", "pattern": "payroll/export_*"},
        ],
        "content": [
            {"id": "codename", "literal": "project nightjar"},
            {"id": "rm-root", "regex": r"rm\s+-rf\s+/(\s|$)", "targets": ["tool"]},
            {"id": "ssn", "regex": r"\b\d{3}-\d{2}-\d{4}\b", "targets": ["prompt"]},
        ],
    },
    "quota": {"rules": [{"subject": "user", "window": "1d", "limits": {"requests": 10**12}}]},
}
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
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
  allow = 0
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    if string.find(body, '"permissionDecision":"allow"', 1, true) then
      allow = allow + 1
    end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t_ok, t_other, t_allow = 0, 0, 0
  for _, thread in ipairs(threads) do
    t_ok = t_ok + thread:get("ok")
    t_other = t_other + thread:get("other")
    t_allow = t_allow + thread:get("allow")
  end
  io.write(string.format("BENCH ok=%%d other=%%d allow=%%d\\n", t_ok, t_other, t_allow))
  io.write(string.format("BENCH p50_us=%%d p99_us=%%d\\n",
    latency:percentile(50), latency:percentile(99)))
end
"""


# The baseline: a bare route in the same Bastion server (the issue's "from the same
# server"), or a bare Starlette app in its own process (--baseline-mode process)

BASELINE_PATH = "/bench/baseline/govern"


def _baseline_extension() -> type:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from bastion.extension import ApiExtension, ExtensionContext, ExtensionMeta, ExtensionRouter

    body = orjson.dumps(ALLOW_RESPONSE)

    async def govern(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    class BenchBaseline(ApiExtension):
        """A bare Starlette endpoint answering the allow JSON, behind the same core
        middleware as every route (there is no opt-out). PUT keeps its 200s out of the
        POST counter that is checked against the decision rows."""

        meta = ExtensionMeta(id="bench-baseline", version="1")

        def router(self, ctx: ExtensionContext) -> ExtensionRouter:
            return ExtensionRouter([Route("/govern", govern, methods=["PUT"])], "/bench/baseline")

    return BenchBaseline


def serve_with_baseline(profile: Path) -> None:
    """``bastion serve`` exactly (its event loop for the process), plus the baseline route."""
    from bastion.infra.config import load_profile
    from bastion.runtime.logs import configure_process_logging
    from bastion.server import serve
    from bastion.server._loop import new_serving_loop

    loaded = load_profile(profile)
    configure_process_logging(loaded)
    try:
        with asyncio.Runner(loop_factory=new_serving_loop) as runner:
            runner.run(serve(loaded, extra=[_baseline_extension()]))
    except KeyboardInterrupt:
        pass  # SIGINT is how the run stops it; the audit queue has drained by now


def baseline_server(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = orjson.dumps(ALLOW_RESPONSE)

    async def govern(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route(HOOK_PATH, govern, methods=["POST"])])
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


def _write_profile(directory: Path, db_url: str, port: int, disabled: tuple[str, ...] = ()) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    secrets_path = directory / "secrets.yaml"
    fd = os.open(secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump({"jwt_signing_key": secrets.token_urlsafe(48)}, handle)
    profile = {
        "name": "bench-hooks",
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": db_url},
        "secrets_file": "secrets.yaml",
        "security": {"bootstrap_admin": {"name": "admin"}},
        "logging": {"level": "warning", "format": "json"},
        "rate_limits": {"requests_per_second": 1_000_000},
        "governance": {**GOVERNANCE, "disabled": list(disabled)},
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

    from bastion.infra.audit import governance_decisions
    from bastion.infra.db import create_engine

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            query = (
                select(func.count())
                .select_from(governance_decisions)
                .where(governance_decisions.c.user_id == "usr_bench")
            )
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


def _wait_ready(url: str, probe: str, process: subprocess.Popen[bytes], log: Path) -> None:
    def ready() -> bool:
        if probe == "GET":
            return httpx.get(url + "/api/v1/ready", timeout=1).status_code == 200
        return httpx.post(url + HOOK_PATH, content=b"{}", timeout=1).status_code == 200

    wait_ready(process, log, ready)


def _post_200s(url: str) -> int:
    """The server's count of POST 200s, once it has settled: wrk stops with up to one
    request per connection still in flight, and those finish after it returns."""
    last = -1
    while True:
        count = _read_post_200s(url)
        if count == last:
            return count
        last = count
        time.sleep(0.25)


def _read_post_200s(url: str) -> int:
    text = httpx.get(url + "/metrics", timeout=5).text
    match = re.search(
        r'^bastion_http_requests_total\{method="POST",status="200"\} ([0-9.e+]+)$',
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
    allow: int
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
        allow=out.counter("allow"),
        other=out.counter("other"),
        socket_errors=out.socket_errors,
        p50_ms=out.p50_ms,
        p99_ms=out.p99_ms,
    )


def run(
    db: str,
    rounds: int,
    duration: int,
    connections: int,
    disabled: tuple[str, ...] = (),
    same_server: bool = True,
) -> str:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="bench-hooks-"))
    db_url = (
        asyncio.run(create_pg())
        if db == "postgresql"
        else f"sqlite+aiosqlite:///{work / 'bastion.db'}"
    )
    bastion_port, baseline_port = free_port(), free_port()
    profile = _write_profile(work / "profile", db_url, bastion_port, disabled)
    token = _token(profile)
    body_path = work / "payload.json"
    body_path.write_bytes(orjson.dumps(PAYLOAD))
    script = work / "hook.lua"
    script.write_text(LUA % {"token": token, "body": body_path})
    scripts = {"bastion": script, "baseline": script}
    if same_server:
        scripts["baseline"] = work / "baseline.lua"
        scripts["baseline"].write_text(
            (LUA % {"token": token, "body": body_path}).replace(
                'wrk.method = "POST"', 'wrk.method = "PUT"'
            )
        )
    bastion_log, baseline_log = work / "bastion.log", work / "baseline.log"
    bastion_cmd = (
        [sys.executable, "-m", "bench.hooks", "--serve-with-baseline", str(profile)]
        if same_server
        else [BASTION, "--profile", str(profile), "serve"]
    )
    with bastion_log.open("wb") as log:
        bastion = subprocess.Popen(bastion_cmd, stdout=log, stderr=log)
    baseline: subprocess.Popen[bytes] | None = None
    if not same_server:
        with baseline_log.open("wb") as log:
            baseline = subprocess.Popen(
                [sys.executable, "-m", "bench.hooks", "--baseline", str(baseline_port)],
                stdout=log,
                stderr=log,
            )
    bastion_url = f"http://127.0.0.1:{bastion_port}"
    targets = {
        "baseline": (
            bastion_url + BASELINE_PATH
            if same_server
            else f"http://127.0.0.1:{baseline_port}{HOOK_PATH}"
        ),
        "bastion": bastion_url + HOOK_PATH,
    }
    urls = {"bastion": bastion_url}
    results: list[Round] = []
    try:
        _wait_ready(urls["bastion"], "GET", bastion, bastion_log)
        if baseline is not None:
            _wait_ready(f"http://127.0.0.1:{baseline_port}", "POST", baseline, baseline_log)
        # Same answer from both, byte for byte.
        headers = {"authorization": f"Bearer {token}"}
        governed = httpx.post(targets["bastion"], json=PAYLOAD, headers=headers)
        bare = httpx.request(
            "PUT" if same_server else "POST", targets["baseline"], json=PAYLOAD, headers=headers
        )
        assert governed.status_code == 200 and governed.json() == ALLOW_RESPONSE, governed.text
        assert governed.content == bare.content, (governed.content, bare.content)
        before = _post_200s(urls["bastion"])  # the sanity request above
        for name in ("baseline", "bastion"):  # warm-up, discarded
            _wrk(name, targets[name], scripts[name], 3, connections)
        warmup = _post_200s(urls["bastion"]) - before
        for _ in range(rounds):
            for name in ("baseline", "bastion"):
                results.append(_wrk(name, targets[name], scripts[name], duration, connections))
        served = _post_200s(urls["bastion"])
    finally:
        code = stop(bastion)
        if baseline is not None:
            stop(baseline)
    rows = asyncio.run(_count_rows(db_url))
    if db == "postgresql":
        asyncio.run(drop_pg(db_url))
    shutil.rmtree(work, ignore_errors=True)

    lines = [
        f"`python -m bench.hooks --db {db} --rounds {rounds} --duration {duration} "
        f"--connections {connections}"
        + (f" --disabled {','.join(disabled)}" if disabled else "")
        + ("" if same_server else " --baseline-mode process")
        + f"`; wrk 1 thread, {connections} connections, "
        f"{duration} s per round; {os.cpu_count()} CPUs shared by wrk and both servers",
        "",
        "| round | server | requests/s | requests | 200 | allow bodies | non-200 | "
        "socket errors | p50 ms | p99 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(results):
        lines.append(
            f"| {i // 2 + 1} | {r.server} | {r.rps:,.0f} | {r.requests} | {r.ok} | "
            f"{r.allow} | {r.other} | {r.socket_errors} | {r.p50_ms:.1f} | {r.p99_ms:.1f} |"
        )
    median = {
        name: statistics.median(r.rps for r in results if r.server == name)
        for name in ("baseline", "bastion")
    }
    ratio = median["bastion"] / median["baseline"]
    wrk_ok = sum(r.ok for r in results if r.server == "bastion")
    errors = sum(r.other + r.socket_errors for r in results)
    measured = served - before - warmup
    lines += [
        "",
        "| | value |",
        "|---|---:|",
        f"| baseline median requests/s | {median['baseline']:,.0f} |",
        f"| bastion median requests/s | {median['bastion']:,.0f} |",
        f"| ratio (target >= 50%) | {ratio:.1%} |",
        f"| errors (non-200 + socket), all rounds | {errors} |",
        f"| bastion POST 200s served (its /metrics), incl. warm-up and sanity | {served} |",
        f"| governance_decisions rows after shutdown | {rows} |",
        f"| every decision written (rows == 200s served) | {'yes' if rows == served else 'NO'} |",
        f"| wrk-counted 200s, measured rounds (<= served: in-flight replies at a round's "
        f"end are not counted) | {wrk_ok} (server: {measured}) |",
        f"| bastion exit status after SIGINT (drain) | {code} |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hooks")
    parser.add_argument("--baseline", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-with-baseline", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--baseline-mode",
        choices=["same-server", "process"],
        default="same-server",
        help="same-server: a bare route in the same Bastion process (default); "
        "process: a bare Starlette app in its own process.",
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument(
        "--disabled",
        default="",
        help="Comma-separated stages traced 'disabled' (an ablation: what the rest costs).",
    )
    args = parser.parse_args()
    if args.baseline:
        baseline_server(args.baseline)
        return
    if args.serve_with_baseline:
        serve_with_baseline(args.serve_with_baseline)
        return
    disabled = tuple(name for name in args.disabled.split(",") if name)
    same_server = args.baseline_mode == "same-server"
    print(run(args.db, args.rounds, args.duration, args.connections, disabled, same_server))


if __name__ == "__main__":
    main()


__all__: list[Any] = ["main", "run"]
