"""``bastion serve`` in one process: the listening socket is taken before boot."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.support import write_profile
from tests.support.processes import BASTION, assert_one_error_line, env


def test_a_port_in_use_is_one_error_line_before_anything_boots(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    profile = write_profile(
        tmp_path / "profile", f"sqlite+aiosqlite:///{db}", {"logging": {"level": "info"}}
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = subprocess.Popen(
            [str(BASTION), "--profile", str(profile), "serve", f"--port={port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env(),
        )
        stderr = assert_one_error_line(
            serve,
            f"error: boot failed at listen: cannot listen on 127.0.0.1:{port}: "
            "Address already in use",
        )
    assert "startup" not in stderr and "Errno" not in stderr, stderr
    assert not db.exists()  # nothing booted: no database opened, no migration applied
