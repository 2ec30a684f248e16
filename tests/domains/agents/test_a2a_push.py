"""Push notifications end to end, on SQLite and PostgreSQL: a task's webhook, given with
its message or set afterwards through the a2a-sdk client, receives its status changes
and the finished task, signed; a webhook to a private address is refused unless the
profile allows it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import orjson
import pytest
from a2a.types import a2a_pb2
from aiohttp import web
from google.protobuf.json_format import ParseDict

from bastion.infra.security import verify_webhook
from tests.domains.agents.a2a_support import UPSTREAM_KEY, Bastion, as_dict, message, profile
from tests.fakes import FakeAnthropic, Reply, TokenUsage
from tests.fakes.mcp_servers import HttpMcpServer
from tests.support import running_server

SIGNING = "push-signing-secret-0123456789"
USAGE = TokenUsage(input_tokens=5, output_tokens=5)


@dataclass
class Hook:
    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def bodies(self, count: int) -> list[dict[str, object]]:
        deadline = time.monotonic() + 15
        while len(self.received) < count:
            assert time.monotonic() < deadline, self.received
            await asyncio.sleep(0.05)
        return [orjson.loads(body) for _, body in self.received]


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    state = Hook()

    async def handle(request: web.Request) -> web.Response:
        state.received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
async def bastion(
    module_db_url: str, upstream: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bastion]:
    with HttpMcpServer() as mcp:
        path = profile(
            tmp_path_factory.mktemp("profile"),
            module_db_url,
            upstream,
            mcp,
            extra={
                "agents": {
                    "push_notifications": {
                        "allow_private": True,
                        "require_https": False,
                        "signing_secret": "push_signing",
                    }
                }
            },
            secrets={"push_signing": SIGNING},
        )
        with running_server(path) as server:
            yield Bastion(server)


async def test_a_webhook_given_with_the_message_gets_the_task_signed(
    bastion: Bastion, upstream: FakeAnthropic, hook: Hook
) -> None:
    upstream.enqueue(Reply(text="Pushed.", usage=USAGE))
    request = ParseDict(
        {
            "message": message("Tell my webhook"),
            "configuration": {"taskPushNotificationConfig": {"url": hook.url, "token": "tok-1"}},
        },
        a2a_pb2.SendMessageRequest(),
    )
    async with bastion.client("assistant", bastion.token("usr_push"), streaming=False) as client:
        (event,) = [as_dict(e) async for e in client.send_message(request)]
    task = event["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    bodies = await hook.bodies(3)  # working, completed, then the finished task
    states = [b["statusUpdate"]["status"]["state"] for b in bodies if "statusUpdate" in b]  # type: ignore[index]
    assert states == ["TASK_STATE_WORKING", "TASK_STATE_COMPLETED"]
    (finished,) = [b["task"] for b in bodies if "task" in b]
    assert finished["id"] == task["id"] and finished["artifacts"]  # type: ignore[index]
    for headers, body in hook.received:
        assert headers["X-A2A-Notification-Token"] == "tok-1"
        verify_webhook(SIGNING, body, headers["X-Bastion-Signature"], now=time.time())


async def test_configs_are_managed_through_the_sdk(
    bastion: Bastion, upstream: FakeAnthropic, hook: Hook
) -> None:
    upstream.enqueue(Reply(text="Later.", usage=USAGE))
    token = bastion.token("usr_push_crud")
    async with bastion.client("assistant", token, streaming=False) as client:
        send = ParseDict(
            {"message": message("Hi"), "configuration": {"returnImmediately": True}},
            a2a_pb2.SendMessageRequest(),
        )
        (event,) = [as_dict(e) async for e in client.send_message(send)]
        task_id = event["task"]["id"]
        created = as_dict(
            await client.create_task_push_notification_config(
                a2a_pb2.TaskPushNotificationConfig(task_id=task_id, id="mine", url=hook.url)
            )
        )
        assert (created["id"], created["url"]) == ("mine", hook.url)
        got = as_dict(
            await client.get_task_push_notification_config(
                a2a_pb2.GetTaskPushNotificationConfigRequest(task_id=task_id, id="mine")
            )
        )
        assert got["taskId"] == task_id
        listed = as_dict(
            await client.list_task_push_notification_configs(
                a2a_pb2.ListTaskPushNotificationConfigsRequest(task_id=task_id)
            )
        )
        assert [c["id"] for c in listed["configs"]] == ["mine"]
        await client.delete_task_push_notification_config(
            a2a_pb2.DeleteTaskPushNotificationConfigRequest(task_id=task_id, id="mine")
        )
        listed = as_dict(
            await client.list_task_push_notification_configs(
                a2a_pb2.ListTaskPushNotificationConfigsRequest(task_id=task_id)
            )
        )
        assert listed.get("configs", []) == []
    other = bastion.token("usr_someone_else")
    answer = await bastion.rpc(
        "assistant", other, "ListTaskPushNotificationConfigs", {"taskId": task_id}
    )
    assert answer.json()["error"]["code"] == -32001
