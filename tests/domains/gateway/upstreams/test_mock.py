"""The offline mock upstream: deterministic Anthropic answers the official SDK reads."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import orjson
import pytest

from bastion.domains.gateway.upstreams import MessagesCall, MockUpstream, estimate_tokens
from bastion.kernel.errors import UpstreamRejected
from tests.domains.gateway.upstreams._support import (
    BODY,
    TOOL,
    call,
    chunks,
    message_of,
    response,
    target,
)

MOCK = target("mock", None, api_key=None)
GREETING = "Hello from Bastion's mock upstream. You asked: "


def _body(text: Any, **extra: Any) -> dict[str, Any]:
    return {
        "model": "mock-1",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


async def test_the_answer_quotes_the_last_user_text() -> None:
    long_question = "Why is the sky blue? " * 20
    body = _body(long_question)
    body["messages"] = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": [{"type": "text", "text": long_question}]},
    ]
    result = response(await MockUpstream().messages(call(False, body=body), MOCK))
    message = orjson.loads(result.body)
    assert message["content"] == [{"type": "text", "text": GREETING + long_question[:200]}]
    assert message["stop_reason"] == "end_turn"
    assert message["model"] == "mock-1"
    assert result.model == "mock-1"


async def test_the_same_request_gets_the_same_bytes() -> None:
    mock = MockUpstream()
    first = response(await mock.messages(call(False), MOCK))
    second = response(await mock.messages(call(False), MOCK))
    assert first.body == second.body
    assert await chunks(await mock.messages(call(True), MOCK)) == await chunks(
        await mock.messages(call(True), MOCK)
    )
    other = response(await mock.messages(call(False, body=_body("something else")), MOCK))
    assert orjson.loads(other.body)["id"] != orjson.loads(first.body)["id"]


async def test_token_counts_are_a_four_characters_a_token_estimate() -> None:
    body = _body("x" * 400)
    result = response(await MockUpstream().messages(call(False, body=body), MOCK))
    prompt = orjson.dumps({"system": None, "messages": body["messages"], "tools": None})
    assert result.usage.input_tokens == -(-len(prompt) // 4) == estimate_tokens(body)
    text = orjson.loads(result.body)["content"][0]["text"]
    assert result.usage.output_tokens == -(-len(text) // 4)
    assert await MockUpstream().count_tokens(body, MOCK) == result.usage.input_tokens


async def test_it_calls_the_first_tool_when_asked_to_use_a_tool() -> None:
    second = {"name": "other", "input_schema": {"type": "object"}}
    body = _body("Please use the weather tool.", tools=[TOOL, second])
    message = orjson.loads(
        response(await MockUpstream().messages(call(False, body=body), MOCK)).body
    )
    assert [block["type"] for block in message["content"]] == ["text", "tool_use"]
    tool_use = message["content"][1]
    assert (tool_use["name"], tool_use["input"]) == ("get_weather", {})
    assert tool_use["id"].startswith("toolu_mock_")
    assert message["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    "body",
    [
        _body("Please use the weather tool."),  # no tools offered
        _body("What's the weather?", tools=[TOOL]),  # no mention of a tool
        _body("Mr Toolworth asks", tools=[TOOL]),  # "tool" only inside another word
        {
            **_body("", tools=[TOOL]),
            "messages": [
                {"role": "user", "content": "Use the tool."},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
                        {"type": "text", "text": "Now summarise the tool output."},
                    ],
                },
            ],
        },
    ],
    ids=["no-tools", "no-mention", "inside-a-word", "tool-result-turn"],
)
async def test_it_answers_in_text_otherwise(body: dict[str, Any]) -> None:
    message = orjson.loads(
        response(await MockUpstream().messages(call(False, body=body), MOCK)).body
    )
    assert [block["type"] for block in message["content"]] == ["text"]
    assert message["stop_reason"] == "end_turn"


async def test_the_stream_rebuilds_the_non_streaming_message() -> None:
    body = _body("Use a tool, any tool.", tools=[TOOL])
    mock = MockUpstream()
    whole = orjson.loads(response(await mock.messages(call(False, body=body), MOCK)).body)
    streamed = await mock.messages(call(True, body=body), MOCK)
    data = b"".join(await chunks(streamed))
    assert message_of(data) == whole
    assert streamed.usage.input_tokens == whole["usage"]["input_tokens"]
    assert streamed.usage.output_tokens == whole["usage"]["output_tokens"]


async def test_the_official_sdk_reads_the_stream() -> None:
    mock = MockUpstream()

    async def serve(request: httpx2.Request) -> httpx2.Response:
        body = orjson.loads(request.content)
        result = await mock.messages(MessagesCall(body=body, stream=bool(body["stream"])), MOCK)
        return httpx2.Response(
            200,
            content=b"".join(await chunks(result)),
            headers={"content-type": "text/event-stream"},
        )

    client = anthropic.AsyncAnthropic(
        api_key="unused",
        base_url="http://mock.invalid",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
    )
    async with client.messages.stream(
        model="mock-1",
        max_tokens=100,
        tools=[TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Which tool would you use?"}],
    ) as sdk_stream:
        text = "".join([piece async for piece in sdk_stream.text_stream])
        final = await sdk_stream.get_final_message()
    assert text == GREETING + "Which tool would you use?"
    assert final.stop_reason == "tool_use"
    assert [block.type for block in final.content] == ["text", "tool_use"]
    assert final.content[1].input == {}  # type: ignore[union-attr]
    assert final.usage.input_tokens > 0
    assert final.usage.output_tokens > 1
    await client.close()


async def test_a_request_without_messages_is_a_400() -> None:
    with pytest.raises(UpstreamRejected) as caught:
        await MockUpstream().messages(call(False, body={**BODY, "messages": []}), MOCK)
    assert caught.value.status == 400
    assert orjson.loads(caught.value.body)["error"]["type"] == "invalid_request_error"
