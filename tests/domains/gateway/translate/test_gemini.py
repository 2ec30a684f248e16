from __future__ import annotations

from typing import Any

import pytest

from bastion.domains.gateway.translate import (
    GEMINI_SKIP_SIGNATURE,
    GeminiToAnthropicStream,
    InvalidPayloadError,
    anthropic_request_to_gemini,
    gemini_endpoint,
    gemini_response_to_anthropic,
)
from tests.fakes import anthropic_message_from_events

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "opts": {"$ref": "#/$defs/Opts"}},
    "$defs": {"Opts": {"type": "object", "additionalProperties": False}},
}


def test_endpoints() -> None:
    assert (
        gemini_endpoint("gemini-2.5-pro", stream=False)
        == "/v1beta/models/gemini-2.5-pro:generateContent"
    )
    assert (
        gemini_endpoint("gemini-2.5-pro", stream=True)
        == "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    )


def test_request_mapping() -> None:
    body = {
        "model": "gemini-2.5-pro",
        "max_tokens": 2048,
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["END"],
        "system": [{"type": "text", "text": "Be brief."}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [
            {"name": "get_weather", "description": "weather", "input_schema": SCHEMA},
            {"type": "web_search_20250305", "name": "web_search"},
        ],
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AA"},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/map.jpeg"}},
                ],
            },
        ],
    }
    assert anthropic_request_to_gemini(body) == {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Weather?"},
                    {"inlineData": {"mimeType": "image/png", "data": "AA"}},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.test/map.jpeg"}},
                ],
            }
        ],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "weather",
                        "parametersJsonSchema": SCHEMA,
                    }
                ]
            }
        ],
        "toolConfig": {
            "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
        },
        "generationConfig": {
            "maxOutputTokens": 2048,
            "temperature": 0.3,
            "topP": 0.9,
            "topK": 40,
            "stopSequences": ["END"],
            "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024},
        },
    }


@pytest.mark.parametrize(("kind", "mode"), [("auto", "AUTO"), ("any", "ANY"), ("none", "NONE")])
def test_tool_choice_modes(kind: str, mode: str) -> None:
    body = {
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": kind},
    }
    assert anthropic_request_to_gemini(body)["toolConfig"] == {
        "functionCallingConfig": {"mode": mode}
    }


def _tool_loop(thinking_signature: str | None) -> dict[str, Any]:
    assistant: list[dict[str, Any]] = [{"type": "text", "text": "Checking."}]
    if thinking_signature is not None:
        assistant.append({"type": "thinking", "thinking": "", "signature": thinking_signature})
    assistant += [
        {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "toolu_b", "name": "get_time", "input": {}},
    ]
    return {
        "messages": [
            {"role": "user", "content": "Oslo?"},
            {"role": "assistant", "content": assistant},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_a",
                        "content": [{"type": "text", "text": "-3C"}],
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_b",
                        "content": "unavailable",
                        "is_error": True,
                    },
                    {"type": "text", "text": "And?"},
                ],
            },
        ]
    }


def test_tool_results_are_answered_by_name_and_a_gemini_signature_returns_to_its_part() -> None:
    out = anthropic_request_to_gemini(_tool_loop("gemini:c2ln"))
    assert out["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {"text": "Checking."},
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
                    "thoughtSignature": "c2ln",
                },
                {"functionCall": {"name": "get_time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"output": "-3C"}}},
                {"functionResponse": {"name": "get_time", "response": {"error": "unavailable"}}},
                {"text": "And?"},
            ],
        },
    ]


@pytest.mark.parametrize("signature", [None, "EqQBCgIYAhIM-a-claude-signature"])
def test_a_call_with_no_gemini_signature_gets_the_documented_stand_in(
    signature: str | None,
) -> None:
    parts = anthropic_request_to_gemini(_tool_loop(signature))["contents"][1]["parts"]
    assert [part.get("thoughtSignature") for part in parts] == [None, GEMINI_SKIP_SIGNATURE, None]


def test_a_result_for_an_unknown_tool_use_is_invalid() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "nope", "content": "x"}],
            }
        ]
    }
    with pytest.raises(InvalidPayloadError, match="nope"):
        anthropic_request_to_gemini(body)


def _response(parts: list[Any], finish: str = "STOP", **extra: Any) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": 10,
            "candidatesTokenCount": 3,
            "thoughtsTokenCount": 2,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1",
        **extra,
    }


