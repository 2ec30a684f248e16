"""``bastion agents run`` against a running Bastion, and ``bastion agents tasks`` over
its database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import orjson
import pytest
from sqlalchemy import select

from bastion.infra.audit import audit_events
from bastion.infra.db import create_engine
from tests.domains.agents.a2a_support import UPSTREAM_KEY, Bastion, profile
from tests.domains.mcp.conftest import cli
from tests.fakes import FakeAnthropic, Reply, TokenUsage, ToolCall
from tests.fakes.mcp_servers import HttpMcpServer
from tests.support import running_server

USAGE = TokenUsage(input_tokens=5, output_tokens=5)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
async def bastion(
    module_db_url: str, upstream: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bastion]:
    with HttpMcpServer() as mcp:
        path = profile(tmp_path_factory.mktemp("profile"), module_db_url, upstream, mcp)
        with running_server(path) as server:
            yield Bastion(server)


@pytest.fixture(autouse=True)
def _reset(upstream: FakeAnthropic) -> None:
    upstream.reset()


async def agents(bastion: Bastion, *args: str, key: str | None = None) -> tuple[int, str]:
    given = ["--url", bastion.url, "--key", key] if key else []
    found = await cli(bastion.server.profile_dir, "agents", *args, *given)
    return found.exit_code, found.output


async def test_run_streams_the_answer(bastion: Bastion, upstream: FakeAnthropic) -> None:
    upstream.enqueue(Reply(text="The printer is on floor 3.", usage=USAGE))
    token = bastion.token("usr_cli")
    code, output = await agents(bastion, "run", "assistant", "Where is the printer?", key=token)
    assert code == 0, output
    assert "The printer is on floor 3." in output
    assert "working" in output and "TASK_STATE_COMPLETED" in output

    upstream.enqueue(Reply(text="Blocking.", usage=USAGE))
    code, output = await agents(
        bastion, "run", "quiet", "Hello", "--no-stream", "--json", key=token
    )
    assert code == 0, output
    (event,) = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert event["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


async def test_run_refused_and_failed(bastion: Bastion, upstream: FakeAnthropic) -> None:
    token = bastion.token("usr_cli")
    code, output = await agents(bastion, "run", "nobody", "Hi", key=token)
    assert code == 2 and "agent 'nobody' not found (-32000)" in output, output
    upstream.enqueue(Reply(tool_calls=[ToolCall("fake__add", {"a": 1, "b": 2})], usage=USAGE))
    code, output = await agents(bastion, "run", "budget-turns", "Loop", key=token)
    assert code == 1 and "max_iterations (1)" in output, output


async def test_tasks_list_show_and_cancel(
    bastion: Bastion, upstream: FakeAnthropic, module_db_url: str
) -> None:
    upstream.enqueue(
        Reply(tool_calls=[ToolCall("request_input", {"question": "Which city?"})], usage=USAGE)
    )
    token = bastion.token("usr_tasks")
    code, output = await agents(bastion, "run", "quiet", "Weather?", "--json", key=token)
    assert code == 0, output
    task = orjson.loads(output.splitlines()[-1])
    task_id = task.get("task", {}).get("id") or task["statusUpdate"]["taskId"]

    code, output = await agents(bastion, "tasks", "list", "--user", "usr_tasks", "--json")
    assert code == 0, output
    (row,) = orjson.loads(output)
    assert (row["id"], row["state"], row["status_message"]) == (
        task_id,
        "input_required",
        "Which city?",
    )
    code, output = await agents(bastion, "tasks", "show", task_id, "--json")
    assert code == 0, output
    (shown,) = orjson.loads(output)
    assert shown["task"]["history"][0]["parts"] == [{"text": "Weather?"}]
    code, output = await agents(bastion, "tasks", "show", task_id)
    assert code == 0 and "Which city?" in output and "History" in output

    code, output = await agents(bastion, "tasks", "cancel", task_id)
    assert code == 0 and f"task {task_id} canceled" in output, output
    code, output = await agents(bastion, "tasks", "cancel", task_id)
    assert code == 1 and "has ended" in output
    engine = create_engine(module_db_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(audit_events).where(audit_events.c.subject == task_id))
            ).all()
    finally:
        await engine.dispose()
    assert [r.event_type for r in rows] == ["admin.agents.task_canceled"]


async def test_cancel_a_working_task_from_the_cli(
    bastion: Bastion, upstream: FakeAnthropic
) -> None:
    upstream.enqueue(Reply(text="too late", usage=USAGE, latency=15.0))
    token = bastion.token("usr_busy")
    sent = await bastion.rpc(
        "quiet",
        token,
        "SendMessage",
        {
            "message": {"messageId": "m-busy", "role": "ROLE_USER", "parts": [{"text": "Slow"}]},
            "configuration": {"returnImmediately": True},
        },
    )
    task_id = sent.json()["result"]["task"]["id"]
    await asyncio.sleep(0.3)
    code, output = await agents(bastion, "tasks", "cancel", task_id)
    assert code == 0 and "canceled" in output, output
    got = await bastion.rpc("quiet", token, "GetTask", {"id": task_id})
    assert got.json()["result"]["status"]["state"] == "TASK_STATE_CANCELED"


async def test_a_conversation_from_the_terminal(
    bastion: Bastion, upstream: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The question of a task waiting for input, how to answer it, the answer with
    ``--task-id`` and a next task with ``--context-id``; the credential from the
    environment."""
    upstream.enqueue(
        Reply(tool_calls=[ToolCall("request_input", {"question": "Which city?"})], usage=USAGE),
        Reply(text="Oslo is sunny.", usage=USAGE),
        Reply(text="Still sunny.", usage=USAGE),
    )
    monkeypatch.setenv("BASTION_URL", bastion.url)
    monkeypatch.setenv("BASTION_API_KEY", bastion.token("usr_talk"))
    code, output = await agents(bastion, "run", "quiet", "Weather?")
    assert code == 0, output
    assert "input-required: Which city?" in output and "TASK_STATE_INPUT_REQUIRED" in output
    (hint,) = [line for line in output.splitlines() if "--task-id" in line]
    task_id = hint.rsplit(" ", 1)[-1]
    (final,) = [line for line in output.splitlines() if line.startswith("task ")]
    context_id = final.split(" context ")[1].split(" ")[0]

    code, output = await agents(bastion, "run", "quiet", "Oslo", "--task-id", task_id)
    assert code == 0 and "Oslo is sunny." in output, output
    assert f"task {task_id} context {context_id} state TASK_STATE_COMPLETED" in output
    code, output = await agents(bastion, "run", "quiet", "Still?", "--context-id", context_id)
    assert code == 0 and "Still sunny." in output, output
    assert f"task {task_id} " not in output and f"context {context_id} " in output

    code, output = await agents(bastion, "run", "quiet", "Again", "--task-id", task_id)
    assert code == 2 and "has ended" in output, output
    code, output = await agents(bastion, "tasks", "list", "--context-id", context_id, "--json")
    assert code == 0 and len(orjson.loads(output)) == 2, output


async def test_what_the_cli_refuses(bastion: Bastion) -> None:
    code, output = await agents(bastion, "run", "nobody", "Hi", key=bastion.token("usr_cli"))
    assert code == 2 and output.strip().splitlines() == ["error: agent 'nobody' not found (-32000)"]
    code, output = await agents(bastion, "tasks", "show", "no-such-task")
    assert code == 1 and "no task no-such-task" in output
    code, output = await agents(bastion, "tasks", "cancel", "no-such-task")
    assert code == 1 and "no task no-such-task" in output
    code, output = await agents(bastion, "tasks", "list", "--state", "sleeping")
    assert code != 0 and "input_required" in output
