"""How a relayed stream ends when the upstream does not finish it, at the byte level
(the fakes only ever break a stream between whole events)."""

from __future__ import annotations

from bastion.domains.gateway.translate import (
    OpenAIToAnthropicSSE,
    OpenAIUsageTap,
    encode_anthropic_event,
)
from bastion.domains.gateway.upstreams._codecs import (
    AnthropicPassthrough,
    TranslatedStream,
    error_event,
)
from tests.domains.gateway.upstreams._support import events

START = encode_anthropic_event(
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 1},
        },
    }
)
BLOCK = encode_anthropic_event(
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
)
DELTA = encode_anthropic_event(
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}
)
STOP = encode_anthropic_event({"type": "message_stop"})


def test_a_complete_stream_passes_through_and_adds_nothing() -> None:
    codec = AnthropicPassthrough()
    relayed = [codec.feed(piece) for piece in (START[:7], START[7:] + BLOCK, DELTA, STOP)]
    assert b"".join(relayed) == START + BLOCK + DELTA + STOP
    assert codec.finish("cut") == (b"", None)
    assert codec.usage.input_tokens == 5


def test_a_stream_cut_between_events_gets_an_error_event() -> None:
    codec = AnthropicPassthrough()
    codec.feed(START + BLOCK)
    tail, failure = codec.finish("upstream connection lost mid-stream")
    assert tail == error_event("upstream connection lost mid-stream")
    assert failure == "upstream connection lost mid-stream"


def test_a_stream_cut_inside_an_event_gets_a_blank_line_first() -> None:
    codec = AnthropicPassthrough()
    codec.feed(START + DELTA[:30])
    tail, _ = codec.finish("cut")
    assert tail == b"\n\n" + error_event("cut")
    # A client's parser then sees the cut event end, and the error as an event of its own.
    assert events(START + tail)[-1]["type"] == "error"


def test_an_upstream_error_event_is_not_doubled() -> None:
    upstream_error = (
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
        b'"message":"Overloaded"}}\n\n'
    )
    codec = AnthropicPassthrough()
    codec.feed(START + BLOCK + DELTA * 2000)  # far more than the tail it keeps
    codec.feed(upstream_error[:20])
    codec.feed(upstream_error[20:])
    assert codec.finish("cut") == (b"", "overloaded_error: Overloaded")


def test_text_that_mentions_an_error_event_is_not_one() -> None:
    codec = AnthropicPassthrough()
    tricky = DELTA.replace(b'"hi"', b'"event: error\\ndata: {}"')
    codec.feed(START + BLOCK + tricky)
    tail, failure = codec.finish("cut")
    assert tail == error_event("cut")
    assert failure == "cut"


def test_a_translated_stream_reports_the_translators_error() -> None:
    codec = TranslatedStream(OpenAIToAnthropicSSE(), OpenAIUsageTap())
    out = codec.feed(
        b'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
    )
    tail, failure = codec.finish("cut")
    assert events(out + tail)[-1]["type"] == "error"
    assert failure is not None and failure.startswith("api_error: ")


def test_a_translated_stream_that_completes_has_no_failure() -> None:
    codec = TranslatedStream(OpenAIToAnthropicSSE(), OpenAIUsageTap())
    out = codec.feed(
        b'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"hi"},'
        b'"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":1}}\n\n'
        b"data: [DONE]\n\n"
    )
    tail, failure = codec.finish("cut")
    assert failure is None
    assert events(out + tail)[-1]["type"] == "message_stop"
    assert (codec.usage.input_tokens, codec.usage.output_tokens) == (4, 1)
