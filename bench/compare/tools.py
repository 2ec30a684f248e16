"""The harness installs its own tools: wrk (Debian), the LiteLLM proxy, matplotlib and
py-spy (a separate virtual environment under ``bench/.litellm-venv``, kept out of
Bastion's dependencies)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
HARNESS_VENV = BENCH / ".litellm-venv"
LITELLM_VERSION = "1.81.0"
# 1.82.7 and 1.82.8 were compromised releases: never install them.
_COMPROMISED = {"1.82.7", "1.82.8"}
HARNESS_REQUIREMENTS = [
    f"litellm[proxy]=={LITELLM_VERSION}",
    "matplotlib>=3.8,<4",
    "py-spy>=0.3.14",
]


def _log(message: str) -> None:
    print(f"[bench.compare] {message}", flush=True)


def harness_python() -> Path:
    return HARNESS_VENV / "bin" / "python"


def _harness_ready() -> bool:
    python = harness_python()
    if not python.exists():
        return False
    probe = (
        "import importlib.metadata as m, matplotlib;"
        f"assert m.version('litellm') == {LITELLM_VERSION!r};"
        "import litellm.proxy.proxy_server"
    )
    result = subprocess.run(
        [str(python), "-c", probe],
        capture_output=True,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    return result.returncode == 0 and (HARNESS_VENV / "bin" / "py-spy").exists()


def ensure_harness_venv() -> Path:
    """``bench/.litellm-venv`` with LiteLLM proxy (pinned), matplotlib and py-spy."""
    assert LITELLM_VERSION not in _COMPROMISED
    if _harness_ready():
        return HARNESS_VENV
    _log(f"installing litellm[proxy]=={LITELLM_VERSION}, matplotlib, py-spy into {HARNESS_VENV}")
    if not harness_python().exists():
        base = getattr(sys, "_base_executable", None) or sys.executable
        subprocess.run([base, "-m", "venv", str(HARNESS_VENV)], check=True)
    log = HARNESS_VENV / "install.log"
    with log.open("wb") as out:
        result = subprocess.run(
            [str(harness_python()), "-m", "pip", "install", "-q", *HARNESS_REQUIREMENTS],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0 or not _harness_ready():
        raise SystemExit(f"installing the harness venv failed; see {log}")
    return HARNESS_VENV


def litellm_bin() -> Path:
    return HARNESS_VENV / "bin" / "litellm"


def bastion_bin() -> Path:
    return Path(sys.executable).with_name("bastion")
