"""Anthropic Messages request -> OpenAI Chat Completions request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from bastion.domains.gateway.translate._json import JSONObject, dump_arguments
from bastion.domains.gateway.translate.errors import InvalidPayloadError, UnsupportedFeatureError

_TARGET = "OpenAI Chat Completions"

# Blocks that record work done by Anthropic's own servers (web search, code execution).
# They have no meaning to another model and are left out of the history.
_SERVER_SIDE_BLOCKS = frozenset(
    {
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "container_upload",
    }
)


def anthropic_request_to_openai(
    body: Mapping[str, Any],
    *,
    model: str | None = None,
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
    reasoning_effort: bool = False,
) -> JSONObject:
    """Translate a ``/v1/messages`` body into a ``/v1/chat/completions`` body.

    ``model`` replaces the requested model (the route decides what the upstream calls
    it). ``max_tokens_field`` names the limit the upstream understands (OpenAI's
    reasoning models need ``max_completion_tokens``; most compatible servers only know
    ``max_tokens``). With ``reasoning_effort``, an enabled ``thinking`` budget becomes
    ``reasoning_effort``; off by default since non-reasoning models reject the field.

    Prior ``thinking`` blocks become the assistant message's ``reasoning_content``, which
    DeepSeek and Moonshot require back during tool loops. Server-side tool blocks and
    tools without an ``input_schema`` (Anthropic-hosted tools) are left out.
    """
    messages_in = body.get("messages")
    if not isinstance(messages_in, list):
        raise InvalidPayloadError("messages must be a list")
    out: JSONObject = {"model": model if model is not None else body.get("model")}
    messages: list[JSONObject] = []
    system = _system_text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for message in messages_in:
        if not isinstance(message, Mapping):
            raise InvalidPayloadError("each message must be an object")
        role = message.get("role")
        if role == "user":
            messages.extend(_user_messages(message.get("content")))
        elif role == "assistant":
            assistant = _assistant_message(message.get("content"))
            if assistant is not None:
                messages.append(assistant)
        else:
            raise InvalidPayloadError(f"unknown message role {role!r}")
    out["messages"] = messages

    if "max_tokens" in body:
        out[max_tokens_field] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    stop = body.get("stop_sequences")
    if stop:
        out["stop"] = list(stop)
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("user_id"):
        out["user"] = str(metadata["user_id"])

    tools = [_tool(tool) for tool in body.get("tools") or () if "input_schema" in tool]
    if tools:
        out["tools"] = tools
        choice = body.get("tool_choice")
        if isinstance(choice, Mapping):
            mapped = _tool_choice(choice)
            if mapped is not None:
                out["tool_choice"] = mapped
            if choice.get("disable_parallel_tool_use") and mapped != "none":
                out["parallel_tool_calls"] = False
    if reasoning_effort:
        effort = _effort(body.get("thinking"), body.get("output_config"))
        if effort is not None:
            out["reasoning_effort"] = effort
    return out


def system_text(system: Any) -> str:
    """The system prompt as one string: a string as is, text blocks joined by blank lines."""
    return _system_text(system)


def _system_text(system: Any) -> str:
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    if isinstance(system, Sequence):
        texts = []
        for block in system:
            if not isinstance(block, Mapping) or block.get("type") != "text":
                raise InvalidPayloadError("system blocks must be text blocks")
            texts.append(str(block.get("text", "")))
        return "\n\n".join(text for text in texts if text)
    raise InvalidPayloadError("system must be a string or a list of text blocks")


def _blocks(content: Any) -> Sequence[Mapping[str, Any]]:
    if content is None:
        return ()
    if isinstance(content, str):
        return ({"type": "text", "text": content},)
    if isinstance(content, Sequence):
        for block in content:
            if not isinstance(block, Mapping):
                raise InvalidPayloadError("content blocks must be objects")
        return content
    raise InvalidPayloadError("content must be a string or a list of blocks")


def _user_messages(content: Any) -> list[JSONObject]:
    """One Anthropic user turn -> tool messages first (OpenAI requires them right after the
    assistant's tool calls), then one user message for everything else."""
    tool_messages: list[JSONObject] = []
    parts: list[JSONObject] = []
    for block in _blocks(content):
        kind = block.get("type")
        if kind == "tool_result":
            text, images = _tool_result_content(block.get("content"))
            tool_messages.append(
                {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text}
            )
            # Tool messages carry text only; images a tool returned go to the user turn.
            parts.extend(images)
        elif kind in _SERVER_SIDE_BLOCKS:
            continue
        else:
            part = _content_part(block)
            if part is not None:
                parts.append(part)
    messages = tool_messages
    if parts:
        messages.append({"role": "user", "content": _collapse(parts)})
    return messages


def _assistant_message(content: Any) -> JSONObject | None:
    texts: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[JSONObject] = []
    for block in _blocks(content):
        kind = block.get("type")
        if kind == "text":
            if block.get("text"):
                texts.append(str(block["text"]))
        elif kind == "thinking":
            if block.get("thinking"):
                reasoning.append(str(block["thinking"]))
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
        elif kind in _SERVER_SIDE_BLOCKS:
            continue
        else:
            raise UnsupportedFeatureError(f"assistant content block {kind!r}", _TARGET)
    if not texts and not tool_calls and not reasoning:
        return None
    message: JSONObject = {"role": "assistant", "content": "".join(texts) if texts else None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def _content_part(block: Mapping[str, Any]) -> JSONObject | None:
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return {"type": "text", "text": str(text)} if text else None
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _source_url(block.get("source"))}}
    if kind == "document":
        return _document_part(block.get("source"))
    if kind == "search_result":
        texts = [str(b.get("text", "")) for b in _blocks(block.get("content"))]
        return {"type": "text", "text": "\n".join(t for t in texts if t)}
    raise UnsupportedFeatureError(f"content block {kind!r}", _TARGET)


