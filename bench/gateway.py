"""The LLM gateway against the mock it fronts: ``python -m bench.gateway``.

Three servers run for the whole invocation, each its own process:

- **mock**: a fast local upstream (this module with ``--serve-mock PORT``): a raw ASGI
  app under uvicorn (uvloop, httptools) answering Anthropic ``POST /v1/messages`` and
  OpenAI ``POST /v1/chat/completions`` with fixed documents, non-streaming or as SSE
  (``stream: true``), after an optional fixed latency (``--latency-ms``);
- **bastion**: ``bastion --profile <tmp> serve`` (one worker) with a bench profile: the
  full governance chain (scope_check, secret_scan, blocklist with a tool glob and RE2
  content rules, rate_limit with limits that never deny, quota with one rule), API-key
  authentication (``x-api-key``), the audit trail on (one ``ai_requests`` row and one
  ``governance_decisions`` row per request, batched), a route ``claude-bench`` to the mock
  with the ``anthropic`` provider (byte passthrough) and a route ``gpt-bench`` to the
  mock's OpenAI endpoint with the ``openai`` provider (the Anthropic <-> OpenAI
  translation path);
- **python-proxy** (``--serve-proxy PORT UPSTREAM``): the floor for any Python gateway,
  uvicorn plus Bastion's pooled aiohttp session relaying the bytes, with no
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
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml

from bench._support import create_pg, drop_pg, free_port, run_wrk, stop, wait_ready

BASTION = str(Path(sys.executable).with_name("bastion"))
PY_SPY = str(Path(sys.executable).with_name("py-spy"))
MESSAGES = "/v1/messages"
CHAT = "/v1/chat/completions"
UPSTREAM_KEY = "bench-upstream-key"

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
TEXT = "Run the export after pg_partman's maintenance finishes: schedule it at 00:20 UTC. "
MESSAGE = {
    "id": "msg_bench01",
    "type": "message",
    "role": "assistant",
    "model": "claude-bench",
    "content": [{"type": "text", "text": TEXT}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 612,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 24,
    },
}
COMPLETION = {
    "id": "chatcmpl-bench01",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "gpt-bench",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": TEXT, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 612, "completion_tokens": 24, "total_tokens": 636},
}
WORDS = re.findall(r"\S+\s*", TEXT)


def _anthropic_sse() -> bytes:
    def event(payload: dict[str, Any]) -> bytes:
        return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    start = {**MESSAGE, "content": [], "stop_reason": None}
    start["usage"] = {**MESSAGE["usage"], "output_tokens": 1}  # type: ignore[dict-item]
    events = [
        event({"type": "message_start", "message": start}),
        event(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        event({"type": "ping"}),
        *(
            event(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": w},
                }
            )
            for w in WORDS
        ),
        event({"type": "content_block_stop", "index": 0}),
        event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 24},
            }
        ),
        event({"type": "message_stop"}),
    ]
    return b"".join(events)


def _openai_sse() -> bytes:
    def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> bytes:
        payload = {
            "id": "chatcmpl-bench01",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": "gpt-bench",
            "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage:
            payload["usage"] = usage
        return b"data: " + orjson.dumps(payload) + b"\n\n"

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": w}) for w in WORDS]
    chunks.append(chunk({}, "stop"))
    chunks.append(chunk({}, usage=COMPLETION["usage"]))
    chunks.append(b"data: [DONE]\n\n")
    return b"".join(chunks)


# -- the mock upstream (its own process) ----------------------------------------------------

Scope = MutableMapping[str, Any]


def mock_app(latency_ms: float) -> Callable[..., Awaitable[None]]:
    documents = {
        (MESSAGES, False): (orjson.dumps(MESSAGE), b"application/json"),
        (MESSAGES, True): (_anthropic_sse(), b"text/event-stream"),
        (CHAT, False): (orjson.dumps(COMPLETION), b"application/json"),
        (CHAT, True): (_openai_sse(), b"text/event-stream"),
    }
    delay = latency_ms / 1000

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        stream = b'"stream":true' in body or b'"stream": true' in body
        found = documents.get((scope["path"], stream))
        if found is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if delay:
            await asyncio.sleep(delay)
        payload, kind = found
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


def _uvicorn(app: Any, port: int, lifespan: str = "off") -> None:
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan=lifespan,
        access_log=False,
        log_config=None,
        server_header=False,
        log_level="warning",
        backlog=4096,
        timeout_keep_alive=75,
    )


def serve_mock(port: int, latency_ms: float) -> None:
    _uvicorn(mock_app(latency_ms), port)


def proxy_app(upstream: str) -> Callable[..., Awaitable[None]]:
    """The floor for any Python gateway: read the body, POST it to the upstream on
    Bastion's pooled aiohttp session, relay the answer (streams chunk by chunk). No
    authentication, governance, routing, translation, cost or audit."""
    from bastion.domains.gateway.upstreams import create_http_session

    session: Any = None

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        nonlocal session
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    session = create_http_session()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await session.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {"content-type": "application/json", "x-api-key": UPSTREAM_KEY}
        async with session.post(upstream + scope["path"], data=body, headers=headers) as answer:
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": [(b"content-type", answer.content_type.encode())],
                }
            )
            while chunk := await answer.content.readany():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def serve_proxy(port: int, upstream: str) -> None:
    _uvicorn(proxy_app(upstream), port, lifespan="on")


# -- setup ------------------------------------------------------------------------------------


def _write_profile(
    directory: Path, db_url: str, port: int, mock_url: str, disabled: tuple[str, ...] = ()
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "secrets.yaml", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(
            {"jwt_signing_key": secrets.token_urlsafe(48), "mock_key": UPSTREAM_KEY}, handle
        )
    profile = {
        "name": "bench-gateway",
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": db_url},
        "secrets_file": "secrets.yaml",
        "security": {"bootstrap_admin": {"name": "admin"}},
        "logging": {"level": "warning", "format": "json"},
        "rate_limits": {"requests_per_second": 1_000_000},
        "governance": {
            "disabled": list(disabled),
            "blocklist": {
                "tools": [{"id": "no-root-shell", "pattern": "sudo*"}],
                "content": [
                    {"id": "codename", "literal": "project nightjar"},
                    {"id": "rm-root", "regex": r"rm\s+-rf\s+/(\s|$)", "targets": ["tool"]},
                    {"id": "ssn", "regex": r"\b\d{3}-\d{2}-\d{4}\b", "targets": ["prompt"]},
                ],
            },
            "quota": {
                "rules": [{"subject": "user", "window": "1d", "limits": {"requests": 10**12}}]
            },
        },
        "gateway": {
            "routes": [
                {
                    "model_pattern": "claude-bench",
                    "provider": "anthropic",
                    "endpoint": mock_url,
                    "api_key_secret": "mock_key",
                },
                {
                    "model_pattern": "gpt-bench",
                    "provider": "openai",
                    "endpoint": mock_url + "/v1",
                    "api_key_secret": "mock_key",
                },
            ]
        },
    }
    (directory / "profile.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return directory


@dataclass
class Rows:
    total: int
    by_status: dict[int, int]
    by_client: dict[str, list[float]]  # overhead_ms of each successful row


async def _rows(db_url: str) -> Rows:
    from sqlalchemy import select

    from bastion.domains.gateway._records import ai_requests
    from bastion.infra.db import create_engine

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            query = select(ai_requests.c.status, ai_requests.c.client_id, ai_requests.c.overhead_ms)
            result = (await conn.execute(query)).all()
    finally:
        await engine.dispose()
    by_status: collections.Counter[int] = collections.Counter()
    by_client: dict[str, list[float]] = collections.defaultdict(list)
    for status, client, overhead in result:
        by_status[status] += 1
        if status == 200:
            by_client[client or ""].append(overhead)
    return Rows(len(result), dict(by_status), dict(by_client))


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, probe: str) -> None:
    wait_ready(
        process, log, lambda: httpx.post(url + probe, content=b"{}", timeout=1).status_code < 500
    )


def _api_key(profile: Path) -> str:
    def cli(*args: str) -> str:
        return subprocess.run(
            [BASTION, "--profile", str(profile), *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    cli("admin", "users", "create", "bench", "--role", "user")
    return cli("admin", "keys", "issue", "bench", "--name", "bench")


def _posts(url: str) -> dict[int, int]:
    """POSTs Bastion answered, by status (its ``/metrics`` counter)."""
    text = httpx.get(url + "/metrics", timeout=5).text
    found = re.findall(
        r'^bastion_http_requests_total\{method="POST",status="(\d+)"\} ([0-9.e+]+)$',
        text,
        re.MULTILINE,
    )
    return {int(status): int(float(count)) for status, count in found}


# -- wrk --------------------------------------------------------------------------------------

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.headers["x-api-key"] = "%(key)s"
wrk.headers["x-client-id"] = "%(client)s"
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
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local t_ok, t_other = 0, 0
  for _, thread in ipairs(threads) do
    t_ok = t_ok + thread:get("ok")
    t_other = t_other + thread:get("other")
  end
  io.write(string.format("BENCH ok=%%d other=%%d\\n", t_ok, t_other))
  io.write(string.format("BENCH p50_us=%%d p99_us=%%d\\n",
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Round:
    side: str
    rps: float
    ok: int
    other: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def errors(self) -> int:
        return self.other + self.socket_errors


def _wrk(side: str, url: str, script: Path, duration: int, connections: int) -> Round:
    out = run_wrk(url, script, duration, connections)
    return Round(
        side=side,
        rps=out.rps,
        ok=out.counter("ok"),
        other=out.counter("other"),
        socket_errors=out.socket_errors,
        p50_ms=out.p50_ms,
        p99_ms=out.p99_ms,
    )


@dataclass
class Phase:
    name: str
    connections: int
    rounds: list[Round] = field(default_factory=list)

    def of(self, side: str) -> list[Round]:
        return [r for r in self.rounds if r.side == side]

    def median(self, side: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.of(side))


# -- streaming client --------------------------------------------------------------------------


@dataclass
class StreamTally:
    ttfb: list[float] = field(default_factory=list)
    ttlb: list[float] = field(default_factory=list)
    errors: int = 0


async def _stream_round(
    url: str,
    body: bytes,
    headers: dict[str, str],
    requests: int,
    concurrency: int,
    tally: StreamTally,
) -> None:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        first = await response.content.readany()
                        got_first = time.perf_counter()
                        rest = await response.read()
                        done = time.perf_counter()
                        if response.status != 200 or b"message_stop" not in first + rest:
                            raise RuntimeError(f"status {response.status}")
                except Exception:
                    tally.errors += 1
                    continue
                tally.ttfb.append(got_first - started)
                tally.ttlb.append(done - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _stream_phase(
    targets: dict[str, tuple[str, dict[str, str]]], body: bytes, requests: int, concurrency: int
) -> dict[str, StreamTally]:
    import uvloop

    tallies = {side: StreamTally() for side in targets}
    order = list(targets)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        for url, headers in targets.values():  # warm-up
            runner.run(_stream_round(url, body, headers, 50, concurrency, StreamTally()))
        for _ in range(3):
            for side in order:
                url, headers = targets[side]
                runner.run(
                    _stream_round(url, body, headers, requests // 3, concurrency, tallies[side])
                )
            order.reverse()
    return tallies


# -- profile ------------------------------------------------------------------------------------


def _profile(pid: int, out: Path, seconds: int, load: Callable[[], Round]) -> str:
    """py-spy (raw, collapsed stacks) of ``pid`` while ``load`` runs; a summary."""
    spy = subprocess.Popen(
        [
            PY_SPY,
            "record",
            "-p",
            str(pid),
            "-f",
            "raw",
            "-o",
            str(out),
            "-d",
            str(seconds),
            "-r",
            "200",
            "--gil",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1)
    load()
    _, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not out.exists():
        return f"py-spy failed: {err.decode(errors='replace')[-500:]}"
    return summarise_profile(out)


def _frame_module(frame: str) -> str:
    """The dotted module of a py-spy frame ``function (path/file.py:line)``, where the path
    is relative to its ``sys.path`` entry; standard-library modules get ``stdlib:``."""
    match = re.search(r"\(([^()]*?)(?::\d+)?\)$", frame)
    path = match.group(1) if match else frame
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    module = path.removesuffix(".py").replace("/", ".")
    if module.split(".", 1)[0] in sys.stdlib_module_names:
        return "stdlib:" + module
    return module


# Where a sample's time goes: walking from the innermost frame outwards, the first frame
# whose module starts with one of an area's prefixes claims the sample (so the areas
# partition the samples; the socket writes uvicorn asks for count as the event loop's).
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("governance chain and secret scanner", ("bastion.infra.governance",)),
    (
        "authentication (identity, JWT, API keys)",
        ("bastion.runtime.identity", "bastion.infra.security", "bastion.domains.auth"),
    ),
    (
        "audit writer (queue, SQL, driver)",
        ("bastion.infra.audit", "sqlalchemy", "aiosqlite", "asyncpg"),
    ),
    (
        "upstream client (providers, aiohttp)",
        ("bastion.domains.gateway.upstreams", "aiohttp", "yarl", "multidict"),
    ),
    ("gateway pipeline (parse, route, cost, relay)", ("bastion.domains.gateway",)),
    (
        "Bastion middleware and dispatch",
        ("bastion.runtime", "bastion.infra.http", "bastion.kernel"),
    ),
    (
        "ASGI server and framework (uvicorn, starlette)",
        ("uvicorn", "httptools", "starlette", "anyio", "h11"),
    ),
    (
        "event loop and sockets (asyncio)",
        ("stdlib:asyncio", "stdlib:selectors", "stdlib:socket", "uvloop"),
    ),
    ("logging and metrics", ("structlog", "prometheus_client", "stdlib:logging")),
)


def _area(frames: list[str]) -> str:
    for frame in reversed(frames):
        module = _frame_module(frame)
        for area, prefixes in AREAS:
            if module.startswith(prefixes):
                return area
    return "other: " + _frame_module(frames[-1])


def summarise_profile(path: Path, top: int = 15) -> str:
    """Time by area (a partition) and self time by function from a py-spy raw profile
    recorded with ``--gil``: every sample is a moment the process held the GIL, so the
    shares are shares of the one core a Bastion process can use."""
    total = 0
    own: collections.Counter[str] = collections.Counter()
    by_area: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        by_area[_area(frames)] += count
    if not total:
        return "empty profile"
    lines = [
        f"{total} samples with the GIL held (py-spy --gil, 200 Hz)",
        "",
        "| where the GIL-holding time goes (innermost matching frame) | share |",
        "|---|---:|",
    ]
    lines += [f"| {area} | {count / total:.1%} |" for area, count in by_area.most_common()]
    lines += ["", "| self time: function (file:line) | share |", "|---|---:|"]
    lines += [f"| `{frame}` | {count / total:.1%} |" for frame, count in own.most_common(top)]
    return "\n".join(lines)


# -- the run ----------------------------------------------------------------------------------


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=out)


def run(args: argparse.Namespace) -> str:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    db_url = (
        asyncio.run(create_pg())
        if args.db == "postgresql"
        else f"sqlite+aiosqlite:///{work / 'bastion.db'}"
    )
    ports = {name: free_port() for name in ("mock", "proxy", "bastion")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    disabled = tuple(name for name in args.disabled.split(",") if name)
    profile = _write_profile(work / "profile", db_url, ports["bastion"], urls["mock"], disabled)
    logs = {name: work / f"{name}.log" for name in ports}
    me = [sys.executable, "-m", "bench.gateway"]
    servers = {
        "mock": _spawn(
            [*me, "--serve-mock", str(ports["mock"]), "--latency-ms", str(args.latency_ms)],
            logs["mock"],
        ),
        "proxy": _spawn([*me, "--serve-proxy", str(ports["proxy"]), urls["mock"]], logs["proxy"]),
        "bastion": _spawn([BASTION, "--profile", str(profile), "serve"], logs["bastion"]),
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
            _wait_ready(urls[name], server, logs[name], MESSAGES)
        key = _api_key(profile)
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
        assert converted.json()["content"] == MESSAGE["content"], converted.text

        def script(client: str, path: Path) -> Path:
            out = work / f"{client}.lua"
            out.write_text(LUA % {"key": key, "client": client, "body": path})
            return out

        def phase(name: str, connections: int, targets: dict[str, tuple[str, Path]]) -> None:
            result = Phase(name, connections)
            for side, (url, path) in targets.items():  # warm-up, discarded
                _wrk(side, url, script(f"warm-{name}", path), 3, connections)
            order = list(targets)
            for _ in range(args.rounds):
                for side in order:
                    url, path = targets[side]
                    result.rounds.append(
                        _wrk(side, url, script(f"bench-{name}", path), args.duration, connections)
                    )
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
        stream_headers = {**headers, "x-client-id": "bench-stream"}
        streams = _stream_phase(
            {
                "direct": (urls["mock"] + MESSAGES, headers),
                "python-proxy": (urls["proxy"] + MESSAGES, headers),
                "gateway-passthrough": (gw_messages, stream_headers),
            },
            orjson.dumps({**REQUEST, "stream": True}),
            args.stream_requests,
            1,
        )
        streams.update(
            _stream_phase(
                {"gateway-translation": (gw_messages, stream_headers)},
                orjson.dumps({**REQUEST, "model": "gpt-bench", "stream": True}),
                args.stream_requests,
                1,
            )
        )
        if args.profile_out:
            profile_summary = _profile(
                servers["bastion"].pid,
                Path(args.profile_out),
                args.duration,
                lambda: _wrk(
                    "gateway",
                    gw_messages,
                    script("bench-profile", body_path),
                    args.duration - 2,
                    args.connections,
                ),
            )
        served = _posts(urls["bastion"])
    finally:
        code = stop(servers["bastion"])
        stop(servers["proxy"])
        stop(servers["mock"])
    rows = asyncio.run(_rows(db_url))
    if args.db == "postgresql":
        asyncio.run(drop_pg(db_url))
    shutil.rmtree(work, ignore_errors=True)
    return report(args, phases, streams, rows, served, code, profile_summary, len(body))


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


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
                f"| {r.rps:,.0f} | {r.ok} | {r.errors} | {r.p50_ms:.2f} | {r.p99_ms:.2f} |"
            )
    by = {p.name: p for p in phases}
    c1, cn, tr = by["c1"], by["cN"], by["translate"]
    added = c1.median("gateway", "p50_ms") - c1.median("direct", "p50_ms")
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
        return f"{statistics.median(values):.3f} / {_q(values, 0.99):.3f}"

    def three(phase: Phase, attr: str, fmt: str) -> str:
        return " | ".join(
            format(phase.median(side, attr), fmt) for side in ("direct", "python-proxy", "gateway")
        )

    lines += [
        "",
        "| summary | direct | python-proxy | gateway | result |",
        "|---|---:|---:|---:|---|",
        f"| concurrency 1: median latency (median of rounds' p50), ms "
        f"| {three(c1, 'p50_ms', '.2f')} "
        f"| gateway adds {added:.2f} ms (target <= 1.0: {'met' if added <= 1.0 else 'MISSED'}) |",
        f"| concurrency 1: p99, ms | {three(c1, 'p99_ms', '.2f')} | |",
        f"| {cn.connections} connections: req/s (median of rounds) | {three(cn, 'rps', ',.0f')} "
        f"| gateway {ratio:.1%} of direct (target >= 50%: {'met' if ratio >= 0.5 else 'MISSED'});"
        f" python-proxy {floor:.1%} |",
        f"| {cn.connections} connections: p99, ms | {three(cn, 'p99_ms', '.2f')} | |",
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
            f"| | | | {statistics.median(tally.ttfb) * 1000:.2f} "
            f"({_q(tally.ttfb, 0.99) * 1000:.2f}) / {statistics.median(tally.ttlb) * 1000:.2f} "
            f"({_q(tally.ttlb, 0.99) * 1000:.2f}); errors {tally.errors} |"
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
    parser.add_argument("--serve-mock", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-proxy", nargs=2, help=argparse.SUPPRESS)
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
    args = parser.parse_args()
    if args.serve_mock:
        serve_mock(args.serve_mock, args.latency_ms)
        return 0
    if args.serve_proxy:
        serve_proxy(int(args.serve_proxy[0]), args.serve_proxy[1])
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
