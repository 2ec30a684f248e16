"""Load generators.

- ``wrk`` (C, one thread, fixed concurrency) with a Lua script that posts one fixed body,
  counts the requests it wrote and the statuses it read, and prints wrk's latency
  percentiles (every request is recorded) as one JSON line.
- ``fixed_rate``: an asyncio client on aiohttp (uvloop) that starts requests on a
  constant schedule whatever the answers do (open loop), and measures each latency from
  its scheduled start, so a stall is not hidden (no coordinated omission). wrk has no
  fixed-rate mode (that is wrk2, not in Debian).
- ``stream``: an asyncio aiohttp client that reads SSE and times the first body byte
  (TTFB) and the end of the stream (time to last byte).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LUA = r"""
wrk.method = "POST"
wrk.path = "%(path)s"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
%(headers)s
local f = assert(io.open("%(body)s", "rb"))
wrk.body = f:read("*a")
f:close()

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent, ok, other = 0, 0, 0
  req = wrk.format()
end

function request()
  sent = sent + 1
  return req
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local s, o, x = 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent"); o = o + t:get("ok"); x = x + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"sent":%%d,"ok":%%d,"other":%%d,"requests":%%d,"duration_us":%%d,' ..
    '"connect":%%d,"read":%%d,"write":%%d,"timeout":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p95_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%.1f}\n',
    s, o, x, summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


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


def lua_script(work: Path, name: str, path: str, body: Path, headers: dict[str, str]) -> Path:
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    script = work / f"{name}.lua"
    script.write_text(LUA % {"path": path, "headers": lines, "body": body})
    return script


def wrk(
    variant: str,
    base_url: str,
    script: Path,
    duration: float,
    connections: int,
    timeout_s: int = 10,
) -> Result:
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        f"{timeout_s}s",
        "-s",
        str(script),
        base_url,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^BENCHJSON (\{.*\})$", out, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    d = json.loads(match.group(1))
    seconds = d["duration_us"] / 1e6
    socket_errors = d["connect"] + d["read"] + d["write"] + d["timeout"]
    return Result(
        variant=variant,
        generator="wrk",
        connections=connections,
        duration_s=seconds,
        sent=d["sent"],
        ok=d["ok"],
        errors=d["other"] + socket_errors,
        rps=d["ok"] / seconds if seconds else 0.0,
        p50=d["p50_us"] / 1000,
        p95=d["p95_us"] / 1000,
        p99=d["p99_us"] / 1000,
        max=d["max_us"] / 1000,
        detail={
            "non_200": d["other"],
            "socket_errors": {k: d[k] for k in ("connect", "read", "write", "timeout")},
            "completed": d["requests"],
            "p90": d["p90_us"] / 1000,
            "mean": d["mean_us"] / 1000,
            "argv": " ".join([*argv[:-3], "<script>", "<url>"]),
        },
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


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


# -- streaming ------------------------------------------------------------------------------


@dataclass
class StreamTally:
    ttfb: list[float] = field(default_factory=list)
    ttlb: list[float] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    sent: int = 0
    errors: int = 0


async def _stream(
    url: str,
    body: bytes,
    headers: dict[str, str],
    requests: int,
    concurrency: int,
    tally: StreamTally,
    end_marker: bytes,
) -> None:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        jobs = iter(range(requests))

        async def worker() -> None:
            for _ in jobs:
                tally.sent += 1
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        first = await response.content.readany()
                        got_first = time.perf_counter()
                        rest = await response.read()
                        finished = time.perf_counter()
                        data = first + rest
                        if response.status != 200 or end_marker not in data:
                            raise RuntimeError(f"status {response.status}: {data[:200]!r}")
                except Exception:
                    tally.errors += 1
                    continue
                tally.ttfb.append((got_first - started) * 1000)
                tally.ttlb.append((finished - started) * 1000)
                tally.events.append(data.count(b"data:"))

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def stream(
    url: str,
    body: bytes,
    headers: dict[str, str],
    requests: int,
    concurrency: int,
    tally: StreamTally,
    end_marker: bytes = b"message_stop",
) -> None:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_stream(url, body, headers, requests, concurrency, tally, end_marker))


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
