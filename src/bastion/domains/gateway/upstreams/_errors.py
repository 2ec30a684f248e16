"""Upstream error documents in Anthropic's error shape.

Anthropic's own documents pass through byte for byte. OpenAI-compatible servers and
Gemini put their message under ``error.message`` (Gemini sometimes inside a one-element
list); it is kept, and the Anthropic error type follows the HTTP status, which is what
Anthropic's SDKs branch on. A body that is not JSON at all (a proxy's HTML page) is
summarised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}

_SNIPPET = 200


def anthropic_error_type(status: int) -> str:
    return _TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def anthropic_error(status: int, message: str) -> bytes:
    return orjson.dumps(
        {"type": "error", "error": {"type": anthropic_error_type(status), "message": message}}
    )


def passthrough_error(status: int, raw: bytes) -> bytes:
    """An Anthropic upstream's error body: unchanged when it has Anthropic's shape."""
    document = _decode(raw)
    if (
        isinstance(document, Mapping)
        and document.get("type") == "error"
        and isinstance(document.get("error"), Mapping)
    ):
        return raw
    return translated_error(status, raw)


def translated_error(status: int, raw: bytes) -> bytes:
    """An OpenAI-compatible or Gemini error body, rewritten in Anthropic's shape."""
    return anthropic_error(status, error_message(status, raw))


def error_message(status: int, raw: bytes) -> str:
    document = _decode(raw)
    if isinstance(document, list) and document:
        document = document[0]
    if isinstance(document, Mapping):
        error = document.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        for key in ("message", "detail"):
            if isinstance(document.get(key), str) and document[key]:
                return str(document[key])
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return f"upstream answered {status} with an empty body"
    if len(text) > _SNIPPET:
        text = text[:_SNIPPET] + "..."
    return f"upstream answered {status}: {text}"


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
