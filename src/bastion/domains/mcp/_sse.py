"""Server-sent events: framing JSON-RPC messages for a client, parsing an upstream's stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

KEEPALIVE = b": keepalive\n\n"


def event(data: bytes) -> bytes:
    """One ``event: message`` frame. ``data`` is compact JSON, so it has no newline."""
    return b"event: message\ndata: " + data + b"\n\n"


@dataclass(frozen=True, slots=True)
class Event:
    event: str
    data: str
    id: str | None


class SseParser:
    """Incremental parser (WHATWG rules, minus ``retry``): feed bytes, get whole events.
    Lines end with CRLF, LF or CR, wherever the chunks happen to be cut."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._after_cr = False

    def feed(self, chunk: bytes) -> Iterator[Event]:
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the second half of a CRLF cut between two chunks
        if chunk:
            self._after_cr = False
        self._buffer += chunk
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return
            end, width = cut
            line = self._buffer[:end].decode("utf-8", errors="replace")
            self._buffer = self._buffer[end + width :]
            if width == 1 and self._buffer == b"" and chunk.endswith(b"\r"):
                self._after_cr = True
            completed = self._line(line)
            if completed is not None:
                yield completed

    def _line(self, line: str) -> Event | None:
        if not line:
            completed = (
                Event(self._event or "message", "\n".join(self._data), self._id)
                if self._data
                else None
            )
            self._event, self._data = "", []
            return completed
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            self._id = value or None
        return None


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Position and width of the first line terminator (CRLF, LF or CR)."""
    lf = buffer.find(b"\n")
    cr = buffer.find(b"\r")
    if cr == -1 and lf == -1:
        return None
    if cr != -1 and (lf == -1 or cr < lf):
        return (cr, 2) if buffer[cr + 1 : cr + 2] == b"\n" else (cr, 1)
    return lf, 1
