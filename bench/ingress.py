"""What typed ingress validation costs per request: ``python -m bench.ingress``.

The request ``bench.gateway`` posts (about 1.8 KB: a system prompt and three turns) and
its OpenAI twin, validated by the gateway's strict schemas, against the baseline of
``orjson.loads`` of the same bytes, which every request already pays. Medians of single
calls timed with ``perf_counter_ns`` after a warm-up.
"""

from __future__ import annotations

import orjson

from bastion.domains.gateway._schema import check_anthropic_messages, check_openai_chat
from bench._support.measure import median_us

CALLS = 20_000
WARM_UP = 1_000
SYSTEM = "You are a careful assistant for an engineering team. " * 6
TURNS = [
    {"role": "user", "content": "Summarise the incident report below in three bullets. " * 8},
    {"role": "assistant", "content": "Here is the summary you asked for, in three bullets. " * 6},
    {"role": "user", "content": [{"type": "text", "text": "Now list the follow-ups. " * 10}]},
]
ANTHROPIC = {"model": "claude-bench", "max_tokens": 256, "system": SYSTEM, "messages": TURNS}
OPENAI = {
    "model": "gpt-bench",
    "max_tokens": 256,
    "messages": [{"role": "system", "content": SYSTEM}, *TURNS],
}


def main() -> int:
    print("| body | bytes | orjson.loads (baseline) µs | validation µs | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, body, check in (
        ("Anthropic /v1/messages", ANTHROPIC, check_anthropic_messages),
        ("OpenAI /v1/chat/completions", OPENAI, check_openai_chat),
    ):
        raw = orjson.dumps(body)
        base = median_us(lambda raw=raw: orjson.loads(raw), CALLS, WARM_UP)  # type: ignore[misc]
        cost = median_us(lambda body=body, check=check: check(body), CALLS, WARM_UP)  # type: ignore[misc]
        print(f"| {name} | {len(raw)} | {base:.2f} | {cost:.2f} | {cost / base:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
