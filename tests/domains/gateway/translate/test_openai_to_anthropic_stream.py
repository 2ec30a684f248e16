from __future__ import annotations

from typing import Any

from bastion.domains.gateway.translate import OpenAIToAnthropicStream
from tests.fakes import anthropic_message_from_events


def _chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choices = (
        [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, **extra}]
    )
    return {"id": "chatcmpl-7", "model": "qwen3-coder", "choices": choices}


def _call(index: int, arguments: str = "", **head: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    if "name" in head:
        function["name"] = head.pop("name")
    return {"tool_calls": [{"index": index, **head, "function": function}]}


def _run(*chunks: dict[str, Any], finish: bool = True) -> list[dict[str, Any]]:
    stream = OpenAIToAnthropicStream()
    events: list[dict[str, Any]] = []
    for chunk in chunks:
        events += stream.feed(chunk)
    if finish:
        events += stream.finish()
    return events


def test_starts_with_message_start_and_ping() -> None:
    events = _run(_chunk({"role": "assistant", "content": ""}), _chunk({}, "stop"))
    assert [e["type"] for e in events] == ["message_start", "ping", "message_delta", "message_stop"]
    assert events[0]["message"]["usage"]["input_tokens"] == 0


def test_a_whole_tool_call_in_one_chunk_keeps_its_arguments() -> None:
    # The shape Ollama and Gemini's compatibility layer send; LiteLLM lost the input here.
    events = _run(
        _chunk(_call(0, '{"pattern": "*.py"}', id="call_9", type="function", name="Glob")),
        _chunk({}, "tool_calls"),
    )
    message = anthropic_message_from_events(events)
    assert message["content"] == [
        {"type": "tool_use", "id": "call_9", "name": "Glob", "input": {"pattern": "*.py"}}
    ]
    assert message["stop_reason"] == "tool_use"


def test_fragments_before_the_name_are_held_until_the_block_opens() -> None:
    events = _run(
        _chunk(_call(0, '{"a"', id="call_1")),
        _chunk(_call(0, ": 1}", name="f")),
        _chunk({}, "tool_calls"),
    )
    assert anthropic_message_from_events(events)["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}
    ]


def test_a_call_without_id_gets_one() -> None:
    events = _run(_chunk(_call(0, "{}", name="f")), _chunk({}, "tool_calls"))
    block = anthropic_message_from_events(events)["content"][0]
    assert block["id"].startswith("toolu_")


def test_empty_content_opens_no_text_block() -> None:
    events = _run(
        _chunk({"role": "assistant", "content": ""}),
        _chunk(_call(0, "", id="c", type="function", name="f")),
        _chunk({"content": ""}),
        _chunk(_call(0, "{}")),
        _chunk({}, "tool_calls"),
    )
    assert [b["type"] for b in anthropic_message_from_events(events)["content"]] == ["tool_use"]


def test_stop_with_tool_calls_is_tool_use() -> None:
    events = _run(_chunk(_call(0, "{}", id="c", name="f")), _chunk({}, "stop"))
    assert anthropic_message_from_events(events)["stop_reason"] == "tool_use"


def test_two_calls_in_one_delta_become_two_blocks() -> None:
    delta = {
        "tool_calls": [
            {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"index": 1, "id": "b", "function": {"name": "g", "arguments": '{"y": 2}'}},
        ]
    }
    message = anthropic_message_from_events(_run(_chunk(delta), _chunk({}, "tool_calls")))
    assert [(b["id"], b["input"]) for b in message["content"]] == [("a", {"x": 1}), ("b", {"y": 2})]


def test_interleaved_fragments_reach_the_block_they_belong_to() -> None:
    stream = OpenAIToAnthropicStream()
    events: list[dict[str, Any]] = []
    for chunk in (
        _chunk(_call(0, '{"x":', id="a", name="f")),
        _chunk(_call(1, '{"y":', id="b", name="g")),
        _chunk(_call(0, " 1}")),
        _chunk(_call(1, " 2}")),
        _chunk({}, "tool_calls"),
    ):
        events += stream.feed(chunk)
    events += stream.finish()
    late = [
        e
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["partial_json"] == " 1}"
    ]
    assert late == [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": " 1}"},
        }
    ]


