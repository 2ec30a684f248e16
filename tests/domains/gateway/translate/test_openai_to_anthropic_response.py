from __future__ import annotations

from typing import Any

import pytest

from bastion.domains.gateway.translate import (
    RAW_ARGUMENTS_KEY,
    InvalidPayloadError,
    openai_response_to_anthropic,
)


def _completion(message: dict[str, Any], finish: str = "stop", **choice: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "deepseek-reasoner",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, **choice}],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "total_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 60},
        },
    }


def test_reasoning_text_and_tool_calls_in_anthropic_order() -> None:
    message = {
        "role": "assistant",
        "content": "On it.",
        "reasoning_content": "Need the weather.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }
    assert openai_response_to_anthropic(_completion(message, "tool_calls")) == {
        "id": "chatcmpl-1",
        "type": "message",
        "role": "assistant",
        "model": "deepseek-reasoner",
        "content": [
            {"type": "thinking", "thinking": "Need the weather.", "signature": ""},
            {"type": "text", "text": "On it."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 40,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 60,
            "output_tokens": 20,
        },
    }


def test_reasoning_field_named_reasoning() -> None:
    out = openai_response_to_anthropic(_completion({"content": "x", "reasoning": "hmm"}))
    assert out["content"][0] == {"type": "thinking", "thinking": "hmm", "signature": ""}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"city": "Os', {RAW_ARGUMENTS_KEY: '{"city": "Os'}),
        ("[1, 2]", {RAW_ARGUMENTS_KEY: "[1, 2]"}),
        ("", {}),
        (None, {}),
    ],
)
def test_arguments_that_are_not_an_object_are_kept_not_lost(
    arguments: str | None, expected: dict[str, Any]
) -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    out = openai_response_to_anthropic(_completion({"content": None, "tool_calls": [call]}))
    assert out["content"] == [{"type": "tool_use", "id": "c", "name": "f", "input": expected}]


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
    ],
)
def test_finish_reason(finish: str | None, expected: str) -> None:
    out = openai_response_to_anthropic(_completion({"content": "x"}, finish))  # type: ignore[arg-type]
    assert out["stop_reason"] == expected


def test_stop_with_tool_calls_is_tool_use() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    out = openai_response_to_anthropic(_completion({"content": "", "tool_calls": [call]}, "stop"))
    assert out["stop_reason"] == "tool_use"
    assert [block["type"] for block in out["content"]] == ["tool_use"]


def test_matched_stop_string_is_a_stop_sequence() -> None:
    out = openai_response_to_anthropic(_completion({"content": "x"}, "stop", stop_reason="###"))
    assert (out["stop_reason"], out["stop_sequence"]) == ("stop_sequence", "###")
    eos = openai_response_to_anthropic(_completion({"content": "x"}, "stop", stop_reason=None))
    assert (eos["stop_reason"], eos["stop_sequence"]) == ("end_turn", None)


def test_refusal() -> None:
    out = openai_response_to_anthropic(_completion({"content": None, "refusal": "I can't help."}))
    assert out["content"] == [{"type": "text", "text": "I can't help."}]
    assert out["stop_reason"] == "refusal"


def test_content_parts_list_and_requested_model() -> None:
    body = _completion({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]})
    out = openai_response_to_anthropic(body, model="claude-sonnet-4-5")
    assert out["content"] == [{"type": "text", "text": "ab"}]
    assert out["model"] == "claude-sonnet-4-5"


def test_not_a_completion() -> None:
    with pytest.raises(InvalidPayloadError):
        openai_response_to_anthropic({"error": {"message": "x"}})
