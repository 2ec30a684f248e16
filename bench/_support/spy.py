"""py-spy (raw, collapsed stacks, 200 Hz) of a running server while a load runs, and its
summary: share by area of the code, self time by function, inclusive Bastion frames."""

from __future__ import annotations

import collections
import functools
import linecache
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Walking from the innermost frame outwards, the first frame whose module starts with one
# of an area's prefixes claims the sample (the "innermost" column partitions the samples);
# the "inclusive" column counts a sample for every area anywhere on its stack.
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "governance chain and secret scanner",
        ("bastion.domains.governance", "bastion.kernel.governance", "bastion.infra.scanner"),
    ),
    (
        "authentication (identity, JWT, API keys)",
        ("bastion.runtime.identity", "bastion.infra.security", "bastion.domains.auth"),
    ),
    (
        "audit writer (queue, SQL, driver)",
        ("bastion.infra.audit", "sqlalchemy", "aiosqlite", "asyncpg", "sqlite3"),
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
    ("event loop and sockets (asyncio)", ("asyncio", "selectors", "socket", "uvloop")),
    ("JSON, logging and metrics", ("orjson", "json", "structlog", "prometheus_client", "logging")),
)
_WAIT = re.compile(r"\.(get|select|poll|wait|acquire|recv|accept)\(|\bselect\(")


def py_spy() -> str:
    for candidate in (
        Path(sys.executable).with_name("py-spy"),
        Path(__file__).resolve().parents[1] / ".litellm-venv" / "bin" / "py-spy",
    ):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("py-spy")
    if found:
        return found
    raise SystemExit("py-spy not found (bench.compare installs it into bench/.litellm-venv)")


def record(pid: int, out: Path, seconds: int, load: Callable[[], Any]) -> tuple[str, Any]:
    """py-spy ``pid`` for ``seconds`` while ``load()`` runs: (summary, load's result)."""
    argv = [py_spy(), "record", "-p", str(pid), "-d", str(seconds), "-r", "200"]
    argv += ["-f", "raw", "-o", str(out)]
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    result = load()
    _, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not out.exists():
        return f"py-spy failed: {err.decode(errors='replace')[-500:]}", result
    return summarise(out), result


def _module(frame: str) -> str:
    """``"fn (path/to/mod.py:12)"`` -> ``"path.to.mod"``; py-spy prints paths relative to
    ``sys.path`` (``bastion/...``, ``aiohttp/...``, ``asyncio/...``) or absolute."""
    match = re.search(r"\(([^()]*?)(?::\d+)?\)$", frame)
    path = match.group(1) if match else frame
    path = re.sub(r"^.*/(site-packages|src|lib/python3\.\d+)/", "", path)
    return path.removesuffix(".py").replace("/", ".")


def _short(frame: str) -> str:
    match = re.match(r"^(.*?) \((.*?)(?::(\d+))?\)$", frame)
    if not match:
        return frame
    function, _path, line = match.groups()
    return f"{function} ({_module(frame)}:{line})" if line else f"{function} ({_module(frame)})"


@functools.cache
def _is_wait(frame: str) -> bool:
    """Whether a leaf frame is a thread blocked waiting (a queue get, epoll, a lock):
    py-spy cannot always tell those from busy threads, so they are counted apart."""
    match = re.match(r"^(.*?) \((.*?):(\d+)\)$", frame)
    if not match:
        return False
    _function, path, line = match.groups()
    for base in ("", *sys.path):
        full = os.path.join(base, path) if base else path
        if os.path.isfile(full):
            return bool(_WAIT.search(linecache.getline(full, int(line))))
    return False


def summarise(path: Path, top: int = 15) -> str:
    total = waiting = 0
    own: collections.Counter[str] = collections.Counter()
    innermost: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    frames_in: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count, frames = int(count_text), stack.split(";")
        if _is_wait(frames[-1]):
            waiting += count
            continue
        total += count
        own[_short(frames[-1])] += count
        modules = [_module(f) for f in frames]
        claimed = next(
            (a for m in reversed(modules) for a, prefixes in AREAS if m.startswith(prefixes)),
            "other: " + modules[-1],
        )
        innermost[claimed] += count
        for area, prefixes in AREAS:
            if any(m.startswith(prefixes) for m in modules):
                inclusive[area] += count
        for frame in {
            _short(f) for f, m in zip(frames, modules, strict=True) if m[:8] == "bastion."
        }:
            frames_in[frame] += count
    if not total:
        return "empty profile"
    head = (
        f"{total} busy samples at 200 Hz, all threads; {waiting} more samples of threads "
        "blocked waiting (the event loop in epoll, the SQLite and executor threads on their "
        "queues) are left out. Shares are of the busy samples."
    )
    areas = sorted(set(innermost) | set(inclusive), key=lambda a: -innermost[a])
    return "\n".join(
        [
            head,
            "",
            "| area | innermost (a partition) | inclusive (areas overlap) |",
            "|---|---:|---:|",
            *(f"| {a} | {innermost[a] / total:.1%} | {inclusive[a] / total:.1%} |" for a in areas),
            "",
            "| top self time: function (module:line) | share |",
            "|---|---:|",
            *(f"| `{frame}` | {count / total:.1%} |" for frame, count in own.most_common(top)),
            "",
            "| top inclusive Bastion frames | share |",
            "|---|---:|",
            *(f"| `{frame}` | {n / total:.1%} |" for frame, n in frames_in.most_common(10)),
        ]
    )
