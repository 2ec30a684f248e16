"""py-spy (raw, collapsed stacks) of a running server while a load runs, and a summary:
inclusive share by area of the code and self time by function."""

from __future__ import annotations

import collections
import re
import subprocess
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
        "stdlib:sqlite3",
    ),
    "HTTP server (uvicorn, starlette, runtime middleware/dispatch)": (
        "uvicorn",
        "starlette",
        "bastion.runtime.middleware",
        "bastion.runtime.dispatch",
        "bastion.runtime.guard",
    ),
    "event loop (uvloop, asyncio)": ("uvloop", "stdlib:asyncio"),
    "JSON (orjson, json) and logging (structlog, logging)": (
        "orjson",
        "stdlib:json",
        "structlog",
        "stdlib:logging",
    ),
    "metrics (prometheus_client)": ("prometheus_client",),
}


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
    # a py-spy raw frame: "function (path/to/file.py:line)"
    match = re.search(r"\(([^()]*?)(?::\d+)?\)$", frame)
    path = match.group(1) if match else frame
    for marker, label in (
        ("/bastion/", "bastion."),
        ("site-packages/", ""),
        ("/lib/python3", "stdlib:"),
    ):
        if marker in path:
            tail = path.split(marker, 1)[1]
            if label == "stdlib:":
                tail = tail.split("/", 1)[-1]
            return label + tail.removesuffix(".py").replace("/", ".")
    return path


def _short(frame: str) -> str:
    match = re.match(r"^(.*?) \((.*?)(?::(\d+))?\)$", frame)
    if not match:
        return frame
    function, _path, line = match.groups()
    return f"{function} ({_module(frame)}:{line})" if line else f"{function} ({_module(frame)})"


def summarise(path: Path, top: int = 15) -> str:
    total = 0
    own: collections.Counter[str] = collections.Counter()
    by_area: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[_short(frames[-1])] += count
        modules = [_module(f) for f in frames]
        for area, prefixes in AREAS.items():
            if any(m.startswith(prefixes) for m in modules):
                by_area[area] += count
        for frame in {_short(f) for f in frames if "/bastion/" in f}:
            inclusive[frame] += count
    if not total:
        return "empty profile"
    lines = [
        f"{total} samples of the busy threads at 200 Hz (py-spy leaves idle threads out).",
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
