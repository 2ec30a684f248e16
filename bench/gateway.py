"""The LLM gateway against the mock it fronts: ``python -m bench.gateway``.

Three servers run for the whole invocation, each its own process
(``bench._support.llm``):

- **mock**: the fast local upstream of ``bench._support.fakes`` (``llm``): Anthropic
  ``POST /v1/messages`` and OpenAI ``POST /v1/chat/completions`` with fixed documents,
  non-streaming or as SSE, after an optional fixed latency (``--latency-ms``);
- **bastion**: ``bastion --profile <tmp> serve`` (one worker) with the bench profile: the
  full governance chain (scope_check, secret_scan, blocklist with a tool glob and RE2
  content rules, rate_limit with limits that never deny, quota with one rule), API-key
  authentication, the audit trail on (an ``ai_requests`` and a ``governance_decisions``
  row per request, batched), ``claude-bench`` passed through to the mock (``anthropic``
  provider) and ``gpt-bench`` translated to its OpenAI endpoint (``openai`` provider);
- **python-proxy** (``bench._support.fakes`` ``proxy``): the floor for any Python
  gateway, uvicorn plus Bastion's pooled aiohttp session relaying the bytes, with no
  authentication, governance, routing, cost or audit.

The baseline is **direct**: the mock called as a client would call the upstream. Every
side gets the same 1,814-byte Anthropic request (a system prompt and three turns).
Phases, each warming every side up for 3 s and then alternating them: concurrency 1 and
``--connections`` (wrk, one thread, a Lua script counting statuses; the second phase
also runs Bastion's translation path), then streaming (an aiohttp client on uvloop, one
request at a time, timing the first body byte and the end of the stream; its own cost is
the same for every side). Afterwards Bastion is stopped with SIGINT (its audit queue
drains) and ``ai_requests`` is counted against the POSTs Bastion answered (its
``/metrics``) and the requests sent; Bastion's own ``overhead_ms`` is read per phase.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any

from bench._support import cli, launch, llm, wrk

SIDES = ["direct", "python-proxy", "bastion"]


def report(data: dict[str, Any]) -> str:
    a = data["config"]
    return "\n".join(
        [
            f"`{data['command']}`",
            "",
            f"Load: wrk 1 thread (non-streaming); an aiohttp client on uvloop, one request at "
            f"a time (streaming). {os.cpu_count()} CPUs shared by the load generator, the "
            f"mock, the bare Python proxy and Bastion (1 worker). Mock latency "
            f"{a['latency_ms']:g} ms; per phase a 3 s warm-up of each side, then "
            f"{a['rounds']} rounds of {a['duration']} s per side in alternating order.",
            "",
            *llm.main_table(data, SIDES, {"bastion": "Bastion"}),
            "",
            *llm.target_lines(llm.targets(data)),
            "",
            *llm.audit_lines(data),
            "",
            llm.sanity_line(data),
            "",
            *llm.rounds_lines(data),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(
        "bench.gateway", __doc__, db="sqlite", rounds=3, duration=10, connections=200, disabled=""
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the mock's fixed latency")
    parser.add_argument("--stream-requests", type=int, default=300, help="per side (300)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    wrk.ensure()
    with launch.Workspace("gateway", args.db) as ws:
        h = llm.Harness(ws, shlex.join(["python", "-m", "bench.gateway", *argv]), vars(args))
        mock = h.start(args.latency_ms, disabled=args.disabled)
        h.add("python-proxy", ws.fake("python-proxy", "proxy", mock).url, {}, translation=False)
        h.sanity()
        h.wrk_phase("c1", 1, args.duration, args.rounds, SIDES)
        every = [*SIDES, "bastion-translation"]
        h.wrk_phase("cN", args.connections, args.duration, args.rounds, every)
        h.stream_phase(args.stream_requests, every, warm_up=50)
        h.finish()
    print(report(h.data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
