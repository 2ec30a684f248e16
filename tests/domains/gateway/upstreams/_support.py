"""Shared by the upstream tests: targets, calls, and reading streams back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bastion.domains.gateway.translate import SSEParser
from bastion.domains.gateway.upstreams import (
    MessagesCall,
    UpstreamResponse,
    UpstreamStream,
    UpstreamTarget,
)
from bastion.kernel.errors import UpstreamStreamError
from tests.fakes import TokenUsage, ToolCall, anthropic_message_from_events

ROUTE_KEY = "route-secret-key"
UPSTREAM_MODEL = "upstream-model"

# What a client sent to Bastion. Only anthropic-version and anthropic-beta may cross,
# even if a careless caller of the provider passed everything along.
CALLER_HEADERS = {
    "Authorization": "Bearer caller-jwt",
    "x-api-key": "caller-api-key",
    "Cookie": "session=caller-cookie",
    "x-session-id": "caller-session",
    "x-user-id": "caller-user",
    "x-forwarded-for": "10.9.8.7",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "interleaved-thinking-2025-05-14",
}
CALLER_VALUES = ("caller", "10.9.8.7")

TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "array"}},
        "required": ["city"],
    },
}
BODY: dict[str, Any] = {
    "model": UPSTREAM_MODEL,
    "max_tokens": 512,
    "system": "You are terse.",
    "messages": [{"role": "user", "content": "Weather in Zürich for two days?"}],
    "tools": [TOOL],
}
ARGUMENTS = {"city": "Zürich", "days": [1, 2], "note": 'a "quoted" value'}
CALL = ToolCall("get_weather", ARGUMENTS, id="toolu_weather1")
USAGE = TokenUsage(input_tokens=21, output_tokens=33, cache_read_input_tokens=100)


def target(provider: str, endpoint: str | None, **changes: Any) -> UpstreamTarget:
    base = UpstreamTarget(
        route_name="route-1",
        provider=provider,
        endpoint=endpoint,
        upstream_model=UPSTREAM_MODEL,
        api_key=ROUTE_KEY,
        timeout_seconds=5.0,
        connect_timeout_seconds=2.0,
    )
    return replace(base, **changes)


def call(
    stream: bool, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> MessagesCall:
    return MessagesCall(
        body=BODY if body is None else body,
        stream=stream,
        forward_headers=CALLER_HEADERS if headers is None else headers,
    )


def response(result: UpstreamResponse | UpstreamStream) -> UpstreamResponse:
    assert isinstance(result, UpstreamResponse), type(result)
    return result


def stream(result: UpstreamResponse | UpstreamStream) -> UpstreamStream:
    assert not isinstance(result, UpstreamResponse), "expected a stream"
    return result


async def chunks(result: UpstreamResponse | UpstreamStream) -> list[bytes]:
    """Every chunk of a stream that must complete."""
    return [chunk async for chunk in stream(result)]


async def broken(result: UpstreamResponse | UpstreamStream) -> tuple[bytes, UpstreamStreamError]:
    """What a broken stream yielded before it raised, and the error."""
    received: list[bytes] = []
    try:
        async for chunk in stream(result):
            received.append(chunk)
    except UpstreamStreamError as exc:
        return b"".join(received), exc
    raise AssertionError("the stream ended without UpstreamStreamError")


def events(data: bytes) -> list[dict[str, Any]]:
    parser = SSEParser()
    parsed = parser.feed(data) + parser.flush()
    for event in parsed:
        assert event.event == event.json()["type"], event
    return [event.json() for event in parsed]


def message_of(data: bytes) -> dict[str, Any]:
    return anthropic_message_from_events(events(data))


def assert_no_caller_headers(headers: Mapping[str, str]) -> None:
    for name in ("authorization", "cookie", "x-session-id", "x-user-id", "x-forwarded-for"):
        assert name not in headers, name
    for value in headers.values():
        assert not any(marker in value for marker in CALLER_VALUES), value
