"""The LLM gateway against the mock it fronts: ``python -m bench.gateway``.

Three servers run for the whole invocation, each its own process:

- **mock**: the fast local upstream of ``bench._support.fakes`` (``llm``): Anthropic
  ``POST /v1/messages`` and OpenAI ``POST /v1/chat/completions`` with fixed documents,
  non-streaming or as SSE, after an optional fixed latency (``--latency-ms``);
- **bastion**: ``bastion --profile <tmp> serve`` (one worker) with a bench profile: the
  full governance chain (scope_check, secret_scan, blocklist with a tool glob and RE2
  content rules, rate_limit with limits that never deny, quota with one rule), API-key
  authentication (``x-api-key``), the audit trail on (one ``ai_requests`` row and one
  ``governance_decisions`` row per request, batched), a route ``claude-bench`` to the mock
  with the ``anthropic`` provider (byte passthrough) and a route ``gpt-bench`` to the
  mock's OpenAI endpoint with the ``openai`` provider (the Anthropic <-> OpenAI
  translation path);
- **python-proxy** (``bench._support.fakes`` ``proxy``): the floor for any Python
  gateway, uvicorn plus Bastion's pooled aiohttp session relaying the bytes, with no
  authentication, governance, routing, cost or audit.

"direct" is the mock called as a client would call the upstream; "gateway" is the same
request through Bastion. Each phase warms every side up, then alternates them.

Load generators:

- non-streaming phases: ``wrk`` (C, one thread) with a Lua script posting the same
  Anthropic request (about 1.8 KB: a system prompt and three turns) and counting
  statuses; latencies are wrk's percentiles over each round;
- streaming phase: an asyncio client on aiohttp (uvloop), one request at a time, timing
  each request's first body byte and the end of the stream. Its own cost is the same for
  every side, so the differences are the servers'.

Afterwards Bastion is stopped with SIGINT (its audit queue drains) and ``ai_requests``
is counted: it must equal the number of requests the gateway answered (Bastion's
``/metrics`` counter of POSTs, the readiness probes its guard refused with 401 included).
That includes the 499 rows of requests whose connection wrk closed at the end of a round
before Bastion had read them. Each phase sends its own ``x-client-id``, so Bastion's own
``overhead_ms`` is summarised per phase.

    python -m bench.gateway [--db sqlite|postgresql] [--rounds 3] [--duration 10]
        [--connections 200] [--latency-ms 0] [--stream-requests 300]
        [--disabled secret_scan,...]   # ablation: governance stages traced 'disabled'
        [--profile-out PATH]   # py-spy --gil (raw) of Bastion in one more N-connection round

PostgreSQL gets a throwaway database on ``BASTION_BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench._support import launch, spy, wrk
from bench._support.measure import StreamTally, percentile, stream_rounds

MESSAGES = "/v1/messages"

SYSTEM = (
    "You are a careful senior engineer helping with a billing service written in Python. "
    "Answer concisely, cite file paths when you refer to code, and never invent APIs. "
) * 4
REQUEST: dict[str, Any] = {
    "model": "claude-bench",
    "max_tokens": 1024,
    "system": SYSTEM,
    "messages": [
        {
            "role": "user",
            "content": "The nightly invoice export fails on the first day of each month "
            "with a timeout from the reporting database. The job starts at 00:05 UTC and "
            "the partition for the new month is created at the same time. " * 3,
        },
        {
            "role": "assistant",
            "content": "The export and the partition job contend for the same lock. "
            "Which database are you on, and how is the partition created?",
        },
        {
            "role": "user",
            "content": "PostgreSQL 16; pg_partman creates the partition from a cron job. "
            "How should the export wait for it, and what should it do on a timeout? " * 2,
        },
    ],
}


@dataclass
class Phase:
    name: str
    connections: int
    rounds: list[wrk.Run] = field(default_factory=list)

    def median(self, side: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.rounds if r.side == side)


@dataclass
class Rows:
    total: int
    by_status: dict[int, int]
    by_client: dict[str, list[float]]  # overhead_ms of each successful row


async def _rows(db_url: str) -> Rows:
    from sqlalchemy import select

    from bastion.domains.gateway._records import ai_requests

    c = ai_requests.c
    result = await launch.count_rows(db_url, select(c.status, c.client_id, c.overhead_ms))
    by_status: collections.Counter[int] = collections.Counter(s for s, _, _ in result)
    by_client: dict[str, list[float]] = collections.defaultdict(list)
    for status, client, overhead in result:
        if status == 200:
            by_client[client or ""].append(overhead)
    return Rows(len(result), dict(by_status), dict(by_client))


def run(args: argparse.Namespace) -> str:
    wrk.ensure()
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    db_url = launch.database(args.db, work)
    ports = {name: launch.free_port() for name in ("mock", "proxy", "bastion")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    profile = launch.write_profile(
        work / "profile",
        "bench-gateway",
        ports["bastion"],
        db_url,
        governance={"disabled": [name for name in args.disabled.split(",") if name]},
        gateway=launch.llm_routes(urls["mock"], "claude-bench", "gpt-bench"),
    )
    logs = {name: work / f"{name}.log" for name in ports}
    servers = {
        "mock": launch.serve_fake(
            "llm", ports["mock"], logs["mock"], "--latency-ms", str(args.latency_ms)
        ),
        "proxy": launch.serve_fake("proxy", ports["proxy"], logs["proxy"], urls["mock"]),
        "bastion": launch.spawn(
            [launch.BASTION, "--profile", str(profile), "serve"], logs["bastion"]
        ),
    }
    body = orjson.dumps(REQUEST)
    translated = orjson.dumps({**REQUEST, "model": "gpt-bench"})
    body_path, translated_path = work / "request.json", work / "translated.json"
    body_path.write_bytes(body)
    translated_path.write_bytes(translated)
    gw_messages = urls["bastion"] + MESSAGES
    phases: list[Phase] = []
    streams: dict[str, StreamTally] = {}
    profile_summary = ""
    try:
        for name, server in servers.items():
            probe = launch.answers(urls[name] + MESSAGES, "POST", 500, content=b"{}")
            launch.wait_ready(server, logs[name], probe)
        key = launch.api_key(profile)
        headers = {
            "x-api-key": key,
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
        }
        # Sanity: the passthrough relays the mock's bytes; the translation answers the same
        # text; the bare proxy relays the same bytes too.
        direct = httpx.post(urls["mock"] + MESSAGES, content=body, headers=headers)
        for url in (gw_messages, urls["proxy"] + MESSAGES):
            through = httpx.post(url, content=body, headers=headers)
            assert through.status_code == 200, through.text
            assert through.content == direct.content, (through.content, direct.content)
        converted = httpx.post(gw_messages, content=translated, headers=headers)
        assert converted.status_code == 200, converted.text
        assert converted.json()["content"] == direct.json()["content"], converted.text

        def script(client: str, path: Path) -> Path:
            return wrk.script(work / f"{client}.lua", path, {**headers, "x-client-id": client})

        def phase(name: str, connections: int, targets: dict[str, tuple[str, Path]]) -> None:
            result = Phase(name, connections)
            for side, (url, path) in targets.items():  # warm-up, discarded
                wrk.run(side, url, script(f"warm-{name}", path), 3, connections)
            order = list(targets)
            for _ in range(args.rounds):
                for side in order:
                    url, path = targets[side]
                    lua = script(f"bench-{name}", path)
                    result.rounds.append(wrk.run(side, url, lua, args.duration, connections))
                order.reverse()
            phases.append(result)

        three = {
            "direct": (urls["mock"] + MESSAGES, body_path),
            "python-proxy": (urls["proxy"] + MESSAGES, body_path),
            "gateway": (gw_messages, body_path),
        }
        phase("c1", 1, three)
        phase("cN", args.connections, three)
        phase(
            "translate",
            args.connections,
            {
                "gateway-passthrough": (gw_messages, body_path),
                "gateway-translation": (gw_messages, translated_path),
            },
        )
        streamed = orjson.dumps({**REQUEST, "stream": True})
        stream_headers = {**headers, "x-client-id": "bench-stream"}
        streams = stream_rounds(
            {
                "direct": (urls["mock"] + MESSAGES, streamed, headers),
                "python-proxy": (urls["proxy"] + MESSAGES, streamed, headers),
                "gateway-passthrough": (gw_messages, streamed, stream_headers),
                "gateway-translation": (
                    gw_messages,
                    orjson.dumps({**REQUEST, "model": "gpt-bench", "stream": True}),
                    stream_headers,
                ),
            },
            args.stream_requests,
            warm_up=50,
        )
        if args.profile_out:
            lua = script("bench-profile", body_path)
            profile_summary, _ = spy.record(
                servers["bastion"].pid,
                Path(args.profile_out),
                args.duration,
                lambda: wrk.run("gateway", gw_messages, lua, args.duration - 2, args.connections),
                gil=True,
            )
        served = {
            int(k): v
            for k, v in launch.metric(
                urls["bastion"], "bastion_http_requests_total", method="POST"
            ).items()
        }
    finally:
        code = launch.stop(servers["bastion"])
        launch.stop(servers["proxy"])
        launch.stop(servers["mock"])
    rows = asyncio.run(_rows(db_url))
    if args.db == "postgresql":
        asyncio.run(launch.drop_pg(db_url))
    shutil.rmtree(work, ignore_errors=True)
    return report(args, phases, streams, rows, served, code, profile_summary, len(body))


def report(
    args: argparse.Namespace,
    phases: list[Phase],
    streams: dict[str, StreamTally],
    rows: Rows,
    served: dict[int, int],
    code: int,
    profile_summary: str,
    body_size: int,
) -> str:
    command = (
        f"python -m bench.gateway --db {args.db} --rounds {args.rounds} "
        f"--duration {args.duration} --connections {args.connections} "
        f"--latency-ms {args.latency_ms:g} --stream-requests {args.stream_requests}"
        + (f" --disabled {args.disabled}" if args.disabled else "")
        + (f" --profile-out {args.profile_out}" if args.profile_out else "")
    )
    lines = [
        f"`{command}`",
        "",
        f"Load: wrk 1 thread (non-streaming); an aiohttp client on uvloop, one request at a "
        f"time (streaming). {os.cpu_count()} CPUs shared by the load generator, the mock, the "
        f"bare Python proxy and Bastion (1 worker). Request body {body_size} bytes; mock "
        f"latency {args.latency_ms:g} ms; per phase a 3 s warm-up of each side, then "
        f"{args.rounds} rounds of {args.duration} s per side in alternating order. "
        f"python-proxy is the floor for any Python gateway: uvicorn + the same aiohttp "
        f"session relaying bytes, with no auth, governance, routing, cost or audit.",
        "",
        "| phase | side | round | req/s | 200 | errors | p50 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in phases:
        counters: collections.Counter[str] = collections.Counter()
        for r in p.rounds:
            counters[r.side] += 1
            lines.append(
                f"| {p.name} ({p.connections} conn) | {r.side} | {counters[r.side]} "
                f"| {r.rps:,.0f} | {r.ok} | {r.errors} | {r.p50:.2f} | {r.p99:.2f} |"
            )
    by = {p.name: p for p in phases}
    c1, cn, tr = by["c1"], by["cN"], by["translate"]
    added = c1.median("gateway", "p50") - c1.median("direct", "p50")
    ratio = cn.median("gateway", "rps") / cn.median("direct", "rps")
    floor = cn.median("python-proxy", "rps") / cn.median("direct", "rps")
    errors = sum(r.errors for p in phases for r in p.rounds)
    translation = tr.median("gateway-translation", "rps") / tr.median("gateway-passthrough", "rps")

    # Every POST has its row, those the core refused (the 401 readiness probes) included.
    answered = sum(served.values())

    def own(client: str) -> str:
        values = rows.by_client.get(client, [])
        if not values:
            return "-"
        return f"{statistics.median(values):.3f} / {percentile(values, 99):.3f}"

    def three(phase: Phase, attr: str, fmt: str) -> str:
        return " | ".join(
            format(phase.median(side, attr), fmt) for side in ("direct", "python-proxy", "gateway")
        )

    lines += [
        "",
        "| summary | direct | python-proxy | gateway | result |",
        "|---|---:|---:|---:|---|",
        f"| concurrency 1: median latency (median of rounds' p50), ms "
        f"| {three(c1, 'p50', '.2f')} "
        f"| gateway adds {added:.2f} ms (target <= 1.0: {'met' if added <= 1.0 else 'MISSED'}) |",
        f"| concurrency 1: p99, ms | {three(c1, 'p99', '.2f')} | |",
        f"| {cn.connections} connections: req/s (median of rounds) | {three(cn, 'rps', ',.0f')} "
        f"| gateway {ratio:.1%} of direct (target >= 50%: {'met' if ratio >= 0.5 else 'MISSED'});"
        f" python-proxy {floor:.1%} |",
        f"| {cn.connections} connections: p99, ms | {three(cn, 'p99', '.2f')} | |",
        f"| errors (non-200 + socket), every round of every phase | | | | {errors} "
        f"(target 0: {'met' if errors == 0 else 'MISSED'}) |",
        f"| {tr.connections} connections, gateway: translation (openai provider) vs "
        f"passthrough (anthropic), req/s | | "
        f"{tr.median('gateway-passthrough', 'rps'):,.0f} | "
        f"{tr.median('gateway-translation', 'rps'):,.0f} | {translation:.1%} of the passthrough |",
    ]
    for side in ("direct", "python-proxy", "gateway-passthrough", "gateway-translation"):
        tally = streams.get(side)
        if tally is None or not tally.ttfb:
            continue
        lines.append(
            f"| streaming, concurrency 1, {side}: first byte / last byte, median (p99) ms "
            f"| | | | {statistics.median(tally.ttfb):.2f} "
            f"({percentile(tally.ttfb, 99):.2f}) / {statistics.median(tally.ttlb):.2f} "
            f"({percentile(tally.ttlb, 99):.2f}); errors {tally.errors} |"
        )
    lines += [
        f"| Bastion's own overhead_ms in ai_requests, median / p99: concurrency 1; "
        f"{cn.connections} connections; streaming | | | | {own('bench-c1')}; "
        f"{own('bench-cN')}; {own('bench-stream')} |",
        f"| POSTs Bastion answered, by status (its /metrics), all phases incl. warm-ups "
        f"| | | | {dict(sorted(served.items()))} |",
        f"| ai_requests rows after shutdown, by status | | | | {rows.total} "
        f"{dict(sorted(rows.by_status.items()))} |",
        f"| every request written (rows == POSTs answered, the core's 401s included) "
        f"| | | | {'yes' if rows.total == answered else 'NO'} ({answered}) |",
        f"| Bastion exit status after SIGINT (drain) | | | | {code} |",
    ]
    if profile_summary:
        lines += [
            "",
            f"py-spy of Bastion during one more {args.connections}-connection round:",
            "",
            profile_summary,
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="mock's fixed latency")
    parser.add_argument("--stream-requests", type=int, default=300)
    parser.add_argument("--profile-out", help="write a py-spy raw profile of Bastion here")
    parser.add_argument(
        "--disabled",
        default="",
        help="Comma-separated governance stages traced 'disabled' (an ablation).",
    )
    print(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
