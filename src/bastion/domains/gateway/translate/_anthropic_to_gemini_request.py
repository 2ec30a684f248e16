"""Anthropic Messages request -> Gemini ``generateContent`` request."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from bastion.domains.gateway.translate import _gemini_signatures as signatures
from bastion.domains.gateway.translate._anthropic_to_openai_request import system_text
from bastion.domains.gateway.translate._json import JSONObject
from bastion.domains.gateway.translate.errors import InvalidPayloadError, UnsupportedFeatureError

_TARGET = "Gemini"

_IGNORED_BLOCKS = frozenset(
    {
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "container_upload",
    }
)


def gemini_endpoint(model: str, *, stream: bool) -> str:
    """The path of the Gemini method for ``model`` (the model lives in the URL)."""
    if stream:
        return f"/v1beta/models/{model}:streamGenerateContent?alt=sse"
    return f"/v1beta/models/{model}:generateContent"


def anthropic_request_to_gemini(body: Mapping[str, Any]) -> JSONObject:
    """Translate a ``/v1/messages`` body into a ``generateContent`` body.

    Tool schemas go as ``parametersJsonSchema``, which takes JSON Schema as written
    (``$ref``, ``additionalProperties``, ``anyOf``), instead of being cut down to the
    OpenAPI subset ``parameters`` accepts. A ``tool_result`` becomes a
    ``functionResponse`` named after its ``tool_use`` (Gemini matches by name),
    ``{"output": ...}`` or ``{"error": ...}`` as Gemini documents. The model and the
    stream flag are not in the body: see :func:`gemini_endpoint`.
    """
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise InvalidPayloadError("messages must be a list")
    tool_names: dict[str, str] = {}
    contents: list[JSONObject] = []
    for message in messages:
        if not isinstance(message, Mapping):
            raise InvalidPayloadError("each message must be an object")
        role = message.get("role")
        if role == "user":
            parts = _user_parts(message.get("content"), tool_names)
            gemini_role = "user"
        elif role == "assistant":
            parts = _model_parts(message.get("content"), tool_names)
            gemini_role = "model"
        else:
            raise InvalidPayloadError(f"unknown message role {role!r}")
        if not parts:
            continue
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": gemini_role, "parts": parts})
    for content in contents:
        if content["role"] == "model":
            _sign_first_call(content["parts"])

    out: JSONObject = {"contents": contents}
    system = system_text(body.get("system"))
    if system:
        out["systemInstruction"] = {"parts": [{"text": system}]}
    declarations = [
        _declaration(tool) for tool in body.get("tools") or () if "input_schema" in tool
    ]
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
        choice = body.get("tool_choice")
        if isinstance(choice, Mapping):
            config = _function_calling_config(choice)
            if config is not None:
                out["toolConfig"] = {"functionCallingConfig": config}
    generation = _generation_config(body)
    if generation:
        out["generationConfig"] = generation
    return out


def _blocks(content: Any) -> Sequence[Mapping[str, Any]]:
    if content is None:
        return ()
    if isinstance(content, str):
        return ({"type": "text", "text": content},)
    if isinstance(content, Sequence):
        return content
    raise InvalidPayloadError("content must be a string or a list of blocks")


def _user_parts(content: Any, tool_names: Mapping[str, str]) -> list[JSONObject]:
    parts: list[JSONObject] = []
    for block in _blocks(content):
        kind = block.get("type")
        if kind == "tool_result":
            parts.extend(_function_response(block, tool_names))
        elif kind in _IGNORED_BLOCKS:
            continue
        else:
            part = _part(block)
            if part is not None:
                parts.append(part)
    return parts


def _model_parts(content: Any, tool_names: dict[str, str]) -> list[JSONObject]:
    parts: list[JSONObject] = []
    pending_signature: str | None = None
    for block in _blocks(content):
        kind = block.get("type")
        if kind == "thinking":
            # Gemini does not need thought text back, only the signature, on the part
            # that followed it.
            pending_signature = signatures.unwrap(block.get("signature")) or pending_signature
            continue
        if kind in _IGNORED_BLOCKS:
            continue
        if kind == "tool_use":
            name = str(block.get("name", ""))
            tool_names[str(block.get("id"))] = name
            part: JSONObject | None = {
                "functionCall": {"name": name, "args": block.get("input") or {}}
            }
        elif kind == "text":
            part = _part(block)
        else:
            raise UnsupportedFeatureError(f"assistant content block {kind!r}", _TARGET)
        if part is None:
            continue
        if pending_signature is not None:
            part["thoughtSignature"] = pending_signature
            pending_signature = None
        parts.append(part)
    return parts


def _sign_first_call(parts: list[JSONObject]) -> None:
    """Gemini 3 rejects a model turn whose first function call carries no signature."""
    for part in parts:
        if "functionCall" in part:
            part.setdefault("thoughtSignature", signatures.SKIP_SIGNATURE)
            return


def _part(block: Mapping[str, Any]) -> JSONObject | None:
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return {"text": str(text)} if text else None
    if kind in ("image", "document"):
        return _media(block.get("source"))
    raise UnsupportedFeatureError(f"content block {kind!r}", _TARGET)


def _media(source: Any) -> JSONObject:
    if not isinstance(source, Mapping):
        raise InvalidPayloadError("a media source must be an object")
    kind = source.get("type")
    if kind == "base64":
        return {"inlineData": {"mimeType": source.get("media_type"), "data": source.get("data")}}
    if kind == "url":
        url = str(source.get("url"))
        mime, _ = mimetypes.guess_type(urlsplit(url).path)
        return {"fileData": {"mimeType": mime or "application/octet-stream", "fileUri": url}}
    if kind == "text":
        return {"text": str(source.get("data", ""))}
    raise UnsupportedFeatureError(f"media source {kind!r}", _TARGET)


def _function_response(block: Mapping[str, Any], tool_names: Mapping[str, str]) -> list[JSONObject]:
    tool_id = str(block.get("tool_use_id"))
    name = tool_names.get(tool_id)
    if name is None:
        raise InvalidPayloadError(f"tool_result {tool_id!r} answers no earlier tool_use")
    content = block.get("content")
    texts: list[str] = []
    media: list[JSONObject] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for item in _blocks(content):
            part = _part(item)
            if part is None:
                continue
            if "text" in part:
                texts.append(str(part["text"]))
            else:
                media.append(part)
    key = "error" if block.get("is_error") else "output"
    response = {"functionResponse": {"name": name, "response": {key: "\n".join(texts)}}}
    return [response, *media]


def _declaration(tool: Mapping[str, Any]) -> JSONObject:
    declaration: JSONObject = {"name": tool.get("name")}
    if tool.get("description"):
        declaration["description"] = tool["description"]
    schema = tool.get("input_schema")
    if schema:
        declaration["parametersJsonSchema"] = schema
    return declaration


def _function_calling_config(choice: Mapping[str, Any]) -> JSONObject | None:
    kind = choice.get("type")
    if kind == "auto":
        return {"mode": "AUTO"}
    if kind == "any":
        return {"mode": "ANY"}
    if kind == "none":
        return {"mode": "NONE"}
    if kind == "tool":
        return {"mode": "ANY", "allowedFunctionNames": [choice.get("name")]}
    return None


def _generation_config(body: Mapping[str, Any]) -> JSONObject:
    config: JSONObject = {}
    if body.get("max_tokens") is not None:
        config["maxOutputTokens"] = body["max_tokens"]
    for source, target in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK")):
        if body.get(source) is not None:
            config[target] = body[source]
    if body.get("stop_sequences"):
        config["stopSequences"] = list(body["stop_sequences"])
    thinking = body.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive"):
        thinking_config: JSONObject = {"includeThoughts": True}
        if isinstance(thinking.get("budget_tokens"), int):
            thinking_config["thinkingBudget"] = thinking["budget_tokens"]
        config["thinkingConfig"] = thinking_config
    return config
