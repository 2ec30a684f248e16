"""``kill -9`` of a real ``bastion serve`` mid-load: no answered request loses its audit
row. The rows of the in-memory batch window are in the write-ahead journal before the
response is sent, and the next start replays them without duplicating committed rows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.fakes import FakeAnthropic
from tests.faults._load import Load, audit_traces, wait_for_rows
from tests.faults.conftest import cli, fault_profile
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
BASTION = Path(sys.executable).parent / "bastion"
BOOT_SECONDS = 120


class Serve:
    """``bastion serve`` in a process of its own, announced on stderr."""

    def __init__(self, profile: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}
        self.proc = subprocess.Popen(
            [str(BASTION), "--profile", str(profile), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=profile,
            env={**env, "PYTHONPATH": str(ROOT)},
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(BOOT_SECONDS) or self.proc.poll() is not None:
            self.proc.kill()
            pytest.fail("bastion serve did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if line.startswith("Bastion serving"):
                self._ready.set()
        self._ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(60)


async def test_kill_9_mid_load_loses_no_answered_row(
    db_url: str, upstream: FakeAnthropic, tmp_path: Path
) -> None:
    profile = fault_profile(tmp_path / "profile", db_url, upstream)
    port = free_port()
    server = Serve(profile, port)
    try:
        await asyncio.to_thread(cli, profile, "admin", "users", "create", "bob", "--role", "user")
        token = await asyncio.to_thread(cli, profile, "admin", "tokens", "issue", "bob")
        killed: list[int] = []

        async def kill(answered: int) -> None:
            if answered >= 1000 and not killed:
                os.kill(server.proc.pid, signal.SIGKILL)
                killed.append(answered)

        load = Load(f"http://127.0.0.1:{port}", {"authorization": f"Bearer {token}"}, total=2000)
        load.on_progress = kill
        await load.run()
        assert server.proc.wait(10) == -signal.SIGKILL
    finally:
        server.stop()
    answered = [trace for trace, r in load.answered.items() if r.status_code == 200]
    assert len(answered) == len(load.answered) >= 1000
    assert load.unanswered  # the kill did cut the load short
    server = Serve(profile, port)
    try:
        await wait_for_rows(db_url, len(answered), timeout=30)
        traces = Counter(await audit_traces(db_url))
    finally:
        server.stop()
    lost = [trace for trace in answered if trace not in traces]
    assert not lost, f"{len(lost)} of {len(answered)} answered requests have no row"
    assert max(traces.values()) == 1, "a replayed row was duplicated"
    # Requests cut by the kill may have a row (accepted, answer lost on the way): never two.
    assert set(traces) <= set(answered) | set(load.unanswered)
