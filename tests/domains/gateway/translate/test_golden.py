"""Recorded upstream streams, translated and checked against committed expectations.

Each ``golden/<name>.sse`` is a realistic upstream stream; ``<name>.expected.json`` is
the exact event (or chunk) sequence the translator must produce and ``<name>.message.json``
the whole message a client must rebuild from it, written by hand. The byte-level
translators must produce the same bytes however the upstream bytes are cut.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from bastion.domains.gateway.translate import (
    OPENAI_DONE,
    AnthropicToOpenAISSE,
    AnthropicToOpenAIStream,
    GeminiToAnthropicSSE,
    GeminiToAnthropicStream,
    OpenAIToAnthropicSSE,
    OpenAIToAnthropicStream,
    SSEParser,
    StreamTranslator,
    encode_anthropic_event,
    encode_openai_chunk,
)
from tests.fakes import anthropic_message_from_events, openai_completion_from_chunks

GOLDEN = Path(__file__).parent / "golden"
CREATED = 1733000000


@dataclass(frozen=True)
class Case:
    events: Callable[[], Any]
    bytes_: Callable[[], StreamTranslator]
    target: str


CASES = {
    "openai_tool_stream": Case(OpenAIToAnthropicStream, OpenAIToAnthropicSSE, "anthropic"),
    "anthropic_tool_stream": Case(
        lambda: AnthropicToOpenAIStream(include_usage=True, created=CREATED),
        lambda: AnthropicToOpenAISSE(include_usage=True, created=CREATED),
        "openai",
    ),
    "gemini_tool_stream": Case(
        lambda: GeminiToAnthropicStream(model="gemini-2.5-pro"),
        lambda: GeminiToAnthropicSSE(model="gemini-2.5-pro"),
        "anthropic",
    ),
}


def _upstream(name: str) -> bytes:
    return (GOLDEN / f"{name}.sse").read_bytes()


def _expected(name: str, suffix: str) -> Any:
    return orjson.loads((GOLDEN / f"{name}.{suffix}.json").read_bytes())


def _translate_events(name: str) -> list[dict[str, Any]]:
    translator = CASES[name].events()
    parser = SSEParser()
    out: list[dict[str, Any]] = []
    for event in parser.feed(_upstream(name)) + parser.flush():
        if event.data == "[DONE]":
            out += translator.finish()
        else:
            out += translator.feed(event.json())
    out += translator.finish()
    return out


def _encoded(name: str) -> bytes:
    expected = _expected(name, "expected")
    if CASES[name].target == "anthropic":
        return b"".join(encode_anthropic_event(event) for event in expected)
    return b"".join(encode_openai_chunk(chunk) for chunk in expected) + OPENAI_DONE


def _feed(name: str, cuts: list[int]) -> bytes:
    data = _upstream(name)
    translator = CASES[name].bytes_()
    bounds = [0, *cuts, len(data)]
    out = b"".join(translator.feed(data[a:b]) for a, b in itertools.pairwise(bounds))
    return out + translator.finish()


names = pytest.mark.parametrize("name", list(CASES))


@names
def test_events_equal_the_committed_sequence(name: str) -> None:
    assert _translate_events(name) == _expected(name, "expected")


@names
def test_rebuilt_message_equals_the_expected_message(name: str) -> None:
    events = _translate_events(name)
    if CASES[name].target == "anthropic":
        rebuilt = anthropic_message_from_events(events)
    else:
        rebuilt = openai_completion_from_chunks(events)
    assert rebuilt == _expected(name, "message")


@names
def test_the_official_sdk_accumulator_rebuilds_the_same_message(name: str) -> None:
    events = _translate_events(name)
    expected = _expected(name, "message")
    if CASES[name].target == "anthropic":
        snapshot: Any = None
        buffers: dict[int, bytes] = {}
        for event in events:
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)  # type: ignore[arg-type]
        assert snapshot.model_dump(
            include={"id", "model", "stop_reason", "usage"}, exclude_none=True
        ) == {
            "id": expected["id"],
            "model": expected["model"],
            "stop_reason": expected["stop_reason"],
            "usage": expected["usage"],
        }
        assert [block.model_dump(exclude_none=True) for block in snapshot.content] == expected[
            "content"
        ]
    else:
        state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
        for chunk in events:
            state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
        completion = state.get_final_completion()
        choice = completion.choices[0]
        want = expected["choices"][0]
        assert choice.finish_reason == want["finish_reason"]
        assert choice.message.content == want["message"]["content"]
        assert choice.message.to_dict()["reasoning_content"] == want["message"]["reasoning_content"]
        assert [
            (call.id, call.function.name, call.function.arguments)
            for call in choice.message.tool_calls or ()
        ] == [
            (call["id"], call["function"]["name"], call["function"]["arguments"])
            for call in want["message"]["tool_calls"]
        ]
        assert completion.usage is not None
        assert completion.usage.model_dump(exclude_none=True) == expected["usage"]


@names
def test_byte_translator_sends_the_encoded_sequence(name: str) -> None:
    assert _feed(name, []) == _encoded(name)


@names
def test_every_single_cut_gives_identical_output(name: str) -> None:
    reference = _encoded(name)
    for cut in range(len(_upstream(name)) + 1):
        assert _feed(name, [cut]) == reference, f"cut at byte {cut}"


@names
def test_one_byte_at_a_time_gives_identical_output(name: str) -> None:
    assert _feed(name, list(range(1, len(_upstream(name))))) == _encoded(name)


@names
def test_random_cuts_give_identical_output(name: str) -> None:
    rng = random.Random(20251122)
    size = len(_upstream(name))
    reference = _encoded(name)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, size), rng.randint(1, 40)))
        assert _feed(name, cuts) == reference, f"cuts {cuts}"
