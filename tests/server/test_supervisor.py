"""``bastion serve --workers N``: one supervisor, N worker processes on one socket.

The worker processes are found as the supervisor's children that hold the listening
socket (``/proc``), never through anything Bastion publishes. Which worker answers a
request is made certain by stopping (SIGSTOP) the others: a stopped process accepts no
connection, so the one left running must have served it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import Cli, query
from tests.examples.install import examples_installed  # noqa: F401  (autouse)
from tests.support import write_profile
from tests.support.processes import BASTION, Served, assert_one_error_line, env
from tests.support.ticker import TICKER_FILE

MOCK_ROUTE = {
    "name": "mock",
    "model_pattern": "*",
    "provider": "mock",
    "pricing": {"input": 0, "output": 0},
}
RUN_WITH_TICKER = """
import sys
from pathlib import Path

from bastion.infra.config import load_profile
from bastion.runtime.logs import configure_process_logging
from bastion.server import run
from tests.support.ticker import TickerExtension

loaded = load_profile(Path(sys.argv[1]))
configure_process_logging(loaded)
run(
    loaded,
    workers=2,
    port=0,
    extra=[TickerExtension],
    on_ready=lambda url: print("Bastion serving", url, file=sys.stderr, flush=True),
)
"""


def redis_limits(redis_url: str, prefix: str) -> dict[str, Any]:
    return {"backend": "redis", "redis_url": redis_url, "key_prefix": prefix}


def listening_inode(port: int) -> str:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return fields[9]
    raise AssertionError(f"nothing listens on port {port}")


def worker_pids(supervisor: int, port: int) -> list[int]:
    """The supervisor's children that hold the listening socket."""
    target = f"socket:[{listening_inode(port)}]"
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != supervisor:
                continue
            if any(os.readlink(fd) == target for fd in (entry / "fd").iterdir()):
                found.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return sorted(found)


@contextmanager
def stopped(pids: Sequence[int]) -> Iterator[None]:
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def ask_mock(url: str, token: str) -> str:
    """One gateway request; returns the trace id Bastion gave it."""
    response = httpx.post(
        url + "/v1/messages",
        json={"model": "mock-1", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.headers["x-trace-id"]


def test_two_workers_share_the_socket_and_audit_every_request_once(
    db_url: str, redis_url: str, unique_prefix: str, tmp_path: Path
) -> None:
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {
            "rate_limits": redis_limits(redis_url, unique_prefix),
            "gateway": {"routes": [MOCK_ROUTE]},
            # Rows wait in each worker's queue until it stops: stopping must drain them.
            "audit": {"flush_interval_ms": 10_000, "batch_size": 10_000},
        },
    )
    server = Served.start(
        [str(BASTION), "--profile", str(profile), "serve", "--workers", "2", "--port", "0"],
        cwd=tmp_path,
    )
    sent: dict[int, list[str]] = {}
    try:
        assert server.port != 0
        workers = worker_pids(server.proc.pid, server.port)
        assert len(workers) == 2, server.stderr
        token = Cli(profile).ok("admin", "tokens", "issue", "admin").strip()
        for serving in workers:
            with stopped([pid for pid in workers if pid != serving]):
                ready = httpx.get(server.url + "/api/v1/ready", timeout=60)
                assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
                sent[serving] = [ask_mock(server.url, token) for _ in range(3)]
        # The control: with every worker stopped nobody answers, not the supervisor either.
        with stopped(workers), pytest.raises(httpx.TimeoutException):
            httpx.get(server.url + "/api/v1/ready", timeout=2)
    finally:
        returncode = server.stop(signal.SIGTERM)
    assert returncode == 0, server.stderr
    assert "Traceback" not in server.stderr, server.stderr
    announced = [line for line in server.lines if line.startswith("Bastion serving ")]
    assert announced == [f"Bastion serving {server.url} with the {profile} (2 workers)\n"]
    traces = sorted(t for per_worker in sent.values() for t in per_worker)
    assert len(set(traces)) == 6
    rows = query(db_url, "SELECT trace_id FROM ai_requests")
    assert sorted(trace for (trace,) in rows) == traces


def test_jobs_run_in_one_worker_only(
    db_url: str, redis_url: str, unique_prefix: str, tmp_path: Path
) -> None:
    profile = write_profile(
        tmp_path / "profile", db_url, {"rate_limits": redis_limits(redis_url, unique_prefix)}
    )
    ticks = tmp_path / "ticks.txt"
    server = Served.start(
        [sys.executable, "-c", RUN_WITH_TICKER, str(profile)],
        cwd=tmp_path,
        **{TICKER_FILE: str(ticks)},
    )
    try:
        workers = worker_pids(server.proc.pid, server.port)
        assert len(workers) == 2, server.stderr
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            not ticks.exists() or len(ticks.read_text().split()) < 8
        ):
            time.sleep(0.2)
    finally:
        returncode = server.stop(signal.SIGTERM)
    assert returncode == 0, server.stderr
    pids = [int(pid) for pid in ticks.read_text().split()]
    assert len(pids) >= 8, server.stderr
    assert set(pids) < set(workers)  # one worker, never the supervisor
    assert len(set(pids)) == 1
    runs = query(db_url, "SELECT count(*) FROM core_job_runs WHERE extension_id = 'ticker'")
    assert runs == [(len(pids),)]


REFUSED = "error: boot failed at configure: server.workers is 2 but "
REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "rate limits in memory": (
        {},
        REFUSED + "rate_limits.backend is 'memory': each worker would keep its own buckets and "
        "admit 2x the configured rate; set rate_limits.backend: redis "
        "(with rate_limits.redis_url)",
    ),
    "quotas in memory": (
        {
            "rate_limits": redis_limits("redis://127.0.0.1:6379/0", "unused:"),
            "governance": {
                "quota": {"rules": [{"subject": "user", "window": "1h", "limits": {"requests": 9}}]}
            },
        },
        REFUSED + "governance.quota.backend is 'memory': each worker would count its own share "
        "and admit up to 2x every quota; set governance.quota.backend: redis "
        "(with governance.quota.redis_url)",
    ),
}


@pytest.mark.parametrize("scenario", list(REFUSALS))
def test_workers_refuse_state_kept_per_process(scenario: str, tmp_path: Path) -> None:
    """``serve --workers 2`` and ``config validate`` of ``server.workers: 2`` refuse it
    with the same line, before any database is created."""
    overrides, expected = REFUSALS[scenario]
    db = tmp_path / "b.db"
    flag = write_profile(tmp_path / "flag", f"sqlite+aiosqlite:///{db}", overrides)
    in_profile = write_profile(
        tmp_path / "in-profile",
        f"sqlite+aiosqlite:///{db}",
        {**overrides, "server": {"workers": 2}},
    )
    serve = subprocess.Popen(
        [str(BASTION), "--profile", str(flag), "serve", "--workers", "2", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env(),
    )
    validate = subprocess.Popen(
        [str(BASTION), "--profile", str(in_profile), "config", "validate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env(),
    )
    assert_one_error_line(serve, expected)
    assert_one_error_line(validate, expected)
    assert not db.exists()


def test_workers_refuse_a_port_in_use(redis_url: str, unique_prefix: str, tmp_path: Path) -> None:
    profile = write_profile(
        tmp_path / "profile",
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        {"rate_limits": redis_limits(redis_url, unique_prefix)},
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = subprocess.Popen(
            [str(BASTION), "--profile", str(profile), "serve", "--workers=2", f"--port={port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env(),
        )
        assert_one_error_line(
            serve,
            f"error: boot failed at listen: cannot listen on 127.0.0.1:{port}: "
            "Address already in use",
        )
