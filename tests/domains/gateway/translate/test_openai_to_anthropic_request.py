from __future__ import annotations

from typing import Any

import pytest

from bastion.domains.gateway.translate import (
    InvalidPayloadError,
    UnsupportedFeatureError,
    openai_request_to_anthropic,
)


def _request(messages: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": messages or [{"role": "user", "content": "Hi"}], **extra}


def test_plain_request_gets_a_default_max_tokens() -> None:
    assert openai_request_to_anthropic(_request(), model="claude-sonnet-4-5") == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    }


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    out = openai_request_to_anthropic(_request(max_tokens=10, max_completion_tokens=20))
    assert out["max_tokens"] == 20


def test_system_and_developer_messages_become_the_system_prompt() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
    ]
    out = openai_request_to_anthropic(_request(messages))
    assert out["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Use French."},
    ]
    single = openai_request_to_anthropic(_request(messages[:2]))
    assert single["system"] == "Be brief."


def test_images_and_files() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {
            "type": "image_url",
            "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "high"},
        },
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {
            "type": "file",
            "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
        },
    ]
    out = openai_request_to_anthropic(_request([{"role": "user", "content": content}]))
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
        },
    ]


def test_tool_loop_merges_tool_results_into_one_user_turn() -> None:
    messages = [
        {"role": "user", "content": "Oslo and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "dropped: Anthropic needs its own signature",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city":"Oslo"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "-3C"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "18C"}]},
        {"role": "user", "content": "Thanks"},
    ]
    out = openai_request_to_anthropic(_request(messages))
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Oslo and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_1", "name": "w", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "call_2", "name": "w", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "-3C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_2",
                    "content": [{"type": "text", "text": "18C"}],
                },
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]


def test_empty_assistant_messages_are_dropped() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "b"},
    ]
    out = openai_request_to_anthropic(_request(messages))
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_tools_and_choices() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "w",
            "description": "weather",
            "parameters": {"type": "object"},
            "strict": True,
        },
    }
    out = openai_request_to_anthropic(_request(tools=[tool], tool_choice="required"))
    assert out["tools"] == [
        {"name": "w", "description": "weather", "input_schema": {"type": "object"}}
    ]
    assert out["tool_choice"] == {"type": "any"}
    named = {"type": "function", "function": {"name": "w"}}
    assert openai_request_to_anthropic(_request(tools=[tool], tool_choice=named))[
        "tool_choice"
    ] == {
        "type": "tool",
        "name": "w",
    }
    serial = openai_request_to_anthropic(_request(tools=[tool], parallel_tool_calls=False))
    assert serial["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_sampling_stop_stream_user() -> None:
    out = openai_request_to_anthropic(
        _request(
            temperature=0.5,
            top_p=0.8,
            stop="END",
            stream=True,
            user="u1",
            seed=3,
            stream_options={"include_usage": True},
        )
    )
    assert {
        k: out[k] for k in ("temperature", "top_p", "stop_sequences", "stream", "metadata")
    } == {
        "temperature": 0.5,
        "top_p": 0.8,
        "stop_sequences": ["END"],
        "stream": True,
        "metadata": {"user_id": "u1"},
    }
    assert "seed" not in out
    assert "stream_options" not in out


@pytest.mark.parametrize(
    ("effort", "max_tokens", "budget"),
    [("low", 4096, 2048), ("high", 8000, 7999), ("medium", 900, None), ("minimal", 4096, None)],
)
def test_reasoning_effort_becomes_a_budget_under_max_tokens(
    effort: str, max_tokens: int, budget: int | None
) -> None:
    out = openai_request_to_anthropic(_request(reasoning_effort=effort, max_tokens=max_tokens))
    assert out.get("thinking") == (
        None if budget is None else {"type": "enabled", "budget_tokens": budget}
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"n": 2},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}},
        {"modalities": ["text", "audio"]},
        {"tools": [{"type": "custom", "custom": {"name": "x"}}]},
        {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
        {"messages": [{"role": "function", "name": "f", "content": "x"}]},
    ],
)
def test_features_without_an_equivalent_are_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedFeatureError):
        openai_request_to_anthropic({**_request(), **extra})


def test_malformed_requests() -> None:
    with pytest.raises(InvalidPayloadError):
        openai_request_to_anthropic({"model": "m"})
    with pytest.raises(InvalidPayloadError):
        openai_request_to_anthropic(
            _request(
                [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/png,raw"}}
                        ],
                    }
                ]
            )
        )
    with pytest.raises(InvalidPayloadError):
        openai_request_to_anthropic(
            _request(
                tools=[{"type": "function", "function": {"name": "f"}}], tool_choice="sometimes"
            )
        )


def test_response_format_text_is_accepted() -> None:
    assert openai_request_to_anthropic(_request(response_format={"type": "text"}))["messages"]
