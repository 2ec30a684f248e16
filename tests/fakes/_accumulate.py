"""Rebuild whole messages from stream events, checking the stream grammar on the way.

Independent of the code under test: a test can feed it what a translator emitted (or
what a client received through the gateway) and compare the result with the message it
expects.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any


class StreamGrammarError(AssertionError):
    """The events break the provider's stream grammar."""


def anthropic_message_from_events(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``message`` an Anthropic stream describes.

    Checks: ``message_start`` first; block indices 0, 1, 2 ... in order; one block open
    at a time; deltas only to the open block and of its kind; ``message_delta`` with all
    blocks closed; nothing after ``message_stop``. Tool input is the JSON of its
    concatenated ``input_json_delta`` fragments. An ``error`` event ends the stream and
    is kept under ``"error"``.
    """
    message: dict[str, Any] | None = None
    open_index: int | None = None
    buffers: dict[int, str] = {}
    stopped = False
    for event in events:
        kind = event.get("type")
        if stopped:
            raise StreamGrammarError(f"{kind} after message_stop")
        if kind == "ping":
            continue
        if kind == "error":
            if message is None:
                message = {}
            message["error"] = dict(event["error"])
            return message
        if message is None:
            if kind != "message_start":
                raise StreamGrammarError(f"{kind} before message_start")
            message = copy.deepcopy(dict(event["message"]))
            continue
        content: list[dict[str, Any]] = message["content"]
        if kind == "content_block_start":
            if open_index is not None:
                raise StreamGrammarError(
                    f"block {event['index']} opened while {open_index} is open"
                )
            if event["index"] != len(content):
                raise StreamGrammarError(f"block index {event['index']}, expected {len(content)}")
            content.append(copy.deepcopy(dict(event["content_block"])))
            open_index = event["index"]
            if content[-1]["type"] == "tool_use":
                buffers[open_index] = ""
        elif kind == "content_block_delta":
            if event["index"] != open_index:
                raise StreamGrammarError(f"delta for block {event['index']}, open is {open_index}")
            block = content[event["index"]]
            delta = event["delta"]
            expected = {
                "text_delta": "text",
                "thinking_delta": "thinking",
                "signature_delta": "thinking",
                "input_json_delta": "tool_use",
            }.get(delta["type"])
            if expected != block["type"]:
                raise StreamGrammarError(f"{delta['type']} in a {block['type']} block")
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            else:
                buffers[event["index"]] += delta["partial_json"]
        elif kind == "content_block_stop":
            if event["index"] != open_index:
                raise StreamGrammarError(f"stop for block {event['index']}, open is {open_index}")
            if event["index"] in buffers:
                raw = buffers.pop(event["index"])
                content[event["index"]]["input"] = json.loads(raw) if raw else {}
            open_index = None
        elif kind == "message_delta":
            if open_index is not None:
                raise StreamGrammarError(f"message_delta while block {open_index} is open")
            message.update(event["delta"])
            message["usage"] = {**message["usage"], **event.get("usage", {})}
        elif kind == "message_stop":
            stopped = True
        else:
            raise StreamGrammarError(f"unknown event {kind!r}")
    if message is None:
        raise StreamGrammarError("no message_start")
    if not stopped:
        raise StreamGrammarError("stream ended without message_stop")
    return message


def openai_completion_from_chunks(chunks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``chat.completion`` an OpenAI chunk stream describes (first choice only).

    Tool calls are keyed by their ``index``; the first delta of a call must carry its
    id and name. A chunk with ``error`` ends the stream and is kept under ``"error"``.
    """
    completion: dict[str, Any] = {}
    message: dict[str, Any] = {"role": "assistant", "content": None}
    calls: dict[int, dict[str, Any]] = {}
    finish_reason = None
    for chunk in chunks:
        if "error" in chunk:
            completion["error"] = dict(chunk["error"])
            break
        if not completion:
            completion = {
                "id": chunk["id"],
                "object": "chat.completion",
                "created": chunk["created"],
                "model": chunk["model"],
            }
        if chunk.get("usage"):
            completion["usage"] = chunk["usage"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            for field in ("content", "reasoning_content"):
                if delta.get(field):
                    message[field] = (message.get(field) or "") + delta[field]
            for call in delta.get("tool_calls") or ():
                index = call["index"]
                if index not in calls:
                    if not call.get("id") or not call.get("function", {}).get("name"):
                        raise StreamGrammarError(f"tool call {index} starts without id and name")
                    calls[index] = {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                calls[index]["function"]["arguments"] += call.get("function", {}).get(
                    "arguments", ""
                )
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
    if calls:
        message["tool_calls"] = [calls[index] for index in sorted(calls)]
    if completion:
        completion["choices"] = [{"index": 0, "message": message, "finish_reason": finish_reason}]
    return completion
