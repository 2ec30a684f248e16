"""What of a request the governance chain sees, and what of a response is scanned.

The chain sees every string a model will read or a tool will receive: the whole Messages
body except its sampling controls (so the system prompt, messages, tool results at any
depth, text documents, tool names, descriptions and input schemas, ``tool_choice``,
``metadata``, ``stop_sequences``, and any member Bastion does not know, which is
forwarded as it is). Two things are added, after the body's own members so that a
finding in the body is reported first:

- ``adjacent_text``: for every run of two or more adjacent text blocks in one content
  list, their concatenation, so a secret split across blocks is seen whole;
- ``names``: for an OpenAI caller, the ``messages[].name`` fields, which the translation
  to Anthropic drops.

Base64 (and other non-text) image and document payloads are elided: they are not
prompts, and scanning megabytes of base64 would only cost time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Members that are numbers, flags or fixed vocabularies, never text a model reads.
_CONTROLS = frozenset(
    {"model", "max_tokens", "stream", "temperature", "top_p", "top_k", "thinking", "service_tier"}
)
_BINARY_BLOCKS = frozenset({"image", "document"})
_ELIDED = "<binary content elided>"


def prompt_material(
    body: Mapping[str, Any], caller: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The input governed for a Messages ``body``; ``caller`` is the body as the caller
    sent it when it was translated (OpenAI), for what the translation drops."""
    material: dict[str, Any] = {}
    runs: list[dict[str, str]] = []
    for key, value in body.items():
        if key in _CONTROLS:
            continue
        if key == "messages" and isinstance(value, list):
            value = _messages(value, runs)
        elif key == "system" and isinstance(value, list):
            _adjacent(value, "system", runs)
        material[key] = value
    if runs:
        material["adjacent_text"] = runs
    if caller is not None and caller is not body:
        names = _caller_names(caller.get("messages"))
        if names:
            material["names"] = names
    return material


def _messages(messages: list[Any], runs: list[dict[str, str]]) -> list[Any]:
    if not any(isinstance(m, dict) and isinstance(m.get("content"), list) for m in messages):
        return messages
    out: list[Any] = []
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            message = {**message, "content": _blocks(content, f"messages[{index}].content", runs)}
        out.append(message)
    return out


def _blocks(content: list[Any], where: str, runs: list[dict[str, str]]) -> list[Any]:
    """``content`` with binary payloads elided, at any depth (tool results, documents made
    of content blocks); the adjacent text runs found on the way go to ``runs``."""
    _adjacent(content, where, runs)
    out: list[Any] = []
    for index, block in enumerate(content):
        if isinstance(block, dict):
            source = block.get("source")
            inner = block.get("content")
            if isinstance(inner, list):
                block = {**block, "content": _blocks(inner, f"{where}[{index}].content", runs)}
            if isinstance(source, dict):
                if source.get("type") == "text":
                    pass  # a plain-text document: its data is text the model reads
                elif block.get("type") in _BINARY_BLOCKS and "data" in source:
                    block = {**block, "source": {**source, "data": _ELIDED}}
                elif isinstance(source.get("content"), list):
                    nested = _blocks(source["content"], f"{where}[{index}].source.content", runs)
                    block = {**block, "source": {**source, "content": nested}}
        out.append(block)
    return out


def _adjacent(content: list[Any], where: str, runs: list[dict[str, str]]) -> None:
    start = 0
    while start < len(content):
        end = start
        while end < len(content) and _text_of(content[end]) is not None:
            end += 1
        if end - start >= 2:
            text = "".join(_text_of(block) or "" for block in content[start:end])
            runs.append({"blocks": f"{where}[{start}:{end}]", "text": text})
        start = end + 1 if end == start else end


def _text_of(block: Any) -> str | None:
    if isinstance(block, dict) and block.get("type") == "text":
        text = block.get("text")
        return text if isinstance(text, str) else None
    return None


def _caller_names(messages: Any) -> list[str]:
    if not isinstance(messages, list):
        return []
    return [m["name"] for m in messages if isinstance(m, dict) and isinstance(m.get("name"), str)]
