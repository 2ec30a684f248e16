"""The Anthropic stream grammar, for translators that produce it.

``AnthropicEventWriter`` owns the block bookkeeping every source format needs: one block
open at a time, indices in order, a change of kind closing the previous block. The
translators only say what arrived.
"""

from __future__ import annotations

from typing import Any

from bastion.domains.gateway.translate._json import JSONObject
from bastion.domains.gateway.translate._usage import Usage

OPEN_TEXT = "text"
OPEN_THINKING = "thinking"
OPEN_TOOL = "tool_use"


class AnthropicEventWriter:
    __slots__ = ("_index", "_open_key", "_open_kind", "_signed", "events")

    def __init__(self) -> None:
        self.events: list[JSONObject] = []
        self._index = -1
        self._open_kind: str | None = None
        self._open_key: Any = None
        self._signed = False

    def drain(self) -> list[JSONObject]:
        events, self.events = self.events, []
        return events

    @property
    def open_kind(self) -> str | None:
        return self._open_kind

    @property
    def open_key(self) -> Any:
        return self._open_key

    def message_start(self, message_id: str, model: str, usage: Usage) -> None:
        start_usage = usage.to_anthropic()
        self.events.append(
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            }
        )
        self.events.append({"type": "ping"})

    def text(self, text: str) -> None:
        if self._open_kind != OPEN_TEXT:
            self._open(OPEN_TEXT, None, {"type": "text", "text": ""})
        self._delta({"type": "text_delta", "text": text})

    def thinking(self, thinking: str) -> None:
        # A signature closes a thinking block's content: later thinking is a new block.
        if self._open_kind != OPEN_THINKING or self._signed:
            self._open(OPEN_THINKING, None, {"type": "thinking", "thinking": "", "signature": ""})
        self._delta({"type": "thinking_delta", "thinking": thinking})

    def signature(self, signature: str) -> None:
        """Sign the open thinking block, or a new empty one placed here."""
        if self._open_kind != OPEN_THINKING or self._signed:
            self._open(OPEN_THINKING, None, {"type": "thinking", "thinking": "", "signature": ""})
        self._delta({"type": "signature_delta", "signature": signature})
        self._signed = True

    def tool_start(self, key: Any, tool_id: str, name: str) -> int:
        self._open(OPEN_TOOL, key, {"type": "tool_use", "id": tool_id, "name": name, "input": {}})
        return self._index

    def tool_arguments(self, partial_json: str, index: int | None = None) -> None:
        """A fragment of the open tool block's input, or of an earlier one by ``index``."""
        if partial_json:
            self._delta({"type": "input_json_delta", "partial_json": partial_json}, index)

    def close(self) -> None:
        if self._open_kind is not None:
            self.events.append({"type": "content_block_stop", "index": self._index})
            self._open_kind = None
            self._open_key = None
            self._signed = False

    def finish(self, stop_reason: str, stop_sequence: str | None, usage: Usage) -> None:
        self.close()
        self.events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": usage.to_anthropic(),
            }
        )
        self.events.append({"type": "message_stop"})

    def error(self, error_type: str, message: str) -> None:
        self.events.append({"type": "error", "error": {"type": error_type, "message": message}})

    def _open(self, kind: str, key: Any, block: JSONObject) -> None:
        self.close()
        self._index += 1
        self._open_kind = kind
        self._open_key = key
        self.events.append(
            {"type": "content_block_start", "index": self._index, "content_block": block}
        )

    def _delta(self, delta: JSONObject, index: int | None = None) -> None:
        self.events.append(
            {
                "type": "content_block_delta",
                "index": self._index if index is None else index,
                "delta": delta,
            }
        )
