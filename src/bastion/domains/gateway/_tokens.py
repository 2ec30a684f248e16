"""A local token estimate for ``count_tokens`` when the upstream offers no counting API.

It is an estimate (about four characters per token over every text the model reads,
plus a small per-message overhead), documented as such; upstreams that can count
(Anthropic-compatible ones) are asked instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

_PER_MESSAGE = 4
_IMAGE_TOKENS = 1600


def _text_of(value: Any) -> tuple[int, int]:
    """(characters of text, number of images) in a content value."""
    if isinstance(value, str):
        return len(value), 0
    chars = images = 0
    if isinstance(value, list):
        for block in value:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind in ("image", "document"):
                images += 1
            elif kind == "text":
                chars += len(str(block.get("text", "")))
            elif kind == "tool_use":
                chars += len(orjson.dumps(block.get("input", {})))
            elif kind == "tool_result":
                c, i = _text_of(block.get("content"))
                chars, images = chars + c, images + i
    return chars, images


def estimate_input_tokens(body: Mapping[str, Any]) -> int:
    chars, images = _text_of(body.get("system"))
    for message in body.get("messages") or ():
        if isinstance(message, dict):
            c, i = _text_of(message.get("content"))
            chars, images = chars + c + _PER_MESSAGE * 4, images + i
    for tool in body.get("tools") or ():
        chars += len(orjson.dumps(tool))
    return max(1, -(-chars // 4) + images * _IMAGE_TOKENS)