def test_response_mapping() -> None:
    parts = [
        {"text": "Thinking", "thought": True},
        {"text": " more", "thought": True},
        {"text": "Hello "},
        {"text": "world"},
        {"functionCall": {"name": "f", "args": {"x": 1}}, "thoughtSignature": "c2ln"},
        {"functionCall": {"name": "f", "args": {"x": 2}, "id": "gemini-id"}},
    ]
    out = gemini_response_to_anthropic(_response(parts), model="gemini-2.5-flash")
    content = out["content"]
    assert content[:3] == [
        {"type": "thinking", "thinking": "Thinking more", "signature": ""},
        {"type": "text", "text": "Hello world"},
        {"type": "thinking", "thinking": "", "signature": "gemini:c2ln"},
    ]
    assert content[3]["id"].startswith("toolu_")
    assert content[3:] == [
        {"type": "tool_use", "id": content[3]["id"], "name": "f", "input": {"x": 1}},
        {"type": "tool_use", "id": "gemini-id", "name": "f", "input": {"x": 2}},
    ]
    assert out["stop_reason"] == "tool_use"
    assert out["usage"] == {
        "input_tokens": 10,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 5,
    }
    assert out["id"] == "resp-1"


def test_a_signature_joins_an_unsigned_thinking_block_right_before_the_call() -> None:
    parts = [
        {"text": "plan", "thought": True},
        {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "s"},
    ]
    content = gemini_response_to_anthropic(_response(parts), model="m")["content"]
    assert content[0] == {"type": "thinking", "thinking": "plan", "signature": "gemini:s"}
    assert [block["type"] for block in content] == ["thinking", "tool_use"]


def test_tool_ids_are_stable_and_scoped_by_response() -> None:
    parts = [{"functionCall": {"name": "f", "args": {"b": 1, "a": 2}}}]
    first = gemini_response_to_anthropic(_response(parts), model="m")["content"][0]["id"]
    again = gemini_response_to_anthropic(_response(parts), model="m")["content"][0]["id"]
    other = gemini_response_to_anthropic(_response(parts, responseId="resp-2"), model="m")[
        "content"
    ][0]["id"]
    assert first == again != other


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("STOP", "end_turn"),
        ("MAX_TOKENS", "max_tokens"),
        ("SAFETY", "refusal"),
        ("RECITATION", "refusal"),
        ("OTHER", "end_turn"),
    ],
)
def test_finish_reasons(finish: str, stop: str) -> None:
    assert (
        gemini_response_to_anthropic(_response([{"text": "x"}], finish), model="m")["stop_reason"]
        == stop
    )


def test_a_blocked_prompt_is_a_refusal_with_no_content() -> None:
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}
    out = gemini_response_to_anthropic(body, model="m")
    assert (out["content"], out["stop_reason"], out["usage"]["input_tokens"]) == ([], "refusal", 4)


def test_not_a_response() -> None:
    with pytest.raises(InvalidPayloadError):
        gemini_response_to_anthropic({"error": {"code": 400}}, model="m")


def _stream(*chunks: dict[str, Any]) -> list[dict[str, Any]]:
    stream = GeminiToAnthropicStream(model="gemini-2.5-flash")
    events: list[dict[str, Any]] = []
    for chunk in chunks:
        events += stream.feed(chunk)
    return events + stream.finish()


def test_stream_and_whole_response_give_the_same_message() -> None:
    parts = [
        {"text": "plan", "thought": True},
        {"text": "Hi"},
        {"functionCall": {"name": "f", "args": {"x": 1}}, "thoughtSignature": "s"},
        {"functionCall": {"name": "g", "args": {}}},
    ]
    chunks = [
        {
            **_response([part], finish=""),
            "candidates": [{"content": {"role": "model", "parts": [part]}, "index": 0}],
        }
        for part in parts
    ]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    streamed = anthropic_message_from_events(_stream(*chunks))
    whole = gemini_response_to_anthropic(_response(parts), model="gemini-2.5-flash")
    assert streamed == whole


def test_stream_error_chunk_and_cut_stream() -> None:
    events = _stream({"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"}})
    assert events[-1] == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Quota"},
    }
    cut = _stream(_response([{"text": "partial"}], finish=""))
    assert cut[-1]["type"] == "error"
    assert _stream()[-1]["type"] == "error"


def test_stream_blocked_prompt_is_a_refusal() -> None:
    events = _stream({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "responseId": "r"})
    assert anthropic_message_from_events(events)["stop_reason"] == "refusal"
