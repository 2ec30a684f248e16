"""Redis stopped under load with the Redis rate-limit and quota backends (a private
instance, never the shared one): the chain fails closed with a clear answer in the
caller's wire format and a decision row, no request hangs past the short Redis timeout,
and calls are served again once Redis is back, without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from tests.cli.conftest import query
from tests.fakes import FakeAnthropic
from tests.faults.conftest import UPSTREAM_KEY, cli, gateway_profile
from tests.support import ServerThread
from tests.support.private_services import PrivateRedis


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    instance = PrivateRedis()
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def call(client: anthropic.Anthropic, trace: str) -> tuple[int, str]:
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
        return exc.status_code, body["error"]["message"]
    return 200, ""


def test_rate_limits_fail_closed_while_redis_is_down_and_recover_without_restart(
    db_url: str, redis: PrivateRedis, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    upstream = FakeAnthropic(api_key=UPSTREAM_KEY).start()
    profile = gateway_profile(
        tmp_path,
        db_url,
        upstream,
        {
            "rate_limits": {
                "backend": "redis",
                "redis_url": redis.url,
                "requests_per_second": 1000,
                "redis_timeout_ms": 250,
            },
            "governance": {
                "quota": {
                    "backend": "redis",
                    "redis_url": redis.url,
                    "rules": [{"subject": "user", "window": "1h", "limits": {"requests": 10_000}}],
                }
            },
        },
    )
    cli(profile, "admin", "users", "create", "carol", "--role", "user")
    token = cli(profile, "admin", "tokens", "issue", "carol")
    server = ServerThread(profile).start()
    try:
        client = anthropic.Anthropic(
            base_url=server.url, auth_token=token, api_key=None, max_retries=0, timeout=10
        )
        assert call(client, "redis-up-0") == (200, "")

        redis.stop()
        refused: list[str] = []
        for i in range(30):
            started = time.monotonic()
            status, message = call(client, f"redis-down-{i}")
            took = time.monotonic() - started
            assert status == 503, (status, message)
            assert "rate_limit stage's backend is unavailable" in message, message
            assert took < 2.0, f"a call waited {took:.2f}s on a Redis that is down"
            refused.append(f"redis-down-{i}")

        redis.start()
        until = time.monotonic() + 15
        i = 0
        while call(client, f"redis-back-{i}")[0] != 200:
            assert time.monotonic() < until, "not served again after Redis came back"
            i += 1
            time.sleep(0.1)

        until = time.monotonic() + 15
        while True:
            rows = query(
                db_url,
                "SELECT trace_id, decision, rule FROM governance_decisions "
                "WHERE trace_id LIKE 'redis-down-%'",
            )
            if len(rows) >= len(refused) or time.monotonic() > until:
                break
            time.sleep(0.2)
        assert sorted(t for t, _, _ in rows) == sorted(refused)
        assert {(decision, rule) for _, decision, rule in rows} == {
            ("deny", "governance.backend_unavailable")
        }
    finally:
        server.stop()
        upstream.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert err.count("backend unavailable; denying") == 1
