"""The three servers: the mock upstream, Bastion (full governance, audit on) and the
LiteLLM proxy (its documented defaults), each its own process on loopback."""

from __future__ import annotations

import contextlib
import re
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench._support import launch

from . import tools

MOCK_KEY = launch.UPSTREAM_KEY
LITELLM_MASTER_KEY = "sk-bench-" + secrets.token_hex(8)
ANTHROPIC_MODEL = "claude-bench"  # passthrough: an anthropic upstream
OPENAI_MODEL = "gpt-bench"  # translation: Anthropic ingress, OpenAI-compatible upstream


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

    def stop(self, timeout: float = 90) -> int:
        return launch.stop(self.process, timeout)


def _start(name: str, port: int, process: Any, log: Path, probe: str, seconds: float) -> Server:
    """Wait until ``probe`` answers (``POST {}`` for the mock's Messages path, else GET)."""
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    post = probe == "/v1/messages"
    ready = launch.answers(
        server.url + probe, "POST" if post else "GET", **({"content": b"{}"} if post else {})
    )
    launch.wait_ready(process, log, ready, seconds)
    return server


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


def start_mock(work: Path, latency_ms: float, stream_interval_ms: float) -> Server:
    port = launch.free_port()
    log = work / "mock.log"
    options = ("--latency-ms", str(latency_ms), "--stream-interval-ms", str(stream_interval_ms))
    process = launch.serve_fake("llm", port, log, *options)
    return _start("mock", port, process, log, "/v1/messages", 120)


def start_bastion(work: Path, mock_url: str) -> Server:
    """The bench profile (``bench._support.launch.write_profile``): the full governance
    chain, API-key authentication and the audit trail on, SQLite, logging at warning;
    routes ``claude-*`` passed through to the mock and ``gpt-*`` translated."""
    port = launch.free_port()
    directory = work / "bastion-profile"
    db = f"sqlite+aiosqlite:///{directory / 'bastion.db'}"
    routes = launch.llm_routes(mock_url, "claude-*", "gpt-*")
    profile = launch.write_profile(directory, "bench-compare", port, db, gateway=routes)
    log = work / "bastion.log"
    argv = [launch.BASTION, "--profile", str(profile), "serve", "--port", str(port)]
    server = _start("bastion", port, launch.spawn(argv, log, work), log, "/api/v1/health", 120)
    server.headers = {"x-api-key": launch.api_key(profile, work)}
    server.extra["profile"] = profile
    server.extra["db"] = profile / "bastion.db"
    return server


def bastion_post_count(server: Server) -> int:
    """POSTs Bastion answered, by its own Prometheus counter (any status)."""
    return sum(launch.metric(server.url, "bastion_http_requests_total", method="POST").values())


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
    port = launch.free_port()
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
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    process = launch.spawn(argv, log, directory, env)
    server = _start("litellm", port, process, log, "/health/liveliness", 180)
    server.headers = {"x-api-key": LITELLM_MASTER_KEY}
    server.extra["argv"] = argv
    server.extra["config"] = config.read_text()
    return server
