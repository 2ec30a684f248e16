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
from tests.faults.conftest import call, cli, fault_profile, rows_when
from tests.support import ServerThread
from tests.support.private_services import PrivatePostgres

pytestmark = pytest.mark.postgres

BOUND_SECONDS = 1.0


def checked_call(client: anthropic.Anthropic, trace: str) -> int:
    """The status of one call; a refusal must be the documented 503."""
    status, refused = call(client, trace)
    if refused is not None:
        body = refused.response.json()
        assert status == 503, (status, body)
        assert body["error"]["type"] == "overloaded_error"
        assert "identity store is unavailable" in body["error"]["message"]
        assert refused.response.headers["retry-after"] == "1"
        assert refused.response.headers["x-trace-id"] == trace
    return status


def test_callers_fail_closed_with_503_while_postgres_is_down_and_nothing_is_lost(
    postgres: PrivatePostgres,
    upstream: FakeAnthropic,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    profile = fault_profile(
        tmp_path / "profile",
        postgres.url,
        upstream,
        security={"api_key_cache_seconds": BOUND_SECONDS},
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
                answered[trace] = checked_call(caller, trace)
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
        rows = dict(
            rows_when(
                postgres.url,
                "SELECT trace_id, status FROM ai_requests WHERE trace_id LIKE 'outage-%'",
                len(traces),
                timeout=60,
            )
        )
        assert sorted(rows) == traces
        assert {t: int(s) for t, s in rows.items()} == answered
        refused = sum(1 for s in answered.values() if s == 503)
        assert refused >= 42
        (count,) = query(postgres.url, "SELECT count(*) FROM ai_requests")[0]
        assert count == len(answered)
    finally:
        server.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert err.count("identity store unavailable") <= 2
    print(f"{len(answered)} calls answered, {refused} of them 503, {count} rows")


def test_openai_callers_get_the_503_in_the_openai_format(
    postgres: PrivatePostgres, upstream: FakeAnthropic, tmp_path: Path
) -> None:
    profile = fault_profile(tmp_path / "profile", postgres.url, upstream)
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
