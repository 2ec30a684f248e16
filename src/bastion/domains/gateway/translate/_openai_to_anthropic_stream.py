"""OpenAI Chat Completions stream -> Anthropic Messages stream."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bastion.domains.gateway.translate._anthropic_events import (
    OPEN_TOOL,
    AnthropicEventWriter,
)
from bastion.domains.gateway.translate._ids import new_message_id, new_tool_id
from bastion.domains.gateway.translate._json import JSONObject
from bastion.domains.gateway.translate._openai_to_anthropic_response import message_text
from bastion.domains.gateway.translate._stop import anthropic_stop_from_openai
from bastion.domains.gateway.translate._usage import Usage, usage_from_openai


@dataclass(slots=True)
class _ToolCall:
    id: str = ""
    name: str = ""
    pending: str = ""
    block: int | None = None


class OpenAIToAnthropicStream:
    """Feed parsed ``chat.completion.chunk`` objects; get Anthropic stream events back.

    One block is open at a time: thinking, text, or one tool call. A change of kind
    closes the open block, so a model that reasons, talks and calls two tools yields four
    blocks in that order. A tool call's block opens once its name is known (servers send
    id and name first, with empty arguments, or everything in one chunk); argument
    fragments that came earlier are held until then, and every fragment is passed on
    as an ``input_json_delta`` unchanged, split wherever the upstream split it.

    Usage arrives last (a chunk with empty ``choices`` when ``include_usage`` is set, or
    on the finishing choice for Moonshot), so ``message_delta`` is emitted by
    :meth:`finish`, called when the upstream sends ``[DONE]`` or closes. A stream that
    ends without a ``finish_reason`` was cut off, and :meth:`finish` reports an ``error``
    event instead of pretending the message is complete.
    """

    __slots__ = (
        "_finish_reason",
        "_matched_stop",
        "_message_id",
        "_model",
        "_refused",
        "_started",
        "_tools",
        "_usage",
        "_writer",
        "done",
    )

    def __init__(self, *, model: str | None = None, message_id: str | None = None) -> None:
        self._model = model
        self._message_id = message_id
        self._writer = AnthropicEventWriter()
        self._tools: dict[int, _ToolCall] = {}
        self._started = False
        self._finish_reason: str | None = None
        self._matched_stop: Any = None
        self._refused = False
        self._usage: Usage | None = None
        self.done = False

    def feed(self, chunk: Mapping[str, Any]) -> list[JSONObject]:
        if self.done:
            return []
        writer = self._writer
        error = chunk.get("error")
        if error is not None:
            self._start(chunk)
            writer.error("api_error", _error_message(error))
            self.done = True
            return writer.drain()
        self._start(chunk)
        if chunk.get("usage"):
            self._usage = usage_from_openai(chunk["usage"])
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            self._choice(choice)
        return writer.drain()

    def finish(self) -> list[JSONObject]:
        if self.done:
            return []
        self.done = True
        writer = self._writer
        if not self._started:
            writer.error("api_error", "upstream stream ended before any data")
            return writer.drain()
        if self._finish_reason is None:
            writer.close()
            writer.error("api_error", "upstream stream ended before the message was complete")
            return writer.drain()
        stop_reason, stop_sequence = anthropic_stop_from_openai(
            self._finish_reason, has_tool_calls=bool(self._tools), matched_stop=self._matched_stop
        )
        if self._refused and stop_reason == "end_turn":
            stop_reason = "refusal"
        writer.finish(stop_reason, stop_sequence, self._usage or Usage())
        return writer.drain()

    def _start(self, chunk: Mapping[str, Any]) -> None:
        if self._started:
            return
        self._started = True
        message_id = self._message_id or chunk.get("id") or new_message_id()
        model = self._model if self._model is not None else chunk.get("model", "")
        self._writer.message_start(message_id, model, Usage())

    def _choice(self, choice: Mapping[str, Any]) -> None:
        writer = self._writer
        delta: Mapping[str, Any] = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning and isinstance(reasoning, str):
            writer.thinking(reasoning)
        text = message_text(delta.get("content"))
        if text:
            writer.text(text)
        refusal = delta.get("refusal")
        if refusal and isinstance(refusal, str):
            self._refused = True
            writer.text(refusal)
        for position, call in enumerate(delta.get("tool_calls") or ()):
            self._tool_call(call, position)
        if choice.get("finish_reason"):
            self._finish_reason = choice["finish_reason"]
            self._matched_stop = choice.get("stop_reason") or choice.get("matched_stop")
            if choice.get("usage"):
                self._usage = usage_from_openai(choice["usage"])
            writer.close()

    def _tool_call(self, call: Mapping[str, Any], position: int) -> None:
        writer = self._writer
        index = call.get("index")
        if not isinstance(index, int):
            index = position
        state = self._tools.get(index)
        if state is None:
            state = self._tools[index] = _ToolCall()
        if call.get("id") and not state.id:
            state.id = call["id"]
        function: Mapping[str, Any] = call.get("function") or {}
        if function.get("name") and state.block is None:
            state.name += function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            state.pending += arguments
        if state.block is None:
            if not state.name:
                return
            state.block = writer.tool_start(index, state.id or new_tool_id(), state.name)
        if not state.pending:
            return
        if writer.open_kind == OPEN_TOOL and writer.open_key == index:
            writer.tool_arguments(state.pending)
        else:
            # A fragment for a call whose block another one already closed: no server is
            # known to interleave calls, but if one does, the fragment still reaches the
            # block it belongs to (index-keyed accumulators, the SDKs' included, rebuild
            # the right input) rather than being lost.
            writer.tool_arguments(state.pending, state.block)
        state.pending = ""


def _error_message(error: Any) -> str:
    if isinstance(error, Mapping):
        return str(error.get("message") or error)
    return str(error)
