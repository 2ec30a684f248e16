"""Remote agents end to end, on SQLite and PostgreSQL: the ``a2a-sdk`` client calls
Bastion, Bastion proxies to a real ``a2a-sdk`` agent with the agent's credential
injected, never the caller's, and scans both directions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from a2a.types import a2a_pb2
from google.protobuf.json_format import ParseDict

from tests.domains.agents.a2a_support import UPSTREAM_KEY, Bastion, as_dict, message, profile
from tests.fakes import FakeAnthropic
from tests.fakes.mcp_servers import HttpMcpServer
from tests.fakes.mcp_servers._secrets import aws_access_key_id
from tests.support import running_server
from tests.support.a2a_remote import GITHUB_TOKEN, RemoteAgent, running_remote_agent

PARTNER_KEY = "partner-key-0123456789abcdef"


@pytest.fixture(scope="module")
def remote() -> Iterator[RemoteAgent]:
    with running_remote_agent() as agent:
        yield agent


@pytest.fixture(scope="module")
async def bastion(
    module_db_url: str, remote: RemoteAgent, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bastion]:
    partner = {
        "name": "partner",
        "description": "A partner's agent, proxied and governed.",
        "version": "1.0.0",
        "streaming": True,
        "remote": {"url": remote.url, "credentials": {"X-Partner-Key": "partner_key"}},
        "skills": [{"id": "echo", "name": "Echo", "description": "Echoes.", "tags": ["echo"]}],
    }
    with FakeAnthropic(api_key=UPSTREAM_KEY) as upstream, HttpMcpServer() as mcp:
        path = profile(
            tmp_path_factory.mktemp("profile"),
            module_db_url,
            upstream,
            mcp,
            agents=[partner],
            secrets={"partner_key": PARTNER_KEY},
        )
        with running_server(path) as server:
            yield Bastion(server)


def send(msg: dict[str, Any]) -> a2a_pb2.SendMessageRequest:
    return ParseDict({"message": msg}, a2a_pb2.SendMessageRequest())


async def events(bastion: Bastion, token: str, msg: dict[str, Any]) -> list[dict[str, Any]]:
    async with bastion.client("partner", token) as client:
        return [as_dict(e) async for e in client.send_message(send(msg))]


def last_state(found: list[dict[str, Any]]) -> str:
    last = found[-1]
    body = last.get("statusUpdate") or last["task"]
    return str(body["status"]["state"])


async def test_proxied_with_the_agents_credential_and_bastions_ids(
    bastion: Bastion, remote: RemoteAgent
) -> None:
    token = bastion.token("usr_partner")
    found = await events(bastion, token, message("echo hello partner"))
    assert last_state(found) == "TASK_STATE_COMPLETED"
    task_id = found[0]["task"]["id"]
    chunks = [e["artifactUpdate"] for e in found if "artifactUpdate" in e]
    assert chunks and all(c["taskId"] == task_id for c in chunks)
    assert "".join(p["text"] for c in chunks for p in c["artifact"]["parts"]) == "hello partner"

    sent = [s for s in remote.seen if s.method == "SendStreamingMessage"][-1]
    assert sent.headers.get("x-partner-key") == PARTNER_KEY
    assert token not in str(sent.headers) and "authorization" not in sent.headers
    assert sent.params["message"].get("taskId") != task_id
    async with bastion.client("partner", token, streaming=False) as client:
        got = as_dict(await client.get_task(a2a_pb2.GetTaskRequest(id=task_id)))
    assert got["status"]["state"] == "TASK_STATE_COMPLETED"


async def test_a_secret_is_refused_before_the_remote_sees_it(
    bastion: Bastion, remote: RemoteAgent
) -> None:
    before = len(remote.seen)
    found = await events(
        bastion, bastion.token("usr_partner"), message(f"echo {aws_access_key_id()}")
    )
    assert last_state(found) == "TASK_STATE_REJECTED"
    assert len(remote.seen) == before


async def test_secrets_in_what_the_remote_returns_are_redacted(bastion: Bastion) -> None:
    found = await events(bastion, bastion.token("usr_partner"), message("secret"))
    assert last_state(found) == "TASK_STATE_COMPLETED"
    assert GITHUB_TOKEN not in str(found)
    async with bastion.client("partner", bastion.token("usr_partner"), streaming=False) as c:
        got = as_dict(await c.get_task(a2a_pb2.GetTaskRequest(id=found[0]["task"]["id"])))
    assert GITHUB_TOKEN not in str(got)


async def test_input_required_continues_on_the_remote(bastion: Bastion) -> None:
    token = bastion.token("usr_partner")
    asked = await events(bastion, token, message("ask"))
    assert last_state(asked) == "TASK_STATE_INPUT_REQUIRED"
    task = asked[0]["task"]
    answered = await events(
        bastion, token, message("Ada", taskId=task["id"], contextId=task["contextId"])
    )
    assert last_state(answered) == "TASK_STATE_COMPLETED"
    texts = [
        p["text"]
        for e in answered
        if "artifactUpdate" in e
        for p in e["artifactUpdate"]["artifact"]["parts"]
    ]
    assert "Hello, Ada!" in "".join(texts)


async def test_cancel_reaches_the_remote(bastion: Bastion, remote: RemoteAgent) -> None:
    token = bastion.token("usr_partner")
    async with bastion.client("partner", token) as client:
        stream = client.send_message(send(message("wait")))
        task_id = as_dict(await anext(stream))["task"]["id"]
        canceled = as_dict(await client.cancel_task(a2a_pb2.CancelTaskRequest(id=task_id)))
        assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
        await stream.aclose()
    assert remote.canceled, remote.methods()
