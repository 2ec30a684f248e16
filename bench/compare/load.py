"""What ``bench.compare`` measures beside wrk and the streaming client of the kit:
``fixed_rate``, an asyncio client on aiohttp (uvloop) that starts requests on a constant
schedule whatever the answers do (open loop) and measures each latency from its scheduled
start, so a stall is not hidden (no coordinated omission; wrk has no fixed-rate mode,
that is wrk2, not in Debian); a process tree's RSS; and how much of the machine's CPU
processes outside the benchmark used (busy time in ``/proc/stat`` minus the benchmark's
own processes), since this is a shared box."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from pathlib import Path
from typing import Any

from bench._support.measure import percentile

TICK = os.sysconf("SC_CLK_TCK")


async def _fixed_rate(
    url: str, body: bytes, headers: dict[str, str], rate: float, seconds: float
) -> dict[str, Any]:
    import aiohttp

    count, clock = max(1, int(rate * seconds)), time.perf_counter  # loop.time() is in ms
    latencies: list[float] = []  # ms from the scheduled start: what a caller waits
    service: list[float] = []  # ms from the moment the client got to it
    lags: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=1024)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

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
            latencies.append((clock() - scheduled) * 1000)
            service.append((clock() - dispatched) * 1000)

        tasks, start = [], clock() + 0.05
        for i in range(count):
            scheduled = start + i / rate
            if (delay := scheduled - clock()) > 0:
                await asyncio.sleep(delay)
            lags.append(max(0.0, clock() - scheduled) * 1000)
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
        elapsed = clock() - start
    return {
        "generator": "aiohttp fixed-rate",
        "sent": count,
        "ok": len(latencies),
        "errors": errors,
        "duration_s": elapsed,
        "rps": len(latencies) / elapsed,
        **{f"p{q}": percentile(latencies, q) for q in (50, 95, 99)},
        "max": max(latencies, default=float("nan")),
        "detail": {
            "offered_rps": rate,
            "service_p50": percentile(service, 50),
            "service_p99": percentile(service, 99),
            "scheduler_lag_p99_ms": percentile(lags, 99),
            "scheduler_lag_max_ms": max(lags),
        },
    }


def fixed_rate(
    url: str, body: bytes, headers: dict[str, str], rate: float, seconds: float
) -> dict[str, Any]:
    """``rate`` requests per second for ``seconds``, open loop."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_fixed_rate(url, body, headers, rate, seconds))


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, in KiB (0 when gone)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{current}/status").read_text()
            found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            total += int(found.group(1)) if found else 0
            for task in Path(f"/proc/{current}/task").glob("*/children"):
                pending += [int(c) for c in task.read_text().split()]
    return total


def _cpu_seconds(pid: int, children: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # after the comm: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
    return sum(int(f) for f in fields[11 : 15 if children else 13]) / TICK


def cpu_sample(pids: list[int]) -> tuple[float, float, float]:
    """(wall, the machine's busy CPU seconds, ours): this process with its children (wrk,
    py-spy) and the servers ``pids``."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:3]) + sum(fields[5:8])  # user nice system, irq softirq steal
    ours = _cpu_seconds(os.getpid(), True) + sum(_cpu_seconds(p, False) for p in pids)
    return time.monotonic(), busy / TICK, ours


def foreign_share(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """The share of the machine's CPUs that other processes used between a and b."""
    wall = b[0] - a[0]
    foreign = max(0.0, (b[1] - a[1]) - (b[2] - a[2]))
    return foreign / (wall * (os.cpu_count() or 1)) if wall > 0 else 0.0
