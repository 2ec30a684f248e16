"""The three servers: the mock upstream, Bastion (full governance, audit on) and the
LiteLLM proxy (its documented defaults), each its own process on loopback."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from . import tools

MOCK_KEY = "bench-upstream-key"
LITELLM_MASTER_KEY = "sk-bench-" + secrets.token_hex(8)
ANTHROPIC_MODEL = "claude-bench"  # passthrough: an anthropic upstream
OPENAI_MODEL = "gpt-bench"  # translation: Anthropic ingress, OpenAI-compatible upstream


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 90) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, in KiB (0 when gone)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total += int(match.group(1)) if match else 0
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pending += [int(c) for c in task.read_text().split()]
    return total


def _wait(server: Server, probe: Any, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not server.alive():
            raise SystemExit(
                f"{server.name} exited during startup:\n{server.log.read_text()[-4000:]}"
            )
        try:
            if probe():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{server.name} not ready after {seconds}s:\n{server.log.read_text()[-4000:]}")


def _spawn(argv: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None) -> Any:
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env={**os.environ, **(env or {})}
        )


# -- mock -------------------------------------------------------------------------------


def start_mock(work: Path, latency_ms: float, stream_interval_ms: float) -> Server:
    port = free_port()
    log = work / "mock.log"
    process = _spawn(
        [
            sys.executable,
            "-m",
            "bench.compare.mock",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
            "--stream-interval-ms",
            str(stream_interval_ms),
        ],
        log,
        tools.REPO,
    )
    server = Server("mock", f"http://127.0.0.1:{port}", process, log)
    _wait(
        server,
        lambda: (
            httpx.post(server.url + "/v1/messages", content=b"{}", timeout=1).status_code == 200
        ),
    )
    return server


# -- Bastion ----------------------------------------------------------------------------


def write_bastion_profile(directory: Path, port: int, mock_url: str) -> Path:
    """The bench profile: the full governance chain (scope check, secret scan, a
    blocklist with tool globs and content rules, rate limits that never deny, a quota),
    API-key authentication and the audit trail on, SQLite, logging at warning."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "secrets.yaml", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump({"jwt_signing_key": secrets.token_urlsafe(48), "mock_key": MOCK_KEY}, handle)
    profile = {
        "name": "bench-compare",
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'bastion.db'}"},
        "secrets_file": "secrets.yaml",
        "security": {"bootstrap_admin": {"name": "admin"}},
        "logging": {"level": "warning"},
        "rate_limits": {"requests_per_second": 1_000_000},
        "governance": {
            "blocklist": {
                "tools": [{"id": "no-root-shell", "pattern": "sudo*"}],
                "content": [
                    {"id": "codename", "literal": "project nightjar"},
                    {"id": "ssn", "regex": r"\b\d{3}-\d{2}-\d{4}\b", "targets": ["prompt"]},
                ],
            },
            "quota": {
                "rules": [{"subject": "user", "window": "1d", "limits": {"requests": 10**12}}]
            },
        },
        "gateway": {
            "routes": [
                {
                    "model_pattern": "claude-*",
                    "provider": "anthropic",
                    "endpoint": mock_url,
                    "api_key_secret": "mock_key",
                },
                {
                    "model_pattern": "gpt-*",
                    "provider": "openai",
                    "endpoint": mock_url + "/v1",
                    "api_key_secret": "mock_key",
                },
            ]
        },
    }
    (directory / "profile.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return directory


def start_bastion(work: Path, mock_url: str) -> Server:
    port = free_port()
    profile = write_bastion_profile(work / "bastion-profile", port, mock_url)
    bastion = str(tools.bastion_bin())

    def cli(*args: str) -> str:
        return subprocess.run(
            [bastion, "--profile", str(profile), *args],
            capture_output=True,
            text=True,
            check=True,
            cwd=work,
        ).stdout.strip()

    log = work / "bastion.log"
    process = _spawn([bastion, "--profile", str(profile), "serve", "--port", str(port)], log, work)
    server = Server("bastion", f"http://127.0.0.1:{port}", process, log)
    _wait(server, lambda: httpx.get(server.url + "/api/v1/health", timeout=1).status_code == 200)
    # A user-tier account (the tier an agent's key has), so the scope check really checks.
    cli("admin", "users", "create", "bench", "--role", "user")
    key = cli("admin", "keys", "issue", "bench", "--name", "bench").splitlines()[-1].strip()
    server.headers = {"x-api-key": key}
    server.extra["profile"] = profile
    server.extra["db"] = profile / "bastion.db"
    return server


def bastion_post_count(server: Server) -> int:
    """POSTs Bastion answered, by its own Prometheus counter (any status)."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    total = 0.0
    for match in re.finditer(
        r"^bastion_http_requests_total\{([^}]*)\} ([0-9.e+]+)$", text, re.MULTILINE
    ):
        if 'method="POST"' in match.group(1):
            total += float(match.group(2))
    return int(total)


def audit_rows(db: Path) -> dict[str, Any]:
    """``ai_requests`` after Bastion stopped: count, by status and outcome, and Bastion's
    own ``overhead_ms`` per client id (each phase sends its own ``x-client-id``)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM ai_requests")).scalar_one()
            by_status = dict(
                conn.execute(text("SELECT status, count(*) FROM ai_requests GROUP BY status")).all()
            )
            by_outcome = dict(
                conn.execute(
                    text("SELECT outcome, count(*) FROM ai_requests GROUP BY outcome")
                ).all()
            )
            overhead: dict[str, list[float]] = {}
            for client, value in conn.execute(
                text("SELECT client_id, overhead_ms FROM ai_requests WHERE status = 200")
            ):
                if value is not None:
                    overhead.setdefault(client or "", []).append(float(value))
    finally:
        engine.dispose()
    return {
        "rows": int(count),
        "by_status": {str(k): int(v) for k, v in by_status.items()},
        "by_outcome": {str(k): int(v) for k, v in by_outcome.items()},
        "overhead_ms": overhead,
    }


# -- LiteLLM --------------------------------------------------------------------------------


def write_litellm_config(directory: Path, mock_url: str) -> Path:
    """LiteLLM's documented minimal proxy config for the same two routes: a
    ``model_list`` entry per model (``anthropic/...`` and ``openai/...`` with
    ``api_base`` on the mock) and a ``master_key`` so callers authenticate as they do on
    Bastion. No database (LiteLLM's default), every other setting left at its default."""
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "model_list": [
            {
                "model_name": ANTHROPIC_MODEL,
                "litellm_params": {
                    "model": f"anthropic/{ANTHROPIC_MODEL}",
                    "api_base": mock_url,
                    "api_key": MOCK_KEY,
                },
            },
            {
                "model_name": OPENAI_MODEL,
                "litellm_params": {
                    "model": f"openai/{OPENAI_MODEL}",
                    "api_base": mock_url + "/v1",
                    "api_key": MOCK_KEY,
                },
            },
        ],
        "general_settings": {"master_key": LITELLM_MASTER_KEY},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start_litellm(work: Path, mock_url: str) -> Server:
    port = free_port()
    directory = work / "litellm"
    config = write_litellm_config(directory, mock_url)
    log = work / "litellm.log"
    argv = [
        str(tools.litellm_bin()),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",  # its default; Bastion runs one worker too
    ]
    # No network here: read the bundled model-cost map instead of fetching it at boot.
    process = _spawn(argv, log, directory, {"LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    server = Server("litellm", f"http://127.0.0.1:{port}", process, log)
    _wait(
        server,
        lambda: httpx.get(server.url + "/health/liveliness", timeout=1).status_code == 200,
        180,
    )
    server.headers = {"x-api-key": LITELLM_MASTER_KEY}
    server.extra["argv"] = argv
    server.extra["config"] = config.read_text()
    return server
