"""What every server-against-server benchmark needs: ports, throwaway PostgreSQL
databases, waiting for a subprocess to serve, and stopping it so it drains."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

PG_ADMIN = os.environ.get("BASTION_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def create_pg() -> str:
    """A fresh database on ``BASTION_BENCH_PG``; returns its SQLAlchemy URL."""
    import asyncpg

    name = "bastion_bench_" + secrets.token_hex(6)
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]
    return f"postgresql+asyncpg://{base}/{name}"


async def drop_pg(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def wait_ready(process: subprocess.Popen[bytes], log: Path, ready: Callable[[], bool]) -> None:
    """Poll ``ready`` until it says yes; fail with the server's log if it exits or stalls."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited during startup:\n{log.read_text()}")
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"server not ready:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGINT (Bastion drains its audit queue on it), then kill after a minute."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode


class WrkOutput:
    """One wrk run (one thread, a Lua script that prints ``BENCH key=value`` lines) and
    what every bench reads from it; ``counter`` reads the script's own counters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.rps = float(self._field(r"Requests/sec:\s+([0-9.]+)"))
        self.requests = int(self._field(r"(\d+) requests in"))
        self.socket_errors = sum(
            int(n)
            for n in re.findall(
                r"(?:connect|read|write|timeout) (\d+)", self._field(r"Socket errors: (.*)", "")
            )
        )
        self.p50_ms = int(self._field(r"p50_us=(\d+)")) / 1000
        self.p99_ms = int(self._field(r"p99_us=(\d+)")) / 1000

    def counter(self, name: str) -> int:
        return int(self._field(rf"\b{name}=(\d+)"))

    def _field(self, pattern: str, default: str = "0") -> str:
        match = re.search(pattern, self.text)
        return match.group(1) if match else default


def run_wrk(url: str, script: Path, duration: int, connections: int) -> WrkOutput:
    result = subprocess.run(
        [
            *("wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s"),
            *("-s", str(script), url),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return WrkOutput(result.stdout)
