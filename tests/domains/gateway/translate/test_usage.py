from __future__ import annotations

from pathlib import Path

from bastion.domains.gateway.translate import (
    AnthropicUsageTap,
    GeminiUsageTap,
    OpenAIUsageTap,
    Usage,
    usage_from_anthropic,
    usage_from_gemini,
    usage_from_openai,
)

GOLDEN = Path(__file__).parent / "golden"


def test_openai_cached_tokens_leave_input_tokens() -> None:
    usage = usage_from_openai(
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 120},
        }
    )
    assert usage == Usage(
        input_tokens=86, output_tokens=300, cache_read_input_tokens=1920, reasoning_tokens=120
    )
    assert usage.total_input_tokens == 2006


def test_openai_cache_writes_are_their_own_counter() -> None:
    usage = usage_from_openai(
        {
            "prompt_tokens": 2600,
            "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 2000, "cache_write_tokens": 400},
        }
    )
    assert (
        usage.input_tokens,
        usage.cache_read_input_tokens,
        usage.cache_creation_input_tokens,
    ) == (
        200,
        2000,
        400,
    )


def test_deepseek_and_moonshot_cache_fields() -> None:
    deepseek = {"prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 64}
    moonshot = {"prompt_tokens": 100, "completion_tokens": 5, "cached_tokens": 32}
    assert usage_from_openai(deepseek).cache_read_input_tokens == 64
    assert usage_from_openai(deepseek).input_tokens == 36
    assert usage_from_openai(moonshot).input_tokens == 68


def test_missing_or_null_counts_are_zero() -> None:
    assert usage_from_openai(None) == Usage()
    assert usage_from_openai({"prompt_tokens": None, "prompt_tokens_details": None}) == Usage()
    assert usage_from_anthropic({"input_tokens": 3, "cache_read_input_tokens": None}) == Usage(3)


def test_gemini_counts_thoughts_as_output_and_cache_apart() -> None:
    usage = usage_from_gemini(
        {
            "promptTokenCount": 1530,
            "cachedContentTokenCount": 1024,
            "candidatesTokenCount": 41,
            "thoughtsTokenCount": 48,
            "toolUsePromptTokenCount": 10,
            "totalTokenCount": 1629,
        }
    )
    assert usage == Usage(
        input_tokens=516, output_tokens=89, cache_read_input_tokens=1024, reasoning_tokens=48
    )


def test_anthropic_usage_round_trips_and_openai_prompt_includes_the_cache() -> None:
    source = {
        "input_tokens": 10,
        "cache_creation_input_tokens": 20,
        "cache_read_input_tokens": 30,
        "output_tokens": 5,
    }
    usage = usage_from_anthropic(source)
    assert usage.to_anthropic() == source
    assert usage.to_openai() == {
        "prompt_tokens": 60,
        "completion_tokens": 5,
        "total_tokens": 65,
        "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 20},
    }
    assert usage_from_openai(usage.to_openai()) == usage


def _feed_bytewise(tap: AnthropicUsageTap | OpenAIUsageTap | GeminiUsageTap, data: bytes) -> None:
    for i in range(len(data)):
        tap.feed(data[i : i + 1])
    tap.close()


def test_anthropic_tap_reads_the_final_counts() -> None:
    tap = AnthropicUsageTap()
    _feed_bytewise(tap, (GOLDEN / "anthropic_tool_stream.sse").read_bytes())
    assert tap.usage == Usage(input_tokens=472, output_tokens=89, cache_read_input_tokens=2048)
    assert tap.model == "claude-sonnet-4-5-20250929"
    assert tap.stop_reason == "tool_use"
    assert tap.completed


def test_anthropic_tap_keeps_start_counts_a_delta_omits() -> None:
    tap = AnthropicUsageTap()
    tap.feed(
        b'event: message_start\ndata: {"type":"message_start","message":{"model":"m",'
        b'"usage":{"input_tokens":9,"cache_read_input_tokens":4,"output_tokens":1}}}\n\n'
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
        b'"usage":{"output_tokens":30}}\n\n'
    )
    assert tap.usage == Usage(input_tokens=9, output_tokens=30, cache_read_input_tokens=4)
    assert not tap.completed


def test_openai_tap_reads_the_usage_chunk() -> None:
    tap = OpenAIUsageTap()
    _feed_bytewise(tap, (GOLDEN / "openai_tool_stream.sse").read_bytes())
    assert tap.usage == Usage(
        input_tokens=176, output_tokens=85, cache_read_input_tokens=1024, reasoning_tokens=40
    )
    assert tap.model == "deepseek-chat"
    assert tap.completed


def test_openai_tap_reads_usage_on_the_finishing_choice() -> None:
    tap = OpenAIUsageTap()
    tap.feed(
        b'data: {"model":"kimi-k2","choices":[{"index":0,"delta":{},"finish_reason":"stop",'
        b'"usage":{"prompt_tokens":8,"completion_tokens":2}}]}\n\n'
    )
    assert tap.usage == Usage(input_tokens=8, output_tokens=2)
    assert not tap.completed


def test_gemini_tap_reads_the_last_metadata() -> None:
    tap = GeminiUsageTap()
    _feed_bytewise(tap, (GOLDEN / "gemini_tool_stream.sse").read_bytes())
    assert tap.usage == Usage(
        input_tokens=506, output_tokens=89, cache_read_input_tokens=1024, reasoning_tokens=48
    )
    assert tap.model == "gemini-2.5-pro"
    assert tap.completed


def test_taps_on_a_cut_stream_report_what_they_saw() -> None:
    data = (GOLDEN / "gemini_tool_stream.sse").read_bytes()
    tap = GeminiUsageTap()
    tap.feed(data[: data.index(b"\r\n\r\n") + 4])
    assert not tap.completed
    assert tap.usage.reasoning_tokens == 31
    assert GeminiUsageTap().usage == Usage()


def test_anthropic_tap_without_event_lines_reads_the_data_type() -> None:
    tap = AnthropicUsageTap()
    tap.feed(
        b'data: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":5}}}\n\n'
        b'data: {"type":"message_delta","delta":{},"usage":{"output_tokens":6}}\n\n'
        b'data: {"type":"message_stop"}\n\n'
    )
    assert tap.usage == Usage(input_tokens=5, output_tokens=6)
    assert tap.completed
