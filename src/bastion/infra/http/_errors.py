from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson
from starlette.responses import Response
from starlette.types import Send

from bastion.kernel.contract import ErrorStyle

_ANTHROPIC_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_OPENAI_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
_JSONRPC_CODES: Mapping[int, int] = {
    400: -32600,
    401: -32001,
    403: -32003,
    404: -32601,
    413: -32600,
    429: -32029,
}


def error_type_for(style: ErrorStyle, status: int) -> str:
    if style is ErrorStyle.OPENAI:
        return _OPENAI_TYPES.get(
            status, "server_error" if status >= 500 else "invalid_request_error"
        )
    return _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(
    style: ErrorStyle,
    status: int,
    message: str,
    *,
    error_type: str | None = None,
    trace_id: str | None = None,
    details: Mapping[str, object] | None = None,
) -> bytes:
    """An error document in the caller's wire format. ``details`` (e.g. the governance
    stage, rule and reason) ride inside the error object where the format allows."""
    kind = error_type or error_type_for(style, status)
    extra = dict(details or {})
    if style is ErrorStyle.ANTHROPIC:
        doc: dict[str, object] = {
            "type": "error",
            "error": {"type": kind, "message": message, **extra},
        }
        if trace_id:
            doc["request_id"] = trace_id
    elif style is ErrorStyle.OPENAI:
        doc = {"error": {"message": message, "type": kind, "param": None, "code": kind, **extra}}
    elif style is ErrorStyle.JSONRPC:
        data: dict[str, object] = {"status": status, **extra}
        if trace_id:
            data["trace_id"] = trace_id
        doc = {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": _JSONRPC_CODES.get(status, -32603), "message": message, "data": data},
        }
    else:
        doc = {"error": {"type": kind, "message": message, **extra}}
        if trace_id:
            doc["trace_id"] = trace_id
    return orjson.dumps(doc)


def error_response(
    style: ErrorStyle,
    status: int,
    message: str,
    *,
    error_type: str | None = None,
    trace_id: str | None = None,
    details: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        error_body(
            style, status, message, error_type=error_type, trace_id=trace_id, details=details
        ),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


async def send_error(
    send: Send,
    style: ErrorStyle,
    status: int,
    message: str,
    *,
    trace_id: str | None = None,
    details: Mapping[str, object] | None = None,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """``error_response`` sent on the raw ASGI channel, for the core's own answers in
    front of the routes (no ``Response`` object per refusal)."""
    body = error_body(style, status, message, trace_id=trace_id, details=details)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
