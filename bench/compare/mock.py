"""The mock upstream, in its own process: ``python -m bench.compare.mock --port P``.

A raw ASGI app under uvicorn (uvloop, httptools) that answers

- Anthropic ``POST /v1/messages`` and
- OpenAI ``POST /v1/chat/completions`` (also ``/chat/completions``)

with fixed documents: a JSON body, or with ``"stream": true`` in the request an SSE
stream whose events are sent as separate writes (a start event, a few text deltas, the
stop reason and the usage). ``--latency-ms`` delays every answer before its first byte;
``--stream-interval-ms`` spaces the SSE events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

TEXT = "Run the export after the partition job finishes: schedule it at 00:20 UTC, then retry. "
WORDS = re.findall(r"\S+\s*", TEXT)
USAGE_ANTHROPIC = {
    "input_tokens": 612,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 24,
}
USAGE_OPENAI = {"prompt_tokens": 612, "completion_tokens": 24, "total_tokens": 636}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def anthropic_message(model: str) -> dict[str, Any]:
    return {
        "id": "msg_bench0001",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": USAGE_ANTHROPIC,
    }


def openai_completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench0001",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": TEXT, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE_OPENAI,
    }


def anthropic_events(model: str) -> list[bytes]:
    def event(payload: dict[str, Any]) -> bytes:
        return b"event: " + payload["type"].encode() + b"\ndata: " + _dumps(payload) + b"\n\n"

    start = {**anthropic_message(model), "content": [], "stop_reason": None}
    start["usage"] = {**USAGE_ANTHROPIC, "output_tokens": 1}
    return [
        event({"type": "message_start", "message": start}),
        event(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        *(
            event(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": w},
                }
            )
            for w in WORDS
        ),
        event({"type": "content_block_stop", "index": 0}),
        event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": USAGE_ANTHROPIC["output_tokens"]},
            }
        ),
        event({"type": "message_stop"}),
    ]


def openai_events(model: str) -> list[bytes]:
    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        payload: dict[str, Any] = {
            "id": "chatcmpl-bench0001",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "choices": choices,
        }
        if usage is not None:
            payload["usage"] = usage
        return b"data: " + _dumps(payload) + b"\n\n"

    def delta(d: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": d, "finish_reason": finish}]

    return [
        chunk(delta({"role": "assistant", "content": ""})),
        *(chunk(delta({"content": w})) for w in WORDS),
        chunk(delta({}, "stop")),
        chunk([], USAGE_OPENAI),
        b"data: [DONE]\n\n",
    ]


Scope = MutableMapping[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]
_MODEL = re.compile(rb'"model"\s*:\s*"([^"]{1,200})"')
_STREAM = re.compile(rb'"stream"\s*:\s*true')


def mock_app(latency_ms: float = 0.0, stream_interval_ms: float = 0.0) -> App:
    delay, interval = latency_ms / 1000, stream_interval_ms / 1000
    cache: dict[tuple[str, str, bool], tuple[bytes, list[bytes]]] = {}

    def documents(kind: str, model: str, stream: bool) -> tuple[bytes, list[bytes]]:
        key = (kind, model, stream)
        found = cache.get(key)
        if found is None:
            if kind == "anthropic":
                found = (
                    (b"", anthropic_events(model))
                    if stream
                    else (_dumps(anthropic_message(model)), [])
                )
            else:
                found = (
                    (b"", openai_events(model))
                    if stream
                    else (_dumps(openai_completion(model)), [])
                )
            if len(cache) < 256:
                cache[key] = found
        return found

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        path = scope["path"]
        if path == "/v1/messages":
            kind = "anthropic"
        elif path in ("/v1/chat/completions", "/chat/completions"):
            kind = "openai"
        else:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        match = _MODEL.search(body)
        model = match.group(1).decode() if match else "unknown"
        stream = _STREAM.search(body) is not None
        payload, events = documents(kind, model, stream)
        if delay:
            await asyncio.sleep(delay)
        if not stream:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        for event in events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
            if interval:
                await asyncio.sleep(interval)
        await send({"type": "http.response.body", "body": b""})

    return app


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare.mock")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--stream-interval-ms", type=float, default=0.0)
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(
        mock_app(args.latency_ms, args.stream_interval_ms),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=False,
        log_level="warning",
        backlog=4096,
        timeout_keep_alive=120,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
