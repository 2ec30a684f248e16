"""Property tests of the translators: Anthropic <-> OpenAI <-> Gemini round trips keep the
text, the tool calls (names and arguments) and the token usage.

Requests: Anthropic -> OpenAI -> Anthropic, and Anthropic -> Gemini (there is no way back
from Gemini requests; the Gemini request must carry the same text and calls).
Responses: Anthropic -> OpenAI -> Anthropic, Gemini -> Anthropic, and
Gemini -> Anthropic -> OpenAI -> Anthropic.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bastion.domains.gateway.translate import (
    anthropic_request_to_gemini,
    anthropic_request_to_openai,
    anthropic_response_to_openai,
    gemini_response_to_anthropic,
    openai_request_to_anthropic,
    openai_response_to_anthropic,
)

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
    | text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
arguments = st.dictionaries(text, json_values, max_size=5)
counts = st.integers(0, 10**7)


@st.composite
def tool_calls(draw: st.DrawFn, prefix: str = "toolu_") -> list[dict[str, Any]]:
    calls = draw(st.lists(st.tuples(names, arguments), max_size=3))
    return [
        {"type": "tool_use", "id": f"{prefix}{i}", "name": name, "input": args}
        for i, (name, args) in enumerate(calls)
    ]


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    """A Messages request: user turns of text, assistant turns of text and tool calls,
    each call answered by a tool result in the next user turn."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": draw(text)}]
    for turn in range(draw(st.integers(0, 3))):
        said = draw(st.lists(text, max_size=1))
        calls = draw(tool_calls(prefix=f"toolu_{turn}_"))
        if not said and not calls:
            said = [draw(text)]
        messages.append(
            {
                "role": "assistant",
                "content": [{"type": "text", "text": t} for t in said] + calls,
            }
        )
        results = [
            {"type": "tool_result", "tool_use_id": call["id"], "content": draw(text)}
            for call in calls
        ]
        messages.append(
            {"role": "user", "content": [*results, {"type": "text", "text": draw(text)}]}
        )
    tools = [
        {"name": name, "description": draw(text), "input_schema": {"type": "object"}}
        for name in draw(st.lists(names, max_size=3, unique=True))
    ]
    body: dict[str, Any] = {"model": "m", "max_tokens": 64, "messages": messages}
    if draw(st.booleans()):
        body["system"] = draw(text)
    if tools:
        body["tools"] = tools
    return body


def _said(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of every text, in order, adjacent texts of one turn joined."""
    out: list[tuple[str, str]] = []
    for message in body["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        joined = "".join(b["text"] for b in blocks if b["type"] == "text")
        if joined:
            out.append((message["role"], joined))
    return out


def _calls(body: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (b["name"], b["input"])
        for m in body["messages"]
        if isinstance(m["content"], list)
        for b in m["content"]
        if b["type"] == "tool_use"
    ]


def _results(body: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (b["tool_use_id"], b["content"])
        for m in body["messages"]
        if isinstance(m["content"], list)
        for b in m["content"]
        if b["type"] == "tool_result"
    ]


@given(conversations())
def test_anthropic_request_through_openai_and_back(body: dict[str, Any]) -> None:
    back = openai_request_to_anthropic(anthropic_request_to_openai(body))
    assert back.get("system") == body.get("system")
    assert _said(back) == _said(body)
    assert _calls(back) == _calls(body)
    assert _results(back) == _results(body)
    assert [
        (t["name"], t.get("description"), t["input_schema"]) for t in back.get("tools", [])
    ] == [(t["name"], t["description"], t["input_schema"]) for t in body.get("tools", [])]


@given(conversations())
def test_anthropic_request_to_gemini_keeps_text_and_calls(body: dict[str, Any]) -> None:
    gemini = anthropic_request_to_gemini(body)
    parts = [part for content in gemini["contents"] for part in content["parts"]]
    texts = [part["text"] for part in parts if "text" in part]
    calls = [
        (part["functionCall"]["name"], part["functionCall"]["args"])
        for part in parts
        if "functionCall" in part
    ]
    expected_texts = [
        block["text"] if isinstance(block, dict) else block
        for message in body["messages"]
        for block in (
            [message["content"]] if isinstance(message["content"], str) else message["content"]
        )
        if isinstance(block, str) or block["type"] == "text"
    ]
    assert "".join(texts) == "".join(expected_texts)
    assert calls == _calls(body)
    if "system" in body:
        system = gemini["systemInstruction"]["parts"]
        assert "".join(p["text"] for p in system) == body["system"]


@st.composite
def anthropic_responses(draw: st.DrawFn) -> dict[str, Any]:
    said = draw(st.lists(text, max_size=2))
    calls = draw(tool_calls())
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": t} for t in said] + calls,
        "stop_reason": "tool_use" if calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": draw(counts),
            "output_tokens": draw(counts),
            "cache_read_input_tokens": draw(counts),
            "cache_creation_input_tokens": draw(counts),
        },
    }


def _response_view(message: dict[str, Any]) -> tuple[str, list[tuple[str, Any]], str]:
    content = message["content"]
    said = "".join(b["text"] for b in content if b["type"] == "text")
    calls = [(b["name"], b["input"]) for b in content if b["type"] == "tool_use"]
    return said, calls, message["stop_reason"]


@given(anthropic_responses())
def test_anthropic_response_through_openai_and_back(message: dict[str, Any]) -> None:
    back = openai_response_to_anthropic(anthropic_response_to_openai(message))
    assert _response_view(back) == _response_view(message)
    assert back["usage"] == message["usage"]


@st.composite
def gemini_responses(draw: st.DrawFn) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": t} for t in draw(st.lists(text, max_size=2))]
    parts += [
        {"functionCall": {"name": name, "args": args}}
        for name, args in draw(st.lists(st.tuples(names, arguments), max_size=3))
    ]
    prompt, cached, output = draw(counts), draw(counts), draw(counts)
    return {
        "responseId": "r1",
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
        "usageMetadata": {
            "promptTokenCount": prompt + cached,
            "cachedContentTokenCount": cached,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + cached + output,
        },
    }


@given(gemini_responses())
def test_gemini_response_to_anthropic_and_through_openai(body: dict[str, Any]) -> None:
    message = gemini_response_to_anthropic(body, model="gemini")
    parts = body["candidates"][0]["content"]["parts"]
    said, calls, stop = _response_view(message)
    assert said == "".join(p["text"] for p in parts if "text" in p)
    assert calls == [
        (p["functionCall"]["name"], p["functionCall"]["args"]) for p in parts if "functionCall" in p
    ]
    assert stop == ("tool_use" if calls else "end_turn")
    meta = body["usageMetadata"]
    assert (
        message["usage"]["input_tokens"]
        == meta["promptTokenCount"] - meta["cachedContentTokenCount"]
    )
    assert message["usage"]["cache_read_input_tokens"] == meta["cachedContentTokenCount"]
    assert message["usage"]["output_tokens"] == meta["candidatesTokenCount"]
    back = openai_response_to_anthropic(anthropic_response_to_openai(message))
    assert _response_view(back) == _response_view(message)
    assert back["usage"] == message["usage"]
