"""No secret reaches a log line, a SIEM event or a decision row.

A real ``bastion serve`` process (JSON logs at debug level, access log on, a SIEM file
sink) receives prompts and tool arguments carrying generated look-alike AWS, GitHub,
Anthropic and PEM secrets through ``/api/v1/governance/evaluate`` and
``/api/v1/hooks/govern``. Afterwards none of the raw secrets, nor a recognisable piece of
one, appears in its stderr/stdout, in the SIEM file or in ``governance_decisions``; the
redacted previews do appear in the evaluate responses."""

from __future__ import annotations

import os
import random
import signal
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from bastion.infra.audit import governance_decisions
from bastion.infra.config import load_profile
from bastion.infra.db import create_engine
from bastion.infra.security import JwtCodec
from bastion.kernel.ids import RoleName, TenantId, UserId
from bastion.kernel.tiers import Tier
from tests.support import free_port, write_profile

BASTION = str(Path(sys.executable).with_name("bastion"))
RNG = random.Random(4242)
ALNUM = string.ascii_letters + string.digits


def _chars(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def _pem() -> str:
    body = "\n".join(_chars(ALNUM + "+/", 64) for _ in range(8))
    label = "RSA " + "PRIVATE KEY"
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


SECRETS = {
    "aws-access-key-id": "AK" + "IA" + _chars(string.ascii_uppercase + string.digits, 16),
    "github-pat": "gh" + "p_" + _chars(ALNUM, 36),
    "anthropic-api-key": "sk-" + "ant-api03-" + _chars(ALNUM + "-_", 93) + "AA",
    "private-key-rsa": _pem(),
}
PREVIEWS = {
    "aws-access-key-id": "AKIA[REDACTED:aws-access-key-id]",
    "github-pat": "ghp_[REDACTED:github-pat]",
    "anthropic-api-key": "sk-ant-api03-[REDACTED:anthropic-api-key]",
    "private-key-rsa": "-----BEGIN RSA PRIVATE KEY-----[REDACTED:private-key-rsa]",
}


def _fragments(secret: str) -> list[str]:
    """The secret, and pieces of it long enough to matter (past any public prefix)."""
    if "PRIVATE KEY" in secret:
        return [secret, *(line for line in secret.splitlines() if "-----" not in line)]
    return [secret, secret[-16:]]


@dataclass
class Served:
    url: str
    profile: Path
    siem: Path
    stderr: Path
    stdout: Path
    process: subprocess.Popen[bytes]
    token: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    siem = tmp_path / "siem" / "events.jsonl"
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {
            "server": {"port": port, "access_log": True},
            "logging": {"level": "debug", "format": "json"},
            "audit": {"siem": {"type": "file", "path": str(siem), "flush_interval_ms": 20}},
            "rate_limits": {"requests_per_second": 1000},
        },
    )
    loaded = load_profile(profile)
    jwt = JwtCodec(loaded.profile.security.jwt, loaded.secrets.get("jwt_signing_key"))
    token = jwt.issue(
        user_id=UserId("usr_leaky"),
        tenant_id=TenantId("default"),
        role=RoleName("user"),
        tier=Tier.USER,
        scopes={"llm:invoke", "mcp:call"},
    ).token
    stderr, stdout = tmp_path / "stderr.log", tmp_path / "stdout.log"
    with stderr.open("wb") as err, stdout.open("wb") as out:
        process = subprocess.Popen(
            [BASTION, "--profile", str(profile), "serve"],
            stdout=out,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = Served(f"http://127.0.0.1:{port}", profile, siem, stderr, stdout, process, token)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, stderr.read_text()
            try:
                if httpx.get(server.url + "/api/v1/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, stderr.read_text()
            time.sleep(0.05)
        yield server
    finally:
        server.stop()


def _requests() -> list[tuple[str, dict[str, Any], str]]:
    """(path, body, pattern id expected to deny) for each secret, on every surface."""
    calls: list[tuple[str, dict[str, Any], str]] = []
    for pattern_id, secret in SECRETS.items():
        calls += [
            (
                "/api/v1/governance/evaluate",
                {"target": {"type": "prompt"}, "input": f"Why does this fail?\n{secret}\nthanks"},
                pattern_id,
            ),
            (
                "/api/v1/governance/evaluate",
                {
                    "target": {"type": "tool", "server": "vault", "tool": "store"},
                    "input": {"items": [{"name": "k", "value": secret}], "note": "rotate"},
                },
                pattern_id,
            ),
            (
                "/api/v1/governance/evaluate",
                {
                    "target": {"type": "tool", "server": "vault", "tool": "store"},
                    "input": {"by_key": {secret: "primary"}},
                },
                pattern_id,
            ),
            (
                "/api/v1/hooks/govern",
                {
                    "session_id": "sess-leak",
                    "hook_event_name": "PreToolUse",
                    "tool_name": "mcp__vault__store",
                    "tool_input": {"env": {"SECRET": secret}},
                },
                pattern_id,
            ),
            (
                "/api/v1/hooks/govern",
                {
                    "session_id": "sess-leak",
                    "hook_event_name": "UserPromptSubmit",
                    "prompt": f"deploy using {secret}",
                },
                pattern_id,
            ),
        ]
    return calls


async def test_no_secret_in_logs_siem_events_or_rows(served: Served, db_url: str) -> None:
    calls = _requests()
    headers = {"authorization": f"Bearer {served.token}"}
    traces: list[str] = []
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        for path, body, pattern_id in calls:
            response = await client.post(path, json=body, headers=headers)
            assert response.status_code == 200, response.text
            traces.append(response.headers["x-trace-id"])
            for secret in SECRETS.values():
                for fragment in _fragments(secret):
                    assert fragment not in response.text
            payload = response.json()
            if path.endswith("/evaluate"):
                assert (payload["decision"], payload["rule"]) == ("deny", f"secret.{pattern_id}")
                previews = [f["redacted"] for f in payload["details"]["findings"]]
                assert PREVIEWS[pattern_id] in previews
            elif body["hook_event_name"] == "PreToolUse":
                output = payload["hookSpecificOutput"]
                assert output["permissionDecision"] == "deny"
                assert f"secret.{pattern_id}" in output["permissionDecisionReason"]
            else:
                assert payload["decision"] == "block"
                assert f"secret.{pattern_id}" in payload["reason"]
        # A clean request too, so the logs carry allowed traffic as well.
        clean = await client.post(
            "/api/v1/hooks/govern",
            json={"session_id": "s", "hook_event_name": "UserPromptSubmit", "prompt": "hi"},
            headers=headers,
        )
        assert clean.json() == {}
        traces.append(clean.headers["x-trace-id"])
    served.stop()
    assert served.process.returncode == 0, served.stderr.read_text()

    logs = served.stderr.read_text() + served.stdout.read_text()
    assert '"event"' in logs  # JSON logging was really on
    siem_text = served.siem.read_text()
    events = [orjson.loads(line) for line in siem_text.splitlines()]
    decisions = [e for e in events if e["event_type"] == "governance.decision"]
    assert sorted(e["trace_id"] for e in decisions) == sorted(traces)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = [dict(r._mapping) for r in (await conn.execute(select(governance_decisions)))]
    finally:
        await engine.dispose()
    assert sorted(r["trace_id"] for r in rows) == sorted(traces)
    assert sum(r["decision"] == "deny" for r in rows) == len(calls)
    rows_text = repr(rows)

    for pattern_id, secret in SECRETS.items():
        for fragment in _fragments(secret):
            assert fragment not in logs, (pattern_id, "log")
            assert fragment not in siem_text, (pattern_id, "siem")
            assert fragment not in rows_text, (pattern_id, "rows")
