"""Timers for in-process benchmarks, percentiles, and the streaming client: an asyncio
aiohttp client (uvloop) that reads SSE and times the first body byte (TTFB) and the end
of the stream (time to last byte)."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


def median_us(op: Callable[[], object], iterations: int, warm_up: int = 50) -> float:
    """Median of single ``op()`` calls timed with ``perf_counter_ns``, after a warm-up."""
    for _ in range(warm_up):
        op()
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        op()
        samples.append(clock() - start)
    return statistics.median(samples) / 1000


async def amedian_us(op: Callable[[], Awaitable[object]], iterations: int, warm_up: int) -> float:
    """``median_us`` of an awaited call, on the running loop."""
    for _ in range(warm_up):
        await op()
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        await op()
        samples.append(clock() - start)
    return statistics.median(samples) / 1000


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


@dataclass
class StreamTally:
    ttfb: list[float] = field(default_factory=list)  # ms
    ttlb: list[float] = field(default_factory=list)  # ms
    sent: int = 0
    errors: int = 0


async def _stream(
    url: str, body: bytes, headers: dict[str, str], requests: int, tally: StreamTally
) -> None:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as session:
        for _ in range(requests):
            tally.sent += 1
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    first = await response.content.readany()
                    got_first = time.perf_counter()
                    data = first + await response.read()
                    finished = time.perf_counter()
                    if response.status != 200 or b"message_stop" not in data:
                        raise RuntimeError(f"status {response.status}: {data[:200]!r}")
            except Exception:
                tally.errors += 1
                continue
            tally.ttfb.append((got_first - started) * 1000)
            tally.ttlb.append((finished - started) * 1000)


def stream_rounds(
    targets: dict[str, tuple[str, bytes, dict[str, str]]],
    requests: int,
    warm_up: int = 10,
    rounds: int = 3,
) -> dict[str, StreamTally]:
    """``requests`` streamed requests per target (url, body, headers), one at a time,
    after ``warm_up`` each, in ``rounds`` alternating rounds."""
    import uvloop

    tallies = {side: StreamTally() for side in targets}
    order = list(targets)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        for url, body, headers in targets.values():
            runner.run(_stream(url, body, headers, warm_up, StreamTally()))
        for _ in range(rounds):
            for side in order:
                url, body, headers = targets[side]
                runner.run(_stream(url, body, headers, max(1, requests // rounds), tallies[side]))
            order.reverse()
    return tallies
