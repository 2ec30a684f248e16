from __future__ import annotations

import pytest

from bastion.domains.gateway.translate import (
    SSEEvent,
    SSEParser,
    encode_anthropic_event,
    encode_sse,
)


def _parse(*chunks: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.flush()


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(newline: bytes) -> None:
    stream = newline.join([b"event: a", b"data: 1", b"", b"data: 2", b"", b""])
    assert _parse(stream) == [SSEEvent("1", "a"), SSEEvent("2")]


def test_crlf_cut_between_cr_and_lf_is_one_line_ending() -> None:
    assert _parse(b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n") == [SSEEvent("1"), SSEEvent("2")]


def test_a_trailing_cr_still_ends_its_line() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: 1\r\r") == []
    assert parser.feed(b"data: 2\n\n") == [SSEEvent("1"), SSEEvent("2")]


def test_multi_line_data_joins_with_newline() -> None:
    assert _parse(b"data: first\ndata:second\ndata:  third\n\n") == [
        SSEEvent("first\nsecond\n third")
    ]


def test_comments_retry_and_unknown_fields_are_ignored_and_id_is_kept() -> None:
    stream = b": keep-alive\nretry: 100\nfoo: bar\nid: 7\ndata: x\n\n"
    assert _parse(stream) == [SSEEvent("x", None, "7")]


def test_an_event_without_data_is_not_dispatched_and_its_name_does_not_leak() -> None:
    assert _parse(b"event: ping\n\ndata: x\n\n") == [SSEEvent("x")]


def test_utf8_split_inside_a_character() -> None:
    encoded = "data: Zürich 🌤️\n\n".encode()
    for cut in range(len(encoded) + 1):
        assert _parse(encoded[:cut], encoded[cut:]) == [SSEEvent("Zürich 🌤️")]


def test_a_leading_bom_is_dropped() -> None:
    assert _parse(b"\xef\xbb\xbfdata: x\n\n") == [SSEEvent("x")]


def test_field_without_colon_is_a_field_with_empty_value() -> None:
    assert _parse(b"data\ndata: x\n\n") == [SSEEvent("\nx")]


def test_flush_dispatches_an_event_left_without_its_blank_line() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: 1\n\ndata: 2") == [SSEEvent("1")]
    assert parser.flush() == [SSEEvent("2")]
    assert parser.flush() == []


def test_json_decodes_the_data() -> None:
    assert SSEEvent('{"a": [1]}').json() == {"a": [1]}


def test_encode_round_trips_multi_line_data() -> None:
    data = "line one\nline two\r\nline three"
    assert _parse(encode_sse(data, "message")) == [
        SSEEvent("line one\nline two\nline three", "message")
    ]


def test_encode_without_event_name() -> None:
    assert encode_sse(b'{"x":1}') == b'data: {"x":1}\n\n'


def test_anthropic_events_name_their_type() -> None:
    assert encode_anthropic_event({"type": "ping"}) == b'event: ping\ndata: {"type":"ping"}\n\n'