def test_usage_on_the_finishing_choice_moonshot_style() -> None:
    usage = {"prompt_tokens": 50, "completion_tokens": 4, "total_tokens": 54, "cached_tokens": 20}
    events = _run(_chunk({"content": "hi"}), _chunk({}, "stop", usage=usage))
    assert events[-2]["usage"] == {
        "input_tokens": 30,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 20,
        "output_tokens": 4,
    }


def test_matched_stop_string_from_vllm() -> None:
    events = _run(_chunk({"content": "a"}), _chunk({}, "stop", stop_reason="</answer>"))
    assert events[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "</answer>"}


def test_length_and_content_filter() -> None:
    assert _run(_chunk({"content": "a"}, "length"))[-2]["delta"]["stop_reason"] == "max_tokens"
    assert _run(_chunk({"content": "a"}, "content_filter"))[-2]["delta"]["stop_reason"] == "refusal"


def test_refusal_delta() -> None:
    events = _run(_chunk({"refusal": "No."}), _chunk({}, "stop"))
    message = anthropic_message_from_events(events)
    assert message["content"] == [{"type": "text", "text": "No."}]
    assert message["stop_reason"] == "refusal"


def test_other_choices_are_ignored() -> None:
    chunk = {
        "id": "x",
        "model": "m",
        "choices": [{"index": 1, "delta": {"content": "B"}, "finish_reason": None}],
    }
    events = _run(chunk, _chunk({"content": "A"}, "stop"))
    assert anthropic_message_from_events(events)["content"] == [{"type": "text", "text": "A"}]


def test_switching_kinds_closes_the_previous_block() -> None:
    events = _run(
        _chunk({"reasoning_content": "r1"}),
        _chunk({"content": "t1"}),
        _chunk({"reasoning_content": "r2"}),
        _chunk({}, "stop"),
    )
    message = anthropic_message_from_events(events)
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "thinking"]


def test_a_stream_cut_before_finish_reason_ends_in_an_error_event() -> None:
    events = _run(_chunk({"content": "partial"}))
    assert [e["type"] for e in events][-2:] == ["content_block_stop", "error"]
    assert events[-1]["error"]["type"] == "api_error"


def test_an_empty_stream_is_an_error() -> None:
    assert [e["type"] for e in _run()] == ["error"]


def test_an_in_band_error_ends_the_stream() -> None:
    stream = OpenAIToAnthropicStream()
    stream.feed(_chunk({"content": "a"}))
    events = stream.feed({"error": {"message": "Upstream overloaded", "type": "server_error"}})
    assert events == [
        {"type": "error", "error": {"type": "api_error", "message": "Upstream overloaded"}}
    ]
    assert stream.feed(_chunk({"content": "b"})) == []
    assert stream.finish() == []


def test_model_and_message_id_overrides() -> None:
    stream = OpenAIToAnthropicStream(model="claude-sonnet-4-5", message_id="msg_mine")
    start = stream.feed(_chunk({"content": "a"}))[0]
    assert (start["message"]["id"], start["message"]["model"]) == ("msg_mine", "claude-sonnet-4-5")


def test_finish_twice_emits_once() -> None:
    stream = OpenAIToAnthropicStream()
    stream.feed(_chunk({"content": "a"}, "stop"))
    assert [e["type"] for e in stream.finish()] == ["message_delta", "message_stop"]
    assert stream.finish() == []


def test_a_null_tool_call_index_falls_back_to_its_position() -> None:
    delta = {
        "tool_calls": [{"index": None, "id": "a", "function": {"name": "f", "arguments": "{}"}}]
    }
    message = anthropic_message_from_events(_run(_chunk(delta), _chunk({}, "tool_calls")))
    assert message["content"] == [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]
