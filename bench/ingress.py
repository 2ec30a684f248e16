"""What typed ingress validation costs per request: ``python -m bench.ingress``.

An Anthropic request of 1,501 bytes (a system prompt and three turns, like the one
``bench.gateway`` posts) and its OpenAI twin, validated by the gateway's strict schemas,
against the baseline of ``orjson.loads`` of the same bytes, which every request already
pays. Medians of single calls timed with ``perf_counter_ns`` after a warm-up.
"""

from __future__ import annotations

import orjson

from bastion.domains.gateway._schema import check_anthropic_messages, check_openai_chat
from bench._support import cli
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


def main(argv: list[str] | None = None) -> int:
    cli.parser("bench.ingress", __doc__).parse_args(argv)
    rows = []
    for name, body, check in (
        ("Anthropic /v1/messages", ANTHROPIC, check_anthropic_messages),
        ("OpenAI /v1/chat/completions", OPENAI, check_openai_chat),
    ):
        raw = orjson.dumps(body)
        base = median_us(lambda raw=raw: orjson.loads(raw), CALLS, WARM_UP)
        cost = median_us(lambda body=body, check=check: check(body), CALLS, WARM_UP)
        rows.append([name, len(raw), f"{base:.2f}", f"{cost:.2f}", f"{cost / base:.2f}x"])
    head = ["body", "bytes", "orjson.loads (baseline) µs", "validation µs", "ratio"]
    print("\n".join(cli.table(head, rows, "lr")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
