"""Upstream error documents in Anthropic's error shape.

Anthropic's own documents pass through byte for byte. OpenAI-compatible servers and
Gemini put their message under ``error.message`` (Gemini sometimes inside a one-element
list); it is kept, and the Anthropic error type follows the HTTP status, which is what
Anthropic's SDKs branch on (the one table, :func:`bastion.infra.http.error_type_for`).
A body that is not JSON at all (a proxy's HTML page) is summarised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from bastion.infra.http import error_body, error_type_for
from bastion.kernel.contract import ErrorStyle

_SNIPPET = 200


def anthropic_error_type(status: int) -> str:
    """Bastion's Anthropic error type for ``status``, but for 504: an upstream's gateway
    timeout is reported as that upstream's ``api_error``, not a timeout of Bastion's."""
    return "api_error" if status == 504 else error_type_for(ErrorStyle.ANTHROPIC, status)


def anthropic_error(status: int, message: str) -> bytes:
    return error_body(
        ErrorStyle.ANTHROPIC, status, message, error_type=anthropic_error_type(status)
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
