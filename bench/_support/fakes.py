"""The servers benchmarks measure against, each in its own process under uvicorn with
``bastion serve``'s settings: ``python -m bench._support.fakes KIND PORT [options]``.

- ``llm``: the upstream mock, a raw ASGI app answering Anthropic ``POST /v1/messages`` and
  OpenAI ``POST /v1/chat/completions`` (also ``/chat/completions``) with fixed documents
  naming the requested model: JSON, or with ``"stream": true`` SSE whose events are
  separate writes (a start event, a text delta per word, the stop reason, the usage).
  ``--latency-ms`` delays each answer's first byte;
- ``proxy UPSTREAM``: the floor for any Python gateway: read the body, POST it upstream on
  Bastion's pooled aiohttp session, relay the answer (streams chunk by chunk), with no
  authentication, governance, routing, translation, cost or audit;
- ``hook``: a bare Starlette route answering ``POST /api/v1/hooks/govern`` with the exact
  bytes Bastion answers an allowed ``PreToolUse``;
- ``mcp``: an MCP server on the official SDK (streamable HTTP, JSON responses) offering a
  ``create_issue`` tool and an ``add`` tool that answer at once;
- ``agent-llm``: an Anthropic upstream for a native agent's loop (``agent_llm_app``);
- ``a2a``: a remote A2A 1.0 agent on the official ``a2a-sdk`` server side (``a2a_app``).

The product's own ``MockUpstream`` is an upstream *inside* Bastion (it quotes the prompt,
Anthropic only); these are servers on a socket with fixed answers, which is what a
benchmark's baseline needs. ``messages_request`` is the request the LLM benchmarks post.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bench._support.launch import UPSTREAM_KEY

TEXT = "Run the export after the partition job finishes: schedule it at 00:20 UTC, then retry. "
WORDS = re.findall(r"\S+\s*", TEXT)
USAGE = {"input_tokens": 612, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
USAGE_OPENAI = {"prompt_tokens": 612, "completion_tokens": 24, "total_tokens": 636}
HOOK_PATH = "/api/v1/hooks/govern"
ALLOW = {
    "hookSpecificOutput": {
        "hookEventName": "PreToolUse",
        "permissionDecision": "allow",
        "permissionDecisionReason": "allowed by Bastion governance",
    }
}
Scope = MutableMapping[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]
_MODEL = re.compile(rb'"model"\s*:\s*"([^"]{1,200})"')
_STREAM = re.compile(rb'"stream"\s*:\s*true')


SYSTEM = (
    "You are a careful senior engineer helping with a billing service written in Python. "
    "Answer concisely, cite file paths when you refer to code, and never invent APIs. "
) * 4
TURNS = [
    {
        "role": "user",
        "content": "The nightly invoice export fails on the first day of each month with a "
        "timeout from the reporting database. The job starts at 00:05 UTC and the partition "
        "for the new month is created at the same time. " * 3,
    },
    {
        "role": "assistant",
        "content": "The export and the partition job contend for the same lock. Which "
        "database are you on, and how is the partition created?",
    },
    {
        "role": "user",
        "content": "PostgreSQL 16; pg_partman creates the partition from a cron job. How "
        "should the export wait for it, and what should it do on a timeout? " * 2,
    },
]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def messages_request(model: str, stream: bool = False) -> bytes:
    """An Anthropic Messages request of 1,814 bytes: a system prompt and three turns."""
    body = {"model": model, "max_tokens": 1024, "system": SYSTEM, "messages": TURNS}
    return dumps(body | ({"stream": True} if stream else {}))


def anthropic_message(model: str) -> dict[str, Any]:
    return {
        "id": "msg_bench0001",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {**USAGE, "output_tokens": 24},
    }


def openai_completion(model: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": TEXT, "refusal": None}
    return {
        "id": "chatcmpl-bench0001",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": USAGE_OPENAI,
    }


def anthropic_events(model: str) -> list[bytes]:
    def event(kind: str, **payload: Any) -> bytes:
        return f"event: {kind}\ndata: ".encode() + dumps({"type": kind, **payload}) + b"\n\n"

    start = {**anthropic_message(model), "content": [], "stop_reason": None}
    start["usage"] = {**USAGE, "output_tokens": 1}
    return [
        event("message_start", message=start),
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        *(
            event("content_block_delta", index=0, delta={"type": "text_delta", "text": w})
            for w in WORDS
        ),
        event("content_block_stop", index=0),
        event(
            "message_delta",
            delta={"stop_reason": "end_turn", "stop_sequence": None},
            usage={"output_tokens": 24},
        ),
        event("message_stop"),
    ]


def openai_events(model: str) -> list[bytes]:
    def chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> bytes:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        payload = {"id": "chatcmpl-bench0001", "object": "chat.completion.chunk"}
        payload |= {"created": 1_700_000_000, "model": model, "choices": choices}
        return b"data: " + dumps(payload | ({"usage": usage} if usage else {})) + b"\n\n"

    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": w}) for w in WORDS),
        chunk({}, "stop"),
        chunk(None, usage=USAGE_OPENAI),
        b"data: [DONE]\n\n",
    ]


async def _body(receive: Any) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _answer(send: Any, status: int, kind: bytes, *chunks: bytes) -> None:
    headers = [(b"content-type", kind)]
    if len(chunks) == 1:
        headers.append((b"content-length", str(len(chunks[0])).encode()))
    else:
        headers.append((b"cache-control", b"no-cache"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    for chunk in chunks[:-1]:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": chunks[-1] if chunks else b""})


def llm_app(latency_ms: float = 0.0) -> App:
    delay = latency_ms / 1000
    cache: dict[tuple[bool, str, bool], list[bytes]] = {}

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await _body(receive)
        anthropic = scope["path"] == "/v1/messages"
        if not anthropic and scope["path"] not in ("/v1/chat/completions", "/chat/completions"):
            return await _answer(send, 404, b"text/plain", b"")
        found = _MODEL.search(body)
        model = found.group(1).decode() if found else "unknown"
        stream = _STREAM.search(body) is not None
        key = (anthropic, model, stream)
        chunks = cache.get(key)
        if chunks is None:
            events = anthropic_events if anthropic else openai_events
            document = anthropic_message if anthropic else openai_completion
            chunks = [*events(model), b""] if stream else [dumps(document(model))]
            if len(cache) < 256:
                cache[key] = chunks
        if delay:
            await asyncio.sleep(delay)
        kind = b"text/event-stream" if stream else b"application/json"
        await _answer(send, 200, kind, *chunks)

    return app


def proxy_app(upstream: str) -> App:
    from bastion.domains.gateway.upstreams import create_http_session

    session: Any = None

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        nonlocal session
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                session = create_http_session()
                await send({"type": "lifespan.startup.complete"})
            await session.close()
            return await send({"type": "lifespan.shutdown.complete"})
        headers = {"content-type": "application/json", "x-api-key": UPSTREAM_KEY}
        body = await _body(receive)
        async with session.post(upstream + scope["path"], data=body, headers=headers) as answer:
            kind = [(b"content-type", answer.content_type.encode())]
            await send({"type": "http.response.start", "status": answer.status, "headers": kind})
            while chunk := await answer.content.readany():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def hook_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = dumps(ALLOW)

    async def govern(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route(HOOK_PATH, govern, methods=["POST", "PUT"])])


def mcp_app() -> Any:
    from mcp.server.mcpserver import MCPServer

    mcp = MCPServer("bench-github")

    @mcp.tool(description="Open an issue in a repository.")
    def create_issue(owner: str, repo: str, title: str, body: str, labels: list[str]) -> str:
        return f"created {owner}/{repo}#4231: {title}"

    @mcp.tool(description="Add two integers.")
    def add(a: int, b: int) -> str:
        return str(a + b)

    return mcp.streamable_http_app(json_response=True)


_TURNS = re.compile(rb"turns=(\d+)")


def agent_llm_app(server: str, tool: str) -> App:
    """Streams Anthropic Messages answers for a native agent whose user message says
    ``turns=K``: a ``tool_use`` of ``SERVER__TOOL`` (``{"a": 2, "b": 3}``) while the
    request holds fewer than K-1 ``tool_result`` blocks, then a one-delta text answer.
    Stateless: the turn is read off the transcript the agent sends."""
    name = f"{server}__{tool}"

    def event(kind: str, **payload: Any) -> bytes:
        return f"event: {kind}\ndata: ".encode() + dumps({"type": kind, **payload}) + b"\n\n"

    def answer(done: int, final: bool) -> bytes:
        message: dict[str, Any] = {
            "id": f"msg_{done}",
            "type": "message",
            "role": "assistant",
            "model": "claude-agent",
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 40 + 30 * done, "output_tokens": 1},
        }
        if final:
            block: dict[str, Any] = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": "The sum is 5."}
        else:
            block = {"type": "tool_use", "id": f"toolu_{done}", "name": name, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": '{"a": 2, "b": 3}'}
        return b"".join(
            [
                event("message_start", message=message),
                event("content_block_start", index=0, content_block=block),
                event("content_block_delta", index=0, delta=delta),
                event("content_block_stop", index=0),
                event(
                    "message_delta",
                    delta={"stop_reason": "end_turn" if final else "tool_use"},
                    usage={"output_tokens": 12},
                ),
                event("message_stop"),
            ]
        )

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await _body(receive)
        found = _TURNS.search(body)
        if scope["path"] != "/v1/messages" or found is None or not _STREAM.search(body):
            return await _answer(send, 400, b"text/plain", b"a streamed turns=K request")
        done = body.count(b'"tool_result"')
        chunk = answer(done, done >= int(found.group(1)) - 1)
        await _answer(send, 200, b"text/event-stream", chunk, b"")

    return app


def a2a_app(streaming: bool) -> Any:
    """A remote A2A agent as fast as ``a2a-sdk`` serves one: every message gets a task,
    ``COMPLETED`` at once with one small text artifact, as one event. ``streaming``: the
    card's capability, which decides whether ``SendStreamingMessage`` is served."""
    from a2a.server.agent_execution import AgentExecutor, RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore
    from a2a.types import (
        AgentCapabilities,
        AgentCard,
        AgentInterface,
        AgentSkill,
        Artifact,
        Part,
        Task,
        TaskState,
        TaskStatus,
    )
    from starlette.applications import Starlette

    class Done(AgentExecutor):
        async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
            assert context.message is not None and context.task_id and context.context_id
            artifact = Artifact(artifact_id="answer", name="answer", parts=[Part(text="done")])
            task = Task(
                id=context.task_id,
                context_id=context.context_id,
                status=TaskStatus(state=TaskState.TASK_STATE_COMPLETED),
                artifacts=[artifact],
                history=[context.message],
            )
            await event_queue.enqueue_event(task)

        async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
            raise NotImplementedError("tasks complete at once")

    interface = AgentInterface(
        url="http://127.0.0.1/a2a", protocol_binding="JSONRPC", protocol_version="1.0"
    )
    card = AgentCard(
        name="bench-remote",
        description="Completes every task at once.",
        version="1.0.0",
        supported_interfaces=[interface],
        capabilities=AgentCapabilities(streaming=streaming),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="done", name="Done", description="Completes.", tags=["bench"])],
    )
    handler = DefaultRequestHandler(
        agent_executor=Done(), task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(routes=create_jsonrpc_routes(handler, "/a2a"))


def uvicorn_run(app: Any, port: int, lifespan: str = "off", **options: Any) -> None:
    """uvicorn as ``bastion serve`` runs it: uvloop, httptools, no access log."""
    import uvicorn

    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": lifespan,
        "access_log": False,
        "log_config": None,
        "server_header": False,
        "log_level": "warning",
        "backlog": 4096,
        # longer than any pause between rounds, so pooled connections survive them
        "timeout_keep_alive": 120,
    }
    uvicorn.run(app, **{**settings, **options})


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._support.fakes")
    parser.add_argument("kind", choices=["llm", "proxy", "hook", "mcp", "agent-llm", "a2a"])
    parser.add_argument("port", type=int)
    parser.add_argument("upstream", nargs="?", help="proxy: the upstream's base URL")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--tool", default="calc__add", help="agent-llm: SERVER__TOOL to use")
    parser.add_argument("--no-streaming", action="store_true", help="a2a: a card without it")
    args = parser.parse_args()
    if args.kind == "llm":
        uvicorn_run(llm_app(args.latency_ms), args.port, date_header=False)
    elif args.kind == "agent-llm":
        uvicorn_run(agent_llm_app(*args.tool.split("__", 1)), args.port, date_header=False)
    elif args.kind == "a2a":
        uvicorn_run(a2a_app(not args.no_streaming), args.port)
    elif args.kind == "proxy":
        uvicorn_run(proxy_app(args.upstream), args.port, lifespan="on")
    else:
        uvicorn_run(hook_app() if args.kind == "hook" else mcp_app(), args.port, lifespan="auto")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
