"""Anthropic responses and streams served as OpenAI Chat Completions."""

from __future__ import annotations

from typing import Any

from bastion.domains.gateway.translate import (
    RAW_ARGUMENTS_KEY,
    AnthropicToOpenAIStream,
    anthropic_response_to_openai,
)
from tests.fakes import openai_completion_from_chunks


def _message(content: list[dict[str, Any]], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 5,
            "cache_read_input_tokens": 100,
            "output_tokens": 7,
        },
    }


def test_response_with_thinking_text_and_tools() -> None:
    body = _message(
        [
            {"type": "thinking", "thinking": "Plan.", "signature": "sig"},
            {"type": "redacted_thinking", "data": "x"},
            {"type": "text", "text": "Calling."},
            {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Oslo"}},
        ],
        "tool_use",
    )
    assert anthropic_response_to_openai(body, created=5) == {
        "id": "msg_1",
        "object": "chat.completion",
        "created": 5,
        "model": "claude-sonnet-4-5",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Calling.",
                    "reasoning_content": "Plan.",
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "w", "arguments": '{"city":"Oslo"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 115,
            "completion_tokens": 7,
            "total_tokens": 122,
            "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 5},
        },
    }


def test_tool_only_response_has_null_content_and_raw_arguments_go_back_verbatim() -> None:
    body = _message(
        [{"type": "tool_use", "id": "t", "name": "f", "input": {RAW_ARGUMENTS_KEY: "{bad"}}],
        "tool_use",
    )
    message = anthropic_response_to_openai(body)["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"][0]["function"]["arguments"] == "{bad"


def test_stop_reasons() -> None:
    expected = {
        "end_turn": "stop",
        "stop_sequence": "stop",
        "pause_turn": "stop",
        "max_tokens": "length",
        "model_context_window_exceeded": "length",
        "tool_use": "tool_calls",
        "refusal": "content_filter",
    }
    for stop, finish in expected.items():
        out = anthropic_response_to_openai(_message([{"type": "text", "text": "x"}], stop))
        assert out["choices"][0]["finish_reason"] == finish, stop


def _events(*deltas: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_start",
            "message": {
                "id": "msg_s",
                "model": "claude-haiku-4-5",
                "content": [],
                "usage": {"input_tokens": 20, "cache_read_input_tokens": 4, "output_tokens": 1},
            },
        },
        *deltas,
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]


def _run(events: list[dict[str, Any]], include_usage: bool = True) -> list[dict[str, Any]]:
    stream = AnthropicToOpenAIStream(include_usage=include_usage, created=1)
    chunks: list[dict[str, Any]] = []
    for event in events:
        chunks += stream.feed(event)
    return chunks + stream.finish()


def test_stream_usage_chunk_keeps_start_counts_the_delta_omits() -> None:
    chunks = _run(_events())
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 24,
        "completion_tokens": 9,
        "total_tokens": 33,
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    assert all(chunk["usage"] is None for chunk in chunks[:-1])


def test_stream_without_include_usage_has_no_usage_at_all() -> None:
    chunks = _run(_events(), include_usage=False)
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_two_tool_blocks_get_call_indices_0_and_1() -> None:
    blocks = [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Two calls."},
        },
        {"type": "content_block_stop", "index": 0},
    ]
    for index, (tool_id, args) in enumerate((("t1", ['{"a"', ": 1}"]), ("t2", ["{}"])), start=1):
        blocks.append(
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "tool_use", "id": tool_id, "name": "f", "input": {}},
            }
        )
        blocks.append(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            }
        )
        for part in args:
            blocks.append(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": part},
                }
            )
        blocks.append({"type": "content_block_stop", "index": index})
    chunks = _run(_events(*blocks))
    completion = openai_completion_from_chunks(chunks)
    assert completion["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Two calls.",
        "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
            {"id": "t2", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        ],
    }
    heads = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert [head["index"] for head in heads] == [0, 0, 0, 1, 1]


def test_stream_error_event_becomes_an_error_chunk() -> None:
    stream = AnthropicToOpenAIStream(include_usage=True, created=1)
    stream.feed(_events()[0])
    chunks = stream.feed(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    assert chunks == [
        {
            "error": {
                "message": "Overloaded",
                "type": "overloaded_error",
                "param": None,
                "code": None,
            }
        }
    ]
    assert stream.finish() == []


def test_stream_cut_before_message_stop_ends_in_an_error_chunk() -> None:
    stream = AnthropicToOpenAIStream(include_usage=False, created=1)
    stream.feed(_events()[0])
    assert stream.finish()[0]["error"]["type"] == "api_error"


def test_model_override_and_signature_and_ping_are_silent() -> None:
    stream = AnthropicToOpenAIStream(include_usage=False, model="gpt-4o", created=1)
    first = stream.feed(_events()[0])
    assert first[0]["model"] == "gpt-4o"
    assert first[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert stream.feed({"type": "ping"}) == []
    assert (
        stream.feed(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "s"},
            }
        )
        == []
    )
