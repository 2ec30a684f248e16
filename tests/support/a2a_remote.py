"""A real remote A2A 1.0 agent, written with ``a2a-sdk``'s server side and served by
uvicorn on loopback in a thread: what Bastion's remote agents are proxied to in tests.

The agent's behaviour is chosen by the first word of the user's text:

- ``echo <text>``: a task, a ``WORKING`` status ("echoing"), ``<text>`` as an
  ``echo`` artifact in two chunks (the second appended, the last chunk marked), then
  ``COMPLETED``;
- ``ask``: a task with a ``draft`` artifact that asks "What is your name?"
  (``INPUT_REQUIRED``); the next message for that task completes it with a
  ``greeting`` artifact "Hello, <name>!";
- ``secret``: echoes a GitHub token in an artifact and an AWS key id in its
  completing status message;
- ``direct <text>``: a direct message reply "<text>", without a task;
- ``wait``: a task that stays ``WORKING`` until it is canceled.

Every request is recorded (:class:`Seen`: its JSON-RPC method, params and HTTP
headers), so a test can assert which credential arrived and which did not; the tasks
the agent was asked to cancel are in ``canceled``. ``streaming=False`` serves a card
without streaming, so ``SendStreamingMessage`` is refused with -32004.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from a2a.helpers import new_task_from_user_message, new_text_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette

RPC_PATH = "/a2a"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
AWS_KEY_ID = "AKIA" + "Q3ZL7TXJ2KRV6M4W"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Seen:
    """One request the remote agent received."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]


class ScriptedAgent(AgentExecutor):
    def __init__(self) -> None:
        self.canceled: list[str] = []

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None and context.task_id and context.context_id
        text = context.get_user_input()
        verb, _, rest = text.partition(" ")
        if verb == "direct" and context.current_task is None:
            reply = new_text_message(rest, context_id=context.context_id)
            await event_queue.enqueue_event(reply)
            return
        if context.current_task is None:
            await event_queue.enqueue_event(new_task_from_user_message(context.message))
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        if context.current_task is not None:  # the answer to "ask"
            parts = [new_text_part(f"Hello, {text}!")]
            await updater.add_artifact(parts, name="greeting")
            await updater.complete()
        elif verb == "echo":
            await updater.start_work(updater.new_agent_message([new_text_part("echoing")]))
            half = len(rest) // 2
            await updater.add_artifact([new_text_part(rest[:half])], "echo-1", name="echo")
            await updater.add_artifact(
                [new_text_part(rest[half:])], "echo-1", name="echo", append=True, last_chunk=True
            )
            await updater.complete()
        elif verb == "ask":
            await updater.add_artifact([new_text_part("Hello, ...")], "draft-1", name="draft")
            question = updater.new_agent_message([new_text_part("What is your name?")])
            await updater.requires_input(question)
        elif verb == "secret":
            parts = [new_text_part(f"the key is {GITHUB_TOKEN}")]
            await updater.add_artifact(parts, "secret-1", name="leak")
            await updater.complete(updater.new_agent_message([new_text_part(AWS_KEY_ID)]))
        elif verb == "wait":
            await updater.start_work()
            await asyncio.sleep(3600)
        else:
            raise AssertionError(f"no behaviour for {text!r}")

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.task_id and context.context_id
        self.canceled.append(context.task_id)
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


class _Recorder:
    """ASGI middleware: records each request's method, params and headers, then hands
    the app the body it read."""

    def __init__(self, app: Asgi, seen: list[Seen]) -> None:
        self._app = app
        self._seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            document = json.loads(body)
        except ValueError:
            document = {}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self._seen.append(Seen(document.get("method", ""), document.get("params") or {}, headers))
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self._app(scope, replay, send)


def _card(url: str, streaming: bool) -> AgentCard:
    return AgentCard(
        name="remote-helper",
        description="A remote agent for tests.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=streaming),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="Echo", description="Echoes.", tags=["test"])],
    )


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test thread owns no signals
        return None


@dataclass
class RemoteAgent:
    """The agent served on 127.0.0.1:<free port> with its own event loop."""

    streaming: bool = True
    seen: list[Seen] = field(default_factory=list)
    agent: ScriptedAgent = field(default_factory=ScriptedAgent)
    port: int = 0
    _server: _Server | None = None
    _thread: threading.Thread | None = None
    _started: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint."""
        return f"http://127.0.0.1:{self.port}{RPC_PATH}"

    @property
    def canceled(self) -> list[str]:
        return self.agent.canceled

    def methods(self) -> list[str]:
        return [s.method for s in self.seen]

    def start(self) -> RemoteAgent:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._started.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._started.set()

    async def _main(self) -> None:
        handler = DefaultRequestHandler(
            agent_executor=self.agent,
            task_store=InMemoryTaskStore(),
            agent_card=_card("http://127.0.0.1" + RPC_PATH, self.streaming),
        )
        app = _Recorder(Starlette(routes=create_jsonrpc_routes(handler, RPC_PATH)), self.seen)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="off", log_config=None, access_log=False
        )
        self._server = _Server(config)
        serve = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if serve.done():
                await serve
                raise RuntimeError("the remote agent stopped during startup")
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self._started.set()
        try:
            await serve
        finally:
            await handler.aclose()


@contextmanager
def running_remote_agent(*, streaming: bool = True) -> Iterator[RemoteAgent]:
    remote = RemoteAgent(streaming=streaming).start()
    try:
        yield remote
    finally:
        remote.stop()
