"""wrk (C, one thread, fixed concurrency) with the one Lua script every benchmark uses:
it posts one fixed body, counts the requests it writes (a ``request()`` hook, so the
harness knows what a server was sent), the statuses it reads and the 200s whose body
holds ``match``, and prints wrk's latency percentiles as one JSON line."""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._support.cli import table
from bench._support.launch import Workspace

LUA = r"""
wrk.method = "%(method)s"
%(headers)s
local f = assert(io.open("%(body)s", "rb"))
wrk.body = f:read("*a")
f:close()
local match = %(match)s

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent, ok, other, matched = 0, 0, 0, 0
  req = wrk.format()
end

function request()
  sent = sent + 1
  return req
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    if match and string.find(body, match, 1, true) then matched = matched + 1 end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local s, o, x, m = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent"); o = o + t:get("ok"); x = x + t:get("other"); m = m + t:get("matched")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"sent":%%d,"ok":%%d,"other":%%d,"matched":%%d,"requests":%%d,' ..
    '"duration_us":%%d,"socket_errors":%%d,"p50":%%d,"p95":%%d,"p99":%%d,"max":%%d}\n',
    s, o, x, m, summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def script(
    path: Path, body: bytes, headers: dict[str, str], match: str = "", method: str = "POST"
) -> Path:
    """Write the Lua script (and ``body`` beside it) for ``method`` of ``body`` with
    ``headers``, counting 200s whose body holds ``match``."""
    path.with_suffix(".body").write_bytes(body)
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    values = {"method": method, "headers": lines, "body": path.with_suffix(".body")}
    path.write_text(LUA % {**values, "match": json.dumps(match) if match else "false"})
    return path


@dataclass
class Run:
    """One wrk round: what the Lua script counted; latencies in ms."""

    side: str
    connections: int
    sent: int
    ok: int
    other: int  # non-200 replies
    matched: int
    requests: int  # replies wrk completed
    duration_us: int
    socket_errors: int
    p50: float
    p95: float
    p99: float
    max: float

    @property
    def duration_s(self) -> float:
        return self.duration_us / 1e6

    @property
    def rps(self) -> float:
        """wrk's rate: replies completed per second."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        return self.other + self.socket_errors


def ensure() -> None:
    """wrk from Debian: ``apt-get install -y wrk`` when it is missing."""
    if shutil.which("wrk"):
        return
    print("wrk not found: apt-get install -y wrk", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"], check=True, env=env)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is still missing after apt-get install")


def run(
    side: str, url: str, lua: Path, duration: float, connections: int, timeout_s: int = 10
) -> Run:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s"]
    argv += ["--timeout", f"{timeout_s}s", "-s", str(lua), url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^BENCHJSON (\{.*\})$", out, re.MULTILINE)
    if not found:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    d = json.loads(found.group(1))
    for latency in ("p50", "p95", "p99", "max"):
        d[latency] /= 1000  # µs
    return Run(side, connections, **d)


def rounds(
    targets: dict[str, tuple[str, Path]],
    count: int,
    duration: float,
    connections: int,
    warm_up: float = 3,
) -> tuple[list[Run], list[Run]]:
    """A ``warm_up``-second round of each target (url, script; none if 0), then ``count``
    rounds of each in turn, the order reversed every round (A B C, C B A, ...):
    (warm-ups, measured)."""
    warm = [
        run(side, url, lua, warm_up, connections) for side, (url, lua) in targets.items() if warm_up
    ]
    order, measured = list(targets), []
    for _ in range(count):
        for side in order:
            time.sleep(0.3)  # replies in flight when the last round ended are answered
            measured.append(run(side, *targets[side], duration, connections))
        order.reverse()
    return warm, measured


def duel(
    ws: Workspace,
    targets: dict[str, tuple[str, Path]],
    args: Any,
    served: Callable[[], int],
    audit: tuple[str, str],
    rate: str,
    matched: str,
    command: str,
) -> list[str]:
    """Two sides under wrk, the baseline first and Bastion second: a warm-up round of
    each, ``args.rounds`` alternating rounds, then Bastion stopped and ``audit`` (what,
    its count query) held against ``served()`` (Bastion's settled /metrics count): a line
    naming ``command``, the rounds and the summary, as Markdown."""
    before = served()  # the sanity requests
    rounds(targets, 0, 0, args.connections)
    warm = served() - before
    _, results = rounds(targets, args.rounds, args.duration, args.connections, 0)
    total = served()
    code = ws.stop()["bastion"]
    rows = ws.rows(audit[1])[0][0]
    baseline, subject = targets
    base, mine = median(results, baseline), median(results, subject)
    counted = sum(r.matched for r in results if r.side == subject)
    summary = [
        (f"{baseline} median {rate}/s", f"{base:,.0f}"),
        (f"{subject} median {rate}/s", f"{mine:,.0f}"),
        ("ratio (target >= 50%)", f"{mine / base:.1%}"),
        ("errors (non-200 + socket), all rounds", sum(r.errors for r in results)),
        (f"200s without {matched}, all rounds", sum(r.ok - r.matched for r in results)),
        (f"{rate} Bastion served (its /metrics), incl. warm-up and sanity", total),
        (f"{audit[0]} after shutdown", rows),
        ("every one audited (rows == served)", "yes" if rows == total else "NO"),
        (
            f"wrk-counted {matched}, measured rounds (<= served)",
            f"{counted} (server: {total - before - warm})",
        ),
        ("bastion exit status after SIGINT (drain)", code),
    ]
    head = f"`{command}`; wrk 1 thread, {args.connections} connections, {args.duration} s per "
    head += f"round; {os.cpu_count()} CPUs shared by wrk and both servers"
    return [
        head,
        "",
        *rounds_table(results, rate, matched),
        "",
        *table(["", "value"], summary, "lr"),
    ]


def median(results: list[Run], side: str, attr: str = "rps") -> float:
    """The median of ``attr`` over ``side``'s rounds."""
    return statistics.median(getattr(r, attr) for r in results if r.side == side)


def rounds_table(results: list[Run], rate: str = "requests", matched: str = "") -> list[str]:
    """Every round: its side, throughput, counts and latencies (``matched``: the column
    name for 200s whose body held the script's ``match``)."""
    seen: collections.Counter[str] = collections.Counter()
    rows = []
    for r in results:
        seen[r.side] += 1
        counts = [r.ok, *([r.matched] if matched else []), r.other, r.socket_errors]
        rows.append(
            [
                seen[r.side],
                r.side,
                f"{r.rps:,.0f}",
                r.requests,
                *counts,
                f"{r.p50:.2f}",
                f"{r.p99:.2f}",
            ]
        )
    header = ["round", "side", f"{rate}/s", rate, "200", *([matched] if matched else [])]
    return table([*header, "non-200", "socket errors", "p50 ms", "p99 ms"], rows, "rlr")
