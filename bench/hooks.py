"""``POST /api/v1/hooks/govern`` against a bare Starlette baseline: ``python -m bench.hooks``.

Two servers run side by side for the whole invocation, with the same uvicorn settings as
``bastion serve`` (uvloop, httptools, no access log, one worker):

- **bastion**: ``bastion serve`` on the bench profile: the full default chain
  (scope_check, secret_scan, blocklist with tool globs and RE2 rules, rate_limit on the
  in-process limiter with limits high enough never to deny, quota with one rule), JWT
  authentication, and the audit trail on (every decision batched into
  ``governance_decisions``);
- **baseline**: a bare Starlette route that reads the request body and returns the exact
  bytes Bastion answers an allowed ``PreToolUse``: by default inside the same Bastion
  process, behind the same core middleware (``--serve-with-baseline``: ``bastion serve``
  plus that route); with ``--baseline-mode process``, ``bench._support.fakes`` ``hook``
  in its own process.

The load generator is ``wrk`` (one thread, a Lua script posting a realistic Claude Code
``PreToolUse`` payload with a bearer token, counting statuses and ``"allow"`` bodies):
a warm-up round of each, then rounds alternating (baseline, bastion, bastion, baseline,
...), and the medians. Afterwards Bastion is
stopped (SIGINT: the audit queue drains) and ``governance_decisions`` is counted: it must
equal the ``POST`` 200s Bastion served (its ``/metrics``), which is at least wrk's count
of 200s (wrk does not count replies still in flight when a round ends).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import httpx
import orjson

from bench._support import cli, launch, wrk
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
BASELINE_PATH = "/bench/baseline/govern"


def serve_with_baseline(profile: Path) -> None:
    """``bastion serve`` (its event loop, its logging), plus the baseline route."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from bastion.extension import ApiExtension, ExtensionContext, ExtensionMeta, ExtensionRouter
    from bastion.infra.config import load_profile
    from bastion.runtime.logs import configure_process_logging
    from bastion.server import run

    async def govern(request: Request) -> Response:
        await request.body()
        return Response(orjson.dumps(ALLOW), media_type="application/json")

    class BenchBaseline(ApiExtension):
        """Behind the same core middleware as every route (there is no opt-out). PUT keeps
        its 200s out of the POST counter that is checked against the decision rows."""

        meta = ExtensionMeta(id="bench_baseline", version="1")

        def router(self, ctx: ExtensionContext) -> ExtensionRouter:
            return ExtensionRouter([Route("/govern", govern, methods=["PUT"])], "/bench/baseline")

    loaded = load_profile(profile)
    configure_process_logging(loaded)
    with contextlib.suppress(KeyboardInterrupt):  # how the run stops it, once drained
        run(loaded, extra=[BenchBaseline])


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(
        "bench.hooks", __doc__, db="sqlite", rounds=3, duration=10, connections=200, disabled=""
    )
    parser.add_argument("--serve-with-baseline", type=Path, help="(internal) serve PROFILE")
    parser.add_argument(
        "--baseline-mode",
        choices=["same-server", "process"],
        default="same-server",
        help="the baseline route in the Bastion process (default) or in its own",
    )
    args = parser.parse_args(argv)
    if args.serve_with_baseline:
        serve_with_baseline(args.serve_with_baseline)
        return 0
    same = args.baseline_mode == "same-server"
    wrk.ensure()
    with launch.Workspace("hooks", args.db) as ws:
        serve = [sys.executable, "-m", "bench.hooks", "--serve-with-baseline"] if same else None
        bastion = ws.bastion(serve=serve, governance={"disabled": args.disabled})
        token = launch.credential(ws.profile, "jwt")
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        if same:
            baseline = bastion.url + BASELINE_PATH
        else:
            baseline = ws.fake("baseline", "hook", probe=HOOK_PATH).url + HOOK_PATH
        # The same-server baseline answers PUT, which keeps its 200s out of the POST counter.
        method, body, allow = "PUT" if same else "POST", orjson.dumps(PAYLOAD), '"allow"'
        governed = httpx.post(bastion.url + HOOK_PATH, content=body, headers=headers)
        bare = httpx.request(method, baseline, content=body, headers=headers)
        assert governed.status_code == 200 and governed.json() == ALLOW, governed.text
        assert governed.content == bare.content, (governed.content, bare.content)
        targets = {
            "baseline": (baseline, wrk.script(ws.dir / "b.lua", body, headers, allow, method)),
            "bastion": (
                bastion.url + HOOK_PATH,
                wrk.script(ws.dir / "h.lua", body, headers, allow),
            ),
        }

        def served() -> int:
            name = "bastion_http_requests_total"
            return launch.counter(bastion.url, name, method="POST", status="200")

        audit = ("governance_decisions rows", "SELECT count(*) FROM governance_decisions")
        lines = wrk.duel(
            ws, targets, args, served, audit, "requests", "allow bodies", cli.command(parser, argv)
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
