"""Which HTTP client calls the upstreams: ``python -m bench.http_clients``.

The mock upstream of ``bench._support.fakes`` (``llm``: a raw ASGI app under uvicorn,
uvloop, httptools, answering a fixed Messages JSON) runs in a subprocess on loopback, so
that client and server do not share an event loop or a core's worth of GIL.
httpx.AsyncClient and aiohttp.ClientSession (as ``create_http_session`` builds it) POST
the same small JSON body to it, both on uvloop, both with an unbounded pool that keeps
idle connections for 30 s, in alternating rounds at each concurrency. Reported: requests
per second (median of the rounds) and the median and p99 latency over every request of
every round.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import orjson
import uvloop

from bastion.domains.gateway.upstreams import create_http_session
from bench._support import cli, launch

REQUEST = orjson.dumps(
    {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
    }
)
HEADERS = {"content-type": "application/json", "x-api-key": "bench"}
Send = Callable[[], Awaitable[None]]


@dataclass
class Tally:
    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


async def _round(send: Send, requests: int, concurrency: int, tally: Tally) -> None:
    """``requests`` sends by ``concurrency`` workers, each waiting for its answer."""
    queue, latencies = iter(range(requests)), []

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


async def measure(
    url: str, requests: int, rounds: int, concurrencies: list[int]
) -> list[list[str]]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=30)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        session = create_http_session()

        async def with_httpx() -> None:
            response = await client.post(url, content=REQUEST, headers=HEADERS)
            if response.status_code != 200 or not response.content:
                raise RuntimeError(f"status {response.status_code}")

        async def with_aiohttp() -> None:
            async with session.post(url, data=REQUEST, headers=HEADERS) as response:
                if response.status != 200 or not await response.read():
                    raise RuntimeError(f"status {response.status}")

        senders = {"httpx": with_httpx, "aiohttp": with_aiohttp}
        rows, rates = [], {}
        try:
            for concurrency in concurrencies:
                tallies = {name: Tally() for name in senders}
                for send in senders.values():  # warm-up: open the pools
                    await _round(send, max(concurrency * 4, 200), concurrency, Tally())
                order = list(senders)
                for _ in range(rounds):
                    for name in order:
                        await _round(senders[name], requests, concurrency, tallies[name])
                    order.reverse()
                for name, tally in tallies.items():
                    ordered = sorted(tally.latencies)
                    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                    rates[concurrency, name] = statistics.median(tally.rates)
                    median = statistics.median(ordered) * 1000
                    rate = f"{rates[concurrency, name]:,.0f}"
                    rows.append(
                        [
                            concurrency,
                            name,
                            rate,
                            f"{median:.2f}",
                            f"{p99 * 1000:.2f}",
                            tally.errors,
                        ]
                    )
        finally:
            await session.close()
    ratios = [
        f"{rates[c, 'aiohttp'] / rates[c, 'httpx']:.1f}x at concurrency {c}" for c in concurrencies
    ]
    return [
        *cli.table(
            ["concurrency", "client", "req/s", "median ms", "p99 ms", "errors"], rows, "rlr"
        ),
        "",
        f"aiohttp over httpx, req/s: {', '.join(ratios)}.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("bench.http_clients", __doc__, rounds=3)
    parser.add_argument("--requests", type=int, default=2000, help="requests per round (2000)")
    parser.add_argument("--concurrency", default="1,50,200", help="comma-separated (1,50,200)")
    args = parser.parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    with launch.Workspace("http-clients") as ws:
        url = ws.fake("mock", "llm").url + "/v1/messages"
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            lines = runner.run(measure(url, args.requests, args.rounds, concurrencies))
    print(
        f"{args.requests} POSTs per round, {args.rounds} alternating rounds, "
        "uvicorn+uvloop+httptools server in a subprocess on loopback.\n"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
