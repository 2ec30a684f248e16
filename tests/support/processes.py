"""The ``bastion`` command as a real subprocess: a server whose output threads collect,
and one-shot commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASTION = Path(sys.executable).parent / "bastion"
# Each process imports and boots everything afresh: generous on a loaded machine.
BOOT_SECONDS = 240


def env(**extra: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if k != "BASTION_PROFILE"}
    return {**values, "PYTHONPATH": str(ROOT), **extra}


def bastion(
    profile: Path, *args: str, cwd: Path, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """``bastion --profile PROFILE ARGS...`` to its end, stdout and stderr kept apart."""
    return subprocess.run(
        [str(BASTION), "--profile", str(profile), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env(**extra_env),
        timeout=BOOT_SECONDS,
        check=False,
    )


@dataclass
class Served:
    """A server subprocess whose stdout and stderr threads collect; ``url`` once it
    announced itself."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    out_lines: list[str] = field(default_factory=list)
    announced: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    @classmethod
    def start(cls, args: Sequence[str], cwd: Path, **extra_env: str) -> Served:
        proc = subprocess.Popen(
            list(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env(**extra_env),
        )
        served = cls(proc)
        assert proc.stdout is not None
        threading.Thread(target=served._collect, args=(proc.stdout,), daemon=True).start()
        threading.Thread(target=served._read, daemon=True).start()
        if not served.announced.wait(BOOT_SECONDS) or not served.url:
            proc.kill()
            proc.wait()
            pytest.fail("no 'Bastion serving' line:\n" + served.stderr)
        return served

    def _collect(self, stream: IO[str]) -> None:
        for line in stream:
            self.out_lines.append(line)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if line.startswith("Bastion serving ") and not self.url:
                self.url = line.split()[2]
                self.announced.set()
        self.announced.set()

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    @property
    def stdout(self) -> str:
        return "".join(self.out_lines)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("the server did not stop within 120s:\n" + self.stderr)


def start_bastion(profile: Path, *args: str, cwd: Path, **extra_env: str) -> subprocess.Popen[str]:
    """``bastion --profile PROFILE ARGS...`` started, stdout and stderr piped."""
    return subprocess.Popen(
        [str(BASTION), "--profile", str(profile), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env(**extra_env),
    )


def assert_one_error_line(proc: subprocess.Popen[str], expected: str) -> str:
    """The process exits with status 1, no traceback, and exactly the ``error:`` line
    ``expected`` on stderr; returns its stderr."""
    try:
        stdout, stderr = proc.communicate(timeout=BOOT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"{proc.args} did not exit: it served when it should not have\n{stderr}")
    assert proc.returncode == 1, (stdout, stderr)
    assert "Traceback" not in stderr, stderr
    assert [line for line in stderr.splitlines() if line.startswith("error:")] == [expected]
    return stderr
