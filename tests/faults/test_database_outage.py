"""PostgreSQL stopped under API-key and JWT callers (a private instance, never the shared
one). A credential that cannot be checked is refused with 503 in the caller's wire format
(fail closed), never a bare 500; every answered request keeps its ``ai_requests`` row,
spilled while the database is down and replayed after; recovery needs no restart."""

from __future__ import annotations

import time
from pathlib import Path

import anthropic
import openai
import pytest

from tests.cli.conftest import query
from tests.fakes import FakeAnthropic
from tests.faults.conftest import UPSTREAM_KEY, cli, gateway_profile
from tests.support import ServerThread, write_profile
from tests.support.private_services import PrivatePostgres

pytestmark = pytest.mark.postgres

BOUND_SECONDS = 1.0


def call(client: anthropic.Anthropic, trace: str) -> int:
    """The status of one call; a refusal must be an Anthropic-format error."""
    try:
        client.messages.create(
            model="claude-test",
            max_tokens=16,
            messages=[{"role": "user", "content": "hello"}],
            extra_headers={"x-trace-id": trace},
        )
    except anthropic.APIStatusError as exc:
        body = exc.response.json()
        assert body["type"] == "error", body
        assert exc.status_code == 503, (exc.status_code, body)
        assert body["error"]["type"] == "overloaded_error"
        assert "identity store is unavailable" in body["error"]["message"]
        assert exc.response.headers["retry-after"] == "1"
        assert exc.response.headers["x-trace-id"] == trace
        return exc.status_code
    return 200


def test_callers_fail_closed_with_503_while_postgres_is_down_and_nothing_is_lost(
    postgres: PrivatePostgres, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    upstream = FakeAnthropic(api_key=UPSTREAM_KEY).start()
    profile = gateway_profile(
        tmp_path,
        postgres.url,
        upstream,
        {
            "security": {"api_key_cache_seconds": BOUND_SECONDS},
            "rate_limits": {"requests_per_second": 1000},
        },
    )
    cli(profile, "admin", "users", "create", "alice", "--role", "user")
    token = cli(profile, "admin", "tokens", "issue", "alice")
    key = cli(profile, "admin", "keys", "issue", "alice", "--name", "laptop")
    server = ServerThread(profile).start()
    try:
        by_key = anthropic.Anthropic(base_url=server.url, api_key=key, max_retries=0)
        by_jwt = anthropic.Anthropic(
            base_url=server.url, auth_token=token, api_key=None, max_retries=0
        )
        answered: dict[str, int] = {}
        n = 0

        def round_(label: str) -> tuple[int, int]:
            nonlocal n
            statuses = []
            for caller in (by_key, by_jwt):
                n += 1
                trace = f"outage-{label}-{n}"
                answered[trace] = call(caller, trace)
                statuses.append(answered[trace])
            return statuses[0], statuses[1]

        assert round_("up") == (200, 200)

        postgres.stop()
        seen: set[tuple[int, int]] = set()
        until = time.monotonic() + BOUND_SECONDS + 10
        while time.monotonic() < until:
            seen.add(round_("down"))
            if (503, 503) in seen:
                break
            time.sleep(0.05)
        assert (503, 503) in seen, f"still served unchecked while the database is down: {seen}"
        for _ in range(20):
            assert round_("down") == (503, 503)

        postgres.start()
        until = time.monotonic() + 30
        while round_("recovering") != (200, 200):
            assert time.monotonic() < until, "not served again after the database came back"
            time.sleep(0.1)

        # Every answered request, served or refused, has its row once the spill replays.
        traces = sorted(answered)
        until = time.monotonic() + 60
        while True:
            rows = dict(
                query(
                    postgres.url,
                    "SELECT trace_id, status FROM ai_requests WHERE trace_id LIKE 'outage-%'",
                )
            )
            if len(rows) >= len(traces) or time.monotonic() > until:
                break
            time.sleep(0.25)
        assert sorted(rows) == traces
        assert {t: int(s) for t, s in rows.items()} == answered
        refused = sum(1 for s in answered.values() if s == 503)
        assert refused >= 42
        (count,) = query(postgres.url, "SELECT count(*) FROM ai_requests")[0]
        assert count == len(answered)
    finally:
        server.stop()
        upstream.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert err.count("identity store unavailable") <= 2


def test_openai_callers_get_the_503_in_the_openai_format(
    postgres: PrivatePostgres, tmp_path: Path
) -> None:
    profile = write_profile(
        tmp_path / "profile",
        postgres.url,
        {"audit": {"flush_interval_ms": 50, "spill_path": str(tmp_path / "spill.jsonl")}},
    )
    cli(profile, "admin", "users", "create", "bob", "--role", "user")
    key = cli(profile, "admin", "keys", "issue", "bob", "--name", "ci")
    server = ServerThread(profile).start()
    try:
        postgres.stop()
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(
                model="mock-model", messages=[{"role": "user", "content": "hi"}]
            )
        assert caught.value.status_code == 503
        error = caught.value.response.json()["error"]
        assert "identity store is unavailable" in error["message"]
        assert "type" in error
    finally:
        server.stop()
