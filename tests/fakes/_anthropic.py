"""A fake Anthropic Messages API: ``POST /v1/messages`` and ``/v1/messages/count_tokens``."""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from tests.fakes._script import ANTHROPIC_ERROR_TYPES, RecordedRequest, Reply, pieces
from tests.fakes._server import FakeUpstream, JSONResponse, Response, StreamResponse


def _event(payload: dict[str, Any]) -> bytes:
    name = str(payload["type"]).encode()
    return b"event: " + name + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class FakeAnthropic(FakeUpstream):
    """Speaks the Anthropic Messages wire format, streaming when the body says
    ``"stream": true``. Requests without an ``anthropic-version`` header get the real
    API's 400. ``count_tokens_result`` fixes what ``count_tokens`` answers (by default a
    length-based estimate); it does not consume a scripted reply."""

    def __init__(self, *, api_key: str | None = None) -> None:
        super().__init__(api_key=api_key)
        self.count_tokens_result: int | None = None
        self._ids = itertools.count(1)

    def authorized(self, request: RecordedRequest) -> bool:
        key = request.header("x-api-key")
        if key is None:
            bearer = request.header("authorization") or ""
            key = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None
        return key == self.api_key

    def error_response(self, status: int, message: str, error_type: str | None) -> JSONResponse:
        kind = error_type or ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return JSONResponse(
            status,
            {"type": "error", "error": {"type": kind, "message": message}},
            (("request-id", "req_fake"),),
        )

    def preflight(self, request: RecordedRequest) -> JSONResponse | None:
        if request.method != "POST" or request.path not in (
            "/v1/messages",
            "/v1/messages/count_tokens",
        ):
            return self.error_response(404, f"Not found: {request.path}", None)
        if not request.header("anthropic-version"):
            return self.error_response(400, "anthropic-version: header is required", None)
        body = request.body
        if not isinstance(body, dict):
            return self.error_response(400, "request body must be a JSON object", None)
        if request.path.endswith("/count_tokens"):
            estimate = len(orjson.dumps(body.get("messages"))) // 4 + 1
            return JSONResponse(200, {"input_tokens": self.count_tokens_result or estimate})
        return None

    def handle(self, request: RecordedRequest, reply: Reply) -> Response:
        body = request.body
        model = reply.model or str(body.get("model", ""))
        message_id = f"msg_fake{next(self._ids):04d}"
        if body.get("stream"):
            return StreamResponse(
                self._events(reply, message_id, model),
                _event(
                    {
                        "type": "error",
                        "error": {"type": "overloaded_error", "message": reply.error_message},
                    }
                ),
            )
        return JSONResponse(200, self._message(reply, message_id, model))

    @staticmethod
    def _stop(reply: Reply) -> str:
        if reply.stop_reason:
            return reply.stop_reason
        return "tool_use" if reply.tool_calls else "end_turn"

    @staticmethod
    def _tool_id(reply: Reply, position: int) -> str:
        call = reply.tool_calls[position]
        return call.id or f"toolu_fake{position:02d}"

    @staticmethod
    def _usage(reply: Reply) -> dict[str, int]:
        usage = reply.usage
        return {
            "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
            "output_tokens": usage.output_tokens,
        }

    def _message(self, reply: Reply, message_id: str, model: str) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reply.thinking:
            content.append(
                {
                    "type": "thinking",
                    "thinking": reply.thinking,
                    "signature": reply.thinking_signature,
                }
            )
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        for position, call in enumerate(reply.tool_calls):
            content.append(
                {
                    "type": "tool_use",
                    "id": self._tool_id(reply, position),
                    "name": call.name,
                    "input": orjson.loads(call.arguments_json()),
                }
            )
        return {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": self._stop(reply),
            "stop_sequence": reply.stop_sequence,
            "usage": self._usage(reply),
        }

    def _events(self, reply: Reply, message_id: str, model: str) -> list[bytes]:
        start_usage = {**self._usage(reply), "output_tokens": 1}
        events = [
            _event(
                {
                    "type": "message_start",
                    "message": {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": start_usage,
                    },
                }
            )
        ]
        index = 0
        pinged = False

        def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
            nonlocal index, pinged
            events.append(
                _event({"type": "content_block_start", "index": index, "content_block": start})
            )
            if not pinged:
                # Anthropic's keep-alive ping follows the first block start.
                events.append(_event({"type": "ping"}))
                pinged = True
            for delta in deltas:
                events.append(
                    _event({"type": "content_block_delta", "index": index, "delta": delta})
                )
            events.append(_event({"type": "content_block_stop", "index": index}))
            index += 1

        if reply.thinking:
            deltas = [
                {"type": "thinking_delta", "thinking": piece}
                for piece in pieces(reply.thinking, reply.delta_size)
            ]
            deltas.append({"type": "signature_delta", "signature": reply.thinking_signature})
            block({"type": "thinking", "thinking": "", "signature": ""}, deltas)
        if reply.text:
            block(
                {"type": "text", "text": ""},
                [
                    {"type": "text_delta", "text": piece}
                    for piece in pieces(reply.text, reply.delta_size)
                ],
            )
        for position, call in enumerate(reply.tool_calls):
            arguments = call.arguments_json()
            deltas = [{"type": "input_json_delta", "partial_json": ""}]
            deltas += [
                {"type": "input_json_delta", "partial_json": piece}
                for piece in pieces(arguments, reply.delta_size)
            ]
            block(
                {
                    "type": "tool_use",
                    "id": self._tool_id(reply, position),
                    "name": call.name,
                    "input": {},
                },
                deltas,
            )
        if not pinged:
            events.append(_event({"type": "ping"}))
        events.append(
            _event(
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": self._stop(reply),
                        "stop_sequence": reply.stop_sequence,
                    },
                    "usage": self._usage(reply),
                }
            )
        )
        events.append(_event({"type": "message_stop"}))
        return events