def _source_url(source: Any) -> str:
    if not isinstance(source, Mapping):
        raise InvalidPayloadError("image source must be an object")
    kind = source.get("type")
    if kind == "base64":
        return f"data:{source.get('media_type')};base64,{source.get('data')}"
    if kind == "url":
        return str(source.get("url"))
    raise UnsupportedFeatureError(f"image source {kind!r}", _TARGET)


def _document_part(source: Any) -> JSONObject:
    if not isinstance(source, Mapping):
        raise InvalidPayloadError("document source must be an object")
    kind = source.get("type")
    if kind == "text":
        return {"type": "text", "text": str(source.get("data", ""))}
    if kind == "base64":
        return {
            "type": "file",
            "file": {
                "filename": "document.pdf",
                "file_data": f"data:{source.get('media_type')};base64,{source.get('data')}",
            },
        }
    if kind == "content":
        texts = [str(b.get("text", "")) for b in _blocks(source.get("content"))]
        return {"type": "text", "text": "\n".join(t for t in texts if t)}
    raise UnsupportedFeatureError(f"document source {kind!r}", _TARGET)


def _tool_result_content(content: Any) -> tuple[str, list[JSONObject]]:
    """Text joined into one string (several compatible servers reject part arrays in tool
    messages), and the non-text parts apart."""
    if content is None or isinstance(content, str):
        return content or "", []
    texts: list[str] = []
    others: list[JSONObject] = []
    for block in _blocks(content):
        part = _content_part(block)
        if part is None:
            continue
        if part["type"] == "text":
            texts.append(str(part["text"]))
        else:
            others.append(part)
    return "\n".join(texts), others


def _collapse(parts: list[JSONObject]) -> str | list[JSONObject]:
    """A lone text part as a plain string, which every compatible server accepts."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return str(parts[0]["text"])
    return parts


def _tool(tool: Mapping[str, Any]) -> JSONObject:
    function: JSONObject = {"name": tool.get("name")}
    if tool.get("description"):
        function["description"] = tool["description"]
    function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
    return {"type": "function", "function": function}


def _tool_choice(choice: Mapping[str, Any]) -> str | JSONObject | None:
    kind = choice.get("type")
    if kind == "auto":
        return "auto"
    if kind == "any":
        return "required"
    if kind == "none":
        return "none"
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}
    return None


def _effort(thinking: Any, output_config: Any) -> str | None:
    if isinstance(output_config, Mapping) and output_config.get("effort") in (
        "low",
        "medium",
        "high",
    ):
        return str(output_config["effort"])
    if not isinstance(thinking, Mapping) or thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int):
        return "medium"
    if budget < 4096:
        return "low"
    if budget < 16384:
        return "medium"
    return "high"
