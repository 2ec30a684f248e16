"""The remote agent executor against a real A2A 1.0 agent (``a2a-sdk``'s server side on
loopback, tests/support/a2a_remote.py): streaming relay, the fallback for a remote that
does not stream, continuing a task that asked for input, cancel, each way a remote call
fails, secrets redacted on the way back, and the credential injected with nothing of
the caller's forwarded. No database: the executor reports to a recorder."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from bastion.domains.agents._execution import JsonObject, TaskStart, TaskState
from bastion.domains.agents._part_secrets import redact_artifact, redact_message
from bastion.domains.agents._remote import RemoteExecutor, credential_headers
from bastion.domains.agents._settings import AgentSettings
from bastion.domains.agents._sse_reader import EventTooLarge, SseEvent, SseReader
from bastion.infra.config import SecretStore
from bastion.infra.scanner import SecretScanner
from bastion.kernel.context import AuthMethod, RequestContext
from bastion.kernel.errors import ExtensionConfigError
from bastion.kernel.ids import TraceId, UserId
from bastion.kernel.tiers import Tier
from tests.support.a2a_remote import AWS_KEY_ID, GITHUB_TOKEN, RemoteAgent, running_remote_agent
from tests.support.ports import free_port

PRINCIPAL = RequestContext(
    TraceId("t-1"), Tier.USER, AuthMethod.API_KEY, user_id=UserId("usr_1")
).for_task("proxy", "task-1", "ctx-1")
REMOTE_KEY = "remote-key-9f8e7d"
SECRETS = SecretStore({"remote_key": REMOTE_KEY})
SCANNER = SecretScanner()


def remote_agent(url: str, **remote: Any) -> AgentSettings:
    return AgentSettings.model_validate(
        {
            "name": "proxy",
            "description": "Proxies.",
            "version": "1.0.0",
            "skills": [{"id": "s", "name": "S", "description": "d", "tags": ["t"]}],
            "remote": {
                "url": url,
                "credentials": {"X-Remote-Key": "remote_key"},
                "timeout_seconds": 10,
                **remote,
            },
        }
    )


@dataclass
class Recorder:
    """A scripted ``TaskUpdates``: what the executor reported, in order."""

    statuses: list[tuple[TaskState, JsonObject | None]] = field(default_factory=list)
    artifacts: list[tuple[JsonObject, bool, bool]] = field(default_factory=list)
    remote_ids: list[str] = field(default_factory=list)
    cancelled: bool = False

    async def status(self, state: TaskState, message: JsonObject | None = None) -> None:
        if self.statuses and (self.statuses[-1][0].terminal or self.statuses[-1][0].interrupted):
            raise RuntimeError("the execution has ended")
        self.statuses.append((state, message))

    async def artifact(
        self, artifact: JsonObject, *, append: bool = False, last_chunk: bool = False
    ) -> None:
        self.artifacts.append((artifact, append, last_chunk))

    def remote_task(self, remote_task_id: str) -> None:
        self.remote_ids.append(remote_task_id)

    @property
    def cancel_requested(self) -> bool:
        return self.cancelled

    def states(self) -> list[TaskState]:
        return [state for state, _ in self.statuses]

    def texts(self) -> list[str | None]:
        return [None if m is None else m["parts"][0]["text"] for _, m in self.statuses]

    @property
    def final(self) -> tuple[TaskState, str | None]:
        return self.states()[-1], self.texts()[-1]


def start(settings: AgentSettings, text: str, **kw: Any) -> TaskStart:
    # Bastion's own ids on the caller's message: the remote must never see them.
    message = {
        "messageId": "m-1",
        "taskId": "task-1",
        "contextId": "ctx-1",
        "role": "ROLE_USER",
        "parts": [{"text": text}],
    }
    return TaskStart(settings, PRINCIPAL, "task-1", "ctx-1", message, **kw)


@pytest.fixture(scope="module")
def streaming() -> Iterator[RemoteAgent]:
    with running_remote_agent() as remote:
        yield remote


@pytest.fixture(scope="module")
def unstreamed() -> Iterator[RemoteAgent]:
    with running_remote_agent(streaming=False) as remote:
        yield remote


async def run(
    settings: AgentSettings, text: str, recorder: Recorder | None = None, **kw: Any
) -> Recorder:
    recorder = recorder or Recorder()
    executor = RemoteExecutor([settings], SECRETS, SCANNER)
    try:
        await executor.execute(start(settings, text, **kw), recorder)
    finally:
        await executor.aclose()
    return recorder


def assert_ours(message: JsonObject | None) -> None:
    assert message is not None
    assert (message["taskId"], message["contextId"]) == ("task-1", "ctx-1")


# Streaming


async def test_a_stream_is_relayed_event_by_event(streaming: RemoteAgent) -> None:
    streaming.seen.clear()
    recorder = await run(remote_agent(streaming.url), "echo hello world")

    assert recorder.states() == [TaskState.WORKING, TaskState.COMPLETED]
    assert recorder.texts() == ["echoing", None]
    assert_ours(recorder.statuses[0][1])
    assert [
        (a["artifactId"], a["parts"], append, last) for a, append, last in recorder.artifacts
    ] == [
        ("echo-1", [{"text": "hello"}], False, False),
        ("echo-1", [{"text": " world"}], True, True),
    ]
    (seen,) = streaming.seen
    assert seen.method == "SendStreamingMessage"
    assert recorder.remote_ids and recorder.remote_ids[0] not in ("task-1", "")
    assert len(recorder.remote_ids) == 1


async def test_the_remote_sees_the_message_without_bastions_ids(streaming: RemoteAgent) -> None:
    streaming.seen.clear()
    await run(remote_agent(streaming.url), "echo hi")

    (seen,) = streaming.seen
    assert seen.params == {
        "message": {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "echo hi"}]}
    }


async def test_the_credential_is_injected_and_nothing_of_the_callers_is_sent(
    streaming: RemoteAgent,
) -> None:
    streaming.seen.clear()
    await run(remote_agent(streaming.url), "echo hi")

    (seen,) = streaming.seen
    assert seen.headers["x-remote-key"] == REMOTE_KEY
    assert seen.headers["a2a-version"] == "1.0"
    assert seen.headers["accept"] == "text/event-stream"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"].startswith("bastion/")
    assert not {"authorization", "x-api-key", "cookie"} & set(seen.headers)
    assert set(seen.headers) <= {
        "host",
        "x-remote-key",
        "a2a-version",
        "accept",
        "accept-encoding",
        "content-type",
        "content-length",
        "user-agent",
    }


async def test_a_direct_message_reply_completes_the_task(streaming: RemoteAgent) -> None:
    recorder = await run(remote_agent(streaming.url), "direct all done")

    assert recorder.final == (TaskState.COMPLETED, "all done")
    assert_ours(recorder.statuses[-1][1])
    assert recorder.remote_ids == []


# A remote that does not stream


async def test_a_remote_that_does_not_stream_is_sent_send_message(
    unstreamed: RemoteAgent,
) -> None:
    unstreamed.seen.clear()
    settings = remote_agent(unstreamed.url)
    executor = RemoteExecutor([settings], SECRETS, SCANNER)
    try:
        first, second = Recorder(), Recorder()
        await executor.execute(start(settings, "echo hello world"), first)
        await executor.execute(start(settings, "echo again"), second)
    finally:
        await executor.aclose()

    # -32004 once, then remembered: the second task goes straight to SendMessage.
    assert unstreamed.methods() == ["SendStreamingMessage", "SendMessage", "SendMessage"]
    assert first.states() == [TaskState.COMPLETED]
    ((artifact, append, last),) = first.artifacts
    assert artifact["artifactId"] == "echo-1" and not append and not last
    assert "".join(p["text"] for p in artifact["parts"]) == "hello world"
    assert len(first.remote_ids) == 1
    assert second.final == (TaskState.COMPLETED, None)
    assert unstreamed.seen[1].headers["accept"] == "application/json"
    assert unstreamed.seen[1].headers["x-remote-key"] == REMOTE_KEY


async def test_input_required_then_the_answer_continues_the_remote_task_unstreamed(
    unstreamed: RemoteAgent,
) -> None:
    settings = remote_agent(unstreamed.url)
    asked = await run(settings, "ask")
    assert asked.final == (TaskState.INPUT_REQUIRED, "What is your name?")
    assert [a["artifactId"] for a, _, _ in asked.artifacts] == ["draft-1"]
    (remote_id,) = asked.remote_ids

    answered = await run(settings, "Ada", remote_task_id=remote_id)

    assert answered.final == (TaskState.COMPLETED, None)
    # The remote's task holds the draft too; Bastion has it already, from the first turn.
    assert [a["parts"] for a, _, _ in answered.artifacts] == [[{"text": "Hello, Ada!"}]]


# Continuing a task that asked for input


async def test_an_answer_continues_the_remote_task_in_its_context(streaming: RemoteAgent) -> None:
    settings = remote_agent(streaming.url)
    asked = await run(settings, "ask")
    assert asked.final == (TaskState.INPUT_REQUIRED, "What is your name?")
    assert [a["artifactId"] for a, _, _ in asked.artifacts] == ["draft-1"]
    assert_ours(asked.statuses[-1][1])
    (remote_id,) = asked.remote_ids
    streaming.seen.clear()

    answered = await run(settings, "Ada", remote_task_id=remote_id)

    assert answered.final == (TaskState.COMPLETED, None)
    assert [a["parts"] for a, _, _ in answered.artifacts] == [[{"text": "Hello, Ada!"}]]
    get_task, send = streaming.seen
    assert get_task.method == "GetTask" and get_task.params["id"] == remote_id
    assert send.method == "SendStreamingMessage"
    message = send.params["message"]
    assert message["taskId"] == remote_id
    assert message["contextId"] not in ("ctx-1", "")
    assert answered.remote_ids == []  # known already


async def test_continuing_a_task_the_remote_does_not_know_fails(streaming: RemoteAgent) -> None:
    recorder = await run(remote_agent(streaming.url), "Ada", remote_task_id="no-such-task")

    state, text = recorder.final
    assert state is TaskState.FAILED
    assert text is not None and text.startswith("the remote agent returned error -32001")


# Cancel


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_cancel_cancels_the_remote_task_and_ends_the_execution(
    streaming: RemoteAgent,
) -> None:
    settings = remote_agent(streaming.url)
    executor = RemoteExecutor([settings], SECRETS, SCANNER)
    recorder = Recorder()
    task_start = start(settings, "wait")
    try:
        running = asyncio.create_task(executor.execute(task_start, recorder))
        await wait_for(lambda: recorder.remote_ids and recorder.states() == [TaskState.WORKING])
        (remote_id,) = recorder.remote_ids
        streaming.seen.clear()
        recorder.cancelled = True
        await executor.cancel(task_start)
        await asyncio.wait_for(running, 5)
    finally:
        await executor.aclose()

    assert recorder.final == (TaskState.CANCELED, "canceled by the caller")
    assert remote_id in streaming.canceled
    assert streaming.methods() == ["CancelTask"]  # once, not again by the execution
    assert streaming.seen[0].params == {"id": remote_id}
    assert streaming.seen[0].headers["x-remote-key"] == REMOTE_KEY


async def test_a_cancel_seen_by_the_execution_alone_cancels_the_remote_too(
    streaming: RemoteAgent,
) -> None:
    # CancelTask reached another replica: only ``cancel_requested`` tells this one.
    settings = remote_agent(streaming.url)
    recorder = Recorder()
    running = asyncio.create_task(run(settings, "wait", recorder))
    await wait_for(lambda: bool(recorder.remote_ids))
    recorder.cancelled = True
    await asyncio.wait_for(running, 5)

    assert recorder.final == (TaskState.CANCELED, "canceled by the caller")
    assert recorder.remote_ids[0] in streaming.canceled


async def test_cancel_of_a_waiting_task_uses_its_stored_remote_id(streaming: RemoteAgent) -> None:
    settings = remote_agent(streaming.url)
    asked = await run(settings, "ask")
    (remote_id,) = asked.remote_ids
    executor = RemoteExecutor([settings], SECRETS, SCANNER)
    try:
        await executor.cancel(start(settings, "", remote_task_id=remote_id))
    finally:
        await executor.aclose()

    assert remote_id in streaming.canceled


async def test_cancel_of_a_finished_remote_task_is_not_an_error(streaming: RemoteAgent) -> None:
    settings = remote_agent(streaming.url)
    done = await run(settings, "echo x")
    streaming.seen.clear()
    executor = RemoteExecutor([settings], SECRETS, SCANNER)
    try:
        with capture_logs() as logs:
            await executor.cancel(start(settings, "", remote_task_id=done.remote_ids[0]))
            await executor.cancel(start(settings, ""))  # no remote id known: nothing to do
    finally:
        await executor.aclose()

    assert streaming.methods() == ["CancelTask"]  # answered -32002, ignored
    assert logs == []


async def test_a_failed_cancel_is_logged_not_raised() -> None:
    settings = remote_agent(f"http://127.0.0.1:{free_port()}/a2a")
    executor = RemoteExecutor([settings], SECRETS, SCANNER)
    try:
        with capture_logs() as logs:
            await executor.cancel(start(settings, "", remote_task_id="r-1"))
    finally:
        await executor.aclose()

    (entry,) = logs
    assert entry["event"] == "remote agent task not canceled"
    assert "could not be reached" in entry["reason"]


async def test_a_cancel_before_the_call_reports_canceled_without_calling(
    streaming: RemoteAgent,
) -> None:
    streaming.seen.clear()
    recorder = await run(remote_agent(streaming.url), "echo x", Recorder(cancelled=True))

    assert recorder.final == (TaskState.CANCELED, "canceled by the caller")
    assert streaming.seen == []


# Failures


async def test_a_remote_that_is_down_fails_the_task() -> None:
    recorder = await run(remote_agent(f"http://127.0.0.1:{free_port()}/a2a"), "echo x")

    state, text = recorder.final
    assert state is TaskState.FAILED
    assert text == "the remote agent could not be reached (ClientConnectorError)"
    assert_ours(recorder.statuses[-1][1])


async def test_a_remote_slower_than_its_timeout_fails_the_task(streaming: RemoteAgent) -> None:
    recorder = await run(remote_agent(streaming.url, timeout_seconds=0.5), "wait")

    assert recorder.states() == [TaskState.WORKING, TaskState.FAILED]
    assert recorder.texts()[-1] == "the remote agent did not answer within 0.5 s"


async def test_an_http_error_status_fails_the_task(streaming: RemoteAgent) -> None:
    recorder = await run(remote_agent(streaming.url.replace("/a2a", "/elsewhere")), "echo x")

    assert recorder.final == (TaskState.FAILED, "the remote agent answered HTTP 404")


async def test_an_agent_without_remote_settings_here_fails() -> None:
    settings = remote_agent("http://127.0.0.1:9/a2a")
    executor = RemoteExecutor([], SECRETS, SCANNER)
    recorder = Recorder()
    await executor.execute(start(settings, "x"), recorder)
    await executor.aclose()

    assert recorder.final == (
        TaskState.FAILED,
        "agent 'proxy' is not a remote agent of this deployment",
    )


@dataclass
class Misbehaving:
    """An HTTP server on loopback answering every POST with ``body`` as ``content_type``."""

    body: bytes = b""
    content_type: str = "text/event-stream"
    url: str = ""


@pytest.fixture
async def misbehaving() -> AsyncIterator[Misbehaving]:
    server = Misbehaving()

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=server.body, content_type=server.content_type)

    app = web.Application()
    app.router.add_post("/a2a", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/a2a"
    try:
        yield server
    finally:
        await runner.cleanup()


def sse(*data: str) -> bytes:
    return b"".join(f"data: {d}\n\n".encode() for d in data)


def rpc_result(result: JsonObject) -> str:
    return orjson.dumps({"jsonrpc": "2.0", "id": 1, "result": result}).decode()


WORKING = rpc_result(
    {"task": {"id": "r-1", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}}
)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (sse("not json"), "text/event-stream", "a body that is not JSON"),
        (
            sse('{"jsonrpc":"2.0","id":1,"result":{"surprise":{}}}'),
            "text/event-stream",
            "neither a task, a message, a status nor an artifact update",
        ),
        (
            sse(
                '{"jsonrpc":"2.0","id":1,"result":{"task":{"id":"r-1","status":{"state":"DONE"}}}}'
            ),
            "text/event-stream",
            "an unknown task state 'DONE'",
        ),
        (
            sse('{"jsonrpc":"2.0","id":1}'),
            "text/event-stream",
            "a JSON-RPC response without a result",
        ),
        (b"<html>oops</html>", "text/html", "a body that is not JSON"),
    ],
)
async def test_a_malformed_answer_fails_the_task(
    misbehaving: Misbehaving, body: bytes, content_type: str, reason: str
) -> None:
    misbehaving.body, misbehaving.content_type = body, content_type
    recorder = await run(remote_agent(misbehaving.url), "echo x")

    assert recorder.final == (
        TaskState.FAILED,
        f"the remote agent sent an invalid response: {reason}",
    )


async def test_a_stream_that_ends_before_the_task_does_fails_the_task(
    misbehaving: Misbehaving,
) -> None:
    misbehaving.body = sse(WORKING)
    recorder = await run(remote_agent(misbehaving.url), "echo x")

    assert recorder.states() == [TaskState.WORKING, TaskState.FAILED]
    assert recorder.texts()[-1] == "the remote agent's answer ended before the task finished"
    assert recorder.remote_ids == ["r-1"]


async def test_a_json_rpc_error_fails_the_task_with_a_short_reason(
    misbehaving: Misbehaving,
) -> None:
    long = "x" * 5000
    misbehaving.content_type = "application/json"
    misbehaving.body = (
        '{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"' + long + '"}}'
    ).encode()
    recorder = await run(remote_agent(misbehaving.url), "echo x")

    state, text = recorder.final
    assert state is TaskState.FAILED
    assert text == "the remote agent returned error -32603: " + "x" * 200 + "…"


async def test_a_json_answer_to_the_streaming_call_is_relayed_as_it_is(
    misbehaving: Misbehaving,
) -> None:
    misbehaving.content_type = "application/json"
    misbehaving.body = (
        b'{"jsonrpc":"2.0","id":1,"result":{"message":{"messageId":"r-m","role":"ROLE_AGENT",'
        b'"parts":[{"text":"done"}]}}}'
    )
    recorder = await run(remote_agent(misbehaving.url), "echo x")

    assert recorder.final == (TaskState.COMPLETED, "done")


# Secrets


async def test_secrets_in_returned_artifacts_and_messages_are_redacted(
    streaming: RemoteAgent,
) -> None:
    with capture_logs() as logs:
        recorder = await run(remote_agent(streaming.url), "secret")

    ((artifact, _, _),) = recorder.artifacts
    text = artifact["parts"][0]["text"]
    assert GITHUB_TOKEN not in text and "[REDACTED:github-pat]" in text
    assert artifact["artifactId"] == "secret-1"
    state, said = recorder.final
    assert state is TaskState.COMPLETED
    assert said is not None and AWS_KEY_ID not in said and "[REDACTED:aws-access-key-id]" in said
    found = [e for e in logs if e["event"] == "secret in a remote agent's answer, redacted"]
    assert [(e["part_of"], e["patterns"]) for e in found] == [
        ("artifact", ["github-pat"]),
        ("message", ["aws-access-key-id"]),
    ]
    assert GITHUB_TOKEN not in repr(logs) and AWS_KEY_ID not in repr(logs)


def test_inline_text_files_are_redacted_and_binary_files_left_alone() -> None:
    binary = base64.b64encode(bytes(range(256)) * 4).decode()
    leaked = base64.b64encode(f"token={GITHUB_TOKEN}\n".encode()).decode()
    artifact: dict[str, Any] = {
        "artifactId": "a-1",
        "name": "files",
        "parts": [
            {"raw": binary, "mediaType": "application/octet-stream", "filename": "blob.bin"},
            {"raw": leaked, "mediaType": "text/plain", "filename": "env.txt"},
            {"data": {"nested": {"key": AWS_KEY_ID}}},
            {"url": f"https://files.example.test/{GITHUB_TOKEN}"},
        ],
    }
    redacted, findings = redact_artifact(SCANNER, artifact)

    blob, text_file, data, url = redacted["parts"]
    assert blob == artifact["parts"][0]
    assert GITHUB_TOKEN not in base64.b64decode(text_file["raw"]).decode()
    assert data["data"]["nested"]["key"] != AWS_KEY_ID
    assert GITHUB_TOKEN not in url["url"]
    assert sorted(f.pattern_id for f in findings) == [
        "aws-access-key-id",
        "github-pat",
        "github-pat",
    ]
    assert artifact["parts"][1]["raw"] == leaked  # the original is untouched


def test_a_message_without_secrets_comes_back_equal() -> None:
    message = {"messageId": "m", "role": "ROLE_AGENT", "parts": [{"text": "fine"}]}
    assert redact_message(SCANNER, message) == (message, [])


# Credentials


def test_credentials_resolve_from_named_secrets() -> None:
    assert credential_headers(remote_agent("http://127.0.0.1:9/a2a"), SECRETS) == {
        "X-Remote-Key": REMOTE_KEY
    }


@pytest.mark.parametrize(
    ("credentials", "secrets", "problem"),
    [
        ({"X-Remote-Key": "missing"}, {}, "secret 'missing' is not defined"),
        ({"Accept": "remote_key"}, {"remote_key": "v"}, "Bastion sets this header itself"),
        ({"A2A-Version": "remote_key"}, {"remote_key": "v"}, "Bastion sets this header itself"),
        ({"Bad Header": "remote_key"}, {"remote_key": "v"}, "not an HTTP header name"),
        ({"X-Key": "remote_key"}, {"remote_key": "v\n"}, "holds a line break"),
    ],
)
def test_a_bad_credential_fails_the_boot(
    credentials: dict[str, str], secrets: dict[str, str], problem: str
) -> None:
    settings = remote_agent("http://127.0.0.1:9/a2a", credentials=credentials)
    with pytest.raises(ExtensionConfigError, match=problem):
        RemoteExecutor([settings], SecretStore(secrets), SCANNER)


# The event-stream reader

STREAM = (
    b": a comment\r\n"
    b"event: message\r\n"
    b'data: {"a":\r\n'
    b"data: 1}\r\n"
    b"\r\n"
    b"event: nothing\n\n"
    b"data: second\n\n"
    b"event: other\rdata: x\r\r"
)


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(STREAM)])
def test_events_survive_any_chunking(size: int) -> None:
    reader = SseReader(1024)
    events = [e for i in range(0, len(STREAM), size) for e in reader.feed(STREAM[i : i + size])]
    assert events == [
        SseEvent("message", '{"a":\n1}'),
        SseEvent("message", "second"),
        SseEvent("other", "x"),
    ]


def test_an_event_past_the_limit_is_refused() -> None:
    reader = SseReader(16)
    with pytest.raises(EventTooLarge):
        list(reader.feed(b"data: " + b"x" * 32))
    with pytest.raises(EventTooLarge):
        list(SseReader(16).feed(b"data: 0123456789\ndata: 0123456789\n"))
