"""What a relayed stream does with the upstream's bytes: pass them through (Anthropic
upstreams) or translate them (OpenAI-compatible and Gemini upstreams), reading usage on
the side, and say at the end whether the stream completed."""

from __future__ import annotations

from collections import deque
from typing import Protocol

import orjson

from bastion.domains.gateway.translate import (
    AnthropicUsageTap,
    GeminiUsageTap,
    OpenAIUsageTap,
    SSEParser,
    StreamTranslator,
    Usage,
    encode_anthropic_event,
)

_MESSAGE_STOP = encode_anthropic_event({"type": "message_stop"})
_EVENT_BOUNDARIES = (b"\n\n", b"\r\n\r\n", b"\r\r")
# Enough of the stream's end to hold its last whole event when that is an ``error``.
_TAIL_BYTES = 16 * 1024


class StreamCodec(Protocol):
    @property
    def usage(self) -> Usage: ...

    def feed(self, chunk: bytes) -> bytes:
        """The bytes for the caller from one upstream chunk (possibly empty)."""
        ...

    def finish(self, reason: str) -> tuple[bytes, str | None]:
        """The upstream is done, cleanly or not: the last bytes for the caller, and None
        if the stream completed or else why not. ``reason`` says what ended it early,
        if it did."""
        ...


class AnthropicPassthrough:
    """Relays an Anthropic stream untouched. If it ends without ``message_stop`` and the
    upstream did not send its own ``error`` event, one is appended, after a blank line
    when the stream was cut inside an event."""

    __slots__ = ("_tail", "_tail_size", "_tap")

    def __init__(self) -> None:
        self._tap = AnthropicUsageTap()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0

    @property
    def usage(self) -> Usage:
        return self._tap.usage

    def feed(self, chunk: bytes) -> bytes:
        self._tap.feed(chunk)
        tail = self._tail
        tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(tail[0]) >= _TAIL_BYTES:
            self._tail_size -= len(tail.popleft())
        return chunk

    def finish(self, reason: str) -> tuple[bytes, str | None]:
        self._tap.close()
        if self._tap.completed:
            return b"", None
        tail = b"".join(self._tail)
        sent = final_error(tail)
        if sent is not None:
            return b"", sent
        separator = b"\n\n" if tail and not tail.endswith(_EVENT_BOUNDARIES) else b""
        return separator + error_event(reason), reason


class TranslatedStream:
    """Runs an upstream stream through a byte translator; a tap on the upstream bytes
    reads usage. The translators always end with ``message_stop`` or an ``error`` event
    (theirs for a cut-off stream, or the upstream's in-band error, translated)."""

    __slots__ = ("_last", "_tap", "_translator")

    def __init__(self, translator: StreamTranslator, tap: OpenAIUsageTap | GeminiUsageTap) -> None:
        self._translator = translator
        self._tap = tap
        self._last = b""

    @property
    def usage(self) -> Usage:
        return self._tap.usage

    def feed(self, chunk: bytes) -> bytes:
        self._tap.feed(chunk)
        out = self._translator.feed(chunk)
        if out:
            self._last = out
        return out

    def finish(self, reason: str) -> tuple[bytes, str | None]:
        self._tap.close()
        out = self._translator.finish()
        if out:
            self._last = out
        if self._last.endswith(_MESSAGE_STOP):
            return out, None
        return out, final_error(self._last) or reason


def error_event(message: str) -> bytes:
    return encode_anthropic_event(
        {"type": "error", "error": {"type": "api_error", "message": message}}
    )


def final_error(data: bytes) -> str | None:
    """``type: message`` of the ``error`` event ``data`` ends with, if it does."""
    parser = SSEParser()
    events = parser.feed(data) + parser.flush()
    if not events:
        return None
    last = events[-1]
    try:
        payload = orjson.loads(last.data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or (last.event or payload.get("type")) != "error":
        return None
    error = payload.get("error")
    if not isinstance(error, dict):
        return "upstream sent an error event"
    return f"{error.get('type', 'error')}: {error.get('message', '')}"
