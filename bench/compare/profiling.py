"""py-spy (raw, collapsed stacks) of a running server while a load runs, and a summary:
inclusive share by area of the code and self time by function."""

from __future__ import annotations

import collections
import functools
import linecache
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import tools

AREAS: dict[str, tuple[str, ...]] = {
    "auth (runtime.identity, infra.security)": (
        "bastion.runtime.identity",
        "bastion.infra.security",
    ),
    "governance chain (infra.governance)": ("bastion.infra.governance",),
    "gateway pipeline (domains.gateway, excl. upstreams)": ("bastion.domains.gateway._",),
    "upstream call (domains.gateway.upstreams, aiohttp)": (
        "bastion.domains.gateway.upstreams",
        "aiohttp",
    ),
    "audit writer (infra.audit, sqlalchemy, aiosqlite, sqlite3)": (
        "bastion.infra.audit",
        "sqlalchemy",
        "aiosqlite",
        "sqlite3",
    ),
    "HTTP server (uvicorn, starlette, runtime middleware/dispatch)": (
        "uvicorn",
        "starlette",
        "bastion.runtime.middleware",
        "bastion.runtime.dispatch",
        "bastion.runtime.guard",
    ),
    "JSON (orjson, json) and logging (structlog, logging)": (
        "orjson",
        "json",
        "structlog",
        "logging",
    ),
    "metrics (prometheus_client)": ("prometheus_client",),
}


LOOP = ("uvloop", "asyncio", "selectors")


def record(pid: int, out: Path, seconds: int, load: Callable[[], Any]) -> tuple[str, Any]:
    """py-spy ``pid`` for ``seconds`` while ``load()`` runs: (summary, load's result)."""
    spy = subprocess.Popen(
        [
            tools.py_spy(),
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
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


_WAIT = re.compile(r"\.(get|select|poll|wait|acquire|recv|accept)\(|\bselect\(")


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
    total = 0
    waiting = 0
    own: collections.Counter[str] = collections.Counter()
    by_area: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if _is_wait(frames[-1]):
            waiting += count
            continue
        total += count
        own[_short(frames[-1])] += count
        modules = [_module(f) for f in frames]
        for area, prefixes in AREAS.items():
            if any(m.startswith(prefixes) for m in modules):
                by_area[area] += count
        if modules[-1].startswith(LOOP):
            by_area["event loop itself (self time in asyncio, uvloop, selectors)"] += count
        for frame in {
            _short(f)
            for f in frames
            if _module(f).startswith("bastion.") and not _module(f).startswith("bastion.cli")
        }:
            inclusive[frame] += count
    if not total:
        return "empty profile"
    lines = [
        f"{total} busy samples at 200 Hz, all threads; {waiting} more samples of threads "
        "blocked waiting (the event loop in epoll, the SQLite and executor threads on their "
        "queues) are left out. Shares are of the busy samples.",
        "",
        "| area (inclusive; areas overlap) | share of samples |",
        "|---|---:|",
        *(f"| {area} | {count / total:.1%} |" for area, count in by_area.most_common()),
        "",
        "| top self time: function (module:line) | share |",
        "|---|---:|",
        *(f"| `{frame}` | {count / total:.1%} |" for frame, count in own.most_common(top)),
        "",
        "| top inclusive Bastion frames | share |",
        "|---|---:|",
        *(f"| `{frame}` | {count / total:.1%} |" for frame, count in inclusive.most_common(10)),
    ]
    return "\n".join(lines)
