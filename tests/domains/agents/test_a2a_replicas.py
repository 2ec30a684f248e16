"""Tasks outlive the process that ran them and are shared by replicas, on SQLite and
PostgreSQL: two Bastions on one database, a restart, a replica that went away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from a2a.types import a2a_pb2
from google.protobuf.json_format import ParseDict

from bastion.domains.agents._store import TaskRecord, TaskStore, utcnow
from bastion.infra.db import create_engine
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.ids import TenantId, TraceId, UserId
from bastion.kernel.tiers import Tier
from tests.domains.agents.a2a_support import UPSTREAM_KEY, Bastion, as_dict, message, profile
from tests.fakes import FakeAnthropic, Reply, TokenUsage
from tests.fakes.mcp_servers import HttpMcpServer
from tests.support import ServerThread

USAGE = TokenUsage(input_tokens=5, output_tokens=5)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[HttpMcpServer]:
    with HttpMcpServer() as server:
        yield server


@pytest.fixture(scope="module")
def profile_dir(
    module_db_url: str,
    upstream: FakeAnthropic,
    mcp_server: HttpMcpServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    return profile(tmp_path_factory.mktemp("profile"), module_db_url, upstream, mcp_server)


@pytest.fixture
async def pair(profile_dir: Path) -> AsyncIterator[tuple[Bastion, Bastion]]:
    first, second = ServerThread(profile_dir).start(), ServerThread(profile_dir).start()
    try:
        yield Bastion(first), Bastion(second)
    finally:
        first.stop()
        second.stop()


def send(text: str) -> a2a_pb2.SendMessageRequest:
    return ParseDict({"message": message(text)}, a2a_pb2.SendMessageRequest())


async def test_a_task_is_read_after_a_restart(profile_dir: Path, upstream: FakeAnthropic) -> None:
    upstream.reset()
    upstream.enqueue(Reply(text="Persisted.", usage=USAGE))
    before = Bastion(ServerThread(profile_dir).start())
    token = before.token("usr_restart")
    try:
        async with before.client("quiet", token, streaming=False) as client:
            (event,) = [as_dict(e) async for e in client.send_message(send("Remember me"))]
    finally:
        before.server.stop()
    task_id = event["task"]["id"]

    after = Bastion(ServerThread(profile_dir).start())
    try:
        async with after.client("quiet", after.token("usr_restart"), streaming=False) as client:
            got = as_dict(await client.get_task(a2a_pb2.GetTaskRequest(id=task_id)))
            listed = as_dict(await client.list_tasks(a2a_pb2.ListTasksRequest()))
    finally:
        after.server.stop()
    assert got["status"]["state"] == "TASK_STATE_COMPLETED"
    assert got["artifacts"][0]["parts"] == [{"text": "Persisted."}]
    assert task_id in [t["id"] for t in listed["tasks"]]


async def test_another_replica_follows_and_cancels_a_running_task(
    pair: tuple[Bastion, Bastion], upstream: FakeAnthropic
) -> None:
    upstream.reset()
    upstream.enqueue(Reply(text="never seen", usage=USAGE, latency=20.0))
    runner, other = pair
    token = runner.token("usr_replicas")
    async with runner.client("assistant", token) as client:
        stream = client.send_message(send("Work slowly"))
        first = as_dict(await anext(stream))
        task_id = first["task"]["id"]
        async with other.client("assistant", other.token("usr_replicas")) as elsewhere:
            followed = elsewhere.subscribe(a2a_pb2.SubscribeToTaskRequest(id=task_id))
            snapshot = as_dict(await anext(followed))
            assert snapshot["task"]["id"] == task_id
            canceled = as_dict(await elsewhere.cancel_task(a2a_pb2.CancelTaskRequest(id=task_id)))
            assert canceled["status"]["state"] == "TASK_STATE_CANCELED", canceled
            rest = [as_dict(e) async for e in followed]
            assert rest[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_CANCELED"
        mine = [as_dict(e) async for e in stream]
        assert mine[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_CANCELED"


async def test_a_task_left_by_a_replica_that_went_away_fails(
    pair: tuple[Bastion, Bastion], module_db_url: str
) -> None:
    """A replica that crashed renews no lease: a reader finishes its task as failed."""
    bastion, _ = pair
    owner = RequestContext(
        trace_id=TraceId("trace-abandoned"),
        tier=Tier.USER,
        auth_method=AuthMethod.JWT,
        user_id=UserId("usr_crash"),
        tenant_id=TenantId("default"),
    )
    record = TaskRecord.new(
        owner,
        agent="quiet",
        task_id="task-abandoned-" + module_db_url[:5],
        context_id="ctx-abandoned",
        document={
            "id": "task-abandoned-" + module_db_url[:5],
            "contextId": "ctx-abandoned",
            "status": {"state": "TASK_STATE_WORKING", "timestamp": "2026-12-08T00:00:00Z"},
        },
    )
    record.lease_until = utcnow() - timedelta(seconds=1)
    engine = create_engine(module_db_url)
    try:
        await TaskStore(engine).create(record)
    finally:
        await engine.dispose()
    async with bastion.client("quiet", bastion.token("usr_crash"), streaming=False) as client:
        got = as_dict(await client.get_task(a2a_pb2.GetTaskRequest(id=record.id)))
    assert got["status"]["state"] == "TASK_STATE_FAILED"
    assert "went away" in got["status"]["message"]["parts"][0]["text"]
