from __future__ import annotations

from typing import Any

import pytest

from bastion.domains.gateway.translate import (
    RAW_ARGUMENTS_KEY,
    InvalidPayloadError,
    UnsupportedFeatureError,
    anthropic_request_to_openai,
)

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def _request(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hi"}],
        **extra,
    }


def test_plain_request() -> None:
    assert anthropic_request_to_openai(_request(temperature=0.2, top_p=0.9, top_k=5)) == {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 1024,
        "temperature": 0.2,
        "top_p": 0.9,
    }


def test_model_override_and_max_completion_tokens() -> None:
    out = anthropic_request_to_openai(
        _request(), model="gpt-5", max_tokens_field="max_completion_tokens"
    )
    assert out["model"] == "gpt-5"
    assert out["max_completion_tokens"] == 1024
    assert "max_tokens" not in out


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("Be brief.", "Be brief."),
        (
            [
                {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Answer in French."},
            ],
            "Be brief.\n\nAnswer in French.",
        ),
    ],
)
def test_system_string_or_blocks(system: Any, expected: str) -> None:
    out = anthropic_request_to_openai(_request(system=system))
    assert out["messages"][0] == {"role": "system", "content": expected}


def test_images_become_image_url_parts() -> None:
    content = [
        {"type": "text", "text": "Compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
    ]
    out = anthropic_request_to_openai(_request(messages=[{"role": "user", "content": content}]))
    assert out["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
            ],
        }
    ]


def test_pdf_document_becomes_a_file_part() -> None:
    content = [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"},
        }
    ]
    out = anthropic_request_to_openai(_request(messages=[{"role": "user", "content": content}]))
    assert out["messages"][0]["content"] == [
        {
            "type": "file",
            "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBER"},
        }
    ]


def test_tool_loop_history() -> None:
    messages = [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Two calls.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [{"type": "text", "text": "18C"}, {"type": "text", "text": "sunny"}],
                    "is_error": False,
                },
                {"type": "text", "text": "Thanks, and Paris?"},
            ],
        },
    ]
    out = anthropic_request_to_openai(_request(messages=messages))
    assert out["messages"] == [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "reasoning_content": "Two calls.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                },
                {
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "-3C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "18C\nsunny"},
        {"role": "user", "content": "Thanks, and Paris?"},
    ]


def test_assistant_with_only_tool_calls_has_null_content() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
        },
    ]
    assistant = anthropic_request_to_openai(_request(messages=messages))["messages"][1]
    assert assistant["content"] is None
    assert assistant["tool_calls"][0]["function"]["arguments"] == "{}"


def test_image_from_a_tool_goes_to_the_following_user_message() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}
    messages = [
        {"role": "user", "content": "shot"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "screenshot", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t",
                    "content": [{"type": "text", "text": "ok"}, image],
                }
            ],
        },
    ]
    out = anthropic_request_to_openai(_request(messages=messages))["messages"]
    assert out[2] == {"role": "tool", "tool_call_id": "t", "content": "ok"}
    assert out[3] == {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}],
    }


def test_raw_arguments_kept_from_a_malformed_call_go_back_verbatim() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "t", "name": "f", "input": {RAW_ARGUMENTS_KEY: '{"a": '}}
            ],
        },
    ]
    out = anthropic_request_to_openai(_request(messages=messages))
    assert out["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"a": '


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        (
            {"type": "tool", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
def test_tools_and_tool_choice(choice: dict[str, Any], expected: Any) -> None:
    out = anthropic_request_to_openai(_request(tools=[WEATHER_TOOL], tool_choice=choice))
    assert out["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather",
                "parameters": WEATHER_TOOL["input_schema"],
            },
        }
    ]
    assert out["tool_choice"] == expected
    assert "parallel_tool_calls" not in out


def test_disable_parallel_tool_use() -> None:
    out = anthropic_request_to_openai(
        _request(
            tools=[WEATHER_TOOL], tool_choice={"type": "auto", "disable_parallel_tool_use": True}
        )
    )
    assert out["parallel_tool_calls"] is False


def test_server_tools_are_left_out() -> None:
    web_search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    out = anthropic_request_to_openai(_request(tools=[web_search]))
    assert "tools" not in out


def test_stop_stream_and_user() -> None:
    out = anthropic_request_to_openai(
        _request(stop_sequences=["###"], stream=True, metadata={"user_id": "u-42"})
    )
    assert out["stop"] == ["###"]
    assert out["stream"] is True
    assert out["stream_options"] == {"include_usage": True}
    assert out["user"] == "u-42"


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, "low"),
        ({"type": "enabled", "budget_tokens": 8000}, "medium"),
        ({"type": "enabled", "budget_tokens": 32000}, "high"),
        ({"type": "disabled"}, None),
    ],
)
def test_thinking_budget_to_reasoning_effort_only_when_asked(
    thinking: dict[str, Any], effort: str | None
) -> None:
    assert "reasoning_effort" not in anthropic_request_to_openai(_request(thinking=thinking))
    out = anthropic_request_to_openai(_request(thinking=thinking), reasoning_effort=True)
    assert out.get("reasoning_effort") == effort


def test_server_side_history_blocks_are_dropped() -> None:
    messages = [
        {"role": "user", "content": "search"},
        {
            "role": "assistant",
            "content": [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {"type": "redacted_thinking", "data": "xyz"},
                {"type": "text", "text": "Found it."},
            ],
        },
    ]
    out = anthropic_request_to_openai(_request(messages=messages))
    assert out["messages"][1] == {"role": "assistant", "content": "Found it."}


def test_unknown_blocks_and_roles_are_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="'hologram'"):
        anthropic_request_to_openai(
            _request(messages=[{"role": "user", "content": [{"type": "hologram"}]}])
        )
    with pytest.raises(InvalidPayloadError, match="role"):
        anthropic_request_to_openai(_request(messages=[{"role": "system", "content": "x"}]))
    with pytest.raises(InvalidPayloadError):
        anthropic_request_to_openai({"model": "m"})
