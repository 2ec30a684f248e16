"""``bastion cowork-helper``: the Claude for Work "credential helper script".

It exchanges a personal Bastion API key for a short-lived JWT and the canonical identity
headers, prints exactly one JSON object ``{token, ttl, headers}`` on stdout (diagnostics
go to stderr), and caches the answer (mode 0600) until shortly before it expires.
"""

from __future__ import annotations

import json
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import typer

from bastion.infra.commands import is_stdin, read_text, shown

DEFAULT_CONFIG = Path("~/.config/bastion/cowork.toml")
DEFAULT_CACHE = Path("~/.cache/bastion/cowork-token.json")
PAT_PATH = "/v1/gateway/auth/cowork/pat"


def _diag(message: str) -> None:
    print(f"bastion cowork-helper: {message}", file=sys.stderr)


def _config(path: Path | None) -> dict[str, Any]:
    """TOML file first, then environment variables on top."""
    chosen = path or Path(os.environ.get("BASTION_COWORK_CONFIG", str(DEFAULT_CONFIG)))
    chosen = chosen.expanduser()
    config: dict[str, Any] = {}
    if is_stdin(chosen) or chosen.is_file():
        try:
            config = tomllib.loads(read_text(chosen))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            _diag(f"cannot read {shown(chosen)}: {exc}")
            raise typer.Exit(1) from None
    elif path is not None:
        _diag(f"config file {chosen} does not exist")
        raise typer.Exit(1)
    for key, env in (("url", "BASTION_URL"), ("api_key", "BASTION_API_KEY")):
        if os.environ.get(env):
            config[key] = os.environ[env]
    if "api_key" not in config and config.get("api_key_env"):
        config["api_key"] = os.environ.get(str(config["api_key_env"]), "")
    for key in ("url", "api_key"):
        if not config.get(key):
            _diag(f"missing {key}: set it in {shown(chosen)} or BASTION_{key.upper()}")
            raise typer.Exit(1)
    return config


def _cached(cache: Path, now: float) -> dict[str, Any] | None:
    try:
        entry = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    expires_at = float(entry.get("expires_at", 0))
    # Refresh a little early so a request never starts with a token about to lapse.
    margin = min(300.0, max(30.0, float(entry.get("ttl", 0)) / 10))
    if expires_at - now <= margin:
        return None
    return {"token": entry["token"], "ttl": int(expires_at - now), "headers": entry["headers"]}


def _store(cache: Path, answer: dict[str, Any], now: float) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    entry = {**answer, "expires_at": now + float(answer["ttl"])}
    fd = os.open(cache, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(entry, handle)
    os.chmod(cache, 0o600)


def cowork_helper(
    config_file: Path | None = typer.Option(
        None,
        "--config",
        help="TOML with url, api_key (or api_key_env), cache_file; '-' for stdin.",
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Always ask Bastion."),
) -> None:
    """Print {token, ttl, headers} for Claude for Work's credential helper."""
    config = _config(config_file)
    cache = Path(str(config.get("cache_file", DEFAULT_CACHE))).expanduser()
    now = time.time()
    answer = None if no_cache else _cached(cache, now)
    if answer is None:
        url = str(config["url"]).rstrip("/") + PAT_PATH
        try:
            response = httpx.post(
                url, headers={"authorization": f"Bearer {config['api_key']}"}, timeout=15.0
            )
        except httpx.HTTPError as exc:
            _diag(f"cannot reach {url}: {exc}")
            raise typer.Exit(1) from None
        if response.status_code != 200:
            _diag(f"{url} answered {response.status_code}: {response.text[:300]}")
            raise typer.Exit(1)
        document = response.json()
        answer = {k: document[k] for k in ("token", "ttl", "headers")}
        _store(cache, answer, now)
        _diag(f"new token for {answer['ttl']} s, cached in {cache}")
    sys.stdout.write(json.dumps(answer) + "\n")
