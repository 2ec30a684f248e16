"""Load generators: ``wrk`` through ``bench._support.wrk`` (the one Lua script, counting
the requests it writes), and ``fixed_rate``, an asyncio client on aiohttp (uvloop) that
starts requests on a constant schedule whatever the answers do (open loop) and measures
each latency from its scheduled start, so a stall is not hidden (no coordinated
omission); wrk has no fixed-rate mode (that is wrk2, not in Debian). The streaming
client is ``bench._support.measure.stream_rounds``.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bench._support import wrk as kit
from bench._support.measure import StreamTally, percentile


@dataclass
class Result:
    """One measured round (any generator). Latencies in ms."""

    variant: str
    generator: str
    connections: int
    duration_s: float
    sent: int
    ok: int
    errors: int
    rps: float
    p50: float
    p95: float
    p99: float
    max: float
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk(variant: str, url: str, script: Any, duration: float, connections: int) -> Result:
    r = kit.run(variant, url, script, duration, connections)
    return Result(
        variant=variant,
        generator="wrk",
        connections=connections,
        duration_s=r.duration_s,
        sent=r.sent,
        ok=r.ok,
        errors=r.errors,
        rps=r.ok / r.duration_s if r.duration_s else 0.0,
        p50=r.p50,
        p95=r.p95,
        p99=r.p99,
        max=r.max,
        detail={
            "non_200": r.other,
            "socket_errors": r.socket_errors,
            "completed": r.requests,
            "p90": r.p90,
            "mean": r.mean,
            "argv": r.argv,
        },
    )


# -- fixed rate -----------------------------------------------------------------------------


async def _fixed_rate(
    url: str, body: bytes, headers: dict[str, str], rate: float, duration: float, timeout: float
) -> dict[str, Any]:
    import aiohttp

    count = max(1, int(rate * duration))
    latencies: list[float] = []  # from the scheduled start: what a caller waits
    service: list[float] = []  # from the moment the client got to it
    errors = 0
    lags: list[float] = []
    connector = aiohttp.TCPConnector(limit=1024, force_close=False)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    clock = time.perf_counter  # uvloop's loop.time() only has millisecond resolution
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:

        async def one(scheduled: float) -> None:
            nonlocal errors
            dispatched = clock()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        return
            except Exception:
                errors += 1
                return
            finished = clock()
            latencies.append(finished - scheduled)
            service.append(finished - dispatched)

        tasks = []
        start = clock() + 0.05
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(max(0.0, clock() - scheduled))
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
        elapsed = clock() - start
    return {
        "count": count,
        "latencies": latencies,
        "service": service,
        "errors": errors,
        "elapsed": elapsed,
        "lag_p99_ms": percentile(lags, 99) * 1000,
        "lag_max_ms": max(lags) * 1000,
    }


def fixed_rate(
    variant: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    rate: float,
    duration: float,
    timeout: float = 10.0,
) -> Result:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        r = runner.run(_fixed_rate(url, body, headers, rate, duration, timeout))
    lat = [x * 1000 for x in r["latencies"]]
    service = [x * 1000 for x in r["service"]]
    return Result(
        variant=variant,
        generator="aiohttp fixed-rate",
        connections=0,
        duration_s=r["elapsed"],
        sent=r["count"],
        ok=len(lat),
        errors=r["errors"],
        rps=len(lat) / r["elapsed"] if r["elapsed"] else 0.0,
        p50=percentile(lat, 50),
        p95=percentile(lat, 95),
        p99=percentile(lat, 99),
        max=max(lat) if lat else math.nan,
        detail={
            "offered_rps": rate,
            "service_p50": percentile(service, 50),
            "service_p99": percentile(service, 99),
            "scheduler_lag_p99_ms": r["lag_p99_ms"],
            "scheduler_lag_max_ms": r["lag_max_ms"],
        },
    )


# -- streaming ---------------------------------------------------------------------------


def summarise_stream(variant: str, tally: StreamTally, concurrency: int) -> dict[str, Any]:
    return {
        "variant": variant,
        "generator": "aiohttp SSE client",
        "concurrency": concurrency,
        "sent": tally.sent,
        "ok": len(tally.ttfb),
        "errors": tally.errors,
        "ttfb_p50": percentile(tally.ttfb, 50),
        "ttfb_p95": percentile(tally.ttfb, 95),
        "ttfb_p99": percentile(tally.ttfb, 99),
        "ttlb_p50": percentile(tally.ttlb, 50),
        "ttlb_p95": percentile(tally.ttlb, 95),
        "ttlb_p99": percentile(tally.ttlb, 99),
        "events_median": statistics.median(tally.events) if tally.events else 0,
    }
