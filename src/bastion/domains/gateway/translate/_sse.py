"""Server-sent events: an incremental parser and the encoders for each provider.

The parser follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; ``data``
lines of one event join with ``\\n``; a line starting with ``:`` is a comment; a blank
line dispatches. It accepts bytes cut at any point, including inside a UTF-8 sequence
and between the CR and LF of one line ending, and decodes only whole lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event. ``event`` is None when the stream names no type."""

    data: str
    event: str | None = None
    id: str | None = None

    def json(self) -> Any:
        return orjson.loads(self.data)


class SSEParser:
    """Feed raw bytes as they arrive; get back the events they complete."""

    __slots__ = ("_buffer", "_data", "_event", "_id", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._started = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buffer = self._buffer + chunk if self._buffer else chunk
        # A trailing CR may be the first half of CRLF: keep it until the next chunk says.
        held = b""
        if buffer.endswith(b"\r"):
            held = b"\r"
            buffer = buffer[:-1]
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        self._buffer = lines.pop() + held
        events: list[SSEEvent] = []
        for line in lines:
            self._line(line, events)
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: dispatch an event left without its closing blank line.

        The standard discards such an event; upstreams that close the connection right
        after their last ``data:`` line are common enough that keeping it is kinder. A
        cut-off line still yields whatever it holds, so a consumer must expect JSON that
        does not parse.
        """
        events: list[SSEEvent] = []
        rest, self._buffer = self._buffer, b""
        if rest:
            for line in rest.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
                self._line(line, events)
        self._line(b"", events)
        return events

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        if not raw:
            if self._data:
                events.append(SSEEvent("\n".join(self._data), self._event, self._id))
            self._data = []
            self._event = None
            return
        line = raw.decode("utf-8", "replace")
        if not self._started:
            self._started = True
            if line.startswith(_BOM):
                line = line[1:]
        if line.startswith(":"):
            return
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self._id = value


def encode_sse(data: str | bytes, event: str | None = None) -> bytes:
    """One event. Multi-line data becomes one ``data:`` line per line."""
    payload = data.encode() if isinstance(data, str) else data
    if b"\n" in payload or b"\r" in payload:
        lines = payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        body = b"".join(b"data: " + line + b"\n" for line in lines)
    else:
        body = b"data: " + payload + b"\n"
    if event is not None:
        return b"event: " + event.encode() + b"\n" + body + b"\n"
    return body + b"\n"


def encode_anthropic_event(event: Mapping[str, Any]) -> bytes:
    """An Anthropic stream event: ``event:`` carries the same name as the data's ``type``."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def encode_openai_chunk(chunk: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


OPENAI_DONE = b"data: [DONE]\n\n"
"""The sentinel that ends an OpenAI Chat Completions stream."""
