"""What of a request the governance chain sees, and what of a response is scanned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_BINARY_BLOCKS = frozenset({"image", "document"})
_ELIDED = "<binary content elided>"


def _without_binary(content: Any) -> Any:
    if not isinstance(content, list):
        return content
    out: list[Any] = []
    for block in content:
        if isinstance(block, dict):
            kind = block.get("type")
            source = block.get("source")
            if kind in _BINARY_BLOCKS and isinstance(source, dict) and "data" in source:
                block = {**block, "source": {**source, "data": _ELIDED}}
            elif kind == "tool_result":
                block = {**block, "content": _without_binary(block.get("content"))}
        out.append(block)
    return out


def prompt_material(body: Mapping[str, Any]) -> dict[str, Any]:
    """System prompt, messages, tool results and tool_use inputs — everything a model
    would read — with base64 image and document payloads elided (they are not prompts,
    and scanning megabytes of base64 would only cost time)."""
    messages = body.get("messages")
    material: dict[str, Any] = {"messages": messages}
    if isinstance(messages, list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), list) for m in messages
    ):
        material["messages"] = [
            {**m, "content": _without_binary(m.get("content"))} if isinstance(m, dict) else m
            for m in messages
        ]
    if "system" in body:
        material["system"] = body["system"]
    return material
