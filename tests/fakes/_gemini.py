"""A fake Gemini API: ``POST /v1beta/models/{model}:generateContent`` and
``:streamGenerateContent`` (``?alt=sse``, or a JSON array without it)."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import parse_qs

import orjson

from tests.fakes._script import RecordedRequest, Reply, pieces
from tests.fakes._server import FakeUpstream, JSONResponse, Response, StreamResponse

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

_PREFIX = "/v1beta/models/"


def _sse(payload: Any) -> bytes:
    # Gemini ends its events with CRLF pairs.
    return b"data: " + orjson.dumps(payload) + b"\r\n\r\n"


class FakeGemini(FakeUpstream):
    """Speaks the Gemini ``generateContent`` family. Function calls come whole, the
    first one carrying ``thoughtSignature`` (as Gemini 3 does); thoughts are parts with
    ``"thought": true``. Every stream chunk repeats the cumulative ``usageMetadata``."""

    def __init__(self, *, api_key: str | None = None) -> None:
        super().__init__(api_key=api_key)
        self._ids = itertools.count(1)

    def authorized(self, request: RecordedRequest) -> bool:
        key = request.header("x-goog-api-key")
        if key is None:
            keys = parse_qs(request.query).get("key")
            key = keys[0] if keys else None
        return key == self.api_key

    def error_response(self, status: int, message: str, error_type: str | None) -> JSONResponse:
        return JSONResponse(
            status,
            {
                "error": {
                    "code": status,
                    "message": message,
                    "status": error_type or _STATUS.get(status, "INTERNAL"),
                }
            },
        )

    def preflight(self, request: RecordedRequest) -> JSONResponse | None:
        model, _, method = request.path.removeprefix(_PREFIX).partition(":")
        if (
            request.method != "POST"
            or not request.path.startswith(_PREFIX)
            or method not in ("generateContent", "streamGenerateContent")
            or not model
        ):
            return self.error_response(404, f"Not found: {request.path}", None)
        if not isinstance(request.body, dict) or not request.body.get("contents"):
            return self.error_response(400, "contents is not specified", None)
        return None

    def handle(self, request: RecordedRequest, reply: Reply) -> Response:
        requested, _, method = request.path.removeprefix(_PREFIX).partition(":")
        model = reply.model or requested
        response_id = f"resp-fake{next(self._ids):04d}"
        if method == "generateContent":
            return JSONResponse(200, self._response(reply, model, response_id))
        chunks = self._chunks(reply, model, response_id)
        error = {"error": {"code": 503, "message": reply.error_message, "status": "UNAVAILABLE"}}
        if parse_qs(request.query).get("alt") == ["sse"]:
            return StreamResponse([_sse(chunk) for chunk in chunks], _sse(error))
        return JSONResponse(200, chunks)

    @staticmethod
    def _finish(reply: Reply) -> str:
        return reply.stop_reason or "STOP"

    @staticmethod
    def _usage(reply: Reply, *, final: bool) -> dict[str, Any]:
        usage = reply.usage
        prompt = usage.input_tokens + usage.cache_read_input_tokens
        metadata: dict[str, Any] = {"promptTokenCount": prompt}
        if usage.cache_read_input_tokens:
            metadata["cachedContentTokenCount"] = usage.cache_read_input_tokens
        if final:
            candidates = usage.output_tokens - usage.reasoning_tokens
            metadata["candidatesTokenCount"] = candidates
            if usage.reasoning_tokens:
                metadata["thoughtsTokenCount"] = usage.reasoning_tokens
            metadata["totalTokenCount"] = prompt + usage.output_tokens
        else:
            metadata["totalTokenCount"] = prompt
        return metadata

    @staticmethod
    def _parts(reply: Reply, size: int | None) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if reply.thinking:
            for piece in pieces(reply.thinking, size) if size else [reply.thinking]:
                parts.append({"text": piece, "thought": True})
        if reply.text:
            for piece in pieces(reply.text, size) if size else [reply.text]:
                parts.append({"text": piece})
        for position, call in enumerate(reply.tool_calls):
            part: dict[str, Any] = {
                "functionCall": {"name": call.name, "args": orjson.loads(call.arguments_json())}
            }
            if position == 0 and reply.thinking_signature:
                part["thoughtSignature"] = reply.thinking_signature
            parts.append(part)
        return parts

    def _response(self, reply: Reply, model: str, response_id: str) -> dict[str, Any]:
        return {
            "candidates": [
                {
                    "content": {"parts": self._parts(reply, None), "role": "model"},
                    "finishReason": self._finish(reply),
                    "index": 0,
                }
            ],
            "usageMetadata": self._usage(reply, final=True),
            "modelVersion": model,
            "responseId": response_id,
        }

    def _chunks(self, reply: Reply, model: str, response_id: str) -> list[dict[str, Any]]:
        parts = self._parts(reply, reply.delta_size) or [{"text": ""}]
        chunks = []
        for position, part in enumerate(parts):
            last = position == len(parts) - 1
            candidate: dict[str, Any] = {"content": {"parts": [part], "role": "model"}, "index": 0}
            if last:
                candidate["finishReason"] = self._finish(reply)
            chunks.append(
                {
                    "candidates": [candidate],
                    "usageMetadata": self._usage(reply, final=last),
                    "modelVersion": model,
                    "responseId": response_id,
                }
            )
        return chunks
