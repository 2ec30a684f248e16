"""JSON-RPC 2.0 messages as plain dicts: parse a client's body, build replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from bastion.domains.mcp.errors import RpcFailure

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
CONNECTION_CLOSED = -32000
REQUEST_TIMEOUT = -32001
FORBIDDEN = -32003
HEADER_MISMATCH = -32020
UNSUPPORTED_PROTOCOL_VERSION = -32022

RequestId = str | int
Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a client. ``id`` is None for a notification; ``method`` is None
    for a response (to a request the server sent)."""

    raw: Message
    id: RequestId | None
    method: str | None
    params: dict[str, Any] | None

    @property
    def is_request(self) -> bool:
        return self.method is not None and self.id is not None

    @property
    def is_notification(self) -> bool:
        return self.method is not None and self.id is None


def parse(body: bytes) -> Inbound:
    """The one JSON-RPC message in ``body``; ``RpcFailure`` (HTTP 400) when there is none."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RpcFailure(PARSE_ERROR, f"Parse error: {exc.msg}", status=400) from None
    if isinstance(data, list):
        raise RpcFailure(
            INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported", status=400
        )
    if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
        raise RpcFailure(
            INVALID_REQUEST, "Invalid Request: expected a JSON-RPC 2.0 object", status=400
        )
    has_id = "id" in data
    request_id = data.get("id")
    if has_id and (isinstance(request_id, bool) or not isinstance(request_id, str | int)):
        raise RpcFailure(
            INVALID_REQUEST, "Invalid Request: id must be a string or an integer", status=400
        )
    method = data.get("method")
    if method is None:
        if has_id and ("result" in data or "error" in data):
            return Inbound(data, request_id, None, None)
        raise RpcFailure(INVALID_REQUEST, "Invalid Request: method is missing", status=400)
    if not isinstance(method, str) or not method:
        raise RpcFailure(
            INVALID_REQUEST, "Invalid Request: method must be a non-empty string", status=400
        )
    params = data.get("params")
    if params is not None and not isinstance(params, dict):
        raise RpcFailure(
            INVALID_PARAMS,
            "Invalid params: params must be an object",
            status=400,
            data={"method": method},
            request_id=request_id if has_id else None,
        )
    return Inbound(data, request_id if has_id else None, method, params)


def result(request_id: RequestId | None, value: Any) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "result": value}


def error(request_id: RequestId | None, code: int, message: str, data: Any = None) -> Message:
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}


def failure(request_id: RequestId | None, exc: RpcFailure) -> Message:
    return error(request_id, exc.code, exc.message, exc.data)


def dumps(message: Message) -> bytes:
    return orjson.dumps(message)
