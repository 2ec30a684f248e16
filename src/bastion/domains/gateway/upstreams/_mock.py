"""A deterministic offline upstream, for demos and the built-in local profile.

It answers in the Anthropic wire format without touching the network: the same request
always gets the same bytes (ids derive from a hash of the body). The reply quotes the
last user text; when the request offers tools and that text mentions a tool, it calls
the first tool with an empty input, unless the turn already carries a tool result, so an
agent loop driven by the mock ends after one round. Token counts are estimated at four
characters a token.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import orjson

from bastion.domains.gateway.translate import Usage, encode_anthropic_event
from bastion.domains.gateway.upstreams._contract import (
    MessagesCall,
    UpstreamResponse,
    UpstreamStream,
    UpstreamTarget,
)
from bastion.domains.gateway.upstreams._errors import anthropic_error
from bastion.domains.gateway.upstreams._request import dumps, model_of
from bastion.kernel.errors import UpstreamRejected
from bastion.kernel.upstream import UpstreamHealth

GREETING = "Hello from Bastion's mock upstream. You asked: "
QUOTED_CHARS = 200
CHARS_PER_TOKEN = 4
_TOOL_WORD = re.compile(r"\btools?\b", re.IGNORECASE)
_WORDS = re.compile(r"\S+\s*|\s+")


def estimate_tokens(body: Mapping[str, Any]) -> int:
    """Input tokens of a request: its system prompt, messages and tools as JSON, at four
    characters a token."""
    prompt = dumps({key: body.get(key) for key in ("system", "messages", "tools")})
    return _tokens(len(prompt))


def _tokens(chars: int) -> int:
    return max(1, -(-chars // CHARS_PER_TOKEN))


@dataclass(frozen=True, slots=True)
class _Reply:
    message_id: str
    model: str
    text: str
    tool: dict[str, Any] | None
    usage: Usage

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.tool is not None else "end_turn"

    def content(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": self.text}]
        if self.tool is not None:
            blocks.append(self.tool)
        return blocks

    def message(self) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.content(),
            "stop_reason": self.stop_reason,
            "stop_sequence": None,
            "usage": self.usage.to_anthropic(),
        }

    def events(self) -> list[bytes]:
        start_usage = Usage(input_tokens=self.usage.input_tokens, output_tokens=1)
        start = {**self.message(), "content": [], "stop_reason": None}
        start["usage"] = start_usage.to_anthropic()
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": start},
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {"type": "ping"},
        ]
        events += [
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": word},
            }
            for word in _WORDS.findall(self.text)
        ]
        events.append({"type": "content_block_stop", "index": 0})
        if self.tool is not None:
            events += [
                {"type": "content_block_start", "index": 1, "content_block": self.tool},
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": "{}"},
                },
                {"type": "content_block_stop", "index": 1},
            ]
        events += [
            {
                "type": "message_delta",
                "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                "usage": self.usage.to_anthropic(),
            },
            {"type": "message_stop"},
        ]
        return [encode_anthropic_event(event) for event in events]


class MockStream:
    """The mock's events, one per chunk. Its usage is known before the first byte."""

    __slots__ = ("_events", "usage")

    def __init__(self, events: Sequence[bytes], usage: Usage) -> None:
        self._events = deque(events)
        self.usage = usage

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        if not self._events:
            raise StopAsyncIteration
        return self._events.popleft()

    async def aclose(self) -> None:
        self._events.clear()


class MockUpstream:
    """Never fails but for a request without messages (a 400, as Anthropic would)."""

    def __init__(self, name: str = "mock") -> None:
        self.name = name

    def health(self) -> UpstreamHealth:
        return UpstreamHealth()

    async def aclose(self) -> None:
        return

    async def messages(
        self, call: MessagesCall, target: UpstreamTarget
    ) -> UpstreamResponse | UpstreamStream:
        reply = _reply(call.body, target)
        if call.stream:
            return MockStream(reply.events(), reply.usage)
        return UpstreamResponse(
            status=200, body=orjson.dumps(reply.message()), usage=reply.usage, model=reply.model
        )

    async def count_tokens(
        self,
        body: Mapping[str, Any],
        target: UpstreamTarget,
        forward_headers: Mapping[str, str] | None = None,
    ) -> int | None:
        return estimate_tokens(body)


def _reply(body: Mapping[str, Any], target: UpstreamTarget) -> _Reply:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise UpstreamRejected(
            target.label, 400, anthropic_error(400, "messages: at least one message is required")
        )
    asked, answered_tool = _last_user_turn(messages)
    digest = hashlib.sha256(dumps(body, sort_keys=True)).hexdigest()[:24]
    text = GREETING + asked[:QUOTED_CHARS]
    tool: dict[str, Any] | None = None
    tools = [t for t in body.get("tools") or () if isinstance(t, Mapping) and t.get("name")]
    if tools and not answered_tool and _TOOL_WORD.search(asked):
        tool = {
            "type": "tool_use",
            "id": f"toolu_mock_{digest}",
            "name": tools[0]["name"],
            "input": {},
        }
    output_chars = len(text) + (len(tool["name"]) + 2 if tool else 0)
    return _Reply(
        message_id=f"msg_mock_{digest}",
        model=model_of(body, target),
        text=text,
        tool=tool,
        usage=Usage(input_tokens=estimate_tokens(body), output_tokens=_tokens(output_chars)),
    )


def _last_user_turn(messages: Sequence[Any]) -> tuple[str, bool]:
    """The text of the last user message, and whether it returns a tool result."""
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content, False
        blocks = [b for b in content or () if isinstance(b, Mapping)]
        text = "\n".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
        return text, any(b.get("type") == "tool_result" for b in blocks)
    return "", False
