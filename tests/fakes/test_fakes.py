"""The fakes speak the real wire formats: the official SDKs consume them unchanged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest

from tests.fakes import (
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    Reply,
    TokenUsage,
    ToolCall,
    anthropic_message_from_events,
)

REPLY = Reply(
    thinking="Let me look that up.",
    text="Checking the weather.",
    tool_calls=(ToolCall("get_weather", {"city": "Zürich", "days": [1, 2]}, id="toolu_w1"),),
    usage=TokenUsage(input_tokens=21, output_tokens=33, cache_read_input_tokens=100),
    delta_size=4,
)
MESSAGES: Any = [{"role": "user", "content": "Weather in Zürich?"}]


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key="upstream-key") as fake:
        yield fake


def _client(fake: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.base_url, api_key="upstream-key", max_retries=0)


def test_anthropic_sdk_create(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(REPLY)
    message = _client(fake_anthropic).messages.create(
        model="claude-test",
        max_tokens=100,
        messages=MESSAGES,
    )
    assert [block.type for block in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[2].input == {"city": "Zürich", "days": [1, 2]}  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"
    assert message.model == "claude-test"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (21, 100)
    request = fake_anthropic.last_request
    assert request.body["messages"] == MESSAGES
    assert request.header("anthropic-version")


def test_anthropic_sdk_stream_with_json_cut_on_the_wire(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(Reply(**{**REPLY.__dict__, "split": 5}))
    client = _client(fake_anthropic)
    with client.messages.stream(model="claude-test", max_tokens=100, messages=MESSAGES) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == REPLY.text
    assert final.content[0].thinking == REPLY.thinking  # type: ignore[union-attr]
    assert final.content[0].signature == REPLY.thinking_signature  # type: ignore[union-attr]
    assert final.content[2].input == {"city": "Zürich", "days": [1, 2]}  # type: ignore[union-attr]
    assert final.usage.output_tokens == 33


def test_anthropic_raw_events_follow_the_grammar(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(REPLY)
    stream = _client(fake_anthropic).messages.create(
        model="m",
        max_tokens=10,
        messages=MESSAGES,
        stream=True,
    )
    events = [event.to_dict() for event in stream]
    message = anthropic_message_from_events(events)
    assert message["content"][2]["input"] == {"city": "Zürich", "days": [1, 2]}


def test_anthropic_count_tokens_takes_no_reply(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.count_tokens_result = 57
    fake_anthropic.enqueue(Reply(text="queued"))
    client = _client(fake_anthropic)
    count = client.messages.count_tokens(model="m", messages=MESSAGES)
    assert count.input_tokens == 57
    message = client.messages.create(model="m", max_tokens=5, messages=MESSAGES)
    assert message.content[0].text == "queued"  # type: ignore[union-attr]
    assert [r.path for r in fake_anthropic.requests] == [
        "/v1/messages/count_tokens",
        "/v1/messages",
    ]


def test_anthropic_errors_and_auth(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(Reply.error(429, "slow down"), Reply.error(529, "busy"))
    client = _client(fake_anthropic)
    with pytest.raises(anthropic.RateLimitError, match="slow down"):
        client.messages.create(model="m", max_tokens=5, messages=MESSAGES)
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        client.messages.create(model="m", max_tokens=5, messages=MESSAGES)
    assert overloaded.value.status_code == 529
    assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    wrong = anthropic.Anthropic(
        base_url=fake_anthropic.base_url, api_key="caller-key", max_retries=0
    )
    with pytest.raises(anthropic.AuthenticationError):
        wrong.messages.create(model="m", max_tokens=5, messages=MESSAGES)


def test_anthropic_in_band_error_and_hang_up(fake_anthropic: FakeAnthropic) -> None:
    client = _client(fake_anthropic)
    fake_anthropic.enqueue(
        Reply(text="abcdefgh", delta_size=2, fail_after_events=4, fail_mode="error_event")
    )
    with (
        pytest.raises(anthropic.APIStatusError, match="scripted failure"),
        client.messages.stream(model="m", max_tokens=5, messages=MESSAGES) as stream,
    ):
        stream.get_final_message()
    fake_anthropic.enqueue(Reply(text="abcdefgh", delta_size=2, fail_after_events=4))
    # The SDK's transport (httpx2) reports the truncated chunked body as it sees it.
    with (
        pytest.raises(Exception, match="incomplete chunked read"),
        client.messages.stream(model="m", max_tokens=5, messages=MESSAGES) as stream,
    ):
        stream.get_final_message()


def test_anthropic_pings_after_the_first_block_start(fake_anthropic: FakeAnthropic) -> None:
    # The SDK hides pings, so read the raw stream.
    fake_anthropic.enqueue(Reply(text="hi"))
    response = httpx.post(
        f"{fake_anthropic.base_url}/v1/messages",
        json={"model": "m", "max_tokens": 5, "messages": MESSAGES, "stream": True},
        headers={"x-api-key": "upstream-key", "anthropic-version": "2023-06-01"},
    )
    names = [line[7:] for line in response.text.split("\n") if line.startswith("event: ")]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_missing_anthropic_version_is_rejected_like_the_real_api() -> None:
    with FakeAnthropic() as fake:
        response = httpx.post(f"{fake.base_url}/v1/messages", json={"model": "m", "messages": []})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_latency_before_the_first_byte(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(Reply(text="late", latency=0.3))
    started = time.monotonic()
    _client(fake_anthropic).messages.create(model="m", max_tokens=5, messages=MESSAGES)
    assert time.monotonic() - started >= 0.3


def test_split_cuts_the_body_into_exact_pieces() -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(Reply(text="Hello there friend", split=7), Reply(text="x", split=[3, 10]))
        body = {"model": "m", "messages": MESSAGES, "stream": True}
        with httpx.Client() as client:
            with client.stream(
                "POST", f"{fake.base_url}/v1/chat/completions", json=body
            ) as response:
                pieces = list(response.iter_raw())
            with client.stream(
                "POST", f"{fake.base_url}/v1/chat/completions", json=body
            ) as response:
                explicit = list(response.iter_raw())
    assert max(len(piece) for piece in pieces) == 7
    assert len(pieces) > 10
    assert [len(piece) for piece in explicit[:2]] == [3, 7]


def test_openai_sdk_create_and_stream() -> None:
    with FakeOpenAI(api_key="upstream-key") as fake:
        client = openai.OpenAI(
            base_url=f"{fake.base_url}/v1", api_key="upstream-key", max_retries=0
        )
        fake.enqueue(REPLY, Reply(**{**REPLY.__dict__, "split": 3}))
        completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        with client.chat.completions.stream(
            model="gpt-4o",
            messages=MESSAGES,
            stream_options={"include_usage": True},
        ) as stream:
            streamed = stream.get_final_completion()
        assert fake.last_request.header("authorization") == "Bearer upstream-key"
    for result in (completion, streamed):
        message = result.choices[0].message
        assert message.content == REPLY.text
        assert message.to_dict()["reasoning_content"] == REPLY.thinking
        assert message.tool_calls is not None
        call = message.tool_calls[0]
        assert (call.id, call.function.name) == ("toolu_w1", "get_weather")  # type: ignore[union-attr]
        assert orjson.loads(call.function.arguments) == {"city": "Zürich", "days": [1, 2]}  # type: ignore[union-attr]
        assert result.choices[0].finish_reason == "tool_calls"
        assert result.usage is not None
        assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (121, 33)
        assert result.usage.prompt_tokens_details is not None
        assert result.usage.prompt_tokens_details.cached_tokens == 100


def test_openai_usage_chunk_only_when_asked() -> None:
    with FakeOpenAI() as fake:
        client = openai.OpenAI(base_url=f"{fake.base_url}/v1", api_key="k", max_retries=0)
        chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
        assert all(chunk.usage is None and chunk.choices for chunk in chunks)
        fake.enqueue(Reply.error(400, "bad model"))
        with pytest.raises(openai.BadRequestError, match="bad model"):
            client.chat.completions.create(model="m", messages=MESSAGES)


def test_gemini_generate_and_stream() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    with FakeGemini(api_key="g-key") as fake:
        fake.enqueue(REPLY, REPLY, REPLY, Reply.error(429, "quota"))
        base = f"{fake.base_url}/v1beta/models/gemini-2.5-pro"
        headers = {"x-goog-api-key": "g-key"}
        whole = httpx.post(f"{base}:generateContent", json=body, headers=headers).json()
        sse = httpx.post(f"{base}:streamGenerateContent?alt=sse", json=body, headers=headers)
        array = httpx.post(f"{base}:streamGenerateContent?key=g-key", json=body).json()
        quota = httpx.post(f"{base}:generateContent", json=body, headers=headers)
        denied = httpx.post(f"{base}:generateContent", json=body)
    parts = whole["candidates"][0]["content"]["parts"]
    assert parts == [
        {"text": REPLY.thinking, "thought": True},
        {"text": REPLY.text},
        {
            "functionCall": {"name": "get_weather", "args": {"city": "Zürich", "days": [1, 2]}},
            "thoughtSignature": REPLY.thinking_signature,
        },
    ]
    assert whole["usageMetadata"] == {
        "promptTokenCount": 121,
        "cachedContentTokenCount": 100,
        "candidatesTokenCount": 33,
        "totalTokenCount": 154,
    }
    assert sse.headers["content-type"].startswith("text/event-stream")
    events = [line for line in sse.text.split("\r\n\r\n") if line]
    assert all(event.startswith("data: ") for event in events)
    assert orjson.loads(events[-1][6:])["candidates"][0]["finishReason"] == "STOP"
    assert len(array) == len(events)
    assert (quota.status_code, quota.json()["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert denied.status_code == 401


def test_unknown_paths_are_404_and_take_no_reply() -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(Reply(text="kept"))
        assert httpx.get(f"{fake.base_url}/v1/models").status_code == 404
        response = httpx.post(
            f"{fake.base_url}/v1/chat/completions", json={"model": "m", "messages": []}
        )
    assert response.json()["choices"][0]["message"]["content"] == "kept"


async def test_async_context_manager_and_reset() -> None:
    async with FakeGemini() as fake:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{fake.base_url}/v1beta/models/m:generateContent",
                json={"contents": [{"parts": [{"text": "x"}]}]},
            )
        assert response.json()["candidates"][0]["content"]["parts"] == [
            {"text": fake.default_reply.text}
        ]
        assert len(fake.requests) == 1
        fake.reset()
        assert fake.requests == []
