"""The LiteLLM proxy, installed by the harness into ``bench/.litellm-venv`` (with
matplotlib and py-spy, kept out of Bastion's dependencies), configured with its
documented minimal proxy config for the same two routes as Bastion, and started."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

from bench._support import launch

BENCH = Path(__file__).resolve().parent.parent
VENV = BENCH / ".litellm-venv"
PYTHON = VENV / "bin" / "python"
VERSION = "1.81.0"
assert VERSION not in {"1.82.7", "1.82.8"}  # compromised releases: never install them
MASTER_KEY = "sk-bench-" + secrets.token_hex(8)
# No network here: read the bundled model-cost map instead of fetching it at boot.
ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _ready() -> bool:
    probe = (
        "import importlib.metadata as m, matplotlib;"
        f"assert m.version('litellm') == {VERSION!r};"
        "import litellm.proxy.proxy_server"
    )
    if not PYTHON.exists() or not (VENV / "bin" / "py-spy").exists():
        return False
    result = subprocess.run([str(PYTHON), "-c", probe], capture_output=True, env=os.environ | ENV)
    return result.returncode == 0


def ensure() -> None:
    """``bench/.litellm-venv`` with the pinned LiteLLM proxy, matplotlib and py-spy."""
    if _ready():
        return
    print(f"installing litellm[proxy]=={VERSION}, matplotlib, py-spy into {VENV}", flush=True)
    if not PYTHON.exists():
        base = getattr(sys, "_base_executable", None) or sys.executable
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    wanted = [f"litellm[proxy]=={VERSION}", "matplotlib>=3.8,<4", "py-spy>=0.3.14"]
    with (VENV / "install.log").open("wb") as out:
        argv = [str(PYTHON), "-m", "pip", "install", "-q", *wanted]
        subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT)
    if not _ready():
        raise SystemExit(f"installing the harness venv failed; see {VENV / 'install.log'}")


def config(mock_url: str) -> dict[str, object]:
    """A ``model_list`` entry per model (``anthropic/...`` and ``openai/...`` with
    ``api_base`` on the mock) and a ``master_key`` so callers authenticate as they do on
    Bastion. No database (LiteLLM's default), every other setting left at its default."""
    models = (("claude-bench", "anthropic", mock_url), ("gpt-bench", "openai", mock_url + "/v1"))
    return {
        "model_list": [
            {
                "model_name": name,
                "litellm_params": {
                    "model": f"{kind}/{name}",
                    "api_base": url,
                    "api_key": launch.UPSTREAM_KEY,
                },
            }
            for name, kind, url in models
        ],
        "general_settings": {"master_key": MASTER_KEY},
    }


def start(ws: launch.Workspace, mock_url: str) -> tuple[launch.Server, list[str]]:
    """``litellm --config config.yaml`` with one worker (its default; Bastion runs one too)."""
    directory = ws.dir / "litellm"
    directory.mkdir(exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(config(mock_url), sort_keys=False))
    port = launch.free_port()
    argv = ["litellm", "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--num_workers", "1"]
    binary = [str(VENV / "bin" / "litellm"), *argv[1:]]
    server = ws.start(
        "litellm", binary, port, "/health/liveliness", seconds=180, cwd=directory, env=ENV
    )
    return server, argv
