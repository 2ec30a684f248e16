from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bastion.domains.gateway.translate import (
    OPENAI_DONE,
    AnthropicToOpenAISSE,
    OpenAIToAnthropicSSE,
    SSEParser,
    translate_stream,
)

OPENAI_TEXT = (
    b'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"Hi"},'
    b'"finish_reason":null}]}\n\n'
    b'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)

ANTHROPIC_TEXT = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"m",'
    b'"content":[],"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"Hi"}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    b'"usage":{"output_tokens":2}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


def _types(data: bytes) -> list[str | None]:
    parser = SSEParser()
    return [event.event for event in parser.feed(data) + parser.flush()]


def test_done_finishes_the_anthropic_stream_and_later_data_is_ignored() -> None:
    translator = OpenAIToAnthropicSSE()
    out = translator.feed(OPENAI_TEXT + b'data: {"choices":[]}\n\n') + translator.finish()
    assert _types(out) == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_invalid_json_from_upstream_becomes_an_error_event() -> None:
    translator = OpenAIToAnthropicSSE()
    out = translator.feed(b"data: {not json\n\n") + translator.finish()
    assert _types(out) == ["message_start", "ping", "error"]


def test_openai_stream_ends_with_done_with_or_without_usage() -> None:
    for include_usage in (True, False):
        translator = AnthropicToOpenAISSE(include_usage=include_usage, created=1)
        out = translator.feed(ANTHROPIC_TEXT) + translator.finish()
        assert out.endswith(b"}\n\n" + OPENAI_DONE)
        assert out.count(OPENAI_DONE) == 1
        assert (b'"choices":[],"usage"' in out) is include_usage


def test_openai_stream_that_fails_has_no_done() -> None:
    translator = AnthropicToOpenAISSE(include_usage=True, created=1)
    cut = ANTHROPIC_TEXT[: ANTHROPIC_TEXT.index(b"event: message_delta")]
    out = translator.feed(cut) + translator.finish()
    assert OPENAI_DONE not in out
    assert out.rstrip().endswith(b'"code":null}}')


async def _source(chunks: list[bytes], fail: bool) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    if fail:
        raise ConnectionResetError("upstream went away")


async def test_translate_stream_relays_and_finishes() -> None:
    pieces = [
        piece
        async for piece in translate_stream(
            _source([OPENAI_TEXT[:40], OPENAI_TEXT[40:]], False), OpenAIToAnthropicSSE()
        )
    ]
    assert all(pieces)
    assert _types(b"".join(pieces))[-1] == "message_stop"


async def test_translate_stream_tells_the_client_then_raises_when_the_source_fails() -> None:
    received: list[bytes] = []
    with pytest.raises(ConnectionResetError):
        async for piece in translate_stream(
            _source([OPENAI_TEXT[:120]], True), OpenAIToAnthropicSSE()
        ):
            received.append(piece)
    assert _types(b"".join(received))[-1] == "error"
