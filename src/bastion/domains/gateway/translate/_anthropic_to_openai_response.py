"""Anthropic Messages response -> OpenAI Chat Completions response."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bastion.domains.gateway.translate._json import JSONObject, dump_arguments
from bastion.domains.gateway.translate._stop import openai_finish_from_anthropic
from bastion.domains.gateway.translate._usage import usage_from_anthropic
from bastion.domains.gateway.translate.errors import InvalidPayloadError


def anthropic_response_to_openai(
    body: Mapping[str, Any], *, model: str | None = None, created: int | None = None
) -> JSONObject:
    """Translate an Anthropic ``message`` into a ``chat.completion`` object.

    Thinking becomes ``reasoning_content`` (the field DeepSeek, Qwen and Moonshot clients
    read); redacted thinking and server-side tool blocks have no OpenAI form and are left
    out. ``prompt_tokens`` counts cached tokens, as OpenAI's does.
    """
    content = body.get("content")
    if not isinstance(content, list):
        raise InvalidPayloadError("message has no content list")
    texts: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[JSONObject] = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "thinking":
            reasoning.append(str(block.get("thinking", "")))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": dump_arguments(block.get("input")),
                    },
                }
            )
    text = "".join(texts)
    message: JSONObject = {
        "role": "assistant",
        "content": text if text or not tool_calls else None,
    }
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": body.get("id"),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model if model is not None else body.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": openai_finish_from_anthropic(body.get("stop_reason")),
            }
        ],
        "usage": usage_from_anthropic(body.get("usage")).to_openai(),
    }
