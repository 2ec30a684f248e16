"""Fake LLM upstreams: real HTTP servers on 127.0.0.1 speaking the providers' wire formats.

    with FakeAnthropic() as upstream:
        upstream.enqueue(Reply(text="hi", tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]))
        ...  # point the code under test at upstream.base_url
        assert upstream.last_request.header("x-api-key") == "upstream-key"

Each fake answers from a queue of scripted :class:`Reply` objects (then from
``default_reply``) and records every request it receives. The accumulators rebuild a
whole message from stream events and check the stream grammar on the way.
"""

from tests.fakes._accumulate import (
    StreamGrammarError,
    anthropic_message_from_events,
    openai_completion_from_chunks,
)
from tests.fakes._anthropic import FakeAnthropic
from tests.fakes._gemini import FakeGemini
from tests.fakes._openai import FakeOpenAI
from tests.fakes._script import RecordedRequest, Reply, TokenUsage, ToolCall
from tests.fakes._server import FakeUpstream

__all__ = [
    "FakeAnthropic",
    "FakeGemini",
    "FakeOpenAI",
    "FakeUpstream",
    "RecordedRequest",
    "Reply",
    "StreamGrammarError",
    "TokenUsage",
    "ToolCall",
    "anthropic_message_from_events",
    "openai_completion_from_chunks",
]
