"""The A2A runtime end to end, on SQLite and PostgreSQL: the official ``a2a-sdk`` client
against a running Bastion whose native agents call a fake Anthropic upstream through the
gateway and a real MCP server through the governed proxy."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from a2a.types import a2a_pb2
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError
from google.protobuf.json_format import ParseDict
from sqlalchemy import select

from bastion.domains.agents._store import agent_tasks
from bastion.domains.gateway._records import ai_requests
from bastion.domains.mcp._records import mcp_tool_executions
from bastion.infra.audit import governance_decisions
from bastion.infra.db import create_engine
from tests.domains.agents.a2a_support import (
    MCP_KEY,
    UPSTREAM_KEY,
    Bastion,
    as_dict,
    message,
    profile,
)
from tests.domains.mcp.conftest import cli
from tests.fakes import FakeAnthropic, Reply, TokenUsage, ToolCall
from tests.fakes.mcp_servers import HttpMcpServer
from tests.fakes.mcp_servers._secrets import aws_access_key_id
from tests.support import running_server

USAGE = TokenUsage(input_tokens=40, output_tokens=10)
BIG = TokenUsage(input_tokens=90, output_tokens=20)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[HttpMcpServer]:
    with HttpMcpServer() as server:
        yield server


@pytest.fixture(scope="module")
async def bastion(
    module_db_url: str,
    upstream: FakeAnthropic,
    mcp_server: HttpMcpServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Bastion]:
    path = profile(tmp_path_factory.mktemp("profile"), module_db_url, upstream, mcp_server)
    with running_server(path) as server:
        yield Bastion(server)


@pytest.fixture(autouse=True)
def _reset(upstream: FakeAnthropic) -> None:
    upstream.reset()


async def rows(db_url: str, table: Any, **where: Any) -> list[dict[str, Any]]:
    engine = create_engine(db_url)
    try:
        query = select(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        async with engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]
    finally:
        await engine.dispose()


async def eventually(db_url: str, table: Any, **where: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while not (found := await rows(db_url, table, **where)):
        assert time.monotonic() < deadline, f"no {table.name} row for {where}"
        await asyncio.sleep(0.05)
    return found


def send_request(msg: dict[str, Any], **configuration: Any) -> a2a_pb2.SendMessageRequest:
    body: dict[str, Any] = {"message": msg}
    if configuration:
        body["configuration"] = configuration
    return ParseDict(body, a2a_pb2.SendMessageRequest())


async def collect(client: Any, request: a2a_pb2.SendMessageRequest) -> list[dict[str, Any]]:
    return [as_dict(event) async for event in client.send_message(request)]


def final_task(events: list[dict[str, Any]]) -> dict[str, Any]:
    (task,) = [e["task"] for e in events if "task" in e][-1:]
    return task


def state_of(event: dict[str, Any]) -> str | None:
    if "statusUpdate" in event:
        return str(event["statusUpdate"]["status"]["state"])
    if "task" in event:
        return str(event["task"]["status"]["state"])
    return None


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(block.get("text", "")) for block in content)


def answer_text(task: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for a in task.get("artifacts", []) for p in a["parts"])


async def test_the_card_advertises_what_is_served(bastion: Bastion) -> None:
    card = as_dict(await bastion.card("assistant"))
    assert card["capabilities"] == {
        "streaming": True,
        "pushNotifications": True,
        "extendedAgentCard": True,
    }
    quiet = as_dict(await bastion.card("quiet"))
    assert quiet["capabilities"].get("streaming", False) is False


async def test_send_blocking_runs_the_native_loop_and_records_it(
    bastion: Bastion, upstream: FakeAnthropic, module_db_url: str
) -> None:
    upstream.enqueue(Reply(text="The answer is 42.", usage=USAGE))
    async with bastion.client("quiet", bastion.token("usr_alice"), streaming=False) as client:
        (event,) = await collect(client, send_request(message("What is six times seven?")))
    task = event["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED", task
    assert answer_text(task) == "The answer is 42."
    assert task["history"][0]["parts"] == [{"text": "What is six times seven?"}]

    (sent,) = upstream.requests
    assert sent.header("x-api-key") == UPSTREAM_KEY
    assert sent.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is six times seven?"}]}
    ]
    (row,) = await eventually(module_db_url, ai_requests, task_id=task["id"])
    assert (row["agent_id"], row["context_id"], row["user_id"]) == (
        "quiet",
        task["contextId"],
        "usr_alice",
    )
    (stored,) = await rows(module_db_url, agent_tasks, id=task["id"])
    assert (stored["state"], stored["agent"], stored["user_id"]) == (
        "TASK_STATE_COMPLETED",
        "quiet",
        "usr_alice",
    )
    assert stored["trace_id"] == row["trace_id"]


async def test_a_tool_is_called_through_the_governed_proxy(
    bastion: Bastion, upstream: FakeAnthropic, mcp_server: HttpMcpServer, module_db_url: str
) -> None:
    upstream.enqueue(
        Reply(tool_calls=[ToolCall("fake__add", {"a": 2, "b": 40})], usage=USAGE),
        Reply(text="2 + 40 = 42", usage=USAGE),
    )
    async with bastion.client("assistant", bastion.token("usr_tools")) as client:
        events = await collect(client, send_request(message("Add 2 and 40")))
    states = [s for s in map(state_of, events) if s]
    assert states[0] == "TASK_STATE_SUBMITTED" and states[-1] == "TASK_STATE_COMPLETED", states
    assert "TASK_STATE_WORKING" in states
    chunks = [e["artifactUpdate"] for e in events if "artifactUpdate" in e]
    assert "".join(p.get("text", "") for c in chunks for p in c["artifact"]["parts"]) == (
        "2 + 40 = 42"
    )
    task_id = chunks[0]["taskId"]
    assert mcp_server.recorded.tool_calls("add")[-1] == {"a": 2, "b": 40}
    tool_headers = mcp_server.recorded.headers[-1]
    assert tool_headers.get("x-upstream-key") == MCP_KEY
    assert "authorization" not in tool_headers
    second = upstream.requests[1].body
    assert second["messages"][-1]["content"][0]["type"] == "tool_result"
    assert {t["name"] for t in second["tools"]} >= {"fake__add", "request_input"}
    (execution,) = await eventually(module_db_url, mcp_tool_executions, task_id=task_id)
    assert (execution["tool"], execution["agent_id"]) == ("add", "assistant")


async def test_a_tool_denied_by_policy_rejects_the_task(
    bastion: Bastion, upstream: FakeAnthropic, mcp_server: HttpMcpServer
) -> None:
    upstream.enqueue(
        Reply(tool_calls=[ToolCall("fake__delete_repository", {"name": "prod"})], usage=USAGE)
    )
    calls_before = len(mcp_server.recorded.tool_calls("delete_repository"))
    async with bastion.client("assistant", bastion.token("usr_bold"), streaming=False) as client:
        (event,) = await collect(client, send_request(message("Delete the prod repo")))
    status = event["task"]["status"]
    assert status["state"] == "TASK_STATE_REJECTED"
    said = status["message"]["parts"][0]["text"]
    assert "fake/delete_repository" in said and "blocklist" in said, said
    assert len(mcp_server.recorded.tool_calls("delete_repository")) == calls_before


async def test_a_secret_in_a_message_is_refused_before_any_model_call(
    bastion: Bastion, upstream: FakeAnthropic, module_db_url: str
) -> None:
    secret = aws_access_key_id()
    async with bastion.client("quiet", bastion.token("usr_leaky"), streaming=False) as client:
        (event,) = await collect(client, send_request(message(f"my key is {secret}")))
    task = event["task"]
    assert task["status"]["state"] == "TASK_STATE_REJECTED"
    assert "secret" in task["status"]["message"]["parts"][0]["text"]
    assert upstream.requests == []
    (stored,) = await rows(module_db_url, agent_tasks, id=task["id"])
    assert secret not in stored["document"]
    (decision,) = await eventually(module_db_url, governance_decisions, task_id=task["id"])
    assert (decision["decision"], decision["target_type"], decision["agent_id"]) == (
        "deny",
        "agent",
        "quiet",
    )


async def test_get_list_and_another_users_task(bastion: Bastion, upstream: FakeAnthropic) -> None:
    upstream.enqueue(Reply(text="Hello.", usage=USAGE))
    owner = bastion.token("usr_owner")
    async with bastion.client("quiet", owner, streaming=False) as client:
        (event,) = await collect(client, send_request(message("Hi")))
        task_id = event["task"]["id"]
        got = as_dict(await client.get_task(a2a_pb2.GetTaskRequest(id=task_id, history_length=0)))
        assert got["status"]["state"] == "TASK_STATE_COMPLETED" and "history" not in got
        listed = as_dict(await client.list_tasks(a2a_pb2.ListTasksRequest()))
        assert [t["id"] for t in listed["tasks"]] == [task_id]
        assert "artifacts" not in listed["tasks"][0]
    async with bastion.client("quiet", bastion.token("usr_other"), streaming=False) as client:
        with pytest.raises(TaskNotFoundError, match="not found"):
            await client.get_task(a2a_pb2.GetTaskRequest(id=task_id))
        assert as_dict(await client.list_tasks(a2a_pb2.ListTasksRequest())).get("tasks", []) == []
    admin = bastion.token("usr_root", "admin")
    async with bastion.client("quiet", admin, streaming=False) as client:
        got = as_dict(await client.get_task(a2a_pb2.GetTaskRequest(id=task_id)))
        assert got["id"] == task_id


async def test_multi_turn_input_required_then_context(
    bastion: Bastion, upstream: FakeAnthropic
) -> None:
    upstream.enqueue(
        Reply(tool_calls=[ToolCall("request_input", {"question": "Which city?"})], usage=USAGE),
        Reply(text="Oslo is sunny.", usage=USAGE),
        Reply(text="Yes, still sunny.", usage=USAGE),
    )
    async with bastion.client("quiet", bastion.token("usr_chat"), streaming=False) as client:
        (first,) = await collect(client, send_request(message("What is the weather?")))
        task = first["task"]
        assert task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
        assert task["status"]["message"]["parts"] == [{"text": "Which city?"}]
        ids = {"taskId": task["id"], "contextId": task["contextId"]}
        (second,) = await collect(client, send_request(message("Oslo", **ids)))
        assert second["task"]["id"] == task["id"]
        assert second["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
        (third,) = await collect(
            client, send_request(message("Still?", contextId=task["contextId"]))
        )
    assert third["task"]["id"] != task["id"]
    assert third["task"]["contextId"] == task["contextId"]
    transcript = upstream.requests[2].body["messages"]
    said = [(m["role"], text_of(m["content"])) for m in transcript]
    assert said[0] == ("user", "What is the weather?")
    assert ("user", "Oslo") in said and said[-1] == ("user", "Still?")
    assert any(role == "assistant" and "Oslo is sunny." in text for role, text in said)


@pytest.mark.parametrize(
    ("agent", "reply", "limit"),
    [
        (
            "budget-tokens",
            Reply(tool_calls=[ToolCall("fake__add", {"a": 1, "b": 1})], usage=BIG),
            "max_total_tokens (100)",
        ),
        (
            "budget-cost",
            Reply(tool_calls=[ToolCall("fake__add", {"a": 1, "b": 1})], usage=BIG),
            "max_cost_microdollars (50)",
        ),
        (
            "budget-turns",
            Reply(tool_calls=[ToolCall("fake__add", {"a": 1, "b": 1})], usage=USAGE),
            "max_iterations (1)",
        ),
        ("budget-time", Reply(text="late", usage=USAGE, latency=3.0), "timeout_seconds (1 s)"),
    ],
)
async def test_limits_fail_the_task_naming_the_limit(
    bastion: Bastion, upstream: FakeAnthropic, agent: str, reply: Reply, limit: str
) -> None:
    upstream.enqueue(reply)
    async with bastion.client(agent, bastion.token("usr_budget"), streaming=False) as client:
        (event,) = await collect(client, send_request(message("Add forever")))
    status = event["task"]["status"]
    assert status["state"] == "TASK_STATE_FAILED"
    assert limit in status["message"]["parts"][0]["text"]


async def test_cancel_and_resubscribe_after_a_dropped_stream(
    bastion: Bastion, upstream: FakeAnthropic
) -> None:
    upstream.enqueue(Reply(text="slowly " * 20, usage=USAGE, latency=1.5))
    token = bastion.token("usr_cancel")
    async with bastion.client("assistant", token) as client:
        stream = client.send_message(send_request(message("Take your time")))
        first = as_dict(await anext(stream))
        task_id = first["task"]["id"]
        await stream.aclose()  # the caller drops the stream: the task goes on
        resumed = client.subscribe(a2a_pb2.SubscribeToTaskRequest(id=task_id))
        snapshot = as_dict(await anext(resumed))
        assert snapshot["task"]["id"] == task_id
        assert snapshot["task"]["status"]["state"] in ("TASK_STATE_SUBMITTED", "TASK_STATE_WORKING")
        canceled = as_dict(await client.cancel_task(a2a_pb2.CancelTaskRequest(id=task_id)))
        assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
        rest = [as_dict(e) async for e in resumed]
        assert state_of(rest[-1]) == "TASK_STATE_CANCELED"
        with pytest.raises(TaskNotCancelableError, match="ended"):
            await client.cancel_task(a2a_pb2.CancelTaskRequest(id=task_id))


async def test_protocol_errors_are_json_rpc_errors(bastion: Bastion) -> None:
    token = bastion.token("usr_proto")
    cases = [
        (dict(raw=b"{not json"), -32700),
        (dict(raw=b"[]"), -32600),
        (dict(method="NoSuchMethod"), -32601),
        (dict(method="message/send", version="1.0"), -32601),
        (dict(method="GetTask", params={"id": "missing"}), -32001),
        (dict(method="SendMessage", params={"message": {"role": "ROLE_USER"}}), -32602),
        (dict(method="GetTask", params={"id": "x"}, version="9.0"), -32009),
        (
            dict(
                method="SendMessage",
                params={
                    "message": {
                        "messageId": "m1",
                        "role": "ROLE_USER",
                        "parts": [{"raw": "aGk=", "mediaType": "image/png"}],
                    }
                },
            ),
            -32005,
        ),
        (dict(method="SendStreamingMessage", params={"message": message("hi")}), -32004),
        (dict(method="CreateTaskPushNotificationConfig", params={"taskId": "t"}), -32003),
    ]
    for kwargs, code in cases:
        method = str(kwargs.pop("method", ""))
        answer = await bastion.rpc("quiet", token, method, **kwargs)  # type: ignore[arg-type]
        assert answer.status_code == 200, (method, answer.text)
        error = answer.json()["error"]
        assert error["code"] == code, (method, kwargs, error)
    unknown = await bastion.rpc("nobody", token, "GetTask", {"id": "x"})
    assert unknown.json()["error"]["code"] == -32000


async def test_extended_card(bastion: Bastion) -> None:
    async with bastion.client("assistant", bastion.token("usr_card")) as client:
        card = as_dict(await client.get_extended_agent_card(a2a_pb2.GetExtendedAgentCardRequest()))
    assert card["name"] and card["capabilities"]["extendedAgentCard"] is True


async def test_an_a2a_0_3_client_is_served(bastion: Bastion, upstream: FakeAnthropic) -> None:
    upstream.enqueue(Reply(text="Old but gold.", usage=USAGE), Reply(text="Streamed.", usage=USAGE))
    token = bastion.token("usr_legacy")
    old_message = {
        "kind": "message",
        "messageId": "m-03",
        "role": "user",
        "parts": [{"kind": "text", "text": "Hello from 0.3"}],
    }
    answer = await bastion.rpc(
        "assistant", token, "message/send", {"message": old_message}, version=None
    )
    task = answer.json()["result"]
    assert (task["kind"], task["status"]["state"]) == ("task", "completed"), task
    assert task["artifacts"][0]["parts"][0] == {"kind": "text", "text": "Old but gold."}
    got = await bastion.rpc("assistant", token, "tasks/get", {"id": task["id"]}, version="0.3")
    assert got.json()["result"]["id"] == task["id"]
    missing = await bastion.rpc("assistant", token, "tasks/get", {"id": "nope"}, version="0.3")
    assert missing.json()["error"]["code"] == -32001

    events = await bastion.stream(
        "assistant",
        token,
        "message/stream",
        {"message": {**old_message, "messageId": "m-04"}},
        version="0.3",
    )
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "task" and kinds[-1] == "status-update", kinds
    assert events[-1]["final"] is True and events[-1]["status"]["state"] == "completed"
    assert "artifact-update" in kinds


async def test_a_webhook_to_a_private_address_is_refused(
    bastion: Bastion, upstream: FakeAnthropic
) -> None:
    upstream.enqueue(Reply(text="ok", usage=USAGE))
    token = bastion.token("usr_ssrf")
    sent = await bastion.rpc(
        "assistant",
        token,
        "SendMessage",
        {"message": message("hi"), "configuration": {"returnImmediately": True}},
    )
    task_id = sent.json()["result"]["task"]["id"]
    for url in ("http://127.0.0.1:9/hook", "https://169.254.169.254/latest", "https://10.0.0.1/x"):
        answer = await bastion.rpc(
            "assistant",
            token,
            "CreateTaskPushNotificationConfig",
            {"taskId": task_id, "url": url},
        )
        assert answer.json()["error"]["code"] == -32602, (url, answer.text)


async def test_audit_trace_shows_the_tasks_five_points(
    bastion: Bastion, upstream: FakeAnthropic
) -> None:
    upstream.enqueue(
        Reply(tool_calls=[ToolCall("fake__echo", {"text": "traced"})], usage=USAGE),
        Reply(text="Echoed.", usage=USAGE),
    )
    trace = f"e2e-a2a-trace-{os.getpid()}-{int(time.time() * 1000) % 100000:05d}"
    token = bastion.token("usr_traced")
    async with bastion.client("assistant", token, streaming=False, **{"x-trace-id": trace}) as c:
        (event,) = await collect(c, send_request(message("Echo traced")))
    task = event["task"]
    profile_dir = bastion.server.profile_dir
    deadline = time.monotonic() + 10
    while True:
        found = await cli(profile_dir, "audit", "trace", trace, "--json")
        assert found.exit_code == 0, found.output
        rows = orjson.loads(found.output)
        tables = {r["table"] for r in rows}
        if {"ai_requests", "mcp_tool_executions"} <= tables or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert {"agent_tasks", "governance_decisions", "ai_requests", "mcp_tool_executions"} <= tables
    for row in rows:
        if row["table"] != "agent_tasks":
            assert (row["agent_id"], row["task_id"], row["context_id"]) == (
                "assistant",
                task["id"],
                task["contextId"],
            ), row
    shown = await cli(profile_dir, "audit", "trace", trace)
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "1. Identity: user_id=usr_traced" in text
    assert f"task_id={task['id']}" in text
    order = [text.index(point) for point in ("2. Agent", "3. Permissions", "4. Tool", "5. Result")]
    assert order == sorted(order), text
