"""Token usage, normalised to one meaning across providers.

The providers disagree on what "input tokens" means. Anthropic's ``input_tokens``
excludes cache reads and cache writes; OpenAI's ``prompt_tokens`` and Gemini's
``promptTokenCount`` include the cached part. Mixing the two conventions double-counts
or under-counts the cache, which is the most common cost bug in LLM gateways. ``Usage``
always holds the Anthropic convention: the four counters are disjoint and add up to
what was processed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bastion.domains.gateway.translate._json import JSONObject, as_int


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one model call. ``reasoning_tokens`` is a part of ``output_tokens``."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    @property
    def total_tokens(self) -> int:
        return self.total_input_tokens + self.output_tokens

    def to_anthropic(self) -> JSONObject:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": self.output_tokens,
        }

    def to_openai(self) -> JSONObject:
        prompt_details: JSONObject = {"cached_tokens": self.cache_read_input_tokens}
        if self.cache_creation_input_tokens:
            prompt_details["cache_write_tokens"] = self.cache_creation_input_tokens
        usage: JSONObject = {
            "prompt_tokens": self.total_input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "prompt_tokens_details": prompt_details,
        }
        if self.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return usage


def usage_from_anthropic(usage: Mapping[str, Any] | None) -> Usage:
    """From an Anthropic ``usage`` object (a message's, or a ``message_delta``'s)."""
    if not usage:
        return Usage()
    return Usage(
        input_tokens=as_int(usage.get("input_tokens")),
        output_tokens=as_int(usage.get("output_tokens")),
        cache_read_input_tokens=as_int(usage.get("cache_read_input_tokens")),
        cache_creation_input_tokens=as_int(usage.get("cache_creation_input_tokens")),
    )


def usage_from_openai(usage: Mapping[str, Any] | None) -> Usage:
    """From an OpenAI-compatible ``usage`` object.

    Cached prompt tokens are read from ``prompt_tokens_details.cached_tokens`` (OpenAI,
    Qwen, newer Moonshot), ``cached_tokens`` (older Moonshot) or
    ``prompt_cache_hit_tokens`` (DeepSeek); cache writes from
    ``prompt_tokens_details.cache_write_tokens``. Both are taken out of ``input_tokens``.
    """
    if not usage:
        return Usage()
    prompt = as_int(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details") or {}
    cached = as_int(details.get("cached_tokens"))
    if not cached:
        cached = as_int(usage.get("cached_tokens")) or as_int(usage.get("prompt_cache_hit_tokens"))
    written = as_int(details.get("cache_write_tokens"))
    completion_details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=max(prompt - cached - written, 0),
        output_tokens=as_int(usage.get("completion_tokens")),
        cache_read_input_tokens=cached,
        cache_creation_input_tokens=written,
        reasoning_tokens=as_int(completion_details.get("reasoning_tokens")),
    )


def usage_from_gemini(metadata: Mapping[str, Any] | None) -> Usage:
    """From a Gemini ``usageMetadata`` object.

    ``candidatesTokenCount`` excludes thinking, which Gemini bills as output and reports
    as ``thoughtsTokenCount``; both go into ``output_tokens``. Tool-use prompt tokens are
    input.
    """
    if not metadata:
        return Usage()
    prompt = as_int(metadata.get("promptTokenCount"))
    cached = as_int(metadata.get("cachedContentTokenCount"))
    thoughts = as_int(metadata.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=max(prompt - cached, 0) + as_int(metadata.get("toolUsePromptTokenCount")),
        output_tokens=as_int(metadata.get("candidatesTokenCount")) + thoughts,
        cache_read_input_tokens=cached,
        reasoning_tokens=thoughts,
    )
