"""The SSE parser Bastion reads upstream response streams with."""

from __future__ import annotations

import pytest

from bastion.domains.mcp._sse import KEEPALIVE, Event, SseParser, event

STREAM = (
    b": a comment\r\n"
    b"event: message\r\n"
    b"id: 7\r\n"
    b'data: {"a":\r\n'
    b"data: 1}\r\n"
    b"\r\n"
    b"data: second\n\n"
    b"retry: 100\n"
    b"event: other\rdata: x\r\r"
)
EXPECTED = [
    Event("message", '{"a":\n1}', "7"),
    Event("message", "second", "7"),
    Event("other", "x", "7"),
]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(STREAM)])
def test_events_survive_any_chunking(size: int) -> None:
    parser = SseParser()
    seen = [e for i in range(0, len(STREAM), size) for e in parser.feed(STREAM[i : i + size])]
    assert seen == EXPECTED


def test_a_crlf_cut_between_chunks_is_one_line_end() -> None:
    parser = SseParser()
    assert list(parser.feed(b"data: a\r")) == []
    assert list(parser.feed(b"\ndata: b\r")) == []
    assert list(parser.feed(b"\n\r")) == [Event("message", "a\nb", None)]


def test_framing_for_clients_round_trips() -> None:
    frame = event(b'{"jsonrpc":"2.0","id":1,"result":{}}')
    assert list(SseParser().feed(frame)) == [
        Event("message", '{"jsonrpc":"2.0","id":1,"result":{}}', None)
    ]
    assert list(SseParser().feed(KEEPALIVE)) == []
