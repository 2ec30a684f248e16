"""OpenAI Chat Completions response -> Anthropic Messages response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.domains.gateway.translate._ids import new_message_id, new_tool_id
from bastion.domains.gateway.translate._json import JSONObject, parse_arguments
from bastion.domains.gateway.translate._stop import anthropic_stop_from_openai
from bastion.domains.gateway.translate._usage import usage_from_openai
from bastion.domains.gateway.translate.errors import InvalidPayloadError


def openai_response_to_anthropic(
    body: Mapping[str, Any], *, model: str | None = None
) -> JSONObject:
    """Translate a ``chat.completion`` object into an Anthropic ``message``.

    Content order follows Anthropic's: thinking (from ``reasoning_content``, or
    ``reasoning`` as OpenRouter and vLLM name it), then text, then one ``tool_use`` per
    tool call. ``model`` names the model the caller asked for; by default the upstream's.
    """
    choices = body.get("choices")
    if not isinstance(choices, list):
        raise InvalidPayloadError("chat completion has no choices list")
    choice: Mapping[str, Any] = choices[0] if choices else {}
    message: Mapping[str, Any] = choice.get("message") or {}
    content: list[JSONObject] = []

    reasoning = reasoning_text(message)
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message_text(message.get("content"))
    refusal = message.get("refusal")
    if refusal:
        text = text + str(refusal) if text else str(refusal)
    if text:
        content.append({"type": "text", "text": text})
    tool_calls = message.get("tool_calls") or ()
    for call in tool_calls:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or new_tool_id(),
                "name": function.get("name") or "",
                "input": parse_arguments(function.get("arguments")),
            }
        )

    stop_reason, stop_sequence = anthropic_stop_from_openai(
        choice.get("finish_reason"),
        has_tool_calls=bool(tool_calls),
        matched_stop=choice.get("stop_reason") or choice.get("matched_stop"),
    )
    if refusal and stop_reason == "end_turn":
        stop_reason = "refusal"
    usage = usage_from_openai(body.get("usage") or choice.get("usage"))
    return {
        "id": body.get("id") or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model if model is not None else body.get("model", ""),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage.to_anthropic(),
    }


def reasoning_text(message: Mapping[str, Any]) -> str:
    value = message.get("reasoning_content")
    if not value:
        value = message.get("reasoning")
    return value if isinstance(value, str) else ""


def message_text(content: Any) -> str:
    """``content`` as a string, joining text parts for servers that return a part list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""
