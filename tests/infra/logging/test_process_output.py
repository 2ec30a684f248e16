"""What a real server and real CLI commands print: never SQL, never a secret.

Everything runs as the operator runs it (``bastion ...`` subprocesses, the server on
loopback, gateway requests through it), at the default ``info`` level and at ``debug``,
on SQLite and PostgreSQL; stdout and stderr of every process are searched.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import signal
from pathlib import Path

import httpx
import yaml

from tests.cli.conftest import query
from tests.support import write_profile
from tests.support.processes import BASTION, Served, bastion

MOCK_ROUTE = {"name": "mock", "model_pattern": "*", "provider": "mock"}
# SQL as SQLAlchemy echoes it (upper case, as emitted), anywhere in a line.
SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE FROM\b"
    r"|\bCREATE (?:UNIQUE )?(?:TABLE|INDEX)\b|\bALTER TABLE\b|\bPRAGMA\b"
    r"|\bBEGIN \(implicit\)|^.*\[(?:info|warning|error)\s*\] (?:COMMIT|ROLLBACK)\b"
)


def _profile(tmp_path: Path, db_url: str, level: str) -> tuple[Path, list[str]]:
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {"logging": {"level": level}, "gateway": {"routes": [MOCK_ROUTE]}},
        {"upstream_token": "upstr-" + secrets.token_urlsafe(24)},
    )
    values = yaml.safe_load((profile / "secrets.yaml").read_text())
    return profile, [str(v) for v in values.values()]


RECORD_START = re.compile(r"^\d{4}-\d\d-\d\dT\S+ \[", re.MULTILINE)


def _sql_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if SQL.search(line)]


def _records(text: str) -> list[str]:
    """Console log records, each with the lines that continue it (a multi-line SQL
    statement)."""
    starts = [m.start() for m in RECORD_START.finditer(text)]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def _ask(url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        url + "/v1/messages",
        json={"model": "mock-1", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        headers=headers,
        timeout=60,
    )


def test_no_sql_and_no_secret_in_the_output_of_the_server_and_the_cli(
    db_url: str, tmp_path: Path
) -> None:
    profile, secret_values = _profile(tmp_path, db_url, "info")
    outputs: dict[str, str] = {}

    def run(*args: str) -> str:
        done = bastion(profile, *args, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        outputs[" ".join(args) + " (stderr)"] = done.stderr
        return done.stdout

    assert "migration(s) applied" in run("db", "migrate")
    run("admin", "users", "create", "carol", "--role", "service")
    key = run("admin", "keys", "issue", "carol", "--name", "ci").strip()
    token = run("admin", "tokens", "issue", "admin").strip()
    outputs["keys list"] = run("admin", "keys", "list", "--json")
    outputs["audit events"] = run("audit", "events", "--json")
    outputs["db status"] = run("db", "status")

    server = Served.start(
        [str(BASTION), "--profile", str(profile), "serve", "--port", "0"], cwd=tmp_path
    )
    try:
        assert _ask(server.url, {"authorization": f"Bearer {token}"}).status_code == 200
        assert _ask(server.url, {"x-api-key": key}).status_code == 200
        assert _ask(server.url, {"x-api-key": key[:-4] + "AAAA"}).status_code == 401
        assert httpx.get(server.url + "/api/v1/health", timeout=60).status_code == 200
    finally:
        returncode = server.stop(signal.SIGTERM)
    # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully.
    assert returncode == -signal.SIGTERM, server.stderr
    assert "Application shutdown complete" in server.stderr
    outputs["serve (stdout)"] = server.stdout
    outputs["serve (stderr)"] = server.stderr

    # The rows the requests wrote are in the database (so SQL did run) ...
    assert len(query(db_url, "SELECT trace_id FROM ai_requests")) == 3
    (stored_hash,) = query(db_url, "SELECT secret_hash FROM auth_api_keys")[0]
    secret = key.rsplit("_", 1)[1]
    assert stored_hash.strip() == hashlib.sha256(secret.encode()).hexdigest()
    # ... and the info level does log: the server's own lines are there.
    assert "Application startup complete" in server.stderr

    for name, text in outputs.items():
        assert _sql_lines(text) == [], name
        for value in [*secret_values, stored_hash.strip(), secret, token]:
            assert value not in text, (name, value)


def test_debug_shows_statements_never_parameters(db_url: str, tmp_path: Path) -> None:
    profile, secret_values = _profile(tmp_path, db_url, "debug")
    assert bastion(profile, "db", "migrate", cwd=tmp_path).returncode == 0
    done = bastion(profile, "admin", "keys", "issue", "admin", "--name", "ci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip().rsplit("_", 1)[1]
    (stored_hash,) = query(db_url, "SELECT secret_hash FROM auth_api_keys")[0]

    statements = [r for r in _records(done.stderr) if SQL.search(r)]
    assert any("INSERT INTO auth_api_keys" in r for r in statements), done.stderr
    # Statements are debug records; the parameters of every one are hidden.
    assert [r for r in statements if not r.split(" ", 1)[1].startswith("[debug")] == []
    assert "SQL parameters hidden" in done.stderr
    for value in [*secret_values, stored_hash.strip(), secret]:
        assert value not in done.stderr, value
