"""OpenAI Chat Completions request -> Anthropic Messages request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bastion.domains.gateway.translate._json import JSONObject, parse_arguments
from bastion.domains.gateway.translate._openai_to_anthropic_response import message_text
from bastion.domains.gateway.translate.errors import InvalidPayloadError, UnsupportedFeatureError

_TARGET = "Anthropic Messages"

_THINKING_BUDGETS = {"low": 2048, "medium": 8192, "high": 24576}
_MIN_THINKING_BUDGET = 1024


def openai_request_to_anthropic(
    body: Mapping[str, Any], *, model: str | None = None, default_max_tokens: int = 4096
) -> JSONObject:
    """Translate a ``/v1/chat/completions`` body into a ``/v1/messages`` body.

    ``system`` and ``developer`` messages, wherever they stand, become the system
    prompt. ``tool`` messages become ``tool_result`` blocks in a user turn, and
    consecutive turns of one role merge, as Anthropic requires. Assistant
    ``reasoning_content`` is dropped: Anthropic accepts prior thinking only with its own
    signature. ``reasoning_effort`` becomes a thinking budget that fits under
    ``max_tokens``.

    Sampling hints with no Anthropic equivalent (``seed``, penalties, ``logit_bias``,
    ``logprobs``) are ignored; features that would change the answer (``n`` > 1,
    JSON ``response_format``, non-function tools, audio) raise
    :class:`UnsupportedFeatureError`.
    """
    messages_in = body.get("messages")
    if not isinstance(messages_in, list):
        raise InvalidPayloadError("messages must be a list")
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        raise UnsupportedFeatureError("n > 1", _TARGET)
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") not in (None, "text"):
        raise UnsupportedFeatureError(f"response_format {response_format.get('type')!r}", _TARGET)
    if body.get("audio") is not None or "audio" in (body.get("modalities") or ()):
        raise UnsupportedFeatureError("audio output", _TARGET)

    system: list[JSONObject] = []
    turns: list[JSONObject] = []
    for message in messages_in:
        if not isinstance(message, Mapping):
            raise InvalidPayloadError("each message must be an object")
        role = message.get("role")
        if role in ("system", "developer"):
            text = message_text(message.get("content"))
            if text:
                system.append({"type": "text", "text": text})
        elif role == "user":
            _append(turns, "user", _user_blocks(message.get("content")))
        elif role == "assistant":
            _append(turns, "assistant", _assistant_blocks(message))
        elif role == "tool":
            _append(turns, "user", [_tool_result(message)])
        else:
            raise UnsupportedFeatureError(f"message role {role!r}", _TARGET)

    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens
    out: JSONObject = {
        "model": model if model is not None else body.get("model"),
        "max_tokens": max_tokens,
        "messages": turns,
    }
    if len(system) == 1:
        out["system"] = system[0]["text"]
    elif system:
        out["system"] = system
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif stop:
        out["stop_sequences"] = list(stop)
    if body.get("stream"):
        out["stream"] = True
    if body.get("user"):
        out["metadata"] = {"user_id": str(body["user"])}

    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(tool) for tool in tools]
        choice = _tool_choice(body.get("tool_choice"))
        if body.get("parallel_tool_calls") is False:
            choice = dict(choice or {"type": "auto"})
            if choice["type"] != "none":
                choice["disable_parallel_tool_use"] = True
        if choice is not None:
            out["tool_choice"] = choice
    effort = body.get("reasoning_effort")
    if effort in _THINKING_BUDGETS and isinstance(max_tokens, int):
        budget = min(_THINKING_BUDGETS[effort], max_tokens - 1)
        if budget >= _MIN_THINKING_BUDGET:
            out["thinking"] = {"type": "enabled", "budget_tokens": budget}
    return out


def _append(turns: list[JSONObject], role: str, blocks: list[JSONObject]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _user_blocks(content: Any) -> list[JSONObject]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, Sequence):
        raise InvalidPayloadError("user content must be a string or a list of parts")
    blocks: list[JSONObject] = []
    for part in content:
        if not isinstance(part, Mapping):
            raise InvalidPayloadError("content parts must be objects")
        block = _part(part)
        if block is not None:
            blocks.append(block)
    return blocks


def _part(part: Mapping[str, Any]) -> JSONObject | None:
    kind = part.get("type")
    if kind == "text":
        text = part.get("text")
        return {"type": "text", "text": str(text)} if text else None
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        if not isinstance(url, str):
            raise InvalidPayloadError("image_url.url must be a string")
        return {"type": "image", "source": _source(url)}
    if kind == "file":
        file = part.get("file") or {}
        data = file.get("file_data")
        if not isinstance(data, str) or not data.startswith("data:"):
            raise UnsupportedFeatureError("file parts without inline file_data", _TARGET)
        return {"type": "document", "source": _source(data)}
    raise UnsupportedFeatureError(f"content part {kind!r}", _TARGET)


def _source(url: str) -> JSONObject:
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64":
            raise InvalidPayloadError("data URIs must be base64 encoded")
        return {"type": "base64", "media_type": media_type, "data": data}
    return {"type": "url", "url": url}


def _assistant_blocks(message: Mapping[str, Any]) -> list[JSONObject]:
    blocks: list[JSONObject] = []
    text = message_text(message.get("content"))
    if message.get("refusal"):
        text += str(message["refusal"])
    if text:
        blocks.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        if call.get("type", "function") != "function":
            raise UnsupportedFeatureError(f"tool call type {call.get('type')!r}", _TARGET)
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": parse_arguments(function.get("arguments")),
            }
        )
    return blocks


def _tool_result(message: Mapping[str, Any]) -> JSONObject:
    content = message.get("content")
    result: JSONObject = {"type": "tool_result", "tool_use_id": message.get("tool_call_id")}
    if isinstance(content, str) or content is None:
        result["content"] = content or ""
    else:
        result["content"] = [block for block in _user_blocks(content)]
    return result


def _tool(tool: Mapping[str, Any]) -> JSONObject:
    if tool.get("type", "function") != "function":
        raise UnsupportedFeatureError(f"tool type {tool.get('type')!r}", _TARGET)
    function = tool.get("function") or {}
    out: JSONObject = {"name": function.get("name")}
    if function.get("description"):
        out["description"] = function["description"]
    out["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return out


def _tool_choice(choice: Any) -> JSONObject | None:
    if choice is None:
        return None
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, Mapping):
        function = choice.get("function") or {}
        if function.get("name"):
            return {"type": "tool", "name": function["name"]}
    raise InvalidPayloadError(f"unrecognised tool_choice {choice!r}")
