"""Anthropic Messages stream -> OpenAI Chat Completions stream."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bastion.domains.gateway.translate._json import JSONObject
from bastion.domains.gateway.translate._stop import openai_finish_from_anthropic
from bastion.domains.gateway.translate._usage import Usage, usage_from_anthropic


class AnthropicToOpenAIStream:
    """Feed parsed Anthropic stream events; get ``chat.completion.chunk`` objects back.

    Each ``tool_use`` block becomes one tool call with its own ``index`` (0, 1, ... in
    block order, not the Anthropic block index): a first delta carrying id, name and
    empty arguments, then one delta per ``input_json_delta``. ``message_delta`` yields
    the chunk with ``finish_reason``; with ``include_usage`` a last chunk with empty
    ``choices`` carries the usage, and every earlier chunk has ``"usage": null``, as
    OpenAI sends them. The caller writes ``data: [DONE]`` after :meth:`finish`.
    """

    __slots__ = (
        "_created",
        "_id",
        "_include_usage",
        "_model",
        "_tool_index",
        "_tools_seen",
        "_usage",
        "done",
    )

    def __init__(
        self, *, include_usage: bool, model: str | None = None, created: int | None = None
    ) -> None:
        self._include_usage = include_usage
        self._model = model
        self._created = int(time.time()) if created is None else created
        self._id = ""
        self._usage = Usage()
        self._tool_index: dict[int, int] = {}
        self._tools_seen = 0
        self.done = False

    def feed(self, event: Mapping[str, Any]) -> list[JSONObject]:
        if self.done:
            return []
        kind = event.get("type")
        if kind == "message_start":
            message: Mapping[str, Any] = event.get("message") or {}
            self._id = str(message.get("id") or "")
            if self._model is None:
                self._model = str(message.get("model") or "")
            self._usage = usage_from_anthropic(message.get("usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block: Mapping[str, Any] = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                tool = self._tool_index[event.get("index", 0)] = self._tools_seen
                self._tools_seen += 1
                call = {
                    "index": tool,
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                return [self._chunk({"tool_calls": [call]})]
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            return []
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_delta":
            self._merge_usage(event.get("usage"))
            delta: Mapping[str, Any] = event.get("delta") or {}
            finish = openai_finish_from_anthropic(delta.get("stop_reason"))
            return [self._chunk({}, finish_reason=finish)]
        if kind == "message_stop":
            self.done = True
            if self._include_usage:
                return [self._usage_chunk()]
            return []
        if kind == "error":
            self.done = True
            error: Mapping[str, Any] = event.get("error") or {}
            return [
                _error_chunk(str(error.get("type", "api_error")), str(error.get("message", "")))
            ]
        return []

    def finish(self) -> list[JSONObject]:
        """End of the upstream stream; an error chunk if it ended early."""
        if self.done:
            return []
        self.done = True
        return [_error_chunk("api_error", "upstream stream ended before the message was complete")]

    def _delta(self, event: Mapping[str, Any]) -> list[JSONObject]:
        delta: Mapping[str, Any] = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            if delta.get("text"):
                return [self._chunk({"content": delta["text"]})]
        elif kind == "thinking_delta":
            if delta.get("thinking"):
                return [self._chunk({"reasoning_content": delta["thinking"]})]
        elif kind == "input_json_delta":
            tool = self._tool_index.get(event.get("index", 0))
            if tool is not None and delta.get("partial_json"):
                call = {"index": tool, "function": {"arguments": delta["partial_json"]}}
                return [self._chunk({"tool_calls": [call]})]
        return []

    def _merge_usage(self, usage: Any) -> None:
        if not isinstance(usage, Mapping):
            return
        current = self._usage
        self._usage = Usage(
            input_tokens=_count(usage, "input_tokens", current.input_tokens),
            output_tokens=_count(usage, "output_tokens", current.output_tokens),
            cache_read_input_tokens=_count(
                usage, "cache_read_input_tokens", current.cache_read_input_tokens
            ),
            cache_creation_input_tokens=_count(
                usage, "cache_creation_input_tokens", current.cache_creation_input_tokens
            ),
        )

    def _chunk(self, delta: JSONObject, finish_reason: str | None = None) -> JSONObject:
        chunk: JSONObject = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model or "",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if self._include_usage:
            chunk["usage"] = None
        return chunk

    def _usage_chunk(self) -> JSONObject:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model or "",
            "choices": [],
            "usage": self._usage.to_openai(),
        }


def _count(usage: Mapping[str, Any], key: str, current: int) -> int:
    """``message_delta`` counts are cumulative; an absent one keeps ``message_start``'s."""
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else current


def _error_chunk(error_type: str, message: str) -> JSONObject:
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}
