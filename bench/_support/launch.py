"""Ports, throwaway PostgreSQL databases, server processes (spawn, wait, stop so they
drain), uvicorn with ``bastion serve``'s settings, and the bench profile of Bastion."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
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
    base = PG_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]
    return f"postgresql+asyncpg://{base}/{name}"


def database(db: str, work: Path) -> str:
    """A throwaway PostgreSQL database (``db == "postgresql"``) or SQLite in ``work``."""
    import asyncio

    return (
        asyncio.run(create_pg()) if db == "postgresql" else f"sqlite+aiosqlite:///{work}/bastion.db"
    )


async def drop_pg(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def spawn(
    argv: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env={**os.environ, **(env or {})}
        )


def serve_fake(kind: str, port: int, log: Path, *options: str) -> subprocess.Popen[bytes]:
    """One of ``bench._support.fakes`` in its own process."""
    return spawn([sys.executable, "-m", "bench._support.fakes", kind, str(port), *options], log)


def wait_ready(
    process: subprocess.Popen[bytes], log: Path, ready: Callable[[], bool], seconds: float = 60
) -> None:
    """Poll ``ready`` until it says yes; fail with the server's log if it exits or stalls."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited during startup:\n{log.read_text()[-4000:]}")
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"server not ready after {seconds:g} s:\n{log.read_text()[-4000:]}")


def answers(url: str, method: str = "GET", below: int = 201, **kwargs: Any) -> Callable[[], bool]:
    """A readiness probe: ``method url`` answers with a status below ``below``."""
    return lambda: httpx.request(method, url, timeout=1, **kwargs).status_code < below


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


def uvicorn_run(app: Any, port: int, lifespan: str = "off", **options: Any) -> None:
    """uvicorn as ``bastion serve`` runs it: uvloop, httptools, no access log."""
    import uvicorn

    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": lifespan,
        "access_log": False,
        "log_config": None,
        "server_header": False,
        "log_level": "warning",
        "backlog": 4096,
        # longer than any pause between rounds, so pooled connections survive them
        "timeout_keep_alive": 120,
    }
    uvicorn.run(app, **{**settings, **options})


# -- Bastion ------------------------------------------------------------------------------


def write_profile(directory: Path, name: str, port: int, db_url: str, **sections: Any) -> Path:
    """A bench profile: bootstrap admin, a JWT signing key and the mock's key as secrets,
    logging at warning, rate limits that never deny, the bench governance (``governance``
    entries override it) and any other ``sections``."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "secrets.yaml", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(
            {"jwt_signing_key": secrets.token_urlsafe(48), "mock_key": UPSTREAM_KEY}, handle
        )
    governance = {"blocklist": BLOCKLIST, "quota": QUOTA, **sections.pop("governance", {})}
    profile = {
        "name": name,
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
    return directory


def llm_routes(mock_url: str, anthropic: str, openai: str) -> dict[str, Any]:
    """The gateway section: ``anthropic`` models passed through to the mock, ``openai``
    ones translated to its OpenAI-compatible ``/v1``."""
    return {
        "routes": [
            {
                "model_pattern": pattern,
                "provider": provider,
                "endpoint": endpoint,
                "api_key_secret": "mock_key",
            }
            for pattern, provider, endpoint in (
                (anthropic, "anthropic", mock_url),
                (openai, "openai", mock_url + "/v1"),
            )
        ]
    }


def api_key(profile: Path, cwd: Path | None = None) -> str:
    """A user-tier account ``bench`` (the tier an agent's key has) and an API key of it."""

    def cli(*args: str) -> str:
        argv = [BASTION, "--profile", str(profile), *args]
        return subprocess.run(argv, capture_output=True, text=True, check=True, cwd=cwd).stdout

    cli("admin", "users", "create", "bench", "--role", "user")
    return cli("admin", "keys", "issue", "bench", "--name", "bench").strip().splitlines()[-1]


def jwt(profile: Path) -> str:
    """A day's JWT for ``usr_bench`` (user tier, ``llm:invoke`` and ``mcp:call``)."""
    from bastion.infra.config import load_profile
    from bastion.infra.security import JwtCodec
    from bastion.kernel.ids import RoleName, TenantId, UserId
    from bastion.kernel.tiers import Tier

    loaded = load_profile(profile)
    codec = JwtCodec(loaded.profile.security.jwt, loaded.secrets.get("jwt_signing_key"))
    return codec.issue(
        user_id=UserId("usr_bench"),
        tenant_id=TenantId("default"),
        role=RoleName("user"),
        tier=Tier.USER,
        scopes={"llm:invoke", "mcp:call"},
        ttl_seconds=24 * 3600,
    ).token


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


def settled(read: Callable[[], int]) -> int:
    """``read()`` once replies still in flight when wrk stopped have been counted."""
    last = read()
    while True:
        time.sleep(0.3)
        again = read()
        if again == last:
            return again
        last = again


async def count_rows(db_url: str, query: Any) -> list[Any]:
    from bastion.infra.db import create_engine

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(query)).all())
    finally:
        await engine.dispose()
