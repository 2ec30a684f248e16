"""Which HTTP client calls the upstreams: ``python -m bench.http_clients``.

The mock upstream of ``bench._support.fakes`` (``llm``: a raw ASGI app under uvicorn,
uvloop, httptools, answering a fixed Messages JSON) runs in a subprocess on loopback, so
that client and server do not share an event loop or a core's worth of GIL.
httpx.AsyncClient and aiohttp.ClientSession (as ``create_http_session`` builds it) POST
the same small JSON body to it, both on uvloop, both with an unbounded pool that keeps
idle connections for 30 s, in alternating rounds at each concurrency. Reported: requests
per second (median of the rounds) and the median and p99 latency over every request of
every round.

    python -m bench.http_clients [--requests 2000] [--rounds 3] [--concurrency 1,50,200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import orjson
import uvloop

from bastion.domains.gateway.upstreams import create_http_session
from bench._support.launch import answers, free_port, serve_fake, stop, wait_ready

REQUEST = orjson.dumps(
    {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
    }
)
HEADERS = {"content-type": "application/json", "x-api-key": "bench"}

Send = Callable[[], Awaitable[None]]


# -- the clients --------------------------------------------------------------------------


@dataclass
class Tally:
    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


async def _round(send: Send, requests: int, concurrency: int, tally: Tally) -> None:
    queue = iter(range(requests))
    latencies: list[float] = []

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            try:
                await send()
            except Exception:
                tally.errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    tally.rates.append(requests / (time.perf_counter() - started))
    tally.latencies += latencies


def _httpx_sender(client: httpx.AsyncClient, url: str) -> Send:
    async def send() -> None:
        response = await client.post(url, content=REQUEST, headers=HEADERS)
        if response.status_code != 200 or not response.content:
            raise RuntimeError(f"status {response.status_code}")

    return send


def _aiohttp_sender(session: aiohttp.ClientSession, url: str) -> Send:
    async def send() -> None:
        async with session.post(url, data=REQUEST, headers=HEADERS) as response:
            body = await response.read()
            if response.status != 200 or not body:
                raise RuntimeError(f"status {response.status}")

    return send


async def measure(
    url: str, requests: int, rounds: int, concurrencies: list[int]
) -> list[tuple[int, str, Tally]]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=30)
    results: list[tuple[int, str, Tally]] = []
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        session = create_http_session()
        try:
            senders = {
                "httpx": _httpx_sender(client, url),
                "aiohttp": _aiohttp_sender(session, url),
            }
            for concurrency in concurrencies:
                tallies = {name: Tally() for name in senders}
                for send in senders.values():  # warm-up: open the pools
                    await _round(send, max(concurrency * 4, 200), concurrency, Tally())
                order = list(senders)
                for _ in range(rounds):
                    for name in order:
                        await _round(senders[name], requests, concurrency, tallies[name])
                    order.reverse()
                results += [(concurrency, name, tally) for name, tally in tallies.items()]
        finally:
            await session.close()
    return results


def table(results: list[tuple[int, str, Tally]]) -> str:
    lines = [
        "| concurrency | client | req/s | median ms | p99 ms | errors |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for concurrency, name, tally in results:
        ordered = sorted(tally.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        lines.append(
            f"| {concurrency} | {name} | {statistics.median(tally.rates):,.0f} "
            f"| {statistics.median(ordered) * 1000:.2f} | {p99 * 1000:.2f} | {tally.errors} |"
        )
    rates = {(c, n): statistics.median(t.rates) for c, n, t in results}
    ratios = [
        f"{rates[(c, 'aiohttp')] / rates[(c, 'httpx')]:.1f}x at concurrency {c}"
        for c in sorted({c for c, _, _ in results})
    ]
    lines.append(f"\naiohttp over httpx, req/s: {', '.join(ratios)}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_clients")
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,50,200")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "mock.log"
        server = serve_fake("llm", port, log)
        url = f"http://127.0.0.1:{port}/v1/messages"
        try:
            wait_ready(server, log, answers(url, "POST", content=REQUEST))
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                results = runner.run(measure(url, args.requests, args.rounds, concurrencies))
        finally:
            stop(server)
    print(
        f"{args.requests} POSTs per round, {args.rounds} alternating rounds, "
        "uvicorn+uvloop+httptools server in a subprocess on loopback.\n"
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
