"""Rate limits and quotas shared by two Bastion instances through one Redis, exercised
through ``/api/v1/governance/evaluate``, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from bastion.infra.audit import governance_decisions
from bastion.infra.db import create_engine
from tests.domains.governance.conftest import bearer, issue_token
from tests.support import ServerThread, write_profile

EVALUATE = "/api/v1/governance/evaluate"
PROMPT = {"target": {"type": "prompt"}, "input": "what changed in the release?"}
QUOTA = 5


@dataclass
class Replicas:
    a: ServerThread
    b: ServerThread
    db_url: str

    def token(self, user: str, role: str = "user") -> str:
        assert self.a.platform is not None
        return issue_token(self.a.platform, user, role)


@pytest.fixture
async def replicas(
    db_url: str,
    redis_url: str,
    unique_prefix: str,
    tmp_path: Path,
    servers: Callable[[Path], ServerThread],
) -> AsyncIterator[Replicas]:
    """Two app instances (separate platforms, event loops and listeners) on one database
    and one Redis, as two replicas behind a load balancer would be."""
    profile = write_profile(
        tmp_path / "profile",
        db_url,
        {
            "rate_limits": {
                "backend": "redis",
                "redis_url": redis_url,
                "key_prefix": unique_prefix + "rl:",
                "requests_per_second": 1,
                "burst_multiplier": 3,
            },
            "governance": {
                "quota": {
                    "backend": "redis",
                    "redis_url": redis_url,
                    "key_prefix": unique_prefix + "quota:",
                    "rules": [{"subject": "user", "window": "1h", "limits": {"requests": QUOTA}}],
                }
            },
        },
    )
    first, second = servers(profile), servers(profile)
    assert first.platform is not second.platform and first.port != second.port
    try:
        yield Replicas(first, second, db_url)
    finally:
        redis = Redis.from_url(redis_url)
        keys = [key async for key in redis.scan_iter(match=unique_prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def _decision_counts(db_url: str, user: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(governance_decisions.c.decision, func.count())
                .where(governance_decisions.c.user_id == user)
                .group_by(governance_decisions.c.decision)
            )
            return {decision: count for decision, count in rows.all()}
    finally:
        await engine.dispose()


async def _wait_for_rows(db_url: str, user: str, total: int) -> dict[str, int]:
    for _ in range(500):
        counts = await _decision_counts(db_url, user)
        if sum(counts.values()) >= total:
            return counts
        await asyncio.sleep(0.02)
    return await _decision_counts(db_url, user)


async def test_redis_rate_limit_is_shared_by_two_instances(replicas: Replicas) -> None:
    user = f"usr_{secrets.token_hex(4)}"
    headers = bearer(replicas.token(user))
    bodies: list[dict[str, object]] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for i in range(10):
            server = replicas.a if i % 2 == 0 else replicas.b
            response = await client.post(server.url + EVALUATE, json=PROMPT, headers=headers)
            assert response.status_code == 200
            bodies.append(response.json())
    decisions = [b["decision"] for b in bodies]
    # Burst = 1 request/s x 3; the first three (two on A, one on B) drain the shared bucket.
    assert decisions == ["allow"] * 3 + ["deny"] * 7
    for body in bodies[3:]:
        assert (body["stage"], body["rule"]) == ("rate_limit", "rate_limit.exceeded")
        assert isinstance(body["retry_after_ms"], int) and 0 < body["retry_after_ms"] <= 1000
        assert body["details"] == {"tier": "user", "rate_per_second": 1.0, "burst": 3}
        assert body["reason"] == (
            "rate limit for tier user exceeded: 1 requests/s with bursts of 3; "
            f"retry in {body['retry_after_ms']} ms"
        )
    assert await _wait_for_rows(replicas.db_url, user, 10) == {"allow": 3, "deny": 7}


async def test_concurrent_burst_across_instances_admits_exactly_the_burst(
    replicas: Replicas,
) -> None:
    user = f"usr_{secrets.token_hex(4)}"
    headers = bearer(replicas.token(user))
    async with httpx.AsyncClient(timeout=10) as client:
        responses = await asyncio.gather(
            *(
                client.post(server.url + EVALUATE, json=PROMPT, headers=headers)
                for server in [replicas.a, replicas.b] * 15
            )
        )
        # Another principal has a bucket of its own.
        other = await client.post(
            replicas.b.url + EVALUATE, json=PROMPT, headers=bearer(replicas.token("usr_other"))
        )
    assert other.json()["decision"] == "allow"
    bodies = [r.json() for r in responses]
    assert sum(b["decision"] == "allow" for b in bodies) == 3
    denied = [b for b in bodies if b["decision"] == "deny"]
    assert len(denied) == 27
    assert {b["rule"] for b in denied} == {"rate_limit.exceeded"}
    assert all(b["retry_after_ms"] > 0 for b in denied)
    assert await _wait_for_rows(replicas.db_url, user, 30) == {"allow": 3, "deny": 27}


async def test_quota_window_through_the_api_is_shared_by_two_instances(
    replicas: Replicas,
) -> None:
    # The admin tier's rate limit (10 requests/s, bursts of 30) leaves room for the quota.
    user = f"usr_{secrets.token_hex(4)}"
    headers = bearer(replicas.token(user, "admin"))
    bodies = []
    async with httpx.AsyncClient(timeout=10) as client:
        for i in range(QUOTA + 2):
            server = replicas.a if i % 2 == 0 else replicas.b
            response = await client.post(server.url + EVALUATE, json=PROMPT, headers=headers)
            bodies.append(response.json())
    assert [b["decision"] for b in bodies] == ["allow"] * QUOTA + ["deny"] * 2
    denied = bodies[QUOTA]
    assert (denied["stage"], denied["rule"]) == ("quota", "quota.user.requests")
    assert isinstance(denied["retry_after_ms"], int)
    assert 0 < denied["retry_after_ms"] <= 3_600_000
    assert denied["reason"].startswith(
        f"user quota of {QUOTA} requests per 1h window reached ({QUOTA} used); "
        "the window resets in "
    )
    assert denied["details"]["subject"] == "user"
    assert denied["details"]["subject_id"] == user
    assert (denied["details"]["limit"], denied["details"]["used"]) == (QUOTA, QUOTA)
    assert [e["result"] for e in denied["trace"]] == ["allow"] * 4 + ["deny"]
    assert await _wait_for_rows(replicas.db_url, user, QUOTA + 2) == {"allow": QUOTA, "deny": 2}
