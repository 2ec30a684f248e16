"""A fake OpenAI Chat Completions API: ``POST /v1/chat/completions``."""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from tests.fakes._script import RecordedRequest, Reply, pieces
from tests.fakes._server import FakeUpstream, JSONResponse, Response, StreamResponse

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_denied",
    404: "not_found_error",
    429: "rate_limit_exceeded",
}

CREATED = 1_700_000_000


def _data(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


class FakeOpenAI(FakeUpstream):
    """Speaks OpenAI Chat Completions, streaming when ``"stream": true``; the usage
    chunk (empty ``choices``) is sent only when ``stream_options.include_usage`` asks for
    it, as OpenAI does. ``reasoning_field`` names the delta field that carries thinking
    (``reasoning_content`` for DeepSeek, Qwen and Moonshot; ``reasoning`` for OpenRouter
    and vLLM)."""

    def __init__(
        self, *, api_key: str | None = None, reasoning_field: str = "reasoning_content"
    ) -> None:
        super().__init__(api_key=api_key)
        self.reasoning_field = reasoning_field
        self._ids = itertools.count(1)

    def authorized(self, request: RecordedRequest) -> bool:
        return request.header("authorization") == f"Bearer {self.api_key}"

    def error_response(self, status: int, message: str, error_type: str | None) -> JSONResponse:
        kind = error_type or _ERROR_TYPES.get(status, "server_error")
        return JSONResponse(
            status, {"error": {"message": message, "type": kind, "param": None, "code": None}}
        )

    def preflight(self, request: RecordedRequest) -> JSONResponse | None:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return self.error_response(404, f"Unknown request URL: {request.path}", None)
        if not isinstance(request.body, dict):
            return self.error_response(400, "We could not parse the JSON body", None)
        return None

    def handle(self, request: RecordedRequest, reply: Reply) -> Response:
        body = request.body
        model = reply.model or str(body.get("model", ""))
        completion_id = f"chatcmpl-fake{next(self._ids):04d}"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            error = {"error": {"message": reply.error_message, "type": "server_error"}}
            return StreamResponse(
                self._chunks(reply, completion_id, model, include_usage), _data(error)
            )
        return JSONResponse(200, self._completion(reply, completion_id, model))

    @staticmethod
    def _finish(reply: Reply) -> str:
        if reply.stop_reason:
            return reply.stop_reason
        return "tool_calls" if reply.tool_calls else "stop"

    @staticmethod
    def _tool_id(reply: Reply, position: int) -> str:
        return reply.tool_calls[position].id or f"call_fake{position:02d}"

    @staticmethod
    def _usage(reply: Reply) -> dict[str, Any]:
        usage = reply.usage
        prompt = (
            usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
        )
        return {
            "prompt_tokens": prompt,
            "completion_tokens": usage.output_tokens,
            "total_tokens": prompt + usage.output_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cache_read_input_tokens},
            "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        }

    def _completion(self, reply: Reply, completion_id: str, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text or (None if reply.tool_calls else ""),
            "refusal": None,
        }
        if reply.thinking:
            message[self.reasoning_field] = reply.thinking
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": self._tool_id(reply, position),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json()},
                }
                for position, call in enumerate(reply.tool_calls)
            ]
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish(reply),
                }
            ],
            "usage": self._usage(reply),
        }

    def _chunks(
        self, reply: Reply, completion_id: str, model: str, include_usage: bool
    ) -> list[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                payload["usage"] = None
            return _data(payload)

        chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
        for piece in pieces(reply.thinking, reply.delta_size):
            chunks.append(chunk({"content": None, self.reasoning_field: piece}))
        for piece in pieces(reply.text, reply.delta_size):
            chunks.append(chunk({"content": piece}))
        for position, call in enumerate(reply.tool_calls):
            head = {
                "index": position,
                "id": self._tool_id(reply, position),
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            chunks.append(chunk({"tool_calls": [head]}))
            for piece in pieces(call.arguments_json(), reply.delta_size):
                chunks.append(
                    chunk({"tool_calls": [{"index": position, "function": {"arguments": piece}}]})
                )
        chunks.append(chunk({}, self._finish(reply)))
        if include_usage:
            chunks.append(
                _data(
                    {
                        "id": completion_id,
                        "object": "chat.completion.chunk",
                        "created": CREATED,
                        "model": model,
                        "system_fingerprint": "fp_fake",
                        "choices": [],
                        "usage": self._usage(reply),
                    }
                )
            )
        chunks.append(b"data: [DONE]\n\n")
        return chunks
