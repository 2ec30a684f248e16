"""``hello_installed``: the example extension, installed as an operator would install it.

An autouse, session-scoped fixture. Modules (and conftests) whose tests expect ``hello``
among the installed extensions import it, so they also pass on an environment prepared by
``make install`` alone.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "extensions" / "hello"


@pytest.fixture(scope="session", autouse=True)
def hello_installed() -> None:
    """Install ``bastion-hello`` (no deps, no build isolation) unless it is present."""
    if importlib.util.find_spec("bastion_hello") is None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                str(EXAMPLE),
            ],
            check=True,
            timeout=300,
        )
        importlib.invalidate_caches()
    assert importlib.util.find_spec("bastion_hello") is not None
