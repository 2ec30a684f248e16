"""Stop and finish reasons between the three formats."""

from __future__ import annotations

from typing import Any

_OPENAI_TO_ANTHROPIC = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

_ANTHROPIC_TO_OPENAI = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_GEMINI_REFUSALS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE"}
)


def anthropic_stop_from_openai(
    finish_reason: str | None, *, has_tool_calls: bool, matched_stop: Any = None
) -> tuple[str, str | None]:
    """(stop_reason, stop_sequence) for an OpenAI ``finish_reason``.

    Several servers answer ``stop`` while returning tool calls; the calls decide.
    vLLM and SGLang name the stop string that ended generation (``stop_reason`` /
    ``matched_stop`` on the choice), which is the only way to know a stop sequence hit.
    """
    if has_tool_calls and finish_reason in (None, "stop", "tool_calls", "function_call"):
        return "tool_use", None
    if finish_reason == "stop" and isinstance(matched_stop, str) and matched_stop:
        return "stop_sequence", matched_stop
    return _OPENAI_TO_ANTHROPIC.get(finish_reason or "stop", "end_turn"), None


def openai_finish_from_anthropic(stop_reason: str | None) -> str:
    return _ANTHROPIC_TO_OPENAI.get(stop_reason or "end_turn", "stop")


def anthropic_stop_from_gemini(finish_reason: str | None, *, has_tool_calls: bool) -> str:
    if finish_reason == "MAX_TOKENS":
        return "max_tokens"
    if finish_reason in _GEMINI_REFUSALS:
        return "refusal"
    if has_tool_calls:
        return "tool_use"
    return "end_turn"
