"""``uvicorn --factory bastion.server:create_app``: an ASGI server that owns the loop boots
Bastion in its lifespan startup, serves it, and drains it on shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import free_port, write_profile

ROOT = Path(__file__).resolve().parents[2]
UVICORN = Path(sys.executable).parent / "uvicorn"


def test_uvicorn_factory_boots_serves_and_stops(db_url: str, tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "profile", db_url)
    port = free_port()
    env = {**os.environ, "BASTION_PROFILE": str(profile), "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "uvicorn.log").open("wb")
    process = subprocess.Popen(
        [str(UVICORN), "--factory", "bastion.server:create_app", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(url + "/api/v1/ready", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert ready is not None and ready.json() == {"status": "ready"}, (
            tmp_path / "uvicorn.log"
        ).read_text()
        health = httpx.get(url + "/api/v1/health", timeout=5).json()
        assert health["checks"]["database"]["status"] == "ok"
        unauthenticated = httpx.get(url + "/api/v1/users/me", timeout=5)
        assert unauthenticated.status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0, (tmp_path / "uvicorn.log").read_text()
        log.close()
    assert "Traceback" not in (tmp_path / "uvicorn.log").read_text()


def test_a_profile_that_cannot_boot_fails_the_startup(tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "profile", "sqlite+aiosqlite:///" + str(tmp_path / "b.db"))
    text = (profile / "profile.yaml").read_text()
    (profile / "profile.yaml").write_text(text + "\nextensions:\n  disabled: [core]\n")
    env = {**os.environ, "BASTION_PROFILE": str(profile), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [str(UVICORN), "--factory", "bastion.server:create_app", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "boot failed" in done.stdout + done.stderr
