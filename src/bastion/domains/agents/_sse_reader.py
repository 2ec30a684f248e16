"""Reading a remote agent's server-sent events: each event's ``data`` is one JSON-RPC
response (a ``StreamResponse`` or an error).

The MCP domain has the same parser for its upstreams' streams; domains share no code, so
the agents domain keeps its own. Only ``event`` and ``data`` matter here (an A2A stream
has no use for ``id`` or ``retry``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


class EventTooLarge(Exception):
    """An event grew past the reader's limit before its end."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str


class SseReader:
    """Incremental parser (WHATWG rules): feed bytes, get whole events. Lines end with
    CRLF, LF or CR wherever the chunks happen to be cut. ``max_event_bytes`` bounds what
    one event may buffer, so a remote that never ends a line cannot exhaust memory."""

    def __init__(self, max_event_bytes: int) -> None:
        self._max = max_event_bytes
        self._buffer = b""
        self._size = 0
        self._event = ""
        self._data: list[str] = []
        self._after_cr = False

    def feed(self, chunk: bytes) -> Iterator[SseEvent]:
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the second half of a CRLF cut between two chunks
        if chunk:
            self._after_cr = False
        self._buffer += chunk
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                if self._size + len(self._buffer) > self._max:
                    raise EventTooLarge
                return
            end, width = cut
            line = self._buffer[:end].decode("utf-8", errors="replace")
            self._buffer = self._buffer[end + width :]
            if width == 1 and self._buffer == b"" and chunk.endswith(b"\r"):
                self._after_cr = True
            completed = self._line(line, end)
            if completed is not None:
                yield completed

    def _line(self, line: str, size: int) -> SseEvent | None:
        if not line:
            # An event without a ``data`` line is not dispatched (WHATWG).
            completed = (
                SseEvent(self._event or "message", "\n".join(self._data)) if self._data else None
            )
            self._event, self._data, self._size = "", [], 0
            return completed
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._size += size
            if self._size > self._max:
                raise EventTooLarge
            self._data.append(value)
        elif field == "event":
            self._event = value
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
