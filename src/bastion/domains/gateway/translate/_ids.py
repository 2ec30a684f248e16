"""Identifiers for messages and tool calls that an upstream did not name."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import orjson


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def new_tool_id() -> str:
    return "toolu_" + secrets.token_hex(12)


def stable_tool_id(scope: str, position: int, name: str, arguments: Any) -> str:
    """A tool-use id derived from the call itself, for upstreams that give none (Gemini).

    The same response translated twice (streamed, or not) gets the same ids; ``scope``
    (the upstream response id) keeps two turns that make the same call apart.
    """
    canonical = orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(
        scope.encode() + b"\0" + str(position).encode() + b"\0" + name.encode() + b"\0" + canonical
    )
    return "toolu_" + digest.hexdigest()[:24]
