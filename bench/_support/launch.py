"""Ports, throwaway PostgreSQL databases, server processes and the Bastion bench profile.

A server benchmark opens a ``Workspace``: a directory, the audit database (SQLite in the
directory, or a fresh PostgreSQL database on ``BASTION_BENCH_PG``) and the servers it
starts, each waited for until its probe answers. Leaving it stops the servers, last
started first, with SIGINT (Bastion drains its audit queue on it), drops the PostgreSQL
database and removes the directory. Bastion is driven as an operator would: ``bastion
serve`` on a profile, credentials from its CLI, counts from ``/metrics`` and SQL."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

PG_ADMIN = os.environ.get("BASTION_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BASTION = str(Path(sys.executable).with_name("bastion"))
UPSTREAM_KEY = "bench-upstream-key"
# What every Bastion bench profile governs with: a blocklist (tool glob, literal, RE2
# rules) and a quota rule that never denies.
BLOCKLIST: dict[str, Any] = {
    "tools": [
        {"id": "no-root-shell", "pattern": "sudo*"},
        {"id": "payroll-export", "pattern": "payroll/export_*"},
    ],
    "content": [
        {"id": "codename", "literal": "project nightjar"},
        {"id": "rm-root", "regex": r"rm\s+-rf\s+/(\s|$)", "targets": ["tool"]},
        {"id": "ssn", "regex": r"\b\d{3}-\d{2}-\d{4}\b", "targets": ["prompt"]},
    ],
}
QUOTA: dict[str, Any] = {
    "rules": [{"subject": "user", "window": "1d", "limits": {"requests": 10**12}}]
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def create_pg() -> str:
    """A fresh database on ``BASTION_BENCH_PG``; returns its SQLAlchemy URL."""
    import asyncpg

    name = "bastion_bench_" + secrets.token_hex(6)
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://{PG_ADMIN.rsplit('/', 1)[0].split('://', 1)[1]}/{name}"


async def drop_pg(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def stop(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """SIGINT (Bastion drains its audit queue on it), then kill after ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode


def bastion_cli(profile: Path, *args: str) -> str:
    """``bastion --profile PROFILE ARGS...``'s standard output."""
    argv = [BASTION, "--profile", str(profile), *args]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def credential(profile: Path, kind: str) -> str:
    """A user-tier account ``bench`` (the tier an agent has) and an API key (``key``) or
    a day's JWT (``jwt``) of it, from the CLI."""
    bastion_cli(profile, "admin", "users", "create", "bench", "--role", "user")
    if kind == "key":
        return bastion_cli(profile, "admin", "keys", "issue", "bench", "--name", "bench").split()[
            -1
        ]
    return bastion_cli(profile, "admin", "tokens", "issue", "bench", "--ttl", "86400").strip()


def metric(url: str, name: str, **labels: str) -> dict[str, int]:
    """``name`` from ``url/metrics``, summed by the labels not given, keyed by their values."""
    text = httpx.get(url + "/metrics", timeout=10).text
    out: dict[str, int] = {}
    for found in re.finditer(rf"^{name}\{{([^}}]*)\}} ([0-9.e+]+)$", text, re.MULTILINE):
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
        if all(have.get(k) == v for k, v in labels.items()):
            key = ",".join(v for k, v in have.items() if k not in labels)
            out[key] = out.get(key, 0) + int(float(found.group(2)))
    return out


def counter(url: str, name: str, **labels: str) -> int:
    """The sum of ``name`` over the series with ``labels``, once it has settled: wrk stops
    with up to one request per connection in flight, and those finish after it returns."""
    last = sum(metric(url, name, **labels).values())
    while True:
        time.sleep(0.3)
        again = sum(metric(url, name, **labels).values())
        if again == last:
            return again
        last = again


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


