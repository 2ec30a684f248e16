"""Byte-level stream translation: upstream SSE bytes in, client SSE bytes out.

Each translator joins the SSE parser, an event translator and the client format's
encoder. ``feed`` takes bytes cut anywhere and returns the bytes ready to send (often
empty); ``finish`` is called once when the upstream closes and returns the tail. Their
output does not depend on where the input was cut.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any, Protocol

import orjson

from bastion.domains.gateway.translate._anthropic_to_openai_stream import AnthropicToOpenAIStream
from bastion.domains.gateway.translate._gemini_to_anthropic import GeminiToAnthropicStream
from bastion.domains.gateway.translate._openai_to_anthropic_stream import OpenAIToAnthropicStream
from bastion.domains.gateway.translate._sse import (
    OPENAI_DONE,
    SSEEvent,
    SSEParser,
    encode_anthropic_event,
    encode_openai_chunk,
)


class StreamTranslator(Protocol):
    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class _EventTranslator(Protocol):
    done: bool

    def feed(self, payload: Mapping[str, Any], /) -> list[dict[str, Any]]: ...

    def finish(self) -> list[dict[str, Any]]: ...


def _decode(event: SSEEvent) -> Any:
    try:
        return orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return None


class _ToAnthropicSSE:
    """Shared by the OpenAI and Gemini sources, which both produce Anthropic events."""

    __slots__ = ("_parser", "_translator")

    def __init__(self, translator: _EventTranslator) -> None:
        self._parser = SSEParser()
        self._translator = translator

    def feed(self, chunk: bytes) -> bytes:
        return self._events(self._parser.feed(chunk))

    def finish(self) -> bytes:
        out = self._events(self._parser.flush())
        return out + _encode_anthropic(self._translator.finish())

    def _events(self, events: Iterable[SSEEvent]) -> bytes:
        out: list[bytes] = []
        translator = self._translator
        for event in events:
            if translator.done:
                break
            if event.data == "[DONE]":
                out.append(_encode_anthropic(translator.finish()))
                continue
            payload = _decode(event)
            if not isinstance(payload, dict):
                payload = {"error": {"message": "upstream sent an event that is not a JSON object"}}
            out.append(_encode_anthropic(translator.feed(payload)))
        return b"".join(out)


def _encode_anthropic(events: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(encode_anthropic_event(event) for event in events)


class OpenAIToAnthropicSSE(_ToAnthropicSSE):
    """OpenAI ``chat.completion.chunk`` SSE -> Anthropic Messages SSE."""

    __slots__ = ()

    def __init__(self, *, model: str | None = None, message_id: str | None = None) -> None:
        super().__init__(OpenAIToAnthropicStream(model=model, message_id=message_id))


class GeminiToAnthropicSSE(_ToAnthropicSSE):
    """Gemini ``streamGenerateContent?alt=sse`` -> Anthropic Messages SSE."""

    __slots__ = ()

    def __init__(self, *, model: str) -> None:
        super().__init__(GeminiToAnthropicStream(model=model))


class AnthropicToOpenAISSE:
    """Anthropic Messages SSE -> OpenAI ``chat.completion.chunk`` SSE, ending in
    ``data: [DONE]`` unless the stream failed."""

    __slots__ = ("_closed", "_parser", "_translator")

    def __init__(
        self, *, include_usage: bool, model: str | None = None, created: int | None = None
    ) -> None:
        self._parser = SSEParser()
        self._translator = AnthropicToOpenAIStream(
            include_usage=include_usage, model=model, created=created
        )
        self._closed = False

    def feed(self, chunk: bytes) -> bytes:
        return self._events(self._parser.feed(chunk))

    def finish(self) -> bytes:
        out = self._events(self._parser.flush())
        return out + self._encode(self._translator.finish())

    def _events(self, events: Iterable[SSEEvent]) -> bytes:
        out: list[bytes] = []
        translator = self._translator
        for event in events:
            if translator.done:
                break
            payload = _decode(event)
            if not isinstance(payload, dict):
                payload = {
                    "type": "error",
                    "error": {"type": "api_error", "message": "upstream sent invalid JSON"},
                }
            out.append(self._encode(translator.feed(payload)))
        return b"".join(out)

    def _encode(self, chunks: list[dict[str, Any]]) -> bytes:
        out = b"".join(encode_openai_chunk(chunk) for chunk in chunks)
        if self._translator.done and not self._closed:
            self._closed = True
            if not any("error" in chunk for chunk in chunks):
                out += OPENAI_DONE
        return out


async def translate_stream(
    source: AsyncIterable[bytes], translator: StreamTranslator
) -> AsyncIterator[bytes]:
    """Relay ``source`` through ``translator``, yielding only non-empty pieces.

    If ``source`` fails mid-stream, the client first gets the translator's account of
    the cut-off stream (an ``error`` event), then the exception propagates so the
    caller can record it.
    """
    try:
        async for chunk in source:
            out = translator.feed(chunk)
            if out:
                yield out
    except Exception:
        tail = translator.finish()
        if tail:
            yield tail
        raise
    tail = translator.finish()
    if tail:
        yield tail
