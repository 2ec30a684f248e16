"""What a fake upstream is told to answer, and what it saw."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson


@dataclass(frozen=True)
class ToolCall:
    """A tool call the fake model makes. ``raw_arguments`` is sent verbatim instead of
    ``arguments`` (for malformed JSON)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None
    raw_arguments: str | None = None

    def arguments_json(self) -> str:
        if self.raw_arguments is not None:
            return self.raw_arguments
        return orjson.dumps(dict(self.arguments)).decode()


@dataclass(frozen=True)
class TokenUsage:
    """Token counts in the Anthropic convention: the four input/output counters are
    disjoint. Each fake reports them the way its provider does (OpenAI and Gemini count
    cached tokens inside the prompt; Gemini counts thinking outside the candidates).
    ``reasoning_tokens`` is the part of ``output_tokens`` spent thinking."""

    input_tokens: int = 12
    output_tokens: int = 7
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Reply:
    """One scripted response.

    Content: ``thinking`` (with ``thinking_signature``), ``text``, ``tool_calls``, in that
    order; text, thinking and tool arguments are streamed ``delta_size`` characters at a
    time, so argument JSON is cut mid-token. ``stop_reason`` overrides the provider's
    natural one (given in that provider's vocabulary); ``model`` overrides the echo of the
    requested model.

    Failure: ``status`` >= 400 answers with the provider's error body (``error_type``,
    ``error_message``). ``latency`` delays the response head. ``fail_after_events`` ends
    a stream after that many events, by closing the connection (``fail_mode="close"``) or
    with the provider's in-band error event (``"error_event"``).

    Wire: ``split`` cuts the body bytes (an int: pieces of that size; a sequence: cut at
    those offsets); without it each SSE event is one write. ``chunk_delay`` sleeps
    between writes so the pieces reach the client separately.
    """

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    thinking: str = ""
    thinking_signature: str = "c2lnbmF0dXJl"
    usage: TokenUsage = field(default_factory=TokenUsage)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    model: str | None = None
    delta_size: int = 8
    status: int = 200
    error_type: str | None = None
    error_message: str = "scripted failure"
    headers: Mapping[str, str] = field(default_factory=dict)
    latency: float = 0.0
    fail_after_events: int | None = None
    fail_mode: Literal["close", "error_event"] = "close"
    split: int | Sequence[int] | None = None
    chunk_delay: float = 0.0

    @classmethod
    def error(
        cls, status: int, message: str = "scripted failure", *, error_type: str | None = None
    ) -> Reply:
        return cls(status=status, error_message=message, error_type=error_type)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    raw_body: bytes

    @property
    def body(self) -> Any:
        """The JSON body, or None when there is none or it is not JSON."""
        if not self.raw_body:
            return None
        try:
            return orjson.loads(self.raw_body)
        except orjson.JSONDecodeError:
            return None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def pieces(text: str, size: int) -> list[str]:
    size = max(size, 1)
    return [text[i : i + size] for i in range(0, len(text), size)]


ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
