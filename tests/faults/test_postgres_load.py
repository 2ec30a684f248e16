"""PostgreSQL stopped mid-load (a private instance, never the shared one): 1,500 JWT
requests at 20 connections, the database stopped after 300 answers and started again
after 900. Every request is answered (served, or refused with a documented 503 once the
revocation snapshot is older than its bound), and every answer keeps exactly one
``ai_requests`` row: spilled while the database is down, replayed after."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from bastion.infra.security import BUILTIN_ROLES
from bastion.kernel.ids import RoleName, TenantId, UserId
from tests.fakes import FakeAnthropic
from tests.faults._load import Load, audit_traces, wait_for_rows
from tests.faults.conftest import fault_profile
from tests.support import running_server
from tests.support.private_services import PrivatePostgres

USER = next(role for role in BUILTIN_ROLES if str(role.name) == "user")


async def test_postgres_stopped_mid_load_every_answer_keeps_its_row(
    postgres: PrivatePostgres, upstream: FakeAnthropic, tmp_path: Path
) -> None:
    profile = fault_profile(tmp_path / "profile", postgres.url, upstream)
    with running_server(profile) as server:
        assert server.platform is not None
        token = server.platform.jwt.issue(
            user_id=UserId("usr_load"),
            tenant_id=TenantId("default"),
            role=RoleName("user"),
            tier=USER.tier,
            scopes=USER.scopes,
        ).token
        events: list[str] = []

        async def fault(answered: int) -> None:
            if answered == 300 and not events:
                events.append("stop")
                await asyncio.to_thread(postgres.stop)
            elif answered == 900 and events == ["stop"]:
                events.append("start")
                await asyncio.to_thread(postgres.start)

        load = Load(server.url, {"authorization": f"Bearer {token}"}, total=1500)
        load.on_progress = fault
        await load.run()
        assert events == ["stop", "start"]
        assert not load.unanswered, list(load.unanswered.values())[:3]
        assert set(load.statuses()) <= {200, 503}, load.statuses()
        assert load.statuses().get(200, 0) >= 600
        count = await wait_for_rows(postgres.url, len(load.answered))
        traces = await audit_traces(postgres.url)
    assert count == len(load.answered)
    assert Counter(traces) == Counter(list(load.answered))
    assert not (tmp_path / "profile" / "audit" / "spill.jsonl.rejected").exists()
