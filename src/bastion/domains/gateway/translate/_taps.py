"""Reading usage off a stream while its bytes are relayed unchanged.

A tap is fed the exact bytes sent to the client and never alters them. It decodes only
what carries usage: for Anthropic, the ``message_start`` and ``message_delta`` events
(selected by event name, so the content deltas are never JSON-decoded); for OpenAI,
chunks whose text mentions ``usage``; for Gemini, the last chunk, decoded once when
asked.
"""

from __future__ import annotations

from typing import Any

import orjson

from bastion.domains.gateway.translate._sse import SSEParser
from bastion.domains.gateway.translate._usage import (
    Usage,
    usage_from_anthropic,
    usage_from_gemini,
    usage_from_openai,
)


class AnthropicUsageTap:
    """Usage of an Anthropic Messages stream: ``message_start`` counts, overwritten by the
    cumulative counts of each ``message_delta``."""

    __slots__ = ("_counts", "_parser", "completed", "model", "stop_reason")

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._counts: dict[str, int] = {}
        self.model: str | None = None
        self.stop_reason: str | None = None
        self.completed = False

    def feed(self, chunk: bytes) -> None:
        for event in self._parser.feed(chunk):
            self._event(event.event, event.data)

    def close(self) -> None:
        for event in self._parser.flush():
            self._event(event.event, event.data)

    @property
    def usage(self) -> Usage:
        return usage_from_anthropic(self._counts)

    def _event(self, name: str | None, data: str) -> None:
        if name is None:
            # A relay that dropped the ``event:`` lines: fall back to the data's type.
            try:
                name = orjson.loads(data).get("type")
            except (orjson.JSONDecodeError, AttributeError):
                return
        if name == "message_stop":
            self.completed = True
            return
        if name not in ("message_start", "message_delta"):
            return
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if name == "message_start":
            message = payload.get("message") or {}
            self.model = message.get("model")
            usage = message.get("usage")
        else:
            self.stop_reason = (payload.get("delta") or {}).get("stop_reason")
            usage = payload.get("usage")
        if isinstance(usage, dict):
            for key, value in usage.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    self._counts[key] = value


class OpenAIUsageTap:
    """Usage of an OpenAI Chat Completions stream (present only when the request set
    ``stream_options.include_usage``, or the server reports it unasked)."""

    __slots__ = ("_parser", "_usage", "completed", "model")

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._usage: Any = None
        self.model: str | None = None
        self.completed = False

    def feed(self, chunk: bytes) -> None:
        for event in self._parser.feed(chunk):
            self._data(event.data)

    def close(self) -> None:
        for event in self._parser.flush():
            self._data(event.data)

    @property
    def usage(self) -> Usage:
        return usage_from_openai(self._usage)

    def _data(self, data: str) -> None:
        if data == "[DONE]":
            self.completed = True
            return
        if self.model is not None and '"usage"' not in data:
            return
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(payload, dict):
            return
        if self.model is None:
            self.model = payload.get("model")
        usage = payload.get("usage")
        if not usage:
            for choice in payload.get("choices") or ():
                usage = choice.get("usage") or usage
        if usage:
            self._usage = usage


class GeminiUsageTap:
    """Usage of a Gemini ``alt=sse`` stream: every chunk repeats the cumulative
    ``usageMetadata``, so only the last one is decoded, on demand."""

    __slots__ = ("_last", "_parser", "completed")

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._last: str | None = None
        self.completed = False

    def feed(self, chunk: bytes) -> None:
        for event in self._parser.feed(chunk):
            self._data(event.data)

    def close(self) -> None:
        for event in self._parser.flush():
            self._data(event.data)

    def _data(self, data: str) -> None:
        if '"usageMetadata"' in data:
            self._last = data
        if '"finishReason"' in data:
            self.completed = True

    @property
    def model(self) -> str | None:
        payload = self._payload()
        version = payload.get("modelVersion")
        return version if isinstance(version, str) else None

    @property
    def usage(self) -> Usage:
        return usage_from_gemini(self._payload().get("usageMetadata"))

    def _payload(self) -> dict[str, Any]:
        if self._last is None:
            return {}
        try:
            payload = orjson.loads(self._last)
        except orjson.JSONDecodeError:
            return {}
        return payload if isinstance(payload, dict) else {}
