"""Gemini ``generateContent`` responses and streams -> Anthropic Messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.domains.gateway.translate import _gemini_signatures as signatures
from bastion.domains.gateway.translate._anthropic_events import AnthropicEventWriter
from bastion.domains.gateway.translate._ids import new_message_id, stable_tool_id
from bastion.domains.gateway.translate._json import JSONObject, dumps
from bastion.domains.gateway.translate._stop import anthropic_stop_from_gemini
from bastion.domains.gateway.translate._usage import Usage, usage_from_gemini
from bastion.domains.gateway.translate.errors import InvalidPayloadError


def gemini_response_to_anthropic(body: Mapping[str, Any], *, model: str) -> JSONObject:
    """Translate a ``GenerateContentResponse`` into an Anthropic ``message``.

    Thought parts become thinking blocks and consecutive text parts one text block.
    A ``functionCall`` becomes a ``tool_use`` with Gemini's id if it sent one, else an
    id derived from the response id, position, name and arguments. A signature on a
    part travels in a thinking block right before it (see ``_gemini_signatures``). A
    prompt blocked before any candidate is a ``refusal`` with no content.
    """
    if "candidates" not in body and "promptFeedback" not in body and "usageMetadata" not in body:
        raise InvalidPayloadError("not a GenerateContentResponse")
    candidates = body.get("candidates") or ()
    candidate: Mapping[str, Any] = candidates[0] if candidates else {}
    scope = str(body.get("responseId") or "")
    content: list[JSONObject] = []
    calls = 0
    for part in _parts(candidate):
        signature = part.get("thoughtSignature")
        if part.get("thought"):
            _thinking(content, str(part.get("text", "")), signature)
            continue
        call = part.get("functionCall")
        if isinstance(call, Mapping):
            if signature:
                _sign(content, signature)
            content.append(_tool_use(call, scope, calls))
            calls += 1
        elif part.get("text"):
            if content and content[-1]["type"] == "text":
                content[-1]["text"] += part["text"]
            else:
                content.append({"type": "text", "text": str(part["text"])})
    if candidates:
        stop_reason = anthropic_stop_from_gemini(
            candidate.get("finishReason"), has_tool_calls=calls > 0
        )
    else:
        stop_reason = "refusal"
    return {
        "id": body.get("responseId") or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage_from_gemini(body.get("usageMetadata")).to_anthropic(),
    }


def _parts(candidate: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = candidate.get("content")
    if not isinstance(content, Mapping):
        return []
    parts = content.get("parts")
    return [part for part in parts if isinstance(part, Mapping)] if isinstance(parts, list) else []


def _thinking(content: list[JSONObject], text: str, signature: Any) -> None:
    last = content[-1] if content else None
    if last is None or last["type"] != "thinking" or last["signature"]:
        last = {"type": "thinking", "thinking": "", "signature": ""}
        content.append(last)
    last["thinking"] += text
    if signature:
        last["signature"] = signatures.wrap(str(signature))


def _sign(content: list[JSONObject], signature: Any) -> None:
    last = content[-1] if content else None
    if last is not None and last["type"] == "thinking" and not last["signature"]:
        last["signature"] = signatures.wrap(str(signature))
    else:
        content.append(
            {"type": "thinking", "thinking": "", "signature": signatures.wrap(str(signature))}
        )


def _tool_use(call: Mapping[str, Any], scope: str, position: int) -> JSONObject:
    name = str(call.get("name", ""))
    args = call.get("args") or {}
    tool_id = call.get("id") or stable_tool_id(scope, position, name, args)
    return {"type": "tool_use", "id": str(tool_id), "name": name, "input": args}


class GeminiToAnthropicStream:
    """Feed parsed ``streamGenerateContent?alt=sse`` chunks; get Anthropic events back.

    Each chunk is a whole ``GenerateContentResponse`` holding the next parts. Text and
    thought parts stream as deltas. A ``functionCall`` arrives whole and becomes a
    ``tool_use`` block with one ``input_json_delta`` carrying all its arguments.
    ``usageMetadata`` is cumulative, so the last one seen is the total; like the OpenAI
    translator, ``message_delta`` waits for :meth:`finish`.
    """

    __slots__ = (
        "_calls",
        "_finish_reason",
        "_model",
        "_scope",
        "_started",
        "_usage",
        "_writer",
        "done",
    )

    def __init__(self, *, model: str) -> None:
        self._model = model
        self._writer = AnthropicEventWriter()
        self._started = False
        self._scope = ""
        self._calls = 0
        self._finish_reason: str | None = None
        self._usage = Usage()
        self.done = False

    def feed(self, chunk: Mapping[str, Any]) -> list[JSONObject]:
        if self.done:
            return []
        writer = self._writer
        if not self._started:
            self._started = True
            self._scope = str(chunk.get("responseId") or "")
            writer.message_start(self._scope or new_message_id(), self._model, Usage())
        error = chunk.get("error")
        if isinstance(error, Mapping):
            writer.close()
            writer.error(_error_type(error), str(error.get("message", "")))
            self.done = True
            return writer.drain()
        if chunk.get("usageMetadata"):
            self._usage = usage_from_gemini(chunk["usageMetadata"])
        candidates = chunk.get("candidates") or ()
        if not candidates:
            if (chunk.get("promptFeedback") or {}).get("blockReason"):
                self._finish_reason = "SAFETY"
            return writer.drain()
        candidate: Mapping[str, Any] = candidates[0]
        for part in _parts(candidate):
            self._part(part)
        if candidate.get("finishReason"):
            self._finish_reason = str(candidate["finishReason"])
        return writer.drain()

    def finish(self) -> list[JSONObject]:
        if self.done:
            return []
        self.done = True
        writer = self._writer
        if not self._started:
            writer.error("api_error", "upstream stream ended before any data")
        elif self._finish_reason is None:
            writer.close()
            writer.error("api_error", "upstream stream ended before the message was complete")
        else:
            stop_reason = anthropic_stop_from_gemini(
                self._finish_reason, has_tool_calls=self._calls > 0
            )
            writer.finish(stop_reason, None, self._usage)
        return writer.drain()

    def _part(self, part: Mapping[str, Any]) -> None:
        writer = self._writer
        signature = part.get("thoughtSignature")
        if part.get("thought"):
            if part.get("text"):
                writer.thinking(str(part["text"]))
            if signature:
                writer.signature(signatures.wrap(str(signature)))
            return
        call = part.get("functionCall")
        if isinstance(call, Mapping):
            if signature:
                writer.signature(signatures.wrap(str(signature)))
            block = _tool_use(call, self._scope, self._calls)
            self._calls += 1
            writer.tool_start(self._calls, block["id"], block["name"])
            writer.tool_arguments(dumps(block["input"]))
            writer.close()
            return
        if part.get("text"):
            writer.text(str(part["text"]))


def _error_type(error: Mapping[str, Any]) -> str:
    status = error.get("status")
    if status == "RESOURCE_EXHAUSTED":
        return "rate_limit_error"
    if status == "UNAVAILABLE":
        return "overloaded_error"
    if status in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
        return "invalid_request_error"
    return "api_error"
