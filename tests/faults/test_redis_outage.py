"""Redis stopped under load with the Redis rate-limit and quota backends (a private
instance, never the shared one): the chain fails closed with a clear answer in the
caller's wire format and a decision row, no request hangs past the short Redis timeout,
and calls are served again once Redis is back, without a restart."""

from __future__ import annotations

import time
from pathlib import Path

import anthropic
import pytest

from tests.fakes import FakeAnthropic
from tests.faults.conftest import call, cli, fault_profile, rows_when
from tests.support import ServerThread
from tests.support.private_services import PrivateRedis


def test_rate_limits_fail_closed_while_redis_is_down_and_recover_without_restart(
    db_url: str,
    redis: PrivateRedis,
    upstream: FakeAnthropic,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    profile = fault_profile(
        tmp_path / "profile",
        db_url,
        upstream,
        rate_limits={
            "backend": "redis",
            "redis_url": redis.url,
            "requests_per_second": 1000,
            "redis_timeout_ms": 250,
        },
        governance={
            "quota": {
                "backend": "redis",
                "redis_url": redis.url,
                "rules": [{"subject": "user", "window": "1h", "limits": {"requests": 10_000}}],
            }
        },
    )
    cli(profile, "admin", "users", "create", "carol", "--role", "user")
    token = cli(profile, "admin", "tokens", "issue", "carol")
    server = ServerThread(profile).start()
    try:
        client = anthropic.Anthropic(
            base_url=server.url, auth_token=token, api_key=None, max_retries=0, timeout=10
        )
        assert call(client, "redis-up-0") == (200, None)

        redis.stop()
        refused: list[str] = []
        for i in range(30):
            started = time.monotonic()
            status, refused_by = call(client, f"redis-down-{i}")
            took = time.monotonic() - started
            assert refused_by is not None and status == 503, status
            message = refused_by.response.json()["error"]["message"]
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

        rows = rows_when(
            db_url,
            "SELECT trace_id, decision, rule FROM governance_decisions "
            "WHERE trace_id LIKE 'redis-down-%'",
            len(refused),
            timeout=15,
        )
        assert sorted(t for t, _, _ in rows) == sorted(refused)
        assert {(decision, rule) for _, decision, rule in rows} == {
            ("deny", "governance.backend_unavailable")
        }
    finally:
        server.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert err.count("backend unavailable; denying") == 1