class Workspace:
    """A benchmark's directory, audit database and servers (see the module docstring).
    ``root``: use (and keep) this directory instead of a temporary one."""

    def __init__(self, name: str, db: str = "sqlite", root: Path | None = None) -> None:
        self.dir = root or Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keep, self.db = root is not None, db
        self.db_url = (
            asyncio.run(create_pg())
            if db == "postgresql"
            else f"sqlite+aiosqlite:///{self.dir}/bastion.db"
        )
        self.profile = self.dir / "profile"
        self.servers: dict[str, Server] = {}
        self.codes: dict[str, int] = {}

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.db == "postgresql":
            asyncio.run(drop_pg(self.db_url))
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def start(
        self,
        name: str,
        argv: list[str],
        port: int,
        probe: str,
        *,
        seconds: float = 120,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        **request: Any,
    ) -> Server:
        """Spawn ``argv`` (output to ``NAME.log``) and wait until ``probe`` (a path;
        ``request``: httpx.request's arguments, ``method`` GET by default) answers < 300;
        fail with the log's tail if it exits or stalls."""
        log = self.dir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env={**os.environ, **(env or {})},
            )
        server = self.servers[name] = Server(f"http://127.0.0.1:{port}", process, log)
        method, deadline = request.pop("method", "GET"), time.monotonic() + seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited during startup:\n{log.read_text()[-4000:]}")
            try:
                if httpx.request(method, server.url + probe, timeout=1, **request).is_success:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"{name} not ready after {seconds:g} s:\n{log.read_text()[-4000:]}")

    def fake(
        self, name: str, kind: str, *options: str, probe: str = "/v1/messages", **request: Any
    ) -> Server:
        """One of ``bench._support.fakes``; the LLM kinds answer ``POST {}`` on ``probe``."""
        port = free_port()
        argv = [sys.executable, "-m", "bench._support.fakes", kind, str(port), *options]
        request = request or {"method": "POST", "content": b"{}"}
        return self.start(name, argv, port, probe, **request)

    def bastion(
        self,
        serve: list[str] | None = None,
        secrets: dict[str, str] | None = None,
        **sections: Any,
    ) -> Server:
        """``bastion serve`` on a bench profile (``write_profile``) in ``self.profile``,
        or ``serve + [profile]`` when another command serves it."""
        port = free_port()
        write_profile(self.profile, port, self.db_url, secrets, **sections)
        argv = serve or [BASTION, "--profile", str(self.profile), "serve"]
        return self.start(
            "bastion", [*argv, str(self.profile)] if serve else argv, port, "/api/v1/ready"
        )

    def stop(self) -> dict[str, int]:
        """Stop every server still running, last started first; their exit codes."""
        for name in reversed(self.servers):
            if name not in self.codes:
                self.codes[name] = stop(self.servers[name].process, 90)
        return self.codes

    def rows(self, sql: str) -> list[Any]:
        """The rows of ``sql`` on the audit database (once Bastion has stopped)."""
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        async def query() -> list[Any]:
            engine = create_async_engine(self.db_url)
            try:
                async with engine.connect() as conn:
                    return list((await conn.execute(text(sql))).all())
            finally:
                await engine.dispose()

        return asyncio.run(query())


def write_profile(
    directory: Path,
    port: int,
    db_url: str,
    secrets_: dict[str, str] | None = None,
    **sections: Any,
) -> None:
    """A bench profile: bootstrap admin, a JWT signing key, the mock's key and any other
    ``secrets_`` as secrets, logging at warning, rate limits that never deny, the bench
    governance (``governance`` entries override it) and any other ``sections``."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "secrets.yaml", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(
            {
                "jwt_signing_key": secrets.token_urlsafe(48),
                "mock_key": UPSTREAM_KEY,
                **(secrets_ or {}),
            },
            handle,
        )
    governance = {"blocklist": BLOCKLIST, "quota": QUOTA, **sections.pop("governance", {})}
    profile = {
        "name": "bench",
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": db_url},
        "secrets_file": "secrets.yaml",
        "security": {"bootstrap_admin": {"name": "admin"}},
        "logging": {"level": "warning", "format": "json"},
        "rate_limits": {"requests_per_second": 1_000_000},
        "governance": governance,
        **sections,
    }
    (directory / "profile.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
