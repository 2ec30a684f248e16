"""``POST /api/v1/hooks/govern`` against a bare Starlette baseline: ``python -m bench.hooks``.

Two servers run side by side for the whole invocation, each a separate process under the
same uvicorn settings as ``bastion serve`` (uvloop, httptools, no access log, one worker):

- **bastion**: ``bastion --profile <tmp> serve`` with a bench profile: the full default
  chain (scope_check, secret_scan, blocklist with tool globs and RE2 rules, rate_limit on
  the in-process limiter with limits high enough never to deny, quota with one rule),
  JWT authentication, and the audit trail on (every decision batched into
  ``governance_decisions``);
- **baseline**: a bare Starlette route (by default inside the Bastion process; with
  ``--baseline-mode process`` ``bench._support.fakes`` ``hook`` in its own) that
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
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
import orjson

from bench._support import launch, wrk
from bench._support.fakes import ALLOW, HOOK_PATH

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
# The baseline: a bare route in the same Bastion server (the issue's "from the same
# server"), or a bare Starlette app in its own process (--baseline-mode process)

BASELINE_PATH = "/bench/baseline/govern"


def _baseline_extension() -> type:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from bastion.extension import ApiExtension, ExtensionContext, ExtensionMeta, ExtensionRouter

    body = orjson.dumps(ALLOW)

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


async def _count_rows(db_url: str) -> int:
    from sqlalchemy import func, select

    from bastion.infra.audit import governance_decisions as table

    query = select(func.count()).select_from(table).where(table.c.user_id == "usr_bench")
    return int((await launch.count_rows(db_url, query))[0][0])


def _post_200s(url: str) -> int:
    """The server's count of POST 200s, once it has settled: wrk stops with up to one
    request per connection still in flight, and those finish after it returns."""
    name = "bastion_http_requests_total"
    return launch.settled(lambda: launch.metric(url, name, method="POST", status="200").get("", 0))


def run(
    db: str,
    rounds: int,
    duration: int,
    connections: int,
    disabled: tuple[str, ...] = (),
    same_server: bool = True,
) -> str:
    wrk.ensure()
    work = Path(tempfile.mkdtemp(prefix="bench-hooks-"))
    db_url = launch.database(db, work)
    bastion_port, baseline_port = launch.free_port(), launch.free_port()
    governance = {"disabled": list(disabled)}
    profile = launch.write_profile(
        work / "profile", "bench-hooks", bastion_port, db_url, governance=governance
    )
    token = launch.jwt(profile)
    body_path = work / "payload.json"
    body_path.write_bytes(orjson.dumps(PAYLOAD))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    allow = '"permissionDecision":"allow"'
    script = wrk.script(work / "hook.lua", body_path, headers, allow)
    # The same-server baseline answers PUT, which keeps its 200s out of the POST counter.
    method = "PUT" if same_server else "POST"
    scripts = {
        "baseline": wrk.script(work / "baseline.lua", body_path, headers, allow, method),
        "bastion": script,
    }
    bastion_log, baseline_log = work / "bastion.log", work / "baseline.log"
    bastion_cmd = (
        [sys.executable, "-m", "bench.hooks", "--serve-with-baseline", str(profile)]
        if same_server
        else [launch.BASTION, "--profile", str(profile), "serve"]
    )
    bastion = launch.spawn(bastion_cmd, bastion_log)
    baseline = None if same_server else launch.serve_fake("hook", baseline_port, baseline_log)
    bastion_url = f"http://127.0.0.1:{bastion_port}"
    urls = {
        "baseline": bastion_url + BASELINE_PATH
        if same_server
        else f"http://127.0.0.1:{baseline_port}{HOOK_PATH}",
        "bastion": bastion_url + HOOK_PATH,
    }
    targets = {name: (urls[name], scripts[name]) for name in ("baseline", "bastion")}
    try:
        launch.wait_ready(bastion, bastion_log, launch.answers(bastion_url + "/api/v1/ready"))
        if baseline is not None:
            launch.wait_ready(
                baseline, baseline_log, launch.answers(urls["baseline"], "POST", content=b"{}")
            )
        # Same answer from both, byte for byte.
        auth = {"authorization": f"Bearer {token}"}
        governed = httpx.post(urls["bastion"], json=PAYLOAD, headers=auth)
        bare = httpx.request(method, urls["baseline"], json=PAYLOAD, headers=auth)
        assert governed.status_code == 200 and governed.json() == ALLOW, governed.text
        assert governed.content == bare.content, (governed.content, bare.content)
        before = _post_200s(bastion_url)  # the sanity request above
        wrk.alternate(targets, 1, 3, connections)  # warm-up, discarded
        warmup = _post_200s(bastion_url) - before
        results = wrk.alternate(targets, rounds, duration, connections)
        served = _post_200s(bastion_url)
    finally:
        code = launch.stop(bastion)
        if baseline is not None:
            launch.stop(baseline)
    rows = asyncio.run(_count_rows(db_url))
    if db == "postgresql":
        asyncio.run(launch.drop_pg(db_url))
    shutil.rmtree(work, ignore_errors=True)

    median = {
        name: statistics.median(r.rps for r in results if r.side == name)
        for name in ("baseline", "bastion")
    }
    ratio = median["bastion"] / median["baseline"]
    wrk_ok = sum(r.ok for r in results if r.side == "bastion")
    errors = sum(r.errors for r in results)
    measured = served - before - warmup
    return "\n".join(
        [
            f"`python -m bench.hooks --db {db} --rounds {rounds} --duration {duration} "
            f"--connections {connections}"
            + (f" --disabled {','.join(disabled)}" if disabled else "")
            + ("" if same_server else " --baseline-mode process")
            + f"`; wrk 1 thread, {connections} connections, "
            f"{duration} s per round; {os.cpu_count()} CPUs shared by wrk and both servers",
            "",
            *wrk.rounds_table(results, "server", "requests", "allow bodies"),
            "",
            "| | value |",
            "|---|---:|",
            f"| baseline median requests/s | {median['baseline']:,.0f} |",
            f"| bastion median requests/s | {median['bastion']:,.0f} |",
            f"| ratio (target >= 50%) | {ratio:.1%} |",
            f"| errors (non-200 + socket), all rounds | {errors} |",
            f"| bastion POST 200s served (its /metrics), incl. warm-up and sanity | {served} |",
            f"| governance_decisions rows after shutdown | {rows} |",
            f"| every decision written (rows == 200s served) "
            f"| {'yes' if rows == served else 'NO'} |",
            f"| wrk-counted 200s, measured rounds (<= served: in-flight replies at a round's "
            f"end are not counted) | {wrk_ok} (server: {measured}) |",
            f"| bastion exit status after SIGINT (drain) | {code} |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hooks")
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
    if args.serve_with_baseline:
        serve_with_baseline(args.serve_with_baseline)
        return
    disabled = tuple(name for name in args.disabled.split(",") if name)
    same_server = args.baseline_mode == "same-server"
    print(run(args.db, args.rounds, args.duration, args.connections, disabled, same_server))


if __name__ == "__main__":
    main()
